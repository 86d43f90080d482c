package sealkey

import (
	"regexp"
	"strings"
	"sync"
	"time"

	"gigvault/internal/clock"
	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
)

// DefaultTTL is how long an unseal attempt stays open after its first share.
const DefaultTTL = 10 * time.Minute

var reOfficer = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$`)

var (
	errAlreadyUnsealed = errs.New(errs.Conflict, "",
		"密钥已解封", "the key is already unsealed").With(ReasonAlreadyUnsealed, nil, "")
	errInvalidOfficer = errs.New(errs.Invalid, "officer",
		"密钥管理员标识不正确", "the key officer ID is not valid").With(ReasonInvalidOfficer, nil, "")
	errOfficerRepeated = errs.New(errs.Conflict, "officer",
		"该密钥管理员已提交过分片，需由另一名管理员提交", "this key officer already submitted a share: another officer must submit the next one").With(ReasonOfficerRepeated, nil, "")
)

// Unsealer collects key shares from distinct key officers and, once
// threshold of them are in, combines them and calls open with the secret.
//
// It refuses a second share from the same officer, the same share twice, a
// share of another set and shares that disagree on the threshold. An
// attempt expires TTL after its first share. If open fails — wrong shares
// give a wrong secret, which fails authentication — the attempt is
// discarded and the error returned, and the officers start again.
//
// An Unsealer is safe for concurrent use. The officer IDs must come from
// authenticated sessions; the Unsealer cannot tell who is at the keyboard.
type Unsealer struct {
	set  SetID
	clk  clock.Clock
	ttl  time.Duration
	open func(secret []byte) error

	mu         sync.Mutex
	unsealed   bool
	unsealedAt time.Time
	threshold  int
	started    time.Time
	officers   []string
	shares     []Share
}

// Progress is the state of an Unsealer.
type Progress struct {
	SetID      SetID
	Sealed     bool
	Shares     int       // shares accepted in the current attempt
	Threshold  int       // 0 until the first share of an attempt arrives
	Officers   []string  // who submitted them, in order
	ExpiresAt  time.Time // when the current attempt expires; zero when none
	UnsealedAt time.Time // when the key was unsealed; zero while sealed
}

// NewUnsealer returns a sealed Unsealer for the shares of set. A nil clk
// is the real clock; ttl ≤ 0 means DefaultTTL. open receives the combined
// secret, which is wiped when it returns; it runs with the Unsealer locked
// and must not call back into it.
func NewUnsealer(set SetID, clk clock.Clock, ttl time.Duration, open func(secret []byte) error) *Unsealer {
	if clk == nil {
		clk = clock.Real{}
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if open == nil {
		panic("sealkey: NewUnsealer: nil open callback")
	}
	return &Unsealer{set: set, clk: clk, ttl: ttl, open: open}
}

// Submit records officer's share. When it completes the threshold, Submit
// combines the shares and calls open; if open fails, the attempt is
// discarded and Submit returns an *errs.Error with reason ReasonOpenFailed
// wrapping open's error. Every refusal is an *errs.Error with one of the
// Reason… codes. Submit keeps a copy of s; the caller should Wipe s.
func (u *Unsealer) Submit(officer string, s Share) (Progress, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := u.clk.Now()
	u.expire(now)
	if u.unsealed {
		return u.progress(), errAlreadyUnsealed
	}
	if !reOfficer.MatchString(officer) {
		return u.progress(), errInvalidOfficer
	}
	if err := s.check(); err != nil {
		return u.progress(), err
	}
	if s.SetID != u.set {
		return u.progress(), errWrongSet
	}
	if len(u.shares) > 0 {
		if s.Threshold != u.threshold {
			return u.progress(), errThresholdMismatch
		}
		if len(s.payload) != len(u.shares[0].payload) {
			return u.progress(), errLengthMismatch
		}
	}
	for i, t := range u.shares {
		if strings.EqualFold(u.officers[i], officer) {
			return u.progress(), errOfficerRepeated
		}
		if s.sameAs(t) {
			return u.progress(), errShareRepeated
		}
	}
	if len(u.shares) == 0 {
		u.threshold, u.started = s.Threshold, now
	}
	u.shares = append(u.shares, s.clone())
	u.officers = append(u.officers, officer)
	if len(u.shares) < u.threshold {
		return u.progress(), nil
	}

	secret, err := Combine(u.shares)
	u.reset()
	if err != nil {
		return u.progress(), err
	}
	defer cryptox.Wipe(secret)
	if err := u.open(secret); err != nil {
		return u.progress(), errs.Wrap(errs.Integrity, "share",
			"密钥分片无法解封密钥，请重新提交", "the key shares did not unseal the key: submit them again", err).
			With(ReasonOpenFailed, nil, "")
	}
	u.unsealed, u.unsealedAt = true, now
	return u.progress(), nil
}

// Status returns the current progress.
func (u *Unsealer) Status() Progress {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.expire(u.clk.Now())
	return u.progress()
}

// Reset discards any attempt in progress and returns the Unsealer to the
// sealed state. It does not touch what open unlocked: the caller must drop
// that itself.
func (u *Unsealer) Reset() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.reset()
	u.unsealed, u.unsealedAt = false, time.Time{}
}

// expire discards an attempt older than the TTL.
func (u *Unsealer) expire(now time.Time) {
	if len(u.shares) > 0 && !now.Before(u.started.Add(u.ttl)) {
		u.reset()
	}
}

// reset wipes and discards the current attempt.
func (u *Unsealer) reset() {
	for _, s := range u.shares {
		s.Wipe()
	}
	u.shares, u.officers, u.threshold, u.started = nil, nil, 0, time.Time{}
}

func (u *Unsealer) progress() Progress {
	p := Progress{
		SetID:      u.set,
		Sealed:     !u.unsealed,
		Shares:     len(u.shares),
		Threshold:  u.threshold,
		Officers:   append([]string(nil), u.officers...),
		UnsealedAt: u.unsealedAt,
	}
	if len(u.shares) > 0 {
		p.ExpiresAt = u.started.Add(u.ttl)
	}
	return p
}
