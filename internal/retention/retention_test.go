package retention_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gigvault/internal/app"
	"gigvault/internal/catalog"
	"gigvault/internal/lease"
	"gigvault/internal/obs"
	"gigvault/internal/retention"
	"gigvault/internal/testenv"
	"gigvault/internal/vault"
)

// planted is what plant stored: values that are expired at the sweep and
// values that are not.
type planted struct {
	subjects           []string
	expired, unexpired int
}

// plant stores, through the vault on the fake clock, values of several
// fields across n subjects, then moves the clock 200 days on:
//
//   - search_keyword 1 and 2 (180d), written at t0: expired;
//   - search_keyword 3, written at t0+100d: not expired;
//   - survey_answer (180d) written at t0, and for odd subjects re-written
//     at t0+100d: expired for even subjects only;
//   - chat_message (1y) and mobile (account): not expired.
func plant(v *env, n int) planted {
	v.t.Helper()
	p := planted{subjects: v.subjects(n)}
	for i, s := range p.subjects {
		v.put(s,
			vault.Item{Field: "search_keyword", Record: "1", Value: fmt.Sprintf("kw-%d-1", i)},
			vault.Item{Field: "search_keyword", Record: "2", Value: fmt.Sprintf("kw-%d-2", i)},
			vault.Item{Field: "survey_answer", Record: "1", Value: fmt.Sprintf("survey-%d", i)},
			vault.Item{Field: "chat_message", Record: "1", Value: fmt.Sprintf("chat-%d", i)},
			vault.Item{Field: "mobile", Value: fmt.Sprintf("138%08d", 10000000+i)},
		)
	}
	v.clk.Advance(100 * day)
	for i, s := range p.subjects {
		items := []vault.Item{{Field: "search_keyword", Record: "3", Value: fmt.Sprintf("kw-%d-3", i)}}
		if i%2 == 1 {
			items = append(items, vault.Item{Field: "survey_answer", Record: "1", Value: fmt.Sprintf("survey-%d-again", i)})
		}
		v.put(s, items...)
	}
	v.clk.Advance(100 * day)
	p.expired = 2*n + (n+1)/2
	p.unexpired = 3*n + n/2
	return p
}

// checkSwept asserts every expired value is gone and every unexpired one
// is still there and still opens.
func checkSwept(t *testing.T, v *env, p planted) {
	t.Helper()
	if n := v.count(`SELECT COUNT(*) FROM pi_values`); n != p.unexpired {
		t.Errorf("%d values left, want the %d unexpired", n, p.unexpired)
	}
	for i, s := range p.subjects {
		for _, r := range []string{"1", "2"} {
			if v.has(s, "search_keyword", r) {
				t.Fatalf("subject %d: expired search_keyword %s survived", i, r)
			}
		}
		if got := v.has(s, "survey_answer", "1"); got != (i%2 == 1) {
			t.Fatalf("subject %d: survey_answer present = %v", i, got)
		}
		for _, f := range [][2]string{{"search_keyword", "3"}, {"chat_message", "1"}, {"mobile", vault.MainRecord}} {
			if !v.has(s, f[0], f[1]) {
				t.Fatalf("subject %d: unexpired %s/%s was deleted", i, f[0], f[1])
			}
		}
	}
	for _, i := range []int{0, 1, len(p.subjects) - 1} {
		s := p.subjects[i]
		if got := v.reveal(s, "search_keyword", "3"); got != fmt.Sprintf("kw-%d-3", i) {
			t.Errorf("subject %d: search_keyword 3 = %q", i, got)
		}
		if got := v.reveal(s, "chat_message", "1"); got != fmt.Sprintf("chat-%d", i) {
			t.Errorf("subject %d: chat_message = %q", i, got)
		}
		if i%2 == 1 {
			if got := v.reveal(s, "survey_answer", "1"); got != fmt.Sprintf("survey-%d-again", i) {
				t.Errorf("subject %d: survey_answer = %q", i, got)
			}
		}
	}
}

