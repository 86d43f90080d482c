package verify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"gigvault/internal/clock"
	"gigvault/internal/format"
)

// Outcomes: the fixture's outcome values and Call.Outcome. A failed check's
// outcome is its Reason ("mismatch", …).
const (
	OutcomePass          = "pass"
	OutcomeProviderError = "provider_error" // the call failed with errs.Unavailable
	OutcomeRateLimited   = "rate_limited"   // Call only: refused by the per-minute limit
	OutcomeInvalid       = "invalid"        // Call only: refused by Request.Check
	OutcomeCanceled      = "canceled"       // Call only: the context ended (or Sleep failed) during the latency
)

// Sandbox defaults.
const (
	DefaultLatency   = 300 * time.Millisecond
	DefaultPerMinute = 60
	maxCalls         = 10000 // Calls keeps at most this many, dropping the oldest
)

// unknownMismatchBelow is the threshold of the sandbox's answer for an ID
// number not in the fixture: "mismatch" when the first byte of the SHA-256
// of the normalised number is below it (26/256, about 10%), else "pass".
const unknownMismatchBelow = 26

//go:embed sandbox_fixture.yaml
var embeddedFixture []byte

// Identity is one synthetic identity of a sandbox fixture, normalised.
type Identity struct {
	Label    string // unique name of the entry, e.g. "pass", "card-not-matching"
	Name     string
	IDNumber string
	BankCard string // "" when none is on record
	Mobile   string // "" when none is on record
	// Outcome, when set, is the answer at every level whatever the
	// factors; Outcomes[level] overrides it for one level.
	Outcome  string
	Outcomes map[Level]string
}

// Request returns the request that checks this identity at level with
// exactly the factors on record (a factor the entry lacks stays empty, and
// Check will then refuse the request).
func (id Identity) Request(level Level) Request {
	r := Request{Level: level, Name: id.Name, IDNumber: id.IDNumber}
	if level >= Level3 {
		r.BankCard = id.BankCard
	}
	if level >= Level4 {
		r.Mobile = id.Mobile
	}
	return r
}

// Expect returns the sandbox's outcome for id.Request(level) — "pass", a
// Reason code or "provider_error". When the entry has no card (or mobile
// number) on record and level needs one, the request must carry some valid
// one, and the outcome is the same whichever.
func (id Identity) Expect(level Level) string {
	if o := id.forced(level); o != "" {
		return o
	}
	switch {
	case level >= Level3 && id.BankCard == "":
		return ReasonCardNotMatching
	case level >= Level4 && id.Mobile == "":
		return ReasonMobileNotMatching
	}
	return OutcomePass
}

// forced returns the outcome the entry forces at level, or "".
func (id Identity) forced(level Level) string {
	if o, ok := id.Outcomes[level]; ok {
		return o
	}
	return id.Outcome
}

// answer returns the outcome of a checked request whose ID number is id's.
func (id Identity) answer(r Request) string {
	if o := id.forced(r.Level); o != "" {
		return o
	}
	switch {
	case r.Name != id.Name:
		return ReasonMismatch
	case r.Level >= Level3 && (id.BankCard == "" || r.BankCard != id.BankCard):
		return ReasonCardNotMatching
	case r.Level >= Level4 && (id.Mobile == "" || r.Mobile != id.Mobile):
		return ReasonMobileNotMatching
	}
	return OutcomePass
}

func (id Identity) clone() Identity {
	if id.Outcomes != nil {
		m := make(map[Level]string, len(id.Outcomes))
		for k, v := range id.Outcomes {
			m[k] = v
		}
		id.Outcomes = m
	}
	return id
}

// Fixture is a validated, immutable set of synthetic identities.
type Fixture struct {
	Source string // file name, or "embedded sandbox_fixture.yaml"
	ids    []Identity
	byID   map[string]int // normalised ID number -> index in ids
}

// DefaultFixture returns the embedded fixture, sandbox_fixture.yaml. It
// panics if that file is invalid, which a test rules out.
func DefaultFixture() *Fixture {
	f, err := parseFixture("embedded sandbox_fixture.yaml", embeddedFixture)
	if err != nil {
		panic(err.Error())
	}
	return f
}

// LoadFixture reads and validates a fixture file in the format of the
// embedded sandbox_fixture.yaml.
func LoadFixture(path string) (*Fixture, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("verify: read fixture: %w", err)
	}
	return parseFixture(path, b)
}

