package format

import (
	"strings"
	"unicode"
)

// checkMobile accepts a mainland China mobile number written with spaces or
// hyphens and an optional +86, 86 or 0086 prefix; it returns the 11 digits.
func checkMobile(k Kind, s string) (string, *Error) {
	digits := make([]byte, 0, 16)
	plus := false
	for _, r := range s {
		switch {
		case r == '-' || unicode.IsSpace(r):
		case r == '+' && !plus && len(digits) == 0:
			plus = true
		case r >= '0' && r <= '9':
			digits = append(digits, byte(r))
		default:
			return "", newError(k, CodeInvalidMobile, msgMobile)
		}
	}
	d := string(digits)
	switch {
	case plus:
		if !strings.HasPrefix(d, "86") {
			return "", newError(k, CodeInvalidMobile, msgMobile)
		}
		d = d[2:]
	case len(d) == 13 && strings.HasPrefix(d, "86"):
		d = d[2:]
	case len(d) == 15 && strings.HasPrefix(d, "0086"):
		d = d[4:]
	}
	if len(d) != 11 {
		return "", newError(k, CodeInvalidMobile, msgMobileLen)
	}
	if !mobileSegment(d[1], d[2]) || d[0] != '1' {
		return "", newError(k, CodeInvalidMobile, msgMobileSegment)
	}
	return d, nil
}

// mobileSegment reports whether 1<a><b> is a mobile number segment:
// 13x, 14[5-9], 15[0-35-9], 16[2567], 17[0-8], 18x, 19[0-35-9].
func mobileSegment(a, b byte) bool {
	switch a {
	case '3', '8':
		return true
	case '4':
		return b >= '5'
	case '5', '9':
		return b != '4'
	case '6':
		return b == '2' || b == '5' || b == '6' || b == '7'
	case '7':
		return b <= '8'
	}
	return false
}

// idProvinces are the first two digits of resident ID numbers: the
// provinces, Taiwan (71), Hong Kong (81), Macao (82), residence permits for
// Taiwan residents (83) and permanent-residence cards for foreigners (91).
var idProvinces = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true,
	"21": true, "22": true, "23": true,
	"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
	"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
	"50": true, "51": true, "52": true, "53": true, "54": true,
	"61": true, "62": true, "63": true, "64": true, "65": true,
	"71": true, "81": true, "82": true, "83": true, "91": true,
}

// checkIDNumber accepts an 18-character resident ID number (GB 11643-1999)
// and returns it with the check character X in upper case.
func checkIDNumber(k Kind, s string) (string, *Error) {
	if len(s) != 18 || !isDigits(s[:17]) {
		return "", newError(k, CodeInvalidIDNumber, msgIDLen)
	}
	last := s[17]
	if last == 'x' {
		last = 'X'
	}
	if last != 'X' && (last < '0' || last > '9') {
		return "", newError(k, CodeInvalidIDNumber, msgIDLen)
	}
	if !idProvinces[s[:2]] {
		return "", newError(k, CodeInvalidIDNumber, msgIDRegion)
	}
	if !validDate(atoi(s[6:10]), atoi(s[10:12]), atoi(s[12:14])) {
		return "", newError(k, CodeInvalidIDNumber, msgIDBirth)
	}
	if want, _ := IDCheckChar(s[:17]); last != want {
		return "", newError(k, CodeInvalidIDNumber, msgIDCheck)
	}
	return s[:17] + string(last), nil
}

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// IDCheckChar returns the check character ('0'–'9' or 'X') of a resident ID
// number whose first 17 digits are body, by ISO 7064 MOD 11-2 as GB 11643
// specifies. ok is false when body is not 17 ASCII digits.
func IDCheckChar(body string) (c byte, ok bool) {
	if len(body) != 17 || !isDigits(body) {
		return 0, false
	}
	sum := 0
	for i := range 17 {
		sum += int(body[i]-'0') * idWeights[i]
	}
	return "10X98765432"[sum%11], true
}

// checkBankCard accepts 12 to 19 digits, possibly grouped by spaces, with a
// valid Luhn check digit; it returns the digits only.
func checkBankCard(k Kind, s string) (string, *Error) {
	digits := make([]byte, 0, 19)
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
		case r >= '0' && r <= '9':
			digits = append(digits, byte(r))
		default:
			return "", newError(k, CodeInvalidBankCard, msgBankCard)
		}
	}
	if len(digits) < 12 || len(digits) > 19 {
		return "", newError(k, CodeInvalidBankCard, msgBankCard)
	}
	d := string(digits)
	if !LuhnValid(d) {
		return "", newError(k, CodeInvalidBankCard, msgBankCardCheck)
	}
	return d, nil
}

// LuhnValid reports whether s is a non-empty string of ASCII digits whose
// last digit is its Luhn (ISO/IEC 7812-1) check digit.
func LuhnValid(s string) bool {
	if len(s) < 2 || !isDigits(s) {
		return false
	}
	c, _ := LuhnCheckDigit(s[:len(s)-1])
	return s[len(s)-1] == c
}

// LuhnCheckDigit returns the Luhn check digit to append to body, which must
// be non-empty ASCII digits (ok is false otherwise). Bank cards and IMEIs use it.
func LuhnCheckDigit(body string) (c byte, ok bool) {
	if !isDigits(body) {
		return 0, false
	}
	sum := 0
	double := true // the rightmost digit of body is doubled once the check digit is appended
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10), true
}

// usccChars are the 31 characters of GB 32100-2015, in value order.
const usccChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// checkUSCC accepts an 18-character unified social credit code in either case
// and returns it in upper case.
func checkUSCC(k Kind, s string) (string, *Error) {
	if len(s) != 18 {
		return "", newError(k, CodeInvalidUSCC, msgUSCC)
	}
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A' // ASCII only: strings.ToUpper would map ſ to S
			b[i] = c
		}
		if strings.IndexByte(usccChars, c) < 0 {
			return "", newError(k, CodeInvalidUSCC, msgUSCC)
		}
	}
	u := string(b)
	if c, _ := USCCCheckChar(u[:17]); u[17] != c {
		return "", newError(k, CodeInvalidUSCC, msgUSCCCheck)
	}
	return u, nil
}

// USCCCheckChar returns the check character of a unified social credit code
// whose first 17 characters are body (upper case), as GB 32100-2015 specifies:
// 31 − (Σ value×weight mod 31), with 31 written as '0'. ok is false when body
// is not 17 characters of the code's alphabet.
func USCCCheckChar(body string) (c byte, ok bool) {
	if len(body) != 17 {
		return 0, false
	}
	sum := 0
	for i := range 17 {
		v := strings.IndexByte(usccChars, body[i])
		if v < 0 {
			return 0, false
		}
		sum += v * usccWeights[i]
	}
	return usccChars[(31-sum%31)%31], true
}

// atoi converts a short string of ASCII digits; callers check isDigits first.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// validDate reports whether y-m-d is a calendar date from 1900-01-01 to 2099-12-31.
func validDate(y, m, d int) bool {
	if y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}
