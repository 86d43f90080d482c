package retention

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"gigvault/internal/catalog"
	"gigvault/internal/jobs"
	"gigvault/internal/store"
	"gigvault/internal/vault"
)

// Reasons, as recorded in Group.Reason and the audit entries.
const (
	ReasonExpired          = "expired"            // pi_values: stored expiry reached
	ReasonOnlineRecordsCap = "online_records_cap" // pi_values: RET-2's one year
	ReasonCatalogRetention = "catalog_retention"  // pi_values: the current catalog's span
)

// OnlineRecordsCap is the longest any online-activity record is kept,
// whatever the catalog says (RET-2).
var OnlineRecordsCap = catalog.Span{N: 1, Unit: 'y'}

// DeliveryRetention is how long a delivered deletion notice or copy is kept.
var DeliveryRetention = catalog.Span{N: 1, Unit: 'y'}

// day is the window of the per-number and per-organisation daily limits
// (SMS codes, invitations) and the margin past any lock-out window.
const day = 24 * time.Hour

// rule is one kind of deletion, prepared for one run (it carries the
// run's cut-offs and its position in the table).
type rule interface {
	name() string        // the table
	namesSubjects() bool // its rows name a data subject: holds apply
	// candidates returns up to n rows due, after the previous call's last
	// row, read outside any transaction, and whether there may be more.
	candidates(ctx context.Context, db *store.DB, n int) ([]row, bool, error)
	// delete deletes, in tx, the candidates still due and not held, and
	// returns those it deleted.
	delete(ctx context.Context, tx *store.Tx, s *Sweeper, cands []row) ([]row, error)
	// retention describes what the rule keeps, for a field and reason.
	retention(field, reason string) string
	// plan counts what is due now, per group.
	plan(ctx context.Context, db *store.DB) ([]Group, error)
}

// row is one candidate: a vault value (subject, field, record, version) or
// a table row (its key values and, if it names one, its subject).
type row struct {
	subject, field, record, reason string
	updated, expires               int64
	keys                           []any
}

// Rules returns the names of the sweeper's rules (the tables it deletes
// from), in the order a run applies them: the label values of
// gigvault_retention_deleted_total.
func Rules() []string {
	out := []string{"pi_values"}
	for _, t := range tableRules {
		out = append(out, t.table)
	}
	return out
}

// rules prepares the rules for a run at now.
func (s *Sweeper) rules(now time.Time) []rule {
	out := []rule{&piExpired{s: s, now: now}}
	if c := newPIComputed(s, now); c != nil {
		out = append(out, c)
	}
	for _, t := range tableRules {
		if tr := t.prepare(s, now); tr != nil {
			out = append(out, tr)
		}
	}
	return out
}

// before is the cut-off of a calendar span: a moment written at or before
// it is at least sp old at now.
func before(now time.Time, sp catalog.Span) time.Time {
	switch sp.Unit {
	case 'd':
		return now.AddDate(0, 0, -sp.N)
	case 'm':
		return now.AddDate(0, -sp.N, 0)
	case 'y':
		return now.AddDate(-sp.N, 0, 0)
	}
	return now
}

// notHeld is the condition that the subject expression names nobody under
// an active legal hold.
func notHeld(subject string) string {
	return `NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.subject_id = ` + subject + ` AND h.released_at IS NULL)`
}

// notErased is the condition that p's subject is not erased.
const notErased = `NOT EXISTS (SELECT 1 FROM subjects s WHERE s.id = p.subject_id AND s.erased_at IS NOT NULL)`

// placeholders returns "?, ?, …" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// inChunk bounds IN lists, well under SQLite's limit on parameters.
const inChunk = 500