// The test: a retention sweep killed half-way and restarted deletes
// each expired row exactly once and nothing unexpired. Killed twice: once
// between batches (AfterBatch fails, as a crash after a commit) and once
// inside a batch's transaction (a trigger aborts its run-row update, after
// its deletions and audit entries were written: all of it rolls back).
func TestSweepKilledHalfWayAndRestarted(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, nil)
			p := plant(v, 40)
			if p.expired != 100 || p.unexpired != 140 {
				t.Fatalf("planted %+v", p)
			}
			plan, err := v.sweeper(retention.Options{}).Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int64{"pi_values/search_keyword/expired": 80, "pi_values/survey_answer/expired": 20}
			if diff := cmp.Diff(want, groupCounts(plan)); diff != "" {
				t.Fatalf("plan (-want +got):\n%s", diff)
			}

			// 1. Killed after 5 committed batches of 7.
			crash := errors.New("simulated crash")
			batches := 0
			s1 := v.sweeper(retention.Options{BatchSize: 7, AfterBatch: func(done int) error {
				if batches++; batches == 5 {
					return crash
				}
				return nil
			}})
			rep, err := s1.Run(ctx)
			if !errors.Is(err, crash) || rep.Deleted != 35 {
				t.Fatalf("first run: %+v, %v; want 35 deleted and the crash", rep, err)
			}
			if total, _ := v.audited(); total != 35 {
				t.Fatalf("audited %d rows after the first run, want 35", total)
			}
			if left := v.count(`SELECT COUNT(*) FROM pi_values`); left != 240-35 {
				t.Fatalf("%d values left after 35 deletions", left)
			}

			// 2. Killed inside its third batch: the batch rolls back whole.
			if e.Postgres() {
				v.exec(`CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
					IF NEW.status = 'running' AND NEW.deleted > 20 THEN RAISE EXCEPTION 'simulated crash'; END IF; RETURN NEW; END $$`)
				v.exec(`CREATE TRIGGER boom BEFORE UPDATE ON retention_runs FOR EACH ROW EXECUTE FUNCTION boom()`)
			} else {
				v.exec(`CREATE TRIGGER boom BEFORE UPDATE ON retention_runs WHEN NEW.status = 'running' AND NEW.deleted > 20
					BEGIN SELECT RAISE(ABORT, 'simulated crash'); END`)
			}
			rep, err = v.sweeper(retention.Options{BatchSize: 7}).Run(ctx)
			if err == nil || !strings.Contains(err.Error(), "simulated crash") || rep.Deleted != 14 {
				t.Fatalf("second run: %+v, %v; want 14 deleted and the crash", rep, err)
			}
			if total, _ := v.audited(); total != 49 {
				t.Fatalf("audited %d rows after the second run, want 49", total)
			}
			if left := v.count(`SELECT COUNT(*) FROM pi_values`); left != 240-49 {
				t.Fatalf("%d values left after 49 deletions: the aborted batch was not rolled back", left)
			}
			v.exec(`DROP TRIGGER boom` + map[bool]string{true: ` ON retention_runs`}[e.Postgres()])

			// 3. Restarted: only what remains goes.
			rep = mustRun(t, v.sweeper(retention.Options{BatchSize: 7}))
			if rep.Deleted != 51 {
				t.Fatalf("third run deleted %d, want the remaining 51", rep.Deleted)
			}
			checkSwept(t, v, p)
			total, byRun := v.audited()
			if total != p.expired {
				t.Fatalf("audit entries record %d rows deleted, want exactly %d", total, p.expired)
			}
			// 4. Once more: nothing left to do.
			if rep := mustRun(t, v.sweeper(retention.Options{})); rep.Deleted != 0 || len(rep.Groups) != 0 {
				t.Fatalf("a fourth run deleted %+v", rep)
			}

			runs := v.runs()
			if len(runs) != 4 {
				t.Fatalf("%d runs recorded, want 4", len(runs))
			}
			for i, want := range []struct {
				status  string
				deleted int
			}{{"failed", 35}, {"failed", 14}, {"finished", 51}, {"finished", 0}} {
				r := runs[i]
				if r.status != want.status || r.deleted != want.deleted || r.deleted != byRun[r.id] || !r.finished {
					t.Errorf("run %d: %+v (audited %d), want %s with %d", i, r, byRun[r.id], want.status, want.deleted)
				}
			}
			if !strings.Contains(runs[2].detail, `"field":"search_keyword","reason":"expired"`) {
				t.Errorf("run detail %s", runs[2].detail)
			}
			for _, en := range v.entries() {
				d := en.Detail
				if en.Actor != retention.Actor || en.Channel != "system" || en.Purpose != "retention" || en.Subject != "" || len(en.Fields) != 1 ||
					d["rule"] != "pi_values" || d["reason"] != "expired" || d["tool"] != retention.DefaultTool ||
					d["method"] != methodPrefix(e)+" after catalog retention 180d" || d["subjects"] == "" || d["run"] == "" {
					t.Fatalf("audit entry %+v", en)
				}
			}
			v.verifyAudit()
		})
	}
}

