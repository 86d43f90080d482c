package httpapi_test

// Consent and transparency through the API (issue 4), on every engine: a
// worker who refuses everything optional still uses the basic function;
// material and non-material policy changes; guardians; the 48-hour prompt
// rule; refused consent acts; withdrawal; the sharing ledger;
// personalisation; the public documents. Time is the injected clock.

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gigvault/internal/apitest"
	"gigvault/internal/app"
	"gigvault/internal/audit"
	"gigvault/internal/consent"
	"gigvault/internal/cryptox"
	"gigvault/internal/format"
	"gigvault/internal/httpapi"
	"gigvault/internal/identity"
	"gigvault/internal/jobs"
	"gigvault/internal/keys"
	"gigvault/internal/policy"
	"gigvault/internal/policydoc"
	"gigvault/internal/receipt"
	"gigvault/internal/sharing"
	"gigvault/internal/testenv"
	"gigvault/internal/vault"
)

// ---------------------------------------------------------------- helpers

// conActResp is the answer to a consent act (agree, refuse, withdraw).
type conActResp struct {
	Event           consent.Event   `json:"event"`
	Receipt         json.RawMessage `json:"receipt"`
	PromptAllowedAt *time.Time      `json:"prompt_allowed_at"`
}

// conState is one entry of GET /v1/me/consents.
type conState struct {
	Scope           string     `json:"scope"`
	State           string     `json:"state"`
	PolicyVersion   string     `json:"policy_version"`
	At              time.Time  `json:"at"`
	EventID         string     `json:"event_id"`
	Current         bool       `json:"current"`
	PromptAllowedAt *time.Time `json:"prompt_allowed_at"`
}

type conStates struct {
	PolicyVersion string     `json:"policy_version"`
	Consents      []conState `json:"consents"`
	Scopes        []string   `json:"scopes"`
}

func (s conStates) of(scope string) (conState, bool) {
	for _, c := range s.Consents {
		if c.Scope == scope {
			return c, true
		}
	}
	return conState{}, false
}

type conApplied struct {
	Application jobs.Application `json:"application"`
	Receipt     json.RawMessage  `json:"receipt"`
}

var conOrgSeq atomic.Int64

// conUSCC is a fresh unified social credit code with a valid check character.
func conUSCC(t *testing.T) string {
	t.Helper()
	body := fmt.Sprintf("91350100MA%07d", conOrgSeq.Add(1))
	c, ok := format.USCCCheckChar(body)
	if !ok {
		t.Fatalf("USCC body %q", body)
	}
	return body + string(c)
}

// conIDNumber is a GB 11643 resident ID number born on birth (YYYYMMDD).
func conIDNumber(t *testing.T, birth string) string {
	t.Helper()
	body := "350102" + birth + "123"
	c, ok := format.IDCheckChar(body)
	if !ok {
		t.Fatalf("ID body %q", body)
	}
	return body + string(c)
}

func (f *flow) conEmployer(name string) apitest.User {
	f.t.Helper()
	return f.Employer(name, conUSCC(f.t))
}

func (f *flow) conJob(token, title, city, category string) string {
	f.t.Helper()
	r := f.do("POST", "/v1/employer/jobs", token, map[string]any{"title": title, "description": "周末兼职，按日结算。", "city": city,
		"category": category, "pay_fen": 15000, "pay_unit": "day"})
	f.ok(r, http.StatusCreated, "post a job")
	var out struct {
		Job jobs.Job `json:"job"`
	}
	r.Decode(f.t, &out)
	if out.Job.ID == "" {
		f.t.Fatalf("post a job: %s", r.Body)
	}
	return out.Job.ID
}

func (f *flow) conResume(token string, body map[string]any) {
	f.t.Helper()
	f.ok(f.do("PUT", "/v1/me/resume", token, body), http.StatusOK, "write a résumé")
}

func (f *flow) conProfile(token string, kv ...string) {
	f.t.Helper()
	body := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		body[kv[i]] = kv[i+1]
	}
	f.ok(f.do("PUT", "/v1/me/profile", token, body), http.StatusOK, "PUT /v1/me/profile")
}

// conNotice fetches the notice of scope (public: no token).
func (f *flow) conNotice(scope string) consent.Notice {
	f.t.Helper()
	r := f.do("GET", "/v1/consent/notices/"+scope, "", nil)
	f.ok(r, http.StatusOK, "notice of "+scope)
	var n consent.Notice
	r.Decode(f.t, &n)
	if n.Scope != scope || n.Digest == "" || n.PolicyVersion == "" {
		f.t.Fatalf("notice of %s: %s", scope, r.Body)
	}
	return n
}

// conAct sends a consent act on scope with the current notice's version
// and digest; kv override body fields (a nil value removes one).
func (f *flow) conAct(token, scope, event string, kv ...any) apitest.Response {
	f.t.Helper()
	n := f.conNotice(scope)
	body := map[string]any{"scope": scope, "event": event, "explicit": true, "policy_version": n.PolicyVersion, "notice_digest": n.Digest}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(body, kv[i].(string))
		} else {
			body[kv[i].(string)] = kv[i+1]
		}
	}
	return f.do("POST", "/v1/me/consents", token, body)
}

func (f *flow) conActOK(token, scope, event string, kv ...any) conActResp {
	f.t.Helper()
	r := f.conAct(token, scope, event, kv...)
	f.ok(r, http.StatusCreated, event+" "+scope)
	var res conActResp
	r.Decode(f.t, &res)
	if res.Event.Scope != scope || res.Event.Event != event || res.Event.ID == "" || len(res.Receipt) == 0 {
		f.t.Fatalf("%s %s: %s", event, scope, r.Body)
	}
	return res
}

func (f *flow) conWithdraw(token, scope string, kv ...any) apitest.Response {
	f.t.Helper()
	body := map[string]any{"scope": scope}
	for i := 0; i+1 < len(kv); i += 2 {
		body[kv[i].(string)] = kv[i+1]
	}
	return f.do("POST", "/v1/me/consents/withdraw", token, body)
}

func (f *flow) conStates(token string) conStates {
	f.t.Helper()
	r := f.do("GET", "/v1/me/consents", token, nil)
	f.ok(r, http.StatusOK, "GET /v1/me/consents")
	var s conStates
	r.Decode(f.t, &s)
	return s
}

func (f *flow) conPrompt(token, scope string) apitest.Response {
	f.t.Helper()
	return f.do("POST", "/v1/me/consents/prompt", token, map[string]any{"scope": scope})
}

func (f *flow) conPromptOK(token, scope, what string) {
	f.t.Helper()
	r := f.conPrompt(token, scope)
	f.ok(r, http.StatusOK, what)
	var n consent.Notice
	r.Decode(f.t, &n)
	if want := f.conNotice(scope); n.Scope != scope || n.Digest != want.Digest {
		f.t.Fatalf("%s: the prompt's notice %s, want the notice of %s", what, r.Body, scope)
	}
}

// conApplyResp applies for a job with the job's apply notice; kv override
// body fields.
func (f *flow) conApplyResp(token, jobID string, kv ...any) apitest.Response {
	f.t.Helper()
	r := f.do("GET", "/v1/jobs/"+jobID, token, nil)
	f.ok(r, http.StatusOK, "GET /v1/jobs/{id}")
	var j struct {
		Job    jobs.Job       `json:"job"`
		Notice consent.Notice `json:"apply_notice"`
	}
	r.Decode(f.t, &j)
	if j.Job.ID != jobID || j.Notice.Digest == "" || j.Notice.Scope != consent.Scope(consent.KindRecipient, j.Job.OrgID) {
		f.t.Fatalf("job and apply notice: %s", r.Body)
	}
	body := map[string]any{"explicit": true, "policy_version": j.Notice.PolicyVersion, "notice_digest": j.Notice.Digest}
	for i := 0; i+1 < len(kv); i += 2 {
		body[kv[i].(string)] = kv[i+1]
	}
	return f.do("POST", "/v1/jobs/"+jobID+"/apply", token, body)
}

func (f *flow) conApply(token, jobID string) conApplied {
	f.t.Helper()
	r := f.conApplyResp(token, jobID)
	f.ok(r, http.StatusCreated, "apply")
	var a conApplied
	r.Decode(f.t, &a)
	if a.Application.ID == "" || a.Application.ConsentRef == "" || a.Application.LedgerID == "" || len(a.Receipt) == 0 {
		f.t.Fatalf("apply: %s", r.Body)
	}
	return a
}

type conSharedResume struct {
	Application jobs.Application `json:"application"`
	Resume      []meValue        `json:"resume"`
}

// conRead is the employer's read of an application with its résumé.
func (f *flow) conRead(token, appID string) apitest.Response {
	f.t.Helper()
	return f.do("GET", "/v1/employer/applications/"+appID, token, nil)
}

func (f *flow) conReadOK(token, appID, what string) conSharedResume {
	f.t.Helper()
	r := f.conRead(token, appID)
	f.ok(r, http.StatusOK, what)
	var out conSharedResume
	r.Decode(f.t, &out)
	if out.Application.ID != appID || len(out.Resume) == 0 {
		f.t.Fatalf("%s: %s", what, r.Body)
	}
	for _, v := range out.Resume {
		if !v.Masked {
			f.t.Errorf("%s: %s shown whole to the employer", what, v.Field)
		}
	}
	return out
}

// conBlocked checks that the employer's read answers consent_required
// naming exactly the scopes in missing.
func (f *flow) conBlocked(token, appID, what string, missing ...string) {
	f.t.Helper()
	d := f.fails(f.conRead(token, appID), http.StatusForbidden, "consent_required", "", policy.ReasonConsentRequired, what)
	got := slices.Sorted(slices.Values(d.Missing))
	want := slices.Sorted(slices.Values(missing))
	if !slices.Equal(got, want) {
		f.t.Errorf("%s: missing %v, want %v", what, d.Missing, missing)
	}
}

