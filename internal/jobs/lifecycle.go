package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gigvault/internal/errs"
	"gigvault/internal/store"
)

// Completed is the status of an application whose work the employer
// confirmed done.
const Completed = "completed"

// CheckInEarly is how long before a job's first slot a worker may check in.
const CheckInEarly = 2 * time.Hour

// Actor names who moves an application on: the worker (Subject) or the
// employer (Org); exactly one is set.
type Actor struct {
	Org     string
	Subject string
}

// change loads application id for update inside a transaction, checks it
// belongs to the actor (another's is errNoApp, not said to exist), lets
// step check the move and name the columns to set, and writes them with
// updated_at. It returns the application as changed.
func (s *Store) change(ctx context.Context, id string, by Actor, step func(tx *store.Tx, a *Application, now time.Time) (set string, args []any, err error)) (Application, error) {
	var a Application
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		a, err = scanApp(tx.QueryRow(ctx, `SELECT `+appColsAll+` FROM applications WHERE id = ?`+forUpdate(tx, "UPDATE"), id))
		if errors.Is(err, sql.ErrNoRows) {
			return errNoApp
		}
		if err != nil {
			return fmt.Errorf("jobs: application: %w", err)
		}
		if (by.Org != "" && a.OrgID != by.Org) || (by.Subject != "" && a.SubjectID != by.Subject) || (by.Org == "") == (by.Subject == "") {
			return errNoApp
		}
		now := s.now()
		set, args, err := step(tx, &a, now)
		if err != nil {
			return err
		}
		a.UpdatedAt = now
		args = append(args, now.UnixMicro(), id)
		if _, err := tx.Exec(ctx, `UPDATE applications SET `+set+`, updated_at = ? WHERE id = ?`, args...); err != nil {
			return fmt.Errorf("jobs: application: %w", err)
		}
		return nil
	})
	if err != nil {
		return Application{}, err
	}
	return a, nil
}

func conflict(a Application, zh, en string) error {
	return errs.New(errs.Conflict, "status", zh, en).With("status_"+a.Status, nil, a.ID)
}

func ptr(t time.Time) *time.Time { return &t }

// Schedule sets the interview time of an accepted application of orgID.
// The time must be in the future and within a year.
func (s *Store) Schedule(ctx context.Context, id, orgID string, at time.Time) (Application, error) {
	return s.change(ctx, id, Actor{Org: orgID}, func(_ *store.Tx, a *Application, now time.Time) (string, []any, error) {
		if a.Status != Accepted || a.CheckedInAt != nil {
			return "", nil, conflict(*a, "只能为已录用、尚未到岗的申请安排面试", "only an accepted application not yet checked in can have an interview")
		}
		at = time.UnixMicro(at.UnixMicro()).UTC()
		if !at.After(now) || at.After(now.AddDate(1, 0, 0)) {
			return "", nil, invalid("interview_at", "面试时间须在未来一年之内", "the interview must be in the future, within a year")
		}
		a.InterviewAt = &at
		return `interview_at = ?`, []any{at.UnixMicro()}, nil
	})
}

// CheckIn records the worker's arrival for an accepted application: from
// CheckInEarly before the job's first slot until its last slot ends (any
// time for a job without slots), once.
func (s *Store) CheckIn(ctx context.Context, id, subject string) (Application, error) {
	return s.change(ctx, id, Actor{Subject: subject}, func(tx *store.Tx, a *Application, now time.Time) (string, []any, error) {
		if a.Status != Accepted {
			return "", nil, conflict(*a, "只有已录用的申请可以到岗签到", "only an accepted application can check in")
		}
		if a.CheckedInAt != nil {
			return "", nil, conflict(*a, "已签到", "already checked in")
		}
		var start, end sql.NullInt64
		if err := tx.QueryRow(ctx, `SELECT starts_at, ends_at FROM jobs WHERE id = ?`, a.JobID).Scan(&start, &end); err != nil {
			return "", nil, fmt.Errorf("jobs: check in: %w", err)
		}
		if start.Valid && (now.Before(fromMicro(start.Int64).Add(-CheckInEarly)) || now.After(fromMicro(end.Int64))) {
			return "", nil, errs.New(errs.Conflict, "checked_in_at", "不在该职位的工作时段内,不能签到", "it is not within the job's working time").
				With("outside_slots", nil, a.ID)
		}
		a.CheckedInAt = ptr(now)
		return `checked_in_at = ?`, []any{now.UnixMicro()}, nil
	})
}

