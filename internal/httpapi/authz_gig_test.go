package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gigvault/internal/apitest"
	"gigvault/internal/format"
)

// The rows of the rest of the gig platform (issue 5): search history,
// nearby jobs, the application lifecycle and its calendar, organisation
// profiles and their review, identity verification, electronic contracts,
// the platform key's unsealing and payout batches. They run after the
// basic function's rows, in this order: later rows use what earlier ones
// made (the identity verified, the template, the contract offered and
// signed, the batch uploaded).

// gigState is what the issue-5 rows share.
type gigState struct {
	member2   apitest.User // a second member of the employer's organisation: uploads the batch the employer decides
	orgUnver  string       // an organisation staff have not verified yet
	jobNear   string       // a job with a workplace position and a time slot
	appAcc    string       // worker A's accepted application to a job without slots: check-in, then completion
	appSlot   string       // worker A's accepted application to jobNear: interview, contact, contract
	appReveal string       // worker C's application, contact accepted: the employer's one reveal
	shares    []string     // the platform key's shares, 2 of 3 unseal it
	officer2  apitest.User // a second key officer, who completes the unsealing

	// Worker A's synthetic identity, verified at 4 factors by the matrix.
	idName, idNumber, idCard string

	feed     string // the calendar subscription path worker A made
	template string // the contract template the staff made
	contract string // the contract offered to worker A
	file     string // the contract file worker A signed
	batch    string // the batch the employer uploaded
	batch2   string // the batch the second member uploaded, decided by the employer
}

// gigUsers signs in the people of the issue-5 rows (before staff sign in,
// as the clock moves two minutes each).
func (f *fixture) gigUsers(t *testing.T, emp apitest.User) {
	t.Helper()
	e := f.e
	m := e.Mobile()
	if r := e.Do("POST", "/v1/employer/members", emp.Token, map[string]any{"mobile": m}); r.Status != http.StatusAccepted {
		t.Fatalf("invite a second member: %d %s", r.Status, short(r.Body))
	}
	e.Clock.Advance(2 * time.Minute)
	r := e.Do("POST", "/v1/auth/sms/login", "", map[string]any{"mobile": m, "code": e.SendCode(m), "agree_policy": true, "register_as": "employer"})
	var res struct {
		Token   string
		Account struct {
			ID    string
			OrgID string `json:"org_id"`
		}
	}
	r.Decode(t, &res)
	if r.Status != http.StatusCreated || res.Account.OrgID != emp.OrgID {
		t.Fatalf("the second member joins: %d %s", r.Status, short(r.Body))
	}
	f.gig.member2 = apitest.User{Token: res.Token, AccountID: res.Account.ID, OrgID: res.Account.OrgID, Kind: "employer", Mobile: m}
	f.gig.orgUnver = e.UnverifiedEmployer("福州闽江餐饮管理有限公司", uscc(t, "91350100M000200Y4")).OrgID
}

// gigSetup prepares the applications, the platform key and worker A's
// identity.
func (f *fixture) gigSetup(t *testing.T, applicant *principal) {
	t.Helper()
	e, a, emp := f.e, f.by[worker], f.by[employer]
	accept := func(app string) {
		if r := e.Do("POST", "/v1/employer/applications/"+app+"/decision", emp.u.Token, map[string]any{"status": "accepted"}); r.Status != http.StatusOK {
			t.Fatalf("accept %s: %d %s", app, r.Status, short(r.Body))
		}
	}
	f.gig.appAcc = f.applies(t, a, f.postJob(t, "展会搬运工"))
	accept(f.gig.appAcc)

	start := e.Clock.Now().Add(5 * 24 * time.Hour).Truncate(time.Hour)
	body := jobBody("商场促销员")
	body["category"], body["place"], body["lat"], body["lng"], body["head_count"] = "promotion", "福州市鼓楼区五四路", 26.0885, 119.3040, 3
	body["slots"] = []map[string]any{{"start": start.Format(time.RFC3339), "end": start.Add(4 * time.Hour).Format(time.RFC3339)}}
	r := e.Do("POST", "/v1/employer/jobs", emp.u.Token, body)
	var out struct{ Job struct{ ID string } }
	r.Decode(t, &out)
	if r.Status != http.StatusCreated {
		t.Fatalf("post a job with a place and a slot: %d %s", r.Status, short(r.Body))
	}
	f.gig.jobNear = out.Job.ID
	f.gig.appSlot = f.applies(t, a, f.gig.jobNear)
	accept(f.gig.appSlot)

	f.gig.appReveal = f.applies(t, applicant, f.postJob(t, "写字楼保洁员"))
	if r := e.Do("POST", "/v1/me/applications/"+f.gig.appReveal+"/accept-contact", applicant.u.Token, nil); r.Status != http.StatusOK {
		t.Fatalf("worker C accepts contact: %d %s", r.Status, short(r.Body))
	}

	shares, _, err := e.Core.Keys.InitPlatform(context.Background(), 3, 2)
	if err != nil {
		t.Fatalf("platform key: %v", err)
	}
	for _, sh := range shares {
		f.gig.shares = append(f.gig.shares, sh.String())
		sh.Wipe()
	}
	f.gig.idName, f.gig.idNumber, f.gig.idCard = syntheticIdentity(t)
}

