// Package access is where the decision point meets the vault: every read,
// reveal, export and bulk change of personal information by anyone goes
// through a Guard, which gathers the facts (the caller's roles, the catalog
// labels of the fields, the subject's consent, reveals used, approvals on
// file), asks policy.Decide, records the decision in the audit chain, and
// only then touches the vault (ACC-2, ACC-3, ACC-5, ACC-6, ACC-8, AUD-1).
//
// The Guard is the only holder of the vault's capability Issuer, so no
// other code can obtain a whole value.
package access

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"gigvault/internal/approval"
	"gigvault/internal/audit"
	"gigvault/internal/catalog"
	"gigvault/internal/clock"
	"gigvault/internal/consent"
	"gigvault/internal/errs"
	"gigvault/internal/policy"
	"gigvault/internal/store"
	"gigvault/internal/vault"
)

// Principal is an authenticated caller: a live session and its account.
type Principal struct {
	SessionID string
	AccountID string
	Kind      string // worker | employer | staff
	SubjectID string
	OrgID     string
	Roles     []policy.Role
}

// ActorID names the principal in the audit log.
func (p *Principal) ActorID() string { return p.Kind + ":" + p.AccountID }

// Actor is the principal as the vault records it.
func (p *Principal) Actor() vault.Actor { return vault.Actor{ID: p.ActorID(), Channel: "api"} }

// ApprovalActor is the principal as the approval store knows them.
func (p *Principal) ApprovalActor() approval.Actor {
	return approval.Actor{AccountID: p.AccountID, AuditID: p.ActorID(), Roles: p.Roles}
}

// Has reports whether the principal holds any of roles.
func (p *Principal) Has(roles ...policy.Role) bool {
	for _, r := range roles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}

// Config sets the limits.
type Config struct {
	RevealLimit  int           // whole-value reveals per staff member per window (50)
	RevealWindow time.Duration // (1 hour)
	BulkLimit    int           // records per person per BulkWindow above which export, download and bulk change need approval (100)
	BulkWindow   time.Duration // (24 hours)
}

func (c Config) defaults() Config {
	if c.RevealLimit <= 0 {
		c.RevealLimit = 50
	}
	if c.RevealWindow <= 0 {
		c.RevealWindow = time.Hour
	}
	if c.BulkLimit <= 0 {
		c.BulkLimit = 100
	}
	if c.BulkWindow <= 0 {
		c.BulkWindow = 24 * time.Hour
	}
	return c
}

// Guard is the decision point's enforcement.
type Guard struct {
	db        *store.DB
	vault     *vault.Vault
	issuer    *vault.Issuer
	cat       *catalog.Catalog
	consent   consent.Source
	approvals *approval.Store
	log       *audit.Log
	rec       *audit.Recorder
	clk       clock.Clock
	cfg       Config
}

// New returns a Guard. It takes the vault's Issuer: no one else should hold it.
func New(db *store.DB, v *vault.Vault, iss *vault.Issuer, cons consent.Source, appr *approval.Store, log *audit.Log, clk clock.Clock, cfg Config) *Guard {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Guard{db: db, vault: v, issuer: iss, cat: v.Catalog(), consent: cons, approvals: appr, log: log,
		rec: v.Recorder(), clk: clk, cfg: cfg.defaults()}
}

// Config returns the effective limits.
func (g *Guard) Config() Config { return g.cfg }

// ReasonCodes are the accepted reasons for revealing a whole value (ACC-6).
var ReasonCodes = []string{"customer_request", "dispute", "fraud_investigation", "legal_request", "data_correction"}

func (g *Guard) labels(names []string) ([]policy.Field, error) { return g.labelsFor("fields", names) }

// labelsFor is labels naming input field in its error.
func (g *Guard) labelsFor(input string, names []string) ([]policy.Field, error) {
	out := make([]policy.Field, 0, len(names))
	for _, n := range names {
		f, ok := g.cat.Field(n)
		if !ok {
			return nil, errs.New(errs.Invalid, input, "该字段未在个人信息目录中声明", "a field is not declared in the PI catalog").With("", []string{n}, "")
		}
		out = append(out, policy.Field{Name: f.Name, Level: f.Level, Sensitive: f.Sensitive, Purposes: f.Purposes})
	}
	return out, nil
}

