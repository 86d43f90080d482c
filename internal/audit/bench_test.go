package audit_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"gigvault/internal/audit"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
)

// benchEntries makes n entries about the given subjects (cycled).
func benchEntries(n int, subjects []string) []audit.Entry {
	es := make([]audit.Entry, n)
	for i := range es {
		es[i] = audit.Entry{Actor: "staff:0193f0a2-7c3e-7000-8000-0000000000aa", Action: "pi.read",
			Subject: subjects[i%len(subjects)], Fields: []string{"mobile"},
			Purpose: "job_matching", Channel: "api", Detail: map[string]string{"record": "main"}}
	}
	return es
}

// freshSubjects returns n new subject IDs (UUIDv7, time-ordered), as a
// bulk job over newly registered workers would see them.
func freshSubjects(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = uuid.Must(uuid.NewV7()).String()
	}
	return out
}

// Audit append in batches of 1,000 entries per transaction (target ≥ 100,000
// entries/s on SQLite), against bare multi-row INSERTs of the same rows
// without hashing or chaining, in the same run. Two workloads: entries about
// fresh subjects (time-ordered IDs: registrations, seeding, bulk jobs over
// new data) and about subjects drawn at random from 100,000 existing ones
// (reads across the whole population), which scatters the subject index.
func BenchmarkAuditAppendBatched(b *testing.B) {
	pool := freshSubjects(100_000)
	b.Run("fresh-subjects", func(b *testing.B) { benchAppend(b, func(t int) []string { return freshSubjects(1000) }) })
	b.Run("random-subjects", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		benchAppend(b, func(int) []string {
			out := make([]string, 1000)
			for i := range out {
				out[i] = pool[rng.IntN(len(pool))]
			}
			return out
		})
	})
}

func benchAppend(b *testing.B, subjectsFor func(tx int) []string) {
	const batch = 1000
	c := testenv.Open(b, testenv.Engines(b)[0].Config(b))
	// The baseline table has the same columns and indexes, without chaining.
	for _, q := range []string{
		`CREATE TABLE bench_raw (seq INTEGER PRIMARY KEY, at BIGINT, actor TEXT, action TEXT, subject_id TEXT, body BLOB, hash BLOB)`,
		`CREATE INDEX bench_raw_actor ON bench_raw (actor)`, `CREATE INDEX bench_raw_subject ON bench_raw (subject_id)`, `CREATE INDEX bench_raw_at ON bench_raw (at)`,
	} {
		if _, err := c.DB.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	txs := max(1, b.N/batch)
	batches := make([][]audit.Entry, txs)
	for t := range batches {
		batches[t] = benchEntries(batch, subjectsFor(t))
	}
	b.ResetTimer()
	start := time.Now()
	seq := 0
	for t := 0; t < txs; t++ {
		es := batches[t]
		err := c.DB.InTx(ctx, func(tx *store.Tx) error {
			for i := 0; i < batch; i += 64 {
				n := min(64, batch-i)
				q := `INSERT INTO bench_raw (seq, at, actor, action, subject_id, body, hash) VALUES `
				args := make([]any, 0, n*12)
				for j := 0; j < n; j++ {
					if j > 0 {
						q += ","
					}
					q += "(?,?,?,?,?,?,?)"
					seq++
					e := es[i+j]
					args = append(args, seq, 1, e.Actor, e.Action, e.Subject, audit.Body("mobile", e.Purpose, "ok", e.Channel, `{"record":"main"}`), []byte("0123456789abcdef0123456789abcdef"))
				}
				if _, err := tx.ExecHot(ctx, q, args...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	rawSec := time.Since(start).Seconds()
	start = time.Now()
	for t := 0; t < txs; t++ {
		es := batches[t]
		if err := c.DB.InTx(ctx, func(tx *store.Tx) error { return c.Audit.Append(ctx, tx, es...) }); err != nil {
			b.Fatal(err)
		}
	}
	sec := time.Since(start).Seconds()
	b.StopTimer()
	n := float64(txs * batch)
	b.ReportMetric(n/sec, "entries/s")
	b.ReportMetric(n/rawSec, "raw-rows/s")
	b.ReportMetric(sec/rawSec, "x-raw")
}

// audit verify over a chain of b.N entries (target ≥ 1,000,000 entries/s),
// against a bare scan of the same rows without hashing, in the same run.
func BenchmarkAuditVerify(b *testing.B) {
	for _, e := range testenv.Engines(b) {
		b.Run(e.Name, func(b *testing.B) { benchVerify(b, e) })
	}
}

func benchVerify(b *testing.B, e testenv.Engine) {
	c := testenv.Open(b, e.Config(b))
	const batch = 5000
	for done := 0; done < b.N; done += batch {
		es := benchEntries(min(batch, b.N-done), freshSubjects(batch))
		if err := c.DB.InTx(ctx, func(tx *store.Tx) error { return c.Audit.Append(ctx, tx, es...) }); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	rows, err := c.DB.Query(ctx, `SELECT seq, at, actor, action, subject_id, body, hash FROM audit_entries ORDER BY seq`)
	if err != nil {
		b.Fatal(err)
	}
	var seq, at int64
	var actor, action, subj string
	var body, hash []byte
	scanned := 0
	for rows.Next() {
		if err := rows.Scan(&seq, &at, &actor, &action, &subj, &body, &hash); err != nil {
			b.Fatal(err)
		}
		scanned++
	}
	rows.Close()
	scanSec := time.Since(start).Seconds()
	start = time.Now()
	rep, err := c.Audit.Verify(ctx, c.DB, nil)
	sec := time.Since(start).Seconds()
	b.StopTimer()
	if err != nil || !rep.OK() || rep.Entries != int64(b.N) || scanned != b.N {
		b.Fatalf("verify = %+v, %v (scanned %d)", rep, err, scanned)
	}
	b.ReportMetric(float64(b.N)/sec, "entries/s")
	b.ReportMetric(float64(b.N)/scanSec, "bare-scan-rows/s")
	b.ReportMetric(sec/scanSec, "x-bare-scan")
}
