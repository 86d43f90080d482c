// Package jobs keeps the gig platform's metadata: résumé rows, job
// postings with search, and applications. Résumé contents are vault values
// the caller writes (the résumé ID is their record) in the transaction that
// creates or changes the row here; this package holds no PI value. Job
// postings are not PI, so their free text is scanned (OPS-1, textscan) and
// refused if it carries an ID number, a bank card or a mobile number.
//
// Times are stored as Unix microseconds and read back in UTC from the
// injected clock. Errors are *errs.Error naming the field at fault.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"gigvault/internal/clock"
	"gigvault/internal/errs"
	"gigvault/internal/format"
	"gigvault/internal/store"
	"gigvault/internal/textscan"
)

// Résumé visibilities.
const (
	Private = "private"
	Public  = "public"
)

// Job statuses.
const (
	Open   = "open"
	Closed = "closed"
)

// Application statuses.
const (
	Applied   = "applied"
	Withdrawn = "withdrawn"
	Accepted  = "accepted"
	Rejected  = "rejected"
)

// Categories are the job categories a posting may have.
var Categories = []string{"delivery", "catering", "retail", "tutoring", "promotion", "warehouse", "cleaning", "event", "other"}

// PayUnits are the units a job's pay is quoted per.
var PayUnits = []string{"hour", "day", "piece", "month"}

// Limits of a posting.
const (
	MinTitleRunes       = 2
	MaxTitleRunes       = 60
	MaxDescriptionRunes = 2000
	MinCityRunes        = 2
	MaxCityRunes        = 20
	MaxPayFen           = 100_000_000 // one million yuan
)

// Store keeps résumé metadata, jobs and applications.
type Store struct {
	db  *store.DB
	clk clock.Clock
}

// New returns a Store; a nil clock is the wall clock.
func New(db *store.DB, clk clock.Clock) *Store {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Store{db: db, clk: clk}
}

// Job is an employer's posting.
type Job struct {
	ID          string    `json:"id"`
	OrgID       string    `json:"org_id"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	City        string    `json:"city"`
	Category    string    `json:"category"`
	PayFen      int64     `json:"pay_fen"`
	PayUnit     string    `json:"pay_unit"`
	Status      string    `json:"status"`
	CreatedBy   string    `json:"-"` // the posting member's account ID: not for the public listing
	CreatedAt   time.Time `json:"created_at"`
}

func invalid(field, zh, en string) *errs.Error { return errs.New(errs.Invalid, field, zh, en) }

// now is the clock's time at the stored precision, so what is returned
// equals what is read back.
func (s *Store) now() time.Time { return time.UnixMicro(s.clk.Now().UnixMicro()).UTC() }

func fromMicro(us int64) time.Time { return time.UnixMicro(us).UTC() }

func newID(what string) (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("jobs: %s id: %w", what, err)
	}
	return id.String(), nil
}

// text trims v and checks it as format kind k (valid UTF-8, no control or
// bidirectional characters, k's own rules) within minRunes..maxRunes; an
// empty value passes when minRunes is 0.
func text(field string, v string, k format.Kind, minRunes, maxRunes int, zh, en string) (string, error) {
	v = strings.TrimSpace(v)
	n := utf8.RuneCountInString(v)
	if n == 0 && minRunes == 0 {
		return "", nil
	}
	if n < minRunes || n > maxRunes {
		return "", invalid(field, fmt.Sprintf("%s须为%d–%d个字符", zh, minRunes, maxRunes),
			fmt.Sprintf("%s must be %d to %d characters", en, minRunes, maxRunes))
	}
	if err := format.Validate(k, v); err != nil {
		return "", errs.Wrap(errs.Invalid, field, zh+"含有不允许的字符", en+" contains characters that are not allowed", err)
	}
	return v, nil
}

// checkJob validates and normalises a posting.
func checkJob(j *Job) error {
	var err error
	if j.OrgID = strings.TrimSpace(j.OrgID); j.OrgID == "" {
		return invalid("org_id", "须指明招聘单位", "name the organisation posting the job")
	}
	if j.CreatedBy = strings.TrimSpace(j.CreatedBy); j.CreatedBy == "" {
		return invalid("created_by", "须指明发布人", "name the account posting the job")
	}
	if j.Title, err = text("title", j.Title, format.KindShortText, MinTitleRunes, MaxTitleRunes, "职位名称", "the title"); err != nil {
		return err
	}
	// Browsers send a textarea's line breaks as CRLF; store them as LF.
	j.Description = strings.ReplaceAll(j.Description, "\r\n", "\n")
	if j.Description, err = text("description", j.Description, format.KindText, 0, MaxDescriptionRunes, "职位描述", "the description"); err != nil {
		return err
	}
	if j.City, err = text("city", j.City, format.KindCity, MinCityRunes, MaxCityRunes, "城市", "the city"); err != nil {
		return err
	}
	if !slices.Contains(Categories, j.Category) {
		return invalid("category", "未知的职位类别,可选:"+strings.Join(Categories, "、"), "unknown job category; one of "+strings.Join(Categories, ", "))
	}
	if j.PayFen < 1 || j.PayFen > MaxPayFen {
		return invalid("pay_fen", fmt.Sprintf("薪酬须为1至%d分", MaxPayFen), fmt.Sprintf("pay must be 1 to %d fen", MaxPayFen))
	}
	if !slices.Contains(PayUnits, j.PayUnit) {
		return invalid("pay_unit", "薪酬单位须为 hour、day、piece 或 month", "the pay unit must be hour, day, piece or month")
	}
	// OPS-1: postings are stored in clear, so no PI may ride in their text.
	for _, f := range []struct{ name, text string }{{"title", j.Title}, {"description", j.Description}, {"city", j.City}} {
		if err := textscan.Check(f.name, f.text); err != nil {
			return err
		}
	}
	return nil
}

// Post validates and stores a new open job; its ID, status and creation
// time are set here.
func (s *Store) Post(ctx context.Context, j Job) (Job, error) {
	if err := checkJob(&j); err != nil {
		return Job{}, err
	}
	id, err := newID("job")
	if err != nil {
		return Job{}, err
	}
	j.ID, j.Status, j.CreatedAt = id, Open, s.now()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM organisations WHERE id = ?`, j.OrgID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.New(errs.NotFound, "org_id", "招聘单位不存在", "no such organisation")
		}
		if err != nil {
			return fmt.Errorf("jobs: post: %w", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO jobs (id, org_id, title, description, city, category, pay_fen, pay_unit, status, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, j.ID, j.OrgID, j.Title, j.Description, j.City, j.Category, j.PayFen, j.PayUnit,
			j.Status, j.CreatedBy, j.CreatedAt.UnixMicro())
		if err != nil {
			return fmt.Errorf("jobs: post: %w", err)
		}
		return nil
	})
	if err != nil {
		return Job{}, err
	}
	return j, nil
}

