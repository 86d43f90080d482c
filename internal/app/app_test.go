package app_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"gigvault/internal/app"
	"gigvault/internal/audit"
	"gigvault/internal/errs"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
	"gigvault/internal/vault"
)

var (
	ctx   = context.Background()
	actor = vault.Actor{ID: "test:app", Channel: "test"}
)

func subject(t *testing.T, c *app.Core, kind string) string {
	t.Helper()
	return testenv.Subjects(t, c, kind, 1)[0]
}

// A business database opened with another (or a fresh) key store is refused
// untouched: it would read as empty and let erased people be written again.
func TestBusinessDatabaseIsBoundToItsKeyStore(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			cfg := e.Config(t)
			c, err := app.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := subject(t, c, "worker")
			if err := c.Vault.Put(ctx, actor, "account_registration", s, vault.Item{Field: "mobile", Value: "13800138000"}); err != nil {
				t.Fatal(err)
			}
			c.Close()
			other := cfg
			if e.Postgres() {
				u, err := store.WithSearchPath(cfg.DatabaseURL, store.SearchPath(cfg.DatabaseURL)+"_other_kms")
				if err != nil {
					t.Fatal(err)
				}
				other.KMSURL = u
				t.Cleanup(func() { testenv.DropSchema(t, cfg.DatabaseURL, store.SearchPath(u)) })
			} else {
				if err := os.Rename(filepath.Join(cfg.DataDir, "keys.db"), filepath.Join(cfg.DataDir, "keys.db.moved")); err != nil {
					t.Fatal(err)
				}
				os.Remove(filepath.Join(cfg.DataDir, "keys.db-wal"))
				os.Remove(filepath.Join(cfg.DataDir, "keys.db-shm"))
			}
			if _, err := app.Open(ctx, other); !errors.Is(err, app.ErrWrongKeyStore) {
				t.Fatalf("open with another key store: %v", err)
			}
			if !e.Postgres() {
				os.Remove(filepath.Join(cfg.DataDir, "keys.db"))
				os.Remove(filepath.Join(cfg.DataDir, "keys.db-wal"))
				os.Remove(filepath.Join(cfg.DataDir, "keys.db-shm"))
				if err := os.Rename(filepath.Join(cfg.DataDir, "keys.db.moved"), filepath.Join(cfg.DataDir, "keys.db")); err != nil {
					t.Fatal(err)
				}
			}
			c2 := testenv.Open(t, cfg)
			if got, err := c2.Vault.Get(ctx, actor, "account_registration", s, "mobile", "", nil); err != nil || got.Text != "138****8000" {
				t.Fatalf("with the right key store: %+v, %v", got, err)
			}
		})
	}
}

// An erasure interrupted after its first step is finished at the next start.
func TestInterruptedErasureIsResumed(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			cfg := e.Config(t)
			c, err := app.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := subject(t, c, "worker")
			if err := c.Vault.Put(ctx, actor, "account_registration", s,
				vault.Item{Field: "mobile", Value: "13800138000"}, vault.Item{Field: "email", Value: "a@163.com"}); err != nil {
				t.Fatal(err)
			}
			// Step 1 done, then the "crash": marked erased, key and rows still there.
			if _, err := c.DB.Exec(ctx, `UPDATE subjects SET erased_at = 1 WHERE id = ?`, s); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Vault.Get(ctx, actor, "account_registration", s, "mobile", "", nil); !errs.Is(err, errs.Erased) {
				t.Fatalf("read of a subject being erased: %v", err)
			}
			if err := c.Vault.Put(ctx, actor, "account_registration", s, vault.Item{Field: "name", Value: "张三"}); !errs.Is(err, errs.Erased) {
				t.Fatalf("put for a subject being erased: %v", err)
			}
			c.Close()
			c2 := testenv.Open(t, cfg)
			var rows int
			if err := c2.DB.QueryRow(ctx, `SELECT COUNT(*) FROM pi_values WHERE subject_id = ?`, s).Scan(&rows); err != nil || rows != 0 {
				t.Fatalf("rows after resume: %d, %v", rows, err)
			}
			es, err := audit.Search(ctx, c2.DB, audit.Filter{Subject: s, Action: "pi.erase"})
			if err != nil || len(es) != 1 || es[0].Actor != "system:erase-resume" || es[0].Detail["rows"] != "2" {
				t.Fatalf("resume audit = %+v, %v", es, err)
			}
			if r, err := c2.Audit.Verify(ctx, c2.DB, nil); err != nil || !r.OK() {
				t.Fatalf("verify: %+v %v", r, err)
			}
		})
	}
}

// Production refuses synthetic subjects and a key store born under a
// generated development key, even when that key is now supplied explicitly.
func TestProductionRefusesDemoMaterial(t *testing.T) {
	e := testenv.Engines(t)[0]
	cfg := e.Config(t)
	c := testenv.Open(t, cfg)
	subject(t, c, "synthetic")
	c.Close()
	prod := cfg
	prod.Env = "production"
	if _, err := app.Open(ctx, prod); !errors.Is(err, app.ErrDemoInProduction) {
		t.Fatalf("production with synthetic subjects: %v", err)
	}

	dev := app.Config{DataDir: t.TempDir(), Clock: cfg.Clock}
	c2, err := app.Open(ctx, dev) // generates data/master.key
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
	raw, err := os.ReadFile(filepath.Join(dev.DataDir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	var hexKey string
	for _, line := range splitLines(string(raw)) {
		if line != "" && line[0] != '#' {
			hexKey = line
		}
	}
	dev.Env, dev.MasterKey = "production", hexKey
	if _, err := app.Open(ctx, dev); !errors.Is(err, app.ErrDemoInProduction) {
		t.Fatalf("production on a store made under a generated key: %v", err)
	}
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
