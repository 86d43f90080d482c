package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gigvault/internal/errs"
)

var securityHeaderWant = map[string]string{
	"X-Content-Type-Options":  "nosniff",
	"X-Frame-Options":         "DENY",
	"Referrer-Policy":         "no-referrer",
	"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
	"Cache-Control":           "no-store",
}

func checkSecurityHeaders(t *testing.T, h http.Header, tls bool) {
	t.Helper()
	for k, v := range securityHeaderWant {
		if got := h.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want exactly [%q]", k, got, v)
		}
	}
	hsts := h.Get("Strict-Transport-Security")
	switch {
	case tls && hsts != "max-age=31536000":
		t.Errorf("Strict-Transport-Security = %q over TLS, want max-age=31536000", hsts)
	case !tls && hsts != "":
		t.Errorf("Strict-Transport-Security = %q over plain HTTP, want none", hsts)
	}
}

func TestSecurityHeaders(t *testing.T) {
	failing := pingerFunc(func() error { return errs.New(errs.Unavailable, "", "不可用", "down") })
	h := New(Deps{Ready: map[string]Pinger{"db": failing}}).Handler()
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/healthz", 200},
		{http.MethodHead, "/healthz", 200},
		{http.MethodGet, "/readyz", 503},
		{http.MethodGet, "/metrics", 200},
		{http.MethodGet, "/v1/version", 200},
		{http.MethodGet, "/openapi.yaml", 200},
		{http.MethodGet, "/nope", 404},
		{http.MethodPost, "/healthz", 404},
	} {
		for _, scheme := range []string{"http", "https"} {
			t.Run(scheme+" "+tc.method+" "+tc.path, func(t *testing.T) {
				req := httptest.NewRequest(tc.method, scheme+"://gigvault.test"+tc.path, nil)
				if (req.TLS != nil) != (scheme == "https") {
					t.Fatalf("httptest request TLS = %v for scheme %s", req.TLS, scheme)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != tc.status {
					t.Errorf("status = %d, want %d", rec.Code, tc.status)
				}
				checkSecurityHeaders(t, rec.Header(), scheme == "https")
			})
		}
	}
}

// logRecords parses a slog JSON handler's output.
func logRecords(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func findLog(recs []map[string]any, msg string) map[string]any {
	for _, r := range recs {
		if r["msg"] == msg {
			return r
		}
	}
	return nil
}

const panicText = "boom: lookup 13800138000 failed"

func checkPanicResponse(t *testing.T, rec *httptest.ResponseRecorder, logBuf *bytes.Buffer, wantRoute string) {
	t.Helper()
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", rec.Code)
	}
	d := decodeErrorBody(t, rec)
	if d.Code != errs.Internal || d.Message != "internal error" || d.MessageZh != "服务器内部错误" || d.Field != "" {
		t.Errorf("error = %+v, want plain internal error", d)
	}
	body := rec.Body.String()
	for _, leak := range []string{"boom", "13800138000", "goroutine", ".go:", "panic", "runtime/debug"} {
		if strings.Contains(body, leak) {
			t.Errorf("body %q contains %q", body, leak)
		}
	}
	rec2 := findLog(logRecords(t, logBuf), "panic in handler")
	if rec2 == nil {
		t.Fatalf("no \"panic in handler\" log record in %s", logBuf)
	}
	if rec2["level"] != "ERROR" {
		t.Errorf("panic logged at level %v, want ERROR", rec2["level"])
	}
	if rec2["panic"] != panicText {
		t.Errorf("logged panic = %v, want %q", rec2["panic"], panicText)
	}
	if s, _ := rec2["stack"].(string); !strings.Contains(s, "goroutine") || !strings.Contains(s, "middleware_test.go") {
		t.Errorf("logged stack does not reach the panicking test handler: %.200q", s)
	}
	if rec2["route"] != wantRoute {
		t.Errorf("logged route = %v, want %q", rec2["route"], wantRoute)
	}
}

func TestRecoverer(t *testing.T) {
	var logBuf bytes.Buffer
	s := New(Deps{Log: slog.New(slog.NewJSONHandler(&logBuf, nil))})
	h := s.recoverer(securityHeaders(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(panicText)
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom", nil))
	checkPanicResponse(t, rec, &logBuf, "")
	checkSecurityHeaders(t, rec.Header(), false)
}

// TestRecovererThroughMux registers a panicking route on a test-only Server
// so the panic travels the real Handler chain (mux, instrumentation).
func TestRecovererThroughMux(t *testing.T) {
	var logBuf bytes.Buffer
	s := New(Deps{Log: slog.New(slog.NewJSONHandler(&logBuf, nil))})
	s.add("GET", "/boom", false, func(http.ResponseWriter, *http.Request) { panic(panicText) })
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://gigvault.test/boom", nil))
	checkPanicResponse(t, rec, &logBuf, "GET /boom")
	checkSecurityHeaders(t, rec.Header(), true)

	// The server keeps serving after a panic.
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("after a panic, /healthz status = %d, want 200", rec.Code)
	}
	// The panicking request is counted as the 500 it answered.
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if want := `gigvault_http_requests_total{code="500",method="GET",route="/boom"} 1`; !strings.Contains(rec.Body.String(), want) {
		t.Errorf("metrics lack %s", want)
	}
}

// TestRecovererAbortHandler: http.ErrAbortHandler is net/http's way to abort
// a response; the recoverer must let it through rather than write a body.
func TestRecovererAbortHandler(t *testing.T) {
	var logBuf bytes.Buffer
	s := New(Deps{Log: slog.New(slog.NewJSONHandler(&logBuf, nil))})
	h := s.recoverer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	rec := httptest.NewRecorder()
	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler re-panicked", p)
			}
		}()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	if rec.Body.Len() != 0 {
		t.Errorf("body %q written for an aborted handler", rec.Body)
	}
	if logBuf.Len() != 0 {
		t.Errorf("aborted handler logged %s", &logBuf)
	}
}
