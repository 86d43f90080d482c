// Package app assembles gigvault's core from configuration: catalog, crypto
// suite, root key, key store, business database, audit log and vault. The
// CLI and the tests build the same thing through it.
package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"gigvault/internal/access"
	"gigvault/internal/approval"
	"gigvault/internal/audit"
	"gigvault/internal/catalog"
	"gigvault/internal/clock"
	"gigvault/internal/consent"
	"gigvault/internal/cryptox"
	"gigvault/internal/esign"
	"gigvault/internal/functions"
	"gigvault/internal/identity"
	"gigvault/internal/idv"
	"gigvault/internal/jobs"
	"gigvault/internal/keys"
	"gigvault/internal/notice"
	"gigvault/internal/payout"
	"gigvault/internal/policydoc"
	"gigvault/internal/receipt"
	"gigvault/internal/rights"
	"gigvault/internal/sealkey"
	"gigvault/internal/sharing"
	"gigvault/internal/sms"
	"gigvault/internal/store"
	"gigvault/internal/thirdparty"
	"gigvault/internal/vault"
	"gigvault/internal/verify"
)

// Config is everything the core needs. Zero values are the demo-safe defaults.
type Config struct {
	Env           string // "dev" (default) or "production"
	DataDir       string // default "./data"
	DatabaseURL   string // postgres://… selects PostgreSQL; empty means SQLite in DataDir
	KMSURL        string // PostgreSQL key store; default: DatabaseURL with search_path gigvault_kms
	Suite         string // "sm" (default) or "aes"
	CatalogFile   string // replaces the embedded catalog
	MasterKey     string
	MasterKeyFile string
	SQLiteSync    string // "normal" (default) or "full"

	DEKCacheSize       int
	DEKCacheTTL        time.Duration
	CheckpointEvery    int64
	CheckpointInterval time.Duration

	Identity identity.Config
	Access   access.Config
	// Consent: how long another node's consent change may go unseen
	// (default 2 s; negative disables the cache).
	ConsentCacheTTL time.Duration
	// FunctionsFile and ThirdPartyFile replace the embedded business-
	// function and third-party registries (the latter is demo data).
	FunctionsFile  string
	ThirdPartyFile string
	// PublicURL is where the public documents are served, for links in
	// receipts (default https://gigvault.example).
	PublicURL string
	// Controller is named on consent receipts (default DefaultController).
	Controller  *receipt.Controller
	ApprovalTTL time.Duration
	// SMS sends one-time codes. Nil: the console gateway in dev; in
	// production SMS log-in answers "unavailable" until one is configured.
	// The console gateway is refused in production.
	SMS sms.Gateway
	// Verifier checks identities (GIG-5). Nil: the sandbox in dev; in
	// production verification answers "unavailable" until one is
	// configured. The sandbox is refused in production.
	Verifier verify.Verifier
	// Rail pays payout batches (GIG-7). Nil: the sandbox bank in dev; in
	// production payouts answer "unavailable" until one is configured.
	Rail payout.Rail
	// Rights tunes data-subject requests, deadlines and retention after
	// cancellation.
	Rights RightsConfig

	Clock  clock.Clock
	Logger *slog.Logger
}

// Production reports whether the configuration is for production.
func (c Config) Production() bool { return c.Env == "production" }

// Core is the assembled core. Close it when done.
type Core struct {
	Cfg     Config
	Catalog *catalog.Catalog
	Suite   cryptox.Suite
	DB      *store.DB
	KMS     *store.DB
	Keys    *keys.Keyring
	Audit   *audit.Log
	Vault   *vault.Vault
	// Issuer mints reveal capabilities; only the decision point (Guard) holds it.
	Issuer  *vault.Issuer
	Consent *consent.Store
	// ConsentService records consent acts and signs receipts.
	ConsentService *consent.Service
	Functions      *functions.Registry
	ThirdParty     *thirdparty.Registry
	Policies       *policydoc.Store
	Ledger         *sharing.Ledger
	Jobs           *jobs.Store
	Verifier       verify.Verifier
	IDV            *idv.Store
	ESign          *esign.Service
	Unsealer       *sealkey.Unsealer // nil until the platform key exists; see PlatformUnsealer
	unsealMu       sync.Mutex
	Payouts        *payout.Store
	Rail           payout.Rail
	Approvals      *approval.Store
	Rights         *rights.Service
	Notices        *notice.Dispatcher // deletion notices and copies to third parties
	Deliverer      notice.Deliverer
	Guard          *access.Guard
	Identity       *identity.Service
	SMS            sms.Gateway
	Clock          clock.Clock
	Log            *slog.Logger
}

// ErrConsoleSMSInProduction: the development SMS gateway shows codes in the log.
var ErrConsoleSMSInProduction = errors.New("production refuses the console SMS gateway: configure --sms-gateway http")

// Defaults fills in the zero values.
func (c Config) Defaults() Config {
	if c.Env == "" {
		c.Env = "dev"
	}
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if c.Suite == "" {
		c.Suite = "sm"
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate checks the configuration before anything is opened.
func (c Config) Validate() error {
	switch c.Env {
	case "dev", "production":
	default:
		return fmt.Errorf("config: env must be dev or production, not %q", c.Env)
	}
	if c.DatabaseURL != "" && !store.IsPostgresURL(c.DatabaseURL) {
		return errors.New("config: GIGVAULT_DATABASE_URL must be a postgres:// URL (leave it empty for embedded SQLite)")
	}
	if c.KMSURL != "" && !store.IsPostgresURL(c.KMSURL) {
		return errors.New("config: GIGVAULT_KMS_DATABASE_URL must be a postgres:// URL")
	}
	return nil
}

// MainConfig is where the business database is.
func (c Config) MainConfig() store.Config {
	return store.Config{URL: c.DatabaseURL, Path: filepath.Join(c.DataDir, "gigvault.db"), Synchronous: c.SQLiteSync}
}

// KMSConfig is where the key store is: keys.db beside gigvault.db, or a
// separate PostgreSQL schema.
func (c Config) KMSConfig() (store.Config, error) {
	if c.KMSURL != "" {
		return store.Config{URL: c.KMSURL}, nil
	}
	if c.DatabaseURL == "" {
		return store.Config{Path: filepath.Join(c.DataDir, "keys.db"), Synchronous: c.SQLiteSync}, nil
	}
	schema := "gigvault_kms"
	if sp := store.SearchPath(c.DatabaseURL); sp != "" {
		schema = sp + "_kms"
	}
	u, err := store.WithSearchPath(c.DatabaseURL, schema)
	if err != nil {
		return store.Config{}, err
	}
	return store.Config{URL: u}, nil
}

// Open assembles the core, migrating both databases. The key store is
// opened and the master key checked before the business database is
// touched, so a wrong key changes nothing.
func Open(ctx context.Context, cfg Config) (*Core, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Core{Cfg: cfg, Clock: cfg.Clock, Log: cfg.Logger}
	var err error
	if cfg.CatalogFile != "" {
		c.Catalog, err = catalog.Load(cfg.CatalogFile)
	} else {
		c.Catalog = catalog.Default()
	}
	if err != nil {
		return nil, err
	}
	if c.Suite, err = cryptox.ByName(cfg.Suite); err != nil {
		return nil, err
	}
	root, err := keys.LoadRoot(keys.RootConfig{Value: cfg.MasterKey, File: cfg.MasterKeyFile, DataDir: cfg.DataDir, Production: cfg.Production()})
	if err != nil {
		return nil, err
	}
	if root.Generated {
		cfg.Logger.Warn("DEVELOPMENT MASTER KEY in use: generated into the data directory; anyone with that directory can read all data. Set GIGVAULT_MASTER_KEY_FILE for real use.",
			"key_file", root.Origin)
	}
	kmsCfg, err := cfg.KMSConfig()
	if err != nil {
		return nil, err
	}
	if c.KMS, err = store.OpenMigrated(ctx, kmsCfg, store.KMS); err != nil {
		return nil, err
	}
	c.Keys, err = keys.Open(ctx, c.KMS, c.Suite, root, keys.Options{CacheSize: cfg.DEKCacheSize, CacheTTL: cfg.DEKCacheTTL, Clock: cfg.Clock})
	if err != nil {
		c.KMS.Close()
		return nil, err
	}
	if c.DB, err = store.OpenMigrated(ctx, cfg.MainConfig(), store.Main); err != nil {
		c.KMS.Close()
		return nil, err
	}
	c.Audit = audit.New(c.Suite, c.Keys, audit.Options{CheckpointEvery: cfg.CheckpointEvery, CheckpointInterval: cfg.CheckpointInterval, Clock: cfg.Clock})
	if err := c.Audit.Init(ctx, c.DB); err != nil {
		c.Close()
		return nil, err
	}
	c.Vault, c.Issuer = vault.New(c.DB, c.Keys, c.Catalog, c.Audit, cfg.Clock)
	if err := c.checkPairing(ctx); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.openAccess(); err != nil {
		c.Close()
		return nil, err
	}
	if n, err := c.Vault.ResumeErasures(ctx); err != nil {
		c.Close()
		return nil, err
	} else if n > 0 {
		cfg.Logger.Warn("finished erasures interrupted by a crash", "subjects", n)
	}
	return c, nil
}

// ErrWrongKeyStore means the business database was created with another
// key store: opening it with this one would make its data unreadable and
// let erased people be written again.
var ErrWrongKeyStore = errors.New("the business database belongs to another key store")

// ErrDemoInProduction means production was asked to run on demo material.
var ErrDemoInProduction = errors.New("production refuses development keys and demo data (GIG-8)")

// checkPairing binds the business database to its key store on first use
// and refuses any other pairing afterwards; in production it refuses a key
// store made under a generated development key and synthetic subjects.
func (c *Core) checkPairing(ctx context.Context) error {
	id := c.Keys.StoreID()
	var bound string
	err := c.DB.QueryRow(ctx, `SELECT value FROM gigvault_meta WHERE key = 'key_store'`).Scan(&bound)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var subjects int
		if err := c.DB.QueryRow(ctx, `SELECT COUNT(*) FROM subjects`).Scan(&subjects); err != nil {
			return fmt.Errorf("app: %w", err)
		}
		if subjects > 0 {
			return fmt.Errorf("app: %w: it holds %d subjects but records no key store (%s)", ErrWrongKeyStore, subjects, c.KMS.Where())
		}
		if _, err := c.DB.Exec(ctx, `INSERT INTO gigvault_meta (key, value) VALUES ('key_store', ?)`, id); err != nil {
			return fmt.Errorf("app: bind key store: %w", err)
		}
	case err != nil:
		return fmt.Errorf("app: read key-store binding: %w", err)
	case bound != id:
		return fmt.Errorf("app: %w: %s was made with key store %s, but %s is %s (wrong data directory or GIGVAULT_KMS_DATABASE_URL?); nothing was changed",
			ErrWrongKeyStore, c.DB.Where(), bound, c.KMS.Where(), id)
	}
	if c.Cfg.Production() {
		if c.Keys.CreatedUnderGeneratedRoot() {
			return fmt.Errorf("app: %w: the key store was created under a generated development master key", ErrDemoInProduction)
		}
		var synthetic int
		if err := c.DB.QueryRow(ctx, `SELECT COUNT(*) FROM subjects WHERE kind = 'synthetic' AND erased_at IS NULL`).Scan(&synthetic); err != nil {
			return fmt.Errorf("app: %w", err)
		}
		if synthetic > 0 {
			return fmt.Errorf("app: %w: %d synthetic subjects from demo seed are present; remove the demo data first", ErrDemoInProduction, synthetic)
		}
	}
	return nil
}

// Close signs a last audit checkpoint over anything appended since the
// previous one, then releases both databases.
func (c *Core) Close() error {
	var err error
	if c.Audit != nil && c.DB != nil {
		if cerr := c.Audit.Checkpoint(context.Background(), c.DB); cerr != nil {
			c.Log.Warn("final audit checkpoint failed", "err", cerr)
		}
	}
	if c.DB != nil {
		err = c.DB.Close()
	}
	if c.KMS != nil {
		err = errors.Join(err, c.KMS.Close())
	}
	return err
}

// openAccess wires consent, approvals, the decision point's Guard and the
// identity service.
func (c *Core) openAccess() error {
	cfg := c.Cfg
	c.SMS = cfg.SMS
	if _, console := c.SMS.(*sms.Console); console && cfg.Production() {
		return ErrConsoleSMSInProduction
	}
	if c.SMS == nil {
		if cfg.Production() {
			c.SMS = sms.Unconfigured{}
		} else {
			c.SMS = sms.NewConsole(sms.ConsoleOptions{Log: cfg.Logger, Clock: cfg.Clock})
		}
	}
	if err := c.openConsent(); err != nil {
		return err
	}
	c.Approvals = approval.New(c.DB, c.Audit, cfg.Clock, cfg.ApprovalTTL)
	c.Guard = access.New(c.DB, c.Vault, c.Issuer, c.Consent, c.Approvals, c.Audit, cfg.Clock, cfg.Access)
	c.Identity = identity.New(identity.Deps{DB: c.DB, Vault: c.Vault, Keys: c.Keys, Audit: c.Audit, Consent: c.ConsentService,
		Guard: c.Guard, Approvals: c.Approvals, SMS: c.SMS, Suite: c.Suite, Clock: cfg.Clock}, cfg.Identity)
	return c.openGig(context.Background())
}
