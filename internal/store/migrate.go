package store

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// metaTable records which gigvault schema a database holds.
const metaTable = "gigvault_meta"

// checkOwner refuses a database that holds tables but is not a gigvault
// database of this schema. An empty database is accepted (it will be migrated).
func (db *DB) checkOwner(ctx context.Context) error {
	var q string
	switch db.engine {
	case SQLite:
		q = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	case Postgres:
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	rows, err := db.w.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("store: %s: %w", db.where, sqliteOpenErr(err))
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return fmt.Errorf("store: list tables: %w", err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: list tables: %w", sqliteOpenErr(err))
	}
	hasMeta, others := false, 0
	for _, t := range tables {
		switch t {
		case metaTable:
			hasMeta = true
		case "goose_db_version":
		default:
			others++
		}
	}
	if !hasMeta {
		if others > 0 {
			return fmt.Errorf("store: %s: %w (it has %d tables of something else)", db.where, ErrNotGigvault, others)
		}
		return nil
	}
	var name string
	err = db.w.QueryRowContext(ctx, db.Rebind(`SELECT value FROM `+metaTable+` WHERE key = 'schema'`)).Scan(&name)
	if err != nil {
		return fmt.Errorf("store: %s: read schema name: %w", db.where, err)
	}
	if name != db.schema.Name {
		return fmt.Errorf("store: %s: %w: it holds the %q schema, expected %q", db.where, ErrNotGigvault, name, db.schema.Name)
	}
	return nil
}

func (db *DB) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(db.schema.FS, string(db.engine))
	if err != nil {
		return nil, fmt.Errorf("store: migrations for %s: %w", db.engine, err)
	}
	dialect := goose.DialectSQLite3
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if db.engine == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("store: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db.w, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: load %s migrations: %w", db.schema.Name, err)
	}
	return p, nil
}

// Versions reports the database's schema version and the newest version this
// build knows.
func (db *DB) Versions(ctx context.Context) (current, target int64, err error) {
	p, err := db.provider()
	if err != nil {
		return 0, 0, err
	}
	current, target, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("store: %s: schema version: %w", db.where, err)
	}
	return current, target, nil
}

// Migrate applies pending migrations, each in its own transaction, and
// returns how many ran. A database migrated by a newer gigvault is refused
// untouched.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	p, err := db.provider()
	if err != nil {
		return 0, err
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: %s: schema version: %w", db.where, err)
	}
	if current > target {
		return 0, fmt.Errorf("store: %s: %w: the database is at version %d, this build knows up to %d; upgrade gigvault", db.where, ErrNewerSchema, current, target)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("store: %s: migrate %s: %w", db.where, db.schema.Name, err)
	}
	var name string
	err = db.w.QueryRowContext(ctx, db.Rebind(`SELECT value FROM `+metaTable+` WHERE key = 'schema'`)).Scan(&name)
	if err != nil || name != db.schema.Name {
		return len(res), fmt.Errorf("store: %s: migrations of %q did not record the schema name", db.where, db.schema.Name)
	}
	return len(res), nil
}

func mustSub(dir string) fs.FS {
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