// ParseFixture validates a fixture document.
func ParseFixture(data []byte) (*Fixture, error) {
	return parseFixture("sandbox fixture", data)
}

// Identities returns the fixture's identities in file order (a deep copy).
func (f *Fixture) Identities() []Identity {
	out := make([]Identity, len(f.ids))
	for i, id := range f.ids {
		out[i] = id.clone()
	}
	return out
}

// Identity returns the identity labelled label.
func (f *Fixture) Identity(label string) (Identity, bool) {
	for _, id := range f.ids {
		if id.Label == label {
			return id.clone(), true
		}
	}
	return Identity{}, false
}

// fixtureFile is the YAML document.
type fixtureFile struct {
	Identities []fixtureEntry `yaml:"identities"`
}

type fixtureEntry struct {
	Label    string         `yaml:"label"`
	Name     string         `yaml:"name"`
	IDNumber string         `yaml:"id_number"`
	BankCard string         `yaml:"bank_card"`
	Mobile   string         `yaml:"mobile"`
	Outcome  string         `yaml:"outcome"`
	Outcomes map[int]string `yaml:"outcomes"`
}

var labelRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// parseFixture decodes strictly and validates. Errors name the source, the
// entry and the field, never a factor's value.
func parseFixture(source string, data []byte) (*Fixture, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("verify: fixture %s: "+format, append([]any{source}, a...)...)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc fixtureFile
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fail("%v", err)
	}
	f := &Fixture{Source: source, byID: map[string]int{}}
	labels := map[string]bool{}
	for i, e := range doc.Identities {
		at := fmt.Sprintf("identity %d", i+1)
		if !labelRE.MatchString(e.Label) {
			return nil, fail("%s: label missing or not [a-z0-9-], at most 64", at)
		}
		at += " (" + e.Label + ")"
		if labels[e.Label] {
			return nil, fail("%s: duplicate label", at)
		}
		labels[e.Label] = true
		id := Identity{Label: e.Label}
		for _, fv := range []struct {
			field    string
			in       string
			out      *string
			required bool
		}{
			{FieldName, e.Name, &id.Name, true},
			{FieldIDNumber, e.IDNumber, &id.IDNumber, true},
			{FieldBankCard, e.BankCard, &id.BankCard, false},
			{FieldMobile, e.Mobile, &id.Mobile, false},
		} {
			if fv.in == "" {
				if fv.required {
					return nil, fail("%s: %s missing", at, fv.field)
				}
				continue
			}
			n, err := format.Normalize(fieldKind[fv.field], fv.in)
			if err != nil {
				return nil, fail("%s: %v", at, err) // format errors carry no value
			}
			*fv.out = n
		}
		if _, dup := f.byID[id.IDNumber]; dup {
			return nil, fail("%s: id_number repeats an earlier identity's", at)
		}
		if e.Outcome != "" {
			if !fixtureOutcome(Level2, e.Outcome) {
				return nil, fail("%s: outcome must be pass, mismatch, id_not_found or provider_error (use outcomes for a level's card_not_matching or mobile_not_matching)", at)
			}
			id.Outcome = e.Outcome
		}
		for l, o := range e.Outcomes {
			if !Level(l).Valid() {
				return nil, fail("%s: outcomes: level must be 2, 3 or 4", at)
			}
			if !fixtureOutcome(Level(l), o) {
				return nil, fail("%s: outcomes: %q is not an outcome level %d can have", at, o, l)
			}
			if id.Outcomes == nil {
				id.Outcomes = map[Level]string{}
			}
			id.Outcomes[Level(l)] = o
		}
		f.byID[id.IDNumber] = len(f.ids)
		f.ids = append(f.ids, id)
	}
	if len(f.ids) == 0 {
		return nil, fail("no identities")
	}
	return f, nil
}

// fixtureOutcome reports whether o may be forced at level.
func fixtureOutcome(level Level, o string) bool {
	return o == OutcomePass || o == OutcomeProviderError || validReason(level, o)
}