// conPublish drafts and publishes a policy version as the DPO.
func (f *flow) conPublish(dpoToken, version string, material bool, effective time.Time) policydoc.Version {
	f.t.Helper()
	r := f.do("POST", "/v1/staff/policies", dpoToken, map[string]any{"version": version, "effective_at": effective,
		"summary_zh": "版本 " + version + " 的变更摘要", "summary": "Changes in version " + version, "material": material})
	f.ok(r, http.StatusCreated, "draft policy "+version)
	r = f.do("POST", "/v1/staff/policies/"+version+"/publish", dpoToken, nil)
	f.ok(r, http.StatusOK, "publish policy "+version)
	var v policydoc.Version
	r.Decode(f.t, &v)
	if v.Version != version || v.Status != policydoc.StatusPublished || v.Material != material || v.Seq == 0 || v.Digest == "" {
		f.t.Fatalf("publish %s: %s", version, r.Body)
	}
	return v
}

// conLookup is the receipt-key look-up a third party builds from the
// public key list alone; it checks the published key ID is derived from
// the key.
func (f *flow) conLookup() func(string) (cryptox.Verifier, bool) {
	f.t.Helper()
	r := f.do("GET", "/public/receipt-keys", "", nil)
	f.ok(r, http.StatusOK, "GET /public/receipt-keys")
	var ks struct {
		Keys []httpapi.ReceiptKey `json:"keys"`
	}
	r.Decode(f.t, &ks)
	if len(ks.Keys) == 0 {
		f.t.Fatalf("no receipt keys: %s", r.Body)
	}
	vs := map[string]cryptox.Verifier{}
	for _, k := range ks.Keys {
		var suite cryptox.Suite
		switch k.Alg {
		case receipt.AlgSM2SM3:
			suite = cryptox.SM{}
		case receipt.AlgECDSAP256:
			suite = cryptox.AES{}
		default:
			f.t.Fatalf("receipt key alg %q", k.Alg)
		}
		pub, err := hex.DecodeString(k.Public)
		if err != nil {
			f.t.Fatalf("receipt key: %v", err)
		}
		if kid := keys.ReceiptKeyID(suite, pub); kid != k.ID {
			f.t.Fatalf("published kid %q, derived from the key %q", k.ID, kid)
		}
		v, err := suite.ParseVerifier(pub)
		if err != nil {
			f.t.Fatalf("receipt key: %v", err)
		}
		vs[k.ID] = v
	}
	return func(kid string) (cryptox.Verifier, bool) { v, ok := vs[kid]; return v, ok }
}

// conReceiptFile turns a receipt as the API returns it inside a JSON body
// into the canonical receipt file.
func (f *flow) conReceiptFile(raw json.RawMessage) []byte {
	f.t.Helper()
	var s receipt.Signed
	if err := json.Unmarshal(raw, &s); err != nil {
		f.t.Fatalf("receipt: %v: %s", err, raw)
	}
	b, err := s.Marshal()
	if err != nil {
		f.t.Fatalf("receipt: %v", err)
	}
	return b
}

// conVerify verifies a receipt with the published key only.
func (f *flow) conVerify(raw json.RawMessage, what string) *receipt.Receipt {
	f.t.Helper()
	rc, err := receipt.Verify(f.conReceiptFile(raw), f.conLookup())
	if err != nil {
		f.t.Fatalf("%s: receipt does not verify: %v", what, err)
	}
	return rc
}

func (f *flow) conCount(q string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.Core.DB.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (f *flow) conSharing(path, token string) []sharing.Row {
	f.t.Helper()
	r := f.do("GET", path, token, nil)
	f.ok(r, http.StatusOK, "GET "+path)
	var out struct {
		Provisions []sharing.Row `json:"provisions"`
	}
	r.Decode(f.t, &out)
	return out.Provisions
}

// --------------------------------------------------------------- 1. CAT-2

// A worker who registers with nothing but a number, a code and the policy
// agreement, and refuses every optional consent there is, still registers,
// writes a résumé, searches, reads a job, applies, sees their applications
// and their data; the employer sees the résumé, masked. Nothing optional is
// asked for on the way.
func TestFlowRefuseEverythingOptional(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng testenv.Engine) {
		f := newFlow(t, eng, apitest.Options{})
		emp := f.conEmployer("厦门拒绝测试餐饮有限公司")
		jobID := f.conJob(emp.Token, "周末餐厅服务员", "厦门", "catering")
		f.conJob(emp.Token, "仓库夜班分拣员", "福州", "warehouse")

		// Registration: the body is exactly mobile, code and agree_policy.
		m := f.mobile()
		r := f.login(m, f.sendOK(m), true)
		f.ok(r, http.StatusCreated, "registration with only mobile, code and agree_policy")
		var reg identity.LoginResult
		r.Decode(t, &reg)
		tok := reg.Token

		st := f.conStates(tok)
		if len(st.Scopes) < 10 || st.Scopes[0] != consent.ScopePolicy {
			t.Fatalf("scopes: %v", st.Scopes)
		}
		if p, ok := st.of(consent.ScopePolicy); !ok || p.State != string(policy.Granted) || !p.Current || p.PolicyVersion != st.PolicyVersion {
			t.Fatalf("the registration's policy agreement: %+v", st.Consents)
		}
		if len(st.Consents) != 1 {
			t.Fatalf("a new worker has consents beyond the policy: %+v", st.Consents)
		}
		kinds := map[string]int{}
		for _, sc := range st.Scopes {
			if sc == consent.ScopePolicy {
				continue
			}
			kind, _ := consent.SplitScope(sc)
			kinds[kind]++
			res := f.conActOK(tok, sc, consent.Refuse)
			if res.PromptAllowedAt == nil || !res.PromptAllowedAt.Equal(res.Event.At.Add(consent.RepromptAfter)) {
				t.Errorf("refusal of %s: prompt_allowed_at %v, event at %v", sc, res.PromptAllowedAt, res.Event.At)
			}
		}
		for _, k := range []string{consent.KindFunction, consent.KindSensitive, consent.KindRecipient, consent.KindProcessor} {
			if kinds[k] == 0 {
				t.Errorf("no %s scope listed to refuse: %v", k, st.Scopes)
			}
		}
		st = f.conStates(tok)
		if len(st.Consents) != len(st.Scopes) {
			t.Errorf("%d consent states for %d scopes", len(st.Consents), len(st.Scopes))
		}
		for _, c := range st.Consents {
			want := policy.Refused
			if c.Scope == consent.ScopePolicy {
				want = policy.Granted
			}
			if c.State != string(want) {
				t.Errorf("%s: %s, want %s", c.Scope, c.State, want)
			}
		}

		// The basic function, all of it.
		text := "三年餐饮服务经验，熟悉收银与点餐系统，周末全天可以到岗。"
		r = f.do("PUT", "/v1/me/resume", tok, map[string]any{"text": text})
		f.ok(r, http.StatusOK, "a résumé of text alone")
		r = f.do("GET", "/v1/me/resume", tok, nil)
		f.ok(r, http.StatusOK, "read one's résumé")
		if !contains(r.Body, text) {
			t.Errorf("own résumé: %s", r.Body)
		}
		q := url.Values{"q": {"服务员"}, "city": {"厦门"}}
		r = f.do("GET", "/v1/jobs?"+q.Encode(), tok, nil)
		f.ok(r, http.StatusOK, "job search")
		var found struct {
			Jobs         []jobs.Job `json:"jobs"`
			Personalised bool       `json:"personalised"`
		}
		r.Decode(t, &found)
		if len(found.Jobs) != 1 || found.Jobs[0].ID != jobID || found.Personalised {
			t.Fatalf("search: %s", r.Body)
		}
		app := f.conApply(tok, jobID)
		if app.Application.Status != jobs.Applied || app.Application.SubjectID != reg.Account.SubjectID || app.Application.OrgID != emp.OrgID {
			t.Errorf("application: %+v", app.Application)
		}
		if rc := f.conVerify(app.Receipt, "application receipt"); rc.Event != receipt.EventAgree ||
			rc.Services[0].Service != consent.Scope(consent.KindRecipient, emp.OrgID) || rc.ConsentReceiptID != app.Application.ConsentRef {
			t.Errorf("application receipt: %+v", rc)
		}
		r = f.do("GET", "/v1/me/applications", tok, nil)
		f.ok(r, http.StatusOK, "list own applications")
		var mine struct {
			Applications []jobs.Application `json:"applications"`
		}
		r.Decode(t, &mine)
		if len(mine.Applications) != 1 || mine.Applications[0].ID != app.Application.ID {
			t.Errorf("own applications: %s", r.Body)
		}
		shared := f.conReadOK(emp.Token, app.Application.ID, "the employer reads the application")
		// The résumé text and the contact number, both masked.
		if len(shared.Resume) != 2 || shared.Resume[0].Field != "resume_text" || shared.Resume[0].Value == text || shared.Resume[0].Value == "" ||
			shared.Resume[1].Field != "mobile" || !shared.Resume[1].Masked || !strings.Contains(shared.Resume[1].Value, "****") {
			t.Errorf("the employer's view of the résumé: %+v", shared.Resume)
		}
		r = f.do("GET", "/v1/jobs/recommended", tok, nil)
		f.ok(r, http.StatusOK, "recommendations, not personalised")
		if m := r.JSON(); m["personalised"] != false {
			t.Errorf("recommendations for a worker who refused personalisation: %s", r.Body)
		}

		// Nothing optional was collected: the number and the résumé text.
		var got []string
		for _, v := range f.me(tok).Values {
			got = append(got, v.Field)
		}
		slices.Sort(got)
		if !slices.Equal(got, []string{"mobile", "resume_text"}) {
			t.Errorf("the worker's data: %v, want only mobile and resume_text", got)
		}
		// The application was the one new agreement: to this employer.
		st = f.conStates(tok)
		if c, ok := st.of(consent.Scope(consent.KindRecipient, emp.OrgID)); !ok || c.State != string(policy.Granted) || c.EventID != app.Application.ConsentRef {
			t.Errorf("consent to the employer after applying: %+v", c)
		}
		f.finish()
	})
}

