package credential

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nbutton23/zxcvbn-go"

	"gigvault/internal/errs"
)

// Password length limits, in Unicode code points (runes).
const (
	// MinPasswordRunes is the shortest acceptable password: 12.
	MinPasswordRunes = 12
	// MaxPasswordRunes is the longest acceptable password: 128. The bound
	// keeps the strength estimator (quadratic in the length) cheap.
	MaxPasswordRunes = 128
	// MinScore is the lowest acceptable zxcvbn score (0–4): 3, "safely
	// unguessable: moderate protection from offline slow-hash scenario".
	MinScore = 3
)

// The stable reasons CheckStrength gives, each the start of the English
// message of the error it returns (the message continues with advice after
// ": "). Clients may match on them; never reword one.
const (
	ReasonTooShort         = "password too short"
	ReasonTooLong          = "password too long"
	ReasonTooWeak          = "password too weak"
	ReasonPersonalInfo     = "password contains personal information"
	ReasonNotText          = "password is not valid text"
	ReasonCannotBeAssessed = "password cannot be assessed"
)

func weak(zh, reason, advice string) *errs.Error {
	return errs.New(errs.Invalid, "password", zh, reason+": "+advice)
}

// CheckStrength refuses a password a staff member may not use (ACC-9). It
// returns nil or an *errs.Error with code errs.Invalid, field "password", and
// one of the Reason constants starting its English message:
//
//   - ReasonNotText: pw is not valid UTF-8;
//   - ReasonTooShort: fewer than MinPasswordRunes runes;
//   - ReasonTooLong: more than MaxPasswordRunes runes;
//   - ReasonPersonalInfo: pw contains one of userInputs (ignoring case), such
//     as the staff member's name, mobile number (also matched as digits only,
//     with or without a country code), username or e-mail address (also its
//     part before "@"); inputs shorter than 4 runes, or 2 for names written
//     in Han characters, are too common to refuse on their own;
//   - ReasonTooWeak: the zxcvbn estimate, which knows common passwords,
//     dictionary words, keyboard walks, sequences, repeats, dates, l33t
//     substitutions and userInputs, scores below MinScore;
//   - ReasonCannotBeAssessed: the estimator failed on this input (a
//     recovered panic in the third-party library), so it is refused rather
//     than accepted unchecked.
//
// Safety: neither message contains the password or any user input; they are
// fixed strings. The length bound is checked before the estimator runs, so a
// long input cannot cost more than a 128-rune one.
func CheckStrength(pw string, userInputs ...string) error {
	if !utf8.ValidString(pw) {
		return weak("密码包含无效字符", ReasonNotText, "it contains invalid characters")
	}
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordRunes {
		return weak("密码太短：至少需要 12 个字符", ReasonTooShort, "use at least 12 characters")
	}
	if n > MaxPasswordRunes {
		return weak("密码太长：最多 128 个字符", ReasonTooLong, "use at most 128 characters")
	}
	inputs := expandInputs(userInputs)
	lower := strings.ToLower(pw)
	lowerDigits := digitsOnly(lower)
	for _, in := range inputs {
		if !significant(in) {
			continue
		}
		if strings.Contains(lower, in) || (len(in) >= 7 && isDigits(in) && strings.Contains(lowerDigits, in)) {
			return weak("密码不能包含您的姓名、手机号、用户名或邮箱", ReasonPersonalInfo,
				"do not use your name, mobile number, username or e-mail address")
		}
	}
	score, ok := zxcvbnScore(pw, inputs)
	if !ok {
		return weak("无法评估该密码的强度，请换一个密码", ReasonCannotBeAssessed, "choose a different password")
	}
	if score < MinScore {
		return weak("密码太弱，容易被猜到：请使用由几个不相关的词组成的较长短语", ReasonTooWeak,
			"it is easy to guess; use a longer phrase of several unrelated words")
	}
	return nil
}

// estimate is the strength estimator, a variable so that a test can make it
// panic.
var estimate = func(pw string, inputs []string) int {
	return zxcvbn.PasswordStrength(pw, inputs).Score
}

// zxcvbnScore runs the estimator, turning a panic into ok=false: the library
// is unmaintained and older versions panicked on some inputs (see
// github.com/keratin/authn-server issue 90), so a failure must refuse the
// password, not crash the request.
func zxcvbnScore(pw string, inputs []string) (score int, ok bool) {
	defer func() {
		if recover() != nil {
			score, ok = 0, false
		}
	}()
	return estimate(pw, inputs), true
}

// expandInputs lower-cases and trims the user inputs and adds the variants a
// password is likely to contain: the digits of a phone number (with and
// without a leading country code) and the local part of an e-mail address.
// Invalid UTF-8 and empty inputs are dropped.
func expandInputs(userInputs []string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && utf8.ValidString(s) && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, in := range userInputs {
		in = strings.ToLower(strings.TrimSpace(in))
		add(in)
		if local, _, found := strings.Cut(in, "@"); found {
			add(local)
		}
		if d := digitsOnly(in); len(d) >= 7 && len(d)*2 >= utf8.RuneCountInString(in) {
			add(d)
			if len(d) > 11 {
				add(d[len(d)-11:]) // a Chinese mobile number without +86
			}
		}
	}
	return out
}

// significant reports whether a user input is distinctive enough that a
// password containing it is refused outright.
func significant(in string) bool {
	n := utf8.RuneCountInString(in)
	if n >= 4 {
		return true
	}
	if n >= 2 {
		for _, r := range in {
			if unicode.Is(unicode.Han, r) {
				return true
			}
		}
	}
	return false
}

func digitsOnly(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func isDigits(s string) bool {
	return s != "" && digitsOnly(s) == s
}
