package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"gigvault/internal/app"
	"gigvault/internal/clock"
	"gigvault/internal/lease"
	"gigvault/internal/retention"
	"gigvault/internal/testenv"
	"gigvault/internal/vault"
)

// retention run --dry-run shows what is due, grouped by rule, field and
// reason, and changes nothing; retention run deletes it, audited, and a
// second dry run finds nothing; the audit chain still verifies.
func TestRetentionRunCLI(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			b := newBinEnv(t, e)
			// Values written 400 days ago (the binary runs on the real clock).
			cfg := b.cfg
			cfg.Clock = clock.NewFake(time.Now().Add(-400 * 24 * time.Hour))
			c, err := app.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			subjects := testenv.Subjects(t, c, "worker", 3)
			actor := vault.Actor{ID: "cli:test", Channel: "cli"}
			for _, s := range subjects {
				err := c.Vault.Put(ctx, actor, "account_registration", s,
					vault.Item{Field: "search_keyword", Record: "1", Value: "服务员"},
					vault.Item{Field: "search_keyword", Record: "2", Value: "快递"},
					vault.Item{Field: "chat_message", Record: "1", Value: "你好"},
					vault.Item{Field: "city", Value: "福州"})
				if err != nil {
					t.Fatal(err)
				}
			}
			c.Close()

			out, code := runBin(t, b, "retention", "run", "--dry-run")
			if code != 0 {
				t.Fatalf("dry run: exit %d\n%s", code, out)
			}
			for _, re := range []string{
				`(?m)^RULE\s+FIELD\s+REASON\s+ROWS\s+OLDEST DUE \(UTC\)\s+KEPT FOR$`,
				`(?m)^pi_values\s+search_keyword\s+expired\s+6\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+catalog retention 180d$`,
				`(?m)^pi_values\s+chat_message\s+expired\s+3\s+.*catalog retention 1y$`,
				`(?m)^9 rows would be deleted \(dry run: nothing was changed\)$`,
			} {
				if !regexp.MustCompile(re).MatchString(out) {
					t.Fatalf("dry run output does not match %s:\n%s", re, out)
				}
			}
			if out2, _ := runBin(t, b, "retention", "run", "--dry-run"); out2 != out {
				t.Fatalf("a second dry run differs, so the first changed something:\n%s\n---\n%s", out, out2)
			}

			out, code = runBin(t, b, "retention", "run", "--batch", "4")
			if code != 0 || !regexp.MustCompile(`retention run [0-9a-f-]{36}: deleted 9 rows in 3 batches`).MatchString(out) ||
				!regexp.MustCompile(`(?m)^pi_values\s+search_keyword\s+expired\s+6$`).MatchString(out) {
				t.Fatalf("run: exit %d\n%s", code, out)
			}
			out, code = runBin(t, b, "retention", "run", "--dry-run")
			if code != 0 || !strings.Contains(out, "nothing is due for deletion") {
				t.Fatalf("dry run after the sweep: exit %d\n%s", code, out)
			}
			out, code = runBin(t, b, "retention", "run")
			if code != 0 || !strings.Contains(out, "deleted 0 rows") {
				t.Fatalf("second run: exit %d\n%s", code, out)
			}
			if out, code := runBin(t, b, "audit", "verify"); code != 0 {
				t.Fatalf("audit verify: exit %d\n%s", code, out)
			}
			if out, code := runBin(t, b, "retention", "run", "--batch", "0"); code == 0 || !strings.Contains(out, "--batch must be at least 1") {
				t.Fatalf("--batch 0: exit %d\n%s", code, out)
			}

			c, err = app.Open(ctx, b.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var left int
			if err := c.DB.QueryRow(ctx, `SELECT COUNT(*) FROM pi_values`).Scan(&left); err != nil || left != 3 {
				t.Fatalf("%d values left (%v), want the 3 cities", left, err)
			}

			// Another node holding the lease: nothing done, and not an error.
			if ok, err := lease.Acquire(ctx, c.DB, clock.Real{}, retention.LeaseName, "node-x", time.Hour); err != nil || !ok {
				t.Fatalf("lease: %v %v", ok, err)
			}
			out, code = runBin(t, b, "retention", "run")
			if code != 0 || !strings.Contains(out, "another node is sweeping (node-x, lease until ") {
				t.Fatalf("run beside node-x: exit %d\n%s", code, out)
			}
		})
	}
}