// Call is one Verify call on a Sandbox, as recorded for tests. It holds no
// factor: Digest is a keyed digest of them.
type Call struct {
	Level Level
	// Digest is the hex HMAC-SHA256, under a key random per Sandbox, of the
	// level and its normalised factors: equal for equal requests to one
	// Sandbox, meaningless outside it. Empty for an invalid request.
	Digest string
	// Label is the fixture identity whose ID number was sent, or "".
	Label string
	// Outcome is "pass", a Reason code, "provider_error", "rate_limited",
	// "invalid" or "canceled".
	Outcome     string
	Latency     time.Duration // the simulated latency waited (or begun) through Sleep
	ProviderRef string        // the Result's, when there is one
	At          time.Time
}

// Sandbox is a Verifier for development and tests that behaves like a
// provider without contacting one. Its answers are deterministic:
//
//   - An ID number listed in the fixture is answered from its entry: a
//     forced outcome if it has one for the level, else by comparing the
//     factors with the entry (name → "mismatch", bank card →
//     "card_not_matching", mobile → "mobile_not_matching").
//   - Any other ID number — a valid one: Check runs first — gets "mismatch"
//     at every level when the first byte of SHA-256(normalised ID number)
//     is below 26 (about one number in ten), else "pass"; the other factors
//     are not compared. So `printf %s 110101199003070011 | sha256sum`
//     predicts the answer.
//
// Each admitted call waits a simulated latency through Sleep; calls over
// PerMinute in any sliding minute of Clock are refused with
// errs.RateLimited and RetryAfter; the fixture outcome "provider_error" and
// FailEvery produce errs.Unavailable. Every call is recorded (see Calls).
//
// Set the exported fields after NewSandbox and before the first Verify;
// they must not change while Verify runs. Verify is safe for concurrent use.
type Sandbox struct {
	// Latency is the simulated round trip: each admitted call waits between
	// half and one and a half times it, chosen from the call's sequence
	// number (calls that passed Check, from 0), so a given sequence of calls
	// waits the same from run to run. NewSandbox sets DefaultLatency; 0
	// waits not at all.
	Latency time.Duration
	// Sleep waits; a non-nil error ends the call (as errs.Unavailable
	// wrapping it). NewSandbox sets a timer that returns ctx.Err() when ctx
	// ends first. Tests replace it to record the duration without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
	// Clock times the rate limit, results and calls. NewSandbox sets clock.Real{}.
	Clock clock.Clock
	// PerMinute is how many calls are admitted in any sliding minute;
	// NewSandbox sets DefaultPerMinute; 0 or less is unlimited.
	PerMinute int
	// FailEvery, when positive, makes every FailEvery-th admitted call fail
	// with errs.Unavailable, as a flaky provider would.
	FailEvery int

	fixture *Fixture
	key     [32]byte

	mu       sync.Mutex
	seq      uint64      // calls that passed Check
	admitted uint64      // calls admitted by the rate limit
	window   []time.Time // admission times within the last minute, oldest first
	calls    []Call
}

// NewSandbox returns a sandbox answering from f, or from DefaultFixture if
// f is nil, with the defaults set.
func NewSandbox(f *Fixture) *Sandbox {
	if f == nil {
		f = DefaultFixture()
	}
	s := &Sandbox{
		Latency:   DefaultLatency,
		Sleep:     sleep,
		Clock:     clock.Real{},
		PerMinute: DefaultPerMinute,
		fixture:   f,
	}
	_, _ = rand.Read(s.key[:]) // never fails
	return s
}

// Name returns "sandbox".
func (s *Sandbox) Name() string { return "sandbox" }

// Fixture returns the fixture the sandbox answers from.
func (s *Sandbox) Fixture() *Fixture { return s.fixture }

