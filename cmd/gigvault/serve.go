package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"gigvault/internal/app"
	"gigvault/internal/httpapi"
	"gigvault/internal/obs"
	"gigvault/internal/retention"
)

func cmdServe(ctx context.Context, env *runEnv, args []string) error {
	fs := newFlagSet("serve", "run the API server", env)
	core := registerCore(fs, env)
	acc := registerAccess(fs, env)
	addr := fs.String("addr", envOr(env, "GIGVAULT_ADDR", "127.0.0.1:8080"), "listen address [GIGVAULT_ADDR]")
	certFile := fs.String("tls-cert", envOr(env, "GIGVAULT_TLS_CERT", ""), "TLS certificate (PEM); with --tls-key serves HTTPS, TLS 1.2+ [GIGVAULT_TLS_CERT]")
	keyFile := fs.String("tls-key", envOr(env, "GIGVAULT_TLS_KEY", ""), "TLS private key (PEM) [GIGVAULT_TLS_KEY]")
	rightsEvery := fs.Duration("rights-interval", envDur(env.getenv("GIGVAULT_RIGHTS_INTERVAL"), time.Minute), "how often the deadline clock reminds handlers and finishes interrupted cancellations [GIGVAULT_RIGHTS_INTERVAL]")
	noticeEvery := fs.Duration("notice-interval", envDur(env.getenv("GIGVAULT_NOTICE_INTERVAL"), time.Minute), "how often deletion notices and copies are delivered [GIGVAULT_NOTICE_INTERVAL]")
	sweepEvery := fs.Duration("retention-interval", envDur(env.getenv("GIGVAULT_RETENTION_INTERVAL"), time.Hour), "how often the retention sweeper runs (one node at a time, by lease) [GIGVAULT_RETENTION_INTERVAL]")
	drain := fs.Duration("drain-timeout", envDur(env.getenv("GIGVAULT_DRAIN_TIMEOUT"), 30*time.Second), "how long SIGTERM waits for in-flight requests [GIGVAULT_DRAIN_TIMEOUT]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := core.logger()
	if err != nil {
		return err
	}
	cfg, err := core.config(log)
	if err != nil {
		return err
	}
	if err := acc.apply(&cfg, log, core); err != nil {
		return err
	}
	limits, proxies, err := acc.limits()
	if err != nil {
		return err
	}
	var tlsCfg *tls.Config
	if (*certFile == "") != (*keyFile == "") {
		return fmt.Errorf("serve: --tls-cert and --tls-key go together")
	}
	if *certFile != "" {
		if tlsCfg, err = httpapi.TLSConfig(*certFile, *keyFile); err != nil {
			return err
		}
	}
	c, err := app.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	if !cfg.Production() {
		log.Warn("development mode: demo-safe defaults; use --env production for real data", "data_dir", cfg.DataDir)
		if err := demoAdmin(ctx, env, c); err != nil {
			return err
		}
	}
	m := obs.NewMetrics()
	registerCoreMetrics(m, c)
	c.Rights.RegisterMetrics(m)
	sweeper := retention.New(c.DB, c.Vault, c.Audit, c.Catalog, c.Clock, retention.Options{Logger: log})
	sweeper.RegisterMetrics(m)
	api := httpapi.New(httpapi.Deps{
		Log: log, Metrics: m, Version: version,
		Ready:      map[string]httpapi.Pinger{"database": c.DB, "key_store": c.KMS},
		Production: cfg.Production(), Clock: c.Clock, DB: c.DB, Catalog: c.Catalog,
		Identity: c.Identity, Guard: c.Guard, Approvals: c.Approvals, Recorder: c.Vault.Recorder(),
		SMS: c.SMS, Limits: &limits, TrustedProxies: proxies,
	}.WithCore(c))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", *addr, err)
	}
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// net/http's own messages (TLS handshake errors and the like) go
		// through the redacting JSON log too.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	go checkpointLoop(bg, c, log)
	go idleStaffLoop(bg, c, log)
	go rightsLoop(bg, c, log, *rightsEvery)
	go func() { _ = c.Notices.Loop(bg, *noticeEvery) }()
	go sweeper.Loop(bg, *sweepEvery)
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	log.Info("gigvault serving", "url", scheme+"://"+ln.Addr().String(), "engine", string(c.DB.Engine()), "suite", c.Suite.Name(), "env", cfg.Env, "version", version)
	err = httpapi.Run(ctx, srv, ln, *drain, tlsCfg)
	stopBG()
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("gigvault stopped: in-flight requests drained")
	return nil
}

