package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gigvault/internal/apitest"
	"gigvault/internal/app"
	"gigvault/internal/policy"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
)

// Secrets of the identity layer never rest in plaintext: after workers
// register, staff log in, reveal and reset credentials, the raw database
// files (SQLite main, key store and their WALs) or every row of every table
// (PostgreSQL, both schemas), and the server log, hold no mobile number, no
// session token, no staff password and no TOTP secret.
func TestIdentityCanariesNotAtRest(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			var dataDir, dbURL string
			e := apitest.New(t, eng, apitest.Options{Modify: func(c *app.Config) { dataDir, dbURL = c.DataDir, c.DatabaseURL }})
			var canaries []string
			for range 5 {
				w := e.Worker()
				canaries = append(canaries, w.Mobile, w.Token)
			}
			emp := e.Employer("杭州测试科技有限公司", uscc(t, "91330100MA2B3C4D5"))
			canaries = append(canaries, emp.Mobile, emp.Token)
			sec := e.Staff(policy.SecurityAdmin)
			sup := e.Staff(policy.Support)
			canaries = append(canaries, sec.Password, sec.TOTP, sup.Password, sup.TOTP, sec.Token, sup.Token)
			// A reveal, a reset, a failed log-in with a wrong password.
			w := e.Worker()
			canaries = append(canaries, w.Mobile)
			if r := e.Do("POST", "/v1/staff/subjects/"+w.SubjectID+"/reveal", sup.Token, map[string]any{"field": "mobile", "purpose": "customer_service",
				"reason_code": "customer_request", "reason": "用户 " + w.Mobile + " 来电"}); r.Status != http.StatusOK {
				t.Fatalf("reveal: %d %s", r.Status, r.Body)
			}
			sec2 := e.Staff(policy.SecurityAdmin)
			r, _ := dualControl(t, e.Do, "POST", "/v1/staff/accounts/"+sup.AccountID+"/reset", sec.Token, sec2.Token, map[string]any{"password": true, "totp": true})
			if r.Status != http.StatusOK {
				t.Fatalf("reset: %d %s", r.Status, r.Body)
			}
			var enr struct {
				Password string `json:"password"`
				TOTPURI  string `json:"totp_uri"`
			}
			r.Decode(t, &enr)
			canaries = append(canaries, enr.Password, enr.TOTPURI[strings.Index(enr.TOTPURI, "secret=")+7:][:32])
			e.Do("POST", "/v1/auth/staff/login", "", map[string]any{"login_name": sec.Login, "password": "wrong " + w.Mobile, "totp": "000000"})
			if err := e.Core.Audit.Checkpoint(context.Background(), e.Core.DB); err != nil {
				t.Fatal(err)
			}

			var hay [][]byte
			if dbURL == "" {
				for _, f := range []string{"gigvault.db", "gigvault.db-wal", "keys.db", "keys.db-wal"} {
					b, err := os.ReadFile(filepath.Join(dataDir, f))
					if err != nil && !os.IsNotExist(err) {
						t.Fatal(err)
					}
					hay = append(hay, b)
				}
			} else {
				for _, u := range []string{dbURL, kmsURL(t, dbURL)} {
					dump, tables := testenv.DumpSchema(t, u)
					if tables < 5 {
						t.Fatalf("only %d tables in %s", tables, u)
					}
					hay = append(hay, dump)
				}
			}
			// Positive control: the organisation name (company data, kept
			// in clear) is found, so the scan does see the stored rows.
			found := false
			for _, h := range hay {
				found = found || bytes.Contains(h, []byte("杭州测试科技有限公司"))
			}
			if !found {
				t.Fatal("the scan does not see stored rows: the organisation name was not found")
			}
			hay = append(hay, []byte(e.LogText()))
			for _, c := range canaries {
				if len(c) < 8 {
					t.Fatalf("weak canary %q", c)
				}
				for i, h := range hay {
					if bytes.Contains(h, []byte(c)) {
						t.Errorf("canary %.4s… found in plaintext (source %d)", c, i)
					}
				}
			}
		})
	}
}

func kmsURL(t *testing.T, u string) string {
	t.Helper()
	k, err := store.WithSearchPath(u, store.SearchPath(u)+"_kms")
	if err != nil {
		t.Fatal(err)
	}
	return k
}
