// Package notice delivers what gigvault owes other parties about a
// person's data, and keeps each delivery's status (table
// outbound_deliveries):
//
//   - deletion notices (DSR-4, SHR-1): when a person's data is deleted, every
//     recipient the sharing ledger names is told to delete what it received
//     and to confirm;
//   - copies (DSR-3): the copy of a person's data sent to a third party the
//     person named.
//
// A rights handler enqueues a Delivery inside its own transaction
// (Enqueue); the Dispatcher picks due deliveries, sends each through a
// Deliverer, and records the outcome — delivered, retry later with backoff,
// or failed — together with an audit entry in one transaction. Two
// Deliverers are provided: Sandbox, which contacts nobody and behaves like
// a recipient (latency, temporary and permanent failures), and HTTP, which
// posts to each recipient's endpoint (docs/notice-http.md).
//
// Personal information: a deletion notice names the subject by gigvault's
// pseudonymous subject ID and the data by catalog field names and ledger
// row IDs, never a value. A copy's body is built at send time by the
// caller's Payload function (from the vault) and is never stored, logged
// or audited: the Sandbox keeps its SHA-256 only. Failure codes stored and
// audited are fixed short codes (ErrorCode).
package notice

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"gigvault/internal/catalog"
	"gigvault/internal/errs"
	"gigvault/internal/sharing"
	"gigvault/internal/store"
)

// Delivery kinds.
const (
	KindDeletionNotice = "deletion_notice"
	KindCopy           = "copy"
)

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

// Delivery is one row of outbound_deliveries.
type Delivery struct {
	ID            string    `json:"id"`
	Kind          string    `json:"kind"`
	RequestID     string    `json:"request_id"`
	SubjectID     string    `json:"subject_id"`
	Recipient     string    `json:"recipient"`
	RecipientKind string    `json:"recipient_kind"`
	Fields        []string  `json:"fields"`     // catalog field names
	LedgerIDs     []string  `json:"ledger_ids"` // the sharing-ledger rows concerned
	Status        string    `json:"status"`
	Attempts      int       `json:"attempts"`
	LastError     string    `json:"last_error,omitempty"` // a failure code, never a message
	NextAt        time.Time `json:"next_at"`
	DeliveredAt   time.Time `json:"delivered_at,omitzero"`
	DeliveryRef   string    `json:"delivery_ref,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
}

var (
	// recipientRE is the form of a recipient ID: what the sharing ledger
	// names recipients by (an organisation ID, "payout_bank", …).
	recipientRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	// listItemRE is one catalog field name or ledger row ID.
	listItemRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// ValidRecipient reports whether s has the form of a recipient ID: 1 to 128
// of [A-Za-z0-9._:-], starting with a letter or digit.
func ValidRecipient(s string) bool { return recipientRE.MatchString(s) }

func invalid(field, zh, en string) *errs.Error { return errs.New(errs.Invalid, field, zh, en) }

// Enqueue inserts d as a pending delivery inside tx, the caller's
// transaction, and returns its ID (UUIDv7). d.CreatedAt is required (the
// caller's clock); d.NextAt defaults to it. ID, Status, Attempts,
// LastError, DeliveredAt and DeliveryRef are ignored. Fields and LedgerIDs
// are sorted and de-duplicated; a deletion notice needs both.
func Enqueue(ctx context.Context, tx *store.Tx, d Delivery) (string, error) {
	d.Fields = slices.Compact(slices.Sorted(slices.Values(d.Fields)))
	d.LedgerIDs = slices.Compact(slices.Sorted(slices.Values(d.LedgerIDs)))
	if err := check(&d); err != nil {
		return "", err
	}
	if d.NextAt.IsZero() {
		d.NextAt = d.CreatedAt
	}
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("notice: id: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO outbound_deliveries (id, kind, request_id, subject_id, recipient, recipient_kind, fields, ledger_ids,
		status, attempts, last_error, next_at, delivered_at, delivery_ref, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', ?, NULL, '', ?)`,
		id.String(), d.Kind, d.RequestID, d.SubjectID, d.Recipient, d.RecipientKind, strings.Join(d.Fields, ","), strings.Join(d.LedgerIDs, ","),
		StatusPending, d.NextAt.UnixMicro(), d.CreatedAt.UnixMicro())
	if err != nil {
		return "", fmt.Errorf("notice: enqueue: %w", err)
	}
	return id.String(), nil
}

