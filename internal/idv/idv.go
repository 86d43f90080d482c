// Package idv keeps identity-verification results (GIG-5): for each
// attempt, the level (2, 3 or 4 factors), the outcome, the provider and
// its reference, and which factors were checked — never the factors
// themselves, which are vault values kept as the catalog allows.
package idv

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"gigvault/internal/clock"
	"gigvault/internal/store"
	"gigvault/internal/verify"
)

// Record is one verification attempt.
type Record struct {
	ID          string    `json:"id"`
	SubjectID   string    `json:"-"`
	Level       int       `json:"level"`
	Passed      bool      `json:"passed"`
	Reason      string    `json:"reason,omitempty"`
	Provider    string    `json:"provider"`
	ProviderRef string    `json:"provider_ref"`
	Factors     []string  `json:"factors"`
	At          time.Time `json:"at"`
}

// Store keeps verification records.
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

// Add records the result of a verification of subject inside tx.
func (s *Store) Add(ctx context.Context, tx *store.Tx, subject string, res verify.Result) (Record, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Record{}, fmt.Errorf("idv: id: %w", err)
	}
	at := res.At
	if at.IsZero() {
		at = s.clk.Now()
	}
	r := Record{ID: id.String(), SubjectID: subject, Level: int(res.Level), Passed: res.Passed, Reason: res.Reason,
		Provider: res.Provider, ProviderRef: res.ProviderRef, Factors: verify.Factors(res.Level), At: time.UnixMicro(at.UnixMicro()).UTC()}
	outcome := "failed"
	if r.Passed {
		outcome = "passed"
	}
	_, err = tx.Exec(ctx, `INSERT INTO verifications (id, subject_id, level, outcome, reason, provider, provider_ref, factors, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, subject, r.Level, outcome, r.Reason, r.Provider, r.ProviderRef, strings.Join(r.Factors, ","), r.At.UnixMicro())
	if err != nil {
		return Record{}, fmt.Errorf("idv: add: %w", err)
	}
	return r, nil
}

// History lists subject's verification attempts, newest first.
func (s *Store) History(ctx context.Context, subject string) ([]Record, error) {
	rows, err := s.db.Query(ctx, `SELECT id, level, outcome, reason, provider, provider_ref, factors, created_at FROM verifications
		WHERE subject_id = ? ORDER BY created_at DESC, id DESC LIMIT 100`, subject)
	if err != nil {
		return nil, fmt.Errorf("idv: history: %w", err)
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		r := Record{SubjectID: subject}
		var outcome, factors string
		var at int64
		if err := rows.Scan(&r.ID, &r.Level, &outcome, &r.Reason, &r.Provider, &r.ProviderRef, &factors, &at); err != nil {
			return nil, fmt.Errorf("idv: history: %w", err)
		}
		r.Passed, r.At = outcome == "passed", time.UnixMicro(at).UTC()
		if factors != "" {
			r.Factors = strings.Split(factors, ",")
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Level is subject's current verification: the highest level of a passed
// attempt, with that attempt; zero Record when never verified.
func (s *Store) Level(ctx context.Context, subject string) (Record, error) {
	hs, err := s.History(ctx, subject)
	if err != nil {
		return Record{}, err
	}
	var best Record
	for _, r := range hs {
		if r.Passed && r.Level > best.Level {
			best = r
		}
	}
	return best, nil
}
