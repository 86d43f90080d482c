package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"gigvault/internal/errs"
	"gigvault/internal/store"
)

// Application is a worker's application for a job: it shares a résumé
// with the job's organisation, on the consent ConsentRef, recorded in the
// sharing ledger as LedgerID.
type Application struct {
	ID         string    `json:"id"`
	JobID      string    `json:"job_id"`
	OrgID      string    `json:"org_id"`
	SubjectID  string    `json:"subject_id"`
	ResumeID   string    `json:"resume_id"`
	Status     string    `json:"status"` // applied | withdrawn | accepted | rejected | completed
	ConsentRef string    `json:"consent_ref"`
	LedgerID   string    `json:"ledger_id"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`

	InterviewAt       *time.Time `json:"interview_at,omitempty"`        // set by the employer once accepted
	CheckedInAt       *time.Time `json:"checked_in_at,omitempty"`       // the worker's check-in at the job
	CompletedAt       *time.Time `json:"completed_at,omitempty"`        // the employer confirms the work done
	ContactAcceptedAt *time.Time `json:"contact_accepted_at,omitempty"` // the worker lets the employer see their number
	ContactRevealedAt *time.Time `json:"contact_revealed_at,omitempty"` // the employer's one reveal of it
}

const appCols = `id, job_id, org_id, subject_id, resume_id, status, consent_ref, ledger_id, created_at, updated_at`

// appColsAll adds the lifecycle columns, which an insert leaves NULL.
const appColsAll = appCols + `, interview_at, checked_in_at, completed_at, contact_accepted_at, contact_revealed_at`

func scanApp(row interface{ Scan(...any) error }) (Application, error) {
	var a Application
	var created, updated int64
	var at [5]sql.NullInt64
	err := row.Scan(&a.ID, &a.JobID, &a.OrgID, &a.SubjectID, &a.ResumeID, &a.Status, &a.ConsentRef, &a.LedgerID, &created, &updated,
		&at[0], &at[1], &at[2], &at[3], &at[4])
	a.CreatedAt, a.UpdatedAt = fromMicro(created), fromMicro(updated)
	for i, p := range []**time.Time{&a.InterviewAt, &a.CheckedInAt, &a.CompletedAt, &a.ContactAcceptedAt, &a.ContactRevealedAt} {
		if at[i].Valid {
			t := fromMicro(at[i].Int64)
			*p = &t
		}
	}
	return a, err
}

// forUpdate is the row-lock suffix of a select on PostgreSQL; SQLite's
// single writer serialises write transactions already.
func forUpdate(tx *store.Tx, strength string) string {
	if tx.Engine() == store.Postgres {
		return ` FOR ` + strength
	}
	return ""
}

