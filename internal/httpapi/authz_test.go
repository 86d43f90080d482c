package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"gigvault/internal/apitest"
	"gigvault/internal/audit"
	"gigvault/internal/format"
	"gigvault/internal/httpapi"
	"gigvault/internal/identity"
	"gigvault/internal/policy"
	"gigvault/internal/policydoc"
	"gigvault/internal/sms"
	"gigvault/internal/testenv"
	"gigvault/internal/vault"
)

// The authorisation matrix: every endpoint × every principal (anonymous, a
// worker, an employer member, and staff holding each single role). The
// matrix below is written out by hand — it is the specification — and is
// checked both against the access rules the routes are registered with and
// against what the running API does on each engine.

// The principals.
const (
	anonymous  = "anonymous"
	worker     = "worker" // worker A; worker B is the target, never a principal
	employer   = "employer"
	secAdmin   = "security_admin"
	auditAdmin = "audit_admin"
	sysAdmin   = "system_admin"
	dataOp     = "data_operator"
	dpo        = "dpo"
	support    = "support"
	keyOfficer = "key_officer"
)

type principalSpec struct {
	name  string
	kind  string // "" for anonymous
	roles []policy.Role
}

var principalSpecs = []principalSpec{
	{anonymous, "", nil},
	{worker, "worker", []policy.Role{policy.Worker}},
	{employer, "employer", []policy.Role{policy.EmployerMember}},
	{secAdmin, "staff", []policy.Role{policy.SecurityAdmin}},
	{auditAdmin, "staff", []policy.Role{policy.AuditAdmin}},
	{sysAdmin, "staff", []policy.Role{policy.SystemAdmin}},
	{dataOp, "staff", []policy.Role{policy.DataOperator}},
	{dpo, "staff", []policy.Role{policy.DPO}},
	{support, "staff", []policy.Role{policy.Support}},
	{keyOfficer, "staff", []policy.Role{policy.KeyOfficer}},
}

// Who may call what. Sets are spelled out per row in matrix below.
var (
	everyone = []string{anonymous, worker, employer, secAdmin, auditAdmin, sysAdmin, dataOp, dpo, support, keyOfficer}
	signedIn = []string{worker, employer, secAdmin, auditAdmin, sysAdmin, dataOp, dpo, support, keyOfficer}
	users    = []string{worker, employer}
	allStaff = []string{secAdmin, auditAdmin, sysAdmin, dataOp, dpo, support, keyOfficer}
)

// principal is a signed-in (or anonymous) caller during the run.
type principal struct {
	principalSpec
	u apitest.User // Token is the live session
}

func (p *principal) actor() string { return p.kind + ":" + p.u.AccountID }

func (p *principal) has(r policy.Role) bool { return slices.Contains(p.roles, r) }

// row is one endpoint of the matrix.
type row struct {
	method, pattern string
	allow           []string // the principals the matrix lets through
	// seesTarget: an allowed caller is shown worker B's mobile number whole.
	seesTarget bool
	// before runs once before the principals' calls.
	before func(t *testing.T)
	// req builds a realistic request for p (it may do setup first).
	req func(t *testing.T, p *principal) (path string, body any)
	// want is the status an allowed caller gets; 0 means any 2xx.
	want func(p *principal) int
	// check inspects an allowed caller's answer.
	check func(t *testing.T, p *principal, r apitest.Response)
	// after runs after each principal's call, allowed or not.
	after func(t *testing.T, p *principal, r apitest.Response)
	// positive is a 2xx call for routes where the sweep's own calls
	// rightly all fail (for example, someone else's session ID).
	positive func(t *testing.T) apitest.Response
	// done runs once after the principals' calls.
	done func(t *testing.T)
}

func (r row) key() string { return r.method + " " + r.pattern }

func (r row) allows(name string) bool { return slices.Contains(r.allow, name) }

// fixture is the shared state of one engine's run.
type fixture struct {
	e  *apitest.Env
	ps []*principal
	by map[string]*principal

	b         apitest.User // worker B, the target
	bSession  string       // B's session ID
	aSpare    string       // a second session of worker A's, for a revocation that succeeds
	contact   string       // the employer's contact name (PI)
	target    apitest.User // a staff account the security administrators manage
	secAdmin2 apitest.User // a second security administrator, who approves staff management
	probes    map[string]apitest.User
	outbox    string   // a number the development outbox holds a code for
	bulk      []string // 101 subject IDs: an export of them needs an approval
	apprOther string   // filed by another staff member: pending throughout
	apprDPO   string   // for the DPO to decide
	apprSec   string   // for the security administrator to decide
	apprOwn   string   // filed by the data operator principal
	revoked   []string // tokens ended by log-out

	eventA     string       // worker A's agreement to the policy on registering
	jobA       string       // the employer's job worker A applies to
	appA       string       // worker A's application, made by the matrix
	appShown   string       // worker C's application the employer reads
	appDecided string       // worker C's application the employer accepts
	applicant  apitest.User // worker C

	gig    gigState    // the issue-5 rows' state
	rights rightsState // the issue-6 rows' state
}

