package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"gigvault/internal/audit"
	"gigvault/internal/catalog"
	"gigvault/internal/clock"
	"gigvault/internal/lease"
	"gigvault/internal/obs"
	"gigvault/internal/store"
	"gigvault/internal/vault"
)

// LeaseName is the lease a sweeping node holds.
const LeaseName = "retention"

// The audit entry's fixed parts (AUD-4).
const (
	Actor   = "system:retention"
	Channel = "system"
	Action  = "retention.delete"
	Purpose = "retention"
)

// Defaults of Options.
const (
	DefaultBatchSize = 1000
	DefaultLeaseTTL  = 5 * time.Minute
	DefaultTool      = "gigvault retention sweeper"
	DefaultGrace     = 30 * 24 * time.Hour
)

// ErrLeaseLost means another node took the lease during the run (this one
// stalled past the TTL); the run stopped after its last whole batch.
var ErrLeaseLost = errors.New("retention: the lease was lost to another node")

// Options tune a Sweeper. Zero values are the defaults.
type Options struct {
	// Holder names this node in the lease and in retention_runs (default
	// host name and process ID).
	Holder string
	// BatchSize is how many rows one transaction deletes (default 1000).
	BatchSize int
	// LeaseTTL is how long the lease lasts between renewals (default 5
	// minutes); it is renewed after a batch once a third of it has passed.
	LeaseTTL time.Duration
	// Tool is named in the audit entries (default "gigvault retention sweeper").
	Tool string
	// Grace is how long ended sessions and revoked calendar feeds are kept
	// (default 30 days).
	Grace time.Duration
	// Logger receives Loop's messages (default: discarded).
	Logger *slog.Logger
	// AfterBatch, when set, is called after each committed batch with the
	// rows deleted so far in the run. Returning an error stops the run
	// there, as a crash would. For tests.
	AfterBatch func(done int) error
}

// Sweeper deletes what retention no longer allows. Safe for concurrent
// use; runs of one Sweeper do not overlap.
type Sweeper struct {
	db    *store.DB
	vault *vault.Vault
	log   *audit.Log
	cat   *catalog.Catalog
	clk   clock.Clock
	opt   Options
	run   sync.Mutex // held for the length of a Run
	m     metrics
}

// New returns a Sweeper over the business database, the vault that owns
// its PI, the audit log and the catalog whose retention applies.
func New(db *store.DB, v *vault.Vault, log *audit.Log, cat *catalog.Catalog, clk clock.Clock, opts Options) *Sweeper {
	if clk == nil {
		clk = clock.Real{}
	}
	if opts.Holder == "" {
		host, _ := os.Hostname()
		opts.Holder = host + "/" + strconv.Itoa(os.Getpid())
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.Tool == "" {
		opts.Tool = DefaultTool
	}
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sweeper{db: db, vault: v, log: log, cat: cat, clk: clk, opt: opts}
	s.m.init(Rules())
	return s
}

// Group is what one rule deletes of one field for one reason: in a Plan,
// what a run now would delete; in a Report, what the run deleted.
type Group struct {
	Rule   string `json:"rule"`            // the table: "pi_values", "sessions", …
	Field  string `json:"field,omitempty"` // the catalog field, for pi_values
	Reason string `json:"reason"`          // "expired", "online_records_cap", …
	// Retention says what the rule keeps, as in the audit method: "180d",
	// "1y (RET-2 cap)", "30d after the session ended".
	Retention string `json:"retention,omitempty"`
	Rows      int64  `json:"rows"`
	// Oldest is the earliest moment a row of the group became due (Plan
	// only; zero in a Report).
	Oldest time.Time `json:"oldest,omitzero"`
}

func (g Group) key() groupKey { return groupKey{g.Rule, g.Field, g.Reason} }

type groupKey struct{ rule, field, reason string }

// Report is the outcome of a Run.
type Report struct {
	// Skipped is set when another node held the lease: nothing was done.
	Skipped bool
	// Holder and Until name the lease's holder when Skipped.
	Holder string
	Until  time.Time
	// Run is the retention_runs ID.
	Run               string
	Started, Finished time.Time
	Deleted           int64
	Batches           int
	Groups            []Group // rows deleted, per group, in rule order
}

// Run sweeps once: every rule, in batches, until nothing due is left. When
// another node is sweeping it returns a Report with Skipped set and no
// error. See the package documentation for what it deletes and how.
func (s *Sweeper) Run(ctx context.Context) (Report, error) {
	if !s.run.TryLock() {
		return Report{Skipped: true, Holder: s.opt.Holder}, nil
	}
	defer s.run.Unlock()
	ok, err := lease.Acquire(ctx, s.db, s.clk, LeaseName, s.opt.Holder, s.opt.LeaseTTL)
	if err != nil {
		return Report{}, fmt.Errorf("retention: %w", err)
	}
	if !ok {
		rep := Report{Skipped: true}
		if l, held, err := lease.Current(ctx, s.db, LeaseName); err == nil && held {
			rep.Holder, rep.Until = l.Holder, l.ExpiresAt
		}
		return rep, nil
	}
	defer func() {
		if err := lease.Release(context.WithoutCancel(ctx), s.db, LeaseName, s.opt.Holder); err != nil {
			s.opt.Logger.Warn("retention: releasing the lease failed", "err", err)
		}
	}()
	r := &runState{s: s, now: s.clk.Now(), counts: map[groupKey]*Group{}}
	r.renewed = r.now
	r.rep.Started = r.now
	if err := r.begin(ctx); err != nil {
		return r.rep, err
	}
	err = r.sweep(ctx)
	r.rep.Finished = s.clk.Now()
	if ferr := r.finish(context.WithoutCancel(ctx), err); ferr != nil {
		err = errors.Join(err, ferr)
	}
	if err != nil {
		return r.rep, err
	}
	s.m.lastSuccess.Store(r.rep.Finished.UnixMicro())
	return r.rep, nil
}

// runState is one run in progress.
type runState struct {
	s       *Sweeper
	now     time.Time // the run's cut-off moment
	rep     Report
	counts  map[groupKey]*Group
	order   []groupKey
	batches int
	renewed time.Time // when the lease was last taken or renewed
}

// begin records the run, marking runs a crash left "running" as failed:
// holding the lease, this node is the only sweeper.
func (r *runState) begin(ctx context.Context) error {
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("retention: run id: %w", err)
	}
	r.rep.Run = id.String()
	return r.s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE retention_runs SET status = 'failed' WHERE status = 'running'`); err != nil {
			return fmt.Errorf("retention: close interrupted runs: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO retention_runs (id, holder, started_at, status, deleted, detail) VALUES (?, ?, ?, 'running', 0, ?)`,
			r.rep.Run, r.s.opt.Holder, r.now.UnixMicro(), r.detail(nil, "")); err != nil {
			return fmt.Errorf("retention: record run: %w", err)
		}
		return nil
	})
}

