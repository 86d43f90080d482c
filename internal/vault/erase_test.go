package vault_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"gigvault/internal/audit"
	"gigvault/internal/errs"
	"gigvault/internal/keys"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
	"gigvault/internal/vault"
)

// After erase, a copy of the database taken before the erase cannot yield
// that subject's values with the keys that remain (ENC-5, RET-4).
func TestEraseDefeatsOldCopies(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			cfg := e.Config(t)
			c := testenv.Open(t, cfg)
			a, b := newSubject(t, c), newSubject(t, c)
			items := []vault.Item{
				{Field: "mobile", Value: "15312342212"},
				{Field: "id_number", Value: "11010519491231002X"},
				{Field: "search_keyword", Record: "1", Value: "服务员"},
			}
			must(t, c.Vault.Put(ctx, actor, "account_registration", a, items...))
			must(t, c.Vault.Put(ctx, actor, "account_registration", b, items...))
			var wrappedDEK []byte
			if err := c.KMS.QueryRow(ctx, `SELECT wrapped FROM kms_deks WHERE subject_id = ?`, a).Scan(&wrappedDEK); err != nil {
				t.Fatal(err)
			}

			// The copy taken before the erase.
			backup := filepath.Join(t.TempDir(), "before.db")
			if c.DB.Engine() == store.SQLite {
				if _, err := c.DB.Exec(ctx, `VACUUM INTO '`+backup+`'`); err != nil {
					t.Fatal(err)
				}
			} else if _, err := c.DB.Exec(ctx, `CREATE TABLE snap_pi AS SELECT * FROM pi_values`); err != nil {
				t.Fatal(err)
			}

			rep, err := c.Vault.Erase(ctx, actor, "deletion_request", a, "test")
			if err != nil || rep.Rows != 3 {
				t.Fatalf("erase = %+v, %v", rep, err)
			}
			if _, err := c.Vault.Get(ctx, actor, "account_registration", a, "mobile", "", nil); !errs.Is(err, errs.Erased) {
				t.Fatalf("get after erase: %v, want erased", err)
			}
			// Restore the old rows from the copy into the live database.
			if c.DB.Engine() == store.SQLite {
				for _, q := range []string{`ATTACH DATABASE '` + backup + `' AS old`,
					`INSERT INTO pi_values SELECT * FROM old.pi_values WHERE subject_id = '` + a + `'`, `DETACH DATABASE old`} {
					if _, err := c.DB.Exec(ctx, q); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
			} else if _, err := c.DB.Exec(ctx, `INSERT INTO pi_values SELECT * FROM snap_pi WHERE subject_id = ?`, a); err != nil {
				t.Fatal(err)
			}
			// With the keys that remain — this keyring and a fresh one — nothing opens.
			root, _ := keys.LoadRoot(keys.RootConfig{Value: testenv.TestKey})
			fresh, err := keys.Open(ctx, c.KMS, c.Suite, root, keys.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, kr := range []*keys.Keyring{c.Keys, fresh} {
				v, _ := vault.New(c.DB, kr, c.Catalog, c.Audit, c.Clock)
				for _, it := range items {
					_, err := v.Get(ctx, actor, "account_registration", a, it.Field, it.Record, nil)
					if !errs.Is(err, errs.Erased) {
						t.Fatalf("restored %s: err = %v, want erased", it.Field, err)
					}
				}
				var ct []byte
				if err := c.DB.QueryRow(ctx, `SELECT ciphertext FROM pi_values WHERE subject_id = ? AND field = 'mobile'`, a).Scan(&ct); err != nil {
					t.Fatal(err)
				}
				if _, err := kr.Open(ctx, a, 1, ct, nil); !errors.Is(err, keys.ErrErased) {
					t.Fatalf("raw open of restored ciphertext: %v", err)
				}
			}
			// The other subject is untouched.
			if got, err := c.Vault.Get(ctx, actor, "account_registration", b, "mobile", "", nil); err != nil || got.Text != "153****2212" {
				t.Fatalf("other subject: %+v, %v", got, err)
			}
			// Its blind indexes went with the key: the erased values cannot be
			// found, nor guessed at through the index.
			var idx int
			if err := c.KMS.QueryRow(ctx, `SELECT COUNT(*) FROM kms_blind WHERE subject_id = ?`, a).Scan(&idx); err != nil || idx != 0 {
				t.Fatalf("blind indexes after erase: %d, %v", idx, err)
			}
			if got, err := c.Vault.Find(ctx, actor, "account_registration", "id_number", "11010519491231002X"); err != nil || len(got) != 1 || got[0].Subject != b {
				t.Fatalf("find after erase = %+v, %v; want only b", got, err)
			}
			// The destroyed key's bytes are gone from the key store, files included.
			var still []byte
			if err := c.KMS.QueryRow(ctx, `SELECT wrapped FROM kms_deks WHERE subject_id = ?`, a).Scan(&still); err != nil || still != nil {
				t.Fatalf("wrapped DEK after erase = %x, %v", still, err)
			}
			if c.DB.Engine() == store.SQLite {
				for _, f := range []string{"keys.db", "keys.db-wal"} {
					raw, err := os.ReadFile(filepath.Join(cfg.DataDir, f))
					if err != nil && !os.IsNotExist(err) {
						t.Fatal(err)
					}
					if bytes.Contains(raw, wrappedDEK) {
						t.Fatalf("%s still holds the destroyed data key", f)
					}
				}
			}
			// The erasure is audited by field and method, and the chain verifies.
			es, err := audit.Search(ctx, c.DB, audit.Filter{Subject: a, Action: "pi.erase"})
			if err != nil || len(es) != 2 || es[0].Outcome != "started" || es[1].Outcome != "ok" ||
				es[1].Detail["rows"] != "3" || es[1].Detail["tool"] != "test" || len(es[1].Fields) != 3 || es[1].Detail["method"] == "" {
				t.Fatalf("erase entries = %+v, %v", es, err)
			}
			if r, err := c.Audit.Verify(ctx, c.DB, nil); err != nil || !r.OK() {
				t.Fatalf("verify = %+v, %v", r, err)
			}
			// Erase is idempotent; putting for an erased subject is refused.
			if _, err := c.Vault.Erase(ctx, actor, "deletion_request", a, "test"); err != nil {
				t.Fatalf("second erase: %v", err)
			}
			if err := c.Vault.Put(ctx, actor, "account_registration", a, items[0]); !errs.Is(err, errs.Erased) {
				t.Fatalf("put after erase: %v", err)
			}
		})
	}
}

