package identity_test

// The identity service on every engine: one account per number however
// often it signs in, one-time codes used once, and no secret or number in
// plaintext in the tables that hold tokens, credentials, codes and
// lock-out counters.

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"gigvault/internal/app"
	"gigvault/internal/approval"
	"gigvault/internal/clock"
	"gigvault/internal/credential"
	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
	"gigvault/internal/format"
	"gigvault/internal/identity"
	"gigvault/internal/policy"
	"gigvault/internal/sms"
	"gigvault/internal/testenv"
	"gigvault/internal/vault"
)

var fastPassword = credential.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

type env struct {
	t   *testing.T
	c   *app.Core
	id  *identity.Service
	clk *clock.Fake
	sms *sms.Console
}

func newEnv(t *testing.T, eng testenv.Engine) *env {
	t.Helper()
	cfg := eng.Config(t)
	clk := cfg.Clock.(*clock.Fake)
	con := sms.NewConsole(sms.ConsoleOptions{Clock: clk})
	cfg.SMS = con
	cfg.Identity.Password = fastPassword
	c := testenv.Open(t, cfg)
	return &env{t: t, c: c, id: c.Identity, clk: clk, sms: con}
}

func forEachEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) { fn(t, newEnv(t, eng)) })
	}
}

// code sends a log-in code to mobile (past the resend cool-down) and
// returns it from the console gateway's outbox.
func (e *env) code(mobile string) string {
	e.t.Helper()
	e.clk.Advance(2 * time.Minute)
	if _, err := e.id.SendCode(context.Background(), mobile, identity.CodeLogin); err != nil {
		e.t.Fatalf("send code: %v", err)
	}
	number, err := identity.NormaliseMobile(mobile)
	if err != nil {
		e.t.Fatal(err)
	}
	out := e.sms.Outbox(number)
	if len(out) == 0 {
		e.t.Fatal("no code sent")
	}
	return out[0].Params["code"]
}

func (e *env) login(mobile string, in identity.SMSLogin) identity.LoginResult {
	e.t.Helper()
	in.Mobile, in.Code, in.AgreePolicy = mobile, e.code(mobile), true
	r, err := e.id.LoginSMS(context.Background(), in)
	if err != nil {
		e.t.Fatalf("log-in: %v", err)
	}
	return r
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.c.DB.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (e *env) principal(token string) *identity.Principal {
	e.t.Helper()
	p, err := e.id.Authenticate(context.Background(), token)
	if err != nil {
		e.t.Fatalf("authenticate: %v", err)
	}
	return p
}

func TestOneAccountPerNumber(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		const mobile = "13900000001"
		first := e.login(mobile, identity.SMSLogin{})
		if !first.Registered || first.Account.Kind != identity.Worker || first.Account.ID == "" {
			t.Fatalf("first log-in: registered %v kind %s id %q, want a new worker", first.Registered, first.Account.Kind, first.Account.ID)
		}
		// The same number, typed every way a person types it.
		forms := []string{"139 0000 0001", "+86 139-0000-0001", "8613900000001", "0086 13900000001", mobile}
		for i, form := range forms {
			r := e.login(form, identity.SMSLogin{})
			if r.Registered || r.Account.ID != first.Account.ID || r.Account.SubjectID != first.Account.SubjectID {
				t.Fatalf("log-in %d as %q: registered %v account %s, want the first account %s", i+2, form, r.Registered, r.Account.ID, first.Account.ID)
			}
		}
		if n := e.count(`SELECT COUNT(*) FROM accounts`); n != 1 {
			t.Fatalf("%d accounts after %d log-ins of one number, want 1", n, len(forms)+1)
		}
		if n := e.count(`SELECT COUNT(*) FROM subjects`); n != 1 {
			t.Fatalf("%d subjects for one number, want 1", n)
		}
		// A second number is a second account.
		other := e.login("13900000002", identity.SMSLogin{})
		if !other.Registered || other.Account.ID == first.Account.ID {
			t.Fatalf("second number: registered %v account %s", other.Registered, other.Account.ID)
		}
		if n := e.count(`SELECT COUNT(*) FROM accounts`); n != 2 {
			t.Fatalf("%d accounts for two numbers, want 2", n)
		}
	})
}