// fieldsFor lists the catalog fields declared for purpose.
func (g *Guard) fieldsFor(purpose string) []string {
	var out []string
	for _, f := range g.cat.Fields() {
		if slices.Contains(f.Purposes, purpose) {
			out = append(out, f.Name)
		}
	}
	return out
}

func (g *Guard) relation(p *Principal, subject string) policy.Relation {
	if p.SubjectID != "" && p.SubjectID == subject {
		return policy.Self
	}
	return policy.None
}

// decide asks the decision point and audits every refusal; an allowed
// access is audited by the vault with the decision attached.
func (g *Guard) decide(ctx context.Context, p *Principal, subject string, r policy.Request) (policy.Decision, error) {
	r.Roles = p.Roles
	var answer consent.Answer
	if r.Consent == "" {
		r.Consent = policy.NoConsent
		if r.Relation != policy.Self && subject != "" && r.Purpose != "" {
			q := consent.Query{Subject: subject, Purpose: r.Purpose}
			for _, f := range r.Fields {
				q.Sensitive = q.Sensitive || f.Sensitive
			}
			q.Recipient = r.Recipient
			if q.Recipient == "" && (r.Relation == policy.Shared || r.Relation == policy.ContactGranted) && p.OrgID != "" {
				q.Recipient = consent.Scope(consent.KindRecipient, p.OrgID)
			}
			if r.Relation == policy.Published {
				// A public résumé stays found only while the person's
				// consent to publishing it stands.
				q.Recipient = consent.Scope(consent.KindFunction, PublishingFunction)
			}
			var err error
			if answer, err = g.consent.Check(ctx, q); err != nil {
				return policy.Decision{}, err
			}
			r.Consent = answer.State
		}
	}
	d := policy.Decide(r)
	if d.Reason == policy.ReasonConsentRequired && len(answer.Missing) > 0 {
		d.Missing = answer.Missing // name the scopes still to agree to
	}
	if d.Effect == policy.Allow || d.Effect == policy.Mask {
		d.Basis = answer.Basis
	}
	if d.Effect == policy.Deny || d.Effect == policy.NeedsApproval {
		names := make([]string, len(r.Fields))
		for i, f := range r.Fields {
			names[i] = f.Name
		}
		if err := g.rec.Record(ctx, audit.Entry{Actor: p.ActorID(), Channel: "api", Action: "pi.decision", Subject: subject,
			Fields: audit.SortedFields(names...), Purpose: r.Purpose, Outcome: string(d.Effect),
			Detail: decisionDetail(r, d)}); err != nil {
			return d, err
		}
	}
	return d, nil
}

func decisionDetail(r policy.Request, d policy.Decision) map[string]string {
	m := map[string]string{"action": string(r.Action), "reason": d.Reason, "relation": string(r.Relation)}
	if len(d.Missing) > 0 {
		m["missing"] = strings.Join(d.Missing, ",")
	}
	return m
}

// decided carries an allowed decision into the vault's audit entry.
func decided(ctx context.Context, d policy.Decision) context.Context {
	return vault.WithDecision(ctx, string(d.Effect), d.Reason, d.Basis)
}

// refusal turns a negative decision into the API's error.
func refusal(d policy.Decision, ref string) error {
	switch {
	case d.Reason == policy.ReasonConsentRequired:
		return errs.New(errs.ConsentRequired, "purpose", "缺少个人信息主体的同意", "the subject has not consented to this purpose").With(d.Reason, d.Missing, "")
	case d.Effect == policy.NeedsApproval:
		return errs.New(errs.ApprovalRequired, "", "此操作需要另一名审批人批准，已提交审批申请", "this needs a second person's approval: a request has been filed").With(d.Reason, d.Missing, ref)
	case d.Reason == policy.ReasonReasonRequired:
		return errs.New(errs.Invalid, "reason", "查看完整信息须说明理由", "a reveal needs a reason").With(d.Reason, nil, "")
	case d.Reason == policy.ReasonPurposeUndeclared:
		return errs.New(errs.Forbidden, "purpose", "该用途未在个人信息目录中声明", "the purpose is not declared for these fields").With(d.Reason, d.Missing, "")
	}
	return errs.New(errs.Forbidden, "", "无权访问该个人信息", "you may not access this personal information").With(d.Reason, d.Missing, "")
}