// matrix is the specification. f may be empty when only the rows' method,
// pattern and allow are read.
func matrix(f *fixture) []row {
	staffLoginBody := func(u apitest.User) map[string]any {
		code, err := totp.GenerateCode(u.TOTP, f.e.Clock.Now())
		if err != nil {
			panic(err)
		}
		return map[string]any{"login_name": u.Login, "password": u.Password, "totp": code}
	}
	exportOfB := func(*testing.T, *principal) (string, any) {
		return "/v1/staff/bulk", map[string]any{"action": "export", "subjects": []string{f.b.SubjectID}, "fields": []string{"mobile"},
			"purpose": "customer_service", "reason": "客服工单核对"}
	}
	rows := []row{
		// Operational endpoints: public.
		{method: "GET", pattern: "/healthz", allow: everyone, req: fixed("/healthz", nil)},
		{method: "GET", pattern: "/readyz", allow: everyone, req: fixed("/readyz", nil)},
		{method: "GET", pattern: "/metrics", allow: everyone, req: fixed("/metrics", nil)},
		{method: "GET", pattern: "/v1/version", allow: everyone, req: fixed("/v1/version", nil)},
		{method: "GET", pattern: "/openapi.yaml", allow: everyone, req: fixed("/openapi.yaml", nil)},

		// Signing in: public.
		{method: "POST", pattern: "/v1/auth/sms/send", allow: everyone,
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/auth/sms/send", map[string]any{"mobile": f.e.Mobile()}
			}},
		{method: "POST", pattern: "/v1/auth/sms/login", allow: everyone,
			req: func(t *testing.T, _ *principal) (string, any) {
				m := f.e.Mobile()
				return "/v1/auth/sms/login", map[string]any{"mobile": m, "code": f.e.SendCode(m), "agree_policy": true}
			}},
		{method: "POST", pattern: "/v1/auth/staff/login", allow: everyone,
			req: func(_ *testing.T, p *principal) (string, any) {
				return "/v1/auth/staff/login", staffLoginBody(f.probes[p.name])
			}},
		{method: "GET", pattern: "/v1/dev/sms-outbox", allow: everyone,
			req: func(*testing.T, *principal) (string, any) { return "/v1/dev/sms-outbox?mobile=" + f.outbox, nil },
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), "login_code") {
					t.Errorf("outbox lacks the code sent: %s", short(r.Body))
				}
			}},

		// One's own sessions and data: anyone signed in.
		{method: "GET", pattern: "/v1/sessions", allow: signedIn, req: fixed("/v1/sessions", nil),
			check: func(t *testing.T, p *principal, r apitest.Response) {
				if strings.Contains(string(r.Body), f.bSession) {
					t.Errorf("%s's session list shows worker B's session: %s", p.name, short(r.Body))
				}
			}},
		{method: "DELETE", pattern: "/v1/sessions/{id}", allow: signedIn,
			req: func(*testing.T, *principal) (string, any) { return "/v1/sessions/" + f.bSession, nil },
			// Someone else's session is indistinguishable from a missing one.
			want: func(*principal) int { return http.StatusNotFound },
			positive: func(t *testing.T) apitest.Response {
				return f.e.Do("DELETE", "/v1/sessions/"+f.aSpare, f.by[worker].u.Token, nil)
			},
			done: func(t *testing.T) { f.bStillSignedIn(t) }},
		{method: "GET", pattern: "/v1/me", allow: signedIn, req: fixed("/v1/me", nil),
			check: func(t *testing.T, p *principal, r apitest.Response) {
				var me struct {
					Account struct{ ID, Kind string }
					Values  []struct{ Field, Value string }
				}
				r.Decode(t, &me)
				if me.Account.ID != p.u.AccountID || me.Account.Kind != p.kind {
					t.Errorf("me = %+v, want account %s (%s)", me.Account, p.u.AccountID, p.kind)
				}
				if p.kind != "staff" && !strings.Contains(string(r.Body), p.u.Mobile) {
					t.Errorf("me lacks the caller's own number: %s", short(r.Body))
				}
			}},
		{method: "POST", pattern: "/v1/me/verification/send", allow: users,
			req: fixed("/v1/me/verification/send", map[string]any{"purpose": "verify"})},
		{method: "POST", pattern: "/v1/me/verification", allow: users,
			req: func(_ *testing.T, p *principal) (string, any) {
				code := "123456"
				if p.kind == "worker" || p.kind == "employer" {
					code = f.e.LastCode(p.u.Mobile) // sent by the row above
				}
				return "/v1/me/verification", map[string]any{"purpose": "verify", "code": code}
			}},
		{method: "POST", pattern: "/v1/me/password", allow: allStaff,
			// One TOTP step on, so every staff member has an unused code.
			before: func(*testing.T) { f.e.Clock.Advance(30 * time.Second) },
			req: func(_ *testing.T, p *principal) (string, any) {
				if p.kind != "staff" {
					return "/v1/me/password", map[string]any{"current_password": "not-a-password-of-mine", "new_password": newPassword(p.name), "totp": "123456"}
				}
				code, err := totp.GenerateCode(p.u.TOTP, f.e.Clock.Now())
				if err != nil {
					panic(err)
				}
				return "/v1/me/password", map[string]any{"current_password": p.u.Password, "new_password": newPassword(p.name), "totp": code}
			},
			after: func(_ *testing.T, p *principal, r apitest.Response) {
				if r.Status == http.StatusNoContent {
					p.u.Password = newPassword(p.name)
				}
			}},

		// Employers.
		{method: "POST", pattern: "/v1/employer/members", allow: []string{employer},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/employer/members", map[string]any{"mobile": f.e.Mobile()}
			},
			check: func(t *testing.T, p *principal, r apitest.Response) {
				var inv identity.Invitation
				r.Decode(t, &inv)
				if !inv.Invited || inv.ExpiresAt.IsZero() {
					t.Errorf("invitation %s", r.Body)
				}
			}},

		// Other people's PI: staff with a PI role only.
		{method: "GET", pattern: "/v1/staff/subjects/{id}", allow: []string{dataOp, dpo, support},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/staff/subjects/" + f.b.SubjectID + "?purpose=customer_service", nil
			},
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), "****") {
					t.Errorf("read is not masked: %s", short(r.Body))
				}
			}},
		{method: "POST", pattern: "/v1/staff/subjects/{id}/reveal", allow: []string{dataOp, dpo, support}, seesTarget: true,
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/staff/subjects/" + f.b.SubjectID + "/reveal", map[string]any{"field": "mobile", "purpose": "customer_service",
					"reason_code": "customer_request", "reason": "工单核实本人号码"}
			},
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), f.b.Mobile) {
					t.Errorf("reveal does not show the number: %s", short(r.Body))
				}
			}},
		{method: "POST", pattern: "/v1/staff/bulk", allow: []string{dataOp, dpo}, req: exportOfB,
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), f.b.SubjectID) || !strings.Contains(string(r.Body), "****") {
					t.Errorf("export is not worker B's, masked: %s", short(r.Body))
				}
			}},

		// Staff accounts: security administrators only; creating, changing
		// roles and resetting credentials also need another security
		// administrator's approval (dual control), given in req.
		{method: "GET", pattern: "/v1/staff/accounts", allow: []string{secAdmin}, req: fixed("/v1/staff/accounts", nil),
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), f.target.AccountID) {
					t.Errorf("staff list lacks the target account: %s", short(r.Body))
				}
			}},
		{method: "POST", pattern: "/v1/staff/accounts", allow: []string{secAdmin},
			req: func(t *testing.T, p *principal) (string, any) {
				return f.secondAdminApproves(t, p, "POST", "/v1/staff/accounts", map[string]any{"login_name": "new." + p.name, "roles": []string{"support"}})
			}},
		{method: "PUT", pattern: "/v1/staff/accounts/{id}/roles", allow: []string{secAdmin},
			req: func(t *testing.T, p *principal) (string, any) {
				return f.secondAdminApproves(t, p, "PUT", "/v1/staff/accounts/"+f.target.AccountID+"/roles", map[string]any{"roles": []string{"support", "dpo"}})
			}},
		{method: "POST", pattern: "/v1/staff/accounts/{id}/status", allow: []string{secAdmin},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/staff/accounts/" + f.target.AccountID + "/status", map[string]any{"enabled": true, "reason": "定期复核"}
			}},
		{method: "POST", pattern: "/v1/staff/accounts/{id}/reset", allow: []string{secAdmin},
			req: func(t *testing.T, p *principal) (string, any) {
				return f.secondAdminApproves(t, p, "POST", "/v1/staff/accounts/"+f.target.AccountID+"/reset", map[string]any{"password": true, "totp": false})
			}},
		{method: "POST", pattern: "/v1/staff/accounts/{id}/unlock", allow: []string{secAdmin},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/staff/accounts/" + f.target.AccountID + "/unlock", nil
			}},

		// Approvals: any staff member sees their own; approvers see all.
		{method: "GET", pattern: "/v1/approvals", allow: allStaff, req: fixed("/v1/approvals", nil),
			check: func(t *testing.T, p *principal, r apitest.Response) {
				approver := p.has(policy.DPO) || p.has(policy.SecurityAdmin)
				if got := strings.Contains(string(r.Body), f.apprOther); got != approver {
					t.Errorf("%s sees another requester's approval: %v, want %v", p.name, got, approver)
				}
				if p.name == dataOp && !strings.Contains(string(r.Body), f.apprOwn) {
					t.Errorf("the data operator does not see their own approval: %s", short(r.Body))
				}
			}},
		{method: "GET", pattern: "/v1/approvals/{id}", allow: allStaff,
			req: func(*testing.T, *principal) (string, any) { return "/v1/approvals/" + f.apprOther, nil },
			// Another requester's approval is invisible to non-approvers.
			want: func(p *principal) int {
				if p.has(policy.DPO) || p.has(policy.SecurityAdmin) {
					return http.StatusOK
				}
				return http.StatusNotFound
			}},
		{method: "POST", pattern: "/v1/approvals/{id}/decision", allow: []string{dpo, secAdmin},
			req: func(_ *testing.T, p *principal) (string, any) {
				id := f.apprOther
				switch p.name {
				case dpo:
					id = f.apprDPO
				case secAdmin:
					id = f.apprSec
				}
				return "/v1/approvals/" + id + "/decision", map[string]any{"approve": true, "note": "同意"}
			},
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), `"status":"approved"`) {
					t.Errorf("decision not recorded: %s", short(r.Body))
				}
			},
			done: func(t *testing.T) {
				// The refused deciders changed nothing.
				r := f.e.Do("GET", "/v1/approvals/"+f.apprOther, f.by[dpo].u.Token, nil)
				if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"status":"pending"`) {
					t.Errorf("approval %s after refused decisions: %d %s", f.apprOther, r.Status, short(r.Body))
				}
			}},

		// The audit log: audit administrators only.
		{method: "GET", pattern: "/v1/audit", allow: []string{auditAdmin},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/audit?actor=" + url.QueryEscape("worker:"+f.by[worker].u.AccountID) + "&limit=50", nil
			},
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), "api.denied") {
					t.Errorf("worker A's refused calls are not in the audit search: %.500s", short(r.Body))
				}
			}},

		// The public documents (issue 4): everyone, signed in or not.
		{method: "GET", pattern: "/public/privacy-policy", allow: everyone, req: fixed("/public/privacy-policy", nil), check: isHTML},
		{method: "GET", pattern: "/public/privacy-policy.json", allow: everyone, req: fixed("/public/privacy-policy.json", nil), check: isJSON},
		{method: "GET", pattern: "/public/privacy-policy/{version}", allow: everyone, req: fixed("/public/privacy-policy/1", nil), check: isHTML,
			done: func(t *testing.T) {
				r := f.e.Do("GET", "/public/privacy-policy/1.json", "", nil)
				isJSON(t, nil, r)
				if r := f.e.Do("GET", "/public/privacy-policy/none", "", nil); r.Status != http.StatusNotFound {
					t.Errorf("an unknown version: %d %s", r.Status, short(r.Body))
				}
			}},
		{method: "GET", pattern: "/public/children-policy", allow: everyone, req: fixed("/public/children-policy", nil), check: isHTML},
		{method: "GET", pattern: "/public/children-policy.json", allow: everyone, req: fixed("/public/children-policy.json", nil), check: isJSON},
		{method: "GET", pattern: "/public/pi-collected", allow: everyone, req: fixed("/public/pi-collected", nil), check: isHTML},
		{method: "GET", pattern: "/public/pi-collected.json", allow: everyone, req: fixed("/public/pi-collected.json", nil), check: isJSON},
		{method: "GET", pattern: "/public/third-party-sharing", allow: everyone, req: fixed("/public/third-party-sharing", nil), check: isHTML},
		{method: "GET", pattern: "/public/third-party-sharing.json", allow: everyone, req: fixed("/public/third-party-sharing.json", nil), check: isJSON},
		{method: "GET", pattern: "/public/receipt-keys", allow: everyone, req: fixed("/public/receipt-keys", nil),
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				var out struct{ Keys []httpapi.ReceiptKey }
				r.Decode(t, &out)
				if len(out.Keys) != 1 || out.Keys[0].ID == "" || out.Keys[0].Public == "" {
					t.Errorf("receipt keys: %s", short(r.Body))
				}
			}},
		{method: "GET", pattern: "/v1/consent/notices/{scope}", allow: everyone, req: fixed("/v1/consent/notices/"+scopeMarketing, nil),
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if n := decodeNotice(t, r); n.Scope != scopeMarketing || n.Digest == "" || n.PolicyVersion == "" {
					t.Errorf("notice: %s", short(r.Body))
				}
			}},

		// The basic function: workers keep a profile and a résumé, search
		// and apply; employers post jobs and see the applications to them.
		{method: "PUT", pattern: "/v1/me/profile", allow: []string{worker},
			req: fixed("/v1/me/profile", map[string]any{"city": "福州", "job_intent": "外卖配送"})},
		{method: "PUT", pattern: "/v1/me/resume", allow: []string{worker},
			req: fixed("/v1/me/resume", map[string]any{"text": "两年外卖配送经验，熟悉福州城区路线。", "skills": []string{"电动车驾驶"},
				"expected_pay_fen": 2500, "visibility": "private"})},
		{method: "GET", pattern: "/v1/me/resume", allow: []string{worker}, req: fixed("/v1/me/resume", nil),
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), "熟悉福州城区路线") {
					t.Errorf("the résumé written above is not shown: %s", short(r.Body))
				}
			}},
		{method: "POST", pattern: "/v1/employer/jobs", allow: []string{employer}, req: fixed("/v1/employer/jobs", jobBody("仓库理货员")),
			want: func(*principal) int { return http.StatusCreated }},
		{method: "GET", pattern: "/v1/employer/jobs", allow: []string{employer}, req: fixed("/v1/employer/jobs", nil),
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), f.jobA) {
					t.Errorf("the organisation's jobs lack its posting: %s", short(r.Body))
				}
			}},
		{method: "GET", pattern: "/v1/jobs", allow: users, req: fixed("/v1/jobs?category=delivery&limit=50", nil),
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), f.jobA) {
					t.Errorf("the search lacks the open job: %s", short(r.Body))
				}
			}},
		{method: "GET", pattern: "/v1/jobs/recommended", allow: []string{worker}, req: fixed("/v1/jobs/recommended", nil),
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), `"personalised":false`) {
					t.Errorf("recommendations without personalisation switched on: %s", short(r.Body))
				}
			}},
		{method: "GET", pattern: "/v1/jobs/{id}", allow: users,
			req: func(*testing.T, *principal) (string, any) { return "/v1/jobs/" + f.jobA, nil },
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), `"apply_notice"`) || !strings.Contains(string(r.Body), "recipient:"+f.by[employer].u.OrgID) {
					t.Errorf("the job lacks the notice shown before applying: %s", short(r.Body))
				}
			}},
		{method: "POST", pattern: "/v1/jobs/{id}/apply", allow: []string{worker},
			req: func(t *testing.T, p *principal) (string, any) {
				return "/v1/jobs/" + f.jobA + "/apply", f.applyBody(t, p, f.jobA)
			},
			want: func(*principal) int { return http.StatusCreated },
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				var out struct {
					Application struct{ ID, Status string }
					Receipt     struct{ Sig string }
				}
				r.Decode(t, &out)
				if out.Application.Status != "applied" || out.Receipt.Sig == "" {
					t.Errorf("application: %s", short(r.Body))
				}
				f.appA = out.Application.ID
			}},
		{method: "GET", pattern: "/v1/me/applications", allow: []string{worker}, req: fixed("/v1/me/applications", nil),
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if f.appA == "" || !strings.Contains(string(r.Body), f.appA) || strings.Contains(string(r.Body), f.appShown) {
					t.Errorf("worker A's applications are not theirs alone: %s", short(r.Body))
				}
			}},
		{method: "GET", pattern: "/v1/employer/applications", allow: []string{employer}, req: fixed("/v1/employer/applications", nil),
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), f.appShown) || !strings.Contains(string(r.Body), f.appA) {
					t.Errorf("the organisation's applications: %s", short(r.Body))
				}
			}},
		{method: "GET", pattern: "/v1/employer/applications/{id}", allow: []string{employer},
			req: func(*testing.T, *principal) (string, any) { return "/v1/employer/applications/" + f.appShown, nil },
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				body := string(r.Body)
				if !strings.Contains(body, f.appShown) || !strings.Contains(body, `"resume_text"`) || strings.Contains(body, `"masked":false`) ||
					strings.Contains(body, f.applicant.Mobile) {
					t.Errorf("the application's résumé is not shown masked: %s", short(r.Body))
				}
			}},
		{method: "POST", pattern: "/v1/employer/applications/{id}/decision", allow: []string{employer},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/employer/applications/" + f.appDecided + "/decision", map[string]any{"status": "accepted"}
			},
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), `"status":"accepted"`) {
					t.Errorf("decision not recorded: %s", short(r.Body))
				}
			}},
		{method: "POST", pattern: "/v1/me/applications/{id}/withdraw", allow: []string{worker},
			req: func(*testing.T, *principal) (string, any) { return "/v1/me/applications/" + f.appA + "/withdraw", nil },
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), `"status":"withdrawn"`) {
					t.Errorf("withdrawal not recorded: %s", short(r.Body))
				}
			},
			done: func(t *testing.T) {
				// Nor does worker A withdraw someone else's application.
				r := f.e.Do("POST", "/v1/me/applications/"+f.appShown+"/withdraw", f.by[worker].u.Token, nil)
				if r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
					t.Errorf("worker A withdraws worker C's application: %d %s", r.Status, short(r.Body))
				}
				r = f.e.Do("GET", "/v1/employer/applications/"+f.appShown, f.by[employer].u.Token, nil)
				if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"status":"applied"`) {
					t.Errorf("worker C's application after worker A's attempt: %d %s", r.Status, short(r.Body))
				}
			}},

		// Consent and transparency: one's own consents, receipts, sharing
		// record and personalisation — workers and employer members.
		{method: "GET", pattern: "/v1/me/consents", allow: users, req: fixed("/v1/me/consents", nil),
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), `"scope":"policy"`) {
					t.Errorf("the consents lack the agreement to the policy: %s", short(r.Body))
				}
			}},
		{method: "POST", pattern: "/v1/me/consents", allow: users,
			req: func(t *testing.T, _ *principal) (string, any) {
				return "/v1/me/consents", f.consentBody(t, scopeMarketing, "agree")
			},
			want: func(*principal) int { return http.StatusCreated },
			check: func(t *testing.T, p *principal, r apitest.Response) {
				var out struct {
					Event   struct{ Subject, Scope, Event string }
					Receipt struct{ Sig string }
				}
				r.Decode(t, &out)
				if out.Event.Subject != p.u.SubjectID || out.Event.Scope != scopeMarketing || out.Event.Event != "agree" || out.Receipt.Sig == "" {
					t.Errorf("consent act: %s", short(r.Body))
				}
			}},
		{method: "POST", pattern: "/v1/me/consents/prompt", allow: users,
			req: fixed("/v1/me/consents/prompt", map[string]any{"scope": scopeSurvey}),
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if n := decodeNotice(t, r); n.Scope != scopeSurvey || n.Digest == "" {
					t.Errorf("prompt: %s", short(r.Body))
				}
			}},
		{method: "POST", pattern: "/v1/me/consents/withdraw", allow: users,
			req: fixed("/v1/me/consents/withdraw", map[string]any{"scope": scopeMarketing}),
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), `"event":"withdraw"`) || !strings.Contains(string(r.Body), `"prompt_allowed_at"`) {
					t.Errorf("withdrawal: %s", short(r.Body))
				}
			}},
		{method: "GET", pattern: "/v1/me/consents/events", allow: users, req: fixed("/v1/me/consents/events", nil),
			check: func(t *testing.T, p *principal, r apitest.Response) {
				if evs := eventIDs(t, r); len(evs) < 3 || (p.name == worker) != slices.Contains(evs, f.eventA) {
					t.Errorf("%s's consent events: %s", p.name, short(r.Body))
				}
			}},
		{method: "GET", pattern: "/v1/me/consents/events/{id}/receipt", allow: users,
			req: func(t *testing.T, p *principal) (string, any) {
				id := f.eventA
				if p.kind == "employer" {
					id = eventIDs(t, f.e.Do("GET", "/v1/me/consents/events", p.u.Token, nil))[0]
				}
				return "/v1/me/consents/events/" + id + "/receipt", nil
			},
			check: func(t *testing.T, p *principal, r apitest.Response) {
				if !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(string(r.Body), p.u.SubjectID) ||
					!strings.Contains(string(r.Body), `"sig":`) {
					t.Errorf("receipt: %s %s", r.Header, short(r.Body))
				}
			},
			done: func(t *testing.T) {
				// Someone else's event is indistinguishable from a missing one.
				r := f.e.Do("GET", "/v1/me/consents/events/"+f.eventA+"/receipt", f.by[employer].u.Token, nil)
				if r.Status != http.StatusNotFound || r.Code() != "not_found" {
					t.Errorf("the employer fetches worker A's receipt: %d %s", r.Status, short(r.Body))
				}
			}},
		{method: "GET", pattern: "/v1/me/sharing", allow: users, req: fixed("/v1/me/sharing", nil),
			check: func(t *testing.T, p *principal, r apitest.Response) {
				if got := strings.Contains(string(r.Body), f.by[employer].u.OrgID); got != (p.name == worker) {
					t.Errorf("%s's sharing record names the employer: %v: %s", p.name, got, short(r.Body))
				}
			}},
		{method: "GET", pattern: "/v1/me/personalisation", allow: users, req: fixed("/v1/me/personalisation", nil),
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), `"enabled":false`) || !strings.Contains(string(r.Body), `"available_fields"`) {
					t.Errorf("personalisation is not off by default: %s", short(r.Body))
				}
			}},
		{method: "PUT", pattern: "/v1/me/personalisation", allow: users,
			req: fixed("/v1/me/personalisation", map[string]any{"enabled": false, "fields": []string{"city"}}),
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), `"offer_delete"`) {
					t.Errorf("switching personalisation off offers no deletion: %s", short(r.Body))
				}
			}},
		{method: "DELETE", pattern: "/v1/me/personalisation/profile", allow: users, req: fixed("/v1/me/personalisation/profile", nil),
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), `"deleted_values"`) {
					t.Errorf("profile deletion: %s", short(r.Body))
				}
			}},

		// The privacy policy's versions: staff read them; the DPO drafts
		// and publishes.
		{method: "GET", pattern: "/v1/staff/policies", allow: allStaff, req: fixed("/v1/staff/policies", nil),
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), `"version":"1"`) {
					t.Errorf("the versions lack the first one: %s", short(r.Body))
				}
			}},
		{method: "POST", pattern: "/v1/staff/policies", allow: []string{dpo},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/staff/policies", map[string]any{"version": "authz-draft", "effective_at": f.e.Clock.Now().AddDate(0, 1, 0).Format(time.RFC3339),
					"summary_zh": "补充第三方共享清单", "summary": "Adds to the third-party sharing list", "material": false}
			},
			want: func(*principal) int { return http.StatusCreated },
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), `"status":"draft"`) {
					t.Errorf("draft: %s", short(r.Body))
				}
			},
			done: func(t *testing.T) {
				// A draft is not public.
				if r := f.e.Do("GET", "/public/privacy-policy/authz-draft", "", nil); r.Status != http.StatusNotFound {
					t.Errorf("the draft is public: %d %s", r.Status, short(r.Body))
				}
			}},
		{method: "POST", pattern: "/v1/staff/policies/{version}/publish", allow: []string{dpo},
			before: func(t *testing.T) {
				// A draft to publish: not a material change, so the
				// consents given so far still count afterwards.
				if _, err := f.e.Core.Policies.CreateDraft(context.Background(), "test:setup", policydoc.Meta{Version: "authz-publish",
					EffectiveAt: f.e.Clock.Now(), SummaryZh: "措辞修订", SummaryEn: "Wording", Material: false}); err != nil {
					t.Fatalf("draft: %v", err)
				}
			},
			req: fixed("/v1/staff/policies/authz-publish/publish", nil),
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), `"status":"published"`) {
					t.Errorf("publication: %s", short(r.Body))
				}
			},
			done: func(t *testing.T) {
				if r := f.e.Do("GET", "/public/privacy-policy/authz-publish", "", nil); r.Status != http.StatusOK {
					t.Errorf("the published version: %d %s", r.Status, short(r.Body))
				}
				r := f.e.Do("GET", "/v1/me/consents", f.by[worker].u.Token, nil)
				if !strings.Contains(string(r.Body), `"policy_version":"authz-publish"`) || strings.Contains(string(r.Body), `"current":false`) {
					t.Errorf("consents after a change that is not material: %s", short(r.Body))
				}
			}},
		{method: "GET", pattern: "/v1/staff/sharing", allow: []string{auditAdmin, dpo},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/staff/sharing?recipient=" + url.QueryEscape(f.by[employer].u.OrgID), nil
			},
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				var out struct {
					Provisions []struct{ Recipient, Purpose string }
				}
				r.Decode(t, &out)
				if len(out.Provisions) < 3 || out.Provisions[0].Recipient != f.by[employer].u.OrgID || out.Provisions[0].Purpose != "resume_sharing" {
					t.Errorf("the ledger rows of the employer: %s", short(r.Body))
				}
			}},
	}
	// The rest of the gig platform (issue 5), after the sharing ledger's
	// row, which reads the employer's newest provisions.
	rows = append(rows, f.gigRows()...)
	// Data-subject rights (issue 6), after the gig platform: worker A's
	// cancellation is stopped by the payment the uploader could not approve.
	rows = append(rows, f.rightsRows()...)
	return append(rows, []row{
		// Log-out last: it ends every principal's session, which is then
		// started again.
		{method: "POST", pattern: "/v1/auth/logout", allow: signedIn, req: fixed("/v1/auth/logout", nil),
			after: func(t *testing.T, p *principal, r apitest.Response) {
				if r.Status == http.StatusNoContent {
					f.revoked = append(f.revoked, p.u.Token)
				}
			},
			done: func(t *testing.T) { f.signInAgain(t) }},
	}...)
}

