package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"gigvault/internal/app"
	"gigvault/internal/retention"
)

// cmdRetentionRun runs one retention sweep (RET-1, RET-2): what the
// catalog's retention, the one-year cap on online records and the other
// tables' rules no longer allow is deleted in audited batches. With
// --dry-run it only shows what a sweep now would delete. See
// docs/retention.md.
func cmdRetentionRun(ctx context.Context, env *runEnv, args []string) error {
	const name = "retention run"
	var dryRun bool
	var batch int
	return withCore(ctx, env, args, name, "delete what retention no longer allows, in audited batches; --dry-run shows it and changes nothing",
		func(fs *flag.FlagSet) {
			fs.BoolVar(&dryRun, "dry-run", false, "show what a sweep now would delete, by rule, field and reason; change nothing")
			fs.IntVar(&batch, "batch", retention.DefaultBatchSize, "rows deleted per transaction (each batch with its audit entries)")
		}, func(c *app.Core) error {
			if batch < 1 {
				return fmt.Errorf("%s: --batch must be at least 1", name)
			}
			s := retention.New(c.DB, c.Vault, c.Audit, c.Catalog, c.Clock, retention.Options{
				BatchSize: batch, Tool: "gigvault retention run", Logger: c.Log})
			if dryRun {
				plan, err := s.Plan(ctx)
				if err != nil {
					return err
				}
				printPlan(env.stdout, plan)
				return nil
			}
			rep, err := s.Run(ctx)
			if rep.Skipped {
				until := ""
				if !rep.Until.IsZero() {
					until = ", lease until " + rep.Until.Format(time.RFC3339)
				}
				fmt.Fprintf(env.stdout, "another node is sweeping (%s%s): nothing done\n", rep.Holder, until)
				return nil
			}
			if rep.Run != "" {
				printReport(env.stdout, rep)
			}
			if err != nil {
				if errors.Is(err, context.Canceled) {
					return fmt.Errorf("%s: interrupted after %d rows; run it again to finish (each batch is whole or not at all): %w", name, rep.Deleted, err)
				}
				return fmt.Errorf("%s: stopped after %d rows; run it again to finish (each batch is whole or not at all): %w", name, rep.Deleted, err)
			}
			return nil
		})
}

// printPlan writes the dry run as a table.
func printPlan(w io.Writer, plan []retention.Group) {
	if len(plan) == 0 {
		fmt.Fprintln(w, "nothing is due for deletion (dry run: nothing was changed)")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tFIELD\tREASON\tROWS\tOLDEST DUE (UTC)\tKEPT FOR")
	var total int64
	for _, g := range plan {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", g.Rule, dash(g.Field), g.Reason, g.Rows, g.Oldest.UTC().Format("2006-01-02 15:04"), g.Retention)
		total += g.Rows
	}
	tw.Flush()
	fmt.Fprintf(w, "%d rows would be deleted (dry run: nothing was changed)\n", total)
}

// printReport writes what a sweep deleted.
func printReport(w io.Writer, rep retention.Report) {
	fmt.Fprintf(w, "retention run %s: deleted %d rows in %d batches (%s)\n", rep.Run, rep.Deleted, rep.Batches,
		rep.Finished.Sub(rep.Started).Round(time.Millisecond))
	if len(rep.Groups) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tFIELD\tREASON\tROWS")
	for _, g := range rep.Groups {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", g.Rule, dash(g.Field), g.Reason, g.Rows)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
