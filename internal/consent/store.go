package consent

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/golang-lru/v2/expirable"

	"gigvault/internal/catalog"
	"gigvault/internal/clock"
	"gigvault/internal/functions"
	"gigvault/internal/policy"
	"gigvault/internal/store"
)

// Floor tells which published policy version is the latest material
// change in effect; consents given under an older version no longer count.
type Floor interface {
	MaterialFloor(ctx context.Context) (seq int64, version string, err error)
}

// Options configure a Store.
type Options struct {
	Functions *functions.Registry // which functions serve which purposes; nil: only the policy scope
	Catalog   *catalog.Catalog    // which fields are sensitive
	Floor     Floor               // nil: no material change ever
	// CacheSize bounds the subjects whose state is cached (100,000).
	CacheSize int
	// CacheTTL is how long a cached state may be used. A change made on
	// this node is seen at once; one made on another node within the TTL
	// (2 s). Negative disables the cache.
	CacheTTL time.Duration
}

// State is the current consent of one subject for one scope.
type State struct {
	Scope         string         `json:"scope"`
	State         policy.Consent `json:"state"`
	PolicyVersion string         `json:"policy_version"`
	PolicySeq     int64          `json:"-"`
	At            time.Time      `json:"at"`
	RefusedAt     time.Time      `json:"-"` // last refusal or withdrawal (CON-7)
	EventID       string         `json:"event_id,omitempty"`
}

// PromptAllowedAt is when the scope may next be prompted after its last
// refusal or withdrawal (CON-6); zero means now.
func (st State) PromptAllowedAt(now time.Time) time.Time {
	if st.RefusedAt.IsZero() {
		return time.Time{}
	}
	if at := PromptAllowedAt(st.RefusedAt); now.Before(at) {
		return at
	}
	return time.Time{}
}

// Event is one consent act with its evidence (CON-2).
type Event struct {
	ID            string    `json:"id"`
	Subject       string    `json:"subject"`
	Scope         string    `json:"scope"`
	Event         string    `json:"event"` // agree | refuse | withdraw
	PolicyVersion string    `json:"policy_version"`
	PolicySeq     int64     `json:"-"`
	Channel       string    `json:"channel"`
	NoticeDigest  string    `json:"notice_digest"`
	IPTag         string    `json:"ip_tag"`
	ActedBy       string    `json:"acted_by"` // subject | guardian
	GuardianRef   string    `json:"guardian_ref,omitempty"`
	Relationship  string    `json:"relationship,omitempty"`
	At            time.Time `json:"at"`
}

// The events.
const (
	Agree    = "agree"
	Refuse   = "refuse"
	Withdraw = "withdraw"
)

// snapshot is a subject's states as loaded at a time of the store's clock.
type snapshot struct {
	states map[string]State
	at     time.Time
}

// Store keeps consent events and state in the business database.
type Store struct {
	db    *store.DB
	clk   clock.Clock
	fns   *functions.Registry
	sens  map[string]bool // functions that use sensitive PI
	floor Floor
	cache *expirable.LRU[string, snapshot]
	ttl   time.Duration
	epoch atomic.Uint64 // bumped by every change: a load that overlaps one is not cached
}

// New returns a Store.
func New(db *store.DB, clk clock.Clock, o Options) *Store {
	if clk == nil {
		clk = clock.Real{}
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 100_000
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = 2 * time.Second
	}
	s := &Store{db: db, clk: clk, fns: o.Functions, floor: o.Floor, sens: map[string]bool{}}
	if o.Functions != nil && o.Catalog != nil {
		for _, f := range o.Functions.Functions() {
			s.sens[f.ID] = SensitiveFields(o.Catalog, f) != nil
		}
	}
	if o.CacheTTL > 0 {
		// Entries age on the injected clock, not the LRU's own.
		s.cache, s.ttl = expirable.NewLRU[string, snapshot](o.CacheSize, nil, 0), o.CacheTTL
	}
	return s
}

