package audit_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"gigvault/internal/app"
	"gigvault/internal/audit"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
)

var ctx = context.Background()

// seed writes n entries in batches, with a checkpoint every 50.
func seed(t *testing.T, c *app.Core, n int) {
	t.Helper()
	for done := 0; done < n; {
		batch := min(37, n-done)
		es := make([]audit.Entry, batch)
		for i := range es {
			es[i] = audit.Entry{Actor: fmt.Sprintf("test:%d", (done+i)%7), Action: "pi.read", Subject: fmt.Sprintf("s%d", done+i),
				Fields: []string{"mobile"}, Purpose: "job_matching", Channel: "test", Detail: map[string]string{"i": fmt.Sprint(done + i)}}
		}
		if err := c.DB.InTx(ctx, func(tx *store.Tx) error { return c.Audit.Append(ctx, tx, es...) }); err != nil {
			t.Fatal(err)
		}
		done += batch
	}
}

func open(t *testing.T, e testenv.Engine) *app.Core {
	cfg := e.Config(t)
	cfg.CheckpointEvery = 50
	return testenv.Open(t, cfg)
}

// unlock drops the append-only triggers, as an attacker with database
// access could; the chain must still expose what they then do.
func unlock(t *testing.T, c *app.Core) {
	t.Helper()
	var stmts []string
	if c.DB.Engine() == store.Postgres {
		stmts = []string{`ALTER TABLE audit_entries DISABLE TRIGGER USER`, `ALTER TABLE audit_checkpoints DISABLE TRIGGER USER`}
	} else {
		for _, tr := range []string{"audit_entries_no_update", "audit_entries_no_delete", "audit_checkpoints_no_update", "audit_checkpoints_no_delete"} {
			stmts = append(stmts, `DROP TRIGGER `+tr)
		}
	}
	for _, s := range stmts {
		if _, err := c.DB.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
}

func exec(t *testing.T, c *app.Core, q string, args ...any) {
	t.Helper()
	if _, err := c.DB.Exec(ctx, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func verify(t *testing.T, c *app.Core) audit.Report {
	t.Helper()
	rep, err := c.Audit.Verify(ctx, c.DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestCleanChainVerifies(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := open(t, e)
			seed(t, c, 500)
			rep := verify(t, c)
			if !rep.OK() || rep.Entries != 500 || rep.Checkpoints < 9 {
				t.Fatalf("report = %+v %v", rep, rep.Problem)
			}
		})
	}
}

func TestTriggersRefuseUpdateAndDelete(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := open(t, e)
			seed(t, c, 60)
			for _, q := range []string{
				`UPDATE audit_entries SET actor = 'x' WHERE seq = 3`,
				`DELETE FROM audit_entries WHERE seq = 3`,
				`UPDATE audit_checkpoints SET at = 0`,
				`DELETE FROM audit_checkpoints`,
			} {
				if _, err := c.DB.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
					t.Errorf("%s: err = %v, want append-only refusal", q, err)
				}
			}
			if !verify(t, c).OK() {
				t.Fatal("chain broken by refused statements")
			}
		})
	}
}