// TestCodeUsedOnce: a code sent once signs in once, however many log-ins
// race with it.
func TestCodeUsedOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		const mobile = "13900000011"
		e.login(mobile, identity.SMSLogin{}) // registered: the racers only log in
		code := e.code(mobile)
		const racers = 8
		var wg sync.WaitGroup
		errsCh := make(chan error, racers)
		start := make(chan struct{})
		for range racers {
			wg.Go(func() {
				<-start
				_, err := e.id.LoginSMS(context.Background(), identity.SMSLogin{Mobile: mobile, Code: code})
				errsCh <- err
			})
		}
		close(start)
		wg.Wait()
		close(errsCh)
		ok := 0
		for err := range errsCh {
			switch {
			case err == nil:
				ok++
			case errs.Is(err, errs.Invalid) || errs.Is(err, errs.RateLimited):
			default:
				t.Errorf("racing log-in: unexpected error %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of %d concurrent log-ins with one code succeeded, want exactly 1", ok, racers)
		}
		// Used: it signs in no more.
		// (Seven failures have locked the number out by now, which is
		// also a refusal.)
		if _, err := e.id.LoginSMS(context.Background(), identity.SMSLogin{Mobile: mobile, Code: code}); !errs.Is(err, errs.Invalid) && !errs.Is(err, errs.RateLimited) {
			t.Fatalf("log-in with a used code: %v, want invalid or rate_limited", err)
		}
		if n := e.count(`SELECT COUNT(*) FROM accounts`); n != 1 {
			t.Fatalf("%d accounts, want 1", n)
		}
	})
}

func TestInviteMember(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		worker := e.login("13900000021", identity.SMSLogin{})
		check, _ := format.USCCCheckChar("91350100MA2XYW3K1")
		c := "91350100MA2XYW3K1" + string(check)
		emp := e.login("13900000022", identity.SMSLogin{RegisterAs: identity.Employer,
			Organisation: &identity.Organisation{Name: "福州海峡创意", USCC: c, ContactName: "王经理"}})
		if !emp.Registered || emp.Account.Kind != identity.Employer || emp.Account.OrgID == "" {
			t.Fatalf("employer registration: %+v", emp)
		}
		boss := e.principal(emp.Token)
		before := e.count(`SELECT COUNT(*) FROM accounts`)

		// Registered or not, the answer is the same (no look-up oracle),
		// and no account is made for anyone.
		for _, m := range []string{"13900000021", "+86 139 0000 0021", "13900000022", "139 0000 0023"} {
			inv, err := e.id.InviteMember(ctx, boss, m)
			if err != nil || !inv.Invited {
				t.Fatalf("invite %q: %+v %v", m, inv, err)
			}
		}
		if n := e.count(`SELECT COUNT(*) FROM accounts`); n != before {
			t.Fatalf("invitations made accounts: %d, want %d", n, before)
		}

		// Only employer members invite.
		if _, err := e.id.InviteMember(ctx, e.principal(worker.Token), "13900000024"); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("a worker invites: %v, want forbidden", err)
		}
		if _, err := e.id.InviteMember(ctx, boss, "12000000023"); !errs.Is(err, errs.Invalid) {
			t.Fatalf("invite a malformed number: %v, want invalid", err)
		}

		// The invited number's owner joins by signing in, agreeing and
		// registering as an employer without naming an organisation.
		r := e.login("13900000023", identity.SMSLogin{RegisterAs: identity.Employer})
		if !r.Registered || r.Account.Kind != identity.Employer || r.Account.OrgID != boss.OrgID ||
			len(r.Account.Roles) != 1 || r.Account.Roles[0] != policy.EmployerMember {
			t.Fatalf("invited member's registration: %+v", r)
		}
		// The invitation is used up; an uninvited number cannot join
		// without naming an organisation.
		if n := e.count(`SELECT COUNT(*) FROM org_invites WHERE org_id = ?`, boss.OrgID); n != 2 {
			t.Fatalf("%d invitations left, want 2 (the two registered numbers', one spelt two ways)", n)
		}
		_, err := e.id.LoginSMS(ctx, identity.SMSLogin{Mobile: "13900000025", Code: e.code("13900000025"), AgreePolicy: true, RegisterAs: identity.Employer})
		if ee := errs.As(err); err == nil || ee.Field != "organisation" {
			t.Fatalf("uninvited employer without an organisation: %v", err)
		}
		// An invited worker stays a worker in their own account.
		if r := e.login("13900000021", identity.SMSLogin{}); r.Registered || r.Account.Kind != identity.Worker || r.Account.OrgID != "" {
			t.Fatalf("invited worker: %+v", r)
		}
		if n := e.count(`SELECT COUNT(*) FROM accounts`); n != before+1 {
			t.Fatalf("%d accounts, want %d", n, before+1)
		}
	})
}