func methodPrefix(e testenv.Engine) string {
	if e.Postgres() {
		return "rows deleted (space reclaimed by VACUUM)"
	}
	return "rows deleted (secure_delete)"
}

// A run left "running" by a crash is marked failed by the next run, which
// then finishes the job.
func TestInterruptedRunIsClosed(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, nil)
			p := plant(v, 4)
			v.exec(`INSERT INTO retention_runs (id, holder, started_at, status, deleted, detail) VALUES ('crashed', 'node-z', 1, 'running', 3, '{}')`)
			mustRun(t, v.sweeper(retention.Options{}))
			checkSwept(t, v, p)
			runs := v.runs()
			if len(runs) != 2 || runs[0].id != "crashed" || runs[0].status != "failed" || runs[0].finished || runs[1].status != "finished" {
				t.Fatalf("runs %+v", runs)
			}
		})
	}
}

// A held subject's expired values survive a sweep; after release they go.
func TestLegalHold(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, nil)
			p := plant(v, 6)
			held := p.subjects[2]
			h := v.hold(held)
			// A released hold of another subject protects nothing.
			v.release(v.hold(p.subjects[3]))

			plan, err := v.sweeper(retention.Options{}).Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := groupCounts(plan)["pi_values/search_keyword/expired"]; got != 10 {
				t.Fatalf("plan counts %d expired keywords, want 10 (held subject left out)", got)
			}
			rep := mustRun(t, v.sweeper(retention.Options{BatchSize: 4}))
			if rep.Deleted != int64(p.expired-3) {
				t.Fatalf("deleted %d, want %d", rep.Deleted, p.expired-3)
			}
			for _, r := range []string{"1", "2"} {
				if !v.has(held, "search_keyword", r) {
					t.Fatalf("held subject lost search_keyword %s", r)
				}
			}
			if !v.has(held, "survey_answer", "1") {
				t.Fatal("held subject lost survey_answer")
			}
			if got := v.reveal(held, "search_keyword", "1"); got != "kw-2-1" {
				t.Fatalf("held value = %q", got)
			}

			v.release(h)
			rep = mustRun(t, v.sweeper(retention.Options{}))
			if rep.Deleted != 3 {
				t.Fatalf("after release deleted %d, want the held subject's 3", rep.Deleted)
			}
			checkSwept(t, v, p)
			if total, _ := v.audited(); total != p.expired {
				t.Fatalf("audited %d, want %d", total, p.expired)
			}
			v.verifyAudit()
		})
	}
}

