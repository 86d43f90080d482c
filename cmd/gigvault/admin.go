package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"gigvault/internal/app"
	"gigvault/internal/audit"
	"gigvault/internal/store"
)

// withCore parses a command's flags (the shared core flags and any extra
// ones), opens the core, runs fn on it and closes it.
func withCore(ctx context.Context, env *runEnv, args []string, name, summary string, extra func(*flag.FlagSet), fn func(*app.Core) error) error {
	fs := newFlagSet(name, summary, env)
	core := registerCore(fs, env)
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := openCore(ctx, core)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(c)
}

// openCore builds the configuration from parsed flags and opens the core.
func openCore(ctx context.Context, core *coreFlags) (*app.Core, error) {
	log, err := core.logger()
	if err != nil {
		return nil, err
	}
	cfg, err := core.config(log)
	if err != nil {
		return nil, err
	}
	return app.Open(ctx, cfg)
}

func cmdMigrate(ctx context.Context, env *runEnv, args []string) error {
	return withCore(ctx, env, args, "migrate", "bring the database schemas up to date", nil, func(c *app.Core) error {
		for _, db := range []*store.DB{c.KMS, c.DB} {
			cur, target, err := db.Versions(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "%s: schema version %d of %d\n", db.Where(), cur, target)
		}
		return nil
	})
}

func cmdAuditVerify(ctx context.Context, env *runEnv, args []string) error {
	return withCore(ctx, env, args, "audit verify", "recompute the audit chain and check checkpoint signatures; exit 1 naming the first bad entry", nil, func(c *app.Core) error {
		p := newProgress(env.stderr, "verifying")
		start := time.Now()
		rep, err := c.Audit.Verify(ctx, c.DB, p.update)
		p.finish()
		if err != nil {
			return err
		}
		return reportVerify(env, rep, time.Since(start))
	})
}

func reportVerify(env *runEnv, rep audit.Report, took time.Duration) error {
	if !rep.OK() {
		fmt.Fprintf(env.stdout, "FAIL: %s\n", rep.Problem)
		fmt.Fprintf(env.stdout, "verified %d entries before the problem; %d checkpoints\n", rep.Entries, rep.Checkpoints)
		return errReported
	}
	fmt.Fprintf(env.stdout, "OK: %d entries, %d signed checkpoints, signed through entry %d (%d unsigned at the tail), %s\n",
		rep.Entries, rep.Checkpoints, rep.Signed, rep.LastSeq-rep.Signed, took.Round(time.Millisecond))
	return nil
}

func cmdKeysStatus(ctx context.Context, env *runEnv, args []string) error {
	return withCore(ctx, env, args, "keys status", "show key versions, data-key counts and cache figures (never key bytes)", nil, func(c *app.Core) error {
		st, err := c.Keys.Status(ctx)
		if err != nil {
			return err
		}
		origin := "configured"
		if st.Generated {
			origin = "GENERATED DEVELOPMENT KEY"
		}
		fmt.Fprintf(env.stdout, "suite: %s\nmaster key: %s\naudit signing key: %s\nkey store: %s\n", st.Suite, origin, st.AuditKeyID, c.KMS.Where())
		fmt.Fprintf(env.stdout, "live data keys: %d, destroyed (erased subjects): %d\n", st.LiveDEKs, st.Destroyed)
		fmt.Fprintln(env.stdout, "KEK versions:")
		for _, k := range st.KEKs {
			fmt.Fprintf(env.stdout, "  v%-3d %-10s created %s  data keys %d\n", k.Version, k.State, time.UnixMicro(k.CreatedAt).UTC().Format(time.RFC3339), k.DEKs)
		}
		return nil
	})
}

func cmdKeysRotate(ctx context.Context, env *runEnv, args []string) error {
	return withCore(ctx, env, args, "keys rotate", "add a KEK version and re-wrap every data key, online; resumes an interrupted rotation", nil, func(c *app.Core) error {
		p := newProgress(env.stderr, "re-wrapping data keys")
		res, err := c.Keys.Rotate(ctx, func(done, total int) { p.update(int64(done), int64(total)) })
		p.finish()
		entry := audit.Entry{Actor: "cli:keys-rotate", Channel: "cli", Action: "keys.rotate", Outcome: "ok",
			Detail: map[string]string{"version": fmt.Sprint(res.Version), "rewrapped": fmt.Sprint(res.Rewrapped), "resumed": fmt.Sprint(res.Resumed)}}
		if err != nil {
			entry.Outcome = "interrupted"
		}
		actx := context.WithoutCancel(ctx)
		if aerr := c.DB.InTx(actx, func(tx *store.Tx) error { return c.Audit.Append(actx, tx, entry) }); aerr != nil && err == nil {
			err = aerr
		}
		if err != nil {
			return fmt.Errorf("keys rotate: %w (run it again to resume; every value stays readable)", err)
		}
		verb := "rotated to"
		if res.Resumed {
			verb = "finished the interrupted rotation to"
		}
		fmt.Fprintf(env.stdout, "%s KEK v%d: %d data keys re-wrapped, %d old version(s) destroyed\n", verb, res.Version, res.Rewrapped, res.Destroyed)
		return nil
	})
}
