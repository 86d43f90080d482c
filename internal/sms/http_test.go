package sms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gigvault/internal/clock"
	"gigvault/internal/errs"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// received is one request as the fake provider saw it.
type received struct {
	header http.Header
	body   []byte
	req    request
	sigOK  bool
}

// provider is a fake SMS provider: it verifies signatures and answers
// each request with the next of its scripted replies (the last one
// repeats).
type provider struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	got     []received
	replies []func(w http.ResponseWriter, r *http.Request)
}

func newProvider(t *testing.T, replies ...func(w http.ResponseWriter, r *http.Request)) *provider {
	p := &provider{t: t, replies: replies}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *provider) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc := received{header: r.Header.Clone(), body: body}
	if err := json.Unmarshal(body, &rc.req); err != nil {
		p.t.Errorf("provider: bad JSON body: %v", err)
	}
	// Verify as an adapter would: recompute and compare in constant time.
	want := Sign(testSecret, r.Header.Get("X-GV-Timestamp"), body)
	rc.sigOK = r.Method == http.MethodPost && r.Header.Get("X-GV-Key-Id") == "kid-1" &&
		hmac.Equal([]byte(want), []byte(r.Header.Get("X-GV-Signature")))
	p.mu.Lock()
	p.got = append(p.got, rc)
	i := min(len(p.got), len(p.replies)) - 1
	p.mu.Unlock()
	p.replies[i](w, r)
}

func (p *provider) requests() []received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]received(nil), p.got...)
}

func status(code int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

func okReply(id string) func(http.ResponseWriter, *http.Request) {
	return status(200, `{"message_id":"`+id+`"}`)
}

// hang waits until the client gives up.
func hang(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(2 * time.Second):
	}
}

func newTestHTTP(t *testing.T, url string, mod func(*HTTPConfig)) *HTTP {
	t.Helper()
	c := HTTPConfig{
		URL:     url,
		KeyID:   "kid-1",
		Secret:  testSecret,
		Sender:  "零工宝",
		Clock:   clock.NewFake(t0),
		Timeout: time.Second,
	}
	if mod != nil {
		mod(&c)
	}
	g, err := NewHTTP(c)
	if err != nil {
		t.Fatal(err)
	}
	g.backoff = time.Millisecond
	return g
}

