// Package store opens gigvault's database — embedded SQLite by default,
// PostgreSQL for more than one node — runs its embedded migrations, and gives
// domain packages one small dialect helper so each query is written once for
// both engines.
//
// The store is untrusted storage behind the vault's barrier: it only ever
// sees ciphertext, blind indexes and audit entries that name fields, never
// values.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// Engine names a database engine.
type Engine string

// The supported engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Schema is one embedded set of migrations: FS holds "sqlite/*.sql" and
// "postgres/*.sql" in goose format. Name is written into the database so a
// database of one schema is never opened as another.
type Schema struct {
	Name string
	FS   fs.FS
}

// Config says where the database is.
type Config struct {
	// URL, when it starts with postgres:// or postgresql://, selects PostgreSQL.
	URL string
	// Path is the SQLite file used when URL is empty.
	Path string
	// Synchronous is SQLite's synchronous setting: "normal" (default; durable
	// across process crashes) or "full" (also across power loss).
	Synchronous string
	// ReadConns bounds the SQLite read pool (default 4).
	ReadConns int
}

// DB is an open gigvault database: a single writer connection beside a read
// pool on SQLite, one pool on PostgreSQL.
type DB struct {
	engine Engine
	schema Schema
	w      *sql.DB
	r      *sql.DB
	where  string // file path or redacted URL, for messages
}

// ErrNotGigvault means the file or database belongs to something else.
var ErrNotGigvault = errors.New("not a gigvault database")

// ErrNewerSchema means the database was migrated by a newer gigvault.
var ErrNewerSchema = errors.New("database schema is newer than this gigvault")

// IsPostgresURL reports whether u selects the PostgreSQL engine.
func IsPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// Open connects without migrating. Call Migrate (or OpenMigrated) before use.
func Open(ctx context.Context, cfg Config, schema Schema) (*DB, error) {
	if IsPostgresURL(cfg.URL) {
		return openPostgres(ctx, cfg, schema)
	}
	if cfg.URL != "" {
		return nil, fmt.Errorf("store: database URL must start with postgres:// (got scheme %q)", scheme(cfg.URL))
	}
	return openSQLite(ctx, cfg, schema)
}

// OpenMigrated opens the database and brings its schema up to date.
func OpenMigrated(ctx context.Context, cfg Config, schema Schema) (*DB, error) {
	db, err := Open(ctx, cfg, schema)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func scheme(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Scheme
	}
	return "?"
}

