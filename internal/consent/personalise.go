package consent

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gigvault/internal/errs"
	"gigvault/internal/store"
)

// Personalisation is a person's choice about personalised recommendations
// (CON-11): whether they are on, and which PI types they may use. They are
// on only when the person switched them on and consented to the
// personalised_recommendation function; the default is off.
type Personalisation struct {
	Enabled   bool      `json:"enabled"`
	Fields    []string  `json:"fields"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// PersonalisationFields are the PI types recommendations may use, each a
// catalog field declared for personalised_recommendation.
var PersonalisationFields = []string{"city", "job_intent", "skills", "search_keyword", "browse_record", "interest_tags"}

// ProfileFields are the profile data behind recommendations that a person
// is offered to delete on switching them off: what was recorded about
// them for recommendations, not what they wrote in their own profile.
var ProfileFields = []string{"search_keyword", "browse_record", "interest_tags"}

// Personalisation returns the subject's choice.
func (s *Store) Personalisation(ctx context.Context, subject string) (Personalisation, error) {
	var enabled int
	var fields string
	var at int64
	err := s.db.QueryRow(ctx, `SELECT enabled, fields, updated_at FROM personalisation WHERE subject_id = ?`, subject).Scan(&enabled, &fields, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Personalisation{Fields: []string{}}, nil
	}
	if err != nil {
		return Personalisation{}, fmt.Errorf("consent: personalisation: %w", err)
	}
	p := Personalisation{Enabled: enabled == 1, Fields: []string{}, UpdatedAt: time.UnixMicro(at).UTC()}
	if fields != "" {
		p.Fields = strings.Split(fields, ",")
	}
	return p, nil
}

// SetPersonalisation records the subject's choice inside tx.
func (s *Store) SetPersonalisation(ctx context.Context, tx *store.Tx, subject string, p Personalisation) (Personalisation, error) {
	for _, f := range p.Fields {
		if !slices.Contains(PersonalisationFields, f) {
			return Personalisation{}, errs.New(errs.Invalid, "fields", "个性化推荐不能使用该类信息", "recommendations may not use this type of information").
				With("", []string{f}, "")
		}
	}
	fields := slices.Clone(p.Fields)
	slices.Sort(fields)
	fields = slices.Compact(fields)
	enabled := 0
	if p.Enabled {
		enabled = 1
	}
	now := s.clk.Now().UTC()
	if _, err := tx.Exec(ctx, `INSERT INTO personalisation (subject_id, enabled, fields, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (subject_id) DO UPDATE SET enabled = excluded.enabled, fields = excluded.fields, updated_at = excluded.updated_at`,
		subject, enabled, strings.Join(fields, ","), now.UnixMicro()); err != nil {
		return Personalisation{}, fmt.Errorf("consent: set personalisation: %w", err)
	}
	if fields == nil {
		fields = []string{}
	}
	return Personalisation{Enabled: p.Enabled, Fields: fields, UpdatedAt: now}, nil
}