// syntheticIdentity is a made-up person the sandbox verifier passes: an ID
// number outside its fixture whose digest falls on "pass", and a card with
// a valid Luhn digit.
func syntheticIdentity(t *testing.T) (name, id, card string) {
	t.Helper()
	for n := 100; n < 1000; n++ {
		body := fmt.Sprintf("35010219950615%03d", n)
		c, ok := format.IDCheckChar(body)
		if !ok {
			t.Fatal("ID check character")
		}
		if id = body + string(c); sha256.Sum256([]byte(id))[0] >= 26 {
			break
		}
	}
	cb := "622202350100001234"
	d, ok := format.LuhnCheckDigit(cb)
	if !ok {
		t.Fatal("Luhn check digit")
	}
	return "陈晓明", id, cb + string(d)
}

// agree has p agree to each scope, with the notice shown.
func (f *fixture) agree(t *testing.T, p *principal, scopes ...string) {
	t.Helper()
	for _, sc := range scopes {
		if r := f.e.Do("POST", "/v1/me/consents", p.u.Token, f.consentBody(t, sc, "agree")); r.Status != http.StatusCreated {
			t.Fatalf("%s agrees to %s: %d %s", p.name, sc, r.Status, short(r.Body))
		}
	}
}

// answerHas: the answer contains every string.
func answerHas(what string, subs ...func() string) func(t *testing.T, p *principal, r apitest.Response) {
	return func(t *testing.T, p *principal, r apitest.Response) {
		t.Helper()
		for _, s := range subs {
			if v := s(); v == "" || !strings.Contains(string(r.Body), v) {
				t.Errorf("%s: the answer to %s lacks %q: %s", what, p.name, v, short(r.Body))
			}
		}
	}
}

func fixedText(s string) func() string { return func() string { return s } }

const payoutCSV = "worker,amount_fen,memo\n%s,%d,%s\n"

