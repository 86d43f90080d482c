package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"gigvault/internal/store"
	"gigvault/internal/testenv"
)

var ctx = context.Background()

func cfgFor(t *testing.T, e testenv.Engine) store.Config {
	if e.Postgres() {
		return store.Config{URL: e.SchemaURL(t)}
	}
	return store.Config{Path: filepath.Join(t.TempDir(), "gigvault.db")}
}

func TestMigrateIsIdempotent(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			cfg := cfgFor(t, e)
			db, err := store.OpenMigrated(ctx, cfg, store.Main)
			if err != nil {
				t.Fatal(err)
			}
			cur, target, err := db.Versions(ctx)
			if err != nil || cur != target || cur < 1 {
				t.Fatalf("versions = %d/%d, %v", cur, target, err)
			}
			db.Close()
			db, err = store.OpenMigrated(ctx, cfg, store.Main)
			if err != nil {
				t.Fatal(err)
			}
			n, err := db.Migrate(ctx)
			if err != nil || n != 0 {
				t.Fatalf("second migrate ran %d, %v", n, err)
			}
			db.Close()
		})
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			cfg := cfgFor(t, e)
			// A "newer gigvault" with one more migration migrates the database…
			newer := fstest.MapFS{}
			for _, eng := range []string{"sqlite", "postgres"} {
				ents, _ := fsReadDir(store.Main, eng)
				for _, name := range ents {
					b, _ := fsReadFile(store.Main, eng+"/"+name)
					newer[eng+"/"+name] = &fstest.MapFile{Data: b}
				}
				newer[eng+"/99999_future.sql"] = &fstest.MapFile{Data: []byte("-- +goose Up\nCREATE TABLE future_feature (id INTEGER);\n")}
			}
			db, err := store.OpenMigrated(ctx, cfg, store.Schema{Name: "gigvault", FS: newer})
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			// …and this build refuses it, untouched.
			db, err = store.Open(ctx, cfg, store.Main)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			_, err = db.Migrate(ctx)
			if !errors.Is(err, store.ErrNewerSchema) || !strings.Contains(err.Error(), "99999") {
				t.Fatalf("err = %v, want ErrNewerSchema naming the version", err)
			}
		})
	}
}

func TestRefusesForeignDatabases(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte("this is a spreadsheet, not a database, honestly"), 0o600); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(junk)
	if _, err := store.Open(ctx, store.Config{Path: junk}, store.Main); !errors.Is(err, store.ErrNotGigvault) {
		t.Fatalf("junk file: err = %v", err)
	}
	after, _ := os.ReadFile(junk)
	if string(before) != string(after) {
		t.Fatal("junk file was changed")
	}
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			// Another application's database.
			cfg := cfgFor(t, e)
			db, err := store.Open(ctx, cfg, store.Main)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(ctx, `CREATE TABLE invoices (id INTEGER PRIMARY KEY)`); err != nil {
				t.Fatal(err)
			}
			db.Close()
			if _, err := store.Open(ctx, cfg, store.Main); !errors.Is(err, store.ErrNotGigvault) {
				t.Fatalf("foreign database: err = %v", err)
			}
			// The key store is not the business database, and vice versa.
			kcfg := cfgFor(t, e)
			k, err := store.OpenMigrated(ctx, kcfg, store.KMS)
			if err != nil {
				t.Fatal(err)
			}
			k.Close()
			if _, err := store.Open(ctx, kcfg, store.Main); !errors.Is(err, store.ErrNotGigvault) || !strings.Contains(err.Error(), "gigvault-kms") {
				t.Fatalf("key store opened as main: err = %v", err)
			}
		})
	}
}

// A data directory whose name holds URI metacharacters is a plain path: it
// cannot inject SQLite parameters.
func TestOddDataDirectoryNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a?_pragma=secure_delete(0)#x%41")
	path := filepath.Join(dir, "gigvault.db")
	db, err := store.OpenMigrated(ctx, store.Config{Path: path}, store.Main)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var secure int
	if err := db.QueryRowWriter(ctx, `PRAGMA secure_delete`).Scan(&secure); err != nil || secure != 1 {
		t.Fatalf("secure_delete = %d, %v", secure, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at the literal path: %v", err)
	}
}

func TestRebindAndTx(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			db, err := store.OpenMigrated(ctx, cfgFor(t, e), store.Main)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// A failing function rolls back.
			boom := errors.New("boom")
			err = db.InTx(ctx, func(tx *store.Tx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO subjects (id, kind, created_at) VALUES (?, ?, ?)`, "s1", "worker", 1); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("err = %v", err)
			}
			var n int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM subjects WHERE id = ? AND kind = '?'`, "s1").Scan(&n); err != nil || n != 0 {
				t.Fatalf("rolled-back row visible: %d, %v", n, err)
			}
			// Unique violations are recognised on both engines.
			ins := func() error {
				_, err := db.Exec(ctx, `INSERT INTO subjects (id, kind, created_at) VALUES (?, ?, ?)`, "s2", "worker", 1)
				return err
			}
			if err := ins(); err != nil {
				t.Fatal(err)
			}
			if err := ins(); !store.IsUniqueViolation(err) {
				t.Fatalf("duplicate insert: %v", err)
			}
		})
	}
}
