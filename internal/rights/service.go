package rights

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"gigvault/internal/access"
	"gigvault/internal/audit"
	"gigvault/internal/catalog"
	"gigvault/internal/errs"
	"gigvault/internal/format"
	"gigvault/internal/idv"
	"gigvault/internal/keys"
	"gigvault/internal/sharing"
	"gigvault/internal/store"
	"gigvault/internal/vault"
)

// Notice is an outbound delivery to queue: a deletion notice to a
// recipient of the person's data (DSR-4), or a copy sent to a recipient the
// person named (DSR-3).
type Notice struct {
	Kind          string // deletion_notice | copy
	RequestID     string
	SubjectID     string
	Recipient     string
	RecipientKind string
	Fields        []string
	LedgerIDs     []string
}

// Outbox queues deliveries inside the caller's transaction.
type Outbox interface {
	Enqueue(ctx context.Context, tx *store.Tx, n Notice) (string, error)
}

// Service carries out requests.
type Service struct {
	*Store
	DB     *store.DB
	Cat    *catalog.Catalog
	Guard  *access.Guard
	Vault  *vault.Vault
	Keys   *keys.Keyring
	Ledger *sharing.Ledger
	IDV    *idv.Store
	Outbox Outbox
	Log    *audit.Log
	Retain RetentionSpans
	// Deliverable reports whether a recipient can be sent a copy (a
	// registered recipient with a delivery endpoint); nil: none can.
	Deliverable func(recipient string) bool
}

// Held is returned when a legal hold stops a deletion.
var Held = errs.New(errs.Conflict, "subject", "该用户的数据处于法律保全状态，暂不能删除", "the person's data is under a legal hold and cannot be deleted now").With("legal_hold", nil, "")