// finish records how the run ended.
func (r *runState) finish(ctx context.Context, runErr error) error {
	status, msg := "finished", ""
	if runErr != nil {
		status, msg = "failed", obs.Redact(runErr.Error())
	}
	r.rep.Groups = r.groups()
	_, err := r.s.db.Exec(ctx, `UPDATE retention_runs SET status = ?, finished_at = ?, deleted = ?, detail = ? WHERE id = ?`,
		status, r.rep.Finished.UnixMicro(), r.rep.Deleted, r.detail(nil, msg), r.rep.Run)
	if err != nil {
		return fmt.Errorf("retention: record the run's end: %w", err)
	}
	return nil
}

// groups returns the run's counts in rule order.
func (r *runState) groups() []Group {
	out := make([]Group, 0, len(r.order))
	for _, k := range r.order {
		out = append(out, *r.counts[k])
	}
	return out
}

// detail is the run row's JSON: counts per group so far, plus pending (a
// batch not yet committed) and the error of a failed run.
func (r *runState) detail(pending []Group, errMsg string) string {
	type row struct {
		Rule   string `json:"rule"`
		Field  string `json:"field,omitempty"`
		Reason string `json:"reason"`
		Rows   int64  `json:"rows"`
	}
	all := map[groupKey]int64{}
	order := slices.Clone(r.order)
	for _, k := range r.order {
		all[k] = r.counts[k].Rows
	}
	for _, g := range pending {
		if _, ok := all[g.key()]; !ok {
			order = append(order, g.key())
		}
		all[g.key()] += g.Rows
	}
	d := struct {
		Groups []row  `json:"groups"`
		Error  string `json:"error,omitempty"`
	}{Groups: []row{}, Error: errMsg}
	for _, k := range order {
		d.Groups = append(d.Groups, row{k.rule, k.field, k.reason, all[k]})
	}
	b, _ := json.Marshal(d)
	return string(b)
}

// sweep applies every rule in turn.
func (r *runState) sweep(ctx context.Context) error {
	for _, ru := range r.s.rules(r.now) {
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			more, err := r.batch(ctx, ru)
			if err != nil {
				return err
			}
			if !more {
				break
			}
		}
	}
	return nil
}

