// Package rights handles data-subject requests (DSR-1 to DSR-7), complaints
// and appeals against automated decisions (CON-12), and account
// cancellation (DSR-5), each against a deadline counted in PRC working days.
//
// A request is a rights_requests row: who asked (the subject), what
// (kind, category, non-PI parameters), how the requester was verified
// (a fresh SMS code, and 2-factor identity verification for a copy that
// includes identity data: DSR-7), when it was received and when it falls
// due (received + 15 working days, configurable, with an optional shorter
// target). What a person writes — a complaint, a corrected value — is never
// in the row in clear: messages are support_ticket values in the subject's
// vault and a proposed correction is sealed under their data key, so the
// catalog's retention and the person's erasure apply to them.
//
// Statuses: confirming (a cancellation awaiting its second confirmation),
// open, in_progress, completed, rejected, withdrawn. The deadline clock
// (Tick) reminds handlers RemindDays working days before a request falls due
// and expires unconfirmed cancellations; Overdue feeds a Prometheus gauge.
package rights

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
	"gigvault/internal/store"
)

// Kind is what a request asks for.
type Kind string

// The kinds.
const (
	Access       Kind = "access"       // DSR-1: what is held, its source, purposes, retention, recipients
	Copy         Kind = "copy"         // DSR-3: a machine-readable copy, optionally sent to a named third party
	Correction   Kind = "correction"   // DSR-2
	Deletion     Kind = "deletion"     // DSR-4
	Complaint    Kind = "complaint"    // DSR-6
	Appeal       Kind = "appeal"       // CON-12: human review of an automated decision
	Cancellation Kind = "cancellation" // DSR-5
)

// Kinds lists every kind.
var Kinds = []Kind{Access, Copy, Correction, Deletion, Complaint, Appeal, Cancellation}

// Status is where a request stands.
type Status string

// The statuses.
const (
	Confirming Status = "confirming"
	Open       Status = "open"
	InProgress Status = "in_progress"
	Completed  Status = "completed"
	Rejected   Status = "rejected"
	Withdrawn  Status = "withdrawn"
)

// live are the statuses whose deadline runs.
var live = []Status{Open, InProgress}

// Categories of complaints (DSR-6) and of appeals (CON-12): the automated
// decisions gigvault makes that affect people.
var (
	ComplaintCategories = []string{"privacy", "consent", "sharing", "security", "account", "marketing", "other"}
	AppealCategories    = []string{"recommendation", "identity_verification", "payout_validation", "risk_control", "other"}
)

// Params are a request's parameters that are not personal information.
type Params struct {
	Fields          []string `json:"fields,omitempty"`           // deletion of chosen fields; the field of a correction
	Scope           string   `json:"scope,omitempty"`            // deletion: "fields" or "all"
	Record          string   `json:"record,omitempty"`           // correction: the record of a multi-valued field
	IncludeIdentity bool     `json:"include_identity,omitempty"` // copy: include identity data (needs 2-factor verification)
	DeliverTo       string   `json:"deliver_to,omitempty"`       // copy: a registered recipient to send it to
	DecisionRef     string   `json:"decision_ref,omitempty"`     // appeal: the decision appealed against
	Explanation     string   `json:"explanation,omitempty"`      // cancellation: digest of the consequences shown
}

// Request is a rights request as stored.
type Request struct {
	ID              string     `json:"id"`
	SubjectID       string     `json:"-"`
	Kind            Kind       `json:"kind"`
	Status          Status     `json:"status"`
	Category        string     `json:"category,omitempty"`
	Params          Params     `json:"params"`
	VerifiedWith    string     `json:"verified_with"`
	ReceivedAt      time.Time  `json:"received_at"`
	DueAt           time.Time  `json:"due_at"`
	DueDate         string     `json:"due_date"`
	TargetAt        time.Time  `json:"target_at"`
	RemindedAt      *time.Time `json:"reminded_at,omitempty"`
	ExtendedAt      *time.Time `json:"extended_at,omitempty"`
	ExtensionReason string     `json:"extension_reason,omitempty"`
	Handler         string     `json:"handler,omitempty"`
	Outcome         string     `json:"outcome,omitempty"`
	CompletedAt     *time.Time `json:"completed_at,omitempty"`
	UpdatedAt       time.Time  `json:"updated_at"`

	sealed    []byte
	sealedVer int
}

// Live reports whether the request's deadline is running.
func (r Request) Live() bool { return slices.Contains(live, r.Status) }

