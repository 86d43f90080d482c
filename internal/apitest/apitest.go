// Package apitest runs the real /v1 API over a real core (SQLite, or a
// fresh PostgreSQL schema) behind an httptest server, with an injected
// clock and the console SMS gateway, and signs people in the way clients
// do: workers by SMS code read from the gateway's outbox, staff by password
// and a TOTP code computed from their enrolment. Only tests import it.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"gigvault/internal/app"
	"gigvault/internal/audit"
	"gigvault/internal/clock"
	"gigvault/internal/credential"
	"gigvault/internal/httpapi"
	"gigvault/internal/identity"
	"gigvault/internal/obs"
	"gigvault/internal/policy"
	"gigvault/internal/sms"
	"gigvault/internal/testenv"
	"gigvault/internal/vault"
)

// Env is one API under test.
type Env struct {
	T      testing.TB
	Engine testenv.Engine
	Core   *app.Core
	Clock  *clock.Fake
	SMS    *sms.Console
	Server *httptest.Server
	API    *httpapi.Server
	logs   *lockedWriter // everything the server logged (JSON, redacted)

	seq atomic.Int64
}

// Options adjust an Env.
type Options struct {
	Identity identity.Config
	Limits   *httpapi.Limits // nil: generous limits so tests are not throttled by accident
	Modify   func(*app.Config)
	// TrustedProxies are peers whose X-Forwarded-For the API believes
	// (the test client connects from 127.0.0.1).
	TrustedProxies []string
}

