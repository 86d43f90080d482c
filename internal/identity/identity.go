// Package identity owns who is asking: accounts (workers, employers and
// their members, staff with separated roles), log-in by mobile number and
// SMS code or by password and TOTP, sessions with time-outs and caps, and
// lock-out after repeated failures (ACC-1, ACC-4, ACC-9, ACC-10, GIG-1).
//
// No table here holds personal information in plaintext. A person is a
// vault subject; the mobile number lives in the vault and is found through
// its blind index; SMS challenges, lock-out counters and session tokens are
// keyed or plain digests; staff credentials are sealed under the staff
// member's data key. Every authentication event is audited.
package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"gigvault/internal/access"
	"gigvault/internal/approval"
	"gigvault/internal/audit"
	"gigvault/internal/clock"
	"gigvault/internal/consent"
	"gigvault/internal/credential"
	"gigvault/internal/cryptox"
	"gigvault/internal/keys"
	"gigvault/internal/policy"
	"gigvault/internal/sms"
	"gigvault/internal/store"
	"gigvault/internal/vault"
)

// Kind is the kind of account.
type Kind string

// The kinds of account.
const (
	Worker   Kind = "worker"
	Employer Kind = "employer" // a member of an employer organisation
	Staff    Kind = "staff"
)

// Config holds the limits. Zero values take the defaults in Defaults.
type Config struct {
	CodeTTL        time.Duration // SMS code lifetime (5 minutes)
	CodeTries      int           // tries per code (5)
	ResendCooldown time.Duration // between two codes to one number (60 s)
	CodesPerDay    int           // codes per number per 24 hours (10)

	LockoutThreshold int           // consecutive failures before lock-out (5)
	LockoutWindow    time.Duration // failures older than this are forgotten (15 minutes)
	LockoutDuration  time.Duration // how long a lock-out lasts (15 minutes)

	UserIdle       time.Duration // worker and employer idle time-out (7 days)
	UserAbsolute   time.Duration // worker and employer absolute time-out (30 days)
	StaffIdle      time.Duration // staff idle time-out (15 minutes)
	StaffAbsolute  time.Duration // staff absolute time-out (8 hours)
	WorkerSessions int           // concurrent sessions per worker or employer member (3)
	StaffSessions  int           // concurrent sessions per staff member (1)
	GlobalSessions int           // live sessions in total (200000)
	// TouchEvery: a session's last-seen time is written at most this often
	// (1 minute, at most a quarter of the shortest idle time-out).
	TouchEvery time.Duration

	StaffIdleDisable time.Duration // staff accounts unused this long are disabled (90 days, ACC-4)

	TOTPIssuer string // shown in authenticator apps ("gigvault")
	Password   credential.Params
}

// Defaults fills in zero values.
func (c Config) Defaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defi := func(d *int, v int) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.CodeTTL, 5*time.Minute)
	defi(&c.CodeTries, 5)
	def(&c.ResendCooldown, time.Minute)
	defi(&c.CodesPerDay, 10)
	defi(&c.LockoutThreshold, 5)
	def(&c.LockoutWindow, 15*time.Minute)
	def(&c.LockoutDuration, 15*time.Minute)
	def(&c.UserIdle, 7*24*time.Hour)
	def(&c.UserAbsolute, 30*24*time.Hour)
	def(&c.StaffIdle, 15*time.Minute)
	def(&c.StaffAbsolute, 8*time.Hour)
	defi(&c.WorkerSessions, 3)
	defi(&c.StaffSessions, 1)
	defi(&c.GlobalSessions, 200000)
	def(&c.TouchEvery, time.Minute)
	if q := min(c.UserIdle, c.StaffIdle) / 4; c.TouchEvery > q {
		c.TouchEvery = q
	}
	def(&c.StaffIdleDisable, 90*24*time.Hour)
	if c.TOTPIssuer == "" {
		c.TOTPIssuer = "gigvault"
	}
	if c.Password.Memory == 0 {
		c.Password = credential.DefaultParams
	}
	return c
}

func (c Config) idle(k Kind) time.Duration {
	if k == Staff {
		return c.StaffIdle
	}
	return c.UserIdle
}

func (c Config) absolute(k Kind) time.Duration {
	if k == Staff {
		return c.StaffAbsolute
	}
	return c.UserAbsolute
}

func (c Config) sessionCap(k Kind) int {
	if k == Staff {
		return c.StaffSessions
	}
	return c.WorkerSessions
}

// PolicyAgreer records a registrant's explicit agreement to the privacy
// policy in the registration's transaction; *consent.Service implements it.
type PolicyAgreer interface {
	AgreePolicyTx(ctx context.Context, tx *store.Tx, a consent.PolicyAgreement) (eventID, version string, err error)
}

// Deps are the parts of the core identity uses.
type Deps struct {
	DB    *store.DB
	Vault *vault.Vault
	Keys  *keys.Keyring
	Audit *audit.Log
	// Consent records a registrant's agreement to the privacy policy.
	Consent PolicyAgreer
	Guard   *access.Guard
	// Approvals gate privileged staff management through the API (ACC-5).
	Approvals *approval.Store
	SMS       sms.Gateway
	Suite     cryptox.Suite
	Clock     clock.Clock
}

// Service is the identity service. Safe for concurrent use.
type Service struct {
	db      *store.DB
	vault   *vault.Vault
	keys    *keys.Keyring
	log     *audit.Log
	rec     *audit.Recorder
	consent PolicyAgreer
	guard   *access.Guard
	appr    *approval.Store
	sms     sms.Gateway
	suite   cryptox.Suite
	clk     clock.Clock
	cfg     Config
	C       Counters

	hashSlots chan struct{} // concurrent argon2id runs
	dummyOnce sync.Once
	dummy     string
}

// Counters are authentication event counts, for metrics.
type Counters struct {
	LoginsOK, LoginsFailed, Lockouts, CodesSent, CodesRejected, SessionsEvicted atomic.Uint64
}

// New returns a Service.
func New(d Deps, cfg Config) *Service {
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	var rec *audit.Recorder // the vault's, shared by everything that records outside a transaction
	if d.Vault != nil {
		rec = d.Vault.Recorder()
	}
	return &Service{db: d.DB, vault: d.Vault, keys: d.Keys, log: d.Audit, rec: rec,
		consent: d.Consent, guard: d.Guard, appr: d.Approvals, sms: d.SMS, suite: d.Suite, clk: d.Clock, cfg: cfg.Defaults(),
		hashSlots: make(chan struct{}, runtime.GOMAXPROCS(0))}
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// Account is an account, without PI.
type Account struct {
	ID        string        `json:"id"`
	Kind      Kind          `json:"kind"`
	SubjectID string        `json:"subject_id"`
	OrgID     string        `json:"org_id,omitempty"`
	LoginName string        `json:"login_name,omitempty"`
	Status    string        `json:"status"`
	Roles     []policy.Role `json:"roles"`
	CreatedAt time.Time     `json:"created_at"`
}

// Principal is an authenticated caller.
type Principal = access.Principal

// system actors
var authActor = vault.Actor{ID: "system:auth", Channel: "api"}

func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		panic(fmt.Sprintf("identity: id: %v", err))
	}
	return id.String()
}

func randomToken(prefix string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("identity: system randomness failed: " + err.Error())
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func (s *Service) now() time.Time { return s.clk.Now() }

// record appends an audit entry outside any business transaction.
func (s *Service) record(ctx context.Context, e audit.Entry) error {
	if e.Channel == "" {
		e.Channel = "api"
	}
	return s.rec.Record(ctx, e)
}
