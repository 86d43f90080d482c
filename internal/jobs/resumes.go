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

// Resume is a résumé's metadata; its contents are vault values of the
// subject with the résumé ID as their record.
type Resume struct {
	ID         string    `json:"id"`
	SubjectID  string    `json:"subject_id"`
	Visibility string    `json:"visibility"` // private | public
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// visibility checks v; "" is the default, given as def.
func visibility(v, def string) (string, error) {
	switch v {
	case "":
		return def, nil
	case Private, Public:
		return v, nil
	}
	return "", invalid("visibility", "可见范围须为 private 或 public", "visibility must be private or public")
}

// CreateResume records a new résumé of subject inside tx, the transaction
// in which the caller writes its contents to the vault. Visibility "" is
// private. The subject must exist and not be erased.
func (s *Store) CreateResume(ctx context.Context, tx *store.Tx, subject, vis string) (Resume, error) {
	vis, err := visibility(vis, Private)
	if err != nil {
		return Resume{}, err
	}
	if err := liveSubject(ctx, tx, subject); err != nil {
		return Resume{}, err
	}
	id, err := newID("résumé")
	if err != nil {
		return Resume{}, err
	}
	now := s.now()
	r := Resume{ID: id, SubjectID: subject, Visibility: vis, CreatedAt: now, UpdatedAt: now}
	if _, err := tx.Exec(ctx, `INSERT INTO resumes (id, subject_id, visibility, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		r.ID, r.SubjectID, r.Visibility, now.UnixMicro(), now.UnixMicro()); err != nil {
		return Resume{}, fmt.Errorf("jobs: create résumé: %w", err)
	}
	return r, nil
}

// liveSubject checks that subject exists and is not erased, holding its
// row (shared) on PostgreSQL until tx ends so an erasure waits.
func liveSubject(ctx context.Context, tx *store.Tx, subject string) error {
	q := `SELECT erased_at FROM subjects WHERE id = ?`
	if tx.Engine() == store.Postgres {
		q += ` FOR SHARE`
	}
	var erased sql.NullInt64
	err := tx.QueryRow(ctx, q, subject).Scan(&erased)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.New(errs.NotFound, "subject_id", "数据主体不存在", "no such data subject")
	}
	if err != nil {
		return fmt.Errorf("jobs: subject: %w", err)
	}
	if erased.Valid {
		return errs.New(errs.Erased, "subject_id", "该主体的个人信息已删除", "this subject's personal information has been erased")
	}
	return nil
}

const resumeCols = `id, subject_id, visibility, created_at, updated_at`

func scanResume(row interface{ Scan(...any) error }) (Resume, error) {
	var r Resume
	var created, updated int64
	err := row.Scan(&r.ID, &r.SubjectID, &r.Visibility, &created, &updated)
	r.CreatedAt, r.UpdatedAt = fromMicro(created), fromMicro(updated)
	return r, err
}

// Resume returns one résumé's metadata.
func (s *Store) Resume(ctx context.Context, id string) (Resume, error) {
	r, err := scanResume(s.db.QueryRow(ctx, `SELECT `+resumeCols+` FROM resumes WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Resume{}, errs.New(errs.NotFound, "id", "简历不存在", "no such résumé")
	}
	if err != nil {
		return Resume{}, fmt.Errorf("jobs: résumé: %w", err)
	}
	return r, nil
}

// Resumes lists subject's résumés, newest first.
func (s *Store) Resumes(ctx context.Context, subject string) ([]Resume, error) {
	rows, err := s.db.Query(ctx, `SELECT `+resumeCols+` FROM resumes WHERE subject_id = ? ORDER BY created_at DESC, id DESC`, subject)
	if err != nil {
		return nil, fmt.Errorf("jobs: résumés: %w", err)
	}
	defer rows.Close()
	out := []Resume{}
	for rows.Next() {
		r, err := scanResume(rows)
		if err != nil {
			return nil, fmt.Errorf("jobs: résumés: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: résumés: %w", err)
	}
	return out, nil
}

// TouchResume marks a résumé changed inside tx, the transaction in which
// the caller rewrites its contents, and sets its visibility ("" keeps it).
func (s *Store) TouchResume(ctx context.Context, tx *store.Tx, id, vis string) error {
	vis, err := visibility(vis, "")
	if err != nil {
		return err
	}
	var res sql.Result
	if vis == "" {
		res, err = tx.Exec(ctx, `UPDATE resumes SET updated_at = ? WHERE id = ?`, s.now().UnixMicro(), id)
	} else {
		res, err = tx.Exec(ctx, `UPDATE resumes SET visibility = ?, updated_at = ? WHERE id = ?`, vis, s.now().UnixMicro(), id)
	}
	if err != nil {
		return fmt.Errorf("jobs: touch résumé: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("jobs: touch résumé: %w", err)
	} else if n == 0 {
		return errs.New(errs.NotFound, "id", "简历不存在", "no such résumé")
	}
	return nil
}

// SetResumeTerms replaces the search tags of a résumé inside tx, the
// transaction that rewrites it. Tags are keyed digests of its terms (skills,
// city, intent), so the terms themselves are not stored; a private résumé
// keeps none.
func (s *Store) SetResumeTerms(ctx context.Context, tx *store.Tx, resumeID string, tags [][]byte) error {
	if _, err := tx.Exec(ctx, `DELETE FROM resume_terms WHERE resume_id = ?`, resumeID); err != nil {
		return fmt.Errorf("jobs: résumé terms: %w", err)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if seen[string(t)] {
			continue
		}
		seen[string(t)] = true
		if _, err := tx.Exec(ctx, `INSERT INTO resume_terms (tag, resume_id) VALUES (?, ?)`, t, resumeID); err != nil {
			return fmt.Errorf("jobs: résumé terms: %w", err)
		}
	}
	return nil
}

// MaxResumeTerms is how many terms one public-résumé search may combine.
const MaxResumeTerms = 5

// PublicResumes finds public résumés carrying every tag, most recently
// updated first, at most limit (default DefaultLimit, at most MaxLimit),
// skipping erased subjects.
func (s *Store) PublicResumes(ctx context.Context, tags [][]byte, limit int) ([]Resume, error) {
	if len(tags) == 0 || len(tags) > MaxResumeTerms {
		return nil, invalid("skill", fmt.Sprintf("须给出1至%d个检索条件", MaxResumeTerms), fmt.Sprintf("give 1 to %d search terms", MaxResumeTerms))
	}
	q := `SELECT ` + prefixed("r.", resumeCols) + ` FROM resumes r JOIN subjects s ON s.id = r.subject_id WHERE r.visibility = ? AND s.erased_at IS NULL`
	args := []any{Public}
	for _, t := range tags {
		q += ` AND EXISTS (SELECT 1 FROM resume_terms t WHERE t.tag = ? AND t.resume_id = r.id)`
		args = append(args, t)
	}
	q += ` ORDER BY r.updated_at DESC, r.id DESC LIMIT ?`
	args = append(args, clampLimit(limit))
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("jobs: public résumés: %w", err)
	}
	defer rows.Close()
	out := []Resume{}
	for rows.Next() {
		r, err := scanResume(rows)
		if err != nil {
			return nil, fmt.Errorf("jobs: public résumés: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