// --------------------------------------------------------------- 2. CON-3

// A non-material policy version changes nothing; a material one makes the
// employer's read of a résumé consent_required (naming the policy and the
// employer) until the worker agrees to the new version and to the employer
// again; the worker's own data stays theirs throughout. A material version
// with a future effective date blocks nothing until the clock reaches it.
func TestFlowMaterialPolicyChange(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng testenv.Engine) {
		f := newFlow(t, eng, apitest.Options{})
		emp := f.conEmployer("福州政策变更测试有限公司")
		org := consent.Scope(consent.KindRecipient, emp.OrgID)
		job1 := f.conJob(emp.Token, "仓库分拣员", "福州", "warehouse")
		job2 := f.conJob(emp.Token, "仓库夜班分拣员", "福州", "warehouse")
		w := f.worker()
		f.conResume(w.Token, map[string]any{"text": "两年仓储分拣经验，可以上夜班。", "skills": []string{"叉车", "分拣"}})
		app := f.conApply(w.Token, job1)
		f.conReadOK(emp.Token, app.Application.ID, "before any change")

		dpo := f.Staff(policy.DPO)
		// Only the DPO drafts.
		sup := f.Staff(policy.Support)
		f.fails(f.do("POST", "/v1/staff/policies", sup.Token, map[string]any{"version": "9", "effective_at": f.Clock.Now(),
			"summary_zh": "摘要", "summary": "summary", "material": false}), http.StatusForbidden, "forbidden", "", "", "support drafts a policy")
		f.fails(f.do("POST", "/v1/staff/policies", dpo.Token, map[string]any{"version": "9", "effective_at": f.Clock.Now(),
			"summary_zh": "摘要", "summary": "summary"}), http.StatusBadRequest, "invalid", "material", "", "a draft that does not say whether it is material")

		f.conPublish(dpo.Token, "2", false, f.Clock.Now())
		f.conReadOK(emp.Token, app.Application.ID, "after a non-material change")
		st := f.conStates(w.Token)
		if p, _ := st.of(consent.ScopePolicy); st.PolicyVersion != "2" || !p.Current || p.PolicyVersion != "1" {
			t.Errorf("after a non-material change: version %s, policy consent %+v", st.PolicyVersion, p)
		}

		f.conPublish(dpo.Token, "3", true, f.Clock.Now())
		f.conBlocked(emp.Token, app.Application.ID, "after a material change", consent.ScopePolicy, org)
		// The worker's own data is not consent-dependent.
		f.me(w.Token)
		f.ok(f.do("GET", "/v1/me/resume", w.Token, nil), http.StatusOK, "own résumé after a material change")
		st = f.conStates(w.Token)
		for _, sc := range []string{consent.ScopePolicy, org} {
			if c, ok := st.of(sc); !ok || c.Current || c.State != string(policy.Granted) {
				t.Errorf("%s after a material change: %+v, want granted but not current", sc, c)
			}
		}
		// Agreeing under the old version is refused.
		f.fails(f.conAct(w.Token, consent.ScopePolicy, consent.Agree, "policy_version", "2"), http.StatusConflict, "conflict",
			"policy_version", "policy_version_outdated", "agreeing to the superseded version")

		if res := f.conActOK(w.Token, consent.ScopePolicy, consent.Agree); res.Event.PolicyVersion != "3" {
			t.Errorf("agreement recorded under %q, want 3", res.Event.PolicyVersion)
		}
		f.conBlocked(emp.Token, app.Application.ID, "after agreeing to the new policy only", org)
		f.conActOK(w.Token, org, consent.Agree)
		f.conReadOK(emp.Token, app.Application.ID, "after agreeing to the new policy and to the employer again")

		// A material version effective in three days.
		eff := f.Clock.Now().Add(72 * time.Hour)
		v4 := f.conPublish(dpo.Token, "4", true, eff)
		if !v4.EffectiveAt.Equal(eff) {
			t.Errorf("version 4 effective %v, want %v", v4.EffectiveAt, eff)
		}
		f.conReadOK(emp.Token, app.Application.ID, "a material version published but not yet in effect")
		if n := f.conNotice(consent.ScopePolicy); n.PolicyVersion != "3" {
			t.Errorf("the notice before version 4 takes effect is under %q", n.PolicyVersion)
		}
		f.Clock.Set(eff.Add(-time.Minute))
		f.conReadOK(emp.Token, app.Application.ID, "a minute before version 4 takes effect")
		f.Clock.Set(eff)
		f.conBlocked(emp.Token, app.Application.ID, "once the clock reaches version 4's effective date", consent.ScopePolicy, org)
		if res := f.conActOK(w.Token, consent.ScopePolicy, consent.Agree); res.Event.PolicyVersion != "4" {
			t.Errorf("agreement recorded under %q, want 4", res.Event.PolicyVersion)
		}
		f.conBlocked(emp.Token, app.Application.ID, "after agreeing to version 4 only", org)
		// Applying again (another job of the same employer) is an agreement
		// to the employer under the current version.
		f.conApply(w.Token, job2)
		f.conReadOK(emp.Token, app.Application.ID, "after agreeing to version 4 and applying again")

		pubs := map[string]string{}
		for _, e := range f.entries("policy.publish", nil) {
			pubs[e.Detail["version"]] = e.Detail["material"]
		}
		if pubs["2"] != "false" || pubs["3"] != "true" || pubs["4"] != "true" {
			t.Errorf("policy.publish entries: %v", pubs)
		}
		f.finish()
	})
}

// --------------------------------------------------------------- 3. CON-8

