package load

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrNotLoopback is returned (wrapped) for every target, and every
// connection attempt, whose address is not a loopback address. gvload only
// ever talks to 127.0.0.0/8 and ::1.
var ErrNotLoopback = errors.New("not a loopback address")

// CheckLoopback accepts an http or https URL whose host is a loopback IP
// literal (127.0.0.0/8, ::1, also as ::ffff:127.x.y.z) or the name
// "localhost" when every address it resolves to is loopback. Every other
// name is refused without being resolved, so checking sends no DNS query
// off the machine.
func CheckLoopback(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("target %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("target %q: scheme must be http or https", raw)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("target %q: no host", raw)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if !a.Unmap().IsLoopback() {
			return fmt.Errorf("target %q: %w: %s (only 127.0.0.0/8 and ::1 are allowed)", raw, ErrNotLoopback, host)
		}
		return nil
	}
	if name := strings.TrimSuffix(strings.ToLower(host), "."); name != "localhost" {
		return fmt.Errorf("target %q: %w: host %q is a name other than localhost (use 127.0.0.1, [::1] or localhost)", raw, ErrNotLoopback, host)
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", "localhost")
	if err != nil {
		return fmt.Errorf("target %q: resolve localhost: %w", raw, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("target %q: localhost resolves to nothing", raw)
	}
	for _, a := range addrs {
		if !a.Unmap().IsLoopback() {
			return fmt.Errorf("target %q: %w: localhost resolves to %s", raw, ErrNotLoopback, a)
		}
	}
	return nil
}

// loopbackOnly is a net.Dialer Control hook: it runs after the socket is
// created and before connect, with the resolved address, and vetoes any
// non-loopback peer. It backs CheckLoopback up against a name that resolves
// differently at dial time, or a redirect.
func loopbackOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrNotLoopback, address)
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Unmap().IsLoopback() {
		return fmt.Errorf("%w: refusing to connect to %s", ErrNotLoopback, address)
	}
	return nil
}

// NewClient returns the one http.Client a run shares between all its
// workers and targets: keep-alives on, an idle pool at least as large as
// the worker count (so no connection is closed and redialled between
// requests), no proxy from the environment, no transparent compression, no
// redirects followed (a 3xx is reported as a status), and a dialer that
// refuses any non-loopback peer.
func NewClient(concurrency int, timeout time.Duration, insecure bool) *http.Client {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: loopbackOnly}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         d.DialContext,
		MaxIdleConns:        0, // no global limit
		MaxIdleConnsPerHost: concurrency,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: timeout,
		DisableCompression:  true,
		// #nosec G402 -- opt-in via -insecure, and only loopback is reachable.
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure},
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