// cell is one value of a row: text or bytes as stored, or a number
// rendered in decimal.
type cell struct {
	b      []byte
	number bool
}

// cells returns every non-NULL cell of every row of table.
func (e *env) cells(table string) []cell {
	e.t.Helper()
	rows, err := e.c.DB.Query(context.Background(), `SELECT * FROM `+table)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		e.t.Fatal(err)
	}
	var out []cell
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			e.t.Fatal(err)
		}
		for _, v := range vals {
			switch v := v.(type) {
			case nil:
			case []byte:
				out = append(out, cell{b: bytes.Clone(v)})
			case string:
				out = append(out, cell{b: []byte(v)})
			default:
				out = append(out, cell{b: fmt.Append(nil, v), number: true})
			}
		}
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// noneContain fails if any cell of table holds any of secrets. Numbers are
// checked for secrets of 11 characters or more only: a timestamp may
// contain a short run of digits by chance.
func (e *env) noneContain(table string, secrets map[string][]byte) {
	e.t.Helper()
	cells := e.cells(table)
	if len(cells) == 0 {
		e.t.Fatalf("%s is empty: nothing to check", table)
	}
	for _, c := range cells {
		for what, s := range secrets {
			if len(s) == 0 {
				e.t.Fatalf("empty secret %s", what)
			}
			if c.number && len(s) < 11 {
				continue
			}
			if bytes.Contains(c.b, s) {
				e.t.Fatalf("%s holds the %s", table, what)
			}
		}
	}
}

func TestSessionTableHoldsOnlyDigests(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		var tokens []string
		for i := range 3 {
			r := e.login(fmt.Sprintf("1390000003%d", i), identity.SMSLogin{})
			tokens = append(tokens, r.Token)
		}
		for _, tok := range tokens {
			// The token works, and the row holds its digest.
			p := e.principal(tok)
			var digest []byte
			if err := e.c.DB.QueryRow(ctx, `SELECT token_hash FROM sessions WHERE id = ?`, p.SessionID).Scan(&digest); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(digest, cryptox.Digest(e.c.Suite, []byte(tok))) {
				t.Fatal("token_hash is not the token's digest")
			}
			raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, identity.TokenPrefix))
			if err != nil || len(raw) != 32 {
				t.Fatalf("token body: %d bytes, %v", len(raw), err)
			}
			e.noneContain("sessions", map[string][]byte{
				"token":            []byte(tok),
				"token body":       []byte(strings.TrimPrefix(tok, identity.TokenPrefix)),
				"token's bytes":    raw,
				"token's 1st half": raw[:16],
			})
		}
		if n := e.count(`SELECT COUNT(*) FROM sessions`); n != len(tokens) {
			t.Fatalf("%d sessions, want %d", n, len(tokens))
		}
	})
}