// Complete is the employer's confirmation that the checked-in worker did
// the job.
func (s *Store) Complete(ctx context.Context, id, orgID string) (Application, error) {
	return s.change(ctx, id, Actor{Org: orgID}, func(_ *store.Tx, a *Application, now time.Time) (string, []any, error) {
		if a.Status != Accepted || a.CheckedInAt == nil {
			return "", nil, conflict(*a, "只有已到岗签到的申请可以确认完工", "only a checked-in application can be completed")
		}
		a.Status, a.CompletedAt = Completed, ptr(now)
		return `status = ?, completed_at = ?`, []any{Completed, now.UnixMicro()}, nil
	})
}

// AcceptContact is the worker's choice to let the employer see their
// mobile number for this application (GIG-2); until then it is masked.
func (s *Store) AcceptContact(ctx context.Context, id, subject string) (Application, error) {
	return s.change(ctx, id, Actor{Subject: subject}, func(_ *store.Tx, a *Application, now time.Time) (string, []any, error) {
		if a.Status != Applied && a.Status != Accepted {
			return "", nil, conflict(*a, "该申请已结束", "this application is closed")
		}
		if a.ContactAcceptedAt != nil {
			return "", nil, conflict(*a, "已同意联系", "contact is already accepted")
		}
		a.ContactAcceptedAt = ptr(now)
		return `contact_accepted_at = ?`, []any{now.UnixMicro()}, nil
	})
}

// RevealContact records the employer's one reveal of the worker's mobile
// number inside tx, the transaction in which the caller reads it (an
// audited vault read). It needs the worker's acceptance and an open
// application, and is refused the second time.
func (s *Store) RevealContact(ctx context.Context, tx *store.Tx, id, orgID, by string) (Application, error) {
	a, err := scanApp(tx.QueryRow(ctx, `SELECT `+appColsAll+` FROM applications WHERE id = ?`+forUpdate(tx, "UPDATE"), id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && a.OrgID != orgID) {
		return Application{}, errNoApp
	}
	if err != nil {
		return Application{}, fmt.Errorf("jobs: reveal contact: %w", err)
	}
	switch {
	case a.Status != Applied && a.Status != Accepted:
		return Application{}, conflict(a, "该申请已结束", "this application is closed")
	case a.ContactAcceptedAt == nil:
		return Application{}, errs.New(errs.Forbidden, "id", "求职者尚未同意联系,手机号只显示掩码", "the worker has not accepted contact: the number stays masked").
			With("contact_not_accepted", nil, a.ID)
	case a.ContactRevealedAt != nil:
		return Application{}, errs.New(errs.Conflict, "id", "手机号已查看过一次,不能再次查看", "the number was already revealed once").
			With("contact_already_revealed", nil, a.ID)
	}
	now := s.now()
	res, err := tx.Exec(ctx, `UPDATE applications SET contact_revealed_at = ?, contact_revealed_by = ?, updated_at = ? WHERE id = ? AND contact_revealed_at IS NULL`,
		now.UnixMicro(), by, now.UnixMicro(), id)
	if err != nil {
		return Application{}, fmt.Errorf("jobs: reveal contact: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return Application{}, errs.New(errs.Conflict, "id", "手机号已查看过一次,不能再次查看", "the number was already revealed once").
			With("contact_already_revealed", nil, a.ID)
	}
	a.ContactRevealedAt, a.UpdatedAt = ptr(now), now
	return a, nil
}

// Calendar lists the applications of subject that belong on their
// calendar — accepted or completed, with their jobs — for the iCalendar
// feed.
func (s *Store) Calendar(ctx context.Context, subject string) ([]Application, map[string]Job, error) {
	as, err := s.apps(ctx, `SELECT `+appColsAll+` FROM applications WHERE subject_id = ? AND status IN (?, ?) ORDER BY created_at DESC, id DESC`,
		subject, Accepted, Completed)
	if err != nil {
		return nil, nil, err
	}
	js := map[string]Job{}
	for _, a := range as {
		if _, ok := js[a.JobID]; ok {
			continue
		}
		j, err := s.Job(ctx, a.JobID)
		if err != nil {
			return nil, nil, err
		}
		js[a.JobID] = j
	}
	return as, js, nil
}
