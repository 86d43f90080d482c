package retention_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gigvault/internal/app"
	"gigvault/internal/retention"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
)

// benchRows is how many expired values BenchmarkSweep1M sweeps
// (GIGVAULT_BENCH_SWEEP_ROWS, default 1,000,000).
func benchRows(b *testing.B) int {
	if s := os.Getenv("GIGVAULT_BENCH_SWEEP_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("GIGVAULT_BENCH_SWEEP_ROWS=%q: want a positive number", s)
		}
		return n
	}
	return 1_000_000
}

// benchBatch is the sweeper's batch size (GIGVAULT_BENCH_SWEEP_BATCH,
// default the sweeper's own default).
func benchBatch(b *testing.B) int {
	s := os.Getenv("GIGVAULT_BENCH_SWEEP_BATCH")
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("GIGVAULT_BENCH_SWEEP_BATCH=%q: want a positive number", s)
	}
	return n
}

// BenchmarkSweep1M: the sweeper deleting 1,000,000 expired values over
// ~10,000 subjects on SQLite (batches of 1,000, each with its audit
// entries and run-row update in one transaction), against a bare
// `DELETE FROM pi_values WHERE expires_at <= ?` of an identical copy of
// the database in the same run. Each is timed on freshly opened
// connections. Two layouts: time-ordered, as values arrive (a value's
// expiry follows its write, so the table's physical order roughly follows
// expiry), and random-expiry, the worst case for the sweeper, whose
// expiry-ordered batches then touch pages all over the table. Run it once:
//
//	go test ./internal/retention -run '^$' -bench Sweep1M -benchtime 1x
func BenchmarkSweep1M(b *testing.B) {
	for _, layout := range []string{"time-ordered", "random-expiry"} {
		b.Run(layout, func(b *testing.B) { benchSweep(b, layout == "random-expiry") })
	}
}

func benchSweep(b *testing.B, randomExpiry bool) {
	rows := benchRows(b)
	e := testenv.Engines(b)[0] // SQLite
	var sweepTotal, bareTotal time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cfg := e.Config(b)
		now := cfg.Clock.Now()
		c, err := app.Open(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		fillExpired(b, c, rows, now, randomExpiry)
		bare := filepath.Join(cfg.DataDir, "bare.db")
		for _, q := range []string{`VACUUM INTO '` + bare + `'`, `VACUUM`} {
			if _, err := c.DB.Exec(ctx, q); err != nil {
				b.Fatalf("%s: %v", q, err)
			}
		}
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
		if c, err = app.Open(ctx, cfg); err != nil {
			b.Fatal(err)
		}
		bdb, err := store.Open(ctx, store.Config{Path: bare}, store.Main)
		if err != nil {
			b.Fatal(err)
		}
		s := retention.New(c.DB, c.Vault, c.Audit, c.Catalog, cfg.Clock, retention.Options{Holder: "bench", BatchSize: benchBatch(b)})

		b.StartTimer()
		start := time.Now()
		rep, err := s.Run(ctx)
		sweepTotal += time.Since(start)
		b.StopTimer()
		if err != nil || rep.Deleted != int64(rows) {
			b.Fatalf("sweep: deleted %d of %d: %v", rep.Deleted, rows, err)
		}
		start = time.Now()
		res, err := bdb.Exec(ctx, `DELETE FROM pi_values WHERE expires_at <= ?`, now.UnixMicro())
		bareTotal += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != int64(rows) {
			b.Fatalf("bare delete: %d rows of %d", n, rows)
		}
		bdb.Close()
		c.Close()
	}
	n := float64(b.N)
	b.ReportMetric(sweepTotal.Seconds()/n, "sweep-s")
	b.ReportMetric(bareTotal.Seconds()/n, "bare-delete-s")
	b.ReportMetric(float64(rows)*n/sweepTotal.Seconds(), "rows/s")
	b.ReportMetric(sweepTotal.Seconds()/bareTotal.Seconds(), "x-bare-delete")
}

// fillExpired inserts rows expired values directly (random bytes for
// ciphertext: the sweeper never decrypts) over rows/100 subjects, each
// written its field's retention before an expiry in the last 400 days:
// in write order, or (randomExpiry) in random order.
func fillExpired(b *testing.B, c *app.Core, rows int, now time.Time, randomExpiry bool) {
	b.Helper()
	subjects := testenv.Subjects(b, c, "bench", max(1, rows/100))
	fields := []struct {
		name string
		ret  time.Duration
	}{{"search_keyword", 180 * day}, {"browse_record", 365 * day}, {"chat_message", 365 * day}, {"login_record", 180 * day}}
	rng := rand.New(rand.NewPCG(1, 2))
	const perStmt, perTx = 100, 50_000
	q := `INSERT INTO pi_values (subject_id, field, record_id, dek_version, ciphertext, created_at, updated_at, expires_at) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, 1, ?, ?, ?, ?),", perStmt), ",")
	for start := 0; start < rows; start += perTx {
		err := c.DB.InTx(ctx, func(tx *store.Tx) error {
			args := make([]any, 0, perStmt*7)
			for i := start; i < min(start+perTx, rows); i++ {
				f := fields[i%len(fields)]
				ct := make([]byte, 40+rng.IntN(40))
				for j := range ct {
					ct[j] = byte(rng.Uint32())
				}
				var written int64
				if randomExpiry {
					written = now.Add(-time.Microsecond - time.Duration(rng.Int64N(int64(400*day))) - f.ret).UnixMicro()
				} else {
					// Written over the 400 days before the last year: every field is expired.
					written = now.Add(-765*day + time.Duration(int64(400*day)/int64(rows)*int64(i))).UnixMicro()
				}
				exp := time.UnixMicro(written).Add(f.ret)
				args = append(args, subjects[rng.IntN(len(subjects))], f.name, fmt.Sprint(i), ct, written, written, exp.UnixMicro())
				if len(args) == perStmt*7 {
					if _, err := tx.ExecHot(ctx, q, args...); err != nil {
						return err
					}
					args = args[:0]
				}
			}
			for len(args) > 0 { // the tail, one row at a time
				if _, err := tx.Exec(ctx, `INSERT INTO pi_values (subject_id, field, record_id, dek_version, ciphertext, created_at, updated_at, expires_at)
					VALUES (?, ?, ?, 1, ?, ?, ?, ?)`, args[:7]...); err != nil {
					return err
				}
				args = args[7:]
			}
			return nil
		})
		if err != nil {
			b.Fatalf("fill: %v", err)
		}
	}
}
