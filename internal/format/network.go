package format

import (
	"net/mail"
	"net/netip"
	"net/url"
	"strings"
	"unicode"
)

// checkEmail accepts a plain ASCII address local@domain.tld: net/mail syntax
// without a display name, comment, quoted local part or domain literal, a
// local part of at most 64 bytes and a domain of dot-separated host labels.
// It returns the address in lower case.
func checkEmail(k Kind, s string) (string, *Error) {
	bad := newError(k, CodeInvalidEmail, msgEmail)
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return "", bad
		}
	}
	if strings.ContainsAny(s, "\"<>()[]\\,;: ") {
		return "", bad
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", bad
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if len(local) == 0 || len(local) > 64 || local[0] == '.' || local[len(local)-1] == '.' ||
		strings.Contains(local, "..") || !validDomain(domain) {
		return "", bad
	}
	return strings.ToLower(s), nil
}

// validDomain reports whether d is two or more host labels (letters, digits,
// inner hyphens, 1–63 bytes each) ending in a label that is not all digits.
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return !isDigits(labels[len(labels)-1])
}

// checkIP accepts an IPv4 or IPv6 address without a zone and returns its
// canonical text form.
func checkIP(k Kind, s string) (string, *Error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return "", newError(k, CodeInvalidIP, msgIP)
	}
	return a.String(), nil
}

// checkURL accepts an absolute http or https URL with a host and no white space.
func checkURL(k Kind, s string) (string, *Error) {
	bad := newError(k, CodeInvalidURL, msgURL)
	if strings.ContainsFunc(s, unicode.IsSpace) {
		return "", bad
	}
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.Hostname() == "" ||
		!(strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https")) {
		return "", bad
	}
	return s, nil
}

// checkDeviceID accepts an IMEI (15 digits with a Luhn check digit), an
// Android ID (16 hex digits) or a MAC address (six hex pairs separated by
// colons or hyphens). Hex is returned in lower case, MAC addresses with colons.
func checkDeviceID(k Kind, s string) (string, *Error) {
	switch {
	case len(s) == 15 && isDigits(s):
		if !LuhnValid(s) {
			return "", newError(k, CodeInvalidDeviceID, msgIMEICheck)
		}
		return s, nil
	case len(s) == 16 && isHex(s):
		return strings.ToLower(s), nil
	case len(s) == 17 && (s[2] == ':' || s[2] == '-'):
		sep := s[2]
		for i := 0; i < 17; i += 3 {
			if !isHex(s[i:i+2]) || (i+2 < 17 && s[i+2] != sep) {
				return "", newError(k, CodeInvalidDeviceID, msgDeviceID)
			}
		}
		return strings.ToLower(strings.ReplaceAll(s, "-", ":")), nil
	}
	return "", newError(k, CodeInvalidDeviceID, msgDeviceID)
}

// isHex reports whether s is non-empty ASCII hex digits.
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