// Tampering at a random position is detected and named, on both engines.
func TestTamperingIsDetected(t *testing.T) {
	const n = 300
	seedRand := rand.Uint64()
	t.Logf("position seed %d", seedRand)
	rng := rand.New(rand.NewPCG(seedRand, 1))
	type tamper struct {
		name    string
		do      func(t *testing.T, c *app.Core, k int64)
		kind    string
		wantSeq func(k int64) int64
	}
	same := func(k int64) int64 { return k }
	cases := []tamper{
		{"modify", func(t *testing.T, c *app.Core, k int64) {
			exec(t, c, `UPDATE audit_entries SET body = ? WHERE seq = ?`, audit.Body("mobile", "marketing", "ok", "test", "{}"), k)
		}, "modified", same},
		{"modify a search column", func(t *testing.T, c *app.Core, k int64) {
			exec(t, c, `UPDATE audit_entries SET actor = 'staff:innocent' WHERE seq = ?`, k)
		}, "modified", same},
		{"modify hash", func(t *testing.T, c *app.Core, k int64) {
			exec(t, c, `UPDATE audit_entries SET hash = ? WHERE seq = ?`, make([]byte, 32), k)
		}, "modified", same},
		{"delete", func(t *testing.T, c *app.Core, k int64) {
			exec(t, c, `DELETE FROM audit_entries WHERE seq = ?`, k)
		}, "deleted", same},
		{"reorder", func(t *testing.T, c *app.Core, k int64) {
			exec(t, c, `UPDATE audit_entries SET seq = -1 WHERE seq = ?`, k)
			exec(t, c, `UPDATE audit_entries SET seq = ? WHERE seq = ?`, k, k+1)
			exec(t, c, `UPDATE audit_entries SET seq = ? WHERE seq = -1`, k+1)
		}, "reordered", same},
		{"insert with a forged hash", func(t *testing.T, c *app.Core, k int64) {
			var prev []byte
			if err := c.DB.QueryRow(ctx, `SELECT hash FROM audit_entries WHERE seq = ?`, k-1).Scan(&prev); err != nil {
				t.Fatal(err)
			}
			exec(t, c, `UPDATE audit_entries SET seq = seq + 1000000 WHERE seq >= ?`, k)
			exec(t, c, `UPDATE audit_entries SET seq = seq - 999999 WHERE seq >= 1000000`)
			body := audit.Body("mobile", "fraud", "ok", "api", "{}")
			h := audit.ChainHash(c.Audit, prev, k, 1, "staff:evil", "pi.read", "s1", body)
			exec(t, c, `INSERT INTO audit_entries (seq, at, actor, action, subject_id, body, hash)
				VALUES (?, 1, 'staff:evil', 'pi.read', 's1', ?, ?)`, k, body, h)
		}, "inserted", same},
		{"insert a copied entry", func(t *testing.T, c *app.Core, k int64) {
			exec(t, c, `UPDATE audit_entries SET seq = seq + 1000000 WHERE seq >= ?`, k)
			exec(t, c, `UPDATE audit_entries SET seq = seq - 999999 WHERE seq >= 1000000`)
			exec(t, c, `INSERT INTO audit_entries (seq, at, actor, action, subject_id, body, hash)
				SELECT ?, at, actor, action, subject_id, body, hash FROM audit_entries WHERE seq = 2`, k)
		}, "inserted", same},
	}
	for _, e := range testenv.Engines(t) {
		for _, tc := range cases {
			// A random position, and one that a signed checkpoint covers.
			random := int64(3 + rng.IntN(n-6))
			if random == 150 {
				random = 151
			}
			for _, k := range []int64{random, 150} {
				t.Run(fmt.Sprintf("%s/%s/%d", e.Name, tc.name, k), func(t *testing.T) {
					c := open(t, e)
					seed(t, c, n)
					unlock(t, c)
					tc.do(t, c, k)
					rep := verify(t, c)
					if rep.OK() {
						t.Fatalf("tampering at %d not detected", k)
					}
					if rep.Problem.Kind != tc.kind || rep.Problem.Seq != tc.wantSeq(k) {
						t.Fatalf("tampering at %d: problem = %v, want %s at %d", k, rep.Problem, tc.kind, tc.wantSeq(k))
					}
				})
			}
		}
	}
}