// Under 14 only the guardian consents, and the guardian's identity and
// relationship are recorded — the name and ID number only in the vault,
// the receipt carrying a masked name; 14 to 17 the minor (or the guardian);
// an adult only for themselves; a guardian must be an adult.
func TestFlowGuardianConsent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng testenv.Engine) {
		var dataDir, dbURL string
		f := newFlow(t, eng, apitest.Options{Modify: func(c *app.Config) { dataDir, dbURL = c.DataDir, c.DatabaseURL }})
		now := f.Clock.Now()
		age := func(birthMonth string) int {
			first, err := time.Parse("2006-01", birthMonth)
			if err != nil {
				t.Fatal(err)
			}
			return consent.AgeOn(first.AddDate(0, 1, -1), now)
		}
		const childMonth, teenMonth, adultMonth = "2013-05", "2011-05", "1990-05"
		if age(childMonth) != 13 || age(teenMonth) != 15 || age(adultMonth) < 18 {
			t.Fatalf("test clock %v: ages %d, %d, %d", now, age(childMonth), age(teenMonth), age(adultMonth))
		}
		const gName = "欧阳明远"
		gID := conIDNumber(t, "19800101")
		minorID := conIDNumber(t, "20100101")
		guardian := map[string]any{"name": gName, "id_number": gID, "relationship": "parent"}
		const sc = "function:nearby_jobs"
		guardians := func() int { return f.conCount(`SELECT COUNT(*) FROM subjects WHERE kind = ?`, "guardian") }

		child := f.worker()
		f.conProfile(child.Token, "birth_month", childMonth)
		f.fails(f.conAct(child.Token, sc, consent.Agree), http.StatusForbidden, "consent_required", "guardian", "guardian_required",
			"a 13-year-old's own agreement")
		f.fails(f.conAct(child.Token, sc, consent.Agree, "by", "guardian"), http.StatusBadRequest, "invalid", "guardian", "",
			"guardian consent without the guardian's identity")
		f.fails(f.conAct(child.Token, sc, consent.Agree, "by", "guardian", "guardian",
			map[string]any{"name": gName, "id_number": gID, "relationship": "uncle"}), http.StatusBadRequest, "invalid", "guardian.relationship", "",
			"a relationship that is not a guardian's")
		f.fails(f.conAct(child.Token, sc, consent.Agree, "by", "guardian", "guardian",
			map[string]any{"name": gName, "id_number": minorID, "relationship": "parent"}), http.StatusBadRequest, "invalid", "guardian.id_number", "",
			"a guardian who is a minor")
		bad := gID[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", gID[17])+1)%11])
		f.fails(f.conAct(child.Token, sc, consent.Agree, "by", "guardian", "guardian",
			map[string]any{"name": gName, "id_number": bad, "relationship": "parent"}), http.StatusBadRequest, "invalid", "guardian.id_number", "",
			"a guardian ID number with a wrong check character")
		f.fails(f.conAct(child.Token, sc, consent.Agree, "by", "employer", "guardian", guardian), http.StatusForbidden, "forbidden", "by", "",
			"consent by someone neither the subject nor a guardian")
		if n := guardians(); n != 0 {
			t.Fatalf("refused guardian acts left %d guardian subjects", n)
		}
		if n := f.conCount(`SELECT COUNT(*) FROM consent_events WHERE subject_id = ?`, child.SubjectID); n != 1 {
			t.Fatalf("refused acts left consent events: %d, want only the registration's", n)
		}

		res := f.conActOK(child.Token, sc, consent.Agree, "by", "guardian", "guardian", guardian)
		ev := res.Event
		if ev.ActedBy != consent.ByGuardian || ev.GuardianRef == "" || ev.GuardianRef == child.SubjectID || ev.Relationship != "parent" {
			t.Fatalf("guardian consent event: %+v", ev)
		}
		rc := f.conVerify(res.Receipt, "guardian consent receipt")
		checkGuardian := func(rc *receipt.Receipt, what string) {
			t.Helper()
			g := rc.Guardian
			if g == nil || g.Relationship != "parent" || g.SubjectRef != ev.GuardianRef || !strings.Contains(g.NameMasked, "*") ||
				strings.Contains(g.NameMasked, "明远") || g.NameMasked == gName {
				t.Errorf("%s: guardian %+v", what, g)
			}
			if rc.PIIPrincipalID != child.SubjectID || rc.Event != receipt.EventAgree || rc.ConsentReceiptID != ev.ID {
				t.Errorf("%s: %+v", what, rc)
			}
		}
		checkGuardian(rc, "the receipt of the guardian's consent")
		if bytes.Contains(res.Receipt, []byte(gName)) || bytes.Contains(res.Receipt, []byte(gID)) {
			t.Error("the receipt holds the guardian's name or ID number")
		}
		if n := guardians(); n != 1 {
			t.Errorf("%d guardian subjects, want 1", n)
		}
		var kind string
		if err := f.Core.DB.QueryRow(context.Background(), `SELECT kind FROM subjects WHERE id = ?`, ev.GuardianRef).Scan(&kind); err != nil || kind != "guardian" {
			t.Errorf("guardian_ref names subject kind %q (%v), want a guardian", kind, err)
		}
		var actedBy, ref, rel string
		if err := f.Core.DB.QueryRow(context.Background(), `SELECT acted_by, guardian_ref, relationship FROM consent_events WHERE id = ?`, ev.ID).
			Scan(&actedBy, &ref, &rel); err != nil || actedBy != "guardian" || ref != ev.GuardianRef || rel != "parent" {
			t.Errorf("stored event: %q %q %q %v", actedBy, ref, rel, err)
		}
		if c, ok := f.conStates(child.Token).of(sc); !ok || c.State != string(policy.Granted) {
			t.Errorf("state after the guardian's consent: %+v", c)
		}
		if es := f.entries("consent.agree", func(e audit.Entry) bool { return e.Subject == child.SubjectID && e.Detail["acted_by"] == "guardian" }); len(es) != 1 ||
			es[0].Detail["guardian_ref"] != ev.GuardianRef || es[0].Detail["relationship"] != "parent" {
			t.Errorf("consent.agree audit entries by the guardian: %+v", es)
		}
		// The event list and the receipt signed again on request.
		r := f.do("GET", "/v1/me/consents/events", child.Token, nil)
		f.ok(r, http.StatusOK, "list consent events")
		var evs struct {
			Events []consent.Event `json:"events"`
		}
		r.Decode(t, &evs)
		if i := slices.IndexFunc(evs.Events, func(e consent.Event) bool { return e.ID == ev.ID }); i < 0 || evs.Events[i].ActedBy != "guardian" ||
			evs.Events[i].GuardianRef != ev.GuardianRef || evs.Events[i].Relationship != "parent" {
			t.Errorf("consent events: %s", r.Body)
		}
		r = f.do("GET", "/v1/me/consents/events/"+ev.ID+"/receipt", child.Token, nil)
		f.ok(r, http.StatusOK, "the guardian consent's receipt again")
		if again, err := receipt.Verify(r.Body, f.conLookup()); err != nil {
			t.Errorf("the receipt file from the events endpoint: %v", err)
		} else {
			checkGuardian(again, "the receipt file from the events endpoint")
		}
		// The child cannot withdraw alone; the guardian can.
		f.fails(f.conWithdraw(child.Token, sc), http.StatusForbidden, "consent_required", "guardian", "guardian_required", "a 13-year-old withdraws alone")
		r = f.conWithdraw(child.Token, sc, "by", "guardian", "guardian", guardian)
		f.ok(r, http.StatusOK, "the guardian withdraws")
		var wd conActResp
		r.Decode(t, &wd)
		if wd.Event.Event != consent.Withdraw || wd.Event.ActedBy != "guardian" {
			t.Errorf("the guardian's withdrawal: %s", r.Body)
		}

		// 15: the minor's own consent counts, and so does a guardian's.
		teen := f.worker()
		f.conProfile(teen.Token, "birth_month", teenMonth)
		if res := f.conActOK(teen.Token, sc, consent.Agree); res.Event.ActedBy != consent.BySubject || res.Event.GuardianRef != "" {
			t.Errorf("a 15-year-old's own consent: %+v", res.Event)
		}
		if res := f.conActOK(teen.Token, "function:marketing", consent.Agree, "by", "guardian", "guardian", guardian); res.Event.ActedBy != consent.ByGuardian {
			t.Errorf("a 15-year-old's guardian's consent: %+v", res.Event)
		}
		// An adult consents for themselves only, as does someone of unknown age.
		adult := f.worker()
		f.conProfile(adult.Token, "birth_month", adultMonth)
		f.fails(f.conAct(adult.Token, sc, consent.Agree, "by", "guardian", "guardian", guardian), http.StatusForbidden, "forbidden", "by", "",
			"a guardian's consent for an adult")
		f.conActOK(adult.Token, sc, consent.Agree)
		unknown := f.worker()
		f.fails(f.conAct(unknown.Token, sc, consent.Agree, "by", "guardian", "guardian", guardian), http.StatusForbidden, "forbidden", "by", "",
			"a guardian's consent for someone of unknown age")

		// The guardian's name and ID number rest nowhere in clear: not in
		// the database files (or any row of either PostgreSQL schema), not
		// in the audit trail, not in the log.
		var hay [][]byte
		if dbURL == "" {
			for _, name := range []string{"gigvault.db", "gigvault.db-wal", "keys.db", "keys.db-wal"} {
				b, err := os.ReadFile(filepath.Join(dataDir, name))
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				hay = append(hay, b)
			}
		} else {
			for _, u := range []string{dbURL, kmsURL(t, dbURL)} {
				dump, _ := testenv.DumpSchema(t, u)
				hay = append(hay, dump)
			}
		}
		// Positive control: the guardian_ref is kept in clear.
		seen := false
		for _, h := range hay {
			seen = seen || bytes.Contains(h, []byte(ev.GuardianRef))
		}
		if !seen {
			t.Fatal("the scan does not see stored rows: the guardian_ref was not found")
		}
		for _, e := range f.Entries(audit.Filter{}) {
			b, _ := json.Marshal(e)
			hay = append(hay, b)
		}
		hay = append(hay, []byte(f.LogText()))
		for _, c := range []string{gName, gID, minorID, gID[:14]} {
			for i, h := range hay {
				if bytes.Contains(h, []byte(c)) {
					t.Errorf("the guardian's %.3s… found in clear (source %d)", c, i)
				}
			}
		}
		f.finish()
	})
}

// --------------------------------------------------------------- 4. CON-7

// After a refusal or a withdrawal the same scope is not prompted for 48
// hours: the API says when it may be (prompt_allowed_at, Retry-After);
// other scopes may be prompted meanwhile.
func TestFlowPromptAfterRefusal(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng testenv.Engine) {
		f := newFlow(t, eng, apitest.Options{})
		w := f.worker()
		const refused, unrelated, withdrawn = "function:marketing", "function:survey", "function:message_push"

		f.conPromptOK(w.Token, refused, "prompt before any refusal")
		res := f.conActOK(w.Token, refused, consent.Refuse)
		want := res.Event.At.Add(48 * time.Hour)
		if res.PromptAllowedAt == nil || !res.PromptAllowedAt.Equal(want) {
			t.Fatalf("refusal: prompt_allowed_at %v, want %v", res.PromptAllowedAt, want)
		}
		st := f.conStates(w.Token)
		if c, _ := st.of(refused); c.State != string(policy.Refused) || c.PromptAllowedAt == nil || !c.PromptAllowedAt.Equal(want) {
			t.Errorf("consents after the refusal: %+v", c)
		}
		if c, _ := st.of(consent.ScopePolicy); c.PromptAllowedAt != nil {
			t.Errorf("the agreed policy has prompt_allowed_at %v", c.PromptAllowedAt)
		}

		f.Clock.Advance(47 * time.Hour)
		r := f.conPrompt(w.Token, refused)
		d := f.fails(r, http.StatusConflict, "conflict", "scope", "prompt_not_allowed", "prompt 47 hours after a refusal")
		if d.Ref != want.UTC().Format(time.RFC3339) {
			t.Errorf("prompt refused with ref %q, want %q", d.Ref, want.UTC().Format(time.RFC3339))
		}
		if ra := f.retryAfter(r, "prompt inside 48 hours"); ra != 3600 {
			t.Errorf("Retry-After %d, want 3600", ra)
		}
		f.conPromptOK(w.Token, unrelated, "an unrelated scope inside the 48 hours")
		f.me(w.Token) // and the basic function keeps working
		f.Clock.Advance(time.Hour)
		f.conPromptOK(w.Token, refused, "prompt 48 hours after the refusal")
		if c, _ := f.conStates(w.Token).of(refused); c.PromptAllowedAt != nil || c.State != string(policy.Refused) {
			t.Errorf("consents 48 hours after the refusal: %+v", c)
		}

		// The same after a withdrawal.
		if res := f.conActOK(w.Token, withdrawn, consent.Agree); res.PromptAllowedAt != nil {
			t.Errorf("an agreement carries prompt_allowed_at %v", res.PromptAllowedAt)
		}
		r = f.conWithdraw(w.Token, withdrawn)
		f.ok(r, http.StatusOK, "withdraw")
		var wd conActResp
		r.Decode(t, &wd)
		want = wd.Event.At.Add(48 * time.Hour)
		if wd.Event.Event != consent.Withdraw || wd.PromptAllowedAt == nil || !wd.PromptAllowedAt.Equal(want) {
			t.Fatalf("withdrawal: %s", r.Body)
		}
		if c, _ := f.conStates(w.Token).of(withdrawn); c.State != string(policy.Withdrawn) || c.PromptAllowedAt == nil || !c.PromptAllowedAt.Equal(want) {
			t.Errorf("consents after the withdrawal: %+v", c)
		}
		f.Clock.Advance(47 * time.Hour)
		r = f.conPrompt(w.Token, withdrawn)
		if d := f.fails(r, http.StatusConflict, "conflict", "scope", "prompt_not_allowed", "prompt 47 hours after a withdrawal"); d.Ref != want.UTC().Format(time.RFC3339) {
			t.Errorf("prompt refused with ref %q, want %q", d.Ref, want.UTC().Format(time.RFC3339))
		}
		if ra := f.retryAfter(r, "prompt inside 48 hours of a withdrawal"); ra != 3600 {
			t.Errorf("Retry-After %d, want 3600", ra)
		}
		f.conPromptOK(w.Token, refused, "the first scope, long past its 48 hours")
		f.Clock.Advance(time.Hour)
		f.conPromptOK(w.Token, withdrawn, "prompt 48 hours after the withdrawal")
		f.fails(f.conPrompt(w.Token, "function:no_such_function"), http.StatusBadRequest, "invalid", "scope", "", "prompt for an unknown scope")
		f.finish()
	})
}

