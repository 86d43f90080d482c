package rights

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"gigvault/internal/audit"
	"gigvault/internal/obs"
	"gigvault/internal/store"
)

// ConfirmWindow is how long a cancellation may wait for its second
// confirmation before it lapses.
const ConfirmWindow = 24 * time.Hour

// TickReport says what one run of the deadline clock did.
type TickReport struct {
	Reminded int // handlers reminded of requests falling due
	Lapsed   int // unconfirmed cancellations that lapsed
	Overdue  int // live requests past due after the run
}

// Tick runs the deadline clock once: it reminds handlers of every live
// request whose reminder day (RemindDays working days before the due date)
// has come, once per request (and again after an extension), and lets
// cancellations unconfirmed for ConfirmWindow lapse. Each reminder is an
// audit entry (rights.reminder) and a warning in the log; several nodes may
// tick at once, since a reminder is claimed by a conditional update.
func (s *Store) Tick(ctx context.Context, logger *slog.Logger) (TickReport, error) {
	var rep TickReport
	now := s.clk.Now()
	// A reminder day is at most RemindDays working days before the due
	// date; no run of holidays is longer than 30 calendar days.
	horizon := now.AddDate(0, 0, 2*s.dl.RemindDays+30)
	cands, err := s.list(ctx, `WHERE status IN ('open', 'in_progress') AND reminded_at IS NULL AND due_at <= ? ORDER BY due_at, id`, horizon.UnixMicro())
	if err != nil {
		return rep, err
	}
	for _, r := range cands {
		if now.Before(s.dl.RemindAt(r.DueAt)) {
			continue
		}
		claimed := false
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			res, err := tx.Exec(ctx, `UPDATE rights_requests SET reminded_at = ? WHERE id = ? AND reminded_at IS NULL AND status IN ('open', 'in_progress')`,
				now.UnixMicro(), r.ID)
			if err != nil {
				return fmt.Errorf("rights: remind: %w", err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return nil
			}
			claimed = true
			return s.log.Append(ctx, tx, audit.Entry{Actor: "system:rights", Channel: "system", Action: "rights.reminder", Subject: r.SubjectID,
				Purpose: "rights_request", Outcome: "sent", Detail: map[string]string{"request": r.ID, "kind": string(r.Kind),
					"due_date": r.DueDate, "working_days_left": fmt.Sprint(s.dl.WorkingDaysLeft(now, r.DueAt))}})
		})
		if err != nil {
			return rep, err
		}
		if claimed {
			rep.Reminded++
			if logger != nil {
				logger.Warn("rights request falls due soon", "request", r.ID, "kind", r.Kind, "due_date", r.DueDate)
			}
		}
	}
	lapsing, err := s.list(ctx, `WHERE status = 'confirming' AND created_at <= ?`, now.Add(-ConfirmWindow).UnixMicro())
	if err != nil {
		return rep, err
	}
	for _, r := range lapsing {
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			_, err := s.Transition(ctx, tx, r, Withdrawn, "", "confirmation_lapsed", "system:rights", "system")
			return err
		})
		if err != nil && !isConflict(err) {
			return rep, err
		}
		if err == nil {
			rep.Lapsed++
		}
	}
	rep.Overdue, err = s.Overdue(ctx)
	return rep, err
}

// Overdue counts live requests past due now.
func (s *Store) Overdue(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM rights_requests WHERE status IN ('open', 'in_progress') AND due_at <= ?`,
		s.clk.Now().UnixMicro()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("rights: overdue: %w", err)
	}
	return n, nil
}

// RegisterMetrics exposes the deadline figures on m: requests past due
// (gigvault_rights_requests_overdue) and live requests by kind
// (gigvault_rights_requests_open), computed at each scrape.
func (s *Store) RegisterMetrics(m *obs.Metrics) {
	m.GaugeFunc("gigvault_rights_requests_overdue", "Data-subject requests past their statutory due date and not closed (DSR-2..6).", nil, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := s.Overdue(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
	for _, k := range Kinds {
		m.GaugeFunc("gigvault_rights_requests_open", "Data-subject requests open or in progress, by kind.", map[string]string{"kind": string(k)}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			var n int
			if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM rights_requests WHERE kind = ? AND status IN ('open', 'in_progress')`, string(k)).Scan(&n); err != nil {
				return -1
			}
			return float64(n)
		})
	}
}