func check(d *Delivery) error {
	switch {
	case d.Kind != KindDeletionNotice && d.Kind != KindCopy:
		return invalid("kind", "未知的投递类型", "unknown delivery kind")
	case d.RequestID == "" || d.SubjectID == "":
		return invalid("request_id", "须指明权利请求和个人信息主体", "name the rights request and the subject")
	case !ValidRecipient(d.Recipient):
		return invalid("recipient", "接收方标识格式不正确", "malformed recipient ID")
	case !slices.Contains(sharing.RecipientKinds, d.RecipientKind):
		return invalid("recipient_kind", "未知的接收方类型", "unknown recipient kind")
	case len(d.Fields) == 0:
		return invalid("fields", "须列明涉及的个人信息类型", "list the PI types concerned")
	case d.Kind == KindDeletionNotice && len(d.LedgerIDs) == 0:
		return invalid("ledger_ids", "删除通知须列明所涉及的提供记录", "a deletion notice must name the provisions it concerns")
	case d.CreatedAt.IsZero():
		return invalid("created_at", "缺少创建时间", "creation time missing")
	}
	for _, s := range d.Fields {
		if !listItemRE.MatchString(s) {
			return invalid("fields", "字段名格式不正确", "malformed field name")
		}
	}
	for _, s := range d.LedgerIDs {
		if !listItemRE.MatchString(s) {
			return invalid("ledger_ids", "提供记录编号格式不正确", "malformed ledger row ID")
		}
	}
	return nil
}

const cols = `id, kind, request_id, subject_id, recipient, recipient_kind, fields, ledger_ids, status, attempts, last_error,
	next_at, delivered_at, delivery_ref, created_at`

type scanner interface{ Scan(dest ...any) error }

func scan(s scanner) (Delivery, error) {
	var d Delivery
	var fields, ledger string
	var next, created int64
	var delivered sql.NullInt64
	if err := s.Scan(&d.ID, &d.Kind, &d.RequestID, &d.SubjectID, &d.Recipient, &d.RecipientKind, &fields, &ledger, &d.Status,
		&d.Attempts, &d.LastError, &next, &delivered, &d.DeliveryRef, &created); err != nil {
		return Delivery{}, err
	}
	d.Fields, d.LedgerIDs = split(fields), split(ledger)
	d.NextAt, d.CreatedAt = time.UnixMicro(next).UTC(), time.UnixMicro(created).UTC()
	if delivered.Valid {
		d.DeliveredAt = time.UnixMicro(delivered.Int64).UTC()
	}
	return d, nil
}