// Erased subjects are the erasure's: the sweeper leaves their rows (an
// erasure interrupted after marking the subject), and ResumeErasures
// deletes and audits them itself.
func TestErasedSubjectsAreLeftToErasure(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, nil)
			p := plant(v, 3)
			erased := p.subjects[1]
			v.exec(`UPDATE subjects SET erased_at = ? WHERE id = ?`, v.clk.Now().UnixMicro(), erased)
			rep := mustRun(t, v.sweeper(retention.Options{}))
			// Subject 1 (odd) has two expired values: search keywords 1 and 2.
			if want := int64(p.expired - 2); rep.Deleted != want {
				t.Fatalf("deleted %d, want %d", rep.Deleted, want)
			}
			if !v.has(erased, "search_keyword", "1") {
				t.Fatal("the sweeper deleted an erased subject's row")
			}
		})
	}
}

// A second sweeper while the first holds the lease does nothing.
func TestLeaseKeepsOneSweeper(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, nil)
			plant(v, 3)
			ok, err := lease.Acquire(ctx, v.c.DB, v.c.Clock, retention.LeaseName, "node-a", retention.DefaultLeaseTTL)
			if err != nil || !ok {
				t.Fatalf("node-a lease: %v %v", ok, err)
			}
			rep, err := v.sweeper(retention.Options{Holder: "node-b"}).Run(ctx)
			if err != nil || !rep.Skipped || rep.Holder != "node-a" || rep.Deleted != 0 ||
				!rep.Until.Equal(v.clk.Now().Add(retention.DefaultLeaseTTL)) {
				t.Fatalf("run beside node-a: %+v, %v", rep, err)
			}
			if n := v.count(`SELECT COUNT(*) FROM retention_runs`); n != 0 {
				t.Fatalf("a skipped run recorded %d runs", n)
			}
			if len(v.entries()) != 0 {
				t.Fatal("a skipped run audited deletions")
			}
			before := v.count(`SELECT COUNT(*) FROM pi_values`)

			// Once node-a's lease lapses, node-b sweeps, and releases it.
			v.clk.Advance(retention.DefaultLeaseTTL)
			rep = mustRun(t, v.sweeper(retention.Options{Holder: "node-b"}))
			if rep.Deleted == 0 || v.count(`SELECT COUNT(*) FROM pi_values`) != before-int(rep.Deleted) {
				t.Fatalf("node-b: %+v", rep)
			}
			if _, held, _ := lease.Current(ctx, v.c.DB, retention.LeaseName); held {
				t.Fatal("the lease was not released after the run")
			}
		})
	}
}

// A run that finds its lease taken over stops after its batch.
func TestLostLeaseStopsTheRun(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, nil)
			plant(v, 10)
			s := v.sweeper(retention.Options{BatchSize: 5, LeaseTTL: time.Minute, AfterBatch: func(int) error {
				// This node stalls past its TTL and node-b takes the lease.
				v.clk.Advance(2 * time.Minute)
				_, err := lease.Acquire(ctx, v.c.DB, v.c.Clock, retention.LeaseName, "node-b", time.Hour)
				return err
			}})
			rep, err := s.Run(ctx)
			if !errors.Is(err, retention.ErrLeaseLost) || rep.Deleted != 5 {
				t.Fatalf("run: %+v, %v; want ErrLeaseLost after one batch", rep, err)
			}
			if l, held, _ := lease.Current(ctx, v.c.DB, retention.LeaseName); !held || l.Holder != "node-b" {
				t.Fatalf("node-b's lease was released by node-a: %+v", l)
			}
		})
	}
}

// Two sweepers that overlap (the same holder on two processes, so the
// lease lets both in) still delete and count every row once.
func TestOverlappingSweepersCountEachRowOnce(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, nil)
			p := plant(v, 40)
			var wg sync.WaitGroup
			reps := make([]retention.Report, 2)
			errs := make([]error, 2)
			for i := range reps {
				wg.Add(1)
				go func() {
					defer wg.Done()
					reps[i], errs[i] = v.sweeper(retention.Options{BatchSize: 9}).Run(ctx)
				}()
			}
			wg.Wait()
			for i := range errs {
				if errs[i] != nil {
					t.Fatalf("sweeper %d: %v", i, errs[i])
				}
			}
			if got := reps[0].Deleted + reps[1].Deleted; got != int64(p.expired) {
				t.Fatalf("the sweepers deleted %d + %d, want %d in all", reps[0].Deleted, reps[1].Deleted, p.expired)
			}
			if total, _ := v.audited(); total != p.expired {
				t.Fatalf("audited %d, want %d", total, p.expired)
			}
			checkSwept(t, v, p)
			v.verifyAudit()
		})
	}
}