func TestHTTPSendSigned(t *testing.T) {
	p := newProvider(t, okReply("prov-42"))
	g := newTestHTTP(t, p.srv.URL+"/v1/sms", nil)
	ref, err := g.Send(context.Background(), loginMsg(testNumber, testCode))
	if err != nil {
		t.Fatal(err)
	}
	if ref != "prov-42" {
		t.Errorf("ref %q", ref)
	}
	got := p.requests()
	if len(got) != 1 {
		t.Fatalf("%d requests", len(got))
	}
	r := got[0]
	if !r.sigOK {
		t.Error("signature does not verify")
	}
	if ts := r.header.Get("X-GV-Timestamp"); ts != strconv.FormatInt(t0.Unix(), 10) {
		t.Errorf("timestamp %q, want the injected clock's", ts)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	want := request{To: testNumber, Template: TemplateLoginCode, Sender: "零工宝",
		Params: map[string]string{"code": testCode, "minutes": "5"}, RequestID: r.req.RequestID}
	if r.req.To != want.To || r.req.Template != want.Template || r.req.Sender != want.Sender ||
		len(r.req.Params) != 2 || r.req.Params["code"] != testCode || r.req.Params["minutes"] != "5" {
		t.Errorf("body %+v, want %+v", r.req, want)
	}
	if len(r.req.RequestID) != 16 || r.header.Get("Idempotency-Key") != r.req.RequestID {
		t.Errorf("request_id %q, Idempotency-Key %q", r.req.RequestID, r.header.Get("Idempotency-Key"))
	}
	// A tampered body or timestamp does not verify.
	if Sign(testSecret, r.header.Get("X-GV-Timestamp"), append(r.body, ' ')) == r.header.Get("X-GV-Signature") ||
		Sign(testSecret, "1", r.body) == r.header.Get("X-GV-Signature") {
		t.Error("signature does not cover body and timestamp")
	}
	// Each Send has its own request ID.
	if _, err := g.Send(context.Background(), loginMsg(testNumber, testCode)); err != nil {
		t.Fatal(err)
	}
	if got := p.requests(); got[1].req.RequestID == got[0].req.RequestID {
		t.Error("request ID reused across sends")
	}
	if g.Name() != "http" {
		t.Errorf("Name = %q", g.Name())
	}
}

func TestSignKnownAnswer(t *testing.T) {
	// The example in docs/sms-gateway.md, also checked there with openssl.
	body, err := json.Marshal(request{To: "13800138000", Template: "login_code",
		Params: map[string]string{"minutes": "5", "code": "123456"}, Sender: "零工宝", RequestID: "3f2a9c0d1e4b5a67"})
	if err != nil {
		t.Fatal(err)
	}
	const wantBody = `{"to":"13800138000","template":"login_code","params":{"code":"123456","minutes":"5"},"sender":"零工宝","request_id":"3f2a9c0d1e4b5a67"}`
	if string(body) != wantBody {
		t.Fatalf("body\n%s\nwant\n%s", body, wantBody)
	}
	got := Sign([]byte("example-secret-0123456789"), "1740819600", body)
	const want = "3db726a4f1c569e8199eba2f6f59813da07912720a0093442edf4e64e04c49a4"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestHTTPRetries(t *testing.T) {
	tests := []struct {
		name     string
		replies  []func(http.ResponseWriter, *http.Request)
		retries  int
		timeout  time.Duration
		wantRef  string
		code     errs.Code
		field    string
		attempts int
	}{
		{name: "503 then success", replies: []func(http.ResponseWriter, *http.Request){status(503, ""), okReply("m1")}, wantRef: "m1", attempts: 2},
		{name: "500 502 then success", replies: []func(http.ResponseWriter, *http.Request){status(500, ""), status(502, ""), okReply("m2")}, wantRef: "m2", attempts: 3},
		{name: "503 until retries exhausted", replies: []func(http.ResponseWriter, *http.Request){status(503, "")}, code: errs.Unavailable, attempts: 3},
		{name: "retries configured", replies: []func(http.ResponseWriter, *http.Request){status(503, "")}, retries: 4, code: errs.Unavailable, attempts: 5},
		{name: "retries off", replies: []func(http.ResponseWriter, *http.Request){status(503, "")}, retries: -1, code: errs.Unavailable, attempts: 1},
		{name: "408 retried", replies: []func(http.ResponseWriter, *http.Request){status(408, ""), okReply("m3")}, wantRef: "m3", attempts: 2},
		{name: "400 not retried", replies: []func(http.ResponseWriter, *http.Request){status(400, `{"error":"invalid_params"}`), okReply("x")}, code: errs.Invalid, field: "template", attempts: 1},
		{name: "400 bad mobile", replies: []func(http.ResponseWriter, *http.Request){status(400, `{"error":"invalid_mobile"}`)}, code: errs.Invalid, field: "mobile", attempts: 1},
		{name: "422 bad template", replies: []func(http.ResponseWriter, *http.Request){status(422, `{"error":"invalid_template"}`)}, code: errs.Invalid, field: "template", attempts: 1},
		{name: "400 no body", replies: []func(http.ResponseWriter, *http.Request){status(400, "")}, code: errs.Invalid, field: "template", attempts: 1},
		{name: "429 rate limited", replies: []func(http.ResponseWriter, *http.Request){func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(429)
		}, okReply("x")}, code: errs.RateLimited, attempts: 1},
		{name: "401 misconfigured", replies: []func(http.ResponseWriter, *http.Request){status(401, "")}, code: errs.Unavailable, attempts: 1},
		{name: "redirect not followed", replies: []func(http.ResponseWriter, *http.Request){func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusTemporaryRedirect)
		}}, code: errs.Unavailable, attempts: 1},
		{name: "timeout then success", replies: []func(http.ResponseWriter, *http.Request){hang, okReply("m4")}, timeout: 20 * time.Millisecond, wantRef: "m4", attempts: 2},
		{name: "timeout", replies: []func(http.ResponseWriter, *http.Request){hang}, timeout: 20 * time.Millisecond, code: errs.Unavailable, attempts: 3},
		{name: "malformed 200", replies: []func(http.ResponseWriter, *http.Request){status(200, `{"id":"x"}`)}, code: errs.Unavailable, attempts: 1},
		{name: "200 not JSON", replies: []func(http.ResponseWriter, *http.Request){status(200, `ok`)}, code: errs.Unavailable, attempts: 1},
		{name: "200 unsafe message id", replies: []func(http.ResponseWriter, *http.Request){status(200, `{"message_id":"a b\n"}`)}, code: errs.Unavailable, attempts: 1},
		{name: "oversized body refused", replies: []func(http.ResponseWriter, *http.Request){
			status(200, `{"message_id":"m5","pad":"`+strings.Repeat("x", 64<<10)+`"}`)}, code: errs.Unavailable, attempts: 1},
		{name: "body at the limit accepted", replies: []func(http.ResponseWriter, *http.Request){
			status(200, `{"message_id":"m6","pad":"`+strings.Repeat("x", 64<<10-len(`{"message_id":"m6","pad":""}`))+`"}`)}, wantRef: "m6", attempts: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newProvider(t, tc.replies...)
			g := newTestHTTP(t, p.srv.URL, func(c *HTTPConfig) {
				c.Retries = tc.retries
				if tc.timeout > 0 {
					c.Timeout = tc.timeout
				}
			})
			ref, err := g.Send(context.Background(), loginMsg(testNumber, testCode))
			if tc.code == "" {
				if err != nil || ref != tc.wantRef {
					t.Fatalf("got (%q, %v), want %q", ref, err, tc.wantRef)
				}
			} else {
				if ref != "" {
					t.Errorf("ref %q on error", ref)
				}
				wantErr(t, err, tc.code, tc.field)
			}
			got := p.requests()
			if len(got) != tc.attempts {
				t.Fatalf("%d attempts, want %d", len(got), tc.attempts)
			}
			key := got[0].header.Get("Idempotency-Key")
			for i, r := range got {
				if !r.sigOK {
					t.Errorf("attempt %d: bad signature", i)
				}
				if k := r.header.Get("Idempotency-Key"); k != key || r.req.RequestID != key || key == "" {
					t.Errorf("attempt %d: Idempotency-Key %q, request_id %q, first %q", i, k, r.req.RequestID, key)
				}
				if !bytes.Equal(r.body, got[0].body) {
					t.Errorf("attempt %d: body changed across retries", i)
				}
			}
		})
	}
}