func fixed(path string, body any) func(*testing.T, *principal) (string, any) {
	return func(*testing.T, *principal) (string, any) { return path, body }
}

func newPassword(name string) string { return "harbor-velvet-quartz-" + name + "-lantern" }

// Consent scopes the matrix acts on: extended functions, each agreed to
// (or asked about) on its own.
const (
	scopeMarketing = "function:marketing"
	scopeSurvey    = "function:survey"
)

func isHTML(t *testing.T, _ *principal, r apitest.Response) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(string(r.Body), "<html") {
		t.Errorf("not an HTML page: %s %s", ct, short(r.Body))
	}
}

func isJSON(t *testing.T, _ *principal, r apitest.Response) {
	t.Helper()
	var v map[string]any
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || json.Unmarshal(r.Body, &v) != nil || len(v) == 0 {
		t.Errorf("not a JSON document: %s %s", ct, short(r.Body))
	}
}

type notice struct {
	Scope         string `json:"scope"`
	PolicyVersion string `json:"policy_version"`
	Digest        string `json:"notice_digest"`
}

func decodeNotice(t *testing.T, r apitest.Response) notice {
	t.Helper()
	var n notice
	r.Decode(t, &n)
	return n
}

// eventIDs are the IDs of a GET /v1/me/consents/events answer.
func eventIDs(t *testing.T, r apitest.Response) []string {
	t.Helper()
	var out struct{ Events []struct{ ID string } }
	r.Decode(t, &out)
	ids := make([]string, 0, len(out.Events))
	for _, ev := range out.Events {
		ids = append(ids, ev.ID)
	}
	if len(ids) == 0 {
		t.Fatalf("no consent events: %d %s", r.Status, short(r.Body))
	}
	return ids
}

