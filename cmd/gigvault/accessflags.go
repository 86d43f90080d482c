package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"gigvault/internal/access"
	"gigvault/internal/app"
	"gigvault/internal/httpapi"
	"gigvault/internal/identity"
	"gigvault/internal/ratelimit"
	"gigvault/internal/sms"
)

// accessFlags are the identity, session, reveal, approval, rate-limit and
// SMS settings of serve.
type accessFlags struct {
	env                                      *runEnv
	smsGateway, smsURL, smsKeyID, smsSender  string
	userIdle, userMax, staffIdle, staffMax   time.Duration
	staffDisable, lockoutFor, revealWindow   time.Duration
	approvalTTL                              time.Duration
	workerSessions, staffSessions, sessions  int
	lockoutAfter, revealLimit, bulkLimit     int
	rateIP, rateUser, rateSMSIP, rateLoginIP string
	trustedProxies                           string
}

func registerAccess(fs *flag.FlagSet, env *runEnv) *accessFlags {
	a := &accessFlags{env: env}
	g := func(name, def string) string { return envOr(env, name, def) }
	d := func(name string, def time.Duration) time.Duration { return envDur(env.getenv(name), def) }
	n := func(name string, def int) int { return envInt(env.getenv(name), def) }
	fs.StringVar(&a.smsGateway, "sms-gateway", g("GIGVAULT_SMS_GATEWAY", ""), "SMS gateway: console (development: codes in the log and the dev outbox; refused in production) or http; default console in dev, none in production (SMS log-in unavailable) [GIGVAULT_SMS_GATEWAY]")
	fs.StringVar(&a.smsURL, "sms-url", g("GIGVAULT_SMS_URL", ""), "the HTTP SMS gateway's URL, https (docs/sms-gateway.md) [GIGVAULT_SMS_URL]")
	fs.StringVar(&a.smsKeyID, "sms-key-id", g("GIGVAULT_SMS_KEY_ID", ""), "key ID sent to the HTTP SMS gateway [GIGVAULT_SMS_KEY_ID; secret in GIGVAULT_SMS_SECRET or GIGVAULT_SMS_SECRET_FILE]")
	fs.StringVar(&a.smsSender, "sms-sender", g("GIGVAULT_SMS_SENDER", "gigvault"), "SMS signature name [GIGVAULT_SMS_SENDER]")
	fs.DurationVar(&a.userIdle, "user-idle-timeout", d("GIGVAULT_USER_IDLE_TIMEOUT", 7*24*time.Hour), "worker and employer sessions end after this long unused [GIGVAULT_USER_IDLE_TIMEOUT]")
	fs.DurationVar(&a.userMax, "user-session-max", d("GIGVAULT_USER_SESSION_MAX", 30*24*time.Hour), "…and this long after log-in at most [GIGVAULT_USER_SESSION_MAX]")
	fs.DurationVar(&a.staffIdle, "staff-idle-timeout", d("GIGVAULT_STAFF_IDLE_TIMEOUT", 15*time.Minute), "staff sessions end after this long unused [GIGVAULT_STAFF_IDLE_TIMEOUT]")
	fs.DurationVar(&a.staffMax, "staff-session-max", d("GIGVAULT_STAFF_SESSION_MAX", 8*time.Hour), "…and this long after log-in at most [GIGVAULT_STAFF_SESSION_MAX]")
	fs.IntVar(&a.workerSessions, "user-sessions", n("GIGVAULT_USER_SESSIONS", 3), "concurrent sessions per worker or employer member; the oldest gives way [GIGVAULT_USER_SESSIONS]")
	fs.IntVar(&a.staffSessions, "staff-sessions", n("GIGVAULT_STAFF_SESSIONS", 1), "concurrent sessions per staff member [GIGVAULT_STAFF_SESSIONS]")
	fs.IntVar(&a.sessions, "max-sessions", n("GIGVAULT_MAX_SESSIONS", 200000), "live sessions in total; further log-ins wait [GIGVAULT_MAX_SESSIONS]")
	fs.DurationVar(&a.staffDisable, "staff-disable-after", d("GIGVAULT_STAFF_DISABLE_AFTER", 90*24*time.Hour), "staff accounts unused this long are disabled (ACC-4) [GIGVAULT_STAFF_DISABLE_AFTER]")
	fs.IntVar(&a.lockoutAfter, "lockout-after", n("GIGVAULT_LOCKOUT_AFTER", 5), "consecutive failed log-ins before a lock-out [GIGVAULT_LOCKOUT_AFTER]")
	fs.DurationVar(&a.lockoutFor, "lockout-for", d("GIGVAULT_LOCKOUT_FOR", 15*time.Minute), "how long a lock-out lasts [GIGVAULT_LOCKOUT_FOR]")
	fs.IntVar(&a.revealLimit, "reveal-limit", n("GIGVAULT_REVEAL_LIMIT", 50), "whole-value reveals per staff member per --reveal-window before a DPO approval is needed [GIGVAULT_REVEAL_LIMIT]")
	fs.DurationVar(&a.revealWindow, "reveal-window", d("GIGVAULT_REVEAL_WINDOW", time.Hour), "[GIGVAULT_REVEAL_WINDOW]")
	fs.IntVar(&a.bulkLimit, "bulk-approval-over", n("GIGVAULT_BULK_APPROVAL_OVER", 100), "exports, downloads and bulk changes of more records need a second person's approval [GIGVAULT_BULK_APPROVAL_OVER]")
	fs.DurationVar(&a.approvalTTL, "approval-ttl", d("GIGVAULT_APPROVAL_TTL", 24*time.Hour), "approval requests expire after [GIGVAULT_APPROVAL_TTL]")
	fs.StringVar(&a.rateIP, "rate-ip", g("GIGVAULT_RATE_IP", "1200/1m"), "requests without a session per client IP, N/duration or off [GIGVAULT_RATE_IP]")
	fs.StringVar(&a.rateUser, "rate-user", g("GIGVAULT_RATE_USER", "600/1m"), "requests per signed-in account [GIGVAULT_RATE_USER]")
	fs.StringVar(&a.rateSMSIP, "rate-sms-ip", g("GIGVAULT_RATE_SMS_IP", "20/1h"), "SMS codes requested per client IP, across all numbers [GIGVAULT_RATE_SMS_IP]")
	fs.StringVar(&a.rateLoginIP, "rate-login-ip", g("GIGVAULT_RATE_LOGIN_IP", "10/1m"), "log-in attempts per client IP [GIGVAULT_RATE_LOGIN_IP]")
	fs.StringVar(&a.trustedProxies, "trusted-proxies", g("GIGVAULT_TRUSTED_PROXIES", ""), "comma-separated proxy IPs whose X-Forwarded-For is believed [GIGVAULT_TRUSTED_PROXIES]")
	return a
}