func TestHTTPConnectionErrorRetried(t *testing.T) {
	p := newProvider(t, okReply("x"))
	url := p.srv.URL
	p.srv.Close()
	var logs bytes.Buffer
	g := newTestHTTP(t, url, func(c *HTTPConfig) { c.Log = slog.New(slog.NewTextHandler(&logs, nil)) })
	_, err := g.Send(context.Background(), loginMsg(testNumber, testCode))
	wantErr(t, err, errs.Unavailable, "")
	if n := strings.Count(logs.String(), "retrying"); n != 2 {
		t.Errorf("%d retry log lines, want 2:\n%s", n, logs.String())
	}
}

func TestHTTPContextCancelStopsRetries(t *testing.T) {
	p := newProvider(t, status(503, ""))
	g := newTestHTTP(t, p.srv.URL, func(c *HTTPConfig) { c.Retries = 5 })
	g.backoff = time.Second // the cancellation, not the backoff, must end Send
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := g.Send(ctx, loginMsg(testNumber, testCode))
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Send took %v after cancellation", d)
	}
	wantErr(t, err, errs.Unavailable, "")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cause not kept: %v", err)
	}
	if n := len(p.requests()); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}

	// Already cancelled: nothing is sent.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = g.Send(ctx, loginMsg(testNumber, testCode))
	wantErr(t, err, errs.Unavailable, "")
	if n := len(p.requests()); n != 1 {
		t.Errorf("request sent under a cancelled context")
	}
}

func TestHTTPLocalValidation(t *testing.T) {
	p := newProvider(t, okReply("x"))
	g := newTestHTTP(t, p.srv.URL, nil)
	tests := []struct {
		msg   Message
		field string
	}{
		{Message{To: "1381234567", Template: "login_code"}, "mobile"},
		{Message{To: "+8613812345678", Template: "login_code"}, "mobile"},
		{Message{To: testNumber, Template: ""}, "template"},
		{Message{To: testNumber, Template: "login code"}, "template"},
		{Message{To: testNumber, Template: strings.Repeat("t", 65)}, "template"},
	}
	for _, tc := range tests {
		_, err := g.Send(context.Background(), tc.msg)
		wantErr(t, err, errs.Invalid, tc.field)
	}
	if n := len(p.requests()); n != 0 {
		t.Errorf("%d invalid messages reached the provider", n)
	}
	// Provider-specific template IDs and nil params pass.
	if _, err := g.Send(context.Background(), Message{To: testNumber, Template: "SMS_123456789"}); err != nil {
		t.Fatal(err)
	}
	if got := p.requests(); len(got) != 1 || got[0].req.Params == nil || !strings.Contains(string(got[0].body), `"params":{}`) {
		t.Errorf("nil params not sent as {}: %s", got[0].body)
	}
}