// UnderHold reports whether subject is under an active legal hold.
func (s *Service) UnderHold(ctx context.Context, q store.Querier, subject string) (bool, error) {
	var n int
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM legal_holds WHERE subject_id = ? AND released_at IS NULL`, subject).Scan(&n); err != nil {
		return false, fmt.Errorf("rights: legal hold: %w", err)
	}
	return n > 0, nil
}

// FieldInfo describes one catalog field a person has values of (DSR-1).
type FieldInfo struct {
	Field     string   `json:"field"`
	Zh        string   `json:"zh"`
	En        string   `json:"en"`
	Sensitive bool     `json:"sensitive"`
	Source    string   `json:"source"`
	Purposes  []string `json:"purposes"`
	Retention string   `json:"retention"`
	Statutory string   `json:"kept_after_cancellation,omitempty"`
	Values    []Held1  `json:"values"`
}

// Held1 is one value held.
type Held1 struct {
	Record    string `json:"record"`
	Value     string `json:"value"`
	UpdatedAt string `json:"updated_at"`
}

// CategoryInfo groups fields by catalog category.
type CategoryInfo struct {
	Category string      `json:"category"`
	Fields   []FieldInfo `json:"fields"`
}

// Inventory is the answer to an access request: what is held about the
// person by category, with source, purposes and retention, and every
// provision of their data to a third party from the sharing ledger.
type Inventory struct {
	Categories []CategoryInfo `json:"categories"`
	Recipients []sharing.Row  `json:"recipients"`
}

// Inventory reads everything held about the caller, whole (their own data
// under rights_request), and who received it.
func (s *Service) Inventory(ctx context.Context, p *access.Principal) (Inventory, []vault.Value, error) {
	vals, err := s.Guard.ReadOwn(ctx, p)
	if err != nil {
		return Inventory{}, nil, err
	}
	inv := Inventory{Categories: []CategoryInfo{}}
	byField := map[string]*FieldInfo{}
	var order []string
	for _, v := range vals {
		f, ok := s.Cat.Field(v.Field)
		if !ok {
			continue
		}
		fi := byField[v.Field]
		if fi == nil {
			fi = &FieldInfo{Field: f.Name, Zh: f.Zh, En: f.En, Sensitive: f.Sensitive, Source: f.Source, Purposes: f.Purposes,
				Retention: f.Retention.String(), Statutory: f.Statutory.String()}
			byField[v.Field] = fi
			order = append(order, v.Field)
		}
		fi.Values = append(fi.Values, Held1{Record: v.Record, Value: v.Text, UpdatedAt: v.UpdatedAt.Format("2006-01-02T15:04:05Z07:00")})
	}
	for _, c := range catalog.Categories {
		ci := CategoryInfo{Category: string(c)}
		for _, name := range order {
			f, _ := s.Cat.Field(name)
			if f.Category == c {
				ci.Fields = append(ci.Fields, *byField[name])
			}
		}
		if len(ci.Fields) > 0 {
			inv.Categories = append(inv.Categories, ci)
		}
	}
	if inv.Recipients, err = s.Ledger.BySubject(ctx, p.SubjectID); err != nil {
		return Inventory{}, nil, err
	}
	if inv.Recipients == nil {
		inv.Recipients = []sharing.Row{}
	}
	return inv, vals, nil
}

// HasIdentityFields reports whether fields include an identity-category one.
func (s *Service) HasIdentityFields(fields []string) bool {
	for _, name := range fields {
		if f, ok := s.Cat.Field(name); ok && f.Category == "identity" {
			return true
		}
	}
	return false
}

// WithoutIdentity drops identity-category values.
func (s *Service) WithoutIdentity(vals []vault.Value) []vault.Value {
	return slices.DeleteFunc(slices.Clone(vals), func(v vault.Value) bool {
		f, ok := s.Cat.Field(v.Field)
		return ok && f.Category == "identity"
	})
}

// RequireTwoFactor refuses a copy of identity data to a requester not
// verified at 2 factors or more.
func (s *Service) RequireTwoFactor(ctx context.Context, subject string) error {
	if s.IDV == nil {
		return errs.New(errs.Unavailable, "", "身份核验服务不可用", "identity verification is unavailable")
	}
	lvl, err := s.IDV.Level(ctx, subject)
	if err != nil {
		return err
	}
	if lvl.Level < 2 {
		return errs.New(errs.Forbidden, "include_identity", "获取身份信息副本须先完成二要素身份核验", "a copy of identity data needs 2-factor identity verification first").
			With("identity_verification_required", []string{"level:2"}, "")
	}
	return nil
}

// Deletable splits fields a person asks to delete into those that go and
// those kept, with the reason for each kept one: records the law requires
// (a statutory period in the catalog) and what the account itself needs
// (the mobile number it logs in with: cancel the account to remove it).
func (s *Service) Deletable(fields []string) (del []string, kept map[string]string) {
	kept = map[string]string{}
	for _, name := range fields {
		f, ok := s.Cat.Field(name)
		switch {
		case !ok:
			continue
		case f.Statutory.Unit != 0:
			kept[name] = "legally_retained"
		case name == "mobile" || name == "login_password_digest" || name == "username":
			kept[name] = "needed_for_account"
		default:
			del = append(del, name)
		}
	}
	sort.Strings(del)
	return del, kept
}

// Delete carries out a deletion request inside tx: the chosen fields (all
// the person has, for scope "all") that are neither legally retained nor
// needed by the account are deleted, and every recipient that received any
// of them gets a deletion notice (DSR-4).
func (s *Service) Delete(ctx context.Context, tx *store.Tx, p *access.Principal, r Request, fields []string) (deleted int, gone []string, kept map[string]string, notices int, err error) {
	if held, err := s.UnderHold(ctx, tx, p.SubjectID); err != nil || held {
		if err == nil {
			err = Held
		}
		return 0, nil, nil, 0, err
	}
	gone, kept = s.Deletable(fields)
	if len(gone) > 0 {
		if deleted, err = s.Guard.DeleteOwn(ctx, tx, p, "rights_request", gone...); err != nil {
			return 0, nil, nil, 0, err
		}
	}
	notices, err = s.notify(ctx, tx, r, p.SubjectID, gone)
	return deleted, gone, kept, notices, err
}

// notify queues one deletion notice per recipient that received any of
// fields (all fields when nil), naming the provisions concerned.
func (s *Service) notify(ctx context.Context, tx *store.Tx, r Request, subject string, fields []string) (int, error) {
	if s.Outbox == nil {
		return 0, nil
	}
	rows, err := s.Ledger.BySubject(ctx, subject)
	if err != nil {
		return 0, err
	}
	type acc struct {
		kind           string
		fields, ledger []string
	}
	by := map[string]*acc{}
	var order []string
	for _, row := range rows {
		var hit []string
		for _, f := range row.Fields {
			if fields == nil || slices.Contains(fields, f) {
				hit = append(hit, f)
			}
		}
		if len(hit) == 0 {
			continue
		}
		a := by[row.Recipient]
		if a == nil {
			a = &acc{kind: row.RecipientKind}
			by[row.Recipient] = a
			order = append(order, row.Recipient)
		}
		for _, f := range hit {
			if !slices.Contains(a.fields, f) {
				a.fields = append(a.fields, f)
			}
		}
		a.ledger = append(a.ledger, row.ID)
	}
	sort.Strings(order)
	for _, rcp := range order {
		a := by[rcp]
		sort.Strings(a.fields)
		if _, err := s.Outbox.Enqueue(ctx, tx, Notice{Kind: "deletion_notice", RequestID: r.ID, SubjectID: subject, Recipient: rcp,
			RecipientKind: a.kind, Fields: a.fields, LedgerIDs: a.ledger}); err != nil {
			return 0, err
		}
	}
	return len(order), nil
}

// CheckProposal validates a proposed correction of field: a catalog field,
// and a value in its format.
func (s *Service) CheckProposal(field, value string) error {
	f, ok := s.Cat.Field(field)
	if !ok {
		return errs.New(errs.Invalid, "field", "该字段未在个人信息目录中声明", "a field is not declared in the PI catalog")
	}
	if err := format.Validate(f.Format, value); err != nil {
		return errs.Wrap(errs.Invalid, "value", "更正后的值格式不正确", "the corrected value is not well formed", err)
	}
	return nil
}

// SealProposal seals a proposed correction under the subject's data key.
func (s *Service) SealProposal(ctx context.Context, subject, id, field, value string) ([]byte, int, error) {
	if err := s.CheckProposal(field, value); err != nil {
		return nil, 0, err
	}
	return s.Keys.Seal(ctx, subject, []byte(value), proposalAAD(id, field))
}

func proposalAAD(id, field string) []byte {
	return []byte("gigvault/rights/correction/" + id + "/" + field)
}

// Proposal opens a correction request's proposed value.
func (s *Service) Proposal(ctx context.Context, r Request) (string, error) {
	if r.Kind != Correction || r.sealed == nil || len(r.Params.Fields) != 1 {
		return "", errs.New(errs.Invalid, "id", "不是更正请求", "not a correction request")
	}
	pt, err := s.Keys.Open(ctx, r.SubjectID, r.sealedVer, r.sealed, proposalAAD(r.ID, r.Params.Fields[0]))
	if err != nil {
		return "", errs.Wrap(errs.Erased, "id", "更正内容已不可读取", "the proposed value can no longer be read", err)
	}
	return string(pt), nil
}

// MaskedProposal shows a handler the proposed value masked by the catalog.
func (s *Service) MaskedProposal(ctx context.Context, r Request) (string, error) {
	v, err := s.Proposal(ctx, r)
	if err != nil {
		return "", err
	}
	f, _ := s.Cat.Field(r.Params.Fields[0])
	return format.Mask(f.Mask, v)
}

// ApplyCorrection writes an accepted correction into the vault inside tx,
// as the handler, for the person's request.
func (s *Service) ApplyCorrection(ctx context.Context, tx *store.Tx, actor vault.Actor, r Request) error {
	v, err := s.Proposal(ctx, r)
	if err != nil {
		return err
	}
	return s.Vault.PutTx(vault.WithDecision(ctx, "allow", "rights_request", "legal_obligation"), tx, actor, "rights_request", r.SubjectID,
		vault.Item{Field: r.Params.Fields[0], Record: r.Params.Record, Value: v})
}

// Post adds a message to a request: the text into the subject's vault, the
// metadata beside the request.
func (s *Service) Post(ctx context.Context, tx *store.Tx, p *access.Principal, r Request, author, text string) (string, error) {
	text = strings.TrimSpace(text)
	if n := len([]rune(text)); n < 1 || n > 2000 {
		return "", errs.New(errs.Invalid, "message", "留言须为1至2000个字符", "a message is 1 to 2000 characters")
	}
	id, err := s.AddMessage(ctx, tx, r, author, p.ActorID())
	if err != nil {
		return "", err
	}
	return id, s.Guard.WriteRequestMessage(ctx, tx, p, r.SubjectID, id, text)
}

// SystemPost adds a message from the platform (an extension notice) to a
// request; its text is written for the subject under rights_request.
func (s *Service) SystemPost(ctx context.Context, tx *store.Tx, r Request, text string) error {
	id, err := s.AddMessage(ctx, tx, r, "system", "system:rights")
	if err != nil {
		return err
	}
	return s.Vault.PutTx(vault.WithDecision(ctx, "allow", "rights_request", "legal_obligation"), tx,
		vault.Actor{ID: "system:rights", Channel: "system"}, "rights_request", r.SubjectID, vault.Item{Field: access.RequestField, Record: id, Value: text})
}

// Thread returns a request's messages with their texts, read as p.
func (s *Service) Thread(ctx context.Context, p *access.Principal, r Request) ([]Message, error) {
	ms, err := s.Messages(ctx, r.ID)
	if err != nil || len(ms) == 0 {
		return []Message{}, err
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	texts, err := s.Guard.RequestMessages(ctx, p, r.SubjectID, r.ID, ids)
	if err != nil {
		return nil, err
	}
	for i := range ms {
		ms[i].Text = texts[ms[i].ID]
	}
	return ms, nil
}

// HeldFields lists the fields subject has values of, from the rows alone
// (nothing is decrypted).
func (s *Service) HeldFields(ctx context.Context, q store.Querier, subject string) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT field FROM pi_values WHERE subject_id = ? ORDER BY field`, subject)
	if err != nil {
		return nil, fmt.Errorf("rights: held fields: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return nil, fmt.Errorf("rights: held fields: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
