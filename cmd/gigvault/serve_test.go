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
	_, body = get(t, base+"/metrics")
	for _, m := range []string{`gigvault_http_requests_total{code="200",method="GET",route="/healthz"} 1`, "gigvault_dek_cache_hits_total",
		"gigvault_audit_appends_total", `gigvault_vault_operations_total{op="put"}`, "gigvault_http_request_duration_seconds_bucket"} {
		if !strings.Contains(body, m) {
			t.Errorf("metrics lack %s", m)
		}
	}
}