// Puts racing an erasure never leave readable data behind: once Erase
// returns, the subject has no rows and every later put is refused.
func TestEraseRacingPuts(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := testenv.Open(t, e.Config(t))
			for round := 0; round < 20; round++ {
				s := newSubject(t, c)
				stop := make(chan struct{})
				done := make(chan struct{})
				go func() {
					defer close(done)
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						err := c.Vault.Put(ctx, actor, "job_matching", s, vault.Item{Field: "search_keyword", Record: fmt.Sprint(i), Value: "促销"})
						if err != nil && !errs.Is(err, errs.Erased) {
							t.Errorf("put: %v", err)
							return
						}
					}
				}()
				if _, err := c.Vault.Erase(ctx, actor, "deletion_request", s, "test"); err != nil {
					t.Fatal(err)
				}
				close(stop)
				<-done
				var rows int
				if err := c.DB.QueryRow(ctx, `SELECT COUNT(*) FROM pi_values WHERE subject_id = ?`, s).Scan(&rows); err != nil || rows != 0 {
					t.Fatalf("round %d: %d rows left after erase, %v", round, rows, err)
				}
				if err := c.Vault.Put(ctx, actor, "job_matching", s, vault.Item{Field: "search_keyword", Record: "x", Value: "促销"}); !errs.Is(err, errs.Erased) {
					t.Fatalf("put after erase: %v", err)
				}
			}
		})
	}
}

// A blind index copied onto another row finds nothing there: candidates are
// confirmed by decrypting.
func TestFindConfirmsCandidates(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := testenv.Open(t, e.Config(t))
			a, b := newSubject(t, c), newSubject(t, c)
			must(t, c.Vault.Put(ctx, actor, "account_registration", a, vault.Item{Field: "mobile", Value: "15312342212"}))
			must(t, c.Vault.Put(ctx, actor, "account_registration", b, vault.Item{Field: "mobile", Value: "13800138000"}))
			// Someone with key-store access points a's index value at b's record.
			if _, err := c.KMS.Exec(ctx, `INSERT INTO kms_blind (subject_id, field, record_id, bidx)
				SELECT ?, field, record_id, bidx FROM kms_blind WHERE subject_id = ? AND field = 'mobile'`, b, a); err != nil {
				t.Fatal(err)
			}
			got, err := c.Vault.Find(ctx, actor, "account_registration", "mobile", "15312342212")
			if err != nil || len(got) != 1 || got[0].Subject != a {
				t.Fatalf("find = %+v, %v; want only a", got, err)
			}
		})
	}
}