// Apply records a's application inside tx, the transaction in which the
// caller appends the sharing-ledger row a.LedgerID. The job must exist and
// be open, the résumé must be a.SubjectID's; OrgID is the job's. A second
// application for the same job is a conflict unless the earlier one was
// withdrawn: then that application is re-opened (same ID) with the new
// résumé, consent and ledger references, and dated now.
func (s *Store) Apply(ctx context.Context, tx *store.Tx, a Application) (Application, error) {
	for _, f := range []struct{ name, v, zh, en string }{
		{"job_id", a.JobID, "须指明职位", "name the job"},
		{"subject_id", a.SubjectID, "须指明申请人", "name the applicant"},
		{"resume_id", a.ResumeID, "须指明简历", "name the résumé"},
		{"consent_ref", a.ConsentRef, "须记录所依据的同意", "name the consent the application relies on"},
		{"ledger_id", a.LedgerID, "须记录共享台账条目", "name the sharing-ledger row of the application"},
	} {
		if strings.TrimSpace(f.v) == "" {
			return Application{}, invalid(f.name, f.zh, f.en)
		}
	}
	// One application per job and person: serialise concurrent attempts.
	if err := tx.LockKey(ctx, "gigvault/application/"+a.JobID+"/"+a.SubjectID); err != nil {
		return Application{}, err
	}
	var status string
	err := tx.QueryRow(ctx, `SELECT org_id, status FROM jobs WHERE id = ?`+forUpdate(tx, "SHARE"), a.JobID).Scan(&a.OrgID, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return Application{}, errs.New(errs.NotFound, "job_id", "职位不存在", "no such job")
	}
	if err != nil {
		return Application{}, fmt.Errorf("jobs: apply: %w", err)
	}
	if status != Open {
		return Application{}, errs.New(errs.Conflict, "job_id", "该职位已关闭", "this job is closed").With("job_closed", nil, a.JobID)
	}
	var owner string
	err = tx.QueryRow(ctx, `SELECT subject_id FROM resumes WHERE id = ?`+forUpdate(tx, "SHARE"), a.ResumeID).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && owner != a.SubjectID) {
		return Application{}, errs.New(errs.NotFound, "resume_id", "您没有该简历", "you have no such résumé")
	}
	if err != nil {
		return Application{}, fmt.Errorf("jobs: apply: %w", err)
	}

	now := s.now()
	a.Status, a.CreatedAt, a.UpdatedAt = Applied, now, now
	prev, err := scanApp(tx.QueryRow(ctx, `SELECT `+appColsAll+` FROM applications WHERE job_id = ? AND subject_id = ?`+forUpdate(tx, "UPDATE"),
		a.JobID, a.SubjectID))
	switch {
	case err == nil && prev.Status != Withdrawn:
		return Application{}, errs.New(errs.Conflict, "job_id", "您已申请过该职位", "you have already applied for this job").
			With("already_applied", nil, prev.ID)
	case err == nil: // re-open the withdrawn application
		a.ID = prev.ID
		_, err = tx.Exec(ctx, `UPDATE applications SET org_id = ?, resume_id = ?, status = ?, consent_ref = ?, ledger_id = ?, created_at = ?, updated_at = ?,
			interview_at = NULL, checked_in_at = NULL, completed_at = NULL, contact_accepted_at = NULL, contact_revealed_at = NULL, contact_revealed_by = NULL
			WHERE id = ?`, a.OrgID, a.ResumeID, a.Status, a.ConsentRef, a.LedgerID, now.UnixMicro(), now.UnixMicro(), a.ID)
		if err != nil {
			return Application{}, fmt.Errorf("jobs: re-apply: %w", err)
		}
		return a, nil
	case !errors.Is(err, sql.ErrNoRows):
		return Application{}, fmt.Errorf("jobs: apply: %w", err)
	}
	if a.ID, err = newID("application"); err != nil {
		return Application{}, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO applications (`+appCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.JobID, a.OrgID, a.SubjectID, a.ResumeID, a.Status, a.ConsentRef, a.LedgerID, now.UnixMicro(), now.UnixMicro())
	if store.IsUniqueViolation(err) {
		return Application{}, errs.Wrap(errs.Conflict, "job_id", "您已申请过该职位", "you have already applied for this job", err)
	}
	if err != nil {
		return Application{}, fmt.Errorf("jobs: apply: %w", err)
	}
	return a, nil
}

var errNoApp = errs.New(errs.NotFound, "id", "申请不存在", "no such application")

// Application returns one application.
func (s *Store) Application(ctx context.Context, id string) (Application, error) {
	a, err := scanApp(s.db.QueryRow(ctx, `SELECT `+appColsAll+` FROM applications WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Application{}, errNoApp
	}
	if err != nil {
		return Application{}, fmt.Errorf("jobs: application: %w", err)
	}
	return a, nil
}

func (s *Store) apps(ctx context.Context, q string, args ...any) ([]Application, error) {
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("jobs: applications: %w", err)
	}
	defer rows.Close()
	out := []Application{}
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, fmt.Errorf("jobs: applications: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: applications: %w", err)
	}
	return out, nil
}