func TestStaffCredentialsSealed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const password = "Correct-Horse-Battery-Staple-42"
		enr, err := e.id.CreateStaff(ctx, vault.Actor{ID: "test:setup", Channel: "test"}, "li.lei", []policy.Role{policy.SecurityAdmin}, password)
		if err != nil {
			t.Fatal(err)
		}
		if enr.Password != "" {
			t.Fatal("a chosen password was handed back")
		}
		secret := totpSecret(t, enr.TOTPURI)
		// The credentials work: they are what is stored.
		e.clk.Advance(credential.TOTPPeriod * time.Second)
		otp, err := totp.GenerateCode(secret, e.clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.id.LoginStaff(ctx, identity.StaffLogin{LoginName: "li.lei", Password: password, TOTP: otp})
		if err != nil {
			t.Fatalf("staff log-in: %v", err)
		}
		rawSecret, err := base32NoPad(secret)
		if err != nil {
			t.Fatal(err)
		}
		check := func(passwords ...string) {
			t.Helper()
			s := map[string][]byte{
				"TOTP secret":       []byte(secret),
				"TOTP secret bytes": rawSecret,
				"argon2 hash":       []byte("$argon2id$"),
			}
			for i, pw := range passwords {
				s[fmt.Sprintf("password %d", i)] = []byte(pw)
			}
			e.noneContain("staff_credentials", s)
		}
		check(password)

		// A generated password, after a reset by another administrator.
		other, err := e.id.CreateStaff(ctx, vault.Actor{ID: "test:setup", Channel: "test"}, "han.mei", []policy.Role{policy.SecurityAdmin}, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(other.Password) < 16 {
			t.Fatalf("generated password %d characters", len(other.Password))
		}
		// The reset needs another security administrator's approval.
		admin := e.principal(res.Token)
		_, err = e.id.ResetCredentials(ctx, admin, other.Account.ID, true, false, "")
		ref := errs.As(err).Ref
		if !errs.Is(err, errs.ApprovalRequired) || errs.As(err).Reason != identity.ReasonStaffNeedsApproval || ref == "" {
			t.Fatalf("reset without approval: %v", err)
		}
		third, err := e.id.CreateStaff(ctx, vault.Actor{ID: "test:setup", Channel: "test"}, "zhang.san", []policy.Role{policy.SecurityAdmin}, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.c.Approvals.Decide(ctx, admin.ApprovalActor(), ref, true, ""); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("self-approval: %v", err)
		}
		if _, err := e.c.Approvals.Decide(ctx, approval.Actor{AccountID: third.Account.ID, AuditID: "staff:" + third.Account.ID,
			Roles: []policy.Role{policy.SecurityAdmin}}, ref, true, ""); err != nil {
			t.Fatalf("approve: %v", err)
		}
		reset, err := e.id.ResetCredentials(ctx, admin, other.Account.ID, true, false, ref)
		if err != nil {
			t.Fatalf("reset: %v", err)
		}
		if _, err := e.id.ResetCredentials(ctx, admin, other.Account.ID, true, false, ref); !errs.Is(err, errs.ApprovalRequired) {
			t.Fatalf("approval reused: %v", err)
		}
		if reset.Password == "" || reset.Password == other.Password {
			t.Fatal("reset gave no new password")
		}
		check(password, other.Password, reset.Password)
	})
}

func totpSecret(t *testing.T, uri string) string {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	s := u.Query().Get("secret")
	if len(s) < 16 {
		t.Fatalf("TOTP URI without a secret")
	}
	return s
}

func base32NoPad(s string) ([]byte, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var out []byte
	var buf, bits uint
	for _, c := range strings.TrimRight(strings.ToUpper(s), "=") {
		v := strings.IndexRune(alphabet, c)
		if v < 0 {
			return nil, fmt.Errorf("not base32")
		}
		buf = buf<<5 | uint(v)
		bits += 5
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(buf>>bits))
			buf &= 1<<bits - 1
		}
	}
	return out, nil
}