// batch selects, deletes and audits one batch of rule ru; it reports
// whether the rule may have more.
func (r *runState) batch(ctx context.Context, ru rule) (bool, error) {
	cands, more, err := ru.candidates(ctx, r.s.db, r.s.opt.BatchSize)
	if err != nil {
		return false, err
	}
	if len(cands) == 0 {
		return false, nil
	}
	var done []Group
	err = r.s.db.InTx(ctx, func(tx *store.Tx) error {
		done = nil
		gone, err := ru.delete(ctx, tx, r.s, cands)
		if err != nil {
			return err
		}
		done = tally(ru, gone)
		if len(done) == 0 {
			return nil
		}
		entries := make([]audit.Entry, 0, len(done))
		for _, g := range done {
			entries = append(entries, r.entry(ru, g, gone, tx.Engine()))
		}
		if err := r.s.log.Append(ctx, tx, entries...); err != nil {
			return err
		}
		var n int64
		for _, g := range done {
			n += g.Rows
		}
		if _, err := tx.Exec(ctx, `UPDATE retention_runs SET deleted = ?, detail = ? WHERE id = ?`,
			r.rep.Deleted+n, r.detail(done, ""), r.rep.Run); err != nil {
			return fmt.Errorf("retention: record progress: %w", err)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	r.batches++
	r.rep.Batches = r.batches
	for _, g := range done {
		k := g.key()
		c, ok := r.counts[k]
		if !ok {
			c = &Group{Rule: g.Rule, Field: g.Field, Reason: g.Reason, Retention: g.Retention}
			r.counts[k] = c
			r.order = append(r.order, k)
		}
		c.Rows += g.Rows
		r.rep.Deleted += g.Rows
		r.s.m.add(g.Rule, g.Rows)
	}
	if hook := r.s.opt.AfterBatch; hook != nil {
		if err := hook(int(r.rep.Deleted)); err != nil {
			return false, fmt.Errorf("retention: stopped after batch %d: %w", r.batches, err)
		}
	}
	if err := r.renew(ctx); err != nil {
		return false, err
	}
	return more, nil
}

// renew renews the lease once a third of its TTL has passed since it was
// last taken, so a fast run does not pay a write per batch for it.
func (r *runState) renew(ctx context.Context) error {
	now := r.s.clk.Now()
	if now.Sub(r.renewed) < r.s.opt.LeaseTTL/3 {
		return nil
	}
	ok, err := lease.Acquire(ctx, r.s.db, r.s.clk, LeaseName, r.s.opt.Holder, r.s.opt.LeaseTTL)
	if err != nil {
		return fmt.Errorf("retention: renew: %w", err)
	}
	if !ok {
		return ErrLeaseLost
	}
	r.renewed = now
	return nil
}

// entry is the audit entry of one group of a batch.
func (r *runState) entry(ru rule, g Group, gone []row, engine store.Engine) audit.Entry {
	detail := map[string]string{
		"tool":      r.s.opt.Tool,
		"method":    method(engine, g.Retention),
		"rule":      g.Rule,
		"reason":    g.Reason,
		"retention": g.Retention,
		"rows":      strconv.FormatInt(g.Rows, 10),
		"run":       r.rep.Run,
		"batch":     strconv.Itoa(r.batches + 1),
	}
	if ru.namesSubjects() {
		seen := map[string]bool{}
		for _, x := range gone {
			if x.field == g.Field && x.reason == g.Reason && x.subject != "" {
				seen[x.subject] = true
			}
		}
		detail["subjects"] = strconv.Itoa(len(seen))
	}
	var fields []string
	if g.Field != "" {
		fields = []string{g.Field}
	}
	return audit.Entry{Actor: Actor, Channel: Channel, Action: Action, Fields: fields, Purpose: Purpose, Detail: detail}
}

// method describes how rows were deleted, as the audit entry says it.
func method(engine store.Engine, retention string) string {
	how := "rows deleted (secure_delete)"
	if engine == store.Postgres {
		how = "rows deleted (space reclaimed by VACUUM)"
	}
	return how + " after " + retention
}

// tally groups the rows a batch deleted.
func tally(ru rule, gone []row) []Group {
	var out []Group
	idx := map[groupKey]int{}
	for _, x := range gone {
		k := groupKey{ru.name(), x.field, x.reason}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, Group{Rule: k.rule, Field: k.field, Reason: k.reason, Retention: ru.retention(x.field, x.reason)})
		}
		out[i].Rows++
	}
	return out
}

// Loop runs Run at once and then every interval (default one hour) until
// ctx ends, logging each outcome: never values or subject IDs, only the
// run, counts and rule names.
func (s *Sweeper) Loop(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Hour
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s.runAndLog(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Sweeper) runAndLog(ctx context.Context) {
	log := s.opt.Logger
	rep, err := s.Run(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
		log.Info("retention sweep stopped", "run", rep.Run, "deleted", rep.Deleted, "batches", rep.Batches)
	case err != nil:
		log.Error("retention sweep failed", "run", rep.Run, "deleted", rep.Deleted, "batches", rep.Batches, "err", err)
	case rep.Skipped:
		log.Info("retention sweep skipped: another node is sweeping", "holder", rep.Holder, "until", rep.Until)
	default:
		log.Info("retention sweep finished", "run", rep.Run, "deleted", rep.Deleted, "batches", rep.Batches,
			"took", rep.Finished.Sub(rep.Started).String())
		for _, g := range rep.Groups {
			log.Debug("retention sweep deleted", "run", rep.Run, "rule", g.Rule, "field", g.Field, "reason", g.Reason, "rows", g.Rows)
		}
	}
}
