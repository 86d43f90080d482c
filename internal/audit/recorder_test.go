package audit_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gigvault/internal/audit"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
)

// Concurrent callers share transactions, every entry lands exactly once in
// chain order, and the chain verifies.
func TestRecorderGroupCommit(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := open(t, e)
			r := audit.NewRecorder(c.Audit, c.DB, 16)
			const callers, each = 24, 20
			var wg sync.WaitGroup
			errc := make(chan error, callers*each)
			for g := 0; g < callers; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						errc <- r.Record(ctx, audit.Entry{Actor: fmt.Sprintf("test:%d", g), Action: "pi.read", Channel: "test",
							Detail: map[string]string{"i": fmt.Sprint(i)}})
					}
				}()
			}
			wg.Wait()
			close(errc)
			for err := range errc {
				if err != nil {
					t.Fatal(err)
				}
			}
			es, err := audit.Search(ctx, c.DB, audit.Filter{Action: "pi.read", Limit: 10000})
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != callers*each {
				t.Fatalf("%d entries, want %d", len(es), callers*each)
			}
			seen := map[string]bool{}
			for _, en := range es {
				k := en.Actor + "/" + en.Detail["i"]
				if seen[k] {
					t.Fatalf("entry %s recorded twice", k)
				}
				seen[k] = true
			}
			rep, err := c.Audit.Verify(ctx, c.DB, nil)
			if err != nil || !rep.OK() {
				t.Fatalf("verify: %v %+v", err, rep)
			}
		})
	}
}

// One caller's bad entry fails that caller alone, not the batch it shared.
func TestRecorderIsolatesBadEntries(t *testing.T) {
	c := open(t, testenv.Engines(t)[0])
	r := audit.NewRecorder(c.Audit, c.DB, 0)
	huge := map[string]string{"x": strings.Repeat("a", 1<<20)}
	var wg sync.WaitGroup
	results := make([]error, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := audit.Entry{Actor: "test:ok", Action: "pi.read", Channel: "test"}
			if i == 7 {
				e.Detail = huge
			}
			results[i] = r.Record(ctx, e)
		}()
	}
	wg.Wait()
	for i, err := range results {
		if (i == 7) != (err != nil) {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	es, _ := audit.Search(ctx, c.DB, audit.Filter{Actor: "test:ok", Limit: 100})
	if len(es) != 19 {
		t.Fatalf("%d good entries recorded, want 19", len(es))
	}
}

// BenchmarkRecorder: concurrent audited reads through the group-committing
// Recorder against one transaction per entry, in the same run.
func BenchmarkRecorder(b *testing.B) {
	c := testenv.Open(b, testenv.Engines(b)[0].Config(b))
	r := audit.NewRecorder(c.Audit, c.DB, 0)
	entry := audit.Entry{Actor: "bench:r", Action: "pi.read", Subject: "s", Fields: []string{"mobile"}, Channel: "test"}
	run := func(rec func() error) float64 {
		const workers = 32
		per := max(1, b.N/workers)
		start := time.Now()
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < per; i++ {
					if err := rec(); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return float64(per*workers) / time.Since(start).Seconds()
	}
	b.ResetTimer()
	single := run(func() error {
		return c.DB.InTx(ctx, func(tx *store.Tx) error { return c.Audit.Append(ctx, tx, entry) })
	})
	grouped := run(func() error { return r.Record(ctx, entry) })
	b.StopTimer()
	b.ReportMetric(grouped, "entries/s")
	b.ReportMetric(single, "tx-per-entry/s")
	b.ReportMetric(grouped/single, "x-tx-per-entry")
}
