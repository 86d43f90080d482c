package notice_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gigvault/internal/clock"
	"gigvault/internal/errs"
	"gigvault/internal/notice"
	"gigvault/internal/testenv"
)

const (
	tokenA = "token-for-org-a-0123456789"
	tokenB = "token-for-org-b-0123456789"
)

// recorded is a request an httptest server received.
type recorded struct {
	header http.Header
	body   []byte
}

// server answers every request with handler and records it.
func server(t *testing.T, handler http.HandlerFunc) (*httptest.Server, func() []recorded) {
	t.Helper()
	var mu sync.Mutex
	var reqs []recorded
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, recorded{r.Header.Clone(), b})
		mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(s.Close)
	return s, func() []recorded {
		mu.Lock()
		defer mu.Unlock()
		return append([]recorded(nil), reqs...)
	}
}

func newHTTP(t *testing.T, c notice.HTTPConfig) *notice.HTTP {
	t.Helper()
	h, err := notice.NewHTTP(c)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHTTPRequest(t *testing.T) {
	s, reqs := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(notice.RefHeader, "rcpt-42")
		w.WriteHeader(http.StatusAccepted)
	})
	var logs bytes.Buffer
	h := newHTTP(t, notice.HTTPConfig{Endpoints: map[string]notice.Endpoint{"org-a": {URL: s.URL + "/gv/notices", Token: tokenA},
		"org-b": {URL: s.URL}}, Token: tokenB, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	m := msg("0190f3c4-0000-7000-8000-000000000001", "org-a")
	m.Attempt = 3
	ref, err := h.Deliver(context.Background(), m)
	if err != nil || ref != "rcpt-42" {
		t.Fatalf("Deliver: %q %v", ref, err)
	}
	if _, err := h.Deliver(context.Background(), msg("d2", "org-b")); err != nil {
		t.Fatal(err)
	}
	got := reqs()
	if len(got) != 2 {
		t.Fatalf("%d requests", len(got))
	}
	sum := sha256.Sum256(m.Body)
	for k, want := range map[string]string{
		"Authorization":    "Bearer " + tokenA,
		"Content-Type":     "application/json",
		"Idempotency-Key":  m.ID,
		"X-Gv-Delivery-Id": m.ID,
		"X-Gv-Kind":        notice.KindDeletionNotice,
		"X-Gv-Attempt":     "3",
		"Content-Digest":   "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":",
		"User-Agent":       "gigvault-notice/1",
	} {
		if v := got[0].header.Get(k); v != want {
			t.Errorf("%s: %q, want %q", k, v, want)
		}
	}
	if !bytes.Equal(got[0].body, m.Body) {
		t.Errorf("body %q", got[0].body)
	}
	if a := got[1].header.Get("Authorization"); a != "Bearer "+tokenB {
		t.Errorf("the default token: %q", a)
	}
	if logs.Len() != 0 {
		t.Errorf("logged on success: %s", logs.String())
	}
}

func TestHTTPStatuses(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		ref, code  string
		permanent  bool
		retryAfter time.Duration
	}{
		{name: "200 header ref", status: 200, header: map[string]string{notice.RefHeader: "abc"}, ref: "abc"},
		{name: "200 JSON ref", status: 200, body: `{"ref":"xyz-1"}`, ref: "xyz-1"},
		{name: "204 no ref", status: 204},
		{name: "200 unsafe ref", status: 200, body: `{"ref":"has space 13812345678"}`},
		{name: "200 long ref", status: 200, header: map[string]string{notice.RefHeader: strings.Repeat("a", 129)}},
		{name: "200 not JSON", status: 200, body: "thanks"},
		{name: "429", status: 429, header: map[string]string{"Retry-After": "120"}, code: "http_429", retryAfter: 2 * time.Minute},
		{name: "429 date", status: 429, header: map[string]string{"Retry-After": now.Add(time.Hour).Format(http.TimeFormat)}, code: "http_429", retryAfter: time.Hour},
		{name: "429 huge", status: 429, header: map[string]string{"Retry-After": "9999999"}, code: "http_429", retryAfter: 24 * time.Hour},
		{name: "503", status: 503, code: "http_503"},
		{name: "500", status: 500, body: "stack trace with 13812345678", code: "http_500"},
		{name: "408", status: 408, code: "http_408"},
		{name: "400", status: 400, code: "http_400", permanent: true},
		{name: "401", status: 401, code: "http_401", permanent: true},
		{name: "404", status: 404, code: "http_404", permanent: true},
		{name: "410", status: 410, code: "http_410", permanent: true},
		{name: "302", status: 302, header: map[string]string{"Location": "https://example.com/"}, code: "http_302", permanent: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			var logs bytes.Buffer
			h := newHTTP(t, notice.HTTPConfig{Endpoints: map[string]notice.Endpoint{"org-a": {URL: s.URL, Token: tokenA}},
				Clock: clock.NewFake(now), Log: slog.New(slog.NewTextHandler(&logs, nil))})
			ref, err := h.Deliver(context.Background(), msg("d1", "org-a"))
			if ref != tc.ref || (err == nil) != (tc.code == "") || err != nil && notice.ErrorCode(err) != tc.code || notice.IsPermanent(err) != tc.permanent {
				t.Fatalf("Deliver: %q %v; want ref %q code %q permanent %v", ref, err, tc.ref, tc.code, tc.permanent)
			}
			if err != nil {
				var e *notice.Error
				if !errors.As(err, &e) || e.RetryAfter != tc.retryAfter {
					t.Errorf("retry after %v, want %v", e.RetryAfter, tc.retryAfter)
				}
				if !strings.Contains(logs.String(), "code="+tc.code) {
					t.Errorf("log: %s", logs.String())
				}
			}
			for _, secret := range []string{"13812345678", tokenA} {
				if strings.Contains(logs.String(), secret) || err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("log or error holds %q: %s / %v", secret, logs.String(), err)
				}
			}
		})
	}
}