func split(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// List returns a rights request's deliveries, oldest first.
func List(ctx context.Context, q store.Querier, requestID string) ([]Delivery, error) {
	rows, err := q.Query(ctx, `SELECT `+cols+` FROM outbound_deliveries WHERE request_id = ? ORDER BY created_at, id`, requestID)
	if err != nil {
		return nil, fmt.Errorf("notice: list: %w", err)
	}
	defer rows.Close()
	out := []Delivery{}
	for rows.Next() {
		d, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("notice: list: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notice: list: %w", err)
	}
	return out, nil
}

// Get returns one delivery; errs.NotFound when there is none.
func Get(ctx context.Context, q store.Querier, id string) (Delivery, error) {
	d, err := scan(q.QueryRow(ctx, `SELECT `+cols+` FROM outbound_deliveries WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, errs.New(errs.NotFound, "id", "没有该投递记录", "no such delivery")
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("notice: get %s: %w", id, err)
	}
	return d, nil
}

// Message is one delivery attempt as a Deliverer sends it.
type Message struct {
	ID            string // the delivery's ID: the same on every attempt, an idempotency key
	Kind          string // KindDeletionNotice or KindCopy
	RequestID     string
	Recipient     string
	RecipientKind string
	Attempt       int    // 1 for the first attempt
	ContentType   string // "application/json" for a deletion notice
	Body          []byte // may be personal information (a copy): never log it
}

// String names the message without its body.
func (m Message) String() string {
	return fmt.Sprintf("notice.Message{ID: %s, Kind: %s, Recipient: %s, Attempt: %d, %d bytes of %s}",
		m.ID, m.Kind, m.Recipient, m.Attempt, len(m.Body), m.ContentType)
}

// GoString is String, so that %#v does not print the body either.
func (m Message) GoString() string { return m.String() }

// LogValue logs the message without its body.
func (m Message) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", m.ID), slog.String("kind", m.Kind), slog.String("recipient", m.Recipient),
		slog.Int("attempt", m.Attempt), slog.Int("bytes", len(m.Body)))
}

// Deliverer sends messages to recipients. Implementations are safe for
// concurrent use.
type Deliverer interface {
	// Deliver sends m and returns the recipient's reference for it (may be
	// empty). An error is temporary — the dispatcher tries again later —
	// unless IsPermanent reports it permanent; ErrorCode names it.
	Deliver(ctx context.Context, m Message) (ref string, err error)
}

// NoticeType identifies the deletion notice's format and version.
const NoticeType = "gigvault.deletion_notice/1"

// DeletionNotice is the JSON body of a deletion notice. It holds IDs,
// field names and times, never a value of personal information.
type DeletionNotice struct {
	Type          string        `json:"type"`
	NoticeID      string        `json:"notice_id"`  // the delivery's ID; cite it when confirming
	RequestID     string        `json:"request_id"` // the person's deletion request
	Subject       string        `json:"subject"`    // gigvault's pseudonymous subject ID
	Recipient     string        `json:"recipient"`
	Provisions    []string      `json:"provisions"` // sharing-ledger row IDs of what the recipient received
	Fields        []NoticeField `json:"fields"`
	IssuedAt      time.Time     `json:"issued_at"`
	Deadline      time.Time     `json:"deadline"`
	InstructionZh string        `json:"instruction_zh"`
	Instruction   string        `json:"instruction_en"`
}

// NoticeField names one catalog field; the labels are empty when the
// dispatcher has no catalog.
type NoticeField struct {
	Field string `json:"field"`
	Zh    string `json:"zh,omitempty"`
	En    string `json:"en,omitempty"`
}

// The instruction a deletion notice carries.
const (
	instructionZh = "个人信息主体已依法请求删除其个人信息。请于截止时间（deadline）前，删除您经本通知所列提供记录（provisions）" +
		"从本平台获得的该主体（subject）的上述个人信息（fields），包括其副本和备份，并停止处理；完成后请向本平台确认删除，" +
		"并注明通知编号（notice_id）。如法律、行政法规规定的保存期限未届满，或删除在技术上难以实现，请停止除存储和采取必要的" +
		"安全保护措施之外的处理，并在确认中说明。"
	instructionEn = "The person this notice concerns has asked, as the law allows, for their personal information to be deleted. " +
		"By the deadline, delete the personal information listed under fields that you received from us for this subject " +
		"through the provisions listed, including copies and backups, and stop processing it; then confirm the deletion to us, " +
		"citing the notice_id. If a retention period set by law or administrative regulation has not ended, or deletion is " +
		"technically infeasible, stop all processing other than storage and the necessary security measures, and say so in your confirmation."
)

// NewDeletionNotice builds the notice of delivery d, due by deadline. cat,
// when not nil, names the fields in zh-CN and English.
func NewDeletionNotice(d Delivery, deadline time.Time, cat *catalog.Catalog) DeletionNotice {
	n := DeletionNotice{Type: NoticeType, NoticeID: d.ID, RequestID: d.RequestID, Subject: d.SubjectID, Recipient: d.Recipient,
		Provisions: slices.Clone(d.LedgerIDs), IssuedAt: d.CreatedAt.UTC(), Deadline: deadline.UTC(),
		InstructionZh: instructionZh, Instruction: instructionEn}
	if n.Provisions == nil {
		n.Provisions = []string{}
	}
	n.Fields = []NoticeField{}
	for _, name := range d.Fields {
		f := NoticeField{Field: name}
		if cat != nil {
			if cf, ok := cat.Field(name); ok {
				f.Zh, f.En = cf.Zh, cf.En
			}
		}
		n.Fields = append(n.Fields, f)
	}
	return n
}

// Body is the notice as sent: its JSON.
func (n DeletionNotice) Body() ([]byte, error) {
	b, err := json.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("notice: encode deletion notice: %w", err)
	}
	return b, nil
}