// ForSubject lists subject's applications, every status, newest first.
func (s *Store) ForSubject(ctx context.Context, subject string) ([]Application, error) {
	return s.apps(ctx, `SELECT `+appColsAll+` FROM applications WHERE subject_id = ? ORDER BY created_at DESC, id DESC`, subject)
}

// ForOrg lists the applications for orgID's jobs, every status, newest
// first, at most limit (default DefaultLimit, at most MaxLimit).
func (s *Store) ForOrg(ctx context.Context, orgID string, limit int) ([]Application, error) {
	return s.apps(ctx, `SELECT `+appColsAll+` FROM applications WHERE org_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, orgID, clampLimit(limit))
}

// SetStatus moves an application on, acting either as the worker
// (bySubject: withdraw their own application while it is applied or
// accepted) or as the employer (byOrg: accept or reject an application
// for its own job while it is applied). Someone else's application or a
// move the actor may not make is errs.Forbidden; a move the application's
// current status does not allow is errs.Conflict.
func (s *Store) SetStatus(ctx context.Context, id, status, byOrg, bySubject string) (Application, error) {
	if (byOrg == "") == (bySubject == "") {
		return Application{}, invalid("", "须以申请人或招聘单位之一的身份操作", "act either as the applicant or as the employer")
	}
	switch status {
	case Withdrawn, Accepted, Rejected:
	default:
		return Application{}, invalid("status", "状态须为 withdrawn、accepted 或 rejected", "the status must be withdrawn, accepted or rejected")
	}
	var a Application
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		a, err = scanApp(tx.QueryRow(ctx, `SELECT `+appColsAll+` FROM applications WHERE id = ?`+forUpdate(tx, "UPDATE"), id))
		if errors.Is(err, sql.ErrNoRows) {
			return errNoApp
		}
		if err != nil {
			return fmt.Errorf("jobs: set status: %w", err)
		}
		if err := allowed(a, status, byOrg, bySubject); err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.Exec(ctx, `UPDATE applications SET status = ?, updated_at = ? WHERE id = ?`, status, now.UnixMicro(), id); err != nil {
			return fmt.Errorf("jobs: set status: %w", err)
		}
		a.Status, a.UpdatedAt = status, now
		return nil
	})
	if err != nil {
		return Application{}, err
	}
	return a, nil
}

// allowed is SetStatus's rule.
func allowed(a Application, status, byOrg, bySubject string) error {
	if bySubject != "" {
		if a.SubjectID != bySubject {
			return errs.New(errs.Forbidden, "id", "这不是您的申请", "this is not your application")
		}
		if status != Withdrawn {
			return errs.New(errs.Forbidden, "status", "申请人只能撤回申请,录用或拒绝由招聘单位决定",
				"an applicant may only withdraw; the employer accepts or rejects")
		}
		if a.CheckedInAt != nil {
			return errs.New(errs.Conflict, "status", "已到岗签到,不能再撤回", "you have checked in: the application can no longer be withdrawn").
				With("checked_in", nil, a.ID)
		}
		if a.Status != Applied && a.Status != Accepted {
			return errs.New(errs.Conflict, "status", "该申请已撤回或已被拒绝", "this application is already withdrawn or rejected").
				With("status_"+a.Status, nil, a.ID)
		}
		return nil
	}
	if a.OrgID != byOrg {
		return errs.New(errs.Forbidden, "id", "这不是本单位职位的申请", "this application is not for a job of your organisation")
	}
	if status == Withdrawn {
		return errs.New(errs.Forbidden, "status", "只有申请人可以撤回申请", "only the applicant may withdraw an application")
	}
	if a.Status != Applied {
		return errs.New(errs.Conflict, "status", "只能录用或拒绝待处理的申请", "only an application still awaiting a decision can be accepted or rejected").
			With("status_"+a.Status, nil, a.ID)
	}
	return nil
}