func jobBody(title string) map[string]any {
	return map[string]any{"title": title, "description": "负责福州城区餐饮外卖配送，按单结算。", "city": "福州",
		"category": "delivery", "pay_fen": 2500, "pay_unit": "hour"}
}

// consentBody is an explicit consent act on scope with the evidence of
// the notice shown: its policy version and digest.
func (f *fixture) consentBody(t *testing.T, scope, event string) map[string]any {
	t.Helper()
	n := decodeNotice(t, f.e.Do("GET", "/v1/consent/notices/"+scope, "", nil))
	return map[string]any{"scope": scope, "event": event, "explicit": true, "policy_version": n.PolicyVersion,
		"notice_digest": n.Digest, "channel": "app", "language": "zh-CN"}
}

// applyBody is an application to job with the evidence of the notice the
// job shows before applying; people who may not see the job send it
// without.
func (f *fixture) applyBody(t *testing.T, p *principal, job string) map[string]any {
	t.Helper()
	body := map[string]any{"explicit": true, "channel": "app"}
	if p.kind != "worker" {
		return body
	}
	r := f.e.Do("GET", "/v1/jobs/"+job, p.u.Token, nil)
	var out struct {
		Notice notice `json:"apply_notice"`
	}
	r.Decode(t, &out)
	if r.Status != http.StatusOK || out.Notice.Digest == "" {
		t.Fatalf("job %s: %d %s", job, r.Status, short(r.Body))
	}
	body["policy_version"], body["notice_digest"] = out.Notice.PolicyVersion, out.Notice.Digest
	return body
}

