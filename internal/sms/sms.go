// Package sms sends one-time log-in and verification codes by SMS. Workers
// register and log in with a mobile number and a code sent to it.
//
// Gateway is the abstraction; Console is a development gateway that logs
// codes and keeps an in-memory outbox, and HTTP talks to a real provider
// (directly or through a small adapter) over the signed JSON protocol
// described in docs/sms-gateway.md.
//
// A mobile number and a code are personal information and a credential:
// every error returned by this package is an *errs.Error whose messages name
// the field at fault but never contain the number, the code or any text
// echoed by a provider, and nothing here logs them — with one deliberate
// exception, the Console gateway's log line, which shows the code (next to a
// masked number) so that a developer can log in. The server refuses the
// Console gateway in production.
package sms

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"gigvault/internal/errs"
)

// Message is one SMS to send.
type Message struct {
	To       string            // normalised mainland mobile number, 11 digits, e.g. "13812345678"
	Template string            // template ID, e.g. "login_code", "verify_code"
	Params   map[string]string // e.g. {"code": "123456", "minutes": "5"}
}

// Gateway sends SMS messages. Implementations are safe for concurrent use.
type Gateway interface {
	// Send sends m and returns the provider's message ID. Errors are
	// *errs.Error with code errs.Invalid (field "mobile" or "template"),
	// errs.RateLimited or errs.Unavailable.
	Send(ctx context.Context, m Message) (ref string, err error)
	// Name identifies the gateway in logs and metrics.
	Name() string
}

// The templates the platform sends. Each takes a "code" parameter (4 to 8
// digits) and an optional "minutes" parameter (the code's lifetime, 1 to
// 1440).
const (
	TemplateLoginCode  = "login_code"  // log-in and registration
	TemplateVerifyCode = "verify_code" // confirming a sensitive change
	TemplateSignIntent = "sign_intent" // confirming the intent to sign a contract
	TemplateRights     = "rights_code" // confirming a data-subject rights request (DSR-7)
	TemplateCancel     = "cancel_code" // the second confirmation of an account cancellation (DSR-5)
)

// Parameter names.
const (
	ParamCode    = "code"
	ParamMinutes = "minutes"
)

// MaskMobile returns a number safe to log: "13812345678" becomes
// "138****5678". Anything that is not an 11-digit number becomes "***", so
// a malformed input is never logged either.
func MaskMobile(to string) string {
	if !validMobile(to) {
		return "***"
	}
	return to[:3] + "****" + to[7:]
}

// validMobile reports whether s is a normalised mainland mobile number:
// 11 ASCII digits starting with 1.
func validMobile(s string) bool {
	if len(s) != 11 || s[0] != '1' {
		return false
	}
	return allDigits(s)
}

// validCode reports whether s is a one-time code: 4 to 8 ASCII digits.
func validCode(s string) bool {
	return len(s) >= 4 && len(s) <= 8 && allDigits(s)
}

// validMinutes reports whether s is a code lifetime in minutes: 1 to 1440,
// without leading zeros.
func validMinutes(s string) bool {
	if len(s) == 0 || len(s) > 4 || s[0] == '0' || !allDigits(s) {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n <= 1440
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// validTemplateID reports whether s can be sent as a template ID to a
// provider: 1 to 64 of [A-Za-z0-9_.-].
func validTemplateID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// newRef returns prefix followed by 16 random hex digits.
func newRef(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails
	return prefix + hex.EncodeToString(b[:])
}

// Errors. Each call builds a new *errs.Error; none carries user input.

func errMobile() *errs.Error {
	return errs.New(errs.Invalid, "mobile", "手机号码格式不正确", "invalid mobile number")
}

func errTemplate() *errs.Error {
	return errs.New(errs.Invalid, "template", "未知的短信模板", "unknown SMS template")
}

func errParams() *errs.Error {
	return errs.New(errs.Invalid, "template", "短信模板参数缺失或不正确", "missing or invalid SMS template parameters")
}

func errCode() *errs.Error {
	return errs.New(errs.Invalid, "template", "验证码必须为 4 到 8 位数字", "the code must be 4 to 8 digits")
}

func errThrottled() *errs.Error {
	return errs.New(errs.RateLimited, "", "短信发送过于频繁，请稍后再试", "too many SMS messages, try again later")
}

func errUnavailable(cause error) *errs.Error {
	return errs.Wrap(errs.Unavailable, "", "短信服务暂时不可用，请稍后再试", "SMS service unavailable, try again later", cause)
}

// Unconfigured is the gateway of a production server that has none: every
// send answers unavailable, so log-in by SMS fails closed and says why.
type Unconfigured struct{}

// Send refuses.
func (Unconfigured) Send(context.Context, Message) (string, error) {
	return "", errs.New(errs.Unavailable, "", "短信服务未配置", "no SMS gateway is configured")
}

// Name is "unconfigured".
func (Unconfigured) Name() string { return "unconfigured" }

// sleep waits for d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
