package rights

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"gigvault/internal/audit"
	"gigvault/internal/errs"
	"gigvault/internal/notice"
	"gigvault/internal/store"
)

// Hold is a legal hold on a subject's data: while it stands the retention
// sweeper skips the subject and deletion and cancellation wait.
type Hold struct {
	ID         string     `json:"id"`
	SubjectID  string     `json:"subject_id"`
	Reason     string     `json:"reason"`
	PlacedBy   string     `json:"placed_by"`
	PlacedAt   time.Time  `json:"placed_at"`
	ReleasedBy string     `json:"released_by,omitempty"`
	ReleasedAt *time.Time `json:"released_at,omitempty"`
}

// PlaceHold puts subject under a legal hold for reason (no PI: a case
// reference) and audits it.
func (s *Service) PlaceHold(ctx context.Context, subject, reason, actor string) (Hold, error) {
	reason = strings.TrimSpace(reason)
	if n := len([]rune(reason)); n < 4 || n > 200 {
		return Hold{}, errs.New(errs.Invalid, "reason", "保全理由须为4至200个字符", "a hold's reason is 4 to 200 characters")
	}
	id, err := NewID()
	if err != nil {
		return Hold{}, err
	}
	now := s.clk.Now()
	h := Hold{ID: id, SubjectID: subject, Reason: reason, PlacedBy: actor, PlacedAt: now}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM subjects WHERE id = ?`, subject).Scan(&n); err != nil {
			return fmt.Errorf("rights: hold: %w", err)
		}
		if n == 0 {
			return errs.New(errs.NotFound, "subject_id", "数据主体不存在", "no such data subject")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO legal_holds (id, subject_id, reason, placed_by, placed_at) VALUES (?, ?, ?, ?, ?)`,
			id, subject, reason, actor, now.UnixMicro()); err != nil {
			return fmt.Errorf("rights: hold: %w", err)
		}
		return s.log.Append(ctx, tx, audit.Entry{Actor: actor, Channel: "api", Action: "legal_hold.place", Subject: subject,
			Purpose: "legal_compliance", Outcome: "ok", Detail: map[string]string{"hold": id}})
	})
	return h, err
}

// ReleaseHold releases a hold and audits it.
func (s *Service) ReleaseHold(ctx context.Context, id, actor string) (Hold, error) {
	var h Hold
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if h, err = getHold(ctx, tx, id); err != nil {
			return err
		}
		if h.ReleasedAt != nil {
			return errs.New(errs.Conflict, "id", "该保全已解除", "the hold is already released")
		}
		now := s.clk.Now()
		if _, err := tx.Exec(ctx, `UPDATE legal_holds SET released_by = ?, released_at = ? WHERE id = ?`, actor, now.UnixMicro(), id); err != nil {
			return fmt.Errorf("rights: release hold: %w", err)
		}
		h.ReleasedBy, h.ReleasedAt = actor, &now
		return s.log.Append(ctx, tx, audit.Entry{Actor: actor, Channel: "api", Action: "legal_hold.release", Subject: h.SubjectID,
			Purpose: "legal_compliance", Outcome: "ok", Detail: map[string]string{"hold": id}})
	})
	return h, err
}

const holdCols = `id, subject_id, reason, placed_by, placed_at, released_by, released_at`

func scanHold(sc interface{ Scan(...any) error }) (Hold, error) {
	var h Hold
	var at int64
	var rel sql.NullInt64
	if err := sc.Scan(&h.ID, &h.SubjectID, &h.Reason, &h.PlacedBy, &at, &h.ReleasedBy, &rel); err != nil {
		return h, err
	}
	h.PlacedAt, h.ReleasedAt = micros(at), optMicros(rel)
	return h, nil
}

func getHold(ctx context.Context, q store.Querier, id string) (Hold, error) {
	h, err := scanHold(q.QueryRow(ctx, `SELECT `+holdCols+` FROM legal_holds WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return h, errs.New(errs.NotFound, "id", "保全不存在", "no such hold")
	}
	if err != nil {
		return h, fmt.Errorf("rights: hold: %w", err)
	}
	return h, nil
}

// Holds lists holds, active first; of one subject when subject is set.
func (s *Service) Holds(ctx context.Context, subject string) ([]Hold, error) {
	q, args := `SELECT `+holdCols+` FROM legal_holds`, []any{}
	if subject != "" {
		q, args = q+` WHERE subject_id = ?`, append(args, subject)
	}
	rows, err := s.db.Query(ctx, q+` ORDER BY CASE WHEN released_at IS NULL THEN 0 ELSE 1 END, placed_at DESC LIMIT 500`, args...)
	if err != nil {
		return nil, fmt.Errorf("rights: holds: %w", err)
	}
	defer rows.Close()
	out := []Hold{}
	for rows.Next() {
		h, err := scanHold(rows)
		if err != nil {
			return nil, fmt.Errorf("rights: holds: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// Delivery is an outbound delivery of a request, as the requester and
// handlers see it.
type Delivery struct {
	ID            string     `json:"id"`
	Kind          string     `json:"kind"`
	Recipient     string     `json:"recipient"`
	RecipientKind string     `json:"recipient_kind"`
	Fields        []string   `json:"fields"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
}

// Deliveries lists a request's outbound deliveries (notice.List) as the
// requester and handlers see them.
func (s *Service) Deliveries(ctx context.Context, requestID string) ([]Delivery, error) {
	ds, err := notice.List(ctx, s.db, requestID)
	if err != nil {
		return nil, err
	}
	out := make([]Delivery, 0, len(ds))
	for _, d := range ds {
		v := Delivery{ID: d.ID, Kind: d.Kind, Recipient: d.Recipient, RecipientKind: d.RecipientKind, Fields: d.Fields,
			Status: d.Status, Attempts: d.Attempts, LastError: d.LastError}
		if !d.DeliveredAt.IsZero() {
			at := d.DeliveredAt
			v.DeliveredAt = &at
		}
		out = append(out, v)
	}
	return out, nil
}
