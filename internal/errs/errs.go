// Package errs is gigvault's one domain error type: a stable code the API
// maps to an HTTP status, the field at fault, and a message safe to show a
// user in zh-CN and English. The wrapped cause is for logs only and, like
// the messages, never carries personal information: IDs and field names only.
package errs

import (
	"errors"
	"time"
)

// Code is a stable, documented error code.
type Code string

// The codes. Clients may rely on them; never rename one.
const (
	Invalid          Code = "invalid"
	NotFound         Code = "not_found"
	Conflict         Code = "conflict"
	Forbidden        Code = "forbidden"
	Unauthenticated  Code = "unauthenticated"
	ConsentRequired  Code = "consent_required"
	ApprovalRequired Code = "approval_required"
	RateLimited      Code = "rate_limited"
	Erased           Code = "erased"
	Integrity        Code = "integrity"
	Unavailable      Code = "unavailable"
	Internal         Code = "internal"
)

// Error is a domain error.
type Error struct {
	Code      Code
	Field     string // the input field at fault, if any
	Message   string // English, safe to show
	MessageZh string // zh-CN, safe to show
	Err       error  // internal cause, logged, never shown

	// Optional detail a client can act on; never personal information.
	Reason     string        // a decision's stable reason code, e.g. "reveal_limit"
	Missing    []string      // what is missing: purposes, consents, fields
	Ref        string        // a related object, e.g. the approval request to wait for
	RetryAfter time.Duration // for rate_limited and unavailable: when to try again
}

// With returns a copy of e carrying a reason code, what is missing and a
// related reference.
func (e *Error) With(reason string, missing []string, ref string) *Error {
	c := *e
	c.Reason, c.Missing, c.Ref = reason, missing, ref
	return &c
}

// After returns a copy of e telling the client when to try again.
func (e *Error) After(d time.Duration) *Error {
	c := *e
	c.RetryAfter = d
	return &c
}

func (e *Error) Error() string {
	s := string(e.Code)
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	s += ": " + e.Message
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// New builds an Error.
func New(code Code, field, zh, en string) *Error {
	return &Error{Code: code, Field: field, Message: en, MessageZh: zh}
}

// Wrap builds an Error around an internal cause.
func Wrap(code Code, field, zh, en string, cause error) *Error {
	return &Error{Code: code, Field: field, Message: en, MessageZh: zh, Err: cause}
}

// CodeOf returns the code of the first *Error in err's chain, or Internal.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// As returns the first *Error in err's chain, or an internal error that
// hides the cause's text from the user.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: Internal, Message: "internal error", MessageZh: "服务器内部错误", Err: err}
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return CodeOf(err) == code }