// ReadOwn returns the caller's own stored values, whole (DSR-1: a person
// sees their own data in full).
func (g *Guard) ReadOwn(ctx context.Context, p *Principal) ([]vault.Value, error) {
	if p.SubjectID == "" || p.Kind == "staff" {
		return nil, nil // staff accounts keep no PI in the vault: only sealed credentials
	}
	fields, err := g.labels(g.catNames())
	if err != nil {
		return nil, err
	}
	d, err := g.decide(ctx, p, p.SubjectID, policy.Request{Relation: policy.Self, Action: policy.Read, Fields: fields, Purpose: policy.PurposeRights})
	if err != nil {
		return nil, err
	}
	if d.Effect != policy.Allow {
		return nil, refusal(d, "")
	}
	rev, err := g.issuer.IssueSubject(p.ActorID(), p.SubjectID, policy.PurposeRights, "own data", time.Minute)
	if err != nil {
		return nil, err
	}
	return g.vault.List(decided(ctx, d), p.Actor(), policy.PurposeRights, p.SubjectID, vault.ListOptions{Reveal: rev})
}

// OwnValue returns one of the caller's own values whole, for purpose: the
// identity service re-verifying its own number, say.
func (g *Guard) OwnValue(ctx context.Context, p *Principal, field, purpose string) (string, error) {
	fields, err := g.labels([]string{field})
	if err != nil {
		return "", err
	}
	d, err := g.decide(ctx, p, p.SubjectID, policy.Request{Relation: g.relation(p, p.SubjectID), Action: policy.Reveal, Fields: fields,
		Purpose: purpose, Reason: "own data"})
	if err != nil {
		return "", err
	}
	if d.Effect != policy.Allow {
		return "", refusal(d, "")
	}
	rev, err := g.issuer.Issue(p.ActorID(), p.SubjectID, field, "", purpose, "own data", time.Minute)
	if err != nil {
		return "", err
	}
	v, err := g.vault.Get(decided(ctx, d), p.Actor(), purpose, p.SubjectID, field, "", rev)
	return v.Text, err
}

func (g *Guard) catNames() []string {
	out := make([]string, len(g.cat.Fields()))
	for i, f := range g.cat.Fields() {
		out[i] = f.Name
	}
	return out
}

// Read returns another subject's values declared for purpose, masked.
func (g *Guard) Read(ctx context.Context, p *Principal, subject, purpose string) ([]vault.Value, error) {
	names := g.fieldsFor(purpose)
	if len(names) == 0 {
		return nil, errs.New(errs.Invalid, "purpose", "未知的处理目的", "unknown purpose")
	}
	fields, err := g.labels(names)
	if err != nil {
		return nil, err
	}
	d, err := g.decide(ctx, p, subject, policy.Request{Relation: g.relation(p, subject), Action: policy.Read, Fields: fields, Purpose: purpose})
	if err != nil {
		return nil, err
	}
	if d.Effect != policy.Mask && d.Effect != policy.Allow {
		return nil, refusal(d, "")
	}
	var rev *vault.Reveal
	if d.Effect == policy.Allow {
		if rev, err = g.issuer.IssueSubject(p.ActorID(), subject, purpose, d.Reason, time.Minute); err != nil {
			return nil, err
		}
	}
	return g.vault.List(decided(ctx, d), p.Actor(), purpose, subject, vault.ListOptions{Fields: names, Reveal: rev})
}

// RevealRequest asks for one value whole.
type RevealRequest struct {
	Subject, Field, Record, Purpose string
	ReasonCode                      string // one of ReasonCodes
	Reason                          string // free text
	ApprovalID                      string // a DPO approval, once past the limit
}

func (r RevealRequest) params() approval.Params {
	rec := r.Record
	if rec == "" {
		rec = vault.MainRecord
	}
	return approval.Params{Subjects: []string{r.Subject}, Fields: []string{r.Field}, Record: rec, Purpose: r.Purpose, ReasonCode: r.ReasonCode}
}