// --------------------------------------------------------------- 5. CON-4/5

// Consent that is pre-set, bundled, shown an outdated or another notice,
// given by someone else, or withdrawn without having been given is refused,
// and leaves no event.
func TestFlowConsentActsRefused(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng testenv.Engine) {
		f := newFlow(t, eng, apitest.Options{})
		w := f.worker()
		const sc, other = "function:marketing", "function:survey"
		n, o := f.conNotice(sc), f.conNotice(other)
		events := func() int {
			return f.conCount(`SELECT COUNT(*) FROM consent_events WHERE subject_id = ?`, w.SubjectID)
		}
		before := events()
		if before != 1 {
			t.Fatalf("%d consent events after registration, want 1", before)
		}
		post := func(body map[string]any) apitest.Response { return f.do("POST", "/v1/me/consents", w.Token, body) }

		f.fails(post(map[string]any{"scopes": []string{sc, other}, "event": "agree", "explicit": true, "policy_version": n.PolicyVersion,
			"notice_digest": n.Digest}), http.StatusBadRequest, "invalid", "scenario", "", "two scopes in one act")
		f.fails(post(map[string]any{"scope": sc, "scopes": []string{sc, other}, "event": "agree", "explicit": true, "policy_version": n.PolicyVersion,
			"notice_digest": n.Digest}), http.StatusBadRequest, "invalid", "scenario", "", "a scope and a bundle")
		f.fails(f.conAct(w.Token, sc, consent.Agree, "explicit", false), http.StatusBadRequest, "invalid", "explicit", "", "explicit: false")
		f.fails(f.conAct(w.Token, sc, consent.Agree, "explicit", nil), http.StatusBadRequest, "invalid", "explicit", "", "no explicit flag (pre-set)")
		f.fails(f.conAct(w.Token, sc, consent.Refuse, "explicit", false), http.StatusBadRequest, "invalid", "explicit", "", "an implied refusal")
		f.fails(f.conAct(w.Token, sc, consent.Agree, "notice_digest", o.Digest), http.StatusBadRequest, "invalid", "notice_digest", "notice_mismatch",
			"another scope's notice")
		f.fails(f.conAct(w.Token, sc, consent.Agree, "notice_digest", nil), http.StatusBadRequest, "invalid", "notice_digest", "notice_mismatch",
			"no notice digest")
		f.fails(f.conAct(w.Token, sc, "maybe"), http.StatusBadRequest, "invalid", "event", "", "an unknown event")
		f.fails(f.conAct(w.Token, sc, consent.Withdraw), http.StatusBadRequest, "invalid", "event", "", "a withdrawal through POST /v1/me/consents")
		f.fails(f.conAct(w.Token, sc, consent.Agree, "channel", "sms"), http.StatusBadRequest, "invalid", "channel", "", "an unknown channel")
		f.fails(f.conAct(w.Token, sc, consent.Agree, "by", "employer"), http.StatusForbidden, "forbidden", "by", "", "consent by someone else")
		f.fails(f.conAct(w.Token, sc, consent.Agree, "scope", nil), http.StatusBadRequest, "invalid", "scope", "", "no scope")
		f.fails(f.conWithdraw(w.Token, sc), http.StatusConflict, "conflict", "scope", "not_granted", "withdrawing what was never granted")
		f.fails(f.conAct(w.Token, sc, consent.Agree, "scope", "function:no_such_function"), http.StatusBadRequest, "invalid", "scope", "",
			"an unknown function")
		f.fails(f.conAct(w.Token, sc, consent.Agree, "scope", "recipient:no-such-org"), http.StatusBadRequest, "invalid", "scope", "",
			"an unknown recipient")
		f.fails(f.conAct(w.Token, sc, consent.Agree, "scope", "function:job_information_exchange"), http.StatusBadRequest, "invalid", "scope", "",
			"the basic function as a scope of its own")
		f.fails(f.do("GET", "/v1/consent/notices/function:no_such_function", "", nil), http.StatusBadRequest, "invalid", "scope", "",
			"the notice of an unknown scope")
		// Staff are neither subjects nor guardians.
		for _, role := range []policy.Role{policy.DPO, policy.Support} {
			s := f.Staff(role)
			f.fails(f.do("POST", "/v1/me/consents", s.Token, map[string]any{"scope": sc, "event": "agree", "explicit": true,
				"policy_version": n.PolicyVersion, "notice_digest": n.Digest}), http.StatusForbidden, "forbidden", "", "", string(role)+" consents")
			f.fails(f.conWithdraw(s.Token, sc), http.StatusForbidden, "forbidden", "", "", string(role)+" withdraws")
		}
		// A notice shown under a superseded version.
		dpo := f.Staff(policy.DPO)
		f.conPublish(dpo.Token, "2", false, f.Clock.Now())
		f.fails(post(map[string]any{"scope": sc, "event": "agree", "explicit": true, "policy_version": n.PolicyVersion, "notice_digest": n.Digest}),
			http.StatusConflict, "conflict", "policy_version", "policy_version_outdated", "the notice of the superseded version")

		if after := events(); after != before {
			t.Errorf("refused acts left %d consent events", after-before)
		}
		if _, ok := f.conStates(w.Token).of(sc); ok {
			t.Errorf("refused acts left a consent state for %s", sc)
		}
		// The same act, done properly, is accepted.
		res := f.conActOK(w.Token, sc, consent.Agree)
		if res.Event.PolicyVersion != "2" || res.Event.ActedBy != consent.BySubject || res.Event.Channel != "api" {
			t.Errorf("a proper agreement: %+v", res.Event)
		}
		// The evidence: the digest of the notice shown, a pseudonymised IP.
		if n2 := f.conNotice(sc); res.Event.NoticeDigest != n2.Digest || n2.Digest == n.Digest {
			t.Errorf("evidence digest %q, the version 2 notice's %q (version 1's %q)", res.Event.NoticeDigest, n2.Digest, n.Digest)
		}
		if tag, err := hex.DecodeString(res.Event.IPTag); err != nil || len(tag) != 16 {
			t.Errorf("ip_tag %q, want 16 bytes of hex", res.Event.IPTag)
		}
		if rc := f.conVerify(res.Receipt, "agreement receipt"); rc.NoticeDigest != res.Event.NoticeDigest || rc.PolicyVersion != "2" ||
			!strings.HasSuffix(rc.PolicyURL, "/public/privacy-policy/2") || rc.Channel != "api" {
			t.Errorf("agreement receipt: %+v", rc)
		}
		f.finish()
	})
}

// --------------------------------------------------------------- 6. CON-9, SHR-5

// Withdrawing consent to one employer is one call, stops that employer's
// reads at once and no other's, and returns a receipt that verifies with
// the published key and fails with any byte changed.
func TestFlowWithdrawStopsProcessing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng testenv.Engine) {
		f := newFlow(t, eng, apitest.Options{})
		a := f.conEmployer("厦门甲方人力资源有限公司")
		b := f.conEmployer("福州乙方人力资源有限公司")
		jobA := f.conJob(a.Token, "展会临时工作人员", "厦门", "event")
		jobB := f.conJob(b.Token, "超市理货员", "福州", "retail")
		w := f.worker()
		f.conResume(w.Token, map[string]any{"text": "做过展会接待和超市理货，沟通能力好。", "skills": []string{"接待"}})
		appA, appB := f.conApply(w.Token, jobA), f.conApply(w.Token, jobB)
		f.conReadOK(a.Token, appA.Application.ID, "A reads its application")
		f.conReadOK(b.Token, appB.Application.ID, "B reads its application")
		f.fails(f.conRead(b.Token, appA.Application.ID), http.StatusNotFound, "not_found", "", "", "B reads A's application")

		scopeA := consent.Scope(consent.KindRecipient, a.OrgID)
		r := f.conWithdraw(w.Token, scopeA)
		f.ok(r, http.StatusOK, "withdraw consent to A")
		var wd conActResp
		r.Decode(t, &wd)
		if wd.Event.Event != consent.Withdraw || wd.Event.Scope != scopeA || wd.Event.ActedBy != consent.BySubject {
			t.Fatalf("withdrawal: %s", r.Body)
		}
		f.conBlocked(a.Token, appA.Application.ID, "A reads after the withdrawal", scopeA)
		f.conReadOK(b.Token, appB.Application.ID, "B reads after the withdrawal from A")
		if es := f.entries("pi.decision", func(e audit.Entry) bool {
			return e.Subject == w.SubjectID && e.Outcome == "deny" && e.Detail["missing"] == scopeA
		}); len(es) != 1 {
			t.Errorf("pi.decision refusals of A's read: %d, want 1", len(es))
		}
		f.fails(f.conWithdraw(w.Token, scopeA), http.StatusConflict, "conflict", "scope", "not_granted", "withdrawing twice")

		// The receipt.
		lookup := f.conLookup()
		file := f.conReceiptFile(wd.Receipt)
		rc, err := receipt.Verify(file, lookup)
		if err != nil {
			t.Fatalf("the withdrawal's receipt: %v", err)
		}
		if rc.Event != receipt.EventWithdraw || rc.ConsentReceiptID != wd.Event.ID || rc.PIIPrincipalID != w.SubjectID ||
			rc.Services[0].Service != scopeA || rc.PolicyVersion != wd.Event.PolicyVersion || rc.NoticeDigest != wd.Event.NoticeDigest {
			t.Errorf("the withdrawal's receipt: %+v", rc)
		}
		// Any one byte changed: the file fails.
		for i := range file {
			mut := bytes.Clone(file)
			mut[i] ^= 0x01
			if _, err := receipt.Verify(mut, lookup); err == nil {
				t.Errorf("a receipt with byte %d changed (%q → %q) verifies", i, file[i], mut[i])
			}
		}
		// A change that leaves a well-formed canonical file fails on the signature.
		i := bytes.Index(file, []byte(`"notice_digest":"`)) + len(`"notice_digest":"`)
		mut := bytes.Clone(file)
		if mut[i] == 'a' {
			mut[i] = 'b'
		} else {
			mut[i] = 'a'
		}
		if _, err := receipt.Verify(mut, lookup); !errors.Is(err, receipt.ErrBadSignature) {
			t.Errorf("a receipt with one digest character changed: %v, want %v", err, receipt.ErrBadSignature)
		}
		// Another key does not verify it.
		otherKey, err := f.Core.Suite.GenerateSigner()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := receipt.Verify(file, func(string) (cryptox.Verifier, bool) { return otherKey, true }); !errors.Is(err, receipt.ErrBadSignature) {
			t.Errorf("verified with another key: %v", err)
		}

		// The worker's own act (not a prompt) gives A access again at once.
		f.conActOK(w.Token, scopeA, consent.Agree)
		f.conReadOK(a.Token, appA.Application.ID, "A reads after the worker agreed again")
		f.finish()
	})
}