// Store keeps requests.
type Store struct {
	db  *store.DB
	log *audit.Log
	clk clock.Clock
	dl  Deadlines
}

// NewStore returns a Store.
func NewStore(db *store.DB, log *audit.Log, clk clock.Clock, dl Deadlines) *Store {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Store{db: db, log: log, clk: clk, dl: dl.withDefaults()}
}

// Deadlines returns the effective deadline settings.
func (s *Store) Deadlines() Deadlines { return s.dl }

// ErrNotFound is a request that does not exist (or is not the caller's).
var ErrNotFound = errs.New(errs.NotFound, "id", "请求不存在", "no such request")

const cols = `id, subject_id, kind, status, category, params, sealed, sealed_version, verified_with, created_at, due_at, target_at,
	reminded_at, extended_at, extension_reason, handler, outcome, completed_at, updated_at`

// New describes a request to create.
type New struct {
	Subject      string
	Kind         Kind
	Category     string
	Params       Params
	VerifiedWith string
	Status       Status // Open unless Confirming
	Sealed       []byte
	SealedVer    int
}

// NewID returns a fresh request or message ID.
func NewID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("rights: id: %w", err)
	}
	return id.String(), nil
}

// Create records a received request inside tx, with its deadline, and
// audits it.
func (s *Store) Create(ctx context.Context, tx *store.Tx, id string, n New, actor, channel string) (Request, error) {
	if !slices.Contains(Kinds, n.Kind) {
		return Request{}, errs.New(errs.Invalid, "kind", "未知的请求类型", "unknown request kind")
	}
	if n.Status == "" {
		n.Status = Open
	}
	now := s.clk.Now()
	r := Request{ID: id, SubjectID: n.Subject, Kind: n.Kind, Status: n.Status, Category: n.Category, Params: n.Params,
		VerifiedWith: n.VerifiedWith, ReceivedAt: now, DueAt: s.dl.Due(now), TargetAt: s.dl.Target(now), UpdatedAt: now,
		sealed: n.Sealed, sealedVer: n.SealedVer}
	r.DueDate = DueDate(r.DueAt)
	params, err := json.Marshal(r.Params)
	if err != nil {
		return Request{}, fmt.Errorf("rights: params: %w", err)
	}
	var ver any
	if n.Sealed != nil {
		ver = n.SealedVer
	}
	if _, err := tx.Exec(ctx, `INSERT INTO rights_requests (id, subject_id, kind, status, category, params, sealed, sealed_version, verified_with,
		created_at, due_at, target_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.SubjectID, string(r.Kind), string(r.Status), r.Category, string(params), n.Sealed, ver, r.VerifiedWith,
		now.UnixMicro(), r.DueAt.UnixMicro(), r.TargetAt.UnixMicro(), now.UnixMicro()); err != nil {
		return Request{}, fmt.Errorf("rights: create: %w", err)
	}
	return r, s.log.Append(ctx, tx, audit.Entry{Actor: actor, Channel: channel, Action: "rights.request", Subject: r.SubjectID,
		Purpose: "rights_request", Outcome: string(r.Status), Detail: map[string]string{
			"request": r.ID, "kind": string(r.Kind), "category": r.Category, "verified_with": r.VerifiedWith, "due_date": r.DueDate}})
}

func scanRequest(sc interface{ Scan(...any) error }) (Request, error) {
	var r Request
	var kind, status, params string
	var ver, reminded, extended, completed sql.NullInt64
	var created, due, target, updated int64
	if err := sc.Scan(&r.ID, &r.SubjectID, &kind, &status, &r.Category, &params, &r.sealed, &ver, &r.VerifiedWith, &created, &due, &target,
		&reminded, &extended, &r.ExtensionReason, &r.Handler, &r.Outcome, &completed, &updated); err != nil {
		return r, err
	}
	r.Kind, r.Status, r.sealedVer = Kind(kind), Status(status), int(ver.Int64)
	if err := json.Unmarshal([]byte(params), &r.Params); err != nil {
		return r, fmt.Errorf("rights: params of %s: %w", r.ID, err)
	}
	r.ReceivedAt, r.DueAt, r.TargetAt, r.UpdatedAt = micros(created), micros(due), micros(target), micros(updated)
	r.DueDate = DueDate(r.DueAt)
	r.RemindedAt, r.ExtendedAt, r.CompletedAt = optMicros(reminded), optMicros(extended), optMicros(completed)
	return r, nil
}

func micros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func optMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := micros(v.Int64)
	return &t
}

// Get returns a request.
func (s *Store) Get(ctx context.Context, q store.Querier, id string) (Request, error) {
	r, err := scanRequest(q.QueryRow(ctx, `SELECT `+cols+` FROM rights_requests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("rights: get: %w", err)
	}
	return r, nil
}