func openSQLite(ctx context.Context, cfg Config, schema Schema) (*DB, error) {
	if cfg.Path == "" {
		return nil, errors.New("store: no SQLite path")
	}

	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	if err := checkSQLiteHeader(cfg.Path); err != nil {
		return nil, err
	}
	sync := "NORMAL"
	switch strings.ToLower(cfg.Synchronous) {
	case "", "normal":
	case "full":
		sync = "FULL"
	default:
		return nil, fmt.Errorf("store: synchronous must be normal or full, not %q", cfg.Synchronous)
	}
	// secure_delete overwrites deleted content with zeros, so erased rows and
	// destroyed keys do not linger in free pages (ENC-5).
	common := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=secure_delete(1)&_pragma=cache_size(-65536)&_pragma=temp_store(memory)&_pragma=synchronous(" + sync + ")"
	uri := "file:" + uriPath(cfg.Path)
	wdsn := uri + "?_pragma=journal_mode(WAL)&" + common + "&_txlock=immediate"
	w, err := sql.Open("sqlite", wdsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", cfg.Path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", cfg.Path, sqliteOpenErr(err))
	}
	n := cfg.ReadConns
	if n <= 0 {
		n = 4
	}
	r, err := sql.Open("sqlite", uri+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s for reading: %w", cfg.Path, err)
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db := &DB{engine: SQLite, schema: schema, w: w, r: r, where: cfg.Path}
	if err := db.checkOwner(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// uriPath escapes a file path for a file: URI, so characters such as '?',
// '#' and '%' in a data directory name cannot start URI parameters (and
// inject pragmas such as secure_delete(0)) or a fragment.
func uriPath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '%', '?', '#':
			fmt.Fprintf(&b, "%%%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// checkSQLiteHeader refuses an existing file that is not an SQLite database
// before the driver touches it.
func checkSQLiteHeader(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	defer f.Close()
	hdr := make([]byte, 16)
	n, _ := f.Read(hdr)
	if n == 0 {
		return nil // empty file: a new database
	}
	if n < 16 || string(hdr) != "SQLite format 3\x00" {
		return fmt.Errorf("store: %s: %w (it is not an SQLite file)", path, ErrNotGigvault)
	}
	return nil
}

func sqliteOpenErr(err error) error {
	if strings.Contains(err.Error(), "not a database") {
		return fmt.Errorf("%w (it is not an SQLite file): %v", ErrNotGigvault, err)
	}
	return err
}

func openPostgres(ctx context.Context, cfg Config, schema Schema) (*DB, error) {
	if err := ensureSchema(ctx, cfg.URL); err != nil {
		return nil, err
	}
	p, err := sql.Open("pgx", cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	p.SetMaxOpenConns(32)
	p.SetMaxIdleConns(16)
	p.SetConnMaxIdleTime(5 * time.Minute)
	where := redactURL(cfg.URL)
	if err := p.PingContext(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", where, err)
	}
	db := &DB{engine: Postgres, schema: schema, w: p, r: p, where: where}
	if err := db.checkOwner(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// ensureSchema creates the first schema named by the URL's search_path
// parameter, so one PostgreSQL database can hold the business schema and the
// key store's schema side by side.
func ensureSchema(ctx context.Context, u string) error {
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("store: database URL does not parse")
	}
	sp := p.Query().Get("search_path")
	if sp == "" {
		return nil
	}
	schema := strings.TrimSpace(strings.Split(sp, ",")[0])
	if !schemaRE.MatchString(schema) {
		return fmt.Errorf("store: search_path %q is not a plain schema name", schema)
	}
	q := p.Query()
	q.Del("search_path")
	p.RawQuery = q.Encode()
	c, err := sql.Open("pgx", p.String())
	if err != nil {
		return fmt.Errorf("store: open postgres: %w", err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil && !IsUniqueViolation(err) {
		return fmt.Errorf("store: create schema %s on %s: %w", schema, redactURL(u), err)
	}
	return nil
}

var schemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// WithSearchPath returns the PostgreSQL URL u with its search_path set.
func WithSearchPath(u, schema string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("store: database URL does not parse")
	}
	q := p.Query()
	q.Set("search_path", schema)
	p.RawQuery = q.Encode()
	return p.String(), nil
}

// SearchPath returns the first schema of u's search_path, or "".
func SearchPath(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.Split(p.Query().Get("search_path"), ",")[0])
}

// redactURL drops the password from a database URL for messages and logs.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "postgres://(unparseable URL)"
	}
	return p.Redacted()
}

// Where names the database for messages: the file path or the redacted URL.
func (db *DB) Where() string { return db.where }

// Close releases every connection.
func (db *DB) Close() error {
	err := db.w.Close()
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	return err
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.r.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Rebind turns the '?' placeholders of a query into the engine's form.
func (db *DB) Rebind(q string) string { return rebind(db.engine, q) }

func rebind(e Engine, q string) string {
	if e != Postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n, inStr := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			inStr = !inStr
			b.WriteByte(c)
		case c == '?' && !inStr:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Querier is what domain code runs SQL on: the database itself (reads go to
// the read pool, writes to the writer) or a transaction.
type Querier interface {
	Exec(ctx context.Context, q string, args ...any) (sql.Result, error)
	Query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRow(ctx context.Context, q string, args ...any) *sql.Row
	Engine() Engine
}

// Exec runs a statement on the writer outside any transaction.
func (db *DB) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.w.ExecContext(ctx, db.Rebind(q), args...)
}

// Query runs a query on the read pool.
func (db *DB) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.r.QueryContext(ctx, db.Rebind(q), args...)
}

// QueryRow runs a single-row query on the read pool.
func (db *DB) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return db.r.QueryRowContext(ctx, db.Rebind(q), args...)
}

// QueryRowWriter runs a single-row statement on the writer connection
// (SQLite pragmas that must run there, such as wal_checkpoint).
func (db *DB) QueryRowWriter(ctx context.Context, q string, args ...any) *sql.Row {
	return db.w.QueryRowContext(ctx, db.Rebind(q), args...)
}

// Engine returns the database engine.
func (db *DB) Engine() Engine { return db.engine }

// Tx is a write transaction with the same placeholder rewriting as DB.
type Tx struct {
	tx           *sql.Tx
	engine       Engine
	stmts        map[string]*sql.Stmt
	values       map[any]any
	beforeCommit []func() error
	afterCommit  []func()
}

// AfterCommit registers fn to run once the transaction has committed (not
// if it rolls back): clean-up in other stores that must not run early.
func (t *Tx) AfterCommit(fn func()) { t.afterCommit = append(t.afterCommit, fn) }

// Value returns what Set stored under key in this transaction, or nil.
// Packages use it to carry per-transaction state, such as the audit chain
// head they have locked, across calls.
func (t *Tx) Value(key any) any { return t.values[key] }

// Set stores v under key for the rest of the transaction.
func (t *Tx) Set(key, v any) {
	if t.values == nil {
		t.values = map[any]any{}
	}
	t.values[key] = v
}

// BeforeCommit registers fn to run inside the transaction just before it
// commits; an error from fn rolls the transaction back.
func (t *Tx) BeforeCommit(fn func() error) { t.beforeCommit = append(t.beforeCommit, fn) }

// Exec runs a statement in the transaction.
func (t *Tx) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, rebind(t.engine, q), args...)
}

// Query runs a query in the transaction.
func (t *Tx) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, rebind(t.engine, q), args...)
}

