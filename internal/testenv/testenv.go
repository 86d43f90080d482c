// Package testenv gives tests real databases: an SQLite file in a temporary
// directory always, and a fresh PostgreSQL schema when GIGVAULT_TEST_POSTGRES
// holds a server URL. Every store test runs as one conformance suite over
// Engines.
package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver, for schema clean-up

	"gigvault/internal/app"
	"gigvault/internal/clock"
	"gigvault/internal/store"
)

// Engine is one database engine to run a test on.
type Engine struct {
	Name  string // "sqlite" or "postgres"
	pgURL string
}

// Engines returns SQLite, plus PostgreSQL when GIGVAULT_TEST_POSTGRES is set.
func Engines(t testing.TB) []Engine {
	t.Helper()
	es := []Engine{{Name: "sqlite"}}
	if u := os.Getenv("GIGVAULT_TEST_POSTGRES"); u != "" {
		es = append(es, Engine{Name: "postgres", pgURL: u})
	}
	return es
}

// Postgres reports whether this engine is PostgreSQL.
func (e Engine) Postgres() bool { return e.Name == "postgres" }

// TestKey is the master key tests use, as hex.
const TestKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// Config returns a core configuration on a fresh database of this engine,
// with a fixed test master key, cleaned up when the test ends.
func (e Engine) Config(t testing.TB) app.Config {
	t.Helper()
	cfg := app.Config{
		DataDir:   t.TempDir(),
		MasterKey: TestKey,
		Clock:     clock.NewFake(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)),
	}
	if e.Postgres() {
		schema := "t_" + randHex(6)
		cfg.DatabaseURL = withSchema(t, e.pgURL, schema)
		t.Cleanup(func() { dropSchemas(e.pgURL, schema, schema+"_kms") })
	}
	return cfg
}

// Open assembles a core on cfg and closes it when the test ends.
func Open(t testing.TB, cfg app.Config) *app.Core {
	t.Helper()
	c, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open core: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// SchemaURL returns the server URL of a PostgreSQL engine with a fresh
// schema, for tests that open databases themselves.
func (e Engine) SchemaURL(t testing.TB) string {
	schema := "t_" + randHex(6)
	t.Cleanup(func() { dropSchemas(e.pgURL, schema) })
	return withSchema(t, e.pgURL, schema)
}

func withSchema(t testing.TB, base, schema string) string {
	t.Helper()
	u, err := store.WithSearchPath(base, schema)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func dropSchemas(base string, schemas ...string) {
	db, err := sql.Open("pgx", base)
	if err != nil {
		return
	}
	defer db.Close()
	for _, s := range schemas {
		_, _ = db.Exec(`DROP SCHEMA IF EXISTS ` + s + ` CASCADE`)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// DropSchema removes a PostgreSQL schema made by a test.
func DropSchema(t testing.TB, url, schema string) {
	t.Helper()
	dropSchemas(url, schema)
}

// Subjects creates n data subjects of kind in one transaction.
func Subjects(t testing.TB, c *app.Core, kind string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	err := c.DB.InTx(context.Background(), func(tx *store.Tx) error {
		for i := range ids {
			var err error
			if ids[i], err = c.Vault.CreateSubject(context.Background(), tx, kind); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// DumpSchema reads every column of every row of every table in the URL's
// PostgreSQL schema as raw values (bytea as bytes, not hex), NUL-separated —
// what canary tests scan for plaintext — and how many tables it read.
func DumpSchema(t testing.TB, url string) ([]byte, int) {
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
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) == 0 {
		t.Fatalf("no tables in the schema of %s", url)
	}
	return DumpRows(t, db.Query, tables), len(tables)
}

// DumpRows reads every column of every row of tables through query, raw
// values as bytes and the rest in fmt's form, NUL-separated: what canary
// tests scan for plaintext.
func DumpRows(t testing.TB, query func(q string, args ...any) (*sql.Rows, error), tables []string) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, tb := range tables {
		rs, err := query(`SELECT * FROM "` + tb + `"`)
		if err != nil {
			t.Fatalf("dump %s: %v", tb, err)
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