func TestNewHTTPConfig(t *testing.T) {
	good := HTTPConfig{URL: "https://sms.example.com/v1/send", KeyID: "kid", Secret: testSecret}
	tests := []struct {
		name  string
		mod   func(*HTTPConfig)
		field string // "" = accepted
	}{
		{name: "https", mod: func(*HTTPConfig) {}},
		{name: "http loopback v4", mod: func(c *HTTPConfig) { c.URL = "http://127.0.0.1:8081/send" }},
		{name: "http loopback 127/8", mod: func(c *HTTPConfig) { c.URL = "http://127.1.2.3/send" }},
		{name: "http loopback v6", mod: func(c *HTTPConfig) { c.URL = "http://[::1]:8081/send" }},
		{name: "http localhost", mod: func(c *HTTPConfig) { c.URL = "http://localhost:8081/send" }},
		{name: "http remote", mod: func(c *HTTPConfig) { c.URL = "http://sms.example.com/send" }, field: "URL"},
		{name: "http private IP", mod: func(c *HTTPConfig) { c.URL = "http://10.0.0.5/send" }, field: "URL"},
		{name: "http loopback-looking name", mod: func(c *HTTPConfig) { c.URL = "http://127.0.0.1.example.com/send" }, field: "URL"},
		{name: "http localhost subdomain", mod: func(c *HTTPConfig) { c.URL = "http://localhost.example.com/send" }, field: "URL"},
		{name: "ftp", mod: func(c *HTTPConfig) { c.URL = "ftp://sms.example.com/" }, field: "URL"},
		{name: "relative", mod: func(c *HTTPConfig) { c.URL = "/send" }, field: "URL"},
		{name: "empty URL", mod: func(c *HTTPConfig) { c.URL = "" }, field: "URL"},
		{name: "credentials in URL", mod: func(c *HTTPConfig) { c.URL = "https://u:p@sms.example.com/" }, field: "URL"},
		{name: "no key id", mod: func(c *HTTPConfig) { c.KeyID = "" }, field: "KeyID"},
		{name: "key id with newline", mod: func(c *HTTPConfig) { c.KeyID = "a\nb" }, field: "KeyID"},
		{name: "no secret", mod: func(c *HTTPConfig) { c.Secret = nil }, field: "Secret"},
		{name: "short secret", mod: func(c *HTTPConfig) { c.Secret = []byte("short") }, field: "Secret"},
		{name: "negative timeout", mod: func(c *HTTPConfig) { c.Timeout = -1 }, field: "Timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mod(&c)
			g, err := NewHTTP(c)
			if tc.field == "" {
				if err != nil || g == nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if g != nil {
				t.Error("gateway returned with an error")
			}
			wantErr(t, err, errs.Invalid, tc.field)
		})
	}

	// Defaults, and the secret is copied.
	c := good
	secret := bytes.Clone(testSecret)
	c.Secret = secret
	g, err := NewHTTP(c)
	if err != nil {
		t.Fatal(err)
	}
	secret[0] ^= 0xff
	if g.timeout != 5*time.Second || g.retries != 2 || g.client == nil || g.clk == nil || g.log == nil || g.secret[0] != testSecret[0] {
		t.Errorf("defaults: timeout %v retries %d secret copied %v", g.timeout, g.retries, g.secret[0] == testSecret[0])
	}
	c.Retries = 1000
	if g, _ := NewHTTP(c); g.retries != 10 {
		t.Errorf("retries not capped: %d", g.retries)
	}
}

func TestHTTPOverTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(okReply("tls-1")))
	defer srv.Close()
	g, err := NewHTTP(HTTPConfig{URL: srv.URL, KeyID: "kid-1", Secret: testSecret, Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := g.Send(context.Background(), loginMsg(testNumber, testCode))
	if err != nil || ref != "tls-1" {
		t.Fatalf("got (%q, %v)", ref, err)
	}
}
