// Package approval is four-eyes control (ACC-5): bulk export, bulk
// modification, downloads above a record count, and reveals past a staff
// member's limit wait for a second person with the approver permission;
// creating staff accounts, changing roles and resetting credentials through
// the API wait for a second security administrator (dual control).
// Nobody approves their own request; requests expire; an approved request
// executes exactly once, for exactly the parameters approved; every step is
// audited in the transaction that makes it.
package approval

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"gigvault/internal/audit"
	"gigvault/internal/clock"
	"gigvault/internal/errs"
	"gigvault/internal/obs"
	"gigvault/internal/policy"
	"gigvault/internal/store"
)

// Statuses. "expired" is computed, never stored: a pending or approved
// request past its expiry is expired.
const (
	Pending  = "pending"
	Approved = "approved"
	Rejected = "rejected"
	Executed = "executed"
	Expired  = "expired"
)

// Params say exactly what is to be done: subject IDs, field names, purpose,
// never values. A request executes only with the parameters it was approved for.
type Params struct {
	Subjects []string `json:"subjects,omitempty"`
	Fields   []string `json:"fields,omitempty"`
	Record   string   `json:"record,omitempty"`
	Purpose  string   `json:"purpose"`
	Format   string   `json:"format,omitempty"`
	// ValueDigest identifies a bulk modification's new value without keeping it.
	ValueDigest string `json:"value_digest,omitempty"`
	ReasonCode  string `json:"reason_code,omitempty"`
}

func (p Params) canonical() string {
	b, _ := json.Marshal(p) // field order is fixed by the struct
	return string(b)
}

// Request is an approval request.
type Request struct {
	ID           string        `json:"id"`
	Action       policy.Action `json:"action"`
	Requester    string        `json:"requester"` // account ID
	Params       Params        `json:"params"`
	Records      int           `json:"records"`
	Reason       string        `json:"reason"`
	Status       string        `json:"status"`
	CreatedAt    time.Time     `json:"created_at"`
	ExpiresAt    time.Time     `json:"expires_at"`
	DecidedBy    string        `json:"decided_by,omitempty"`
	DecidedAt    *time.Time    `json:"decided_at,omitempty"`
	DecisionNote string        `json:"decision_note,omitempty"`
	ExecutedAt   *time.Time    `json:"executed_at,omitempty"`
}

// Store keeps approval requests.
type Store struct {
	db  *store.DB
	log *audit.Log
	clk clock.Clock
	ttl time.Duration
}

// New returns a Store whose requests expire after ttl (default 24 hours).
func New(db *store.DB, log *audit.Log, clk clock.Clock, ttl time.Duration) *Store {
	if clk == nil {
		clk = clock.Real{}
	}
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	return &Store{db: db, log: log, clk: clk, ttl: ttl}
}

// Actor is who acts on a request.
type Actor struct {
	AccountID string
	AuditID   string // as the audit log names them, "staff:…"
	Roles     []policy.Role
}

// approvers says who may decide each kind of request: a reveal past the
// limit needs the PI protection officer (ACC-6); creating staff accounts,
// changing roles and resetting credentials another security administrator
// (dual control, ACC-1); bulk work any approver.
func approvers(a policy.Action) []policy.Role {
	switch a {
	case policy.Reveal:
		return []policy.Role{policy.DPO}
	case policy.ManageStaff, policy.ResetCredentials:
		return []policy.Role{policy.SecurityAdmin}
	}
	return []policy.Role{policy.DPO, policy.SecurityAdmin}
}

var (
	errNotFound = errs.New(errs.NotFound, "id", "审批申请不存在", "no such approval request")
	errSelf     = errs.New(errs.Forbidden, "id", "不能审批自己提出的申请", "nobody approves their own request").With("self_approval", nil, "")
	errRole     = errs.New(errs.Forbidden, "", "无权审批此类申请", "you may not decide this kind of request").With(policy.ReasonNotPermitted, nil, "")
	errDecided  = errs.New(errs.Conflict, "id", "该申请已处理或已过期", "this request was already decided or has expired")
	// ErrUnusable: the approval named is not approved, already used,
	// expired, someone else's, or for other parameters.
	ErrUnusable = errs.New(errs.ApprovalRequired, "approval_id", "审批未通过、已使用、已过期或与本次操作不符",
		"the approval is not approved, already used, expired, or for a different operation")
)

