package notice

import (
	"errors"
	"regexp"
	"time"

	"gigvault/internal/errs"
)

// Failure codes. A code is what the dispatcher stores in last_error and
// puts in the audit entry, so it is short, fixed and never holds personal
// information; the cause (Error.Err) is for the process log only.
const (
	CodeError        = "error"         // an error without a code
	CodeBadRecipient = "bad_recipient" // the recipient ID is malformed
	CodeBadMessage   = "bad_message"   // empty body, unknown kind or content type
	CodeUnreachable  = "unreachable"   // the recipient cannot be reached at all
	CodeNoEndpoint   = "no_endpoint"   // no endpoint configured for the recipient
	CodeUnavailable  = "unavailable"   // the recipient's service failed; try later
	CodeNetwork      = "network"       // connection failed
	CodeTimeout      = "timeout"       // no answer in time
	CodeRejected     = "rejected"      // the recipient refused the message
	CodeSubjectGone  = "subject_gone"  // a copy's subject was erased before it was sent
	CodeNoPayload    = "no_payload"    // a copy without a Payload function to build it
	CodePayload      = "payload_error" // building a copy failed; try later
	CodeExhausted    = "attempts_exhausted"
)

// Error is a failed delivery attempt: temporary (the dispatcher retries
// with backoff) unless Permanent.
type Error struct {
	Code       string        // a short code such as CodeUnavailable or "http_503"; see ErrorCode
	Permanent  bool          // retrying cannot help
	RetryAfter time.Duration // a temporary failure's hint of when to try again; 0 for none
	Err        error         // the cause, for the process log; may be nil
}

func (e *Error) Error() string {
	kind := "temporary"
	if e.Permanent {
		kind = "permanent"
	}
	s := "notice: " + kind + " delivery failure: " + e.Code
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Temporary returns a temporary failure with code.
func Temporary(code string, err error) *Error { return &Error{Code: code, Err: err} }

// Permanent marks err as a permanent failure: the dispatcher marks the
// delivery failed without retrying. An *Error in err's chain keeps its code;
// otherwise the code is CodeRejected.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Permanent = true
		if e != err {
			c.Err = err // keep the wrapping context
		}
		return &c
	}
	return &Error{Code: CodeRejected, Permanent: true, Err: err}
}

// PermanentCode is a permanent failure with code.
func PermanentCode(code string, err error) *Error {
	return &Error{Code: code, Permanent: true, Err: err}
}

// ErrSubjectGone is what a Payload function returns (or wraps) when the
// subject's data is no longer there to copy; so is an *errs.Error with code
// errs.Erased. Either fails the delivery permanently.
var ErrSubjectGone = errors.New("notice: the subject's data is gone")

// IsPermanent reports whether err is a permanent delivery failure.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

var codeRE = regexp.MustCompile(`^[a-z0-9_]{1,40}$`)

// ErrorCode returns err's code for last_error and the audit log: the code
// of the first *Error in its chain when it is 1 to 40 of [a-z0-9_], else
// CodeError. It never returns the cause's text.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) && codeRE.MatchString(e.Code) {
		return e.Code
	}
	return CodeError
}

// retryHint returns a temporary failure's RetryAfter.
func retryHint(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter
	}
	return 0
}

// payloadError classifies an error of a Payload function.
func payloadError(err error) *Error {
	switch {
	case errors.Is(err, ErrSubjectGone) || errs.Is(err, errs.Erased):
		return PermanentCode(CodeSubjectGone, err)
	case IsPermanent(err):
		return &Error{Code: ErrorCode(err), Permanent: true, Err: err}
	}
	return Temporary(CodePayload, err)
}
