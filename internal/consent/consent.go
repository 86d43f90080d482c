// Package consent answers the decision point's question: may this subject's
// PI be used for this purpose? It keeps the latest state per subject and
// purpose, and knows which purposes rest on a legal basis other than
// consent (CON-13).
//
// This is the first cut the identity issue needs: registration records the
// subject's agreement to the privacy policy for the basic function's
// purposes (CAT-2). The consent issue adds policy versions, evidence,
// receipts, guardians and the 48-hour rule on top of the same table.
package consent

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"gigvault/internal/clock"
	"gigvault/internal/policy"
	"gigvault/internal/store"
)

// Source is what the decision point asks. The consent issue supplies the
// full implementation; tests supply fixed answers.
type Source interface {
	State(ctx context.Context, subject, purpose string) (policy.Consent, error)
}

// BasicPurposes are the purposes of the basic business function — job-
// information exchange — that a registrant agrees to with the privacy
// policy itself (CAT-2): using the platform needs nothing more.
var BasicPurposes = []string{
	"account_registration", "job_matching", "job_search", "resume_sharing",
	"application_management", "customer_service", "rights_request",
}

// LegalBasis are purposes that rest on a legal-basis exception rather than
// consent (CON-13): legal obligations, and the security of the service the
// subject uses. Processing under them is recorded with the exception.
var LegalBasis = []string{"legal_compliance", "security_risk_control"}

// Store keeps consent state in the business database.
type Store struct {
	db  *store.DB
	clk clock.Clock
}

// New returns a Store.
func New(db *store.DB, clk clock.Clock) *Store {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Store{db: db, clk: clk}
}

// State is the subject's consent for purpose.
func (s *Store) State(ctx context.Context, subject, purpose string) (policy.Consent, error) {
	if slices.Contains(LegalBasis, purpose) {
		return policy.Exception, nil
	}
	var state string
	err := s.db.QueryRow(ctx, `SELECT state FROM consents WHERE subject_id = ? AND purpose = ?`, subject, purpose).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return policy.NoConsent, nil
	}
	if err != nil {
		return "", fmt.Errorf("consent: state: %w", err)
	}
	return policy.Consent(state), nil
}

// Record sets the subject's state for purposes inside tx, the transaction
// of the action that gathered it.
func (s *Store) Record(ctx context.Context, tx *store.Tx, subject string, state policy.Consent, policyVersion, channel string, purposes ...string) error {
	now := s.clk.Now().UnixMicro()
	for _, p := range purposes {
		_, err := tx.Exec(ctx, `INSERT INTO consents (subject_id, purpose, state, policy_version, channel, at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (subject_id, purpose) DO UPDATE SET state = excluded.state, policy_version = excluded.policy_version,
			channel = excluded.channel, at = excluded.at`, subject, p, string(state), policyVersion, channel, now)
		if err != nil {
			return fmt.Errorf("consent: record: %w", err)
		}
	}
	return nil
}

// Fixed is a Source with one answer per purpose, for tests.
type Fixed map[string]policy.Consent

// State answers from the map; a purpose not in it has no consent.
func (f Fixed) State(_ context.Context, _, purpose string) (policy.Consent, error) {
	if c, ok := f[purpose]; ok {
		return c, nil
	}
	return policy.NoConsent, nil
}