// Verify checks r as described on Sandbox.
func (s *Sandbox) Verify(ctx context.Context, r Request) (Result, error) {
	clk := s.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	req, err := r.Check()
	if err != nil {
		s.record(Call{Level: r.Level, Outcome: OutcomeInvalid, At: clk.Now()})
		return Result{}, err
	}
	digest := s.digest(req)
	call := Call{Level: req.Level, Digest: hex.EncodeToString(digest)}
	var entry *Identity
	if i, ok := s.fixture.byID[req.IDNumber]; ok {
		entry = &s.fixture.ids[i]
		call.Label = entry.Label
	}
	if err := ctx.Err(); err != nil {
		call.Outcome, call.At = OutcomeCanceled, clk.Now()
		s.record(call)
		return Result{}, errUnavailable(fmt.Errorf("sandbox: %w", err))
	}

	now := clk.Now()
	s.mu.Lock()
	seq := s.seq
	s.seq++
	wait, ok := s.admit(now)
	n := s.admitted
	s.mu.Unlock()
	if !ok {
		call.Outcome, call.At = OutcomeRateLimited, now
		s.record(call)
		return Result{}, errRateLimited(fmt.Errorf("sandbox: over %d calls a minute", s.PerMinute)).After(wait)
	}

	if d := s.latency(seq); d > 0 {
		call.Latency = d
		sl := s.Sleep
		if sl == nil {
			sl = sleep
		}
		if err := sl(ctx, d); err != nil {
			call.Outcome, call.At = OutcomeCanceled, clk.Now()
			s.record(call)
			return Result{}, errUnavailable(fmt.Errorf("sandbox: during latency: %w", err))
		}
	}

	outcome := unknownOutcome(req.IDNumber)
	if entry != nil {
		outcome = entry.answer(req)
	}
	if s.FailEvery > 0 && n%uint64(s.FailEvery) == 0 {
		outcome = OutcomeProviderError
	}
	call.Outcome, call.At = outcome, clk.Now()
	if outcome == OutcomeProviderError {
		s.record(call)
		return Result{}, errUnavailable(errors.New("sandbox: simulated provider error"))
	}
	res := Result{
		Level:       req.Level,
		Passed:      outcome == OutcomePass,
		Provider:    s.Name(),
		ProviderRef: sandboxRef(digest, req.Level, call.At, seq),
		At:          call.At,
	}
	if !res.Passed {
		res.Reason = outcome
	}
	call.ProviderRef = res.ProviderRef
	s.record(call)
	return res, nil
}

// admit applies the sliding-minute limit; s.mu is held. It returns how long
// until a call would be admitted when it refuses.
func (s *Sandbox) admit(now time.Time) (time.Duration, bool) {
	if s.PerMinute <= 0 {
		s.admitted++
		return 0, true
	}
	drop := 0
	for drop < len(s.window) && now.Sub(s.window[drop]) >= time.Minute {
		drop++
	}
	s.window = s.window[drop:]
	if len(s.window) >= s.PerMinute {
		return s.window[len(s.window)-s.PerMinute].Add(time.Minute).Sub(now), false
	}
	s.window = append(s.window, now)
	s.admitted++
	return 0, true
}

// latency returns the wait of call seq, in [Latency/2, 3·Latency/2): a
// function of seq alone, so it is the same from run to run and tells
// nothing about the factors.
func (s *Sandbox) latency(seq uint64) time.Duration {
	if s.Latency <= 0 {
		return 0
	}
	h := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("gigvault sandbox latency"), seq))
	return s.Latency/2 + time.Duration(binary.BigEndian.Uint64(h[:8])%uint64(s.Latency))
}

// digest is the keyed digest of a checked request's level and factors.
func (s *Sandbox) digest(r Request) []byte {
	m := hmac.New(sha256.New, s.key[:])
	m.Write([]byte{byte(r.Level)})
	for _, f := range factorOrder[:r.Level] {
		m.Write([]byte(f))
		m.Write([]byte{0})
		m.Write([]byte(*r.value(f)))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// record appends c, dropping the oldest call beyond maxCalls.
func (s *Sandbox) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.calls) >= maxCalls {
		s.calls = slices.Delete(s.calls, 0, len(s.calls)-maxCalls+1)
	}
	s.calls = append(s.calls, c)
}

// Calls returns the recorded calls, oldest first (at most the last 10,000).
func (s *Sandbox) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// unknownOutcome is the answer for a valid ID number not in the fixture.
func unknownOutcome(idNumber string) string {
	if sha256.Sum256([]byte(idNumber))[0] < unknownMismatchBelow {
		return ReasonMismatch
	}
	return OutcomePass
}

// sandboxRef is "sbx-" and 16 hex digits of a digest over the request's
// keyed digest, the level, the time and the sequence number.
func sandboxRef(digest []byte, level Level, at time.Time, seq uint64) string {
	h := sha256.New()
	h.Write(digest)
	h.Write([]byte{byte(level)})
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano())))
	h.Write(binary.BigEndian.AppendUint64(nil, seq))
	return "sbx-" + hex.EncodeToString(h.Sum(nil)[:8])
}

// sleep waits for d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var _ Verifier = (*Sandbox)(nil)