// FastPassword are argon2id parameters cheap enough for tests under -race.
var FastPassword = credential.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// New starts an API on engine e.
func New(t testing.TB, e testenv.Engine, o Options) *Env {
	t.Helper()
	cfg := e.Config(t)
	clk := cfg.Clock.(*clock.Fake)
	logs := &lockedWriter{w: &bytes.Buffer{}}
	log := slog.New(obs.NewRedactingHandler(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	con := sms.NewConsole(sms.ConsoleOptions{Log: log, Clock: clk})
	cfg.SMS = con
	cfg.Logger = log
	if o.Identity.Password.Memory == 0 {
		o.Identity.Password = FastPassword
	}
	cfg.Identity = o.Identity
	if o.Modify != nil {
		o.Modify(&cfg)
	}
	c := testenv.Open(t, cfg)
	limits := o.Limits
	if limits == nil {
		limits = &httpapi.Limits{}
	}
	api := httpapi.New(httpapi.Deps{Log: log, Metrics: obs.NewMetrics(), Version: "test", Clock: clk, DB: c.DB, Catalog: c.Catalog,
		Identity: c.Identity, Guard: c.Guard, Approvals: c.Approvals, Recorder: c.Vault.Recorder(), SMS: c.SMS,
		Limits: limits, TrustedProxies: o.TrustedProxies, Ready: map[string]httpapi.Pinger{"database": c.DB, "key_store": c.KMS}}.WithCore(c))
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return &Env{T: t, Engine: e, Core: c, Clock: clk, SMS: con, Server: srv, API: api, logs: logs}
}

// Response is an API answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map.
func (r Response) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Decode decodes the body into v.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Code is the error code of an error body ("" for none).
func (r Response) Code() string {
	var b httpapi.ErrorBody
	_ = json.Unmarshal(r.Body, &b)
	return string(b.Error.Code)
}

// ErrorBody decodes an error body.
func (r Response) ErrorBody() httpapi.ErrorDetail {
	var b httpapi.ErrorBody
	_ = json.Unmarshal(r.Body, &b)
	return b.Error
}

// Do sends a request; body is JSON-encoded unless it is a string or nil.
// headers are "Name: value" pairs.
func (e *Env) Do(method, path, token string, body any, headers ...string) Response {
	e.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.T.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.Server.URL+path, rd)
	if err != nil {
		e.T.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := e.Server.Client().Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Mobile returns a fresh valid mainland mobile number for this Env.
func (e *Env) Mobile() string {
	return fmt.Sprintf("139%08d", e.seq.Add(1))
}

// LastCode is the latest code the console gateway sent to mobile.
func (e *Env) LastCode(mobile string) string {
	e.T.Helper()
	out := e.SMS.Outbox(mobile)
	if len(out) == 0 {
		e.T.Fatalf("no SMS sent to the number")
	}
	return out[0].Params["code"]
}

// SendCode asks for a log-in code and returns it.
func (e *Env) SendCode(mobile string) string {
	e.T.Helper()
	r := e.Do("POST", "/v1/auth/sms/send", "", map[string]any{"mobile": mobile})
	if r.Status != http.StatusAccepted {
		e.T.Fatalf("send code: %d %s", r.Status, r.Body)
	}
	return e.LastCode(mobile)
}

// User is a signed-in account.
type User struct {
	Token     string
	AccountID string
	SubjectID string
	OrgID     string
	Kind      string
	Mobile    string
	Login     string
	Password  string
	TOTP      string // the TOTP secret
}

// Worker registers (or signs in) a worker by SMS code. The clock moves past
// the resend cool-down first, so calls can follow each other.
func (e *Env) Worker() User { return e.userLogin(e.Mobile(), nil) }

// WorkerWith signs in the worker holding mobile, registering it if new.
func (e *Env) WorkerWith(mobile string) User { return e.userLogin(mobile, nil) }

// Employer registers an employer member with a new organisation.
// The organisation is then verified by staff, as employers are before they
// post jobs; UnverifiedEmployer leaves it unverified.
func (e *Env) Employer(orgName, uscc string) User {
	e.T.Helper()
	u := e.UnverifiedEmployer(orgName, uscc)
	if _, err := e.Core.Jobs.VerifyOrg(context.Background(), u.OrgID, "staff:test-setup"); err != nil {
		e.T.Fatalf("verify organisation: %v", err)
	}
	return u
}

// UnverifiedEmployer registers an employer whose organisation staff have
// not verified yet.
func (e *Env) UnverifiedEmployer(orgName, uscc string) User {
	return e.userLogin(e.Mobile(), map[string]any{"register_as": "employer",
		"organisation": map[string]any{"name": orgName, "uscc": uscc, "contact_name": "王经理"}})
}

func (e *Env) userLogin(mobile string, extra map[string]any) User {
	e.T.Helper()
	e.Clock.Advance(2 * time.Minute)
	code := e.SendCode(mobile)
	body := map[string]any{"mobile": mobile, "code": code, "agree_policy": true}
	for k, v := range extra {
		body[k] = v
	}
	r := e.Do("POST", "/v1/auth/sms/login", "", body)
	if r.Status != http.StatusOK && r.Status != http.StatusCreated {
		e.T.Fatalf("sms log-in: %d %s", r.Status, r.Body)
	}
	var res identity.LoginResult
	r.Decode(e.T, &res)
	return User{Token: res.Token, AccountID: res.Account.ID, SubjectID: res.Account.SubjectID, OrgID: res.Account.OrgID,
		Kind: string(res.Account.Kind), Mobile: mobile}
}

// Staff creates a staff account with roles (directly, as the bootstrap
// command does) and signs it in.
func (e *Env) Staff(roles ...policy.Role) User {
	e.T.Helper()
	login := fmt.Sprintf("staff%d", e.seq.Add(1))
	enr, err := e.Core.Identity.CreateStaff(context.Background(), vault.Actor{ID: "test:setup", Channel: "test"}, login, roles, "")
	if err != nil {
		e.T.Fatalf("create staff %v: %v", roles, err)
	}
	u := User{AccountID: enr.Account.ID, SubjectID: enr.Account.SubjectID, Kind: "staff", Login: login, Password: enr.Password,
		TOTP: secretOf(e.T, enr.TOTPURI)}
	u.Token = e.StaffLogin(u)
	return u
}

// StaffLogin signs a staff member in with a fresh TOTP code (the clock
// moves one step so a code is never reused) and returns the token.
func (e *Env) StaffLogin(u User) string {
	e.T.Helper()
	r := e.Do("POST", "/v1/auth/staff/login", "", map[string]any{"login_name": u.Login, "password": u.Password, "totp": e.TOTPCode(u)})
	if r.Status != http.StatusOK {
		e.T.Fatalf("staff log-in: %d %s", r.Status, r.Body)
	}
	var res identity.LoginResult
	r.Decode(e.T, &res)
	return res.Token
}

// TOTPCode advances the clock one TOTP step and returns the code for u.
func (e *Env) TOTPCode(u User) string {
	e.T.Helper()
	e.Clock.Advance(credential.TOTPPeriod * time.Second)
	c, err := totp.GenerateCode(u.TOTP, e.Clock.Now())
	if err != nil {
		e.T.Fatal(err)
	}
	return c
}

func secretOf(t testing.TB, uri string) string {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("secret")
}

// AuditVerify runs the full chain verification and fails the test on any break.
func (e *Env) AuditVerify() {
	e.T.Helper()
	rep, err := e.Core.Audit.Verify(context.Background(), e.Core.DB, nil)
	if err != nil {
		e.T.Fatalf("audit verify: %v", err)
	}
	if !rep.OK() {
		e.T.Fatalf("audit verify: %+v", rep)
	}
}

// Entries returns audit entries matching f.
func (e *Env) Entries(f audit.Filter) []audit.Entry {
	e.T.Helper()
	if f.Limit == 0 {
		f.Limit = 10000
	}
	es, err := audit.Search(context.Background(), e.Core.DB, f)
	if err != nil {
		e.T.Fatal(err)
	}
	return es
}

// LogText is everything the server has logged so far.
func (e *Env) LogText() string {
	e.logs.mu.Lock()
	defer e.logs.mu.Unlock()
	return e.logs.w.(*bytes.Buffer).String()
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
