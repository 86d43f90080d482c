package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gigvault/internal/errs"
	"gigvault/internal/format"
	"gigvault/internal/textscan"
)

// Org is an employer organisation's profile: company data, not PI. The
// contact person's details are vault values of the member's own subject.
type Org struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	USCC        string     `json:"uscc"`
	City        string     `json:"city"`
	Industry    string     `json:"industry"`
	Description string     `json:"description"`
	VerifiedAt  *time.Time `json:"verified_at,omitempty"` // a staff member checked its qualification
	CreatedAt   time.Time  `json:"created_at"`
}

// Verified reports whether staff verified the organisation.
func (o Org) Verified() bool { return o.VerifiedAt != nil }

// Limits of an organisation profile.
const (
	MaxIndustryRunes       = 30
	MaxOrgDescriptionRunes = 1000
)

var errNoOrg = errs.New(errs.NotFound, "org_id", "招聘单位不存在", "no such organisation")

// Org returns an organisation's profile.
func (s *Store) Org(ctx context.Context, id string) (Org, error) {
	var o Org
	var created int64
	var verified sql.NullInt64
	err := s.db.QueryRow(ctx, `SELECT id, name, uscc, city, industry, description, verified_at, created_at FROM organisations WHERE id = ?`, id).
		Scan(&o.ID, &o.Name, &o.USCC, &o.City, &o.Industry, &o.Description, &verified, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Org{}, errNoOrg
	}
	if err != nil {
		return Org{}, fmt.Errorf("jobs: organisation: %w", err)
	}
	o.CreatedAt = fromMicro(created)
	if verified.Valid {
		t := fromMicro(verified.Int64)
		o.VerifiedAt = &t
	}
	return o, nil
}

// UpdateOrg sets an organisation's city, industry and description (its
// name and credit code are fixed at registration). Text is scanned for
// stray PI (OPS-1).
func (s *Store) UpdateOrg(ctx context.Context, id, city, industry, description string) (Org, error) {
	var err error
	if city, err = text("city", city, format.KindCity, 0, MaxCityRunes, "城市", "the city"); err != nil {
		return Org{}, err
	}
	if industry, err = text("industry", industry, format.KindShortText, 0, MaxIndustryRunes, "行业", "the industry"); err != nil {
		return Org{}, err
	}
	if description, err = text("description", description, format.KindText, 0, MaxOrgDescriptionRunes, "单位简介", "the description"); err != nil {
		return Org{}, err
	}
	for _, f := range []struct{ name, text string }{{"industry", industry}, {"description", description}} {
		if err := textscan.Check(f.name, f.text); err != nil {
			return Org{}, err
		}
	}
	res, err := s.db.Exec(ctx, `UPDATE organisations SET city = ?, industry = ?, description = ?, updated_at = ? WHERE id = ?`,
		city, industry, description, s.now().UnixMicro(), id)
	if err != nil {
		return Org{}, fmt.Errorf("jobs: update organisation: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Org{}, errNoOrg
	}
	return s.Org(ctx, id)
}

// VerifyOrg records that staff member by checked the organisation's
// qualification (its business licence and contact person). Verifying a
// verified organisation changes nothing.
func (s *Store) VerifyOrg(ctx context.Context, id, by string) (Org, error) {
	now := s.now().UnixMicro()
	res, err := s.db.Exec(ctx, `UPDATE organisations SET verified_at = COALESCE(verified_at, ?), verified_by = COALESCE(verified_by, ?), updated_at = ? WHERE id = ?`,
		now, by, now, id)
	if err != nil {
		return Org{}, fmt.Errorf("jobs: verify organisation: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Org{}, errNoOrg
	}
	return s.Org(ctx, id)
}

// Orgs lists organisations, unverified first then newest, at most limit.
func (s *Store) Orgs(ctx context.Context, limit int) ([]Org, error) {
	rows, err := s.db.Query(ctx, `SELECT id FROM organisations ORDER BY (verified_at IS NOT NULL), created_at DESC, id LIMIT ?`, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("jobs: organisations: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("jobs: organisations: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: organisations: %w", err)
	}
	out := []Org{}
	for _, id := range ids {
		o, err := s.Org(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}
