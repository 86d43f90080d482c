package credential

import (
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mdp/qrterminal/v3"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"rsc.io/qr"

	"gigvault/internal/errs"
)

// TOTP settings: those every authenticator app assumes when it scans an
// otpauth:// URI (Google Authenticator ignores the algorithm, digits and
// period parameters and always uses these).
const (
	// TOTPPeriod is the time step X of RFC 6238, in seconds.
	TOTPPeriod = 30
	// TOTPDigits is the code length.
	TOTPDigits = 6
	// TOTPSecretBytes is the secret size: 160 bits, the HMAC-SHA1 output
	// length recommended by RFC 4226 section 4 (R6 requires at least 128).
	TOTPSecretBytes = 20
	// TOTPSkew is how many steps before and after the current one are
	// accepted, allowing for clock drift and slow typing (RFC 6238 section 5.2
	// recommends at most one).
	TOTPSkew = 1
)

const (
	minTOTPSecretBytes = 16  // RFC 4226 R6
	maxTOTPSecretChars = 128 // 80 bytes: longer than any sane secret
	maxLabelRunes      = 64
	// maxTOTPUnix bounds the clock so that step*TOTPPeriod is exactly
	// representable as a float64 inside the otp library (it is 2^40 s,
	// some 34,000 years from now).
	maxTOTPUnix = 1 << 40
)

var b32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

func totpOpts() totp.ValidateOpts {
	return totp.ValidateOpts{Period: TOTPPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
}

// NewTOTP creates a TOTP credential for account (the staff member's log-in
// name) at issuer ("gigvault"), both non-empty, at most 64 runes, valid UTF-8
// and free of ':' (the separator in the URI label). It returns the secret,
// unpadded base32 of 160 random bits, for the caller to store, and the
// otpauth://totp/ URI to show once as a QR code (WriteQR).
//
// The algorithm is RFC 6238 with HMAC-SHA1, 6 digits and a 30 s step, which
// is what authenticator apps implement. SHA-1 here is the keyed PRF of the
// HOTP construction (RFC 4226), whose security rests on HMAC, not on SHA-1's
// collision resistance; ENC-8's ban on SHA-1 concerns transport digests
// (TLS), so it does not apply.
//
// Safety: the secret comes from crypto/rand (through the otp library's
// default reader). Secret and URI are credentials: show them only to the
// member enrolling, store the secret encrypted (the vault), never log either.
// Errors never contain them.
func NewTOTP(issuer, account string) (secret, uri string, err error) {
	if err := checkLabel(issuer); err != nil {
		return "", "", errs.Wrap(errs.Invalid, "issuer", "签发方名称无效", "invalid issuer name", err)
	}
	if err := checkLabel(account); err != nil {
		return "", "", errs.Wrap(errs.Invalid, "account", "账号名称无效", "invalid account name", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      TOTPPeriod,
		SecretSize:  TOTPSecretBytes,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return "", "", errs.Wrap(errs.Internal, "", "无法生成动态口令密钥", "cannot create the one-time password secret", err)
	}
	return key.Secret(), key.URL(), nil
}

func checkLabel(s string) error {
	switch {
	case s == "":
		return errors.New("credential: empty label")
	case !utf8.ValidString(s):
		return errors.New("credential: label is not UTF-8")
	case utf8.RuneCountInString(s) > maxLabelRunes:
		return errors.New("credential: label too long")
	case strings.ContainsRune(s, ':'):
		return errors.New("credential: label contains ':'")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return errors.New("credential: label contains a control character")
		}
	}
	return nil
}

// validTOTPSecret reports whether secret is canonical unpadded upper-case
// base32 of 16 to 80 bytes: the otp library would accept lower case, padding
// and surrounding spaces, but a stored secret in any other form is damaged.
func validTOTPSecret(secret string) bool {
	if len(secret) > maxTOTPSecretChars {
		return false
	}
	raw, err := b32NoPad.DecodeString(secret)
	if err != nil || len(raw) < minTOTPSecretBytes {
		return false
	}
	return b32NoPad.EncodeToString(raw) == secret
}

// VerifyTOTP checks code against secret at time now. It accepts the code of
// the current 30 s step or of the step just before or after it (TOTPSkew),
// but only a step strictly greater than lastStep, and returns the step that
// matched. The caller must store that step as the member's new lastStep in
// the same transaction that accepts the log-in, and pass it next time: a
// code can then never be used twice, nor can an older code be used after a
// newer one (RFC 6238 section 5.2). For a member who has never logged in,
// pass lastStep = -1. If the code matches more than one acceptable step
// (a one-in-a-million coincidence) the latest is returned, so the stored
// lastStep also covers the others.
//
// ok is false, and step 0, unless code is exactly six ASCII digits, secret
// is a valid secret from NewTOTP (canonical base32, at least 128 bits), now
// is between 1970 and 2^40 seconds after, and the code matches.
//
// Safety: codes are compared with crypto/subtle in constant time and every
// acceptable step is tried, so timing reveals neither digits nor which step
// matched. Malformed input is refused before any HMAC is computed and never
// panics. The 10^6 code space makes online guessing the threat: callers must
// rate-limit failures (ACC-10). As for NewTOTP, HMAC-SHA1 is the RFC 6238 PRF,
// not a transport digest, so ENC-8 does not apply.
func VerifyTOTP(secret, code string, now time.Time, lastStep int64) (step int64, ok bool) {
	if len(code) != TOTPDigits {
		return 0, false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return 0, false
		}
	}
	if !validTOTPSecret(secret) {
		return 0, false
	}
	unix := now.Unix()
	if unix < 0 || unix > maxTOTPUnix {
		return 0, false
	}
	cur := unix / TOTPPeriod
	matched := int64(-1)
	for s := cur - TOTPSkew; s <= cur+TOTPSkew; s++ {
		if s < 0 || s <= lastStep {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*TOTPPeriod, 0), totpOpts())
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			matched = s // steps ascend, so the latest match wins
		}
	}
	if matched < 0 {
		return 0, false
	}
	return matched, true
}

// WriteQR writes uri (an otpauth:// URI from NewTOTP) to w as a QR code made
// of Unicode half blocks (two modules per character cell, so it fits an
// 80×24 terminal) with low error correction (the smallest code; a screen
// is not a scratched label), for `gigvault admin create` to show once. If
// uri cannot be encoded (it is longer than a QR code holds) WriteQR writes
// a one-line notice instead of panicking.
//
// Safety: the QR code encodes the TOTP secret, so w must be the enrolling
// member's terminal, never a log. The notice written on failure does not
// contain uri.
func WriteQR(w io.Writer, uri string) {
	if _, err := qr.Encode(uri, qr.L); err != nil {
		// qrterminal ignores this error and would dereference a nil code.
		_, _ = io.WriteString(w, "QR code unavailable: enter the secret by hand\n")
		return
	}
	qrterminal.GenerateHalfBlock(uri, qrterminal.L, w)
}