// --------------------------------------------------------------- 7. SHR-1

// Every provision through the API leaves exactly one ledger row with the
// right counts; reads, refusals and exports that stay inside leave none.
func TestFlowLedgerRows(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng testenv.Engine) {
		f := newFlow(t, eng, apitest.Options{})
		rows := func() int { return f.conCount(`SELECT COUNT(*) FROM sharing_ledger`) }
		if n := rows(); n != 0 {
			t.Fatalf("%d ledger rows in a new database", n)
		}
		emp := f.conEmployer("厦门台账测试科技有限公司")
		jobID := f.conJob(emp.Token, "家教老师", "厦门", "tutoring")
		dpo, aud, op, sup := f.Staff(policy.DPO), f.Staff(policy.AuditAdmin), f.Staff(policy.DataOperator), f.Staff(policy.Support)

		// An application: one subject, one record per résumé value.
		w := f.worker()
		pay := int64(300000)
		f.conResume(w.Token, map[string]any{"text": "师范大学数学专业在读，有两年家教经验。", "expected_pay_fen": pay,
			"skills": []string{"初中数学", "高中物理"}, "education": []string{`{"school":"福建师范大学","degree":"本科"}`}})
		app := f.conApply(w.Token, jobID)
		if n := rows(); n != 1 {
			t.Fatalf("%d ledger rows after one application", n)
		}
		check := func(r sharing.Row, what string) {
			t.Helper()
			if r.ID != app.Application.LedgerID || r.Recipient != emp.OrgID || r.RecipientKind != "employer" || r.Purpose != "resume_sharing" ||
				!slices.Equal(r.Fields, []string{"education", "expected_pay", "resume_text", "skills"}) || r.SubjectN != 1 || r.Records != 5 ||
				r.LegalBasis != "consent" || r.ConsentRef != app.Application.ConsentRef || r.Actor != "worker:"+w.AccountID {
				t.Errorf("%s: %+v", what, r)
			}
		}
		mine := f.conSharing("/v1/me/sharing", w.Token)
		if len(mine) != 1 {
			t.Fatalf("own sharing record: %d rows", len(mine))
		}
		check(mine[0], "the worker's sharing record")
		for _, s := range []apitest.User{dpo, aud} {
			byOrg := f.conSharing("/v1/staff/sharing?recipient="+url.QueryEscape(emp.OrgID), s.Token)
			if len(byOrg) != 1 {
				t.Fatalf("provisions to the employer: %d rows", len(byOrg))
			}
			check(byOrg[0], "the provisions to the employer")
		}
		f.fails(f.do("GET", "/v1/staff/sharing?recipient="+url.QueryEscape(emp.OrgID), sup.Token, nil), http.StatusForbidden, "forbidden", "", "",
			"support reads the ledger")
		f.fails(f.do("GET", "/v1/staff/sharing", dpo.Token, nil), http.StatusBadRequest, "invalid", "recipient", "", "the ledger without a recipient")
		if n := f.conCount(`SELECT COUNT(*) FROM sharing_subjects WHERE ledger_id = ? AND subject_id = ?`, app.Application.LedgerID, w.SubjectID); n != 1 {
			t.Errorf("the application's row names the subject %d times", n)
		}
		// The employer's reads are not new provisions; other workers see nothing.
		f.conReadOK(emp.Token, app.Application.ID, "the employer reads")
		f.conReadOK(emp.Token, app.Application.ID, "the employer reads again")
		if n := rows(); n != 1 {
			t.Errorf("%d ledger rows after the employer's reads", n)
		}
		if other := f.conSharing("/v1/me/sharing", f.worker().Token); len(other) != 0 {
			t.Errorf("another worker's sharing record: %+v", other)
		}

		// Refused applications leave nothing: a 13-year-old's own, and one
		// with the wrong notice.
		child := f.worker()
		f.conProfile(child.Token, "birth_month", "2013-05")
		f.conResume(child.Token, map[string]any{"text": "喜欢数学，想做小老师。"})
		f.fails(f.conApplyResp(child.Token, jobID), http.StatusForbidden, "consent_required", "", "guardian_required", "a 13-year-old applies")
		f.fails(f.conApplyResp(w.Token, f.conJob(emp.Token, "英语家教", "厦门", "tutoring"), "notice_digest", strings.Repeat("0", 64)),
			http.StatusBadRequest, "invalid", "notice_digest", "notice_mismatch", "an application with another notice")
		if n := rows(); n != 1 {
			t.Errorf("%d ledger rows after refused applications, want 1", n)
		}
		if n := f.conCount(`SELECT COUNT(*) FROM applications WHERE subject_id = ?`, child.SubjectID); n != 0 {
			t.Errorf("a refused application was stored")
		}

		// A bulk export to the tax authority: one row, the subjects with
		// values, one record per value exported.
		var subs []string
		var exported []apitest.User
		values := 0
		for _, kv := range [][]string{{"name", "陈小明", "birth_month", "1990-05"}, {"name", "林美华"}, {"name", "黄志强"}, nil} {
			x := f.worker()
			subs, exported = append(subs, x.SubjectID), append(exported, x)
			if kv != nil {
				f.conProfile(x.Token, kv...)
				values++ // one name each; the birth month is not the tax authority's to receive
			}
		}
		exportRows := func(r apitest.Response) (withValues, n int) {
			var out struct {
				Rows []struct {
					Subject string    `json:"subject"`
					Values  []meValue `json:"values"`
					Error   string    `json:"error"`
				} `json:"rows"`
			}
			r.Decode(t, &out)
			for _, row := range out.Rows {
				if len(row.Values) > 0 {
					withValues++
				}
				n += len(row.Values)
			}
			return withValues, n
		}
		// Fields the registry does not declare for the recipient are refused.
		f.fails(f.bulk(op.Token, "export", subs, []string{"name", "birth_month"}, "purpose", "legal_compliance", "reason", "代扣代缴个人所得税申报", "recipient", "tax_authority"),
			http.StatusForbidden, "forbidden", "fields", "recipient_fields_not_declared", "birth_month to the tax authority")
		fields := []string{"name"}
		r := f.bulk(op.Token, "export", subs, fields, "purpose", "legal_compliance", "reason", "代扣代缴个人所得税申报", "recipient", "tax_authority")
		f.ok(r, http.StatusOK, "export to the tax authority")
		if ws, n := exportRows(r); ws != 3 || n != values {
			t.Fatalf("export: %d subjects with %d values, want 3 with %d: %s", ws, n, values, r.Body)
		}
		if n := rows(); n != 2 {
			t.Fatalf("%d ledger rows after the export, want 2", n)
		}
		tax := f.conSharing("/v1/staff/sharing?recipient=tax_authority", aud.Token)
		if len(tax) != 1 {
			t.Fatalf("provisions to the tax authority: %+v", tax)
		}
		if x := tax[0]; x.RecipientKind != "recipient" || x.Purpose != "legal_compliance" || !slices.Equal(x.Fields, []string{"name"}) ||
			x.SubjectN != 3 || x.Records != values || x.LegalBasis != "legal_obligation" || x.ConsentRef != "" || x.Actor != "staff:"+op.AccountID {
			t.Errorf("the export's row: %+v", x)
		}
		if n := f.conCount(`SELECT COUNT(*) FROM sharing_subjects WHERE ledger_id = ?`, tax[0].ID); n != 3 {
			t.Errorf("the export's row names %d subjects, want 3", n)
		}
		if got := f.conSharing("/v1/me/sharing", exported[3].Token); len(got) != 0 {
			t.Errorf("a worker with nothing exported has sharing rows: %+v", got)
		}
		// A download to the same recipient is a provision too.
		r = f.bulk(op.Token, "download", subs, fields, "purpose", "legal_compliance", "reason", "代扣代缴个人所得税申报", "recipient", "tax_authority")
		f.ok(r, http.StatusOK, "download for the tax authority")
		if n := rows(); n != 3 {
			t.Errorf("%d ledger rows after the download, want 3", n)
		}
		// An export without a recipient stays inside: no row.
		f.ok(f.bulk(op.Token, "export", subs, fields, "purpose", "legal_compliance", "reason", "内部核对"), http.StatusOK, "an export without recipient")
		if n := rows(); n != 3 {
			t.Errorf("%d ledger rows after an export without recipient, want 3", n)
		}
		// Without consent to the recipient nothing goes out and nothing is recorded.
		r = f.bulk(op.Token, "export", subs, []string{"name"}, "purpose", "tax_withholding", "reason", "个税预扣核对", "recipient", "tax_authority")
		f.ok(r, http.StatusOK, "an export to a recipient nobody agreed to")
		if ws, _ := exportRows(r); ws != 0 || !contains(r.Body, "consent_required") {
			t.Errorf("an export without consent: %s", r.Body)
		}
		if n := rows(); n != 3 {
			t.Errorf("%d ledger rows after a refused export, want 3", n)
		}
		f.fails(f.bulk(op.Token, "export", subs, fields, "purpose", "legal_compliance", "reason", "核对", "recipient", "no_such_recipient"),
			http.StatusBadRequest, "invalid", "recipient", "", "an export to an unregistered recipient")
		// One worker agrees to the recipient: one row, one subject, on consent.
		first := exported[0]
		f.conActOK(first.Token, "function:tax_withholding", consent.Agree)
		f.conActOK(first.Token, "recipient:tax_authority", consent.Agree)
		r = f.bulk(op.Token, "export", subs, []string{"name"}, "purpose", "tax_withholding", "reason", "个税预扣核对", "recipient", "tax_authority")
		f.ok(r, http.StatusOK, "an export to a recipient one worker agreed to")
		if ws, n := exportRows(r); ws != 1 || n != 1 {
			t.Errorf("export after one agreement: %s", r.Body)
		}
		if n := rows(); n != 4 {
			t.Fatalf("%d ledger rows after the consented export, want 4", n)
		}
		tax = f.conSharing("/v1/staff/sharing?recipient=tax_authority", dpo.Token)
		if len(tax) != 3 || tax[0].SubjectN != 1 || tax[0].Records != 1 || tax[0].LegalBasis != "consent" || tax[0].ConsentRef == "" ||
			tax[0].Purpose != "tax_withholding" {
			t.Errorf("the consented export's row: %+v", tax[0])
		}
		if got := f.conSharing("/v1/me/sharing", first.Token); len(got) != 3 {
			t.Errorf("the agreeing worker's sharing record: %d rows, want 3 (export, download, consented export)", len(got))
		}
		f.finish()
	})
}