// parseLimit reads "N/duration" (600/1m) or "off".
func parseLimit(name, s string) (ratelimit.Limit, error) {
	if s == "off" || s == "0" {
		return ratelimit.Limit{}, nil
	}
	ns, ds, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(ns)
	if !ok || err != nil || n < 1 {
		return ratelimit.Limit{}, fmt.Errorf("--%s %q: want N/duration such as 600/1m, or off", name, s)
	}
	d, err := time.ParseDuration(ds)
	if err != nil || d <= 0 {
		return ratelimit.Limit{}, fmt.Errorf("--%s %q: want N/duration such as 600/1m, or off", name, s)
	}
	return ratelimit.Limit{Events: n, Per: d}, nil
}

// apply adds the settings to the core configuration.
func (a *accessFlags) apply(cfg *app.Config, log *slog.Logger, c *coreFlags) error {
	cfg.Identity = identity.Config{
		UserIdle: a.userIdle, UserAbsolute: a.userMax, StaffIdle: a.staffIdle, StaffAbsolute: a.staffMax,
		WorkerSessions: a.workerSessions, StaffSessions: a.staffSessions, GlobalSessions: a.sessions,
		StaffIdleDisable: a.staffDisable, LockoutThreshold: a.lockoutAfter, LockoutDuration: a.lockoutFor,
	}
	cfg.Access = access.Config{RevealLimit: a.revealLimit, RevealWindow: a.revealWindow, BulkLimit: a.bulkLimit}
	cfg.ApprovalTTL = a.approvalTTL
	switch a.smsGateway {
	case "":
		if cfg.Production() {
			log.Warn("no SMS gateway configured: worker and employer log-in is unavailable until --sms-gateway http is set")
			return nil
		}
		cfg.SMS = sms.NewConsole(sms.ConsoleOptions{Log: log})
	case "console":
		if cfg.Production() {
			return app.ErrConsoleSMSInProduction
		}
		cfg.SMS = sms.NewConsole(sms.ConsoleOptions{Log: log})
	case "http":
		secret, err := c.secret("", "GIGVAULT_SMS_SECRET")
		if err != nil {
			return err
		}
		if secret == "" {
			return errors.New("--sms-gateway http needs GIGVAULT_SMS_SECRET or GIGVAULT_SMS_SECRET_FILE")
		}
		g, err := sms.NewHTTP(sms.HTTPConfig{URL: a.smsURL, KeyID: a.smsKeyID, Secret: []byte(secret), Sender: a.smsSender, Log: log})
		if err != nil {
			return fmt.Errorf("--sms-gateway http: %w", err)
		}
		cfg.SMS = g
	default:
		return fmt.Errorf("--sms-gateway %q: want console or http", a.smsGateway)
	}
	return nil
}

// limits builds the API's rate limits.
func (a *accessFlags) limits() (httpapi.Limits, []string, error) {
	var l httpapi.Limits
	for _, x := range []struct {
		name, val string
		dst       *ratelimit.Limit
	}{{"rate-ip", a.rateIP, &l.IP}, {"rate-user", a.rateUser, &l.User}, {"rate-sms-ip", a.rateSMSIP, &l.SMSIP}, {"rate-login-ip", a.rateLoginIP, &l.LoginIP}} {
		v, err := parseLimit(x.name, x.val)
		if err != nil {
			return l, nil, err
		}
		*x.dst = v
	}
	return l, splitList(a.trustedProxies), nil
}
