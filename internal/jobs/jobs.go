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
	"encoding/json"
	"errors"
	"fmt"
	"math"
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
	MaxPlaceRunes       = 100
	MaxHeadCount        = 10_000
	MaxSlots            = 31
	MaxSlotLength       = 24 * time.Hour
)

// The area job coordinates may lie in: mainland China with its islands,
// with a margin.
const (
	minLat, maxLat = 3.0, 54.0
	minLng, maxLng = 73.0, 136.0
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
	Place       string    `json:"place,omitempty"` // where the work is: the workplace's address, not PI
	Lat         *float64  `json:"lat,omitempty"`   // the workplace's coordinates (WGS-84 degrees), for nearby search
	Lng         *float64  `json:"lng,omitempty"`
	HeadCount   int       `json:"head_count"` // how many people, default 1
	Slots       []Slot    `json:"slots"`      // when; none: flexible hours
	Status      string    `json:"status"`
	CreatedBy   string    `json:"-"` // the posting member's account ID: not for the public listing
	CreatedAt   time.Time `json:"created_at"`
}

// Slot is one stretch of work time of a job.
type Slot struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
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
	if j.Place, err = text("place", j.Place, format.KindShortText, 0, MaxPlaceRunes, "工作地点", "the place"); err != nil {
		return err
	}
	if (j.Lat == nil) != (j.Lng == nil) {
		return invalid("lat", "经纬度须同时给出", "give both lat and lng, or neither")
	}
	if j.Lat != nil && !(*j.Lat >= minLat && *j.Lat <= maxLat && *j.Lng >= minLng && *j.Lng <= maxLng) {
		return invalid("lat", "工作地点坐标不在中国境内", "the coordinates are not in China")
	}
	if j.HeadCount == 0 {
		j.HeadCount = 1
	}
	if j.HeadCount < 1 || j.HeadCount > MaxHeadCount {
		return invalid("head_count", fmt.Sprintf("招聘人数须为1至%d", MaxHeadCount), fmt.Sprintf("the head count must be 1 to %d", MaxHeadCount))
	}
	if err := checkSlots(j.Slots); err != nil {
		return err
	}
	// OPS-1: postings are stored in clear, so no PI may ride in their text.
	for _, f := range []struct{ name, text string }{{"title", j.Title}, {"description", j.Description}, {"city", j.City}, {"place", j.Place}} {
		if err := textscan.Check(f.name, f.text); err != nil {
			return err
		}
	}
	return nil
}

// checkSlots: at most MaxSlots, each ending after it starts and at most
// MaxSlotLength long, in time order without overlap. Times are kept in UTC
// at microsecond precision.
func checkSlots(slots []Slot) error {
	if len(slots) > MaxSlots {
		return invalid("slots", fmt.Sprintf("工作时段最多%d个", MaxSlots), fmt.Sprintf("at most %d time slots", MaxSlots))
	}
	for i := range slots {
		sl := &slots[i]
		sl.Start, sl.End = time.UnixMicro(sl.Start.UnixMicro()).UTC(), time.UnixMicro(sl.End.UnixMicro()).UTC()
		field := fmt.Sprintf("slots[%d]", i)
		if sl.Start.IsZero() || !sl.End.After(sl.Start) || sl.End.Sub(sl.Start) > MaxSlotLength {
			return invalid(field, "工作时段须先开始后结束,且不超过24小时", "a slot must end after it starts and last at most 24 hours")
		}
		if i > 0 && sl.Start.Before(slots[i-1].End) {
			return invalid(field, "工作时段须按时间先后排列且不重叠", "slots must be in time order and not overlap")
		}
	}
	return nil
}

// window is the time the slots span, nil without slots.
func window(slots []Slot) (start, end any) {
	if len(slots) == 0 {
		return nil, nil
	}
	return slots[0].Start.UnixMicro(), slots[len(slots)-1].End.UnixMicro()
}

func e6(f *float64) any {
	if f == nil {
		return nil
	}
	return int64(math.Round(*f * 1e6))
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
	j.ID, j.Status, j.CreatedAt, j.Slots = id, Open, s.now(), nonNilSlots(j.Slots)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM organisations WHERE id = ?`, j.OrgID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.New(errs.NotFound, "org_id", "招聘单位不存在", "no such organisation")
		}
		if err != nil {
			return fmt.Errorf("jobs: post: %w", err)
		}
		slots, err := json.Marshal(nonNilSlots(j.Slots))
		if err != nil {
			return fmt.Errorf("jobs: post: %w", err)
		}
		var cell any
		if j.Lat != nil {
			cell = cellOf(*j.Lat, *j.Lng)
		}
		start, end := window(j.Slots)
		terms := Terms(j.Title, j.Description)
		cols := `id, org_id, title, description, city, category, pay_fen, pay_unit, status, created_by, created_at,
			place, lat_e6, lng_e6, cell, head_count, slots, starts_at, ends_at, updated_at`
		args := []any{j.ID, j.OrgID, j.Title, j.Description, j.City, j.Category, j.PayFen, j.PayUnit, j.Status, j.CreatedBy, j.CreatedAt.UnixMicro(),
			j.Place, e6(j.Lat), e6(j.Lng), cell, j.HeadCount, string(slots), start, end, j.CreatedAt.UnixMicro()}
		if tx.Engine() == store.Postgres {
			cols += `, terms`
			args = append(args, distinct(terms))
		}
		_, err = tx.Exec(ctx, `INSERT INTO jobs (`+cols+`) VALUES (`+strings.Repeat("?, ", len(args)-1)+`?)`, args...)
		if err != nil {
			return fmt.Errorf("jobs: post: %w", err)
		}
		if tx.Engine() == store.SQLite {
			_, err = tx.Exec(ctx, `INSERT INTO jobs_fts (rowid, terms) SELECT rowid, ? FROM jobs WHERE id = ?`, strings.Join(terms, " "), j.ID)
			if err != nil {
				return fmt.Errorf("jobs: post: index: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return Job{}, err
	}
	return j, nil
}

const jobCols = `id, org_id, title, description, city, category, pay_fen, pay_unit, status, created_by, created_at, place, lat_e6, lng_e6, head_count, slots`

func nonNilSlots(s []Slot) []Slot {
	if s == nil {
		return []Slot{}
	}
	return s
}

func scanJob(row interface{ Scan(...any) error }) (Job, error) {
	var j Job
	var at int64
	var lat, lng sql.NullInt64
	var slots string
	err := row.Scan(&j.ID, &j.OrgID, &j.Title, &j.Description, &j.City, &j.Category, &j.PayFen, &j.PayUnit, &j.Status, &j.CreatedBy, &at,
		&j.Place, &lat, &lng, &j.HeadCount, &slots)
	if err != nil {
		return j, err
	}
	j.CreatedAt = fromMicro(at)
	if lat.Valid && lng.Valid {
		la, ln := float64(lat.Int64)/1e6, float64(lng.Int64)/1e6
		j.Lat, j.Lng = &la, &ln
	}
	if err := json.Unmarshal([]byte(slots), &j.Slots); err != nil {
		return j, fmt.Errorf("slots: %w", err)
	}
	j.Slots = nonNilSlots(j.Slots)
	return j, nil
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