// Create files a request inside tx and audits it.
func (s *Store) Create(ctx context.Context, tx *store.Tx, by Actor, action policy.Action, p Params, records int, reason string) (Request, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Request{}, fmt.Errorf("approval: id: %w", err)
	}
	now := s.clk.Now()
	r := Request{ID: id.String(), Action: action, Requester: by.AccountID, Params: p, Records: records,
		Reason: clean(reason), Status: Pending, CreatedAt: now, ExpiresAt: now.Add(s.ttl)}
	_, err = tx.Exec(ctx, `INSERT INTO approvals (id, action, requester, params, records, reason, status, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, string(action), r.Requester, p.canonical(), records, r.Reason, Pending,
		now.UnixMicro(), r.ExpiresAt.UnixMicro())
	if err != nil {
		return Request{}, fmt.Errorf("approval: create: %w", err)
	}
	return r, s.log.Append(ctx, tx, audit.Entry{Actor: by.AuditID, Channel: "api", Action: "approval.request",
		Fields: audit.SortedFields(p.Fields...), Purpose: p.Purpose, Subject: subjectOf(action, p),
		Detail: map[string]string{"approval": r.ID, "action": string(action), "records": fmt.Sprint(records)}})
}

// subjectOf is the audit subject of a new request.
func subjectOf(a policy.Action, p Params) string {
	if a == policy.ManageStaff || a == policy.ResetCredentials {
		return ""
	}
	return single(p.Subjects)
}

// single is the audit subject of a request about one data subject.
func single(subjects []string) string {
	if len(subjects) == 1 {
		return subjects[0]
	}
	return ""
}

// clean keeps a free-text reason safe for the permanent log: PI redacted,
// 200 characters at most.
func clean(reason string) string {
	r := []rune(obs.Redact(reason))
	if len(r) > 200 {
		r = r[:200]
	}
	return string(r)
}

const cols = `id, action, requester, params, records, reason, status, created_at, expires_at, decided_by, decided_at, decision_note, executed_at`

func (s *Store) scan(row interface{ Scan(...any) error }) (Request, error) {
	var r Request
	var action, params string
	var created, expires int64
	var decidedBy, note sql.NullString
	var decidedAt, executedAt sql.NullInt64
	if err := row.Scan(&r.ID, &action, &r.Requester, &params, &r.Records, &r.Reason, &r.Status, &created, &expires,
		&decidedBy, &decidedAt, &note, &executedAt); err != nil {
		return r, err
	}
	r.Action = policy.Action(action)
	if err := json.Unmarshal([]byte(params), &r.Params); err != nil {
		return r, fmt.Errorf("approval: params of %s: %w", r.ID, err)
	}
	r.CreatedAt, r.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	r.DecidedBy, r.DecisionNote = decidedBy.String, note.String
	if decidedAt.Valid {
		t := time.UnixMicro(decidedAt.Int64).UTC()
		r.DecidedAt = &t
	}
	if executedAt.Valid {
		t := time.UnixMicro(executedAt.Int64).UTC()
		r.ExecutedAt = &t
	}
	if (r.Status == Pending || r.Status == Approved) && !s.clk.Now().Before(r.ExpiresAt) {
		r.Status = Expired
	}
	return r, nil
}

// Get returns one request.
func (s *Store) Get(ctx context.Context, q store.Querier, id string) (Request, error) {
	r, err := s.scan(q.QueryRow(ctx, `SELECT `+cols+` FROM approvals WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, errNotFound
	}
	if err != nil {
		return r, fmt.Errorf("approval: get: %w", err)
	}
	return r, nil
}