// QueryRow runs a single-row query in the transaction.
func (t *Tx) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, rebind(t.engine, q), args...)
}

// ExecHot runs a statement the caller runs many times in one transaction
// (audit appends, vault puts). On SQLite it is prepared once per
// transaction and reused, which spares re-parsing the SQL for every row
// batch; PostgreSQL's driver already caches prepared statements per
// connection.
func (t *Tx) ExecHot(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if t.engine != SQLite {
		return t.Exec(ctx, q, args...)
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	st, ok := t.stmts[q]
	if !ok {
		var err error
		if st, err = t.tx.PrepareContext(ctx, q); err != nil {
			return nil, fmt.Errorf("store: prepare: %w", err)
		}
		t.stmts[q] = st
	}
	return st.ExecContext(ctx, args...)
}

// Engine returns the database engine.
func (t *Tx) Engine() Engine { return t.engine }

// LockKey serialises the transactions that take the same key until they
// end, for check-then-write rules no row lock covers (one account per
// number, a per-person limit). SQLite's write transactions are serial
// already; PostgreSQL takes a transaction-scoped advisory lock.
func (t *Tx) LockKey(ctx context.Context, key string) error {
	if t.engine != Postgres {
		return nil
	}
	if _, err := t.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(?))`, key); err != nil {
		return fmt.Errorf("store: lock %s: %w", key, err)
	}
	return nil
}

// InTx runs fn in a write transaction and commits it if fn returns nil. On
// PostgreSQL a serialization failure or deadlock is retried up to 5 times,
// so fn must be safe to run again.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	const attempts = 5
	var err error
	for i := 0; i < attempts; i++ {
		err = db.inTxOnce(ctx, fn)
		if err == nil || !retryable(err) {
			return err
		}
	}
	return err
}

func (db *DB) inTxOnce(ctx context.Context, fn func(tx *Tx) error) (err error) {
	sqlTx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	tx := &Tx{tx: sqlTx, engine: db.engine}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = sqlTx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	for _, hook := range tx.beforeCommit {
		if err = hook(); err != nil {
			return err
		}
	}
	if err = sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	for _, fn := range tx.afterCommit {
		fn()
	}
	return nil
}

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	return false
}

// IsUniqueViolation reports whether err is a unique-constraint violation on either engine.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