// States returns the subject's current consent per scope.
func (s *Store) States(ctx context.Context, subject string) (map[string]State, error) {
	now := s.clk.Now()
	if s.cache != nil {
		if snap, ok := s.cache.Get(subject); ok && now.Sub(snap.at) < s.ttl {
			return snap.states, nil
		}
	}
	epoch := s.epoch.Load()
	rows, err := s.db.Query(ctx, `SELECT purpose, state, policy_version, policy_seq, at, refused_at, event_id FROM consents WHERE subject_id = ?`, subject)
	if err != nil {
		return nil, fmt.Errorf("consent: states: %w", err)
	}
	defer rows.Close()
	snap := map[string]State{}
	for rows.Next() {
		var st State
		var state string
		var at, refused int64
		if err := rows.Scan(&st.Scope, &state, &st.PolicyVersion, &st.PolicySeq, &at, &refused, &st.EventID); err != nil {
			return nil, fmt.Errorf("consent: states: %w", err)
		}
		st.State, st.At = policy.Consent(state), time.UnixMicro(at).UTC()
		if refused > 0 {
			st.RefusedAt = time.UnixMicro(refused).UTC()
		}
		snap[st.Scope] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("consent: states: %w", err)
	}
	if s.cache != nil && s.epoch.Load() == epoch {
		s.cache.Add(subject, snapshot{states: snap, at: now})
	}
	return snap, nil
}

// Check answers the decision point (CON-5, CON-6, CON-9, CON-13, SHR-5).
func (s *Store) Check(ctx context.Context, q Query) (Answer, error) {
	if basis, ok := Exceptions[q.Purpose]; ok {
		return Answer{State: policy.Exception, Basis: basis}, nil
	}
	snap, err := s.States(ctx, q.Subject)
	if err != nil {
		return Answer{}, err
	}
	var floor int64
	if s.floor != nil {
		if floor, _, err = s.floor.MaterialFloor(ctx); err != nil {
			return Answer{}, fmt.Errorf("consent: policy floor: %w", err)
		}
	}
	// Alternatives: any one complete set of scopes is enough.
	// The policy scope grants the basic function's purposes (CAT-2).
	var alternatives [][]string
	for _, sc := range s.ScopesFor(q.Purpose) {
		set := []string{sc}
		if kind, id := SplitScope(sc); kind == KindFunction && q.Sensitive && s.sens[id] {
			set = append(set, Scope(KindSensitive, id))
		}
		alternatives = append(alternatives, set)
	}
	if len(alternatives) == 0 {
		return Answer{State: policy.NoConsent, Missing: []string{"purpose:" + q.Purpose}}, nil
	}
	var best []string
	worst := policy.NoConsent
	for _, set := range alternatives {
		if q.Recipient != "" {
			set = append(slices.Clone(set), q.Recipient)
		}
		var missing []string
		for _, sc := range set {
			st, ok := snap[sc]
			if !ok || st.State != policy.Granted || st.PolicySeq < floor {
				missing = append(missing, sc)
				if ok && (st.State == policy.Withdrawn || st.State == policy.Refused) {
					worst = st.State
				}
			}
		}
		if len(missing) == 0 {
			return Answer{State: policy.Granted}, nil
		}
		if best == nil || len(missing) < len(best) {
			best = missing
		}
	}
	return Answer{State: worst, Missing: best}, nil
}

// SensitiveFields lists the sensitive PI a function uses (CON-6).
func SensitiveFields(cat *catalog.Catalog, f functions.Function) []string {
	var out []string
	for _, p := range f.PI {
		if cf, ok := cat.Field(p.Field); ok && cf.Sensitive {
			out = append(out, p.Field)
		}
	}
	return out
}

// State is the subject's consent for purpose alone (no sensitive PI, no
// recipient).
func (s *Store) State(ctx context.Context, subject, purpose string) (policy.Consent, error) {
	a, err := s.Check(ctx, Query{Subject: subject, Purpose: purpose})
	return a.State, err
}

