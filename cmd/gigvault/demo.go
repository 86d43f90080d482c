package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"time"

	"gigvault/internal/demo"
)

func cmdDemoSeed(ctx context.Context, env *runEnv, args []string) error {
	fs := newFlagSet("demo seed", "write N synthetic workers, every catalog field filled, through the vault (GIG-8)", env)
	core := registerCore(fs, env)
	n := fs.Int("subjects", 100, "how many synthetic workers")
	seed := fs.Int64("seed", time.Now().UnixNano(), "random seed (the same seed gives the same people)")
	out := fs.String("plaintext-out", "", "also write what was generated, as JSON lines, to this file (tests hunt for leaks with it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if core.mode == "production" {
		return fmt.Errorf("demo seed: refused under --env production: production never holds test data (GIG-8)")
	}
	if *n < 1 {
		return fmt.Errorf("demo seed: --subjects must be at least 1")
	}
	c, err := openCore(ctx, core)
	if err != nil {
		return err
	}
	defer c.Close()
	opts := demo.Options{Subjects: *n, Seed: *seed}
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("demo seed: %w", err)
		}
		defer f.Close()
		w := bufio.NewWriter(f)
		defer w.Flush()
		opts.Plaintext = lineFlusher{w}
	}
	p := newProgress(env.stderr, "seeding")
	opts.Progress = p.update
	start := time.Now()
	rep, err := demo.Seed(ctx, c.DB, c.Vault, opts)
	p.finish()
	if err != nil {
		return fmt.Errorf("demo seed: %w (after %d subjects)", err, rep.Subjects)
	}
	fmt.Fprintf(env.stdout, "seeded %d synthetic workers, %d values, in %s\n", rep.Subjects, rep.Values, time.Since(start).Round(time.Millisecond))
	return nil
}

// lineFlusher flushes after every write, so each acknowledged subject is in
// the file even if the process is killed.
type lineFlusher struct{ w *bufio.Writer }

func (l lineFlusher) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	if err == nil {
		err = l.w.Flush()
	}
	return n, err
}
