package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// do sends a JSON request with an optional bearer token.
func do(t *testing.T, method, url, token, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signInWorker walks the README's quick start against the real binary: a
// code from the development outbox, registration, GET /v1/me.
func signInWorker(t *testing.T, base string) {
	t.Helper()
	const mobile = "13812345678"
	if resp, body := do(t, "POST", base+"/v1/auth/sms/send", "", `{"mobile":"`+mobile+`"}`); resp.StatusCode != 202 {
		t.Fatalf("sms send: %d %s", resp.StatusCode, body)
	}
	_, body := get(t, base+"/v1/dev/sms-outbox?mobile="+mobile)
	var out struct {
		Messages []struct{ Params map[string]string }
	}
	if json.Unmarshal([]byte(body), &out) != nil || len(out.Messages) != 1 {
		t.Fatalf("outbox: %s", body)
	}
	resp, body := do(t, "POST", base+"/v1/auth/sms/login", "", `{"mobile":"`+mobile+`","code":"`+out.Messages[0].Params["code"]+`","agree_policy":true}`)
	var login struct{ Token string }
	if resp.StatusCode != 201 || json.Unmarshal([]byte(body), &login) != nil || login.Token == "" {
		t.Fatalf("sms login: %d %s", resp.StatusCode, body)
	}
	if resp, body := do(t, "GET", base+"/v1/me", login.Token, ""); resp.StatusCode != 200 || !strings.Contains(body, `"value":"`+mobile+`"`) {
		t.Fatalf("me: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, "GET", base+"/v1/me", "", ""); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("me without a token: %d", resp.StatusCode)
	}
}

func checkServe(t *testing.T, base string) {
	t.Helper()
	resp, body := get(t, base+"/healthz")
	if resp.StatusCode != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("healthz: %d %s", resp.StatusCode, body)
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	resp, body = get(t, base+"/readyz")
	var ready struct {
		Ready  bool
		Checks map[string]string
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &ready) != nil || !ready.Ready || ready.Checks["key_store"] != "ok" || ready.Checks["database"] != "ok" {
		t.Fatalf("readyz: %d %s", resp.StatusCode, body)
	}
	resp, body = get(t, base+"/nope")
	var eb struct {
		Error struct{ Code, Message, MessageZh string }
	}
	if resp.StatusCode != 404 || json.Unmarshal([]byte(body), &eb) != nil || eb.Error.Code != "not_found" || !strings.Contains(body, "message_zh") {
		t.Fatalf("unknown route: %d %s", resp.StatusCode, body)
	}
	signInWorker(t, base)
	_, body = get(t, base+"/metrics")
	for _, m := range []string{`gigvault_http_requests_total{code="200",method="GET",route="/healthz"} 1`, "gigvault_dek_cache_hits_total",
		"gigvault_audit_appends_total", `gigvault_vault_operations_total{op="put"} 1`, "gigvault_http_request_duration_seconds_bucket",
		`gigvault_auth_events_total{event="code_sent"} 1`, `gigvault_auth_events_total{event="login_ok"} 1`,
		`gigvault_http_requests_total{code="200",method="GET",route="/v1/me"} 1`} {
		if !strings.Contains(body, m) {
			t.Errorf("metrics lack %s", m)
		}
	}
}
