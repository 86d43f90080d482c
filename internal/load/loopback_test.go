package load

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckLoopbackRefuses(t *testing.T) {
	for _, u := range []string{
		"http://10.0.0.1/",
		"http://example.com/",
		"http://192.168.1.1:8080/v1/me",
		"http://[::2]/",
		"http://[::2]:8080/healthz",
		"http://0.0.0.0:8080/",
		"http://[::]:8080/",
		"http://[::ffff:10.0.0.1]/",
		"http://localhost.example.com/",
		"http://foo.localhost/",
		"http://2130706433/", // 127.0.0.1 as one number: not accepted as a literal
		"https://8.8.8.8/",
	} {
		err := CheckLoopback(context.Background(), u)
		if !errors.Is(err, ErrNotLoopback) {
			t.Errorf("CheckLoopback(%q) = %v, want ErrNotLoopback", u, err)
		}
	}
	for _, u := range []string{"ftp://127.0.0.1/", "127.0.0.1:8080", "http:///path", "http://%zz/"} {
		if err := CheckLoopback(context.Background(), u); err == nil {
			t.Errorf("CheckLoopback(%q) accepted a malformed URL", u)
		}
	}
}

func TestCheckLoopbackAccepts(t *testing.T) {
	for _, u := range []string{
		"http://127.0.0.1/",
		"http://127.0.0.1:8080/healthz",
		"http://127.8.9.10:1/",
		"http://[::1]/",
		"http://[::1]:8080/v1/me",
		"http://[::ffff:127.0.0.1]:8080/",
		"http://localhost/",
		"http://localhost:8080/healthz",
		"https://LOCALHOST.:8443/",
	} {
		if err := CheckLoopback(context.Background(), u); err != nil {
			t.Errorf("CheckLoopback(%q) = %v, want nil", u, err)
		}
	}
}

func TestDialGuard(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:80": true, "[::1]:80": true, "127.1.2.3:9": true,
		"10.0.0.1:80": false, "[::2]:80": false, "192.168.1.1:443": false, "[::ffff:10.0.0.1]:80": false, "nonsense": false,
	} {
		err := loopbackOnly("tcp", addr, nil)
		if ok != (err == nil) || (!ok && !errors.Is(err, ErrNotLoopback)) {
			t.Errorf("loopbackOnly(%q) = %v", addr, err)
		}
	}
	// Through the real client: the dialer's Control hook runs after the
	// socket is created and before connect, so no packet leaves the host.
	c := NewClient(1, time.Second, false)
	_, err := c.Get("http://10.0.0.1:9/")
	if !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("client reached a non-loopback address: %v", err)
	}
}

func TestRunRefusesNonLoopback(t *testing.T) {
	base := DefaultConfig()
	base.Duration = 100 * time.Millisecond
	for _, tc := range []struct {
		targets  []string
		baseline string
	}{
		{[]string{"http://10.0.0.1/"}, ""},
		{[]string{"http://127.0.0.1:1/", "http://example.com/"}, ""},
		{[]string{"http://127.0.0.1:1/"}, "http://192.168.1.1/healthz"},
	} {
		cfg := base
		cfg.Targets, cfg.Baseline = tc.targets, tc.baseline
		rep, err := Run(context.Background(), cfg, func(string, bool) { t.Error("a run started") })
		if !errors.Is(err, ErrNotLoopback) || rep != nil {
			t.Errorf("Run(%v, baseline %q) = %v, %v; want ErrNotLoopback", tc.targets, tc.baseline, rep, err)
		}
		if err != nil && !strings.Contains(err.Error(), "loopback") {
			t.Errorf("error does not say why: %v", err)
		}
	}
}