func TestHTTPTransportFailures(t *testing.T) {
	// A closed server: connection refused.
	s := httptest.NewServer(http.NotFoundHandler())
	url := s.URL
	s.Close()
	h := newHTTP(t, notice.HTTPConfig{Endpoints: map[string]notice.Endpoint{"org-a": {URL: url, Token: tokenA}}})
	if _, err := h.Deliver(context.Background(), msg("d1", "org-a")); notice.ErrorCode(err) != notice.CodeNetwork || notice.IsPermanent(err) {
		t.Errorf("connection refused: %v", err)
	}
	// No answer in time: the handler waits until the client gives up.
	slow, _ := server(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	h = newHTTP(t, notice.HTTPConfig{Endpoints: map[string]notice.Endpoint{"org-a": {URL: slow.URL, Token: tokenA}}, Timeout: 50 * time.Millisecond})
	if _, err := h.Deliver(context.Background(), msg("d1", "org-a")); notice.ErrorCode(err) != notice.CodeTimeout || notice.IsPermanent(err) {
		t.Errorf("timeout: %v", err)
	}
	// No endpoint, malformed messages: permanent, nothing sent.
	for _, m := range []notice.Message{msg("d1", "org-z"), msg("d1", "bad recipient"), {ID: "d1", Recipient: "org-a", Kind: notice.KindCopy, ContentType: "application/zip"},
		{ID: "d1", Recipient: "org-a", Kind: notice.KindCopy, ContentType: "", Body: []byte("x")}} {
		if _, err := h.Deliver(context.Background(), m); !notice.IsPermanent(err) {
			t.Errorf("%v: %v", m, err)
		}
	}
}

func TestNewHTTPRefuses(t *testing.T) {
	for name, c := range map[string]notice.HTTPConfig{
		"no endpoints":     {},
		"plain http":       {Endpoints: map[string]notice.Endpoint{"org-a": {URL: "http://example.com/n", Token: tokenA}}},
		"credentials":      {Endpoints: map[string]notice.Endpoint{"org-a": {URL: "https://u:p@example.com/n", Token: tokenA}}},
		"query":            {Endpoints: map[string]notice.Endpoint{"org-a": {URL: "https://example.com/n?k=v", Token: tokenA}}},
		"fragment":         {Endpoints: map[string]notice.Endpoint{"org-a": {URL: "https://example.com/n#f", Token: tokenA}}},
		"relative":         {Endpoints: map[string]notice.Endpoint{"org-a": {URL: "/n", Token: tokenA}}},
		"no token":         {Endpoints: map[string]notice.Endpoint{"org-a": {URL: "https://example.com/n"}}},
		"short token":      {Endpoints: map[string]notice.Endpoint{"org-a": {URL: "https://example.com/n", Token: "short"}}},
		"token with space": {Endpoints: map[string]notice.Endpoint{"org-a": {URL: "https://example.com/n", Token: "a token with spaces in it"}}},
		"bad recipient":    {Endpoints: map[string]notice.Endpoint{"org a": {URL: "https://example.com/n", Token: tokenA}}},
		"negative timeout": {Endpoints: map[string]notice.Endpoint{"org-a": {URL: "https://example.com/n", Token: tokenA}}, Timeout: -1},
	} {
		_, err := notice.NewHTTP(c)
		if !errs.Is(err, errs.Invalid) || strings.Contains(err.Error(), tokenA) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := notice.NewHTTP(notice.HTTPConfig{Endpoints: map[string]notice.Endpoint{"org-a": {URL: "https://example.com/n", Token: tokenA},
		"org-b": {URL: "http://localhost:8081/n", Token: tokenB}}}); err != nil {
		t.Errorf("good configuration: %v", err)
	}
}

// TestHTTPWithDispatcher: the dispatcher and the HTTP deliverer together,
// retrying a 503 and then delivered with the recipient's reference.
func TestHTTPWithDispatcher(t *testing.T) {
	var mu sync.Mutex
	n := 0
	s, reqs := server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ref":"ack-7"}`)
	})
	v := open(t, testenv.Engines(t)[0])
	h := newHTTP(t, notice.HTTPConfig{Endpoints: map[string]notice.Endpoint{"org-a": {URL: s.URL, Token: tokenA}}})
	x := v.dispatcher(h, notice.Options{})
	id := v.enqueue(t, v.deletion("org-a"))[0]
	run(t, x, 0, 0, 1)
	if d := v.get(t, id); d.LastError != "http_503" {
		t.Errorf("after a 503: %+v", d)
	}
	v.clk.Advance(time.Minute)
	run(t, x, 1, 0, 0)
	if d := v.get(t, id); d.Status != notice.StatusDelivered || d.DeliveryRef != "ack-7" || d.Attempts != 2 {
		t.Errorf("delivered: %+v", d)
	}
	got := reqs()
	if len(got) != 2 || !bytes.Equal(got[0].body, got[1].body) || got[1].header.Get("X-Gv-Attempt") != "2" || got[0].header.Get("Idempotency-Key") != id {
		t.Errorf("requests %+v", got)
	}
	v.verifyChain(t)
}