// A forger who rewrites every hash after a change, and the head, is caught by
// the signed checkpoints; a forged checkpoint signature is caught too.
func TestCheckpointsCatchRewrittenChains(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name+"/rewrite", func(t *testing.T) {
			c := open(t, e)
			seed(t, c, 200)
			unlock(t, c)
			const k = 77
			exec(t, c, `UPDATE audit_entries SET actor = 'staff:someone-else' WHERE seq = ?`, k)
			var prev []byte
			if err := c.DB.QueryRow(ctx, `SELECT hash FROM audit_entries WHERE seq = ?`, k-1).Scan(&prev); err != nil {
				t.Fatal(err)
			}
			for s := int64(k); s <= 200; s++ {
				var actor, action, subj string
				var at int64
				var body []byte
				if err := c.DB.QueryRow(ctx, `SELECT at, actor, action, subject_id, body FROM audit_entries WHERE seq = ?`, s).
					Scan(&at, &actor, &action, &subj, &body); err != nil {
					t.Fatal(err)
				}
				prev = audit.ChainHash(c.Audit, prev, s, at, actor, action, subj, body)
				exec(t, c, `UPDATE audit_entries SET hash = ? WHERE seq = ?`, prev, s)
			}
			exec(t, c, `UPDATE audit_head SET hash = ?`, prev)
			rep := verify(t, c)
			if rep.OK() || rep.Problem.Kind != "checkpoint_mismatch" || rep.Problem.Seq != 100 {
				t.Fatalf("problem = %v, want checkpoint_mismatch at 100", rep.Problem)
			}
		})
		t.Run(e.Name+"/signature", func(t *testing.T) {
			c := open(t, e)
			seed(t, c, 200)
			unlock(t, c)
			var sig []byte
			if err := c.DB.QueryRow(ctx, `SELECT signature FROM audit_checkpoints WHERE seq = 150`).Scan(&sig); err != nil {
				t.Fatal(err)
			}
			sig[len(sig)-1] ^= 1
			exec(t, c, `UPDATE audit_checkpoints SET signature = ? WHERE seq = 150`, sig)
			rep := verify(t, c)
			if rep.OK() || rep.Problem.Kind != "checkpoint_signature" || rep.Problem.Seq != 150 {
				t.Fatalf("problem = %v, want checkpoint_signature at 150", rep.Problem)
			}
		})
		t.Run(e.Name+"/truncate tail", func(t *testing.T) {
			c := open(t, e)
			seed(t, c, 200)
			unlock(t, c)
			exec(t, c, `DELETE FROM audit_entries WHERE seq > 180`)
			rep := verify(t, c)
			if rep.OK() || rep.Problem.Kind != "deleted" || rep.Problem.Seq != 181 {
				t.Fatalf("problem = %v, want deleted at 181", rep.Problem)
			}
		})
	}
}

func TestEntriesNeverCarryValues(t *testing.T) {
	c := open(t, testenv.Engines(t)[0])
	es, err := audit.Search(ctx, c.DB, audit.Filter{})
	if err != nil || len(es) != 0 {
		t.Fatalf("fresh log: %v, %v", es, err)
	}
	seed(t, c, 10)
	es, err = audit.Search(ctx, c.DB, audit.Filter{Actor: "test:3"})
	if err != nil || len(es) != 1 || es[0].Fields[0] != "mobile" || es[0].Subject != "s3" {
		t.Fatalf("search = %+v, %v", es, err)
	}
}

// Verification runs in parallel ranges on large chains: tampering at and
// around the range boundary is still found and named.
func TestTamperingAcrossVerifyRanges(t *testing.T) {
	const n = 24000 // two ranges: 1..12000 and 12001..24000
	for _, k := range []int64{11999, 12000, 12001, 23999} {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			c := open(t, testenv.Engines(t)[0])
			for done := 0; done < n; done += 4000 {
				es := make([]audit.Entry, 4000)
				for i := range es {
					es[i] = audit.Entry{Actor: "test", Action: "pi.read", Subject: fmt.Sprint(done + i), Channel: "test"}
				}
				if err := c.DB.InTx(ctx, func(tx *store.Tx) error { return c.Audit.Append(ctx, tx, es...) }); err != nil {
					t.Fatal(err)
				}
			}
			if rep := verify(t, c); !rep.OK() || rep.Entries != n {
				t.Fatalf("clean: %+v %v", rep, rep.Problem)
			}
			unlock(t, c)
			exec(t, c, `UPDATE audit_entries SET subject_id = 'someone-else' WHERE seq = ?`, k)
			rep := verify(t, c)
			if rep.OK() || rep.Problem.Seq != k || rep.Problem.Kind != "modified" {
				t.Fatalf("modify at %d: %v", k, rep.Problem)
			}
			exec(t, c, `DELETE FROM audit_entries WHERE seq = ?`, k)
			rep = verify(t, c)
			if rep.OK() || rep.Problem.Seq != k || rep.Problem.Kind != "deleted" {
				t.Fatalf("delete at %d: %v", k, rep.Problem)
			}
		})
	}
}

