package format

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
)

// nameDot is the middle dot of transliterated names, 买买提·艾力.
const nameDot = '·'

// checkPersonName accepts Han and Latin letters (a combining mark may follow
// a Latin letter), the middle dot · between parts, and spaces.
func checkPersonName(k Kind, s string) (string, *Error) {
	prev := rune(-1)
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Han, r):
		case unicode.Is(unicode.Latin, r) && unicode.IsLetter(r):
		case unicode.Is(unicode.Mn, r) && prev >= 0 && unicode.Is(unicode.Latin, prev):
		case r == ' ' || r == '\u3000':
		case r == nameDot:
			if prev == -1 || prev == nameDot {
				return "", newError(k, CodeInvalidPersonName, msgNameDotPosition)
			}
		default:
			return "", newError(k, CodeInvalidPersonName, msgName)
		}
		prev = r
	}
	if prev == nameDot {
		return "", newError(k, CodeInvalidPersonName, msgNameDotPosition)
	}
	return s, nil
}

// Genders are the canonical gender values.
const (
	GenderMale    = "男"
	GenderFemale  = "女"
	GenderUnknown = "未知"
)

// checkGender accepts 男, 女, 未知 and, in any case, male, female, unknown.
func checkGender(k Kind, s string) (string, *Error) {
	switch {
	case s == GenderMale || strings.EqualFold(s, "male"):
		return GenderMale, nil
	case s == GenderFemale || strings.EqualFold(s, "female"):
		return GenderFemale, nil
	case s == GenderUnknown || strings.EqualFold(s, "unknown"):
		return GenderUnknown, nil
	}
	return "", newError(k, CodeInvalidGender, msgGender)
}

// checkYearMonth accepts YYYY-MM from 1900-01 to 2099-12.
func checkYearMonth(k Kind, s string) (string, *Error) {
	if len(s) != 7 || s[4] != '-' || !isDigits(s[:4]) || !isDigits(s[5:]) ||
		!validDate(atoi(s[:4]), atoi(s[5:]), 1) {
		return "", newError(k, CodeInvalidYearMonth, msgYearMonth)
	}
	return s, nil
}

// checkDate accepts YYYY-MM-DD, a calendar date from 1900-01-01 to 2099-12-31.
func checkDate(k Kind, s string) (string, *Error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' ||
		!isDigits(s[:4]) || !isDigits(s[5:7]) || !isDigits(s[8:]) ||
		!validDate(atoi(s[:4]), atoi(s[5:7]), atoi(s[8:])) {
		return "", newError(k, CodeInvalidDate, msgDate)
	}
	return s, nil
}

// checkPlace accepts the names of cities and areas: Han characters, printable
// ASCII, full-width forms and CJK punctuation, with at least one letter or digit.
func checkPlace(k Kind, s string) (string, *Error) {
	code := CodeInvalidCity
	if k == KindGeoArea {
		code = CodeInvalidGeoArea
	}
	letters := false
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Han, r) || unicode.IsLetter(r) && r < 0x80 || unicode.IsDigit(r) && r < 0x80:
			letters = true
		case r >= 0x20 && r < 0x7f, // printable ASCII
			r >= '\uff01' && r <= '\uff5e', // full-width forms （）１２
			r >= '\u3000' && r <= '\u303f', // CJK punctuation 、。《》
			r == nameDot, r == '\u2014', r == '\u2013':
		default:
			return "", newError(k, code, msgPlace)
		}
	}
	if !letters {
		return "", newError(k, code, msgNoLetters)
	}
	return s, nil
}

// checkMoneyFen accepts a decimal integer from 0 to 10^12 (ten billion yuan)
// without sign or leading zeros, so that each amount has one spelling.
func checkMoneyFen(k Kind, s string) (string, *Error) {
	if n, ok := canonicalUint(s); !ok || n > 1_000_000_000_000 {
		return "", newError(k, CodeInvalidMoneyFen, msgMoneyFen)
	}
	return s, nil
}

// checkScore accepts a decimal integer from 0 to 1000 without leading zeros.
func checkScore(k Kind, s string) (string, *Error) {
	if n, ok := canonicalUint(s); !ok || n > 1000 {
		return "", newError(k, CodeInvalidScore, msgScore)
	}
	return s, nil
}

// canonicalUint parses ASCII digits without leading zeros (other than "0").
func canonicalUint(s string) (uint64, bool) {
	if !isDigits(s) || (len(s) > 1 && s[0] == '0') || len(s) > 19 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// checkGeoPoint accepts "lat,lng" in decimal degrees, a space allowed after the
// comma; latitude within ±90 and longitude within ±180.
func checkGeoPoint(k Kind, s string) (string, *Error) {
	lat, lng, ok := strings.Cut(s, ",")
	if !ok {
		return "", newError(k, CodeInvalidGeoPoint, msgGeoPoint)
	}
	la, ok1 := parseDegrees(strings.TrimSpace(lat))
	lo, ok2 := parseDegrees(strings.TrimSpace(lng))
	if !ok1 || !ok2 || la < -90 || la > 90 || lo < -180 || lo > 180 {
		return "", newError(k, CodeInvalidGeoPoint, msgGeoPoint)
	}
	return s, nil
}

// parseDegrees parses -?digits(.digits)? — no exponents, hex, NaN or Inf,
// which strconv.ParseFloat would accept.
func parseDegrees(s string) (float64, bool) {
	t := strings.TrimPrefix(s, "-")
	whole, frac, dot := strings.Cut(t, ".")
	if !isDigits(whole) || len(whole) > 3 || (dot && (!isDigits(frac) || len(frac) > 15)) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// checkJSON accepts a JSON object or array.
func checkJSON(k Kind, s string) (string, *Error) {
	if (s[0] != '{' && s[0] != '[') || !json.Valid([]byte(s)) {
		return "", newError(k, CodeInvalidJSON, msgJSON)
	}
	return s, nil
}
