package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gigvault/internal/clock"
	"gigvault/internal/errs"
)

const testAPIKey = "test-api-key-0123456789abcdef"

// provider is a fake provider: it records each request and answers with
// the handler's choice.
type provider struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
	hdrs   []http.Header
	paths  []string
	answer func(w http.ResponseWriter, r *http.Request, body map[string]any)
}

func newProvider(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, body map[string]any)) *provider {
	t.Helper()
	p := &provider{t: t, answer: answer}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			t.Errorf("provider: body is not JSON: %v", err)
		}
		p.mu.Lock()
		p.bodies = append(p.bodies, body)
		p.hdrs = append(p.hdrs, r.Header.Clone())
		p.paths = append(p.paths, r.Method+" "+r.URL.Path)
		p.mu.Unlock()
		p.answer(w, r, body)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// seen returns copies of what the provider received so far.
func (p *provider) seen() (bodies []map[string]any, hdrs []http.Header, paths []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.bodies), slices.Clone(p.hdrs), slices.Clone(p.paths)
}

func (p *provider) verifier(t *testing.T, edit func(*HTTPConfig)) *HTTP {
	t.Helper()
	c := HTTPConfig{BaseURL: p.srv.URL, APIKey: testAPIKey, Clock: clock.NewFake(t0)}
	if edit != nil {
		edit(&c)
	}
	v, err := NewHTTP(c)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func jsonAnswer(status int, body string, headers ...string) func(http.ResponseWriter, *http.Request, map[string]any) {
	return func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

var level4 = Request{Level: Level4, Name: tName, IDNumber: tID, BankCard: tCard, Mobile: tMobile}

func TestHTTPPass(t *testing.T) {
	p := newProvider(t, jsonAnswer(200, `{"result":"pass","ref":"prov-123"}`))
	v := p.verifier(t, func(c *HTTPConfig) { c.Name = "acme-idv" })
	res, err := v.Verify(context.Background(), Request{Level: Level2, Name: " 张三 ", IDNumber: "32010219870101080x"})
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Level: Level2, Passed: true, Provider: "acme-idv", ProviderRef: "prov-123", At: t0}
	if res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}
	if v.Name() != "acme-idv" {
		t.Errorf("Name %q", v.Name())
	}
	bodies, hdrs, paths := p.seen()
	h := hdrs[0]
	if paths[0] != "POST /v1/verify" || h.Get("Authorization") != "Bearer "+testAPIKey ||
		h.Get("Content-Type") != "application/json" || h.Get("User-Agent") != "gigvault-verify/1" {
		t.Errorf("request %s %v", paths[0], h)
	}
	if id := h.Get("X-Request-Id"); !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) || bodies[0]["request_id"] != id {
		t.Errorf("request ID header %q, body %v", id, bodies[0]["request_id"])
	}
	if bodies[0]["name"] != "张三" || bodies[0]["id_number"] != tIDX {
		t.Error("factors not normalised before sending")
	}
}

func TestHTTPFailedChecks(t *testing.T) {
	for _, tt := range []struct {
		level  Level
		result string
	}{
		{Level2, "mismatch"}, {Level2, "id_not_found"}, {Level3, "card_not_matching"},
		{Level4, "card_not_matching"}, {Level4, "mobile_not_matching"}, {Level3, "mismatch"},
	} {
		p := newProvider(t, jsonAnswer(200, `{"result":"`+tt.result+`","ref":"r-1"}`))
		r := level4
		r.Level = tt.level
		if tt.level < Level4 {
			r.Mobile = ""
		}
		if tt.level < Level3 {
			r.BankCard = ""
		}
		res, err := p.verifier(t, nil).Verify(context.Background(), r)
		if err != nil {
			t.Fatalf("%s: %v", tt.result, err)
		}
		if res.Passed || res.Reason != tt.result || res.ProviderRef != "r-1" || res.Provider != "http" || res.Level != tt.level {
			t.Errorf("%s: %+v", tt.result, res)
		}
	}
}

