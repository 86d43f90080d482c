// Package outbound checks where gigvault's adapters to outside services
// (the SMS gateway, the identity verifier) may send personal information.
package outbound

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

// CheckURL requires an absolute http(s) URL with a host and without
// credentials, https unless the host is loopback.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("unparsable URL")
	}
	if u.User != nil {
		return errors.New("credentials in URL")
	}
	if u.Hostname() == "" {
		return errors.New("no host")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if Loopback(u.Hostname()) {
			return nil
		}
		return errors.New("http to a non-loopback host")
	}
	return errors.New("scheme not http(s)")
}

// Loopback reports whether host is localhost or a loopback address.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckBaseURL is CheckURL without a query or fragment: a base URL paths
// are appended to, so nothing can ride along unseen.
func CheckBaseURL(s string) error {
	if err := CheckURL(s); err != nil {
		return err
	}
	if u, _ := url.Parse(s); u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return errors.New("query or fragment in URL")
	}
	return nil
}

// HeaderSafe reports whether s is non-empty printable ASCII without spaces:
// safe to send as a header value (a token, an ID).
func HeaderSafe(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