// Append records a consent event and the resulting state inside tx, the
// transaction of the action that gathered it. It fills in the ID and time.
func (s *Store) Append(ctx context.Context, tx *store.Tx, ev *Event) error {
	if ev.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("consent: event id: %w", err)
		}
		ev.ID = id.String()
	}
	if ev.At.IsZero() {
		ev.At = s.clk.Now().UTC()
	}
	var state policy.Consent
	switch ev.Event {
	case Agree:
		state = policy.Granted
	case Refuse:
		state = policy.Refused
	case Withdraw:
		state = policy.Withdrawn
	default:
		return fmt.Errorf("consent: unknown event %q", ev.Event)
	}
	if ev.ActedBy == "" {
		ev.ActedBy = BySubject
	}
	at := ev.At.UnixMicro()
	if _, err := tx.Exec(ctx, `INSERT INTO consent_events (id, subject_id, scope, event, policy_version, channel, notice_digest, ip_tag, acted_by, guardian_ref, relationship, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ev.ID, ev.Subject, ev.Scope, ev.Event, ev.PolicyVersion, ev.Channel, ev.NoticeDigest,
		ev.IPTag, ev.ActedBy, ev.GuardianRef, ev.Relationship, at); err != nil {
		return fmt.Errorf("consent: record event: %w", err)
	}
	var refused int64
	if state != policy.Granted {
		refused = at
	}
	if _, err := tx.Exec(ctx, `INSERT INTO consents (subject_id, purpose, state, policy_version, channel, at, event_id, policy_seq, refused_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (subject_id, purpose) DO UPDATE SET state = excluded.state, policy_version = excluded.policy_version,
		channel = excluded.channel, at = excluded.at, event_id = excluded.event_id, policy_seq = excluded.policy_seq,
		refused_at = CASE WHEN excluded.refused_at > 0 THEN excluded.refused_at ELSE consents.refused_at END`,
		ev.Subject, ev.Scope, string(state), ev.PolicyVersion, ev.Channel, at, ev.ID, ev.PolicySeq, refused); err != nil {
		return fmt.Errorf("consent: record state: %w", err)
	}
	s.invalidate(ev.Subject)
	tx.AfterCommit(func() { s.invalidate(ev.Subject) })
	return nil
}

func (s *Store) invalidate(subject string) {
	s.epoch.Add(1)
	if s.cache != nil {
		s.cache.Remove(subject)
	}
}

const eventColumns = `id, subject_id, scope, event, policy_version, channel, notice_digest, ip_tag, acted_by, guardian_ref, relationship, at`

// Events lists the subject's consent events, oldest first.
func (s *Store) Events(ctx context.Context, subject string) ([]Event, error) {
	rows, err := s.db.Query(ctx, `SELECT `+eventColumns+` FROM consent_events WHERE subject_id = ? ORDER BY at, id`, subject)
	if err != nil {
		return nil, fmt.Errorf("consent: events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// Event returns one event of the subject.
func (s *Store) Event(ctx context.Context, subject, id string) (Event, bool, error) {
	ev, err := scanEvent(s.db.QueryRow(ctx, `SELECT `+eventColumns+` FROM consent_events WHERE subject_id = ? AND id = ?`, subject, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Event{}, false, nil
	}
	return ev, err == nil, err
}

func scanEvent(row interface{ Scan(...any) error }) (Event, error) {
	var ev Event
	var at int64
	if err := row.Scan(&ev.ID, &ev.Subject, &ev.Scope, &ev.Event, &ev.PolicyVersion, &ev.Channel, &ev.NoticeDigest, &ev.IPTag, &ev.ActedBy,
		&ev.GuardianRef, &ev.Relationship, &at); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Event{}, err
		}
		return Event{}, fmt.Errorf("consent: events: %w", err)
	}
	ev.At = time.UnixMicro(at).UTC()
	return ev, nil
}

// ScopesFor lists the scopes any one of which grants purpose: the policy
// for the basic function's purposes, and each extended function serving
// it. Exception purposes need none.
func (s *Store) ScopesFor(purpose string) []string {
	if _, ok := Exceptions[purpose]; ok {
		return nil
	}
	var out []string
	if s.fns != nil {
		for _, f := range s.fns.ForPurpose(purpose) {
			if f.Kind == functions.Basic {
				out = append(out, ScopePolicy)
			} else {
				out = append(out, Scope(KindFunction, f.ID))
			}
		}
	}
	return out
}