// TestHTTPBodyCarriesExactlyTheLevelsFactors: data minimisation on the wire.
func TestHTTPBodyCarriesExactlyTheLevelsFactors(t *testing.T) {
	p := newProvider(t, jsonAnswer(200, `{"result":"pass","ref":"r"}`))
	v := p.verifier(t, nil)
	for l := Level2; l <= Level4; l++ {
		r := Request{Level: l, Name: tName, IDNumber: tID}
		if l >= Level3 {
			r.BankCard = "6222 0000 0000 0000 012"
		}
		if l >= Level4 {
			r.Mobile = "+86 138 0000 0001"
		}
		if _, err := v.Verify(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		bodies, _, _ := p.seen()
		body := bodies[len(bodies)-1]
		var keys []string
		for k := range body {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := append(Factors(l), "level", "request_id")
		slices.Sort(want)
		if !slices.Equal(keys, want) {
			t.Errorf("level %d: body keys %v, want %v", l, keys, want)
		}
		if body["level"] != json.Number(l.String()) {
			t.Errorf("level %d: level %v", l, body["level"])
		}
		if l >= Level3 && body["bank_card"] != tCard {
			t.Errorf("card not normalised: %v", body["bank_card"])
		}
		if l >= Level4 && body["mobile"] != tMobile {
			t.Errorf("mobile not normalised: %v", body["mobile"])
		}
	}
	bodies, _, _ := p.seen()
	if bodies[0]["request_id"] == bodies[1]["request_id"] {
		t.Error("request ID reused")
	}

	// An invalid request never reaches the provider.
	n := len(bodies)
	for _, r := range []Request{
		{Level: Level2, Name: tName, IDNumber: tID, BankCard: tCard},
		{Level: Level3, Name: tName, IDNumber: tID},
		{Level: 9, Name: tName, IDNumber: tID},
	} {
		if _, err := v.Verify(context.Background(), r); !errs.Is(err, errs.Invalid) {
			t.Errorf("%v: %v", r, err)
		}
	}
	if bodies, _, _ := p.seen(); len(bodies) != n {
		t.Error("an invalid request was sent")
	}
}

func TestHTTPBaseURLPath(t *testing.T) {
	p := newProvider(t, jsonAnswer(200, `{"result":"pass","ref":"r"}`))
	for _, base := range []string{p.srv.URL + "/", p.srv.URL + "/idv", p.srv.URL + "/idv/"} {
		v := p.verifier(t, func(c *HTTPConfig) { c.BaseURL = base })
		if _, err := v.Verify(context.Background(), Request{Level: Level2, Name: tName, IDNumber: tID}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, paths := p.seen(); !slices.Equal(paths, []string{"POST /v1/verify", "POST /idv/v1/verify", "POST /idv/v1/verify"}) {
		t.Errorf("paths %v", paths)
	}
}

func TestHTTPErrors(t *testing.T) {
	date := t0.Add(90 * time.Second).Format(http.TimeFormat)
	tests := []struct {
		name   string
		answer func(http.ResponseWriter, *http.Request, map[string]any)
		code   errs.Code
		field  string
		after  time.Duration
	}{
		{"429 Retry-After seconds", jsonAnswer(429, `{}`, "Retry-After", "7"), errs.RateLimited, "", 7 * time.Second},
		{"429 Retry-After date", jsonAnswer(429, ``, "Retry-After", date), errs.RateLimited, "", 90 * time.Second},
		{"429 Retry-After huge", jsonAnswer(429, ``, "Retry-After", "99999999999"), errs.RateLimited, "", 24 * time.Hour},
		{"429 no Retry-After", jsonAnswer(429, ``), errs.RateLimited, "", time.Minute},
		{"429 bad Retry-After", jsonAnswer(429, ``, "Retry-After", "soon"), errs.RateLimited, "", time.Minute},
		{"500", jsonAnswer(500, `{"error":"boom"}`), errs.Unavailable, "", 0},
		{"502 html", jsonAnswer(502, `<html>bad gateway</html>`), errs.Unavailable, "", 0},
		{"503 Retry-After", jsonAnswer(503, ``, "Retry-After", "30"), errs.Unavailable, "", 30 * time.Second},
		{"408", jsonAnswer(408, ``), errs.Unavailable, "", 0},
		{"200 malformed JSON", jsonAnswer(200, `{"result":"pass","ref":`), errs.Unavailable, "", 0},
		{"200 not JSON", jsonAnswer(200, `pass`), errs.Unavailable, "", 0},
		{"200 empty", jsonAnswer(200, ``), errs.Unavailable, "", 0},
		{"200 unknown result", jsonAnswer(200, `{"result":"maybe","ref":"r"}`), errs.Unavailable, "", 0},
		{"200 no result", jsonAnswer(200, `{"ref":"r"}`), errs.Unavailable, "", 0},
		{"200 reason beyond level", jsonAnswer(200, `{"result":"card_not_matching","ref":"r"}`), errs.Unavailable, "", 0},
		{"200 no ref", jsonAnswer(200, `{"result":"pass"}`), errs.Unavailable, "", 0},
		{"200 unsafe ref", jsonAnswer(200, `{"result":"pass","ref":"a b"}`), errs.Unavailable, "", 0},
		{"200 ref echoes ID", jsonAnswer(200, `{"result":"pass","ref":"q-`+tID+`"}`), errs.Unavailable, "", 0},
		{"200 too large", jsonAnswer(200, `{"result":"pass","ref":"r","pad":"`+strings.Repeat("x", 70<<10)+`"}`), errs.Unavailable, "", 0},
		{"400 invalid_id_number", jsonAnswer(400, `{"error":"invalid_id_number","message":"`+tID+` is wrong"}`), errs.Invalid, "id_number", 0},
		{"422 invalid_name", jsonAnswer(422, `{"error":"invalid_name"}`), errs.Invalid, "name", 0},
		{"400 other", jsonAnswer(400, `{"error":"invalid_level"}`), errs.Invalid, "", 0},
		{"400 no body", jsonAnswer(400, ``), errs.Invalid, "", 0},
		{"401", jsonAnswer(401, ``), errs.Unavailable, "", 0},
		{"302", jsonAnswer(302, ``, "Location", "https://example.com/"), errs.Unavailable, "", 0},
		{"404", jsonAnswer(404, ``), errs.Unavailable, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, tt.answer)
			res, err := p.verifier(t, nil).Verify(context.Background(), Request{Level: Level2, Name: tName, IDNumber: tID})
			var e *errs.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %+v, %v", res, err)
			}
			if e.Code != tt.code || e.Field != tt.field || e.RetryAfter != tt.after {
				t.Errorf("code %s field %q after %v; want %s %q %v (%v)", e.Code, e.Field, e.RetryAfter, tt.code, tt.field, tt.after, err)
			}
			if res != (Result{}) {
				t.Error("result with an error")
			}
			if e.Message == "" || e.MessageZh == "" {
				t.Error("no message")
			}
			if strings.Contains(err.Error(), tID) || strings.Contains(err.Error(), tName) {
				t.Errorf("error %q contains a factor", err)
			}
			if bodies, _, _ := p.seen(); len(bodies) != 1 {
				t.Errorf("%d requests: the HTTP verifier does not retry", len(bodies))
			}
		})
	}
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	v := p.verifier(t, func(c *HTTPConfig) { c.Timeout = 50 * time.Millisecond })
	start := time.Now()
	_, err := v.Verify(context.Background(), Request{Level: Level2, Name: tName, IDNumber: tID})
	if !errs.Is(err, errs.Unavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("timeout not applied")
	}

	// The caller's deadline and cancellation end the call too.
	v = p.verifier(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := v.Verify(ctx, Request{Level: Level2, Name: tName, IDNumber: tID}); !errs.Is(err, errs.Unavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("caller deadline: %v", err)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	before, _, _ := p.seen()
	if _, err := v.Verify(cctx, Request{Level: Level2, Name: tName, IDNumber: tID}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if after, _, _ := p.seen(); len(after) != len(before) {
		t.Error("sent with a cancelled context")
	}
}

func TestHTTPConnectionError(t *testing.T) {
	p := newProvider(t, jsonAnswer(200, `{}`))
	v := p.verifier(t, nil)
	p.srv.Close()
	if _, err := v.Verify(context.Background(), Request{Level: Level2, Name: tName, IDNumber: tID}); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("err = %v", err)
	}
}

// TestHTTPNoPIInErrorsOrLogs: a provider that echoes the request body in
// every answer; no factor reaches an error or the log.
func TestHTTPNoPIInErrorsOrLogs(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var texts []string
	for _, st := range []int{200, 400, 422, 401, 429, 500, 503} {
		p := newProvider(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
			b, _ := json.Marshal(map[string]any{"result": body["id_number"], "ref": body["mobile"], "error": body["name"], "echo": body})
			w.Header().Set("Retry-After", body["bank_card"].(string))
			w.WriteHeader(st)
			_, _ = w.Write(b)
		})
		_, err := p.verifier(t, func(c *HTTPConfig) { c.Log = log }).Verify(context.Background(), level4)
		if err == nil {
			t.Fatalf("status %d: accepted", st)
		}
		e := errs.As(err)
		texts = append(texts, err.Error(), e.MessageZh)
	}
	// Refused before sending.
	v := newProvider(t, jsonAnswer(200, `{}`)).verifier(t, func(c *HTTPConfig) { c.Log = log })
	bad := level4
	bad.IDNumber = tID[:17] + "9"
	_, err := v.Verify(context.Background(), bad)
	texts = append(texts, err.Error(), errs.As(err).MessageZh)

	all := strings.Join(texts, "\n") + logs.String()
	for _, f := range []string{tName, tID, tCard, tMobile, bad.IDNumber, testAPIKey} {
		if strings.Contains(all, f) {
			t.Errorf("a factor or the key leaked:\n%s", all)
		}
	}
	if !strings.Contains(logs.String(), `"request_id"`) {
		t.Errorf("log lacks the request ID: %s", logs.String())
	}
}

func TestNewHTTPRefuses(t *testing.T) {
	tests := map[string]HTTPConfig{
		"no URL":         {APIKey: testAPIKey},
		"http remote":    {BaseURL: "http://idv.example.com", APIKey: testAPIKey},
		"credentials":    {BaseURL: "https://u:p@idv.example.com", APIKey: testAPIKey},
		"query":          {BaseURL: "https://idv.example.com/?k=v", APIKey: testAPIKey},
		"fragment":       {BaseURL: "https://idv.example.com/#x", APIKey: testAPIKey},
		"ftp":            {BaseURL: "ftp://idv.example.com", APIKey: testAPIKey},
		"no host":        {BaseURL: "https:///v1", APIKey: testAPIKey},
		"no key":         {BaseURL: "https://idv.example.com"},
		"short key":      {BaseURL: "https://idv.example.com", APIKey: "short-key"},
		"key with space": {BaseURL: "https://idv.example.com", APIKey: "test api key 0123456789"},
		"key newline":    {BaseURL: "https://idv.example.com", APIKey: testAPIKey + "\nX-Evil: 1"},
		"bad name":       {BaseURL: "https://idv.example.com", APIKey: testAPIKey, Name: "a b"},
		"negative":       {BaseURL: "https://idv.example.com", APIKey: testAPIKey, Timeout: -time.Second},
	}
	for name, c := range tests {
		_, err := NewHTTP(c)
		if !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if c.APIKey != "" && strings.Contains(err.Error(), c.APIKey) {
			t.Errorf("%s: error contains the key", name)
		}
	}
	for _, base := range []string{"https://idv.example.com", "http://localhost:8080", "http://127.0.0.1:9", "http://[::1]:9/idv"} {
		if _, err := NewHTTP(HTTPConfig{BaseURL: base, APIKey: testAPIKey}); err != nil {
			t.Errorf("%s: %v", base, err)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := t0
	for h, want := range map[string]time.Duration{
		"":     time.Minute,
		"0":    0,
		"5":    5 * time.Second,
		" 12 ": 12 * time.Second,
		"-3":   time.Minute,
		"1.5":  time.Minute,
		now.Add(-time.Hour).Format(http.TimeFormat):      0,
		now.Add(2 * time.Minute).Format(http.TimeFormat): 2 * time.Minute,
		now.Add(48 * time.Hour).Format(http.TimeFormat):  24 * time.Hour,
	} {
		if got := retryAfter(h, now, time.Minute); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", h, got, want)
		}
	}
}
