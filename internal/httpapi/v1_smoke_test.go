package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"gigvault/internal/apitest"
	"gigvault/internal/policy"
	"gigvault/internal/testenv"
)

// A worker registers and reads their own number whole; support reads it
// masked and reveals it with a reason; the chain verifies afterwards.
func TestV1Smoke(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := apitest.New(t, eng, apitest.Options{})
			w := e.Worker()
			r := e.Do("GET", "/v1/me", w.Token, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("me: %d %s", r.Status, r.Body)
			}
			var me struct {
				Values []struct {
					Field, Value string
					Masked       bool
				}
			}
			r.Decode(t, &me)
			if len(me.Values) != 1 || me.Values[0].Value != w.Mobile || me.Values[0].Masked {
				t.Fatalf("me: %s", r.Body)
			}
			s := e.Staff(policy.Support)
			r = e.Do("GET", "/v1/staff/subjects/"+w.SubjectID+"?purpose=customer_service", s.Token, nil)
			if r.Status != http.StatusOK || !contains(r.Body, "****") || contains(r.Body, w.Mobile) {
				t.Fatalf("support read: %d %s", r.Status, r.Body)
			}
			r = e.Do("POST", "/v1/staff/subjects/"+w.SubjectID+"/reveal", s.Token, map[string]any{
				"field": "mobile", "purpose": "customer_service", "reason_code": "customer_request", "reason": "工单核实"})
			if r.Status != http.StatusOK || !contains(r.Body, w.Mobile) {
				t.Fatalf("reveal: %d %s", r.Status, r.Body)
			}
			e.AuditVerify()
		})
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }
