package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"gigvault/internal/app"
	"gigvault/internal/obs"
)

// coreFlags registers the flags every command that opens the core shares,
// with defaults taken from the environment. The returned function builds
// the configuration after parsing.
type coreFlags struct {
	env                                         *runEnv
	mode, dataDir, dbURL, kmsURL, suite, catlog string
	keyFile, sqliteSync, logLevel               string
	functions, thirdParty, publicURL            string
	cacheSize                                   int
	cacheTTL, cpInterval, consentTTL            time.Duration
	cpEvery                                     int64
	// Data-subject rights (issue 6).
	dueDays, targetDays, remindDays           int
	calendarFile, retainTx, retainFin, copyTo string
}

func registerCore(fs *flag.FlagSet, env *runEnv) *coreFlags {
	c := &coreFlags{env: env}
	g := func(name, def string) string {
		if v := env.getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.mode, "env", g("GIGVAULT_ENV", "dev"), "dev or production; production refuses development keys [GIGVAULT_ENV]")
	fs.StringVar(&c.dataDir, "data-dir", g("GIGVAULT_DATA_DIR", "data"), "directory for gigvault.db, keys.db and the development key [GIGVAULT_DATA_DIR]")
	fs.StringVar(&c.dbURL, "database-url", "", "postgres:// URL of the business database; empty means SQLite in --data-dir [GIGVAULT_DATABASE_URL, GIGVAULT_DATABASE_URL_FILE]")
	fs.StringVar(&c.kmsURL, "kms-database-url", "", "postgres:// URL of the key store; default: the database URL with search_path gigvault_kms [GIGVAULT_KMS_DATABASE_URL, _FILE]")
	fs.StringVar(&c.suite, "suite", g("GIGVAULT_SUITE", "sm"), "crypto suite: sm (SM4/SM3/SM2) or aes (AES-256-GCM/SHA-256/ECDSA) [GIGVAULT_SUITE]")
	fs.StringVar(&c.catlog, "catalog", g("GIGVAULT_CATALOG", ""), "PI catalog YAML replacing the embedded one [GIGVAULT_CATALOG]")
	fs.StringVar(&c.functions, "functions-file", g("GIGVAULT_FUNCTIONS_FILE", ""), "business-function registry YAML replacing the embedded one [GIGVAULT_FUNCTIONS_FILE]")
	fs.StringVar(&c.thirdParty, "third-party-file", g("GIGVAULT_THIRD_PARTY_FILE", ""), "third-party registry YAML replacing the embedded demo one [GIGVAULT_THIRD_PARTY_FILE]")
	fs.StringVar(&c.publicURL, "public-url", g("GIGVAULT_PUBLIC_URL", "https://gigvault.example"), "public base URL, for the policy link in consent receipts [GIGVAULT_PUBLIC_URL]")
	fs.DurationVar(&c.consentTTL, "consent-cache-ttl", envDur(g("GIGVAULT_CONSENT_CACHE_TTL", ""), 2*time.Second), "how long another node's consent change may go unseen; negative disables the cache [GIGVAULT_CONSENT_CACHE_TTL]")
	fs.StringVar(&c.keyFile, "master-key-file", g("GIGVAULT_MASTER_KEY_FILE", ""), "file holding the master key (hex or base64, 32 bytes) [GIGVAULT_MASTER_KEY_FILE; or the key itself in GIGVAULT_MASTER_KEY]")
	fs.StringVar(&c.sqliteSync, "sqlite-sync", g("GIGVAULT_SQLITE_SYNC", "normal"), "SQLite durability: normal (survives process crashes) or full (also power loss) [GIGVAULT_SQLITE_SYNC]")
	fs.StringVar(&c.logLevel, "log-level", g("GIGVAULT_LOG_LEVEL", "info"), "debug, info, warn or error [GIGVAULT_LOG_LEVEL]")
	fs.IntVar(&c.cacheSize, "dek-cache-size", envInt(g("GIGVAULT_DEK_CACHE_SIZE", ""), 100000), "data keys kept unwrapped in memory [GIGVAULT_DEK_CACHE_SIZE]")
	fs.DurationVar(&c.cacheTTL, "dek-cache-ttl", envDur(g("GIGVAULT_DEK_CACHE_TTL", ""), 10*time.Minute), "how long an unwrapped data key stays cached [GIGVAULT_DEK_CACHE_TTL]")
	fs.Int64Var(&c.cpEvery, "checkpoint-every", int64(envInt(g("GIGVAULT_CHECKPOINT_EVERY", ""), 1000)), "sign an audit checkpoint every N entries [GIGVAULT_CHECKPOINT_EVERY]")
	fs.IntVar(&c.dueDays, "dsr-due-days", envInt(g("GIGVAULT_DSR_DUE_DAYS", ""), 15), "statutory period of data-subject requests, in PRC working days [GIGVAULT_DSR_DUE_DAYS]")
	fs.IntVar(&c.targetDays, "dsr-target-days", envInt(g("GIGVAULT_DSR_TARGET_DAYS", ""), 0), "optional shorter internal target, in working days, e.g. 10 (0: none) [GIGVAULT_DSR_TARGET_DAYS]")
	fs.IntVar(&c.remindDays, "dsr-remind-days", envInt(g("GIGVAULT_DSR_REMIND_DAYS", ""), 3), "remind handlers this many working days before a request falls due [GIGVAULT_DSR_REMIND_DAYS]")
	fs.StringVar(&c.calendarFile, "calendar-file", g("GIGVAULT_CALENDAR_FILE", ""), "PRC holiday data extending the embedded 2024–2026 calendar (later State Council notices) [GIGVAULT_CALENDAR_FILE]")
	fs.StringVar(&c.retainTx, "retain-transactions", g("GIGVAULT_RETAIN_TRANSACTIONS", ""), "how long transaction records are kept after cancellation, e.g. 3y (default: the catalog's) [GIGVAULT_RETAIN_TRANSACTIONS]")
	fs.StringVar(&c.retainFin, "retain-financial-identity", g("GIGVAULT_RETAIN_FINANCIAL_IDENTITY", ""), "how long financial identity is kept after cancellation, e.g. 5y (default: the catalog's) [GIGVAULT_RETAIN_FINANCIAL_IDENTITY]")
	fs.StringVar(&c.copyTo, "copy-recipients", g("GIGVAULT_COPY_RECIPIENTS", ""), "comma-separated recipient IDs a person may have their data copy sent to [GIGVAULT_COPY_RECIPIENTS]")
	fs.DurationVar(&c.cpInterval, "checkpoint-interval", envDur(g("GIGVAULT_CHECKPOINT_INTERVAL", ""), time.Minute), "…or every interval [GIGVAULT_CHECKPOINT_INTERVAL]")
	return c
}

func envInt(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

func envDur(s string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(s); err == nil {
		return d
	}
	return def
}

// secret reads a value from the flag, NAME or NAME_FILE, so secrets such as
// database passwords need not sit in the environment or the process list.
func (c *coreFlags) secret(flagVal, name string) (string, error) {
	if flagVal != "" {
		return flagVal, nil
	}
	if v := c.env.getenv(name); v != "" {
		return v, nil
	}
	if f := c.env.getenv(name + "_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("%s_FILE: %w", name, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

func (c *coreFlags) config(log *slog.Logger) (app.Config, error) {
	db, err := c.secret(c.dbURL, "GIGVAULT_DATABASE_URL")
	if err != nil {
		return app.Config{}, err
	}
	kms, err := c.secret(c.kmsURL, "GIGVAULT_KMS_DATABASE_URL")
	if err != nil {
		return app.Config{}, err
	}
	return app.Config{
		Env: c.mode, DataDir: c.dataDir, DatabaseURL: db, KMSURL: kms, Suite: c.suite, CatalogFile: c.catlog,
		MasterKey: c.env.getenv("GIGVAULT_MASTER_KEY"), MasterKeyFile: c.keyFile, SQLiteSync: c.sqliteSync,
		DEKCacheSize: c.cacheSize, DEKCacheTTL: c.cacheTTL, CheckpointEvery: c.cpEvery, CheckpointInterval: c.cpInterval,
		FunctionsFile: c.functions, ThirdPartyFile: c.thirdParty, PublicURL: c.publicURL, ConsentCacheTTL: c.consentTTL,
		Rights: app.RightsConfig{DueDays: c.dueDays, TargetDays: c.targetDays, RemindDays: c.remindDays, CalendarFile: c.calendarFile,
			RetainTransactions: c.retainTx, RetainFinancialIdentity: c.retainFin, CopyRecipients: splitList(c.copyTo)},
		Logger: log,
	}, nil
}

// splitList splits a comma-separated flag value, trimming blanks and
// dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (c *coreFlags) logger() (*slog.Logger, error) { return newLogger(c.env.stderr, c.logLevel) }

// obsHandler is the JSON log handler behind the PI redactor.
func obsHandler(w io.Writer, l slog.Level) slog.Handler {
	return obs.NewRedactingHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