func (f *fixture) gigRows() []row {
	g := &f.gig
	is := func(ct string) func(t *testing.T, _ *principal, r apitest.Response) {
		return func(t *testing.T, _ *principal, r apitest.Response) {
			t.Helper()
			if got := r.Header.Get("Content-Type"); !strings.HasPrefix(got, ct) {
				t.Errorf("Content-Type = %q, want %s: %s", got, ct, short(r.Body))
			}
		}
	}
	return []row{
		// Search history and nearby jobs: workers.
		{method: "GET", pattern: "/v1/me/search-history", allow: []string{worker}, req: fixed("/v1/me/search-history", nil),
			check: answerHas("search history", fixedText(`"history":[`), fixedText(`"max":20`))},
		{method: "DELETE", pattern: "/v1/me/search-history", allow: []string{worker}, req: fixed("/v1/me/search-history", nil),
			check: answerHas("deleted search history", fixedText(`"deleted":`))},
		{method: "POST", pattern: "/v1/jobs/nearby", allow: []string{worker},
			before: func(t *testing.T) { f.agree(t, f.by[worker], "function:nearby_jobs", "sensitive:nearby_jobs") },
			req:    fixed("/v1/jobs/nearby", map[string]any{"lat": 26.0800, "lng": 119.2960, "radius_km": 5}),
			check:  answerHas("nearby jobs", func() string { return g.jobNear }, fixedText(`"position_stored":false`), fixedText(`"distance_m":`))},

		// The application lifecycle: the worker checks in and accepts
		// contact, the employer schedules, completes and reveals.
		{method: "POST", pattern: "/v1/me/applications/{id}/check-in", allow: []string{worker},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/me/applications/" + g.appAcc + "/check-in", nil
			},
			check: answerHas("check-in", fixedText(`"checked_in_at"`))},
		{method: "POST", pattern: "/v1/employer/applications/{id}/complete", allow: []string{employer},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/employer/applications/" + g.appAcc + "/complete", nil
			},
			check: answerHas("completion", fixedText(`"status":"completed"`), fixedText(`"completed_at"`))},
		{method: "POST", pattern: "/v1/me/applications/{id}/accept-contact", allow: []string{worker},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/me/applications/" + g.appSlot + "/accept-contact", nil
			},
			check: answerHas("contact accepted", fixedText(`"contact_accepted_at"`))},
		{method: "POST", pattern: "/v1/employer/applications/{id}/interview", allow: []string{employer},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/employer/applications/" + g.appSlot + "/interview",
					map[string]any{"interview_at": f.e.Clock.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)}
			},
			check: answerHas("interview", fixedText(`"interview_at"`))},
		{method: "POST", pattern: "/v1/employer/applications/{id}/reveal-contact", allow: []string{employer},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/employer/applications/" + g.appReveal + "/reveal-contact", nil
			},
			check: answerHas("contact reveal", func() string { return f.applicant.Mobile }, fixedText(`"once":true`)),
			done: func(t *testing.T) {
				// Once only.
				r := f.e.Do("POST", "/v1/employer/applications/"+g.appReveal+"/reveal-contact", f.by[employer].u.Token, nil)
				if r.Status != http.StatusConflict || r.ErrorBody().Reason != "contact_already_revealed" {
					t.Errorf("a second reveal: %d %s", r.Status, short(r.Body))
				}
			}},

		// The worker's calendar and its subscription feed.
		{method: "GET", pattern: "/v1/me/calendar.ics", allow: []string{worker}, req: fixed("/v1/me/calendar.ics", nil),
			check: func(t *testing.T, p *principal, r apitest.Response) {
				is("text/calendar")(t, p, r)
				answerHas("calendar", fixedText("BEGIN:VCALENDAR"), func() string { return g.appSlot + "-interview" }, func() string { return g.appSlot + "-slot-1" })(t, p, r)
			}},
		{method: "POST", pattern: "/v1/me/calendar/feed", allow: []string{worker}, req: fixed("/v1/me/calendar/feed", nil),
			want: func(*principal) int { return http.StatusCreated },
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				var out struct{ Path string }
				r.Decode(t, &out)
				if !strings.HasPrefix(out.Path, "/public/calendar/") || !strings.HasSuffix(out.Path, ".ics") {
					t.Errorf("feed: %s", short(r.Body))
				}
				g.feed = out.Path
			}},
		{method: "GET", pattern: "/public/calendar/{file}", allow: everyone,
			req: func(*testing.T, *principal) (string, any) { return g.feed, nil },
			check: func(t *testing.T, p *principal, r apitest.Response) {
				is("text/calendar")(t, p, r)
				answerHas("calendar feed", fixedText("BEGIN:VCALENDAR"), func() string { return g.appSlot + "-slot-1" })(t, p, r)
			}},
		{method: "DELETE", pattern: "/v1/me/calendar/feed", allow: []string{worker}, req: fixed("/v1/me/calendar/feed", nil),
			check: answerHas("feeds revoked", fixedText(`"revoked":1`)),
			done: func(t *testing.T) {
				if r := f.e.Do("GET", g.feed, "", nil); r.Status != http.StatusNotFound {
					t.Errorf("a revoked feed: %d %s", r.Status, short(r.Body))
				}
			}},

		// Organisation profiles, and their review by staff.
		{method: "GET", pattern: "/v1/employer/profile", allow: []string{employer}, req: fixed("/v1/employer/profile", nil),
			check: answerHas("organisation profile", func() string { return f.by[employer].u.OrgID }, fixedText(`"verified_at"`))},
		{method: "PUT", pattern: "/v1/employer/profile", allow: []string{employer},
			req:   fixed("/v1/employer/profile", map[string]any{"city": "福州", "industry": "人力资源服务", "description": "为福州本地商超与物流企业提供灵活用工服务。"}),
			check: answerHas("organisation profile", fixedText(`"industry":"人力资源服务"`))},
		{method: "GET", pattern: "/v1/employer/resumes", allow: []string{employer},
			req:   fixed("/v1/employer/resumes?skill="+url.QueryEscape("电动车驾驶")+"&city="+url.QueryEscape("福州"), nil),
			check: answerHas("résumé search", fixedText(`"resumes":[`))},
		{method: "GET", pattern: "/v1/staff/organisations", allow: []string{dataOp, dpo}, req: fixed("/v1/staff/organisations", nil),
			check: answerHas("organisations", func() string { return g.orgUnver }, func() string { return f.by[employer].u.OrgID })},
		{method: "POST", pattern: "/v1/staff/organisations/{id}/verify", allow: []string{dataOp, dpo},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/staff/organisations/" + g.orgUnver + "/verify", nil
			},
			check: answerHas("organisation verified", func() string { return g.orgUnver }, fixedText(`"verified_at"`))},

		// Identity verification: workers, with their consent.
		{method: "POST", pattern: "/v1/me/identity/verify", allow: []string{worker},
			before: func(t *testing.T) {
				f.agree(t, f.by[worker], "function:identity_verification", "sensitive:identity_verification")
			},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/me/identity/verify", map[string]any{"level": 4, "name": g.idName, "id_number": g.idNumber, "bank_card": g.idCard}
			},
			check: answerHas("verification", fixedText(`"passed":true`), fixedText(`"level":4`))},
		{method: "GET", pattern: "/v1/me/identity", allow: []string{worker}, req: fixed("/v1/me/identity", nil),
			check: answerHas("verification level", fixedText(`"level":4`), fixedText(`"history":[`))},

		// Electronic contracts: staff write templates, employers offer,
		// workers sign; anyone checks a file.
		{method: "GET", pattern: "/v1/contract-templates", allow: users, req: fixed("/v1/contract-templates", nil),
			check: answerHas("templates", fixedText(`"system_variables":["worker_name","worker_id_masked","verification_ref"]`))},
		{method: "POST", pattern: "/v1/staff/contract-templates", allow: []string{dpo, dataOp},
			req: fixed("/v1/staff/contract-templates", map[string]any{"name": "灵活用工服务协议",
				"body": "<h1>灵活用工服务协议</h1>\n<p>乙方 {{.worker_name}}（身份证号 {{.worker_id_masked}}，认证 {{.verification_ref}}）为甲方提供{{.service}}服务，报酬每小时 {{.fee}} 元。</p>"}),
			want: func(*principal) int { return http.StatusCreated },
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				var out struct{ Template struct{ ID string } }
				r.Decode(t, &out)
				if out.Template.ID == "" {
					t.Errorf("template: %s", short(r.Body))
				}
				g.template = out.Template.ID
			}},
		{method: "POST", pattern: "/v1/employer/contracts", allow: []string{employer},
			req: func(*testing.T, *principal) (string, any) {
				now := f.e.Clock.Now().UTC()
				return "/v1/employer/contracts", map[string]any{"application_id": g.appSlot, "template_id": g.template,
					"variables":  map[string]string{"service": "商场促销", "fee": "25"},
					"valid_from": now.Format(time.RFC3339), "valid_until": now.AddDate(0, 3, 0).Format(time.RFC3339)}
			},
			want: func(*principal) int { return http.StatusCreated },
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				var out struct{ Contract struct{ ID, Status string } }
				r.Decode(t, &out)
				if out.Contract.Status != "offered" {
					t.Errorf("contract: %s", short(r.Body))
				}
				g.contract = out.Contract.ID
			}},
		{method: "GET", pattern: "/v1/employer/contracts", allow: []string{employer}, req: fixed("/v1/employer/contracts", nil),
			check: answerHas("the organisation's contracts", func() string { return g.contract })},
		{method: "GET", pattern: "/v1/me/contracts", allow: []string{worker}, req: fixed("/v1/me/contracts", nil),
			check: answerHas("the worker's contracts", func() string { return g.contract })},
		{method: "GET", pattern: "/v1/me/contracts/{id}", allow: []string{worker},
			before: func(t *testing.T) {
				f.agree(t, f.by[worker], "function:electronic_contract", "sensitive:electronic_contract")
			},
			req:   func(*testing.T, *principal) (string, any) { return "/v1/me/contracts/" + g.contract, nil },
			check: answerHas("the contract to sign", fixedText(`"document"`), func() string { return g.idName })},

		// The platform key: key officers unseal it, security
		// administrators watch.
		{method: "GET", pattern: "/v1/staff/keys/platform", allow: []string{keyOfficer, secAdmin}, req: fixed("/v1/staff/keys/platform", nil),
			check: answerHas("platform key", fixedText(`"sealed":true`), fixedText(`"set_id"`))},
		{method: "POST", pattern: "/v1/staff/keys/platform/unseal", allow: []string{keyOfficer},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/staff/keys/platform/unseal", map[string]any{"share": g.shares[0]}
			},
			check: answerHas("first share", fixedText(`"sealed":true`), fixedText(`"shares":1`), fixedText(`"threshold":2`)),
			done: func(t *testing.T) {
				tok := f.e.StaffLogin(g.officer2)
				r := f.e.Do("POST", "/v1/staff/keys/platform/unseal", tok, map[string]any{"share": g.shares[1]})
				if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"sealed":false`) {
					t.Errorf("the second officer's share: %d %s", r.Status, short(r.Body))
				}
			}},

		{method: "POST", pattern: "/v1/me/contracts/{id}/sign", allow: []string{worker},
			req: func(t *testing.T, p *principal) (string, any) {
				code := "123456"
				if p.name == worker {
					f.e.Clock.Advance(61 * time.Second) // past the resend cool-down
					if r := f.e.Do("POST", "/v1/me/verification/send", p.u.Token, map[string]any{"purpose": "sign"}); r.Status != http.StatusAccepted {
						t.Fatalf("sign code: %d %s", r.Status, short(r.Body))
					}
					code = f.e.LastCode(p.u.Mobile)
				}
				return "/v1/me/contracts/" + g.contract + "/sign", map[string]any{"code": code}
			},
			check: func(t *testing.T, p *principal, r apitest.Response) {
				answerHas("signed file", fixedText(`"format": "gigvault-contract/1"`), func() string { return g.contract })(t, p, r)
				g.file = string(r.Body)
			}},
		{method: "GET", pattern: "/v1/me/contracts/{id}/file", allow: []string{worker},
			req: func(*testing.T, *principal) (string, any) { return "/v1/me/contracts/" + g.contract + "/file", nil },
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if string(r.Body) != g.file || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
					t.Errorf("the worker's copy differs from the file signed: %s", short(r.Body))
				}
			}},
		{method: "GET", pattern: "/v1/employer/contracts/{id}/file", allow: []string{employer},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/employer/contracts/" + g.contract + "/file", nil
			},
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if string(r.Body) != g.file {
					t.Errorf("the employer's copy differs from the file signed: %s", short(r.Body))
				}
			}},
		{method: "GET", pattern: "/v1/me/contracts/{id}/pdf", allow: []string{worker},
			req: func(*testing.T, *principal) (string, any) { return "/v1/me/contracts/" + g.contract + "/pdf", nil },
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.HasPrefix(string(r.Body), "%PDF-") || r.Header.Get("Content-Type") != "application/pdf" {
					t.Errorf("the worker's PDF: %s %s", r.Header.Get("Content-Type"), short(r.Body))
				}
			}},
		{method: "GET", pattern: "/v1/employer/contracts/{id}/pdf", allow: []string{employer},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/employer/contracts/" + g.contract + "/pdf", nil
			},
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.HasPrefix(string(r.Body), "%PDF-") {
					t.Errorf("the employer's PDF: %s", short(r.Body))
				}
			}},
		{method: "POST", pattern: "/public/contracts/verify", allow: everyone,
			req:   func(*testing.T, *principal) (string, any) { return "/public/contracts/verify", g.file },
			check: answerHas("verification", fixedText(`"ok":true`), fixedText(`"digest_ok":true`), fixedText(`"window":"valid"`))},

		// Payout batches: an employer member uploads, another approves,
		// then the bank file goes to the rail; the worker sees their pay.
		{method: "POST", pattern: "/v1/employer/payouts", allow: []string{employer},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/employer/payouts", fmt.Sprintf(payoutCSV, f.by[worker].u.SubjectID, 12000, "展会搬运")
			},
			want: func(*principal) int { return http.StatusCreated },
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				var out struct {
					Batch  struct{ ID, Status string }
					Report struct{ OK bool }
				}
				r.Decode(t, &out)
				if out.Batch.Status != "pending_approval" || !out.Report.OK {
					t.Errorf("upload: %s", short(r.Body))
				}
				g.batch = out.Batch.ID
			}},
		{method: "GET", pattern: "/v1/employer/payouts", allow: []string{employer}, req: fixed("/v1/employer/payouts", nil),
			check: answerHas("batches", func() string { return g.batch })},
		{method: "GET", pattern: "/v1/employer/payouts/{id}", allow: []string{employer},
			req:   func(*testing.T, *principal) (string, any) { return "/v1/employer/payouts/" + g.batch, nil },
			check: answerHas("batch", func() string { return g.batch }, func() string { return f.by[worker].u.SubjectID })},
		{method: "POST", pattern: "/v1/employer/payouts/{id}/decision", allow: []string{employer},
			before: func(t *testing.T) {
				r := f.e.Do("POST", "/v1/employer/payouts", g.member2.Token, fmt.Sprintf(payoutCSV, f.by[worker].u.SubjectID, 10000, "商场促销"))
				var out struct{ Batch struct{ ID string } }
				r.Decode(t, &out)
				if r.Status != http.StatusCreated || out.Batch.ID == "" {
					t.Fatalf("the second member uploads: %d %s", r.Status, short(r.Body))
				}
				g.batch2 = out.Batch.ID
			},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/employer/payouts/" + g.batch2 + "/decision", map[string]any{"approve": true}
			},
			check: answerHas("decision", fixedText(`"status":"approved"`)),
			done: func(t *testing.T) {
				// The uploader does not approve their own batch.
				r := f.e.Do("POST", "/v1/employer/payouts/"+g.batch+"/decision", f.by[employer].u.Token, map[string]any{"approve": true})
				if r.Status != http.StatusForbidden || r.ErrorBody().Reason != "second_person_required" {
					t.Errorf("the uploader approves their own batch: %d %s", r.Status, short(r.Body))
				}
			}},
		{method: "POST", pattern: "/v1/employer/payouts/{id}/submit", allow: []string{employer},
			// The bank file reads the payee's name and card on the worker's
			// consent to the payout function.
			before: func(t *testing.T) { f.agree(t, f.by[worker], "function:payout", "sensitive:payout") },
			req:    func(*testing.T, *principal) (string, any) { return "/v1/employer/payouts/" + g.batch2 + "/submit", nil },
			check:  answerHas("submission", fixedText(`"file_digest"`), func() string { return g.batch2 })},
		{method: "GET", pattern: "/v1/employer/payouts/{id}/withholding", allow: []string{employer},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/employer/payouts/" + g.batch2 + "/withholding", nil
			},
			check: is("application/octet-stream")},
		{method: "GET", pattern: "/v1/me/payouts", allow: []string{worker}, req: fixed("/v1/me/payouts", nil),
			check: answerHas("the worker's payouts", func() string { return g.batch2 }, fixedText(`"amount_fen":10000`))},
	}
}

// contractDocument is the document of the file worker A signed.
func (f *fixture) contractDocument(t *testing.T) string {
	t.Helper()
	var out struct{ Document string }
	if err := json.Unmarshal([]byte(f.gig.file), &out); err != nil || out.Document == "" {
		t.Fatalf("the signed file: %v", err)
	}
	return out.Document
}
