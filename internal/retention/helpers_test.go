package retention_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gigvault/internal/app"
	"gigvault/internal/audit"
	"gigvault/internal/catalog"
	"gigvault/internal/clock"
	"gigvault/internal/retention"
	"gigvault/internal/testenv"
	"gigvault/internal/vault"
)

var (
	ctx   = context.Background()
	actor = vault.Actor{ID: "cli:retention-test", Channel: "cli"}
	// day is one calendar day of the fake clock (UTC).
	day = 24 * time.Hour
)

// env is a core on one engine with its fake clock.
type env struct {
	t   *testing.T
	e   testenv.Engine
	c   *app.Core
	clk *clock.Fake
	t0  time.Time // the clock's start
}

// newEnv opens a core; mutate, when set, adjusts its configuration.
func newEnv(t *testing.T, e testenv.Engine, mutate func(*app.Config)) *env {
	t.Helper()
	cfg := e.Config(t)
	clk := cfg.Clock.(*clock.Fake)
	if mutate != nil {
		mutate(&cfg)
	}
	c := testenv.Open(t, cfg)
	return &env{t: t, e: e, c: c, clk: clk, t0: clk.Now()}
}

// catalogWith writes the embedded catalog with each field's retention
// replaced as given, and returns the file.
func catalogWith(t *testing.T, retention map[string]string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "catalog", "catalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	field := ""
	for i, l := range lines {
		if name, ok := strings.CutPrefix(strings.TrimSpace(l), "- name: "); ok {
			field = name
		}
		if r, ok := retention[field]; ok && strings.HasPrefix(strings.TrimSpace(l), "retention:") {
			lines[i] = "    retention: " + r
			delete(retention, field)
		}
	}
	if len(retention) > 0 {
		t.Fatalf("fields not found in the catalog: %v", retention)
	}
	p := filepath.Join(t.TempDir(), "catalog.yaml")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.Load(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func (v *env) sweeper(opts retention.Options) *retention.Sweeper {
	if opts.Holder == "" {
		opts.Holder = "node-a"
	}
	return retention.New(v.c.DB, v.c.Vault, v.c.Audit, v.c.Catalog, v.c.Clock, opts)
}

func (v *env) subjects(n int) []string { return testenv.Subjects(v.t, v.c, "worker", n) }

func (v *env) put(subject string, items ...vault.Item) {
	v.t.Helper()
	if err := v.c.Vault.Put(ctx, actor, "account_registration", subject, items...); err != nil {
		v.t.Fatalf("put: %v", err)
	}
}

func (v *env) exec(q string, args ...any) {
	v.t.Helper()
	if _, err := v.c.DB.Exec(ctx, q, args...); err != nil {
		v.t.Fatalf("%s: %v", q, err)
	}
}

func (v *env) count(q string, args ...any) int {
	v.t.Helper()
	var n int
	if err := v.c.DB.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		v.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// has reports whether a value is stored (by its row, nothing decrypted).
func (v *env) has(subject, field, record string) bool {
	return v.count(`SELECT COUNT(*) FROM pi_values WHERE subject_id = ? AND field = ? AND record_id = ?`, subject, field, record) == 1
}

// reveal reads a value whole through the vault: the ciphertext still opens.
func (v *env) reveal(subject, field, record string) string {
	v.t.Helper()
	rv, err := v.c.Issuer.Issue(actor.ID, subject, field, record, "account_registration", "retention test", time.Minute)
	if err != nil {
		v.t.Fatal(err)
	}
	val, err := v.c.Vault.Get(ctx, actor, "account_registration", subject, field, record, rv)
	if err != nil {
		v.t.Fatalf("get %s/%s: %v", field, record, err)
	}
	return val.Text
}

// entries returns the sweeper's audit entries, oldest first.
func (v *env) entries() []audit.Entry {
	v.t.Helper()
	es, err := audit.Search(ctx, v.c.DB, audit.Filter{Action: retention.Action, Limit: 10000})
	if err != nil {
		v.t.Fatal(err)
	}
	return es
}

// audited sums the rows the sweeper's audit entries record, per run.
func (v *env) audited() (total int, byRun map[string]int) {
	v.t.Helper()
	byRun = map[string]int{}
	for _, e := range v.entries() {
		n, err := strconv.Atoi(e.Detail["rows"])
		if err != nil {
			v.t.Fatalf("entry %d: rows %q", e.Seq, e.Detail["rows"])
		}
		total += n
		byRun[e.Detail["run"]] += n
	}
	return total, byRun
}

func (v *env) verifyAudit() {
	v.t.Helper()
	rep, err := v.c.Audit.Verify(ctx, v.c.DB, nil)
	if err != nil || !rep.OK() {
		v.t.Fatalf("audit verify: %+v %v", rep.Problem, err)
	}
}

// run is a retention_runs row.
type run struct {
	id, holder, status, detail string
	deleted                    int
	finished                   bool
}

func (v *env) runs() []run {
	v.t.Helper()
	rows, err := v.c.DB.Query(ctx, `SELECT id, holder, status, deleted, detail, finished_at FROM retention_runs ORDER BY started_at, id`)
	if err != nil {
		v.t.Fatal(err)
	}
	defer rows.Close()
	var out []run
	for rows.Next() {
		var r run
		var fin sql.NullInt64
		if err := rows.Scan(&r.id, &r.holder, &r.status, &r.deleted, &r.detail, &fin); err != nil {
			v.t.Fatal(err)
		}
		r.finished = fin.Valid
		out = append(out, r)
	}
	return out
}

// hold places a legal hold on subject and returns its ID.
func (v *env) hold(subject string) string {
	id := "hold-" + subject
	v.exec(`INSERT INTO legal_holds (id, subject_id, reason, placed_by, placed_at) VALUES (?, ?, 'litigation', 'staff:dpo', ?)`,
		id, subject, v.clk.Now().UnixMicro())
	return id
}

func (v *env) release(hold string) {
	v.exec(`UPDATE legal_holds SET released_at = ?, released_by = 'staff:dpo' WHERE id = ?`, v.clk.Now().UnixMicro(), hold)
}

// groupCounts flattens groups to "rule/field/reason" → rows.
func groupCounts(gs []retention.Group) map[string]int64 {
	out := map[string]int64{}
	for _, g := range gs {
		out[g.Rule+"/"+g.Field+"/"+g.Reason] += g.Rows
	}
	return out
}

func mustRun(t *testing.T, s *retention.Sweeper) retention.Report {
	t.Helper()
	rep, err := s.Run(ctx)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if rep.Skipped {
		t.Fatalf("run skipped: %+v", rep)
	}
	return rep
}