// RET-2: a catalog that claims 2 years (or the account's life) for
// browsing records still loses them at one year from collection.
func TestBrowseRecordsCappedAtOneYear(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		for _, claim := range []string{"2y", "account"} {
			t.Run(e.Name+"/"+claim, func(t *testing.T) {
				file := catalogWith(t, map[string]string{"browse_record": claim, "login_record": claim})
				v := newEnv(t, e, func(c *app.Config) { c.CatalogFile = file })
				s := v.subjects(1)[0]
				v.put(s, vault.Item{Field: "browse_record", Record: "a", Value: `{"job":"a"}`},
					vault.Item{Field: "login_record", Record: "a", Value: `{"at":"a"}`})
				v.clk.Advance(time.Microsecond)
				v.put(s, vault.Item{Field: "browse_record", Record: "b", Value: `{"job":"b"}`})
				// Re-written later: the cap still counts from collection.
				v.clk.Advance(200 * day)
				v.put(s, vault.Item{Field: "browse_record", Record: "a", Value: `{"job":"a","again":true}`})

				v.clk.Set(v.t0.AddDate(1, 0, 0).Add(-time.Microsecond))
				if rep := mustRun(t, v.sweeper(retention.Options{})); rep.Deleted != 0 {
					t.Fatalf("a microsecond before a year, deleted %+v", rep)
				}
				v.clk.Set(v.t0.AddDate(1, 0, 0))
				plan, err := v.sweeper(retention.Options{}).Plan(ctx)
				if err != nil {
					t.Fatal(err)
				}
				rep := mustRun(t, v.sweeper(retention.Options{}))
				want := map[string]int64{"pi_values/browse_record/online_records_cap": 1, "pi_values/login_record/online_records_cap": 1}
				if diff := cmp.Diff(want, groupCounts(rep.Groups)); diff != "" {
					t.Fatalf("at a year (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(want, groupCounts(plan)); diff != "" {
					t.Fatalf("plan at a year (-want +got):\n%s", diff)
				}
				if !plan[0].Oldest.Equal(v.t0.AddDate(1, 0, 0)) {
					t.Errorf("plan oldest %s, want %s", plan[0].Oldest, v.t0.AddDate(1, 0, 0))
				}
				if v.has(s, "browse_record", "a") || !v.has(s, "browse_record", "b") {
					t.Fatal("the cap kept the year-old record or took the younger one")
				}
				v.clk.Advance(time.Microsecond)
				if rep := mustRun(t, v.sweeper(retention.Options{})); rep.Deleted != 1 || v.has(s, "browse_record", "b") {
					t.Fatalf("the second record outlived its year: %+v", rep)
				}
				for _, en := range v.entries() {
					if en.Detail["reason"] != retention.ReasonOnlineRecordsCap ||
						en.Detail["method"] != methodPrefix(e)+" after the 1y cap on online records (RET-2), counted from collection" {
						t.Fatalf("entry %+v", en.Detail)
					}
				}
				v.verifyAudit()
			})
		}
	}
}