const jobCols = `id, org_id, title, description, city, category, pay_fen, pay_unit, status, created_by, created_at`

func scanJob(row interface{ Scan(...any) error }) (Job, error) {
	var j Job
	var at int64
	err := row.Scan(&j.ID, &j.OrgID, &j.Title, &j.Description, &j.City, &j.Category, &j.PayFen, &j.PayUnit, &j.Status, &j.CreatedBy, &at)
	j.CreatedAt = fromMicro(at)
	return j, err
}

func (s *Store) jobs(ctx context.Context, q string, args ...any) ([]Job, error) {
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("jobs: query: %w", err)
	}
	defer rows.Close()
	out := []Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("jobs: query: %w", err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: query: %w", err)
	}
	return out, nil
}

var errNoJob = errs.New(errs.NotFound, "id", "职位不存在", "no such job")

// Job returns one job, open or closed.
func (s *Store) Job(ctx context.Context, id string) (Job, error) {
	j, err := scanJob(s.db.QueryRow(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, errNoJob
	}
	if err != nil {
		return Job{}, fmt.Errorf("jobs: job: %w", err)
	}
	return j, nil
}

// Close closes a job of orgID; closing a closed job changes nothing. A job
// of another organisation is not found.
func (s *Store) Close(ctx context.Context, orgID, id string) error {
	res, err := s.db.Exec(ctx, `UPDATE jobs SET status = ? WHERE id = ? AND org_id = ?`, Closed, id, orgID)
	if err != nil {
		return fmt.Errorf("jobs: close: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("jobs: close: %w", err)
	} else if n == 0 {
		return errs.New(errs.NotFound, "id", "本单位没有该职位", "your organisation has no such job")
	}
	return nil
}

// clampLimit is the page size of the listings that take a bare limit:
// DefaultLimit when not positive, at most MaxLimit.
func clampLimit(limit int) int {
	if limit <= 0 {
		return DefaultLimit
	}
	return min(limit, MaxLimit)
}

// ByOrg lists orgID's jobs, open and closed, newest first, at most limit
// (default DefaultLimit, at most MaxLimit).
func (s *Store) ByOrg(ctx context.Context, orgID string, limit int) ([]Job, error) {
	return s.jobs(ctx, `SELECT `+jobCols+` FROM jobs WHERE org_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, orgID, clampLimit(limit))
}
