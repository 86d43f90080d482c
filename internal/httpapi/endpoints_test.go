package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gigvault/internal/obs"
)

type pingerFunc func() error

func (f pingerFunc) Ping(context.Context) error { return f() }

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func decodeJSON(t *testing.T, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q, want application/json; charset=utf-8", ct)
	}
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %T: %v", v, err)
	}
}

func TestHealthzAndVersion(t *testing.T) {
	h := New(Deps{Version: "1.2.3-test"}).Handler()

	rec := get(t, h, "/healthz")
	if rec.Code != http.StatusOK {
		t.Fatalf("/healthz status = %d", rec.Code)
	}
	var health map[string]string
	decodeJSON(t, rec, &health)
	if diff := cmp.Diff(map[string]string{"status": "ok"}, health); diff != "" {
		t.Errorf("/healthz (-want +got):\n%s", diff)
	}

	rec = get(t, h, "/v1/version")
	if rec.Code != http.StatusOK {
		t.Fatalf("/v1/version status = %d", rec.Code)
	}
	var version map[string]string
	decodeJSON(t, rec, &version)
	if diff := cmp.Diff(map[string]string{"version": "1.2.3-test"}, version); diff != "" {
		t.Errorf("/v1/version (-want +got):\n%s", diff)
	}
}

func TestMetrics(t *testing.T) {
	m := obs.NewMetrics()
	h := New(Deps{Metrics: m, Ready: map[string]Pinger{"db": pingerFunc(func() error { return errors.New("down") })}}).Handler()
	const n = 3
	for range n {
		if rec := get(t, h, "/healthz"); rec.Code != http.StatusOK {
			t.Fatalf("/healthz status = %d", rec.Code)
		}
	}
	get(t, h, "/readyz") // 503
	get(t, h, "/nope")   // 404, not a route: not counted

	rec := get(t, h, "/metrics")
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics status = %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`gigvault_http_requests_total{code="200",method="GET",route="/healthz"} 3` + "\n",
		`gigvault_http_requests_total{code="503",method="GET",route="/readyz"} 1` + "\n",
		`gigvault_http_request_duration_seconds_count{route="/healthz"} 3` + "\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, bad := range []string{`route="/nope"`, `route="/"`, `route="/metrics"`} {
		if strings.Contains(body, bad) {
			t.Errorf("/metrics contains %s", bad)
		}
	}

	// The scrape itself is counted once it has completed.
	if body := get(t, h, "/metrics").Body.String(); !strings.Contains(body, `gigvault_http_requests_total{code="200",method="GET",route="/metrics"} 1`+"\n") {
		t.Error("second scrape does not count the first")
	}
}

type readiness struct {
	Ready  bool              `json:"ready"`
	Checks map[string]string `json:"checks"`
}

func TestReadyz(t *testing.T) {
	const secret = "dial tcp 10.0.0.7:5432: password for 13800138000 rejected"
	ok := pingerFunc(func() error { return nil })
	fail := pingerFunc(func() error { return errors.New(secret) })
	for _, tc := range []struct {
		name   string
		ready  map[string]Pinger
		status int
		want   readiness
	}{
		{"no checks", nil, 200, readiness{Ready: true, Checks: map[string]string{}}},
		{"all ok", map[string]Pinger{"database": ok, "key_store": ok}, 200,
			readiness{Ready: true, Checks: map[string]string{"database": "ok", "key_store": "ok"}}},
		{"one failing", map[string]Pinger{"database": ok, "key_store": fail}, 503,
			readiness{Ready: false, Checks: map[string]string{"database": "ok", "key_store": "unavailable"}}},
		{"all failing", map[string]Pinger{"database": fail, "key_store": fail}, 503,
			readiness{Ready: false, Checks: map[string]string{"database": "unavailable", "key_store": "unavailable"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logBuf bytes.Buffer
			h := New(Deps{Ready: tc.ready, Log: slog.New(slog.NewJSONHandler(&logBuf, nil))}).Handler()
			rec := get(t, h, "/readyz")
			if rec.Code != tc.status {
				t.Errorf("status = %d, want %d", rec.Code, tc.status)
			}
			raw := rec.Body.String()
			if strings.Contains(raw, "13800138000") || strings.Contains(raw, "dial") || strings.Contains(raw, "password") {
				t.Errorf("body %q leaks the ping error", raw)
			}
			if want := `"ready":` + map[bool]string{true: "true", false: "false"}[tc.want.Ready]; !strings.Contains(raw, want) {
				t.Errorf("body %q lacks %s", raw, want)
			}
			var got readiness
			decodeJSON(t, rec, &got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			// Each failure is logged, naming the check, for the operator.
			var warned []string
			for _, r := range logRecords(t, &logBuf) {
				if r["msg"] == "readiness check failed" {
					warned = append(warned, r["check"].(string))
				}
			}
			var wantWarned []string
			for name, v := range tc.want.Checks {
				if v == "unavailable" {
					wantWarned = append(wantWarned, name)
				}
			}
			slices.Sort(warned)
			slices.Sort(wantWarned)
			if diff := cmp.Diff(wantWarned, warned); diff != "" {
				t.Errorf("logged failed checks (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadyzDeadline: the pings run under a deadline, so one hung dependency
// cannot hang the probe.
func TestReadyzDeadline(t *testing.T) {
	var sawDeadline bool
	p := pingerCtx(func(ctx context.Context) error {
		_, sawDeadline = ctx.Deadline()
		return nil
	})
	rec := get(t, New(Deps{Ready: map[string]Pinger{"db": p}}).Handler(), "/readyz")
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d", rec.Code)
	}
	if !sawDeadline {
		t.Error("Ping called without a deadline")
	}
}

type pingerCtx func(ctx context.Context) error

func (f pingerCtx) Ping(ctx context.Context) error { return f(ctx) }