// Shortening a field's retention in the catalog applies to what is
// already stored (catalog_retention); lengthening it does not lengthen it.
func TestCatalogRetentionAppliesToStoredValues(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			file := catalogWith(t, map[string]string{"chat_message": "2y", "survey_answer": "account", "feedback": "30d"})
			v := newEnv(t, e, func(c *app.Config) { c.CatalogFile = file })
			s := v.subjects(1)[0]
			v.put(s, vault.Item{Field: "chat_message", Record: "old", Value: "chat"},
				vault.Item{Field: "survey_answer", Record: "1", Value: "survey"},
				vault.Item{Field: "feedback", Record: "1", Value: "feedback"})
			v.clk.Advance(time.Microsecond)
			v.put(s, vault.Item{Field: "chat_message", Record: "new", Value: "chat"},
				vault.Item{Field: "survey_answer", Record: "2", Value: "survey"})

			// The embedded catalog: chat_message 1y, survey_answer 180d, feedback 1y.
			cat := catalog.Default()
			sweep := func() retention.Report {
				return mustRun(t, retention.New(v.c.DB, v.c.Vault, v.c.Audit, cat, v.c.Clock, retention.Options{Holder: "n"}))
			}
			v.clk.Set(v.t0.AddDate(0, 0, 30))
			if rep := sweep(); groupCounts(rep.Groups)["pi_values/feedback/expired"] != 1 || rep.Deleted != 1 {
				t.Fatalf("feedback stored under 30d should expire at 30d whatever the catalog says now: %+v", rep)
			}
			v.clk.Set(v.t0.AddDate(0, 0, 180))
			if rep := sweep(); groupCounts(rep.Groups)["pi_values/survey_answer/catalog_retention"] != 1 || rep.Deleted != 1 {
				t.Fatalf("at 180d: %+v", rep)
			}
			if !v.has(s, "survey_answer", "2") {
				t.Fatal("survey_answer 2 went a microsecond early")
			}
			v.clk.Set(v.t0.AddDate(1, 0, 0))
			if rep := sweep(); groupCounts(rep.Groups)["pi_values/chat_message/catalog_retention"] != 1 || rep.Deleted != 2 {
				t.Fatalf("at 1y: %+v", rep)
			}
			if v.has(s, "chat_message", "old") || !v.has(s, "chat_message", "new") {
				t.Fatal("catalog_retention boundary")
			}
			v.verifyAudit()
		})
	}
}

// Plan says exactly what Run then deletes, per group, and changes nothing.
func TestPlanMatchesRun(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			file := catalogWith(t, map[string]string{"browse_record": "2y"})
			v := newEnv(t, e, func(c *app.Config) { c.CatalogFile = file })
			p := plant(v, 12)
			for _, s := range p.subjects[:5] {
				v.put(s, vault.Item{Field: "browse_record", Record: "x", Value: `{"job":"x"}`})
			}
			v.clk.Advance(400 * day)
			tables := plantTables(v, v.clk.Now())
			v.hold(p.subjects[7])

			s := v.sweeper(retention.Options{BatchSize: 6})
			auditBefore := len(v.entries())
			plan, err := s.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(v.entries()) != auditBefore || v.count(`SELECT COUNT(*) FROM retention_runs`) != 0 {
				t.Fatal("Plan wrote something")
			}
			rep := mustRun(t, s)
			if diff := cmp.Diff(groupCounts(plan), groupCounts(rep.Groups)); diff != "" {
				t.Fatalf("plan vs run (-plan +run):\n%s", diff)
			}
			for _, g := range plan {
				if g.Oldest.IsZero() || g.Oldest.After(v.clk.Now()) || g.Retention == "" {
					t.Errorf("plan group %+v", g)
				}
			}
			for rule, want := range tables.due {
				if got := groupCounts(plan)[rule]; got != want {
					t.Errorf("%s: plan %d, want %d", rule, got, want)
				}
			}
			if got := groupCounts(rep.Groups)["pi_values/browse_record/online_records_cap"]; got != 5 {
				t.Errorf("browse records capped: %d, want 5", got)
			}
			if plan, _ := s.Plan(ctx); len(plan) != 0 {
				t.Fatalf("after the run the plan is %+v", plan)
			}
			del := s.Deleted()
			var sum uint64
			for _, n := range del {
				sum += n
			}
			if sum != uint64(rep.Deleted) || del["pi_values"] == 0 || del["sessions"] != uint64(tables.due["sessions//ended"]) {
				t.Errorf("counters %v, report %d", del, rep.Deleted)
			}
			if s.LastSuccess().IsZero() {
				t.Error("no last success recorded")
			}
			v.verifyAudit()
		})
	}
}