// Reveal shows one value whole to a staff member (ACC-6, ACC-8): it needs
// the permission, a reason code and a free-text reason; past RevealLimit in
// RevealWindow it needs a DPO's approval, which a request is filed for.
func (g *Guard) Reveal(ctx context.Context, p *Principal, r RevealRequest) (vault.Value, error) {
	if !slices.Contains(ReasonCodes, r.ReasonCode) {
		return vault.Value{}, errs.New(errs.Invalid, "reason_code", "请选择查看理由", "choose a reason code").With("", ReasonCodes, "")
	}
	reason := strings.TrimSpace(r.Reason)
	fields, err := g.labelsFor("field", []string{r.Field})
	if err != nil {
		return vault.Value{}, err
	}
	var approved *policy.Approval
	if r.ApprovalID != "" {
		if !g.approvals.Usable(ctx, r.ApprovalID, p.AccountID, policy.Reveal, r.params()) {
			return vault.Value{}, g.unusable(ctx, p, r.Subject, policy.Reveal, []string{r.Field}, r.Purpose, r.ApprovalID)
		}
		approved = &policy.Approval{Action: policy.Reveal, Valid: true}
	}
	var d policy.Decision
	for attempt := 0; ; attempt++ {
		used, err := g.revealsUsed(ctx, g.db, p.AccountID)
		if err != nil {
			return vault.Value{}, err
		}
		req := policy.Request{Relation: g.relation(p, r.Subject), Action: policy.Reveal, Fields: fields, Purpose: r.Purpose,
			Reason: reason, RevealsUsed: used, RevealLimit: g.cfg.RevealLimit, Approval: approved}
		if d, err = g.decide(ctx, p, r.Subject, req); err != nil {
			return vault.Value{}, err
		}
		if d.Effect == policy.NeedsApproval {
			ref, err := g.fileApproval(ctx, p, policy.Reveal, r.params(), 1, r.ReasonCode+": "+reason)
			if err != nil {
				return vault.Value{}, err
			}
			return vault.Value{}, refusal(d, ref)
		}
		if d.Effect != policy.Allow {
			return vault.Value{}, refusal(d, "")
		}
		// Count the reveal (and use the approval) before the value leaves,
		// re-counting under the account's lock: parallel reveals cannot
		// all slip under the limit.
		raced := false
		err = g.db.InTx(ctx, func(tx *store.Tx) error {
			raced = false
			if err := tx.LockKey(ctx, "gigvault/account/"+p.AccountID); err != nil {
				return err
			}
			if approved != nil {
				return errors.Join(g.approvals.Consume(ctx, tx, r.ApprovalID, p.AccountID, policy.Reveal, r.params()), g.countReveal(ctx, tx, p.AccountID))
			}
			n, err := g.revealsUsed(ctx, tx, p.AccountID)
			if err != nil {
				return err
			}
			if n >= g.cfg.RevealLimit && p.Kind == "staff" {
				raced = true
				return nil
			}
			return g.countReveal(ctx, tx, p.AccountID)
		})
		if err != nil {
			if e := errs.As(err); e.Code != errs.Internal {
				return vault.Value{}, e
			}
			return vault.Value{}, fmt.Errorf("access: reveal: %w", err)
		}
		if !raced || attempt == 2 {
			if raced {
				return vault.Value{}, errs.New(errs.RateLimited, "", "查看过于频繁，请稍后再试", "too many reveals at once: try again").After(time.Second)
			}
			break
		}
	}
	rev, err := g.issuer.Issue(p.ActorID(), r.Subject, r.Field, r.Record, r.Purpose, r.ReasonCode+": "+reason, time.Minute)
	if err != nil {
		return vault.Value{}, err
	}
	return g.vault.Get(decided(ctx, d), p.Actor(), r.Purpose, r.Subject, r.Field, r.Record, rev)
}