// --------------------------------------------------------------- 8. CON-11

// Personalised recommendations are off by default, need the switch and the
// consent, use only the PI types chosen, are labelled; switching them off
// offers deleting the profile behind them, and the deletion deletes.
func TestFlowPersonalisation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng testenv.Engine) {
		f := newFlow(t, eng, apitest.Options{})
		emp := f.conEmployer("厦门推荐测试餐饮有限公司")
		xmCatering := f.conJob(emp.Token, "餐厅传菜员", "厦门", "catering")
		xmDelivery := f.conJob(emp.Token, "外卖骑手", "厦门", "delivery")
		fzCatering := f.conJob(emp.Token, "奶茶店店员", "福州", "catering")
		w := f.worker()
		type recs struct {
			Jobs         []jobs.Job `json:"jobs"`
			Personalised bool       `json:"personalised"`
			LabelZh      string     `json:"label_zh"`
			Label        string     `json:"label"`
			Because      string     `json:"not_personalised_because"`
			Basis        []string   `json:"basis"`
		}
		recommend := func(query, what string) recs {
			t.Helper()
			r := f.do("GET", "/v1/jobs/recommended"+query, w.Token, nil)
			f.ok(r, http.StatusOK, what)
			var out recs
			r.Decode(t, &out)
			return out
		}
		ids := func(js []jobs.Job) []string {
			var out []string
			for _, j := range js {
				out = append(out, j.ID)
			}
			slices.Sort(out)
			return out
		}
		all := slices.Sorted(slices.Values([]string{xmCatering, xmDelivery, fzCatering}))
		notPersonalised := func(rc recs, because, what string) {
			t.Helper()
			if rc.Personalised || rc.Because != because || rc.LabelZh == "个性化推荐" || rc.Basis != nil || !slices.Equal(ids(rc.Jobs), all) {
				t.Errorf("%s: %+v, want not personalised because %s, every job", what, rc, because)
			}
		}

		notPersonalised(recommend("", "default"), "personalisation_off", "by default")
		r := f.do("GET", "/v1/me/personalisation", w.Token, nil)
		f.ok(r, http.StatusOK, "GET /v1/me/personalisation")
		if m := r.JSON(); m["personalisation"].(map[string]any)["enabled"] != false {
			t.Errorf("personalisation by default: %s", r.Body)
		}
		f.fails(f.do("PUT", "/v1/me/personalisation", w.Token, map[string]any{"enabled": true, "fields": []string{"mobile"}}),
			http.StatusBadRequest, "invalid", "fields", "", "personalising on the mobile number")
		f.ok(f.do("PUT", "/v1/me/personalisation", w.Token, map[string]any{"enabled": true, "fields": []string{"city"}}), http.StatusOK,
			"switch personalisation on")
		notPersonalised(recommend("", "switched on, no consent"), "consent_required", "switched on without consent")

		n := f.conNotice("function:personalised_recommendation")
		f.conActOK(w.Token, n.Scope, consent.Agree)
		if len(n.Sensitive) > 0 {
			f.conActOK(w.Token, "sensitive:personalised_recommendation", consent.Agree)
		}
		f.conProfile(w.Token, "city", "厦门", "job_intent", "catering")
		rc := recommend("", "personalised on city")
		if !rc.Personalised || rc.LabelZh != "个性化推荐" || !slices.Equal(rc.Basis, []string{"city"}) ||
			!slices.Equal(ids(rc.Jobs), slices.Sorted(slices.Values([]string{xmCatering, xmDelivery}))) {
			t.Errorf("personalised on city: %+v", rc)
		}
		for _, j := range rc.Jobs {
			if j.City != "厦门" {
				t.Errorf("a job in %s recommended on the city 厦门", j.City)
			}
		}
		notPersonalised(recommend("?personalised=false", "opt out per request"), "not_requested", "?personalised=false")
		// Only the PI types chosen: job intent, not the city.
		f.ok(f.do("PUT", "/v1/me/personalisation", w.Token, map[string]any{"enabled": true, "fields": []string{"job_intent"}}), http.StatusOK,
			"personalise on job intent only")
		if rc := recommend("", "personalised on job intent"); !rc.Personalised || !slices.Equal(rc.Basis, []string{"job_intent"}) ||
			!slices.Equal(ids(rc.Jobs), slices.Sorted(slices.Values([]string{xmCatering, fzCatering}))) {
			t.Errorf("personalised on job intent only: %+v", rc)
		}
		// Withdrawing the consent turns it off at once.
		f.ok(f.conWithdraw(w.Token, n.Scope), http.StatusOK, "withdraw personalised_recommendation")
		notPersonalised(recommend("", "after withdrawal"), "consent_required", "after the withdrawal")

		// The profile behind recommendations, as recorded about the worker.
		if err := f.Core.Vault.Put(context.Background(), vault.Actor{ID: "test:setup", Channel: "test"}, "personalised_recommendation", w.SubjectID,
			vault.Item{Field: "search_keyword", Value: "周末兼职"}, vault.Item{Field: "interest_tags", Value: "餐饮"}); err != nil {
			t.Fatal(err)
		}
		r = f.do("PUT", "/v1/me/personalisation", w.Token, map[string]any{"enabled": false})
		f.ok(r, http.StatusOK, "switch personalisation off")
		var off struct {
			Personalisation consent.Personalisation `json:"personalisation"`
			Offer           struct {
				Method string   `json:"method"`
				Href   string   `json:"href"`
				Fields []string `json:"fields"`
			} `json:"offer_delete"`
		}
		r.Decode(t, &off)
		if off.Personalisation.Enabled || off.Offer.Method != "DELETE" || off.Offer.Href != "/v1/me/personalisation/profile" ||
			!slices.Equal(off.Offer.Fields, consent.ProfileFields) {
			t.Errorf("switching off: %s", r.Body)
		}
		notPersonalised(recommend("", "switched off"), "personalisation_off", "switched off")
		r = f.do("DELETE", "/v1/me/personalisation/profile", w.Token, nil)
		f.ok(r, http.StatusOK, "delete the profile")
		if m := r.JSON(); m["deleted_values"] != float64(2) {
			t.Errorf("profile deletion: %s", r.Body)
		}
		es := f.entries("pi.delete", func(e audit.Entry) bool { return e.Subject == w.SubjectID })
		if len(es) != 1 || es[0].Detail["values"] != "2" || es[0].Actor != "worker:"+w.AccountID ||
			!slices.Equal(es[0].Fields, slices.Sorted(slices.Values(consent.ProfileFields))) {
			t.Errorf("pi.delete entries: %+v", es)
		}
		var left []string
		for _, v := range f.me(w.Token).Values {
			left = append(left, v.Field)
		}
		slices.Sort(left)
		if !slices.Equal(left, []string{"city", "job_intent", "mobile"}) {
			t.Errorf("after deleting the profile the worker holds %v", left)
		}
		f.finish()
	})
}

// --------------------------------------------------------------- 9. CON-1, CON-10, SHR-2