// TestCountersNameNobody: the tables of SMS codes and lock-outs, filled by
// failures until the number and a staff name are locked out, hold neither
// the number, nor the code, nor the log-in name.
func TestCountersNameNobody(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const mobile = "13912345678"
		e.login(mobile, identity.SMSLogin{})
		code := e.code(mobile)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		threshold := e.id.Config().LockoutThreshold
		var err error
		for range threshold {
			_, err = e.id.LoginSMS(ctx, identity.SMSLogin{Mobile: mobile, Code: wrong})
		}
		if !errs.Is(err, errs.RateLimited) {
			t.Fatalf("after %d wrong codes: %v, want the number locked out", threshold, err)
		}
		if _, err := e.id.SendCode(ctx, mobile, identity.CodeLogin); !errs.Is(err, errs.RateLimited) {
			t.Fatalf("send to a locked number: %v, want rate_limited", err)
		}

		if _, err := e.id.CreateStaff(ctx, vault.Actor{ID: "test:setup", Channel: "test"}, "wang.wu", []policy.Role{policy.Support}, ""); err != nil {
			t.Fatal(err)
		}
		for range threshold {
			_, err = e.id.LoginStaff(ctx, identity.StaffLogin{LoginName: "wang.wu", Password: "wrong", TOTP: "000000"})
		}
		if !errs.Is(err, errs.RateLimited) {
			t.Fatalf("after %d failed staff log-ins: %v, want locked", threshold, err)
		}
		if n := e.count(`SELECT COUNT(*) FROM auth_lockouts`); n != 2 {
			t.Fatalf("%d lock-out rows, want 2 (the number and the staff name)", n)
		}

		secrets := map[string][]byte{
			"number":           []byte(mobile),
			"number's digits":  []byte("12345678"),
			"number with +86":  []byte("8613912345678"),
			"log-in name":      []byte("wang.wu"),
			"sent code":        []byte(code),
			"number as binary": numberBytes(mobile),
		}
		e.noneContain("auth_lockouts", secrets)
		e.noneContain("sms_codes", secrets)
	})
}

// numberBytes is the number as a big-endian integer, in case a table kept
// it in binary.
func numberBytes(m string) []byte {
	var n uint64
	for i := 0; i < len(m); i++ {
		n = n*10 + uint64(m[i]-'0')
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte(n)}, b...)
		n >>= 8
	}
	return b
}

// Parallel wrong guesses cannot outrun the lock-out: every attempt is
// counted before it is checked, so a burst leaves the account locked and at
// most the threshold's worth of guesses were ever checked.
func TestLockoutUnderConcurrency(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const password = "correct horse battery staple 42"
		enr, err := e.id.CreateStaff(ctx, vault.Actor{ID: "test:setup", Channel: "test"}, "zhao.liu", []policy.Role{policy.Support}, password)
		if err != nil {
			t.Fatal(err)
		}
		secret := enr.TOTPURI[strings.Index(enr.TOTPURI, "secret=")+7:]
		secret = secret[:strings.IndexByte(secret+"&", '&')]
		var wg sync.WaitGroup
		var checked atomic.Int32
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.id.LoginStaff(ctx, identity.StaffLogin{LoginName: "zhao.liu", Password: "wrong password guess", TOTP: "123456"})
				if errs.Is(err, errs.Unauthenticated) {
					checked.Add(1) // checked and found wrong, not refused unchecked
				}
			}()
		}
		wg.Wait()
		if n := checked.Load(); n > 4 {
			t.Fatalf("%d guesses were checked, want at most the threshold minus one (4)", n)
		}
		e.clk.Advance(30 * time.Second)
		code, _ := totp.GenerateCode(secret, e.clk.Now())
		if _, err := e.id.LoginStaff(ctx, identity.StaffLogin{LoginName: "zhao.liu", Password: password, TOTP: code}); !errs.Is(err, errs.RateLimited) {
			t.Fatalf("right credentials after the burst: %v, want rate_limited (locked)", err)
		}
	})
}
