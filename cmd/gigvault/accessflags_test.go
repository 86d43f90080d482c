package main

import (
	"testing"
	"time"

	"gigvault/internal/ratelimit"
)

func TestParseLimit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want ratelimit.Limit
		ok   bool
	}{
		{"600/1m", ratelimit.Limit{Events: 600, Per: time.Minute}, true},
		{"20/1h", ratelimit.Limit{Events: 20, Per: time.Hour}, true},
		{"off", ratelimit.Limit{}, true},
		{"0", ratelimit.Limit{}, true},
		{"600", ratelimit.Limit{}, false},
		{"-1/1m", ratelimit.Limit{}, false},
		{"5/0s", ratelimit.Limit{}, false},
		{"5/-1m", ratelimit.Limit{}, false},
		{"x/1m", ratelimit.Limit{}, false},
		{"", ratelimit.Limit{}, false},
	} {
		got, err := parseLimit("rate-ip", c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseLimit(%q) = %+v, %v", c.in, got, err)
		}
	}
}

// FuzzParseLimit: any input either parses into a positive limit (or off)
// or is refused; nothing panics.
func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"600/1m", "off", "1/1ns", "9999999999999/1h", "5/", "/1m", "1/1m/2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := parseLimit("x", s)
		if err != nil {
			return
		}
		if l != (ratelimit.Limit{}) && (l.Events < 1 || l.Per <= 0) {
			t.Fatalf("%q parsed to %+v", s, l)
		}
	})
}
