package httpapi_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

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
				hay = append(hay, dumpSchema(t, dbURL), dumpSchema(t, kmsURL(t, dbURL)))
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

// dumpSchema reads every row of every table in the URL's schema as text.
func dumpSchema(t *testing.T, url string) []byte {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 5 {
		t.Fatalf("only %d tables in %s", len(tables), url)
	}
	var buf bytes.Buffer
	for _, tb := range tables {
		rs, err := db.Query(`SELECT * FROM ` + tb)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rs.Next() {
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				switch x := v.(type) {
				case []byte:
					buf.Write(x)
				case string:
					buf.WriteString(x)
				default:
					fmt.Fprint(&buf, x)
				}
				buf.WriteByte(0)
			}
		}
		rs.Close()
	}
	return buf.Bytes()
}
