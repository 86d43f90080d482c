package keys_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gigvault/internal/app"
	"gigvault/internal/keys"
	"gigvault/internal/testenv"
	"gigvault/internal/vault"
)

var (
	ctx   = context.Background()
	actor = vault.Actor{ID: "test:keys", Channel: "test"}
)

func subjects(t *testing.T, c *app.Core, n int) []string {
	t.Helper()
	return testenv.Subjects(t, c, "worker", n)
}

func kmsSnapshot(t *testing.T, c *app.Core) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT version || ':' || state FROM kms_keks ORDER BY version`,
		`SELECT subject_id || ':' || kek_version FROM kms_deks ORDER BY subject_id`,
		`SELECT name FROM kms_keys ORDER BY name`,
	} {
		rows, err := c.KMS.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			b.WriteString(s + "\n")
		}
		rows.Close()
	}
	return b.String()
}

func TestWrongMasterKeyIsRefusedAndChangesNothing(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			cfg := e.Config(t)
			c, err := app.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			ids := subjects(t, c, 3)
			for _, s := range ids {
				if err := c.Vault.Put(ctx, actor, "account_registration", s, vault.Item{Field: "mobile", Value: "15312342212"}); err != nil {
					t.Fatal(err)
				}
			}
			before := kmsSnapshot(t, c)
			c.Close()

			bad := cfg
			bad.MasterKey = strings.Repeat("ab", 32)
			if _, err := app.Open(ctx, bad); !errors.Is(err, keys.ErrWrongRoot) {
				t.Fatalf("wrong key: err = %v, want ErrWrongRoot", err)
			}
			other := cfg
			other.Suite = "aes"
			if _, err := app.Open(ctx, other); !errors.Is(err, keys.ErrSuiteMismatch) {
				t.Fatalf("other suite: err = %v, want ErrSuiteMismatch", err)
			}
			c2 := testenv.Open(t, cfg)
			if after := kmsSnapshot(t, c2); after != before {
				t.Fatalf("key store changed by a refused start:\n%s\nvs\n%s", before, after)
			}
			for _, s := range ids {
				if _, err := c2.Vault.Get(ctx, actor, "account_registration", s, "mobile", "", nil); err != nil {
					t.Fatalf("value unreadable after refused start: %v", err)
				}
			}
		})
	}
}

// Two processes starting at once on a fresh data directory agree on one
// development key.
func TestDevKeyCreationRace(t *testing.T) {
	dir := t.TempDir()
	roots := make([]*keys.Root, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range roots {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			roots[i], errs[i] = keys.LoadRoot(keys.RootConfig{DataDir: dir})
		}(i)
	}
	wg.Wait()
	for i := range roots {
		if errs[i] != nil {
			t.Fatalf("starter %d: %v", i, errs[i])
		}
		if !keys.SameRoot(roots[0], roots[i]) {
			t.Fatalf("starter %d got another key", i)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("data directory holds %d files, want just master.key", len(ents))
	}
}

func TestRootKeySources(t *testing.T) {
	dir := t.TempDir()
	// Dev: generated on first start, the same on the second.
	r1, err := keys.LoadRoot(keys.RootConfig{DataDir: dir})
	if err != nil || !r1.Generated {
		t.Fatalf("dev key: %+v, %v", r1, err)
	}
	st, err := os.Stat(filepath.Join(dir, "master.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("dev key file: %v, %v", st, err)
	}
	if _, err := keys.LoadRoot(keys.RootConfig{DataDir: dir, Production: true}); !errors.Is(err, keys.ErrRootMissing) {
		t.Fatalf("production without key: %v", err)
	}
	if _, err := keys.LoadRoot(keys.RootConfig{File: filepath.Join(dir, "master.key"), Production: true}); err == nil || !strings.Contains(err.Error(), "development key") {
		t.Fatalf("production with the dev key file: %v", err)
	}
	good := filepath.Join(dir, "prod.key")
	if err := os.WriteFile(good, []byte(testenv.TestKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r, err := keys.LoadRoot(keys.RootConfig{File: good, Production: true}); err != nil || r.Generated {
		t.Fatalf("production key file: %+v, %v", r, err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("0", 30), "not a key!" + testenv.TestKey[10:]} {
		if _, err := keys.LoadRoot(keys.RootConfig{Value: bad + " ", Production: true}); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
	if _, err := keys.LoadRoot(keys.RootConfig{Value: testenv.TestKey, File: good}); err == nil {
		t.Error("both key sources accepted")
	}
}

// keys rotate while 8 goroutines write and read: no error, every value
// readable after, old KEK destroyed, and no field ciphertext rewritten.
func TestRotateUnderLoad(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := testenv.Open(t, e.Config(t))
			ids := subjects(t, c, 600)
			for _, s := range ids[:400] {
				if err := c.Vault.Put(ctx, actor, "account_registration", s, vault.Item{Field: "mobile", Value: "15312342212"}); err != nil {
					t.Fatal(err)
				}
			}
			var before []byte
			if err := c.DB.QueryRow(ctx, `SELECT ciphertext FROM pi_values WHERE subject_id = ?`, ids[0]).Scan(&before); err != nil {
				t.Fatal(err)
			}
			// A second keyring, as a separate `gigvault keys rotate` process would have.
			rot := secondKeyring(t, c)
			var wg sync.WaitGroup
			errc := make(chan error, 16)
			stop := make(chan struct{})
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						s := ids[400+(g*25+i)%200]
						if err := c.Vault.Put(ctx, actor, "account_registration", s, vault.Item{Field: "email", Value: fmt.Sprintf("u%d@163.com", g)}); err != nil {
							errc <- fmt.Errorf("put: %w", err)
							return
						}
						if _, err := c.Vault.Get(ctx, actor, "account_registration", ids[(g*50+i)%400], "mobile", "", nil); err != nil {
							errc <- fmt.Errorf("get: %w", err)
							return
						}
					}
				}(g)
			}
			res, err := rot.Rotate(ctx, nil)
			close(stop)
			wg.Wait()
			close(errc)
			for err := range errc {
				t.Error(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Version != 2 || res.Resumed || res.Destroyed != 1 {
				t.Fatalf("rotate = %+v", res)
			}
			st, err := rot.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.KEKs[0].State != "destroyed" || st.KEKs[1].State != "active" || st.KEKs[1].DEKs != st.LiveDEKs {
				t.Fatalf("status after rotate = %+v", st)
			}
			// Every value readable, through a fresh keyring with an empty cache.
			fresh := secondKeyring(t, c)
			v, _ := vault.New(c.DB, fresh, c.Catalog, c.Audit, c.Clock)
			for _, s := range ids[:400] {
				if got, err := v.Get(ctx, actor, "account_registration", s, "mobile", "", nil); err != nil || got.Text != "153****2212" {
					t.Fatalf("after rotation: %+v, %v", got, err)
				}
			}
			var after []byte
			if err := c.DB.QueryRow(ctx, `SELECT ciphertext FROM pi_values WHERE subject_id = ?`, ids[0]).Scan(&after); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Fatal("rotation rewrote field data")
			}
		})
	}
}

func secondKeyring(t *testing.T, c *app.Core) *keys.Keyring {
	t.Helper()
	root, err := keys.LoadRoot(keys.RootConfig{Value: testenv.TestKey})
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.Open(ctx, c.KMS, c.Suite, root, keys.Options{Clock: c.Clock})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A rotation interrupted half-way leaves everything readable, and the next
// run finishes it instead of starting another.
func TestInterruptedRotationResumes(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := testenv.Open(t, e.Config(t))
			ids := subjects(t, c, 700)
			for _, s := range ids {
				if err := c.Vault.Put(ctx, actor, "account_registration", s, vault.Item{Field: "mobile", Value: "13800138000"}); err != nil {
					t.Fatal(err)
				}
			}
			rot := secondKeyring(t, c)
			cctx, cancel := context.WithCancel(ctx)
			_, err := rot.Rotate(cctx, func(done, total int) {
				if done >= 256 {
					cancel()
				}
			})
			if err == nil {
				t.Fatal("interrupted rotation reported success")
			}
			st, _ := rot.Status(ctx)
			if st.KEKs[0].DEKs == 0 || st.KEKs[1].DEKs == 0 {
				t.Fatalf("not half-way: %+v", st)
			}
			fresh := secondKeyring(t, c)
			v, _ := vault.New(c.DB, fresh, c.Catalog, c.Audit, c.Clock)
			for _, s := range ids {
				if _, err := v.Get(ctx, actor, "account_registration", s, "mobile", "", nil); err != nil {
					t.Fatalf("half-way: unreadable: %v", err)
				}
			}
			res, err := secondKeyring(t, c).Rotate(ctx, nil)
			if err != nil || !res.Resumed || res.Version != 2 || res.Destroyed != 1 {
				t.Fatalf("resume = %+v, %v", res, err)
			}
			fresh = secondKeyring(t, c)
			v, _ = vault.New(c.DB, fresh, c.Catalog, c.Audit, c.Clock)
			for _, s := range ids {
				if _, err := v.Get(ctx, actor, "account_registration", s, "mobile", "", nil); err != nil {
					t.Fatalf("after resume: unreadable: %v", err)
				}
			}
			// A further rotation starts a new version.
			res, err = fresh.Rotate(ctx, nil)
			if err != nil || res.Resumed || res.Version != 3 || res.Rewrapped != 700 {
				t.Fatalf("next rotation = %+v, %v", res, err)
			}
		})
	}
}

func TestDEKCache(t *testing.T) {
	c := testenv.Open(t, testenv.Engines(t)[0].Config(t))
	ids := subjects(t, c, 1)
	if err := c.Vault.Put(ctx, actor, "account_registration", ids[0], vault.Item{Field: "mobile", Value: "13800138000"}); err != nil {
		t.Fatal(err)
	}
	h0, _ := c.Keys.CacheStats()
	for i := 0; i < 5; i++ {
		if _, err := c.Vault.Get(ctx, actor, "account_registration", ids[0], "mobile", "", nil); err != nil {
			t.Fatal(err)
		}
	}
	if h1, _ := c.Keys.CacheStats(); h1-h0 != 5 {
		t.Fatalf("cache hits = %d, want 5", h1-h0)
	}
}

// A read racing Destroy never puts the destroyed key back in the cache:
// once Destroy returns, sealing for that subject fails.
func TestDestroyRacingReads(t *testing.T) {
	c := testenv.Open(t, testenv.Engines(t)[0].Config(t))
	ids := subjects(t, c, 300)
	for _, s := range ids {
		if _, _, err := c.Keys.Seal(ctx, s, []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
	}
	kr := secondKeyring(t, c) // empty cache: every first read is a miss
	for _, s := range ids {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = kr.Seal(ctx, s, []byte("y"), nil)
		}()
		if err := kr.Destroy(ctx, s); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if _, _, err := kr.Seal(ctx, s, []byte("z"), nil); !errors.Is(err, keys.ErrErased) {
			t.Fatalf("seal after destroy: %v", err)
		}
	}
}