// postJob posts a job as the employer and returns its ID.
func (f *fixture) postJob(t *testing.T, title string) string {
	t.Helper()
	r := f.e.Do("POST", "/v1/employer/jobs", f.by[employer].u.Token, jobBody(title))
	var out struct{ Job struct{ ID string } }
	r.Decode(t, &out)
	if r.Status != http.StatusCreated || out.Job.ID == "" {
		t.Fatalf("post job: %d %s", r.Status, short(r.Body))
	}
	return out.Job.ID
}

// applies has c write a résumé (once) and apply to job, and returns the
// application's ID.
func (f *fixture) applies(t *testing.T, c *principal, job string) string {
	t.Helper()
	if r := f.e.Do("PUT", "/v1/me/resume", c.u.Token, map[string]any{"text": "一年超市理货经验，可周末全天上岗。"}); r.Status != http.StatusOK {
		t.Fatalf("résumé: %d %s", r.Status, short(r.Body))
	}
	r := f.e.Do("POST", "/v1/jobs/"+job+"/apply", c.u.Token, f.applyBody(t, c, job))
	var out struct{ Application struct{ ID string } }
	r.Decode(t, &out)
	if r.Status != http.StatusCreated || out.Application.ID == "" {
		t.Fatalf("apply: %d %s", r.Status, short(r.Body))
	}
	return out.Application.ID
}

// allowedBy evaluates a registered access string for a principal.
func allowedBy(access string, p principalSpec) (bool, error) {
	switch access {
	case httpapi.AccessPublic:
		return true, nil
	case httpapi.AccessAny:
		return p.kind != "", nil
	}
	ok := false
	for part := range strings.SplitSeq(access, ",") {
		if role, isRole := strings.CutPrefix(part, "role:"); isRole {
			if !slices.Contains(policy.Roles, policy.Role(role)) {
				return false, fmt.Errorf("unknown role %q", role)
			}
			ok = ok || slices.Contains(p.roles, policy.Role(role))
			continue
		}
		if !slices.Contains([]string{"worker", "employer", "staff"}, part) {
			return false, fmt.Errorf("unknown kind %q", part)
		}
		ok = ok || (p.kind != "" && part == p.kind)
	}
	return ok, nil
}