// skipSubjects returns which of subjects are, inside tx, under an active
// legal hold or (with erased) erased: the re-check that makes a hold or an
// erasure committed after the candidates were read count.
func skipSubjects(ctx context.Context, tx *store.Tx, subjects []string, erased bool) (map[string]bool, error) {
	uniq := make([]any, 0, len(subjects))
	seen := map[string]bool{}
	for _, s := range subjects {
		if s != "" && !seen[s] {
			seen[s] = true
			uniq = append(uniq, s)
		}
	}
	skip := map[string]bool{}
	queries := []string{`SELECT subject_id FROM legal_holds WHERE released_at IS NULL AND subject_id IN (%s)`}
	if erased {
		queries = append(queries, `SELECT id FROM subjects WHERE erased_at IS NOT NULL AND id IN (%s)`)
	}
	for start := 0; start < len(uniq); start += inChunk {
		chunk := uniq[start:min(start+inChunk, len(uniq))]
		for _, q := range queries {
			rows, err := tx.Query(ctx, fmt.Sprintf(q, placeholders(len(chunk))), chunk...)
			if err != nil {
				return nil, fmt.Errorf("retention: check holds: %w", err)
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return nil, fmt.Errorf("retention: check holds: %w", err)
				}
				skip[id] = true
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, fmt.Errorf("retention: check holds: %w", err)
			}
		}
	}
	return skip, nil
}

// sweepValues deletes candidate vault values through the vault, after the
// in-transaction re-check of holds and erasures.
func sweepValues(ctx context.Context, tx *store.Tx, s *Sweeper, cands []row) ([]row, error) {
	subjects := make([]string, len(cands))
	for i, c := range cands {
		subjects[i] = c.subject
	}
	skip, err := skipSubjects(ctx, tx, subjects, true)
	if err != nil {
		return nil, err
	}
	refs := make([]vault.StoredRef, 0, len(cands))
	byRef := make(map[vault.StoredRef]row, len(cands))
	for _, c := range cands {
		if skip[c.subject] {
			continue
		}
		ref := vault.StoredRef{Subject: c.subject, Field: c.field, Record: c.record, UpdatedAt: c.updated}
		refs = append(refs, ref)
		byRef[ref] = c
	}
	gone, err := s.vault.SweepTx(ctx, tx, refs)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	out := make([]row, len(gone))
	for i, ref := range gone {
		out[i] = byRef[ref]
	}
	return out, nil
}