// audit verify on a live database: appends during verification do not make
// a clean chain look broken.
func TestVerifyWhileAppending(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := open(t, e)
			seed(t, c, 2000)
			stop := make(chan struct{})
			done := make(chan error, 1)
			go func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						done <- nil
						return
					default:
					}
					es := []audit.Entry{{Actor: "test:live", Action: "pi.read", Subject: fmt.Sprint(i), Channel: "api"}}
					if err := c.DB.InTx(ctx, func(tx *store.Tx) error { return c.Audit.Append(ctx, tx, es...) }); err != nil {
						done <- err
						return
					}
				}
			}()
			for i := 0; i < 10; i++ {
				if rep := verify(t, c); !rep.OK() {
					close(stop)
					t.Fatalf("verify %d on a live chain: %v", i, rep.Problem)
				}
			}
			close(stop)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if rep := verify(t, c); !rep.OK() || rep.Entries <= 2000 {
				t.Fatalf("after: %+v %v", rep, rep.Problem)
			}
		})
	}
}

func TestSearchFilters(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := open(t, e)
			es := []audit.Entry{
				{Actor: "staff:a", Action: "pi.read", Subject: "s1", Channel: "api", Purpose: "customer_service"},
				{Actor: "staff:a", Action: "pi.read", Subject: "s2", Channel: "cli", Purpose: "customer_service"},
				{Actor: "staff:b", Action: "pi.erase", Subject: "s1", Channel: "api", Purpose: "deletion_request"},
			}
			if err := c.DB.InTx(ctx, func(tx *store.Tx) error { return c.Audit.Append(ctx, tx, es...) }); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				f    audit.Filter
				want []int64
			}{
				{audit.Filter{Actor: "staff:a"}, []int64{1, 2}},
				{audit.Filter{Subject: "s1"}, []int64{1, 3}},
				{audit.Filter{Channel: "cli"}, []int64{2}},
				{audit.Filter{Actor: "staff:a", Channel: "api"}, []int64{1}},
				{audit.Filter{Action: "pi.erase"}, []int64{3}},
				{audit.Filter{From: c.Clock.Now().Add(time.Hour)}, nil},
			} {
				got, err := audit.Search(ctx, c.DB, tc.f)
				if err != nil {
					t.Fatalf("%+v: %v", tc.f, err)
				}
				var seqs []int64
				for _, g := range got {
					seqs = append(seqs, g.Seq)
				}
				if fmt.Sprint(seqs) != fmt.Sprint(tc.want) {
					t.Errorf("search %+v = %v, want %v", tc.f, seqs, tc.want)
				}
			}
		})
	}
}

// A checkpoint is signed after CheckpointInterval even when fewer than
// CheckpointEvery entries were appended; Checkpoint signs a quiet tail.
func TestCheckpointByTime(t *testing.T) {
	cfg := testenv.Engines(t)[0].Config(t)
	cfg.CheckpointEvery = 1000
	cfg.CheckpointInterval = time.Minute
	c := testenv.Open(t, cfg)
	clk := c.Clock.(interface{ Advance(time.Duration) })
	count := func() int {
		var n int
		if err := c.DB.QueryRow(ctx, `SELECT COUNT(*) FROM audit_checkpoints`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	seed(t, c, 3)
	if n := count(); n != 0 {
		t.Fatalf("%d checkpoints before the interval", n)
	}
	clk.Advance(61 * time.Second)
	seed(t, c, 1)
	if n := count(); n != 1 {
		t.Fatalf("%d checkpoints after the interval, want 1", n)
	}
	seed(t, c, 2)
	if err := c.Audit.Checkpoint(ctx, c.DB); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d checkpoints after Checkpoint, want 2", n)
	}
	if err := c.Audit.Checkpoint(ctx, c.DB); err != nil || count() != 2 {
		t.Fatalf("a second Checkpoint with nothing new signed again: %v", err)
	}
	if rep := verify(t, c); !rep.OK() || rep.Signed != 6 {
		t.Fatalf("verify: %+v %v", rep, rep.Problem)
	}
}
