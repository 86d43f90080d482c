// Package sharing keeps the sharing ledger (SHR-1, SHR-5): every provision
// of personal information outside gigvault — an application sharing a
// résumé with an employer, an export, a transfer to a processor — appends
// one row in the transaction of the provision itself, naming the recipient,
// purpose, catalog fields, how many subjects and records, the legal basis
// and the consent relied on. Rows are queryable by subject (what the access
// right shows a person) and by recipient. No row holds a PI value.
package sharing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"gigvault/internal/catalog"
	"gigvault/internal/clock"
	"gigvault/internal/errs"
	"gigvault/internal/store"
)

// Legal bases a provision may rest on (PIPL art. 13 as the standards
// restate it); consent needs a consent reference.
var LegalBases = []string{"consent", "contract", "legal_obligation", "vital_interest", "public_interest", "published_data"}

// Recipient kinds.
var RecipientKinds = []string{"sdk", "recipient", "processor", "employer", "subject_named"}

// Provision is one provision of PI to one recipient.
type Provision struct {
	Recipient     string   `json:"recipient"`
	RecipientKind string   `json:"recipient_kind"`
	Purpose       string   `json:"purpose"`
	Fields        []string `json:"fields"`
	Subjects      []string `json:"-"`       // the subjects concerned; stored apart, counted in the row
	Records       int      `json:"records"` // values provided
	LegalBasis    string   `json:"legal_basis"`
	ConsentRef    string   `json:"consent_ref,omitempty"`
	Actor         string   `json:"actor"`
	Channel       string   `json:"channel"`
}

// Row is a ledger row as read back.
type Row struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
	Provision
	SubjectN int `json:"subjects"`
}

// Ledger appends and queries provisions.
type Ledger struct {
	db  *store.DB
	cat *catalog.Catalog
	clk clock.Clock
}

// New returns a Ledger.
func New(db *store.DB, cat *catalog.Catalog, clk clock.Clock) *Ledger {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Ledger{db: db, cat: cat, clk: clk}
}

func invalid(field, zh, en string) *errs.Error { return errs.New(errs.Invalid, field, zh, en) }

// check validates a provision: a known recipient kind and legal basis, a
// consent reference when the basis is consent, catalog fields declared for
// the purpose, at least one subject and record.
func (l *Ledger) check(p *Provision) error {
	if strings.TrimSpace(p.Recipient) == "" {
		return invalid("recipient", "须指明接收方", "name the recipient")
	}
	if !slices.Contains(RecipientKinds, p.RecipientKind) {
		return invalid("recipient_kind", "未知的接收方类型", "unknown recipient kind")
	}
	if !slices.Contains(LegalBases, p.LegalBasis) {
		return invalid("legal_basis", "未知的合法性基础", "unknown legal basis")
	}
	if p.LegalBasis == "consent" && strings.TrimSpace(p.ConsentRef) == "" {
		return invalid("consent_ref", "基于同意的提供须记录所依据的同意", "a provision based on consent must name the consent relied on")
	}
	if len(p.Fields) == 0 {
		return invalid("fields", "须列明提供的个人信息类型", "list the PI types provided")
	}
	for _, f := range p.Fields {
		cf, ok := l.cat.Field(f)
		if !ok {
			return invalid("fields", "该字段未在个人信息目录中声明", "a field is not declared in the PI catalog").With("", []string{f}, "")
		}
		// A copy sent where the person asked (DSR-3) carries whatever they
		// hold: the right covers every field, as the decision point's
		// own-rights rule does.
		ownRight := p.RecipientKind == "subject_named" && p.Purpose == "rights_request"
		if !ownRight && !slices.Contains(cf.Purposes, p.Purpose) {
			return invalid("purpose", "该用途未在个人信息目录中为此字段声明", "the purpose is not declared for a field").With("", []string{f}, "")
		}
	}
	if len(p.Subjects) == 0 || p.Records < len(p.Subjects) {
		return invalid("records", "须记录涉及的主体数和记录数", "record how many subjects and records were provided")
	}
	return nil
}

// Append records p inside tx, the transaction of the provision, and
// returns the row's ID.
func (l *Ledger) Append(ctx context.Context, tx *store.Tx, p Provision) (string, error) {
	p.Fields = slices.Compact(slices.Sorted(slices.Values(p.Fields)))
	p.Subjects = slices.Compact(slices.Sorted(slices.Values(p.Subjects)))
	if err := l.check(&p); err != nil {
		return "", err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("sharing: id: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO sharing_ledger (id, at, recipient, recipient_kind, purpose, fields, subjects, records, legal_basis, consent_ref, actor, channel)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id.String(), l.clk.Now().UnixMicro(), p.Recipient, p.RecipientKind, p.Purpose,
		strings.Join(p.Fields, ","), len(p.Subjects), p.Records, p.LegalBasis, p.ConsentRef, p.Actor, p.Channel)
	if err != nil {
		return "", fmt.Errorf("sharing: append: %w", err)
	}
	for _, s := range p.Subjects {
		if _, err := tx.Exec(ctx, `INSERT INTO sharing_subjects (ledger_id, subject_id) VALUES (?, ?)`, id.String(), s); err != nil {
			return "", fmt.Errorf("sharing: append: %w", err)
		}
	}
	return id.String(), nil
}

const cols = `l.id, l.at, l.recipient, l.recipient_kind, l.purpose, l.fields, l.subjects, l.records, l.legal_basis, l.consent_ref, l.actor, l.channel`

func (l *Ledger) query(ctx context.Context, q string, args ...any) ([]Row, error) {
	rows, err := l.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sharing: query: %w", err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		var at int64
		var fields string
		if err := rows.Scan(&r.ID, &at, &r.Recipient, &r.RecipientKind, &r.Purpose, &fields, &r.SubjectN, &r.Records,
			&r.LegalBasis, &r.ConsentRef, &r.Actor, &r.Channel); err != nil {
			return nil, fmt.Errorf("sharing: query: %w", err)
		}
		r.At = time.UnixMicro(at).UTC()
		r.Fields = strings.Split(fields, ",")
		out = append(out, r)
	}
	return out, rows.Err()
}

// BySubject lists every provision that concerned subject, newest first.
func (l *Ledger) BySubject(ctx context.Context, subject string) ([]Row, error) {
	return l.query(ctx, `SELECT `+cols+` FROM sharing_ledger l JOIN sharing_subjects s ON s.ledger_id = l.id
		WHERE s.subject_id = ? ORDER BY l.at DESC, l.id DESC`, subject)
}

// ByRecipient lists provisions to recipient, newest first, at most limit (≤ 1000).
func (l *Ledger) ByRecipient(ctx context.Context, recipient string, limit int) ([]Row, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return l.query(ctx, `SELECT `+cols+` FROM sharing_ledger l WHERE l.recipient = ? ORDER BY l.at DESC, l.id DESC LIMIT ?`, recipient, limit)
}

// Recipients lists the distinct recipients of subject's data: what the
// access right (DSR-1) shows and whom a deletion notice goes to (DSR-4).
func (l *Ledger) Recipients(ctx context.Context, subject string) ([]string, error) {
	rows, err := l.BySubject(ctx, subject)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Recipient)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
