package load

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseFlagsDefaults(t *testing.T) {
	o, err := ParseFlags([]string{"-url", "http://127.0.0.1:8080/healthz"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Targets: []string{"http://127.0.0.1:8080/healthz"}, Method: "GET", Header: http.Header{},
		Concurrency: 2 * runtime.GOMAXPROCS(0) * 8, Duration: 10 * time.Second, Warmup: time.Second,
		Timeout: 5 * time.Second, Expect: 200, LateAfter: time.Millisecond,
	}
	if d := cmp.Diff(want, o.Config); d != "" || o.JSON {
		t.Fatalf("json %v, (-want +got)\n%s", o.JSON, d)
	}
}

func TestParseFlagsRepeatable(t *testing.T) {
	body := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(body, []byte(`{"x":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := ParseFlags([]string{
		"-url", "http://127.0.0.1:8080/v1/me", "-url", "http://127.0.0.1:8080/healthz",
		"-header", "Authorization: Bearer abc:def", "-header", "X-A:  1 ", "-header", "x-a: 2", "-header", "host: api.test",
		"-body-file", body, "-rate", "500", "-concurrency", "64", "-duration", "3s", "-requests", "1000",
		"-warmup", "0", "-timeout", "1s", "-expect", "204", "-json", "-baseline", "http://[::1]:8080/healthz", "-method", "PUT",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Targets:  []string{"http://127.0.0.1:8080/v1/me", "http://127.0.0.1:8080/healthz"},
		Baseline: "http://[::1]:8080/healthz", Method: "PUT",
		Header: http.Header{"Authorization": {"Bearer abc:def"}, "X-A": {"1", "2"}}, Host: "api.test",
		Body: []byte(`{"x":1}`), Rate: 500, Concurrency: 64, Duration: 3 * time.Second, Requests: 1000,
		Timeout: time.Second, Expect: 204, LateAfter: time.Millisecond,
	}
	if d := cmp.Diff(want, o.Config); d != "" || !o.JSON {
		t.Fatalf("json %v, (-want +got)\n%s", o.JSON, d)
	}
}

func TestParseFlagsErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-url", "http://127.0.0.1/", "-header", "no colon"},
		{"-url", "http://127.0.0.1/", "-header", ": empty name"},
		{"-url", "http://127.0.0.1/", "-header", "Bad Name: v"},
		{"-url", "http://127.0.0.1/", "-body", "x", "-body-file", "f"},
		{"-url", "http://127.0.0.1/", "-body-file", "/nonexistent/body"},
		{"-url", "http://127.0.0.1/", "stray"},
		{"-rate", "fast"},
	} {
		if _, err := ParseFlags(args, io.Discard); err == nil {
			t.Errorf("ParseFlags(%q) accepted", args)
		}
	}
}

func TestValidateLimits(t *testing.T) {
	ok := DefaultConfig()
	ok.Targets = []string{"http://127.0.0.1:8080/"}
	if err := ok.Validate(context.Background()); err != nil {
		t.Fatalf("default config refused: %v", err)
	}
	for name, mut := range map[string]func(c *Config){
		"no target":           func(c *Config) { c.Targets = nil },
		"too many targets":    func(c *Config) { c.Targets = strings.Split(strings.Repeat("http://127.0.0.1/ ", 9), " ")[:9] },
		"duration > 5m":       func(c *Config) { c.Duration = 5*time.Minute + 1 },
		"negative duration":   func(c *Config) { c.Duration = -time.Second },
		"requests > 10M":      func(c *Config) { c.Requests = 10_000_001 },
		"unbounded":           func(c *Config) { c.Duration, c.Requests = 0, 0 },
		"negative rate":       func(c *Config) { c.Rate = -1 },
		"rate too high":       func(c *Config) { c.Rate = 2e6 },
		"zero concurrency":    func(c *Config) { c.Concurrency = 0 },
		"huge concurrency":    func(c *Config) { c.Concurrency = 100_000 },
		"zero timeout":        func(c *Config) { c.Timeout = 0 },
		"long warm-up":        func(c *Config) { c.Warmup = time.Hour },
		"bad expect":          func(c *Config) { c.Expect = 42 },
		"bad method":          func(c *Config) { c.Method = "GE T" },
		"non-loopback base":   func(c *Config) { c.Baseline = "http://10.0.0.1/" },
		"non-loopback 2nd":    func(c *Config) { c.Targets = append(c.Targets, "http://example.com/") },
		"zero late-after":     func(c *Config) { c.LateAfter = 0 },
		"body over the limit": func(c *Config) { c.Body = make([]byte, MaxBodyBytes+1) },
	} {
		c := ok
		c.Targets = append([]string(nil), ok.Targets...)
		mut(&c)
		if err := c.Validate(context.Background()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c := ok
	c.Duration, c.Requests = 0, 100
	if err := c.Validate(context.Background()); err != nil || c.window() != MaxDuration {
		t.Fatalf("count-only run: %v, window %v", err, c.window())
	}
}

func TestMainOutputs(t *testing.T) {
	srv, _ := countingServer(t, nil)
	args := []string{"-url", srv.URL + "/v1/me", "-baseline", srv.URL + "/healthz", "-duration", "400ms", "-warmup", "100ms",
		"-concurrency", "2", "-header", "Authorization: Bearer s3cret"}

	var out, errOut bytes.Buffer
	if code := Main(context.Background(), append(args, "-json"), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var j jsonReport
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		t.Fatal(err)
	}
	if dec.More() {
		t.Fatal("more than one JSON value")
	}
	if j.Config.Mode != "closed" || len(j.Targets) != 1 || j.Baseline == nil || len(j.Ratios) != 1 ||
		j.Targets[0].Requests == 0 || j.Targets[0].WarmupRequests == 0 || j.Targets[0].LatencyMS.P99 <= 0 || j.Ratios[0].Throughput == nil {
		t.Fatalf("report: %+v", j)
	}
	if d := cmp.Diff([]string{"Authorization"}, j.Config.HeaderNames); d != "" {
		t.Fatal(d)
	}

	out.Reset()
	errOut.Reset()
	if code := Main(context.Background(), append(args, "-rate", "100"), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	text := out.String()
	for _, s := range []string{"open loop at 100 req/s", srv.URL + "/v1/me", srv.URL + "/healthz (baseline)", "p99.9", "late", "missed", "ratios target/baseline"} {
		if !strings.Contains(text, s) {
			t.Errorf("text report lacks %q:\n%s", s, text)
		}
	}
	if strings.Contains(text+errOut.String(), "s3cret") {
		t.Error("a header value was printed")
	}
}

func TestMainExitCodes(t *testing.T) {
	var errOut bytes.Buffer
	if code := Main(context.Background(), []string{"-url", "http://10.0.0.1/", "-duration", "1s"}, io.Discard, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "not a loopback address") {
		t.Fatalf("non-loopback target: exit %d, %q", code, errOut.String())
	}
	if code := Main(context.Background(), []string{"-nope"}, io.Discard, io.Discard); code != 2 {
		t.Fatalf("bad flag: exit %d", code)
	}
	if code := Main(context.Background(), []string{"-h"}, io.Discard, io.Discard); code != 0 {
		t.Fatalf("-h: exit %d", code)
	}
}

func TestFmtDur(t *testing.T) {
	for d, want := range map[time.Duration]string{
		512 * time.Nanosecond: "512ns", 12345 * time.Nanosecond: "12.3µs", 512 * time.Microsecond: "512µs",
		1234567 * time.Nanosecond: "1.23ms", 45600 * time.Microsecond: "45.6ms", 1200 * time.Millisecond: "1.20s",
	} {
		if got := fmtDur(d, 1); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", d, got, want)
		}
	}
	if fmtDur(time.Second, 0) != "-" {
		t.Error("empty latency not shown as -")
	}
}