// rightsLoop runs the deadline clock of data-subject requests and finishes
// cancellations a crash or a released legal hold left open.
func rightsLoop(ctx context.Context, c *app.Core, log *slog.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := c.Rights.ResumeCancellations(ctx); err != nil && ctx.Err() == nil {
			log.Error("finish cancellations", "err", err)
		} else if n > 0 {
			log.Info("finished cancellations", "requests", n)
		}
		if rep, err := c.Rights.Tick(ctx, log); err != nil && ctx.Err() == nil {
			log.Error("rights deadline clock", "err", err)
		} else if rep.Reminded+rep.Lapsed > 0 || rep.Overdue > 0 {
			log.Info("rights deadline clock", "reminded", rep.Reminded, "lapsed", rep.Lapsed, "overdue", rep.Overdue)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func envOr(env *runEnv, name, def string) string {
	if v := env.getenv(name); v != "" {
		return v
	}
	return def
}

// checkpointLoop signs the audit chain's tail every interval, so a quiet
// server does not keep unsigned entries for long.
func checkpointLoop(ctx context.Context, c *app.Core, log *slog.Logger) {
	iv := c.Cfg.CheckpointInterval
	if iv <= 0 {
		iv = time.Minute
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.Audit.Checkpoint(ctx, c.DB); err != nil && ctx.Err() == nil {
				log.Warn("audit checkpoint failed", "err", err)
			}
		}
	}
}

// idleStaffLoop disables staff accounts unused past --staff-disable-after
// (ACC-4) and forgets finished lock-out counters, at start and hourly.
func idleStaffLoop(ctx context.Context, c *app.Core, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := c.Identity.DisableIdleStaff(ctx); err != nil && ctx.Err() == nil {
			log.Warn("disabling idle staff accounts failed", "err", err)
		} else if n > 0 {
			log.Info("disabled idle staff accounts", "accounts", n)
		}
		if _, err := c.Identity.PruneLockouts(ctx); err != nil && ctx.Err() == nil {
			log.Warn("pruning lock-out counters failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func registerCoreMetrics(m *obs.Metrics, c *app.Core) {
	vc := &c.Vault.C
	for op, ctr := range map[string]interface{ Load() uint64 }{
		"put": &vc.Puts, "get": &vc.Gets, "reveal": &vc.Reveals, "find": &vc.Finds, "erase": &vc.Erases, "integrity_failure": &vc.IntegrityFailures,
	} {
		ctr := ctr
		m.CounterFunc("gigvault_vault_operations_total", "Vault operations by kind.", map[string]string{"op": op}, func() float64 { return float64(ctr.Load()) })
	}
	ic := &c.Identity.C
	for ev, ctr := range map[string]interface{ Load() uint64 }{
		"login_ok": &ic.LoginsOK, "login_failed": &ic.LoginsFailed, "lockout": &ic.Lockouts,
		"code_sent": &ic.CodesSent, "code_rejected": &ic.CodesRejected, "session_evicted": &ic.SessionsEvicted,
	} {
		m.CounterFunc("gigvault_auth_events_total", "Authentication events by kind (ACC-10, AUD-1).", map[string]string{"event": ev}, func() float64 { return float64(ctr.Load()) })
	}
	m.CounterFunc("gigvault_audit_appends_total", "Audit entries appended by this process.", nil, func() float64 { return float64(c.Audit.Appends()) })
	m.CounterFunc("gigvault_dek_cache_hits_total", "Data-key cache hits.", nil, func() float64 { h, _ := c.Keys.CacheStats(); return float64(h) })
	m.CounterFunc("gigvault_dek_cache_misses_total", "Data-key cache misses.", nil, func() float64 { _, mi := c.Keys.CacheStats(); return float64(mi) })
}