// No PI in logs or audit details: a canary value goes through a sweep, and
// neither the log nor the audit chain nor the run rows contain it, or any
// subject ID.
func TestNoPIInLogsOrAudit(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			const canary = "CANARY-金丝雀-7f3a9c"
			var logs bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			v := newEnv(t, e, nil)
			subjects := v.subjects(5)
			for i, s := range subjects {
				v.put(s, vault.Item{Field: "search_keyword", Record: "1", Value: canary},
					vault.Item{Field: "chat_message", Record: "1", Value: fmt.Sprintf("%s-%d", canary, i)},
					vault.Item{Field: "browse_record", Record: "1", Value: `{"q":"` + canary + `"}`})
			}
			v.clk.Advance(400 * day)
			plantTables(v, v.clk.Now())

			s := v.sweeper(retention.Options{BatchSize: 3, Logger: logger})
			loopCtx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { s.Loop(loopCtx, time.Hour); close(done) }()
			for deadline := time.Now().Add(30 * time.Second); s.LastSuccess().IsZero(); time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the loop did not finish a run; log:\n%s", logs.String())
				}
			}
			cancel()
			<-done
			if v.count(`SELECT COUNT(*) FROM pi_values`) != 0 {
				t.Fatal("the sweep left values")
			}
			if !strings.Contains(logs.String(), "retention sweep finished") {
				t.Fatalf("log:\n%s", logs.String())
			}
			dump := testenv.DumpRows(t, func(q string, args ...any) (*sql.Rows, error) { return v.c.DB.Query(ctx, q, args...) },
				[]string{"audit_entries", "retention_runs"})
			for name, hay := range map[string][]byte{"log": logs.Bytes(), "audit and run rows": dump} {
				if bytes.Contains(hay, []byte(canary)) || bytes.Contains(hay, []byte("金丝雀")) {
					t.Errorf("the canary value is in the %s", name)
				}
			}
			for _, en := range v.entries() {
				for k, val := range en.Detail {
					for _, subj := range append(subjects, canary) {
						if strings.Contains(val, subj) {
							t.Errorf("audit detail %s names a subject or value: %s", k, val)
						}
					}
				}
			}
			for _, subj := range subjects {
				if strings.Contains(logs.String(), subj) {
					t.Errorf("the log names subject %s", subj)
				}
			}
		})
	}
}

// RegisterMetrics exposes the deleted rows per rule and the last success.
func TestMetrics(t *testing.T) {
	v := newEnv(t, testenv.Engines(t)[0], nil)
	p := plant(v, 4)
	s := v.sweeper(retention.Options{})
	m := obs.NewMetrics()
	s.RegisterMetrics(m)
	rep := mustRun(t, s)
	if rep.Deleted != int64(p.expired) {
		t.Fatalf("deleted %d", rep.Deleted)
	}
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "gigvault_retention_") {
			continue
		}
		for _, mt := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range mt.GetLabel() {
				key += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			got[key] = mt.GetCounter().GetValue() + mt.GetGauge().GetValue()
		}
	}
	if got["gigvault_retention_deleted_total{rule=pi_values}"] != float64(p.expired) || got["gigvault_retention_deleted_total{rule=sessions}"] != 0 ||
		len(got) != len(retention.Rules())+1 {
		t.Fatalf("metrics %v", got)
	}
	if want := float64(v.clk.Now().UnixMicro()) / 1e6; got["gigvault_retention_last_success_timestamp_seconds"] != want {
		t.Fatalf("last success %v, want %v", got["gigvault_retention_last_success_timestamp_seconds"], want)
	}
}