// scanValues reads candidate vault values: subject, field, record,
// updated_at, then expires_at (expired) or the reason (computed).
func scanValues(rows *sql.Rows, withReason bool) ([]row, error) {
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		var err error
		if withReason {
			err = rows.Scan(&r.subject, &r.field, &r.record, &r.updated, &r.reason)
		} else {
			r.reason = ReasonExpired
			err = rows.Scan(&r.subject, &r.field, &r.record, &r.updated, &r.expires)
		}
		if err != nil {
			return nil, fmt.Errorf("retention: read candidates: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("retention: read candidates: %w", err)
	}
	return out, nil
}

// piExpired deletes vault values whose stored expiry has passed, in
// expiry order: the expiry index finds them without reading the rest.
type piExpired struct {
	s     *Sweeper
	now   time.Time
	after *row // the last candidate returned: the keyset cursor
}

func (*piExpired) name() string        { return "pi_values" }
func (*piExpired) namesSubjects() bool { return true }

func (r *piExpired) retention(field, _ string) string {
	if f, ok := r.s.cat.Field(field); ok && f.Retention.Kind == "fixed" {
		return "catalog retention " + f.Retention.String()
	}
	return "the expiry stored with the value"
}

const piExpiredWhere = `p.expires_at IS NOT NULL AND p.expires_at <= ? AND ` + notErased + ` AND ` + notHeldP

const notHeldP = `NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.subject_id = p.subject_id AND h.released_at IS NULL)`

func (r *piExpired) candidates(ctx context.Context, db *store.DB, n int) ([]row, bool, error) {
	q := `SELECT p.subject_id, p.field, p.record_id, p.updated_at, p.expires_at FROM pi_values p WHERE ` + piExpiredWhere
	args := []any{r.now.UnixMicro()}
	if a := r.after; a != nil {
		q += ` AND p.expires_at >= ? AND (p.expires_at > ? OR (p.subject_id, p.field, p.record_id) > (?, ?, ?))`
		args = append(args, a.expires, a.expires, a.subject, a.field, a.record)
	}
	q += ` ORDER BY p.expires_at, p.subject_id, p.field, p.record_id LIMIT ?`
	rows, err := db.Query(ctx, q, append(args, n)...)
	if err != nil {
		return nil, false, fmt.Errorf("retention: find expired values: %w", err)
	}
	out, err := scanValues(rows, false)
	if err != nil {
		return nil, false, err
	}
	if len(out) > 0 {
		last := out[len(out)-1]
		r.after = &last
	}
	return out, len(out) == n, nil
}

func (r *piExpired) delete(ctx context.Context, tx *store.Tx, s *Sweeper, cands []row) ([]row, error) {
	return sweepValues(ctx, tx, s, cands)
}

func (r *piExpired) plan(ctx context.Context, db *store.DB) ([]Group, error) {
	rows, err := db.Query(ctx, `SELECT p.field, COUNT(*), MIN(p.expires_at) FROM pi_values p WHERE `+piExpiredWhere+
		` GROUP BY p.field ORDER BY p.field`, r.now.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("retention: plan expired values: %w", err)
	}
	defer rows.Close()
	var out []Group
	for rows.Next() {
		g := Group{Rule: r.name(), Reason: ReasonExpired}
		var oldest int64
		if err := rows.Scan(&g.Field, &g.Rows, &oldest); err != nil {
			return nil, fmt.Errorf("retention: plan expired values: %w", err)
		}
		g.Oldest, g.Retention = time.UnixMicro(oldest).UTC(), r.retention(g.Field, g.Reason)
		out = append(out, g)
	}
	return out, rows.Err()
}

// piComputed deletes vault values whose expiry the sweeper computes rather
// than reads: RET-2's cap on online records (from created_at) and the
// current catalog's fixed retention (from updated_at). No index serves
// those, so a run walks pi_values once in key order.
type piComputed struct {
	s      *Sweeper
	now    time.Time
	spans  map[string]catalog.Span // fields with fixed retention
	reason string                  // SQL: the reason of a candidate
	where  string                  // SQL: a candidate
	args   []any                   // the parameters of reason, then where
	after  *row
}

// newPIComputed prepares the computed rules, or returns nil when the
// catalog leaves nothing to compute.
func newPIComputed(s *Sweeper, now time.Time) *piComputed {
	r := &piComputed{s: s, now: now, spans: map[string]catalog.Span{}}
	var capArgs, catCond []string
	var capVals, catVals []any
	for _, f := range s.cat.Fields() {
		if !f.Retention.Stored() {
			continue
		}
		if f.Name == "browse_record" || f.Category == "online_records" {
			capArgs = append(capArgs, "?")
			capVals = append(capVals, f.Name)
		}
		if f.Retention.Kind == "fixed" {
			r.spans[f.Name] = f.Retention.Duration
			catCond = append(catCond, `(p.field = ? AND p.updated_at <= ?)`)
			catVals = append(catVals, f.Name, before(now, f.Retention.Duration).UnixMicro())
		}
	}
	if len(capVals) == 0 && len(catVals) == 0 {
		return nil
	}
	capCond := `1 = 0`
	if len(capVals) > 0 {
		capCond = `(p.field IN (` + strings.Join(capArgs, ", ") + `) AND p.created_at <= ?)`
		capVals = append(capVals, before(now, OnlineRecordsCap).UnixMicro())
	}
	cat := `1 = 0`
	if len(catCond) > 0 {
		cat = strings.Join(catCond, ` OR `)
	}
	r.reason = `CASE WHEN ` + capCond + ` THEN '` + ReasonOnlineRecordsCap + `' ELSE '` + ReasonCatalogRetention + `' END`
	r.where = `(p.expires_at IS NULL OR p.expires_at > ?) AND (` + capCond + ` OR ` + cat + `) AND ` + notErased + ` AND ` + notHeldP
	r.args = append(append(append(append([]any{}, capVals...), now.UnixMicro()), capVals...), catVals...)
	return r
}

func (*piComputed) name() string        { return "pi_values" }
func (*piComputed) namesSubjects() bool { return true }

func (r *piComputed) retention(field, reason string) string {
	if reason == ReasonOnlineRecordsCap {
		return "the " + OnlineRecordsCap.String() + " cap on online records (RET-2), counted from collection"
	}
	return "catalog retention " + r.spans[field].String() + ", counted from the last write (the stored expiry was later or unset)"
}

func (r *piComputed) candidates(ctx context.Context, db *store.DB, n int) ([]row, bool, error) {
	q := `SELECT p.subject_id, p.field, p.record_id, p.updated_at, ` + r.reason + ` FROM pi_values p WHERE ` + r.where
	args := append([]any{}, r.args...)
	if a := r.after; a != nil {
		q += ` AND (p.subject_id, p.field, p.record_id) > (?, ?, ?)`
		args = append(args, a.subject, a.field, a.record)
	}
	q += ` ORDER BY p.subject_id, p.field, p.record_id LIMIT ?`
	rows, err := db.Query(ctx, q, append(args, n)...)
	if err != nil {
		return nil, false, fmt.Errorf("retention: find values past retention: %w", err)
	}
	out, err := scanValues(rows, true)
	if err != nil {
		return nil, false, err
	}
	if len(out) > 0 {
		last := out[len(out)-1]
		r.after = &last
	}
	return out, len(out) == n, nil
}

func (r *piComputed) delete(ctx context.Context, tx *store.Tx, s *Sweeper, cands []row) ([]row, error) {
	return sweepValues(ctx, tx, s, cands)
}

func (r *piComputed) plan(ctx context.Context, db *store.DB) ([]Group, error) {
	rows, err := db.Query(ctx, `SELECT field, reason, COUNT(*), MIN(created_at), MIN(updated_at) FROM (
		SELECT p.field, `+r.reason+` AS reason, p.created_at, p.updated_at FROM pi_values p WHERE `+r.where+`) x
		GROUP BY field, reason ORDER BY field, reason`, r.args...)
	if err != nil {
		return nil, fmt.Errorf("retention: plan values past retention: %w", err)
	}
	defer rows.Close()
	var out []Group
	for rows.Next() {
		g := Group{Rule: r.name()}
		var created, updated int64
		if err := rows.Scan(&g.Field, &g.Reason, &g.Rows, &created, &updated); err != nil {
			return nil, fmt.Errorf("retention: plan values past retention: %w", err)
		}
		if g.Reason == ReasonOnlineRecordsCap {
			g.Oldest = OnlineRecordsCap.After(time.UnixMicro(created).UTC())
		} else {
			g.Oldest = r.spans[g.Field].After(time.UnixMicro(updated).UTC())
		}
		g.Retention = r.retention(g.Field, g.Reason)
		out = append(out, g)
	}
	return out, rows.Err()
}

// tableRule deletes rows of a table other than pi_values.
type tableRule struct {
	table, reason string
	keys          []string // primary-key columns
	// subject is the SQL expression of the subject a row names, "" when
	// the table names nobody (then no legal hold can apply).
	subject string
	// where is the condition that a row is due at now, with its
	// parameters; ok false turns the rule off for this run.
	where func(s *Sweeper, now time.Time) (cond string, args []any, ok bool)
	// since is the SQL moment a row's wait began and after turns it into
	// the moment the row became due, for Plan's Oldest.
	since     string
	sinceArgs func(s *Sweeper) []any
	after     func(s *Sweeper, t time.Time) time.Time
	keeps     func(s *Sweeper) string
}

// tableRules are the rules over tables other than pi_values, in run order.
// Every column is qualified with its table, so one condition serves the
// SELECT of candidates and the DELETE that re-checks them.
var tableRules = []*tableRule{
	{
		table: "sms_codes", reason: "expired", keys: []string{"id"},
		where: func(_ *Sweeper, now time.Time) (string, []any, bool) {
			return `sms_codes.expires_at <= ? AND sms_codes.created_at <= ?`, []any{now.UnixMicro(), now.Add(-day).UnixMicro()}, true
		},
		since:     `CASE WHEN sms_codes.expires_at - ? > sms_codes.created_at THEN sms_codes.expires_at - ? ELSE sms_codes.created_at END`,
		sinceArgs: func(*Sweeper) []any { return []any{day.Microseconds(), day.Microseconds()} },
		after:     func(_ *Sweeper, t time.Time) time.Time { return t.Add(day) },
		keeps:     func(*Sweeper) string { return "the code's expiry and the 24h send-limit window" },
	},
	{
		table: "sessions", reason: "ended", keys: []string{"id"},
		subject: `(SELECT a.subject_id FROM accounts a WHERE a.id = sessions.account_id)`,
		where: func(s *Sweeper, now time.Time) (string, []any, bool) {
			cut := now.Add(-s.opt.Grace).UnixMicro()
			return `((sessions.revoked_at IS NOT NULL AND sessions.revoked_at <= ?) OR sessions.expires_at <= ?)`, []any{cut, cut}, true
		},
		since: `CASE WHEN sessions.revoked_at IS NOT NULL AND sessions.revoked_at < sessions.expires_at THEN sessions.revoked_at ELSE sessions.expires_at END`,
		after: func(s *Sweeper, t time.Time) time.Time { return t.Add(s.opt.Grace) },
		keeps: func(s *Sweeper) string { return span(s.opt.Grace) + " from the session's end (revoked or expired)" },
	},
	{
		table: "auth_lockouts", reason: "over", keys: []string{"key_tag"},
		where: func(_ *Sweeper, now time.Time) (string, []any, bool) {
			return `auth_lockouts.locked_until <= ? AND auth_lockouts.first_failure_at <= ?`, []any{now.UnixMicro(), now.Add(-day).UnixMicro()}, true
		},
		since:     `CASE WHEN auth_lockouts.locked_until - ? > auth_lockouts.first_failure_at THEN auth_lockouts.locked_until - ? ELSE auth_lockouts.first_failure_at END`,
		sinceArgs: func(*Sweeper) []any { return []any{day.Microseconds(), day.Microseconds()} },
		after:     func(_ *Sweeper, t time.Time) time.Time { return t.Add(day) },
		keeps:     func(*Sweeper) string { return "the lock-out's end and 24h from the first failure" },
	},
	{
		table: "org_invites", reason: "expired", keys: []string{"number_tag", "org_id"},
		where: func(_ *Sweeper, now time.Time) (string, []any, bool) {
			return `org_invites.expires_at <= ? AND org_invites.created_at <= ?`, []any{now.UnixMicro(), now.Add(-day).UnixMicro()}, true
		},
		since:     `CASE WHEN org_invites.expires_at - ? > org_invites.created_at THEN org_invites.expires_at - ? ELSE org_invites.created_at END`,
		sinceArgs: func(*Sweeper) []any { return []any{day.Microseconds(), day.Microseconds()} },
		after:     func(_ *Sweeper, t time.Time) time.Time { return t.Add(day) },
		keeps:     func(*Sweeper) string { return "the invitation's expiry and the 24h invitation-limit window" },
	},
	{
		table: "calendar_feeds", reason: "revoked", keys: []string{"token_hash"},
		subject: `calendar_feeds.subject_id`,
		where: func(s *Sweeper, now time.Time) (string, []any, bool) {
			return `calendar_feeds.revoked_at IS NOT NULL AND calendar_feeds.revoked_at <= ?`, []any{now.Add(-s.opt.Grace).UnixMicro()}, true
		},
		since: `calendar_feeds.revoked_at`,
		after: func(s *Sweeper, t time.Time) time.Time { return t.Add(s.opt.Grace) },
		keeps: func(s *Sweeper) string { return span(s.opt.Grace) + " from the feed's revocation" },
	},
	{
		table: "applications", reason: "closed", keys: []string{"id"},
		subject: `applications.subject_id`,
		where: func(s *Sweeper, now time.Time) (string, []any, bool) {
			sp, ok := applicationSpan(s)
			if !ok {
				return "", nil, false
			}
			return `applications.status IN (?, ?, ?) AND applications.updated_at <= ?
				AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.application_id = applications.id)`,
				[]any{jobs.Withdrawn, jobs.Rejected, jobs.Completed, before(now, sp).UnixMicro()}, true
		},
		since: `applications.updated_at`,
		after: func(s *Sweeper, t time.Time) time.Time { sp, _ := applicationSpan(s); return sp.After(t) },
		keeps: func(s *Sweeper) string {
			sp, _ := applicationSpan(s)
			return "catalog retention " + sp.String() + " (job_application) from the last change of a closed application"
		},
	},
	{
		table: "outbound_deliveries", reason: "delivered", keys: []string{"id"},
		subject: `outbound_deliveries.subject_id`,
		where: func(_ *Sweeper, now time.Time) (string, []any, bool) {
			return `outbound_deliveries.status = 'delivered' AND outbound_deliveries.delivered_at IS NOT NULL AND outbound_deliveries.delivered_at <= ?`,
				[]any{before(now, DeliveryRetention).UnixMicro()}, true
		},
		since: `outbound_deliveries.delivered_at`,
		after: func(_ *Sweeper, t time.Time) time.Time { return DeliveryRetention.After(t) },
		keeps: func(*Sweeper) string { return DeliveryRetention.String() + " from delivery" },
	},
	{
		table: "retained_records", reason: "statutory_period_over", keys: []string{"id"},
		where: func(_ *Sweeper, now time.Time) (string, []any, bool) {
			return `retained_records.expires_at <= ?`, []any{now.UnixMicro()}, true
		},
		since: `retained_records.expires_at`,
		after: func(_ *Sweeper, t time.Time) time.Time { return t },
		keeps: func(*Sweeper) string { return "the end of the statutory period (RET-3)" },
	},
}

// applicationSpan is the catalog's fixed retention of job_application.
func applicationSpan(s *Sweeper) (catalog.Span, bool) {
	f, ok := s.cat.Field("job_application")
	if !ok || f.Retention.Kind != "fixed" {
		return catalog.Span{}, false
	}
	return f.Retention.Duration, true
}

// span renders a whole number of days as "30d", anything else as Go does.
func span(d time.Duration) string {
	if d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}

// preparedTable is a tableRule for one run.
type preparedTable struct {
	*tableRule
	s      *Sweeper
	cond   string
	args   []any
	cursor []any // key values of the last candidate
}

func (t *tableRule) prepare(s *Sweeper, now time.Time) *preparedTable {
	cond, args, ok := t.where(s, now)
	if !ok {
		return nil
	}
	return &preparedTable{tableRule: t, s: s, cond: cond, args: args}
}

func (t *preparedTable) name() string                    { return t.table }
func (t *preparedTable) namesSubjects() bool             { return t.subject != "" }
func (t *preparedTable) retention(string, string) string { return t.keeps(t.s) }

// due is the condition for a candidate: due, and not held.
func (t *preparedTable) due() string {
	if t.subject == "" {
		return t.cond
	}
	return `(` + t.cond + `) AND ` + notHeld(t.subject)
}

func (t *preparedTable) candidates(ctx context.Context, db *store.DB, n int) ([]row, bool, error) {
	keys := t.table + "." + strings.Join(t.keys, ", "+t.table+".")
	subject := `''`
	if t.subject != "" {
		subject = `COALESCE(` + t.subject + `, '')`
	}
	q := `SELECT ` + keys + `, ` + subject + ` FROM ` + t.table + ` WHERE ` + t.due()
	args := append([]any{}, t.args...)
	if t.cursor != nil {
		q += ` AND (` + keys + `) > (` + placeholders(len(t.keys)) + `)`
		args = append(args, t.cursor...)
	}
	q += ` ORDER BY ` + keys + ` LIMIT ?`
	rows, err := db.Query(ctx, q, append(args, n)...)
	if err != nil {
		return nil, false, fmt.Errorf("retention: find %s rows: %w", t.table, err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		r := row{reason: t.reason, keys: make([]any, len(t.keys))}
		dest := make([]any, 0, len(t.keys)+1)
		for i := range r.keys {
			dest = append(dest, &r.keys[i])
		}
		if err := rows.Scan(append(dest, &r.subject)...); err != nil {
			return nil, false, fmt.Errorf("retention: find %s rows: %w", t.table, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("retention: find %s rows: %w", t.table, err)
	}
	if len(out) > 0 {
		t.cursor = out[len(out)-1].keys
	}
	return out, len(out) == n, nil
}

// keyString identifies a row by its key values.
func keyString(vals []any) string {
	var b strings.Builder
	for _, v := range vals {
		switch x := v.(type) {
		case []byte:
			b.Write(x)
		case string:
			b.WriteString(x)
		default:
			fmt.Fprint(&b, x)
		}
		b.WriteByte(0)
	}
	return b.String()
}

func (t *preparedTable) delete(ctx context.Context, tx *store.Tx, _ *Sweeper, cands []row) ([]row, error) {
	if t.subject != "" {
		subjects := make([]string, len(cands))
		for i, c := range cands {
			subjects[i] = c.subject
		}
		skip, err := skipSubjects(ctx, tx, subjects, false)
		if err != nil {
			return nil, err
		}
		kept := cands[:0:0]
		for _, c := range cands {
			if !skip[c.subject] {
				kept = append(kept, c)
			}
		}
		cands = kept
	}
	byKey := make(map[string]row, len(cands))
	var out []row
	keys := strings.Join(t.keys, ", ")
	for start := 0; start < len(cands); start += inChunk {
		chunk := cands[start:min(start+inChunk, len(cands))]
		var match string
		var args []any
		if len(t.keys) == 1 {
			match = t.keys[0] + ` IN (` + placeholders(len(chunk)) + `)`
			for _, c := range chunk {
				args = append(args, c.keys[0])
				byKey[keyString(c.keys)] = c
			}
		} else {
			one := `(` + strings.Join(t.keys, ` = ? AND `) + ` = ?)`
			match = `(` + strings.TrimSuffix(strings.Repeat(one+` OR `, len(chunk)), ` OR `) + `)`
			for _, c := range chunk {
				args = append(args, c.keys...)
				byKey[keyString(c.keys)] = c
			}
		}
		// The condition again: a row changed since it was read (a session
		// renewed, an application re-opened) is no longer due and stays.
		rows, err := tx.Query(ctx, `DELETE FROM `+t.table+` WHERE `+match+` AND `+t.cond+` RETURNING `+keys, append(args, t.args...)...)
		if err != nil {
			return nil, fmt.Errorf("retention: delete %s rows: %w", t.table, err)
		}
		for rows.Next() {
			vals := make([]any, len(t.keys))
			dest := make([]any, len(vals))
			for i := range vals {
				dest[i] = &vals[i]
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("retention: delete %s rows: %w", t.table, err)
			}
			if c, ok := byKey[keyString(vals)]; ok {
				out = append(out, c)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("retention: delete %s rows: %w", t.table, err)
		}
	}
	return out, nil
}

func (t *preparedTable) plan(ctx context.Context, db *store.DB) ([]Group, error) {
	var sinceArgs []any
	if t.sinceArgs != nil {
		sinceArgs = t.sinceArgs(t.s)
	}
	var n int64
	var oldest sql.NullInt64
	err := db.QueryRow(ctx, `SELECT COUNT(*), MIN(`+t.since+`) FROM `+t.table+` WHERE `+t.due(), append(sinceArgs, t.args...)...).Scan(&n, &oldest)
	if err != nil {
		return nil, fmt.Errorf("retention: plan %s: %w", t.table, err)
	}
	if n == 0 {
		return nil, nil
	}
	g := Group{Rule: t.table, Reason: t.reason, Rows: n, Retention: t.keeps(t.s)}
	if oldest.Valid {
		g.Oldest = t.after(t.s, time.UnixMicro(oldest.Int64).UTC())
	}
	return []Group{g}, nil
}