// Own returns a request if it is subject's.
func (s *Store) Own(ctx context.Context, subject, id string) (Request, error) {
	r, err := s.Get(ctx, s.db, id)
	if err == nil && r.SubjectID != subject {
		return Request{}, ErrNotFound
	}
	return r, err
}

func (s *Store) list(ctx context.Context, where string, args ...any) ([]Request, error) {
	rows, err := s.db.Query(ctx, `SELECT `+cols+` FROM rights_requests `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("rights: list: %w", err)
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("rights: list: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// BySubject lists a subject's requests, newest first.
func (s *Store) BySubject(ctx context.Context, subject string) ([]Request, error) {
	return s.list(ctx, `WHERE subject_id = ? ORDER BY created_at DESC, id DESC LIMIT 200`, subject)
}

// Filter selects requests for the staff queue.
type Filter struct {
	Kind    Kind
	Status  Status // "" means live (open and in progress)
	Overdue bool   // only live requests past due
	Limit   int    // default 100, at most 500
}

// Queue lists requests for handlers, soonest due first.
func (s *Store) Queue(ctx context.Context, f Filter) ([]Request, error) {
	where, args := []string{}, []any{}
	switch {
	case f.Status != "":
		where, args = append(where, `status = ?`), append(args, string(f.Status))
	default:
		where = append(where, `status IN ('open', 'in_progress')`)
	}
	if f.Overdue {
		where, args = append(where, `due_at <= ?`), append(args, s.clk.Now().UnixMicro())
	}
	if f.Kind != "" {
		where, args = append(where, `kind = ?`), append(args, string(f.Kind))
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	return s.list(ctx, `WHERE `+strings.Join(where, ` AND `)+fmt.Sprintf(` ORDER BY due_at, id LIMIT %d`, f.Limit), args...)
}

// errNotLive refuses a change to a request that is no longer running.
func errNotLive(r Request) error {
	return errs.New(errs.Conflict, "id", "该请求已结束，无法再更改", "the request is closed").With("status_"+string(r.Status), nil, r.ID)
}

// Transition moves a request to status inside tx (completing or rejecting
// it records who and the outcome code) and audits it. It refuses requests
// already closed, and compares the status it read so concurrent handlers
// cannot both close one.
func (s *Store) Transition(ctx context.Context, tx *store.Tx, r Request, to Status, handler, outcome, actor, channel string) (Request, error) {
	if r.Status != Confirming && !r.Live() {
		return r, errNotLive(r)
	}
	now := s.clk.Now()
	var completed any
	if to == Completed || to == Rejected || to == Withdrawn {
		completed = now.UnixMicro()
	}
	res, err := tx.Exec(ctx, `UPDATE rights_requests SET status = ?, handler = CASE WHEN ? = '' THEN handler ELSE ? END, outcome = ?,
		completed_at = ?, updated_at = ? WHERE id = ? AND status = ?`,
		string(to), handler, handler, outcome, completed, now.UnixMicro(), r.ID, string(r.Status))
	if err != nil {
		return r, fmt.Errorf("rights: transition: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return r, errs.New(errs.Conflict, "id", "请求状态已被他人更改，请刷新", "the request changed meanwhile: reload it")
	}
	from := r.Status
	r.Status, r.Outcome, r.UpdatedAt = to, outcome, now
	if handler != "" {
		r.Handler = handler
	}
	if completed != nil {
		r.CompletedAt = &now
	}
	detail := map[string]string{"request": r.ID, "kind": string(r.Kind), "from": string(from), "outcome": outcome}
	if r.Live() || completed != nil {
		detail["on_time"] = fmt.Sprint(!now.After(r.DueAt))
	}
	return r, s.log.Append(ctx, tx, audit.Entry{Actor: actor, Channel: channel, Action: "rights." + string(to), Subject: r.SubjectID,
		Purpose: "rights_request", Outcome: string(to), Detail: detail})
}

// Confirmed starts the deadline of a cancellation at its second
// confirmation: the request counts as received then.
func (s *Store) Confirmed(ctx context.Context, tx *store.Tx, r Request, verifiedWith, actor string) (Request, error) {
	if r.Status != Confirming {
		return r, errs.New(errs.Conflict, "id", "该注销申请不在待确认状态", "the cancellation is not awaiting confirmation").With("status_"+string(r.Status), nil, r.ID)
	}
	now := s.clk.Now()
	r.DueAt, r.TargetAt = s.dl.Due(now), s.dl.Target(now)
	r.DueDate = DueDate(r.DueAt)
	if _, err := tx.Exec(ctx, `UPDATE rights_requests SET created_at = ?, due_at = ?, target_at = ?, verified_with = ? WHERE id = ?`,
		now.UnixMicro(), r.DueAt.UnixMicro(), r.TargetAt.UnixMicro(), verifiedWith, r.ID); err != nil {
		return r, fmt.Errorf("rights: confirm: %w", err)
	}
	r.VerifiedWith, r.ReceivedAt = verifiedWith, now
	return s.Transition(ctx, tx, r, Open, "", "confirmed", actor, "api")
}

// Extend moves a live request's due date by days working days, once, for
// a recorded reason, and tells the requester (a system message the caller
// writes). The reason is shown to the requester: it must not carry PI.
func (s *Store) Extend(ctx context.Context, tx *store.Tx, r Request, days int, reason, actor string) (Request, error) {
	if !r.Live() {
		return r, errNotLive(r)
	}
	if r.ExtendedAt != nil {
		return r, errs.New(errs.Conflict, "id", "每个请求只能延期一次", "a request can be extended once").With("already_extended", nil, r.ID)
	}
	if days < 1 || days > s.dl.MaxExtensionDays {
		return r, errs.New(errs.Invalid, "working_days", fmt.Sprintf("延长期限须为1至%d个工作日", s.dl.MaxExtensionDays),
			fmt.Sprintf("an extension is 1 to %d working days", s.dl.MaxExtensionDays))
	}
	now := s.clk.Now()
	due := s.dl.Extend(r.DueAt, days)
	if _, err := tx.Exec(ctx, `UPDATE rights_requests SET due_at = ?, extended_at = ?, extension_reason = ?, reminded_at = NULL, updated_at = ?
		WHERE id = ? AND extended_at IS NULL`, due.UnixMicro(), now.UnixMicro(), reason, now.UnixMicro(), r.ID); err != nil {
		return r, fmt.Errorf("rights: extend: %w", err)
	}
	old := r.DueDate
	r.DueAt, r.ExtendedAt, r.ExtensionReason, r.RemindedAt, r.UpdatedAt = due, &now, reason, nil, now
	r.DueDate = DueDate(due)
	return r, s.log.Append(ctx, tx, audit.Entry{Actor: actor, Channel: "api", Action: "rights.extend", Subject: r.SubjectID,
		Purpose: "rights_request", Outcome: "ok", Detail: map[string]string{"request": r.ID, "kind": string(r.Kind),
			"from": old, "to": r.DueDate, "working_days": fmt.Sprint(days)}})
}

// Message is one message on a request; its text is in the subject's vault.
type Message struct {
	ID        string    `json:"id"`
	Author    string    `json:"author"` // subject | staff | system
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
	actor     string
}

// AddMessage records a message's metadata inside tx; the caller stores its
// text in the vault under the returned ID.
func (s *Store) AddMessage(ctx context.Context, tx *store.Tx, r Request, author, actor string) (string, error) {
	id, err := NewID()
	if err != nil {
		return "", err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO rights_messages (id, request_id, author, actor, created_at) VALUES (?, ?, ?, ?, ?)`,
		id, r.ID, author, actor, s.clk.Now().UnixMicro()); err != nil {
		return "", fmt.Errorf("rights: message: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE rights_requests SET updated_at = ? WHERE id = ?`, s.clk.Now().UnixMicro(), r.ID); err != nil {
		return "", fmt.Errorf("rights: message: %w", err)
	}
	return id, nil
}

// Messages lists a request's messages without their texts.
func (s *Store) Messages(ctx context.Context, requestID string) ([]Message, error) {
	rows, err := s.db.Query(ctx, `SELECT id, author, actor, created_at FROM rights_messages WHERE request_id = ? ORDER BY created_at, id`, requestID)
	if err != nil {
		return nil, fmt.Errorf("rights: messages: %w", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var at int64
		if err := rows.Scan(&m.ID, &m.Author, &m.actor, &at); err != nil {
			return nil, fmt.Errorf("rights: messages: %w", err)
		}
		m.CreatedAt = micros(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

func isConflict(err error) bool { return errs.Is(err, errs.Conflict) }