// unusable audits an attempt with an approval that cannot be used and
// returns the error saying so.
func (g *Guard) unusable(ctx context.Context, p *Principal, subject string, action policy.Action, fields []string, purpose, id string) error {
	err := g.rec.Record(ctx, audit.Entry{Actor: p.ActorID(), Channel: "api", Action: "pi.decision", Subject: subject,
		Fields: audit.SortedFields(fields...), Purpose: purpose, Outcome: string(policy.Deny),
		Detail: map[string]string{"action": string(action), "reason": ReasonApprovalUnusable, "approval": id}})
	if err != nil {
		return err
	}
	return approval.ErrUnusable.With(ReasonApprovalUnusable, nil, "")
}

// ReasonApprovalUnusable: the approval named cannot be used for this request.
const ReasonApprovalUnusable = "approval_unusable"

func (g *Guard) revealsUsed(ctx context.Context, q store.Querier, account string) (int, error) {
	var n int
	since := g.clk.Now().Add(-g.cfg.RevealWindow).UnixMicro()
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM reveals WHERE account_id = ? AND at > ?`, account, since).Scan(&n); err != nil {
		return 0, fmt.Errorf("access: reveals used: %w", err)
	}
	return n, nil
}

func (g *Guard) bulkUsed(ctx context.Context, q store.Querier, account string) (int, error) {
	var n sql.NullInt64
	since := g.clk.Now().Add(-g.cfg.BulkWindow).UnixMicro()
	if err := q.QueryRow(ctx, `SELECT SUM(records) FROM bulk_usage WHERE account_id = ? AND at > ?`, account, since).Scan(&n); err != nil {
		return 0, fmt.Errorf("access: bulk records used: %w", err)
	}
	return int(n.Int64), nil
}

func (g *Guard) countReveal(ctx context.Context, tx *store.Tx, account string) error {
	_, err := tx.Exec(ctx, `INSERT INTO reveals (id, account_id, at) VALUES (?, ?, ?)`, uuid.NewString(), account, g.clk.Now().UnixMicro())
	return err
}

// RevealsUsed reports the caller's reveals in the current window and the limit.
func (g *Guard) RevealsUsed(ctx context.Context, p *Principal) (used, limit int, err error) {
	used, err = g.revealsUsed(ctx, g.db, p.AccountID)
	return used, g.cfg.RevealLimit, err
}

func (g *Guard) fileApproval(ctx context.Context, p *Principal, action policy.Action, params approval.Params, records int, reason string) (string, error) {
	var id string
	err := g.db.InTx(ctx, func(tx *store.Tx) error {
		r, err := g.approvals.Create(ctx, tx, p.ApprovalActor(), action, params, records, reason)
		id = r.ID
		return err
	})
	return id, err
}

// BulkRequest is an export, download or bulk change over many subjects.
type BulkRequest struct {
	Action     policy.Action // Export, Download or BulkModify
	Subjects   []string
	Fields     []string
	Purpose    string
	Reason     string
	ApprovalID string
	// Value is the new value of a bulk change (one field only).
	Value string
	// Recipient, for an export or download provided to a third party,
	// is its consent scope ("recipient:<id>" or "processor:<id>"): each
	// subject's row then also needs their consent to that recipient
	// unless the purpose rests on a legal basis (SHR-5).
	Recipient string
}

func (b BulkRequest) params() approval.Params {
	p := approval.Params{Subjects: b.Subjects, Fields: b.Fields, Purpose: b.Purpose}
	if b.Action == policy.BulkModify {
		sum := sha256.Sum256([]byte(b.Value))
		p.ValueDigest = hex.EncodeToString(sum[:])
	}
	return p
}

// Row is one subject's values in an export.
type Row struct {
	Subject string        `json:"subject"`
	Values  []vault.Value `json:"values"`
	Error   string        `json:"error,omitempty"`  // an error code: "consent_required", "forbidden", "erased", …
	Reason  string        `json:"reason,omitempty"` // the decision's reason code, when the decision point refused
}

// Bulk runs an export, download or bulk change (ACC-5): above BulkLimit
// records it files an approval request and answers approval_required with
// its ID; resubmitted with that ID once approved, it runs exactly once.
// Exports are masked; a bulk change writes one value to one field of every
// subject.
func (g *Guard) Bulk(ctx context.Context, p *Principal, b BulkRequest) ([]Row, error) {
	switch b.Action {
	case policy.Export, policy.Download, policy.BulkModify:
	default:
		return nil, errs.New(errs.Invalid, "action", "不支持的批量操作", "unknown bulk action")
	}
	if len(b.Subjects) == 0 || len(b.Subjects) > 10000 {
		return nil, errs.New(errs.Invalid, "subjects", "请指定 1 至 10000 个个人信息主体", "name between 1 and 10000 subjects")
	}
	// Sorted copies: the caller's slices are theirs, and stay as they were
	// (Compact would zero their tail).
	b.Subjects = slices.Compact(slices.Sorted(slices.Values(b.Subjects)))
	if b.Action == policy.BulkModify && len(b.Fields) != 1 {
		return nil, errs.New(errs.Invalid, "fields", "批量修改一次只能修改一个字段", "a bulk change sets exactly one field")
	}
	b.Fields = slices.Sorted(slices.Values(b.Fields))
	fields, err := g.labels(b.Fields)
	if err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		return nil, errs.New(errs.Invalid, "fields", "请指定字段", "name the fields")
	}
	var approved *policy.Approval
	if b.ApprovalID != "" {
		// An approval that cannot be used is said so, rather than
		// silently filing another request.
		if !g.approvals.Usable(ctx, b.ApprovalID, p.AccountID, b.Action, b.params()) {
			return nil, g.unusable(ctx, p, "", b.Action, b.Fields, b.Purpose, b.ApprovalID)
		}
		approved = &policy.Approval{Action: b.Action, Valid: true}
	}
	// The limit is per person over BulkWindow: what this request touches
	// plus what they already processed without an approval, so a large job
	// split into small ones still needs one (ACC-5).
	var req policy.Request
	var d policy.Decision
	for attempt := 0; ; attempt++ {
		used, err := g.bulkUsed(ctx, g.db, p.AccountID)
		if err != nil {
			return nil, err
		}
		// Consent is per subject; the role, purpose and approval questions
		// are asked once for the batch (with consent assumed), then each
		// subject's consent decides its row.
		req = policy.Request{Relation: policy.None, Action: b.Action, Fields: fields, Purpose: b.Purpose,
			Records: used + len(b.Subjects), BulkLimit: g.cfg.BulkLimit, Consent: policy.Granted, Approval: approved}
		if d, err = g.decide(ctx, p, "", req); err != nil {
			return nil, err
		}
		if d.Effect == policy.NeedsApproval {
			ref, err := g.fileApproval(ctx, p, b.Action, b.params(), len(b.Subjects), b.Reason)
			if err != nil {
				return nil, err
			}
			return nil, refusal(d, ref)
		}
		if d.Effect == policy.Deny {
			return nil, refusal(d, "")
		}
		raced := false
		err = g.db.InTx(ctx, func(tx *store.Tx) error {
			raced = false
			if approved != nil {
				return g.approvals.Consume(ctx, tx, b.ApprovalID, p.AccountID, b.Action, b.params())
			}
			if err := tx.LockKey(ctx, "gigvault/account/"+p.AccountID); err != nil {
				return err
			}
			n, err := g.bulkUsed(ctx, tx, p.AccountID)
			if err != nil {
				return err
			}
			if n+len(b.Subjects) > g.cfg.BulkLimit {
				raced = true
				return nil
			}
			_, err = tx.Exec(ctx, `INSERT INTO bulk_usage (id, account_id, records, at) VALUES (?, ?, ?, ?)`,
				uuid.NewString(), p.AccountID, len(b.Subjects), g.clk.Now().UnixMicro())
			return err
		})
		if err != nil {
			return nil, err
		}
		if !raced {
			break
		}
		if attempt == 2 {
			return nil, errs.New(errs.RateLimited, "", "批量操作过于频繁，请稍后再试", "too many bulk operations at once: try again").After(time.Second)
		}
	}
	rows := make([]Row, 0, len(b.Subjects))
	for _, s := range b.Subjects {
		row := Row{Subject: s}
		sd, err := g.decide(ctx, p, s, policy.Request{Relation: g.relation(p, s), Action: b.Action, Fields: fields, Purpose: b.Purpose,
			Records: len(b.Subjects), BulkLimit: g.cfg.BulkLimit, Approval: req.Approval, Recipient: b.Recipient})
		if err != nil {
			return nil, err
		}
		if sd.Effect == policy.Deny || sd.Effect == policy.NeedsApproval {
			row.Error, row.Reason = string(errs.CodeOf(refusal(sd, ""))), sd.Reason
			rows = append(rows, row)
			continue
		}
		sctx := decided(ctx, sd)
		if b.Action == policy.BulkModify {
			err = g.vault.Put(sctx, p.Actor(), b.Purpose, s, vault.Item{Field: b.Fields[0], Value: b.Value})
		} else {
			row.Values, err = g.vault.List(sctx, p.Actor(), b.Purpose, s, vault.ListOptions{Fields: b.Fields})
		}
		if err != nil {
			e := errs.As(err)
			if e.Code == errs.Internal {
				return nil, err
			}
			row.Error = string(e.Code)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// WriteOwn stores the caller's own values inside tx (a profile, a résumé):
// a person may always write their own data for a purpose the catalog
// declares for it.
func (g *Guard) WriteOwn(ctx context.Context, tx *store.Tx, p *Principal, purpose string, items ...vault.Item) error {
	if p.SubjectID == "" || p.Kind == "staff" {
		return errs.New(errs.Forbidden, "", "只有用户本人可以填写自己的信息", "only users write their own data")
	}
	names := make([]string, 0, len(items))
	for _, it := range items {
		names = append(names, it.Field)
	}
	fields, err := g.labels(names)
	if err != nil {
		return err
	}
	d, err := g.decide(ctx, p, p.SubjectID, policy.Request{Relation: policy.Self, Action: policy.Write, Fields: fields, Purpose: purpose})
	if err != nil {
		return err
	}
	if d.Effect != policy.Allow {
		return refusal(d, "")
	}
	return g.vault.PutTx(decided(ctx, d), tx, p.Actor(), purpose, p.SubjectID, items...)
}

// DeleteOwn deletes the caller's own values of fields inside tx.
func (g *Guard) DeleteOwn(ctx context.Context, tx *store.Tx, p *Principal, purpose string, fields ...string) (int, error) {
	if p.SubjectID == "" || p.Kind == "staff" {
		return 0, errs.New(errs.Forbidden, "", "只有用户本人可以删除自己的信息", "only users delete their own data")
	}
	labels, err := g.labels(fields)
	if err != nil {
		return 0, err
	}
	d, err := g.decide(ctx, p, p.SubjectID, policy.Request{Relation: policy.Self, Action: policy.Erase, Fields: labels, Purpose: policy.PurposeRights})
	if err != nil {
		return 0, err
	}
	if d.Effect != policy.Allow {
		return 0, refusal(d, "")
	}
	return g.vault.DeleteTx(decided(ctx, d), tx, p.Actor(), purpose, p.SubjectID, fields...)
}

// PruneOwn keeps the newest keep values of one of the caller's own
// multi-valued fields written since the given time, deleting the rest in
// tx (search history, GIG-3).
func (g *Guard) PruneOwn(ctx context.Context, tx *store.Tx, p *Principal, purpose, field string, keep int, since time.Time) (int, error) {
	if p.SubjectID == "" || p.Kind == "staff" {
		return 0, errs.New(errs.Forbidden, "", "只有用户本人可以删除自己的信息", "only users delete their own data")
	}
	return g.vault.PruneTx(ctx, tx, p.Actor(), purpose, p.SubjectID, field, keep, since)
}

// PublishingFunction is the registry function whose consent makes a résumé
// public.
const PublishingFunction = "info_publishing"

// ReadShared returns values a subject shared with the caller's
// organisation — a résumé sent with an application. The caller establishes
// the relation from the application; the decision point then needs the
// subject's consent to the purpose and to this recipient, so a withdrawal
// stops further provision at once (SHR-5). Values are masked, or whole
// for ContactGranted.
func (g *Guard) ReadShared(ctx context.Context, p *Principal, subject, purpose string, names []string, rel policy.Relation) ([]vault.Value, error) {
	if rel != policy.Shared && rel != policy.ContactGranted && rel != policy.Published {
		return nil, errs.New(errs.Forbidden, "", "该求职者未向您的单位提供信息", "this person has not shared data with your organisation")
	}
	fields, err := g.labels(names)
	if err != nil {
		return nil, err
	}
	d, err := g.decide(ctx, p, subject, policy.Request{Relation: rel, Action: policy.Read, Fields: fields, Purpose: purpose})
	if err != nil {
		return nil, err
	}
	if d.Effect != policy.Mask && d.Effect != policy.Allow {
		return nil, refusal(d, "")
	}
	return g.vault.List(decided(ctx, d), p.Actor(), purpose, subject, vault.ListOptions{Fields: names})
}

// RevealContact shows an employer member one of the worker's contact
// values whole, once the worker accepted contact (relation ContactGranted):
// decided, token-bound and audited like a staff reveal, without the staff
// reveal budget — the caller allows one per application.
func (g *Guard) RevealContact(ctx context.Context, p *Principal, subject, field, purpose, reason string) (vault.Value, error) {
	fields, err := g.labelsFor("field", []string{field})
	if err != nil {
		return vault.Value{}, err
	}
	d, err := g.decide(ctx, p, subject, policy.Request{Relation: policy.ContactGranted, Action: policy.Reveal, Fields: fields,
		Purpose: purpose, Reason: reason, RevealLimit: 1})
	if err != nil {
		return vault.Value{}, err
	}
	if d.Effect != policy.Allow {
		return vault.Value{}, refusal(d, "")
	}
	rev, err := g.issuer.Issue(p.ActorID(), subject, field, vault.MainRecord, purpose, reason, time.Minute)
	if err != nil {
		return vault.Value{}, err
	}
	return g.vault.Get(decided(ctx, d), p.Actor(), purpose, subject, field, vault.MainRecord, rev)
}

// ProcessFor reads fields of subject whole for processing the platform
// itself carries out for the person, on purpose — writing the bank
// payment file of a payout, say — never to show them to anyone. The
// person's consent to the purpose (with the sensitive scope when a field
// is sensitive) is checked first; the read is audited with the actor, the
// purpose, the reason and the consent's basis. Missing fields are simply
// absent from the result.
func (g *Guard) ProcessFor(ctx context.Context, actor vault.Actor, subject, purpose, reason string, fields []string) ([]vault.Value, error) {
	labels, err := g.labels(fields)
	if err != nil {
		return nil, err
	}
	sensitive := false
	for _, f := range labels {
		sensitive = sensitive || f.Sensitive
	}
	ans, err := g.consent.Check(ctx, consent.Query{Subject: subject, Purpose: purpose, Sensitive: sensitive})
	if err != nil {
		return nil, err
	}
	if ans.State != policy.Granted && ans.State != policy.Exception { // a legal-basis exception (CON-13) needs no consent
		if err := g.rec.Record(ctx, audit.Entry{Actor: actor.ID, Channel: actor.Channel, Action: "pi.decision", Subject: subject,
			Fields: audit.SortedFields(fields...), Purpose: purpose, Outcome: string(policy.Deny),
			Detail: map[string]string{"reason": policy.ReasonConsentRequired, "missing": strings.Join(ans.Missing, ",")}}); err != nil {
			return nil, err
		}
		return nil, refusal(policy.Decision{Effect: policy.Deny, Reason: policy.ReasonConsentRequired, Missing: ans.Missing}, "")
	}
	rev, err := g.issuer.IssueSubject(actor.ID, subject, purpose, reason, time.Minute)
	if err != nil {
		return nil, err
	}
	ctx = vault.WithDecision(ctx, string(policy.Allow), reason, ans.Basis)
	return g.vault.List(ctx, actor, purpose, subject, vault.ListOptions{Fields: fields, Reveal: rev})
}

// Consent asks the decision point's consent question directly, for
// processing that reads no vault value (recommendations ranked on
// profile data, say) or before a person's own act that needs it. It
// records nothing: the caller answers a refusal to the person.
func (g *Guard) Consent(ctx context.Context, subject, purpose string, sensitive bool) (consent.Answer, error) {
	return g.consent.Check(ctx, consent.Query{Subject: subject, Purpose: purpose, Sensitive: sensitive})
}