// List returns requests, newest first: status "" means all; requester ""
// means everyone's; limit ≤ 500.
func (s *Store) List(ctx context.Context, status, requester string, limit int) ([]Request, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	var where []string
	var args []any
	switch status {
	case "":
	case Expired:
		where, args = append(where, "status IN ('pending', 'approved') AND expires_at <= ?"), append(args, s.clk.Now().UnixMicro())
	case Pending, Approved:
		where, args = append(where, "status = ? AND expires_at > ?"), append(args, status, s.clk.Now().UnixMicro())
	default:
		where, args = append(where, "status = ?"), append(args, status)
	}
	if requester != "" {
		where, args = append(where, "requester = ?"), append(args, requester)
	}
	q := `SELECT ` + cols + ` FROM approvals`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC LIMIT ?"
	rows, err := s.db.Query(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("approval: list: %w", err)
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r, err := s.scan(rows)
		if err != nil {
			return nil, fmt.Errorf("approval: list: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Decide approves or rejects a pending request. The decider must hold an
// approver role for the request's action and must not be its requester.
func (s *Store) Decide(ctx context.Context, by Actor, id string, approve bool, note string) (Request, error) {
	var out Request
	var refusal error
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		refusal = nil
		// On PostgreSQL, lock the request first so that a concurrent
		// decision is seen (and this attempt audited as refused) rather
		// than rolled back unrecorded. SQLite's writes are serial already.
		if tx.Engine() == store.Postgres {
			if _, err := tx.Exec(ctx, `SELECT id FROM approvals WHERE id = ? FOR UPDATE`, id); err != nil {
				return fmt.Errorf("approval: decide: %w", err)
			}
		}
		r, err := s.Get(ctx, tx, id)
		if err != nil {
			return err
		}
		switch {
		case r.Requester == by.AccountID:
			refusal = errSelf
		case !hasAny(by.Roles, approvers(r.Action)):
			refusal = errRole
		case r.Status != Pending:
			refusal = errDecided
		}
		outcome, status := "ok", Rejected
		if approve {
			status = Approved
		}
		if refusal != nil {
			outcome = string(errs.CodeOf(refusal))
		}
		if err := s.log.Append(ctx, tx, audit.Entry{Actor: by.AuditID, Channel: "api", Action: "approval." + map[bool]string{true: "approve", false: "reject"}[approve],
			Subject: subjectOf(r.Action, r.Params), Purpose: r.Params.Purpose, Outcome: outcome,
			Detail: map[string]string{"approval": r.ID, "action": string(r.Action), "requester": r.Requester}}); err != nil {
			return err
		}
		if refusal != nil {
			return nil // commit the audit entry of the refused attempt
		}
		now := s.clk.Now().UnixMicro()
		res, err := tx.Exec(ctx, `UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, decision_note = ? WHERE id = ? AND status = 'pending'`,
			status, by.AccountID, now, clean(note), r.ID)
		if err != nil {
			return fmt.Errorf("approval: decide: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errDecided
		}
		out, err = s.Get(ctx, tx, id)
		return err
	})
	if err != nil {
		return Request{}, err
	}
	if refusal != nil {
		return Request{}, refusal
	}
	return out, nil
}

// Consume marks an approved request executed inside tx, the transaction of
// the operation itself, after checking it is approved, unexpired, unused,
// requested by this account for this action, and approved for exactly these
// parameters. A second Consume of the same request fails.
func (s *Store) Consume(ctx context.Context, tx *store.Tx, id, requester string, action policy.Action, p Params) error {
	r, err := s.Get(ctx, tx, id)
	if errors.Is(err, errNotFound) {
		return ErrUnusable
	}
	if err != nil {
		return err
	}
	if r.Status != Approved || r.Requester != requester || r.Action != action || r.Params.canonical() != p.canonical() {
		return ErrUnusable
	}
	res, err := tx.Exec(ctx, `UPDATE approvals SET status = 'executed', executed_at = ? WHERE id = ? AND status = 'approved'`,
		s.clk.Now().UnixMicro(), id)
	if err != nil {
		return fmt.Errorf("approval: consume: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrUnusable
	}
	return nil
}

// Usable reports whether Consume would succeed, without consuming.
func (s *Store) Usable(ctx context.Context, id, requester string, action policy.Action, p Params) bool {
	r, err := s.Get(ctx, s.db, id)
	return err == nil && r.Status == Approved && r.Requester == requester && r.Action == action && r.Params.canonical() == p.canonical()
}

func hasAny(have, want []policy.Role) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}