// TestAuthzMatrixRoutes: the hand-written matrix and the rules the routes
// are registered with say the same, and every route has a row.
func TestAuthzMatrixRoutes(t *testing.T) {
	rows := map[string]row{}
	for _, r := range matrix(&fixture{}) {
		if _, dup := rows[r.key()]; dup {
			t.Errorf("matrix row %s appears twice", r.key())
		}
		for _, name := range r.allow {
			if !slices.ContainsFunc(principalSpecs, func(p principalSpec) bool { return p.name == name }) {
				t.Errorf("matrix row %s allows unknown principal %q", r.key(), name)
			}
		}
		rows[r.key()] = r
	}
	seen := map[string]bool{}
	for _, rt := range httpapi.New(httpapi.Deps{}).Routes() {
		key := rt.Method + " " + rt.Pattern
		seen[key] = true
		r, ok := rows[key]
		if !ok {
			t.Errorf("route %s (access %q) has no row in the authorisation matrix", key, rt.Access)
			continue
		}
		if rt.Public != r.allows(anonymous) {
			t.Errorf("route %s: Public = %v, matrix lets anonymous in: %v", key, rt.Public, r.allows(anonymous))
		}
		var want, got []string
		for _, p := range principalSpecs {
			ok, err := allowedBy(rt.Access, p)
			if err != nil {
				t.Errorf("route %s: access %q: %v", key, rt.Access, err)
				break
			}
			if ok {
				got = append(got, p.name)
			}
			if r.allows(p.name) {
				want = append(want, p.name)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("route %s is registered with access %q, which lets in %v; the matrix says %v", key, rt.Access, got, want)
		}
	}
	for key := range rows {
		if !seen[key] {
			t.Errorf("matrix row %s names no registered route", key)
		}
	}
}

// TestAuthzDevOutboxClosed: the development outbox, public in the matrix,
// hands out anyone's log-in codes, so it must not exist in production or
// with a real gateway.
func TestAuthzDevOutboxClosed(t *testing.T) {
	con := sms.NewConsole(sms.ConsoleOptions{})
	for name, d := range map[string]httpapi.Deps{
		"production":   {Production: true, SMS: con},
		"real gateway": {SMS: nil},
	} {
		h := httpapi.New(d).Handler()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/dev/sms-outbox?mobile=13900000001", nil))
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"not_found"`) {
			t.Errorf("%s: %d %s, want 404 not_found", name, rec.Code, rec.Body)
		}
	}
}

// TestAuthzMatrix runs the matrix against the API on each engine.
func TestAuthzMatrix(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := apitest.New(t, eng, apitest.Options{})
			f := newFixture(t, e)
			rows := matrix(f)
			for _, r := range rows {
				t.Run(r.key(), func(t *testing.T) { f.sweep(t, r) })
			}
			t.Run("IDOR", f.idor)
			t.Run("tokens", func(t *testing.T) { f.badTokens(t, rows) })
			t.Run("expired", f.expired)
			e.AuditVerify()
		})
	}
}

// bind points the shared Env's helpers at t for the duration of a subtest.
func (f *fixture) bind(t *testing.T) func() {
	old := f.e.T
	f.e.T = t
	return func() { f.e.T = old }
}

func newFixture(t *testing.T, e *apitest.Env) *fixture {
	ctx := context.Background()
	f := &fixture{e: e, by: map[string]*principal{}, probes: map[string]apitest.User{}, contact: "王经理"}
	// People signing in by SMS first (each moves the clock two minutes),
	// staff after, so no staff session idles out before the matrix runs.
	f.b = e.Worker()
	f.bSession = sessionID(t, e, f.b.Token)
	users := map[string]apitest.User{worker: e.Worker(), employer: e.Employer("福州海峡人力资源有限公司", uscc(t, "91350100M000100Y4"))}
	f.aSpare = sessionID(t, e, e.WorkerWith(users[worker].Mobile).Token)
	f.gigUsers(t, users[employer])
	f.applicant = e.Worker()
	applicant := &principal{principalSpec: principalSpec{name: "worker C", kind: "worker"}, u: f.applicant}
	for _, spec := range principalSpecs {
		p := &principal{principalSpec: spec}
		switch spec.kind {
		case "worker", "employer":
			p.u = users[spec.name]
			if p.u.Kind != spec.kind {
				t.Fatalf("%s signed in as %q", spec.name, p.u.Kind)
			}
		case "staff":
			p.u = e.Staff(spec.roles...)
		}
		f.ps = append(f.ps, p)
		f.by[spec.name] = p
	}
	// The platform: the employer's jobs, and worker C's applications for
	// the employer to read and decide.
	f.eventA = eventIDs(t, e.Do("GET", "/v1/me/consents/events", f.by[worker].u.Token, nil))[0]
	f.jobA = f.postJob(t, "外卖配送员")
	f.appShown = f.applies(t, applicant, f.postJob(t, "超市理货员"))
	f.appDecided = f.applies(t, applicant, f.postJob(t, "促销员"))
	f.gigSetup(t, applicant)

	requester := e.Staff(policy.DataOperator)
	f.secAdmin2 = e.Staff(policy.SecurityAdmin)
	f.gig.officer2 = e.Staff(policy.KeyOfficer)

	newStaff := func(login string) apitest.User {
		enr, err := e.Core.Identity.CreateStaff(ctx, vault.Actor{ID: "test:setup", Channel: "test"}, login, []policy.Role{policy.Support}, "")
		if err != nil {
			t.Fatalf("create staff %s: %v", login, err)
		}
		u, err := url.Parse(enr.TOTPURI)
		if err != nil {
			t.Fatal(err)
		}
		return apitest.User{AccountID: enr.Account.ID, SubjectID: enr.Account.SubjectID, Kind: "staff", Login: login,
			Password: enr.Password, TOTP: u.Query().Get("secret")}
	}
	f.target = newStaff("target.staff")
	for _, p := range f.ps {
		f.probes[p.name] = newStaff("probe." + p.name)
	}
	f.outbox = e.Mobile()
	e.SendCode(f.outbox)

	f.bulk = testenv.Subjects(t, e.Core, "worker", 101)
	f.apprOther = f.fileApproval(t, requester.Token)
	f.apprDPO = f.fileApproval(t, requester.Token)
	f.apprSec = f.fileApproval(t, requester.Token)
	f.apprOwn = f.fileApproval(t, f.by[dataOp].u.Token)
	return f
}

func uscc(t *testing.T, body string) string {
	c, ok := format.USCCCheckChar(body)
	if !ok {
		t.Fatalf("USCC body %q", body)
	}
	return body + string(c)
}

// sessionID is the ID of the session token belongs to.
func sessionID(t *testing.T, e *apitest.Env, token string) string {
	t.Helper()
	r := e.Do("GET", "/v1/sessions", token, nil)
	var out struct{ Sessions []identity.SessionInfo }
	r.Decode(t, &out)
	for _, s := range out.Sessions {
		if s.Current {
			return s.ID
		}
	}
	t.Fatalf("no current session: %d %s", r.Status, short(r.Body))
	return ""
}

// fileApproval asks for an export past the bulk limit, which files an
// approval request, and returns its ID.
func (f *fixture) fileApproval(t *testing.T, token string) string {
	t.Helper()
	r := f.e.Do("POST", "/v1/staff/bulk", token, map[string]any{"action": "export", "subjects": f.bulk, "fields": []string{"mobile"},
		"purpose": "customer_service", "reason": "季度客服数据核对"})
	ref := r.ErrorBody().Ref
	if r.Status != http.StatusForbidden || r.Code() != "approval_required" || ref == "" {
		t.Fatalf("file approval: %d %s", r.Status, short(r.Body))
	}
	return ref
}

// secondAdminApproves prepares a staff-management call under dual control:
// for the security administrator, the call without approval_id files a
// request (403 approval_required), the second security administrator
// approves it, and the body returned names the approval. Others get the
// body as it is, to be refused by the route's rule.
func (f *fixture) secondAdminApproves(t *testing.T, p *principal, method, path string, body map[string]any) (string, any) {
	t.Helper()
	if !p.has(policy.SecurityAdmin) {
		return path, body
	}
	r := f.e.Do(method, path, p.u.Token, body)
	ref := r.ErrorBody().Ref
	if r.Status != http.StatusForbidden || r.Code() != "approval_required" || r.ErrorBody().Reason != identity.ReasonStaffNeedsApproval || ref == "" {
		t.Fatalf("%s %s without approval: %d %s, want 403 approval_required", method, path, r.Status, short(r.Body))
	}
	if d := f.e.Do("POST", "/v1/approvals/"+ref+"/decision", f.secAdmin2.Token, map[string]any{"approve": true, "note": "复核同意"}); d.Status != http.StatusOK {
		t.Fatalf("second security administrator approves: %d %s", d.Status, short(d.Body))
	}
	with := map[string]any{"approval_id": ref}
	for k, v := range body {
		with[k] = v
	}
	return path, with
}

// denials counts the audit entries that record refusals of p's calls.
type denials struct {
	routes    map[string]int // api.denied by route
	decisions int            // pi.decision
}

func (f *fixture) denials(p *principal) denials {
	d := denials{routes: map[string]int{}}
	for _, en := range f.e.Entries(audit.Filter{Actor: p.actor(), Action: "api.denied"}) {
		d.routes[en.Detail["route"]]++
	}
	d.decisions = len(f.e.Entries(audit.Filter{Actor: p.actor(), Action: "pi.decision"}))
	return d
}

// call sends one request as p and checks what holds for every answer: no
// server error, and no one's PI shown to anyone not entitled to it.
func (f *fixture) call(t *testing.T, p *principal, method, path string, body any, seesTarget bool, headers ...string) apitest.Response {
	t.Helper()
	r := f.e.Do(method, path, p.u.Token, body, headers...)
	if r.Status >= 500 {
		t.Errorf("%s %s as %s: server error %d %s", method, path, p.name, r.Status, short(r.Body))
	}
	text := string(r.Body) + fmt.Sprint(r.Header)
	if strings.Contains(text, f.b.Mobile) && !seesTarget {
		t.Errorf("%s %s as %s: the answer contains worker B's mobile number: %d %s", method, path, p.name, r.Status, short(r.Body))
	}
	for _, q := range f.ps {
		if q != p && q.u.Mobile != "" && strings.Contains(text, q.u.Mobile) {
			t.Errorf("%s %s as %s: the answer contains %s's mobile number: %s", method, path, p.name, q.name, short(r.Body))
		}
	}
	if p.name != employer && strings.Contains(text, f.contact) {
		t.Errorf("%s %s as %s: the answer contains the employer's contact name: %s", method, path, p.name, short(r.Body))
	}
	return r
}

// refused sends a request the caller must be refused: 401 unauthenticated
// for anonymous, otherwise 403 forbidden with an audit entry of the refusal.
func (f *fixture) refused(t *testing.T, p *principal, method, pattern, path string, body any) apitest.Response {
	t.Helper()
	var before denials
	if p.kind != "" {
		before = f.denials(p)
	}
	r := f.call(t, p, method, path, body, false)
	if p.kind == "" {
		if r.Status != http.StatusUnauthorized || r.Code() != "unauthenticated" {
			t.Errorf("%s %s anonymously: %d %s, want 401 unauthenticated", method, path, r.Status, short(r.Body))
		}
		return r
	}
	if r.Status != http.StatusForbidden || r.Code() != "forbidden" {
		t.Errorf("%s %s as %s: %d %s, want 403 forbidden (outside the matrix)", method, path, p.name, r.Status, short(r.Body))
	}
	after := f.denials(p)
	route := method + " " + pattern
	if after.routes[route] <= before.routes[route] && after.decisions <= before.decisions {
		t.Errorf("%s %s as %s: the refusal left no api.denied or pi.decision audit entry", method, path, p.name)
	}
	return r
}

// sweep calls one route as every principal.
func (f *fixture) sweep(t *testing.T, r row) {
	defer f.bind(t)()
	if r.before != nil {
		r.before(t)
	}
	succeeded := 0
	for _, p := range f.ps {
		t.Run(p.name, func(t *testing.T) {
			defer f.bind(t)()
			path, body := r.req(t, p)
			var resp apitest.Response
			if !r.allows(p.name) {
				resp = f.refused(t, p, r.method, r.pattern, path, body)
			} else {
				resp = f.call(t, p, r.method, path, body, r.seesTarget)
				e := resp.ErrorBody()
				switch {
				case resp.Status == http.StatusUnauthorized:
					t.Errorf("inside the matrix: %d %s", resp.Status, short(resp.Body))
				case resp.Status == http.StatusForbidden && e.Reason == policy.ReasonNotPermitted:
					t.Errorf("inside the matrix, refused as not permitted: %s", short(resp.Body))
				}
				want := 0
				if r.want != nil {
					want = r.want(p)
				}
				if want == 0 && (resp.Status < 200 || resp.Status > 299) || want != 0 && resp.Status != want {
					t.Errorf("inside the matrix: %d %s, want %s", resp.Status, short(resp.Body), statusText(want))
				}
				if resp.Status >= 200 && resp.Status <= 299 {
					succeeded++
					if r.check != nil {
						r.check(t, p, resp)
					}
				}
			}
			if r.after != nil {
				r.after(t, p, resp)
			}
		})
	}
	if r.positive != nil {
		resp := r.positive(t)
		if resp.Status < 200 || resp.Status > 299 {
			t.Errorf("the route's positive call: %d %s, want 2xx", resp.Status, short(resp.Body))
		} else {
			succeeded++
		}
	}
	if succeeded == 0 {
		t.Errorf("no call inside the matrix succeeded: is the route wrongly closed?")
	}
	if r.done != nil {
		r.done(t)
	}
}

// short keeps failure messages readable.
func short(b []byte) string {
	const max = 400
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

func statusText(s int) string {
	if s == 0 {
		return "2xx"
	}
	return fmt.Sprint(s)
}

// bStillSignedIn: worker B's session survived every attempt on it.
func (f *fixture) bStillSignedIn(t *testing.T) {
	t.Helper()
	b := &principal{principalSpec: principalSpec{name: "worker B", kind: "worker"}, u: f.b}
	r := f.call(t, b, "GET", "/v1/me", nil, true)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), f.b.Mobile) {
		t.Errorf("worker B's session: %d %s", r.Status, short(r.Body))
	}
	if r := f.e.Do("GET", "/v1/sessions", f.b.Token, nil); !strings.Contains(string(r.Body), f.bSession) {
		t.Errorf("worker B's session is gone: %d %s", r.Status, short(r.Body))
	}
}

// signInAgain starts new sessions for everyone after log-out: people first
// (two clock minutes each), then staff (half a minute each).
func (f *fixture) signInAgain(t *testing.T) {
	for _, p := range f.ps {
		if p.kind == "worker" || p.kind == "employer" {
			p.u.Token = f.e.WorkerWith(p.u.Mobile).Token
		}
	}
	for _, p := range f.ps {
		if p.kind == "staff" {
			p.u.Token = f.e.StaffLogin(p.u) // with the password changed above
		}
	}
}

// idor: no one reaches anyone else's things by naming their IDs.
func (f *fixture) idor(t *testing.T) {
	a, emp := f.by[worker], f.by[employer]
	subject := "/v1/staff/subjects/" + f.b.SubjectID
	revealBody := map[string]any{"field": "mobile", "purpose": "customer_service", "reason_code": "customer_request", "reason": "核实"}
	exportBody := map[string]any{"action": "export", "subjects": []string{f.b.SubjectID}, "fields": []string{"mobile"}, "purpose": "customer_service", "reason": "核实"}

	for _, p := range []*principal{a, emp} {
		t.Run(p.name+" reads worker B", func(t *testing.T) {
			defer f.bind(t)()
			for _, purpose := range []string{"customer_service", "rights_request", "job_matching"} {
				f.refused(t, p, "GET", "/v1/staff/subjects/{id}", subject+"?purpose="+purpose, nil)
			}
			f.refused(t, p, "POST", "/v1/staff/subjects/{id}/reveal", subject+"/reveal", revealBody)
			f.refused(t, p, "POST", "/v1/staff/bulk", "/v1/staff/bulk", exportBody)
			f.refused(t, p, "POST", "/v1/staff/accounts/{id}/status", "/v1/staff/accounts/"+f.b.AccountID+"/status",
				map[string]any{"enabled": false, "reason": "x"})
			f.refused(t, p, "GET", "/v1/audit", "/v1/audit?subject="+f.b.SubjectID, nil)
			f.refused(t, p, "GET", "/v1/approvals", "/v1/approvals", nil)
			r := f.call(t, p, "GET", "/v1/me", nil, false)
			if r.Status != http.StatusOK || !strings.Contains(string(r.Body), p.u.AccountID) {
				t.Errorf("me: %d %s", r.Status, short(r.Body))
			}
			f.bStillSignedIn(t)
		})
	}

	t.Run("worker revokes worker B's session", func(t *testing.T) {
		defer f.bind(t)()
		for _, p := range f.ps[1:] {
			r := f.call(t, p, "DELETE", "/v1/sessions/"+f.bSession, nil, false)
			if r.Status != http.StatusNotFound || r.Code() != "not_found" {
				t.Errorf("as %s: %d %s, want 404 not_found", p.name, r.Status, short(r.Body))
			}
		}
		f.bStillSignedIn(t)
	})

	t.Run("me is one's own", func(t *testing.T) {
		defer f.bind(t)()
		r := f.call(t, a, "GET", "/v1/me", nil, false)
		var me struct {
			Account struct{ ID, Kind string }
			Values  []struct {
				Field, Value string
				Masked       bool
			}
		}
		r.Decode(t, &me)
		if me.Account.ID != a.u.AccountID || me.Account.Kind != "worker" {
			t.Errorf("me.account = %+v, want worker A %s", me.Account, a.u.AccountID)
		}
		// Worker A's number and what the matrix had them write, whole.
		want := map[string]string{"mobile": a.u.Mobile, "city": "福州", "job_intent": "外卖配送",
			"resume_text": "两年外卖配送经验，熟悉福州城区路线。", "skills": "电动车驾驶", "expected_pay": "2500"}
		// … and what verifying their identity and signing the contract
		// (issue 5) kept.
		want["name"], want["id_number"], want["bank_card"] = f.gig.idName, f.gig.idNumber, f.gig.idCard
		if f.gig.file != "" {
			want["contract_record"] = f.contractDocument(t)
		}
		got := map[string]string{}
		for _, v := range me.Values {
			if _, dup := got[v.Field]; dup || v.Masked {
				t.Errorf("me.values: %s repeated or masked", v.Field)
			}
			got[v.Field] = v.Value
		}
		// The contract record is a JSON value holding the document signed.
		if rec, ok := got["contract_record"]; ok {
			var out struct{ Document string }
			if err := json.Unmarshal([]byte(rec), &out); err != nil {
				t.Errorf("contract_record is not JSON: %v", err)
			}
			got["contract_record"] = out.Document
		}
		if !maps.Equal(got, want) {
			t.Errorf("me.values = %+v, want worker A's own values only: %v", me.Values, want)
		}
		r = f.call(t, a, "GET", "/v1/sessions", nil, false)
		var ss struct{ Sessions []identity.SessionInfo }
		r.Decode(t, &ss)
		cur := 0
		for _, s := range ss.Sessions {
			if s.ID == f.bSession {
				t.Errorf("worker A's sessions include worker B's")
			}
			if s.Current {
				cur++
			}
		}
		if cur != 1 {
			t.Errorf("worker A's sessions: %d current, want 1: %s", cur, short(r.Body))
		}
	})

	t.Run("approvals of another requester", func(t *testing.T) {
		defer f.bind(t)()
		for _, p := range f.ps {
			if p.kind != "staff" {
				continue
			}
			approver := p.has(policy.DPO) || p.has(policy.SecurityAdmin)
			for _, id := range []string{f.apprOther, f.apprOwn} {
				mine := id == f.apprOwn && p.name == dataOp
				r := f.call(t, p, "GET", "/v1/approvals/"+id, nil, false)
				switch {
				case approver || mine:
					if r.Status != http.StatusOK || !strings.Contains(string(r.Body), id) {
						t.Errorf("%s reads approval %s: %d %s, want 200", p.name, id, r.Status, short(r.Body))
					}
				default:
					if r.Status != http.StatusNotFound || r.Code() != "not_found" || strings.Contains(string(r.Body), f.bulk[0]) {
						t.Errorf("%s reads another's approval %s: %d %s, want 404 not_found", p.name, id, r.Status, short(r.Body))
					}
				}
			}
			r := f.call(t, p, "GET", "/v1/approvals?status=pending", nil, false)
			if got := strings.Contains(string(r.Body), f.apprOther); r.Status != http.StatusOK || got != approver {
				t.Errorf("%s lists another's pending approval: %v (%d), want %v", p.name, got, r.Status, approver)
			}
		}
		// Nor may a requester decide their own.
		p := f.by[dataOp]
		r := f.call(t, p, "POST", "/v1/approvals/"+f.apprOwn+"/decision", map[string]any{"approve": true}, false)
		if r.Status != http.StatusForbidden {
			t.Errorf("requester decides own approval: %d %s", r.Status, short(r.Body))
		}
	})
}

// badTokens: anonymous calls, garbage, unknown, revoked and wrongly
// presented tokens are all 401 unauthenticated on every non-public route.
func (f *fixture) badTokens(t *testing.T, rows []row) {
	defer f.bind(t)()
	if len(f.revoked) != len(signedIn) {
		t.Fatalf("%d tokens revoked by log-out, want %d", len(f.revoked), len(signedIn))
	}
	// Revoked by log-out: every principal's old token.
	for i, tok := range f.revoked {
		r := f.e.Do("GET", "/v1/me", tok, nil)
		if r.Status != http.StatusUnauthorized || r.Code() != "unauthenticated" {
			t.Errorf("revoked token %d: %d %s", i, r.Status, short(r.Body))
		}
	}
	bad := []struct {
		name, token string
		headers     []string
	}{
		{"garbage", "garbage", nil},
		{"unknown", identity.TokenPrefix + strings.Repeat("A", 43), nil},
		{"revoked", f.revoked[0], nil},
		{"not bearer", "", []string{"Authorization: " + f.by[worker].u.Token}},
		{"basic", "", []string{"Authorization: Basic d29ya2VyOnB3"}},
	}
	t.Run("disabled account", func(t *testing.T) {
		defer f.bind(t)()
		c := f.e.Worker()
		r := f.call(t, f.by[secAdmin], "POST", "/v1/staff/accounts/"+c.AccountID+"/status", map[string]any{"enabled": false, "reason": "滥用举报核实"}, false)
		if r.Status != http.StatusOK {
			t.Fatalf("disable: %d %s", r.Status, short(r.Body))
		}
		if r := f.e.Do("GET", "/v1/me", c.Token, nil); r.Status != http.StatusUnauthorized || r.Code() != "unauthenticated" {
			t.Errorf("a disabled account's token: %d %s, want 401 unauthenticated", r.Status, short(r.Body))
		}
	})
	anon := &principal{principalSpec: principalSpecs[0]}
	for _, r := range rows {
		if r.allows(anonymous) {
			continue
		}
		t.Run(r.key(), func(t *testing.T) {
			defer f.bind(t)()
			path, body := r.req(t, anon)
			for _, b := range bad {
				p := &principal{principalSpec: principalSpec{name: b.name}, u: apitest.User{Token: b.token}}
				resp := f.call(t, p, r.method, path, body, false, b.headers...)
				if resp.Status != http.StatusUnauthorized || resp.Code() != "unauthenticated" {
					t.Errorf("%s token: %d %s, want 401 unauthenticated", b.name, resp.Status, short(resp.Body))
				}
			}
		})
	}
}

// expired: past the idle time-out a session is over.
func (f *fixture) expired(t *testing.T) {
	defer f.bind(t)()
	cfg := f.e.Core.Identity.Config()
	f.e.Clock.Advance(cfg.StaffIdle + time.Minute)
	for _, p := range f.ps[1:] {
		r := f.call(t, p, "GET", "/v1/me", nil, false)
		if p.kind == "staff" {
			if r.Status != http.StatusUnauthorized || r.Code() != "unauthenticated" || !strings.Contains(r.ErrorBody().Message, "expired") {
				t.Errorf("%s after the staff idle time-out: %d %s, want 401 expired", p.name, r.Status, short(r.Body))
			}
			if r := f.e.Do("GET", "/v1/sessions", p.u.Token, nil); r.Status != http.StatusUnauthorized {
				t.Errorf("%s's expired token again: %d %s", p.name, r.Status, short(r.Body))
			}
		} else if r.Status != http.StatusOK {
			t.Errorf("%s after the staff idle time-out: %d %s, want 200 (users idle for %v)", p.name, r.Status, short(r.Body), cfg.UserIdle)
		}
	}
	f.e.Clock.Advance(cfg.UserIdle + time.Minute)
	users := []apitest.User{f.b, f.by[worker].u, f.by[employer].u}
	for _, u := range users {
		r := f.e.Do("GET", "/v1/me", u.Token, nil)
		if r.Status != http.StatusUnauthorized || r.Code() != "unauthenticated" {
			t.Errorf("%s after the user idle time-out: %d %s, want 401", u.Kind, r.Status, short(r.Body))
		}
	}
	// No one's tokens reached the log.
	var toks []string
	for _, p := range f.ps {
		if p.u.Token != "" {
			toks = append(toks, p.u.Token)
		}
	}
	logs := f.e.LogText()
	for _, tok := range append(toks, f.revoked...) {
		if strings.Contains(logs, tok) {
			t.Errorf("a session token is in the server log")
		}
	}
}
