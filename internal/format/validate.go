package format

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// spec is how one kind is checked. check receives the trimmed value, already
// known to be valid UTF-8 without forbidden control characters, non-empty
// and within the length limits, and returns its canonical form.
type spec struct {
	maxRunes  int  // limit in runes after trimming
	maxBytes  int  // limit in bytes after trimming; 0 = none
	multiline bool // \n and \t allowed inside the value
	check     func(k Kind, s string) (string, *Error)
	tooLong   msg
}

// specs holds the rules of every kind; it is also the set of known kinds.
var specs = map[Kind]*spec{
	KindMobile:     {maxRunes: 32, check: checkMobile},
	KindPersonName: {maxRunes: 32, check: checkPersonName},
	KindGender:     {maxRunes: 64, check: checkGender},
	KindYearMonth:  {maxRunes: 64, check: checkYearMonth},
	KindDate:       {maxRunes: 64, check: checkDate},
	KindCity:       {maxRunes: 64, check: checkPlace},
	KindGeoArea:    {maxRunes: 64, check: checkPlace},
	KindAddress:    {maxRunes: 128, check: checkAddress},
	KindEmail:      {maxRunes: 254, maxBytes: 254, check: checkEmail},
	KindIDNumber:   {maxRunes: 32, check: checkIDNumber},
	KindBankCard:   {maxRunes: 64, check: checkBankCard},
	KindBankName:   {maxRunes: 128, check: checkAny},
	KindUSCC:       {maxRunes: 32, check: checkUSCC},
	KindIP:         {maxRunes: 64, check: checkIP},
	KindDeviceID:   {maxRunes: 32, check: checkDeviceID},
	KindText:       {maxRunes: 20000, multiline: true, check: checkAny},
	KindShortText:  {maxRunes: 128, check: checkAny},
	KindMoneyFen:   {maxRunes: 64, check: checkMoneyFen},
	KindGeoPoint:   {maxRunes: 64, check: checkGeoPoint},
	KindKeyword:    {maxRunes: 128, check: checkAny},
	KindUsername:   {maxRunes: 128, check: checkAny},
	KindAccount:    {maxRunes: 128, check: checkAny},
	KindJSON:       {maxRunes: 64 << 10, maxBytes: 64 << 10, multiline: true, check: checkJSON},
	KindScore:      {maxRunes: 64, check: checkScore},
	KindURL:        {maxRunes: 2048, maxBytes: 2048, check: checkURL},
}

func init() {
	// The too-long messages are made once here so that every message the
	// package can return is a fixed, known text (see allMsgs).
	for _, s := range specs {
		if s.maxBytes > 0 {
			s.tooLong = tooLongMsg(s.maxBytes, true)
		} else {
			s.tooLong = tooLongMsg(s.maxRunes, false)
		}
	}
}

// Validate reports whether v is a valid value of kind k. Surrounding spaces
// are ignored, as Normalize removes them; newlines and tabs count as control
// characters except in text and json.
//
// A non-nil error is always an *Error; its text never contains v.
func Validate(k Kind, v string) error {
	if _, err := normalize(k, v); err != nil {
		return err
	}
	return nil
}

// Normalize validates v as kind k and returns its canonical form, the form
// to store and to compute blind indexes over, so that the same number typed
// two ways finds the same record:
//
//   - mobile: the 11 digits, without +86 and separators;
//   - id_number: the check character X in upper case;
//   - bank_card: digits only;
//   - email: lower case;
//   - uscc: upper case;
//   - gender: 男, 女 or 未知;
//   - ip: the canonical text form of the address (lower-case hex, shortest IPv6);
//   - device_id: lower-case hex, MAC addresses with colons;
//   - every other kind: trimmed of surrounding white space.
//
// Normalize is idempotent, and its output passes Validate. A non-nil error
// is always an *Error; its text never contains v.
func Normalize(k Kind, v string) (string, error) {
	out, err := normalize(k, v)
	if err != nil {
		return "", err
	}
	return out, nil
}

// normalize returns a typed *Error so the exported functions can return a
// true nil interface on success.
func normalize(k Kind, v string) (string, *Error) {
	sp, ok := specs[k]
	if !ok {
		return "", newError(k, CodeUnknownKind, msgUnknownKind)
	}
	if !utf8.ValidString(v) {
		return "", newError(k, CodeInvalidUTF8, msgInvalidUTF8)
	}
	if hasForbiddenControl(v, sp.multiline) {
		return "", newError(k, CodeControlChars, msgControlChars)
	}
	s := strings.TrimSpace(v)
	if s == "" {
		return "", newError(k, CodeEmpty, msgEmpty)
	}
	if (sp.maxBytes > 0 && len(s) > sp.maxBytes) || utf8.RuneCountInString(s) > sp.maxRunes {
		return "", newError(k, CodeTooLong, sp.tooLong)
	}
	return sp.check(k, s)
}

// hasForbiddenControl reports C0/C1 control characters (other than \n and \t
// when multiline) and the Unicode bidirectional controls, which can make text
// shown to a reviewer read differently from what is stored.
func hasForbiddenControl(s string, multiline bool) bool {
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			if !multiline {
				return true
			}
		case unicode.IsControl(r):
			return true
		case r == '\u061c', r == '\u200e', r == '\u200f',
			r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
			return true
		}
	}
	return false
}

// checkAny accepts any text that passed the common checks.
func checkAny(_ Kind, s string) (string, *Error) { return s, nil }

// checkAddress accepts text with at least one letter or digit, so that an
// address is not only punctuation.
func checkAddress(k Kind, s string) (string, *Error) {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return s, nil
		}
	}
	return "", newError(k, CodeInvalidAddress, msgNoLetters)
}

// isDigits reports whether s is non-empty and all ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