// The policy (HTML and JSON, current and by version), the children's
// policy and the two lists are public, stable and parse; a draft is not
// published.
func TestPublicDocuments(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng testenv.Engine) {
		f := newFlow(t, eng, apitest.Options{})
		get := func(path, contentType string) []byte {
			t.Helper()
			r := f.do("GET", path, "", nil)
			f.ok(r, http.StatusOK, "GET "+path+" without a token")
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, contentType) {
				t.Errorf("%s: Content-Type %q", path, ct)
			}
			again := f.do("GET", path, "", nil)
			if !bytes.Equal(r.Body, again.Body) {
				t.Errorf("%s is not stable between two reads", path)
			}
			if contentType == "application/json" && !json.Valid(r.Body) {
				t.Errorf("%s is not JSON", path)
			}
			return r.Body
		}
		const operator = "福建坤慧网络科技有限公司"
		html := get("/public/privacy-policy", "text/html")
		for _, want := range []string{operator, "<strong><u>", "</u></strong>"} {
			if !bytes.Contains(html, []byte(want)) {
				t.Errorf("the policy HTML lacks %q", want)
			}
		}
		var pol map[string]any
		if err := json.Unmarshal(get("/public/privacy-policy.json", "application/json"), &pol); err != nil {
			t.Fatal(err)
		}
		if pol["version"] != "1" || !strings.Contains(fmt.Sprint(pol["operator"]), operator) {
			t.Errorf("the policy JSON: version %v, operator %v", pol["version"], pol["operator"])
		}
		v1HTML := get("/public/privacy-policy/1", "text/html")
		if !bytes.Equal(v1HTML, html) {
			t.Error("/public/privacy-policy/1 differs from the current policy, version 1")
		}
		v1JSON := get("/public/privacy-policy/1.json", "application/json")
		// Asking for one version as JSON does not change how the next
		// request for a version is answered.
		if r := f.do("GET", "/public/privacy-policy/1", "", nil); !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !bytes.Equal(r.Body, v1HTML) {
			t.Errorf("BUG: after a request for /public/privacy-policy/1.json, /public/privacy-policy/1 answers %q, not the HTML it answered before",
				r.Header.Get("Content-Type"))
		}
		kids := get("/public/children-policy", "text/html")
		if !bytes.Contains(kids, []byte("儿童")) || !bytes.Contains(kids, []byte(operator)) {
			t.Error("the children's policy HTML lacks 儿童 or the operator")
		}
		get("/public/children-policy.json", "application/json")
		cat := f.Core.Catalog
		collected := get("/public/pi-collected", "text/html")
		collectedJSON := get("/public/pi-collected.json", "application/json")
		for _, field := range []string{"mobile", "resume_text", "id_number"} {
			cf, ok := cat.Field(field)
			if !ok {
				t.Fatalf("no %s in the catalog", field)
			}
			if !bytes.Contains(collected, []byte(cf.Zh)) || !bytes.Contains(collectedJSON, []byte(cf.Zh)) {
				t.Errorf("the PI-collected list lacks %s (%s)", field, cf.Zh)
			}
		}
		if !bytes.Contains(collected, []byte("<strong><u>")) && !bytes.Contains(collected, []byte("<u>")) && !bytes.Contains(collected, []byte("<strong>")) {
			t.Error("the PI-collected list does not mark sensitive PI")
		}
		sharingHTML := get("/public/third-party-sharing", "text/html")
		sharingJSON := get("/public/third-party-sharing.json", "application/json")
		for _, id := range []string{"tax_authority", "amap"} {
			e, ok := f.Core.ThirdParty.Entry(id)
			if !ok {
				t.Fatalf("no %s in the registry", id)
			}
			if !bytes.Contains(sharingHTML, []byte(e.Name)) || !bytes.Contains(sharingJSON, []byte(e.Name)) {
				t.Errorf("the sharing list lacks %s (%s)", id, e.Name)
			}
		}
		keysBody := get("/public/receipt-keys", "application/json")
		var ks struct {
			Keys []httpapi.ReceiptKey `json:"keys"`
		}
		if err := json.Unmarshal(keysBody, &ks); err != nil || len(ks.Keys) != 1 {
			t.Fatalf("receipt keys: %s", keysBody)
		}
		kid, pub := f.Core.Keys.ReceiptPublicKey()
		if ks.Keys[0].ID != kid || ks.Keys[0].Public != hex.EncodeToString(pub) {
			t.Errorf("published receipt key %+v, the key store's %s", ks.Keys[0], kid)
		}
		f.conLookup() // the kid is derived from the key

		// A draft is not published; a published version stays as it was.
		dpo := f.Staff(policy.DPO)
		r := f.do("POST", "/v1/staff/policies", dpo.Token, map[string]any{"version": "2-draft", "effective_at": f.Clock.Now(),
			"summary_zh": "草稿", "summary": "draft", "material": false})
		f.ok(r, http.StatusCreated, "draft")
		for _, p := range []string{"/public/privacy-policy/2-draft", "/public/privacy-policy/2-draft.json", "/public/privacy-policy/no-such-version"} {
			f.fails(f.do("GET", p, "", nil), http.StatusNotFound, "not_found", "", "", p)
		}
		if n := f.conNotice(consent.ScopePolicy); n.PolicyVersion != "1" {
			t.Errorf("a draft became the notice's version: %q", n.PolicyVersion)
		}
		f.conPublish(dpo.Token, "3", false, f.Clock.Now())
		var cur map[string]any
		if err := json.Unmarshal(get("/public/privacy-policy.json", "application/json"), &cur); err != nil || cur["version"] != "3" {
			t.Errorf("the current policy after publishing 3: %v %v", cur["version"], err)
		}
		if !bytes.Equal(get("/public/privacy-policy/1.json", "application/json"), v1JSON) ||
			!bytes.Equal(get("/public/privacy-policy/1", "text/html"), v1HTML) {
			t.Error("version 1 changed when version 3 was published")
		}
		f.finish()
	})
}

// ------------------------------------------------------- SHR-2, SHR-5 (gap)

// A provision to a third party rests on what the registry — and so the
// public sharing list — declares for it. An export to an advertising SDK
// whose entry declares no purpose and not the name field, "for legal
// compliance", of a worker who withdrew their consent to that SDK, is
// neither a legal obligation nor consented to: nothing may go out and no
// ledger row may record it as legal_obligation.
func TestFlowExportOutsideRecipientPurposes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng testenv.Engine) {
		f := newFlow(t, eng, apitest.Options{})
		const sdk = "baidu_ads"
		e, ok := f.Core.ThirdParty.Entry(sdk)
		if !ok || slices.Contains(e.Purposes, "legal_compliance") || slices.Contains(e.Fields, "name") {
			t.Fatalf("test premise: %s declares %v for %v", sdk, e.Purposes, e.Fields)
		}
		w := f.worker()
		f.conProfile(w.Token, "name", "陈小明")
		scope := consent.Scope(consent.KindProcessor, sdk)
		f.conActOK(w.Token, scope, consent.Agree)
		f.ok(f.conWithdraw(w.Token, scope), http.StatusOK, "withdraw consent to the SDK")
		op := f.Staff(policy.DataOperator)
		// The consent check itself works for a purpose that needs consent.
		r := f.bulk(op.Token, "export", []string{w.SubjectID}, []string{"name"}, "purpose", "customer_service", "reason", "客服回访", "recipient", sdk)
		if r.Status == http.StatusOK && (!contains(r.Body, "consent_required") || contains(r.Body, `"values"`)) {
			t.Errorf("an export to %s for customer_service after the withdrawal: %s", sdk, r.Body)
		}
		r = f.bulk(op.Token, "export", []string{w.SubjectID}, []string{"name"}, "purpose", "legal_compliance", "reason", "合规核查", "recipient", sdk)
		if r.Status == http.StatusOK && contains(r.Body, `"values"`) {
			t.Errorf("BUG: the name of a worker who withdrew consent to %s was exported to it under legal_compliance, a purpose its registry entry does not declare: %s",
				sdk, r.Body)
		}
		if n := f.conCount(`SELECT COUNT(*) FROM sharing_ledger WHERE recipient = ?`, sdk); n != 0 {
			t.Errorf("BUG: %d ledger rows record a provision to %s (legal_basis legal_obligation)", n, sdk)
		}
		f.finish()
	})
}

// ------------------------------------------------------- CON-5, CAT-2 (gap)

// A scope offered for refusal means something: once a worker refuses every
// function scope, the decision point grants none of those functions'
// purposes except the basic function's (covered by the policy) and the
// legal-basis exceptions. Support reading a worker's data "for customer
// service" after the worker refused function:customer_service is refused.
func TestFlowRefusedScopeStopsItsPurposes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng testenv.Engine) {
		f := newFlow(t, eng, apitest.Options{})
		w := f.worker()
		basic := f.Core.Functions.Basic()
		if len(basic) != 1 {
			t.Fatalf("%d basic functions", len(basic))
		}
		purposes := map[string]string{} // purpose → a refused function scope serving it
		for _, sc := range f.conStates(w.Token).Scopes {
			if kind, _ := consent.SplitScope(sc); kind != consent.KindFunction {
				continue
			}
			for _, p := range f.conNotice(sc).Purposes {
				purposes[p] = sc
			}
			f.conActOK(w.Token, sc, consent.Refuse)
		}
		if len(purposes) < 10 {
			t.Fatalf("only %d purposes behind the function scopes", len(purposes))
		}
		for _, p := range conSortedKeys(purposes) {
			if slices.Contains(basic[0].Purposes, p) {
				continue
			}
			a, err := f.Core.Consent.Check(context.Background(), consent.Query{Subject: w.SubjectID, Purpose: p})
			if err != nil {
				t.Fatal(err)
			}
			if a.State == policy.Granted {
				t.Errorf("BUG: purpose %s is granted although the worker refused %s, and the basic function (%s) does not serve it",
					p, purposes[p], basic[0].ID)
			}
		}
		// Customer service rests on the contract (CON-13), so it is not
		// offered for refusal, and a read for it records that exception.
		if slices.Contains(f.conStates(w.Token).Scopes, "function:customer_service") {
			t.Error("customer service rests on the contract, yet is offered as a scope to refuse")
		}
		s := f.Staff(policy.Support)
		r := f.do("GET", "/v1/staff/subjects/"+w.SubjectID+"?purpose=customer_service", s.Token, nil)
		f.ok(r, http.StatusOK, "support reads for customer service under the contract exception")
		found := false
		for _, e := range f.Entries(audit.Filter{Action: "pi.list", Subject: w.SubjectID}) {
			if e.Purpose == "customer_service" && e.Detail["exception"] == "contract" {
				found = true
			}
		}
		if !found {
			t.Error("the customer-service read does not record its legal-basis exception")
		}
		f.finish()
	})
}

func conSortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
