package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"gigvault/internal/apitest"
	"gigvault/internal/dsrexport"
	"gigvault/internal/rights"
	"gigvault/internal/store"
)

// The rows of data-subject rights (issue 6): a person's requests
// (DSR-1..7), complaints and appeals (CON-12) and account cancellation
// (DSR-5) under /v1/me; the handlers' queue under /v1/staff/requests
// (support, data operators, the DPO); legal holds (RET-1, the DPO alone).
// They run after the gig platform's rows, in this order: later rows use
// what earlier ones made (the requests, the hold).

// rightsState is what the issue-6 rows share.
type rightsState struct {
	reqB    string            // worker B's complaint, which quotes B's mobile number: the IDOR target and the handlers' case
	mine    map[string]string // each user principal's own complaint
	copies  map[string]string // each user principal's own copy request (DSR-3)
	handled map[string]string // per handling principal, a request of worker B's to extend and resolve
	access  string            // worker A's access request (DSR-1), answered at once

	d, e    apitest.User // worker D cancels their account; worker E's cancellation waits for a legal hold
	cancelD string       // worker D's cancellation, awaiting its second confirmation
	hold    string       // the hold the DPO places on worker E
}

// sandboxRecipient is the development recipient copies can be sent to.
const sandboxRecipient = "portability_sandbox"

// handlerNames are the principals who handle rights requests.
var handlerNames = []string{dataOp, dpo, support}

// rightsCode sends u a fresh SMS code of purpose ("rights" or "cancel")
// and returns it; the clock first moves past the resend cool-down.
func (f *fixture) rightsCode(t *testing.T, u apitest.User, purpose string) string {
	t.Helper()
	f.e.Clock.Advance(61 * time.Second)
	if r := f.e.Do("POST", "/v1/me/verification/send", u.Token, map[string]any{"purpose": purpose}); r.Status != http.StatusAccepted {
		t.Fatalf("send a %s code: %d %s", purpose, r.Status, short(r.Body))
	}
	return f.e.LastCode(u.Mobile)
}

// newRequest files a request as u through the API and returns its ID.
func (f *fixture) newRequest(t *testing.T, u apitest.User, body map[string]any) (string, apitest.Response) {
	t.Helper()
	body["code"] = f.rightsCode(t, u, "rights")
	r := f.e.Do("POST", "/v1/me/requests", u.Token, body)
	var out struct{ Request struct{ ID string } }
	r.Decode(t, &out)
	if r.Status != http.StatusCreated || out.Request.ID == "" {
		t.Fatalf("file a %v request: %d %s", body["kind"], r.Status, short(r.Body))
	}
	return out.Request.ID, r
}

// complaintBody is a privacy complaint (DSR-6).
func complaintBody(message string) map[string]any {
	return map[string]any{"kind": "complaint", "category": "privacy", "message": message}
}

// rightsSetup files worker B's complaint, the requests the handlers extend
// and resolve, and signs in workers D and E.
func (f *fixture) rightsSetup(t *testing.T) {
	t.Helper()
	s := &f.rights
	s.reqB, _ = f.newRequest(t, f.b, complaintBody("我的手机号"+f.b.Mobile+"最近频繁收到招聘营销短信，我从未同意接收，请核查来源。"))
	// The handlers' own cases, received as the API receives them.
	ctx := context.Background()
	for _, h := range handlerNames {
		id, err := rights.NewID()
		if err != nil {
			t.Fatal(err)
		}
		err = f.e.Core.DB.InTx(ctx, func(tx *store.Tx) error {
			_, err := f.e.Core.Rights.Create(ctx, tx, id, rights.New{Subject: f.b.SubjectID, Kind: rights.Complaint, Category: "account",
				VerifiedWith: "sms"}, "worker:"+f.b.AccountID, "api")
			return err
		})
		if err != nil {
			t.Fatalf("a request for %s: %v", h, err)
		}
		s.handled[h] = id
	}
	s.d, s.e = f.e.Worker(), f.e.Worker()
}

// ownRequest is the path of p's own request under /v1/me/requests; callers
// outside the matrix name worker A's.
func (f *fixture) ownRequest(ids map[string]string, suffix string) func(*testing.T, *principal) (string, any) {
	return func(_ *testing.T, p *principal) (string, any) {
		id, ok := ids[p.name]
		if !ok {
			id = ids[worker]
		}
		return "/v1/me/requests/" + id + suffix, nil
	}
}

// explanation is the digest of the consequences of cancelling u's account.
func (f *fixture) explanation(t *testing.T, token string) string {
	t.Helper()
	r := f.e.Do("GET", "/v1/me/cancellation", token, nil)
	var out struct{ Explanation string }
	r.Decode(t, &out)
	if r.Status != http.StatusOK || out.Explanation == "" {
		t.Fatalf("the consequences of cancelling: %d %s", r.Status, short(r.Body))
	}
	return out.Explanation
}

// startCancel starts u's cancellation and returns the request's ID.
func (f *fixture) startCancel(t *testing.T, u apitest.User) string {
	t.Helper()
	r := f.e.Do("POST", "/v1/me/cancellation", u.Token, map[string]any{"explanation": f.explanation(t, u.Token)})
	var out struct{ Request struct{ ID, Status string } }
	r.Decode(t, &out)
	if r.Status != http.StatusCreated || out.Request.Status != "confirming" {
		t.Fatalf("start a cancellation: %d %s", r.Status, short(r.Body))
	}
	return out.Request.ID
}

// wantError checks an error answer's status, code and reason.
func wantError(t *testing.T, what string, r apitest.Response, status int, code, reason string) {
	t.Helper()
	if e := r.ErrorBody(); r.Status != status || string(e.Code) != code || e.Reason != reason {
		t.Errorf("%s: %d %s, want %d %s (reason %q)", what, r.Status, short(r.Body), status, code, reason)
	}
}

// statusOf reads a request's status as its owner sees it.
func (f *fixture) requestStatus(t *testing.T, token, id string) string {
	t.Helper()
	r := f.e.Do("GET", "/v1/me/requests/"+id, token, nil)
	var out struct{ Request struct{ Status string } }
	r.Decode(t, &out)
	if r.Status != http.StatusOK {
		t.Fatalf("request %s: %d %s", id, r.Status, short(r.Body))
	}
	return out.Request.Status
}

func (f *fixture) rightsRows() []row {
	s := &f.rights
	s.mine, s.copies, s.handled = map[string]string{}, map[string]string{}, map[string]string{}
	isUser := func(p *principal) bool { return p.kind == "worker" || p.kind == "employer" }
	requestIs := func(what, status string) func(t *testing.T, p *principal, r apitest.Response) {
		return func(t *testing.T, _ *principal, r apitest.Response) {
			t.Helper()
			var out struct{ Request struct{ ID, Status string } }
			r.Decode(t, &out)
			if out.Request.ID == "" || out.Request.Status != status {
				t.Errorf("%s: %s, want status %s", what, short(r.Body), status)
			}
		}
	}
	return []row{
		// A person's requests: workers and employer members, each their own.
		{method: "POST", pattern: "/v1/me/requests", allow: users,
			before: f.rightsSetup,
			req: func(t *testing.T, p *principal) (string, any) {
				body := complaintBody("我没有申请过的企业看到了我的求职信息，请说明原因。")
				body["code"] = "123456"
				if isUser(p) {
					body["code"] = f.rightsCode(t, p.u, "rights")
				}
				return "/v1/me/requests", body
			},
			want: func(*principal) int { return http.StatusCreated },
			check: func(t *testing.T, p *principal, r apitest.Response) {
				var out struct {
					Request struct {
						ID, Kind, Status, Category string
						VerifiedWith               string `json:"verified_with"`
						DueDate                    string `json:"due_date"`
					}
				}
				r.Decode(t, &out)
				q := out.Request
				if q.Kind != "complaint" || q.Status != "open" || q.Category != "privacy" || q.VerifiedWith != "sms" || q.DueDate == "" {
					t.Errorf("complaint: %s", short(r.Body))
				}
				s.mine[p.name] = q.ID
			},
			done: func(t *testing.T) {
				a := f.by[worker]
				// The SMS code is single-use and of its purpose (DSR-7).
				r := f.e.Do("POST", "/v1/me/requests", a.u.Token, map[string]any{"kind": "complaint", "category": "privacy", "message": "再次投诉",
					"code": f.e.LastCode(a.u.Mobile)})
				wantError(t, "a spent code", r, http.StatusBadRequest, "invalid", "")
				// Cancellation has its own flow.
				r = f.e.Do("POST", "/v1/me/requests", a.u.Token, map[string]any{"kind": "cancellation", "code": "123456"})
				wantError(t, "a cancellation through /v1/me/requests", r, http.StatusBadRequest, "invalid", "")
				// Access (DSR-1): answered at once with what is held, the
				// worker's own data only.
				id, r := f.newRequest(t, a.u, map[string]any{"kind": "access"})
				s.access = id
				body := string(r.Body)
				if !strings.Contains(body, `"status":"completed"`) || !strings.Contains(body, `"inventory"`) || !strings.Contains(body, a.u.Mobile) ||
					!strings.Contains(body, `"recipients"`) || !strings.Contains(body, f.by[employer].u.OrgID) {
					t.Errorf("access: %s", short(r.Body))
				}
				if strings.Contains(body, f.b.Mobile) || strings.Contains(body, f.by[employer].u.Mobile) {
					t.Errorf("worker A's access answer shows someone else's number: %s", short(r.Body))
				}
			}},
		{method: "GET", pattern: "/v1/me/requests", allow: users, req: fixed("/v1/me/requests", nil),
			check: func(t *testing.T, p *principal, r apitest.Response) {
				body := string(r.Body)
				if !strings.Contains(body, s.mine[p.name]) || strings.Contains(body, s.reqB) {
					t.Errorf("%s's requests are not theirs alone: %s", p.name, short(r.Body))
				}
				for name, id := range s.mine {
					if name != p.name && strings.Contains(body, id) {
						t.Errorf("%s's requests list %s's", p.name, name)
					}
				}
			}},
		{method: "GET", pattern: "/v1/me/requests/{id}", allow: users, req: f.ownRequest(s.mine, ""),
			check: func(t *testing.T, p *principal, r apitest.Response) {
				var out struct {
					Request  struct{ ID, Status string }
					Messages []struct{ Author, Text string }
					Days     *int `json:"working_days_left"`
				}
				r.Decode(t, &out)
				if out.Request.ID != s.mine[p.name] || len(out.Messages) != 1 || out.Messages[0].Author != "subject" ||
					!strings.Contains(out.Messages[0].Text, "求职信息") || out.Days == nil || *out.Days < 10 {
					t.Errorf("%s's request: %s", p.name, short(r.Body))
				}
				if strings.Contains(string(r.Body), `"subject_id"`) {
					t.Errorf("the requester's view names the subject ID: %s", short(r.Body))
				}
			},
			done: func(t *testing.T) {
				// Someone else's request is indistinguishable from a missing one.
				for _, c := range []struct {
					who *principal
					id  string
				}{{f.by[worker], s.reqB}, {f.by[employer], s.mine[worker]}, {f.by[worker], "0190f3c4-8a7e-7cc1-b3f2-6c1d2e3f4a5b"}} {
					r := f.call(t, c.who, "GET", "/v1/me/requests/"+c.id, nil, false)
					wantError(t, c.who.name+" reads request "+c.id, r, http.StatusNotFound, "not_found", "")
				}
			}},
		{method: "POST", pattern: "/v1/me/requests/{id}/messages", allow: users,
			req: func(t *testing.T, p *principal) (string, any) {
				path, _ := f.ownRequest(s.mine, "/messages")(t, p)
				return path, map[string]any{"message": "补充：我是在本月初发现的。"}
			},
			want: func(*principal) int { return http.StatusCreated },
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				var out struct{ ID string }
				r.Decode(t, &out)
				if out.ID == "" {
					t.Errorf("message: %s", short(r.Body))
				}
			},
			done: func(t *testing.T) {
				r := f.call(t, f.by[worker], "POST", "/v1/me/requests/"+s.reqB+"/messages", map[string]any{"message": "我也来说两句"}, false)
				wantError(t, "worker A writes on worker B's request", r, http.StatusNotFound, "not_found", "")
				r = f.e.Do("GET", "/v1/me/requests/"+s.reqB, f.b.Token, nil)
				if strings.Contains(string(r.Body), "我也来说两句") || strings.Count(string(r.Body), `"author":`) != 1 {
					t.Errorf("worker B's request after worker A's attempt: %s", short(r.Body))
				}
			}},
		{method: "POST", pattern: "/v1/me/requests/{id}/withdraw", allow: users, req: f.ownRequest(s.mine, "/withdraw"),
			check: requestIs("withdrawal", "withdrawn"),
			done: func(t *testing.T) {
				a := f.by[worker]
				r := f.call(t, a, "POST", "/v1/me/requests/"+s.reqB+"/withdraw", nil, false)
				wantError(t, "worker A withdraws worker B's request", r, http.StatusNotFound, "not_found", "")
				if st := f.requestStatus(t, f.b.Token, s.reqB); st != "open" {
					t.Errorf("worker B's request after worker A's attempt: %s", st)
				}
				r = f.call(t, a, "POST", "/v1/me/requests/"+s.mine[worker]+"/withdraw", nil, false)
				wantError(t, "a second withdrawal", r, http.StatusConflict, "conflict", "status_withdrawn")
				r = f.call(t, a, "POST", "/v1/me/requests/"+s.mine[worker]+"/messages", map[string]any{"message": "还有一点"}, false)
				wantError(t, "a message on a withdrawn request", r, http.StatusConflict, "conflict", "status_withdrawn")
			}},

		// The copy (DSR-3): a zip built at download from the vault.
		{method: "GET", pattern: "/v1/me/requests/{id}/copy", allow: users,
			before: func(t *testing.T) {
				// Worker A also has the copy sent to a recipient they name
				// (the development sandbox), recorded in the sharing ledger.
				body := map[string]any{"kind": "copy", "deliver_to": sandboxRecipient}
				var r apitest.Response
				s.copies[worker], r = f.newRequest(t, f.by[worker].u, body)
				if b := string(r.Body); !strings.Contains(b, `"download":"/v1/me/requests/`+s.copies[worker]+`/copy"`) ||
					!strings.Contains(b, `"verified_with":"sms+2f"`) || !strings.Contains(b, `"status":"completed"`) {
					t.Errorf("worker A's copy request: %s", short(r.Body))
				}
				s.copies[employer], _ = f.newRequest(t, f.by[employer].u, map[string]any{"kind": "copy"})
			},
			req: f.ownRequest(s.copies, "/copy"),
			check: func(t *testing.T, p *principal, r apitest.Response) {
				if ct := r.Header.Get("Content-Type"); ct != dsrexport.ContentType || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
					t.Errorf("copy: Content-Type %q, Content-Disposition %q", ct, r.Header.Get("Content-Disposition"))
				}
				c, err := dsrexport.Read(bytes.NewReader(r.Body), int64(len(r.Body)))
				if err != nil {
					t.Fatalf("%s's copy does not read back: %v", p.name, err)
				}
				if c.SubjectID != p.u.SubjectID || !slices.ContainsFunc(c.Values, func(v dsrexport.Value) bool { return v.Field == "mobile" && v.Text == p.u.Mobile }) {
					t.Errorf("%s's copy is not theirs: subject %s, %d values", p.name, c.SubjectID, len(c.Values))
				}
				for _, v := range c.Values {
					for _, q := range append([]apitest.User{f.b}, f.by[worker].u, f.by[employer].u) {
						if q.SubjectID != p.u.SubjectID && strings.Contains(v.Text, q.Mobile) {
							t.Errorf("%s's copy holds another person's number in %s", p.name, v.Field)
						}
					}
				}
			},
			done: func(t *testing.T) {
				r := f.call(t, f.by[employer], "GET", "/v1/me/requests/"+s.copies[worker]+"/copy", nil, false)
				wantError(t, "the employer downloads worker A's copy", r, http.StatusNotFound, "not_found", "")
				r = f.call(t, f.by[worker], "GET", "/v1/me/requests/"+s.mine[worker]+"/copy", nil, false)
				wantError(t, "the copy of a complaint", r, http.StatusConflict, "conflict", "not_a_copy")
				// The copy sent where worker A asked: queued, and in the
				// sharing ledger (SHR-1).
				a := f.by[worker]
				r = f.call(t, a, "GET", "/v1/me/requests/"+s.copies[worker], nil, false)
				if b := string(r.Body); !strings.Contains(b, `"kind":"copy","recipient":"`+sandboxRecipient+`","recipient_kind":"subject_named"`) {
					t.Errorf("the copy's delivery: %s", short(r.Body))
				}
				r = f.call(t, a, "GET", "/v1/me/sharing", nil, false)
				if b := string(r.Body); !strings.Contains(b, `"recipient":"`+sandboxRecipient+`"`) || !strings.Contains(b, `"consent_ref":"`+s.copies[worker]+`"`) {
					t.Errorf("the copy is not in worker A's sharing record: %s", short(r.Body))
				}
			}},

		// The handlers' queue: support, data operators, the DPO.
		{method: "GET", pattern: "/v1/staff/requests", allow: handlerNames, req: fixed("/v1/staff/requests", nil),
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				body := string(r.Body)
				if !strings.Contains(body, s.reqB) || !strings.Contains(body, f.b.SubjectID) || !strings.Contains(body, `"overdue":0`) ||
					strings.Contains(body, s.mine[worker]) || strings.Contains(body, `"messages"`) {
					t.Errorf("the queue: %s", short(r.Body))
				}
			},
			done: func(t *testing.T) {
				h := f.by[support]
				r := f.call(t, h, "GET", "/v1/staff/requests?kind=complaint&status=withdrawn", nil, false)
				if !strings.Contains(string(r.Body), s.mine[worker]) || strings.Contains(string(r.Body), s.reqB) {
					t.Errorf("withdrawn complaints: %d %s", r.Status, short(r.Body))
				}
				r = f.call(t, h, "GET", "/v1/staff/requests?kind=nonsense", nil, false)
				wantError(t, "an unknown kind", r, http.StatusBadRequest, "invalid", "")
			}},
		{method: "GET", pattern: "/v1/staff/requests/{id}", allow: handlerNames, seesTarget: true,
			req: func(*testing.T, *principal) (string, any) { return "/v1/staff/requests/" + s.reqB, nil },
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				var out struct {
					Request   struct{ ID string }
					SubjectID string `json:"subject_id"`
					Messages  []struct{ Author, Text string }
				}
				r.Decode(t, &out)
				// Handling the request shows its messages whole.
				if out.Request.ID != s.reqB || out.SubjectID != f.b.SubjectID || len(out.Messages) == 0 || !strings.Contains(out.Messages[0].Text, f.b.Mobile) {
					t.Errorf("the handler's view of worker B's request: %s", short(r.Body))
				}
			}},
		{method: "POST", pattern: "/v1/staff/requests/{id}/messages", allow: handlerNames,
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/staff/requests/" + s.reqB + "/messages", map[string]any{"message": "您好，我们已收到您的投诉，正在核查短信来源。"}
			},
			want: func(*principal) int { return http.StatusCreated },
			done: func(t *testing.T) {
				r := f.e.Do("GET", "/v1/me/requests/"+s.reqB, f.b.Token, nil)
				if n := strings.Count(string(r.Body), `"author":"staff"`); n != len(handlerNames) {
					t.Errorf("worker B sees %d replies, want %d: %s", n, len(handlerNames), short(r.Body))
				}
			}},
		{method: "POST", pattern: "/v1/staff/requests/{id}/extend", allow: handlerNames,
			req: func(_ *testing.T, p *principal) (string, any) {
				id, ok := s.handled[p.name]
				if !ok {
					id = s.reqB
				}
				return "/v1/staff/requests/" + id + "/extend", map[string]any{"working_days": 5, "reason": "需要向短信服务商核实发送记录"}
			},
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), `"extended_at"`) || !strings.Contains(string(r.Body), `"extension_reason":"需要向短信服务商核实发送记录"`) {
					t.Errorf("extension: %s", short(r.Body))
				}
			},
			done: func(t *testing.T) {
				h := f.by[dpo]
				r := f.call(t, h, "POST", "/v1/staff/requests/"+s.handled[dpo]+"/extend", map[string]any{"working_days": 5, "reason": "再延一次"}, false)
				wantError(t, "a second extension", r, http.StatusConflict, "conflict", "already_extended")
				r = f.call(t, h, "POST", "/v1/staff/requests/"+s.reqB+"/extend", map[string]any{"working_days": 5, "reason": "回电" + f.by[worker].u.Mobile + "核实"}, false)
				wantError(t, "a reason carrying a mobile number", r, http.StatusBadRequest, "invalid", "pi_in_free_text")
				r = f.call(t, h, "POST", "/v1/staff/requests/"+s.reqB+"/extend", map[string]any{"working_days": 99, "reason": "需要核实"}, false)
				wantError(t, "too long an extension", r, http.StatusBadRequest, "invalid", "")
			}},
		{method: "POST", pattern: "/v1/staff/requests/{id}/resolve", allow: handlerNames,
			req: func(_ *testing.T, p *principal) (string, any) {
				id, ok := s.handled[p.name]
				if !ok {
					id = s.reqB
				}
				return "/v1/staff/requests/" + id + "/resolve", map[string]any{"outcome": "completed", "message": "已核实并停止向您发送营销短信。"}
			},
			check: func(t *testing.T, p *principal, r apitest.Response) {
				requestIs("resolution", "completed")(t, p, r)
				if !strings.Contains(string(r.Body), `"handler":"`+p.actor()+`"`) {
					t.Errorf("the resolution does not name its handler: %s", short(r.Body))
				}
			},
			done: func(t *testing.T) {
				h := f.by[support]
				r := f.call(t, h, "POST", "/v1/staff/requests/"+s.handled[support]+"/resolve", map[string]any{"outcome": "rejected", "message": "再处理一次"}, false)
				wantError(t, "resolving a closed request", r, http.StatusConflict, "conflict", "status_completed")
				r = f.call(t, h, "POST", "/v1/staff/requests/"+s.access+"/resolve", map[string]any{"outcome": "completed", "message": "已处理"}, false)
				wantError(t, "resolving an access request, answered at once", r, http.StatusConflict, "conflict", "status_completed")
				r = f.call(t, h, "POST", "/v1/staff/requests/"+s.reqB+"/resolve", map[string]any{"outcome": "done", "message": "已处理"}, false)
				wantError(t, "an unknown outcome", r, http.StatusBadRequest, "invalid", "")
				if st := f.requestStatus(t, f.b.Token, s.reqB); st != "open" {
					t.Errorf("worker B's complaint after refused resolutions: %s", st)
				}
			}},

		// Legal holds (RET-1): the DPO alone. The hold is on worker E, whose
		// cancellation it holds back below.
		{method: "POST", pattern: "/v1/staff/legal-holds", allow: []string{dpo},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/staff/legal-holds", map[string]any{"subject_id": s.e.SubjectID, "reason": "劳动争议仲裁证据保全（见法务工单）"}
			},
			want: func(*principal) int { return http.StatusCreated },
			check: func(t *testing.T, p *principal, r apitest.Response) {
				var out struct {
					Hold struct {
						ID         string
						SubjectID  string `json:"subject_id"`
						PlacedBy   string `json:"placed_by"`
						ReleasedAt any    `json:"released_at"`
					}
				}
				r.Decode(t, &out)
				if out.Hold.ID == "" || out.Hold.SubjectID != s.e.SubjectID || out.Hold.PlacedBy != p.actor() || out.Hold.ReleasedAt != nil {
					t.Errorf("hold: %s", short(r.Body))
				}
				s.hold = out.Hold.ID
			},
			done: func(t *testing.T) {
				h := f.by[dpo]
				r := f.call(t, h, "POST", "/v1/staff/legal-holds", map[string]any{"subject_id": "0190f3c4-8a7e-7cc1-b3f2-6c1d2e3f4a5b", "reason": "案件保全"}, false)
				wantError(t, "a hold on no one", r, http.StatusNotFound, "not_found", "")
				r = f.call(t, h, "POST", "/v1/staff/legal-holds", map[string]any{"subject_id": s.e.SubjectID, "reason": "x"}, false)
				wantError(t, "a hold without a reason", r, http.StatusBadRequest, "invalid", "")
			}},
		{method: "GET", pattern: "/v1/staff/legal-holds", allow: []string{dpo},
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/staff/legal-holds?subject_id=" + s.e.SubjectID, nil
			},
			check: func(t *testing.T, _ *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), s.hold) || strings.Count(string(r.Body), `"id":`) != 1 {
					t.Errorf("the holds on worker E: %s", short(r.Body))
				}
			}},

		// Cancellation (DSR-5): explain, start, then confirm with a fresh
		// code of purpose cancel.
		{method: "GET", pattern: "/v1/me/cancellation", allow: users, req: fixed("/v1/me/cancellation", nil),
			check: func(t *testing.T, p *principal, r apitest.Response) {
				var out struct {
					Deleted     []struct{ Field string }
					Kept        []struct{ Class string }
					Blockers    []struct{ Code string }
					Steps       []string
					Explanation string
				}
				r.Decode(t, &out)
				if out.Explanation == "" || len(out.Steps) == 0 || !slices.ContainsFunc(out.Deleted, func(l struct{ Field string }) bool { return l.Field == "mobile" }) {
					t.Errorf("%s's consequences: %s", p.name, short(r.Body))
				}
				if p.name == worker {
					// Worker A has a payment pending (the batch the
					// uploader could not approve) and records the law keeps.
					if !slices.ContainsFunc(out.Blockers, func(b struct{ Code string }) bool { return b.Code == "payout_pending" }) ||
						!slices.ContainsFunc(out.Kept, func(k struct{ Class string }) bool { return k.Class == "financial_identity" }) {
						t.Errorf("worker A's consequences: %s", short(r.Body))
					}
				}
			}},
		{method: "POST", pattern: "/v1/me/cancellation", allow: users,
			req: func(t *testing.T, p *principal) (string, any) {
				ex := "0123456789abcdef0123456789abcdef"
				if isUser(p) {
					ex = f.explanation(t, p.u.Token)
				}
				return "/v1/me/cancellation", map[string]any{"explanation": ex}
			},
			// Worker A's pending payment stops it; the employer member's
			// awaits its second confirmation (and lapses unconfirmed).
			want: func(p *principal) int {
				if p.name == worker {
					return http.StatusConflict
				}
				return http.StatusCreated
			},
			check: func(t *testing.T, p *principal, r apitest.Response) {
				requestIs("cancellation", "confirming")(t, p, r)
				if !strings.Contains(string(r.Body), `"next"`) {
					t.Errorf("the start of a cancellation does not say what comes next: %s", short(r.Body))
				}
			},
			after: func(t *testing.T, p *principal, r apitest.Response) {
				if p.name == worker {
					if e := r.ErrorBody(); e.Reason != "cancellation_blocked" || !slices.Contains(e.Missing, "payout_pending") {
						t.Errorf("worker A's blocked cancellation: %s", short(r.Body))
					}
				}
			},
			done: func(t *testing.T) {
				r := f.e.Do("POST", "/v1/me/cancellation", s.d.Token, map[string]any{"explanation": "0123456789abcdef0123456789abcdef"})
				wantError(t, "a stale explanation", r, http.StatusBadRequest, "invalid", "explanation_stale")
			}},
		{method: "POST", pattern: "/v1/me/cancellation/{id}/confirm", allow: users,
			before: func(t *testing.T) {
				s.cancelD = f.startCancel(t, s.d)
			},
			// Someone else's cancellation is indistinguishable from a missing one.
			req: func(*testing.T, *principal) (string, any) {
				return "/v1/me/cancellation/" + s.cancelD + "/confirm", map[string]any{"code": "123456"}
			},
			want: func(*principal) int { return http.StatusNotFound },
			positive: func(t *testing.T) apitest.Response {
				r := f.e.Do("POST", "/v1/me/cancellation/"+s.cancelD+"/confirm", s.d.Token, map[string]any{"code": f.rightsCode(t, s.d, "cancel")})
				if !strings.Contains(string(r.Body), `"status":"completed"`) || !strings.Contains(string(r.Body), `"outcome":"cancelled"`) {
					t.Errorf("worker D's cancellation: %d %s", r.Status, short(r.Body))
				}
				return r
			},
			done: func(t *testing.T) {
				if r := f.e.Do("GET", "/v1/me", s.d.Token, nil); r.Status != http.StatusUnauthorized {
					t.Errorf("worker D after cancelling: %d %s", r.Status, short(r.Body))
				}
				// Worker E's waits for the legal hold: 202, and the
				// handlers see it in the queue.
				id := f.startCancel(t, s.e)
				r := f.e.Do("POST", "/v1/me/cancellation/"+id+"/confirm", s.e.Token, map[string]any{"code": f.rightsCode(t, s.e, "cancel")})
				if r.Status != http.StatusAccepted || !strings.Contains(string(r.Body), `"held":true`) || !strings.Contains(string(r.Body), `"status":"open"`) {
					t.Errorf("worker E's cancellation under a legal hold: %d %s", r.Status, short(r.Body))
				}
				r = f.call(t, f.by[dpo], "GET", "/v1/staff/requests?kind=cancellation", nil, false)
				if !strings.Contains(string(r.Body), id) {
					t.Errorf("the held cancellation is not in the queue: %s", short(r.Body))
				}
				// The system carries it out, not a handler.
				r = f.call(t, f.by[dpo], "POST", "/v1/staff/requests/"+id+"/resolve", map[string]any{"outcome": "completed", "message": "已注销"}, false)
				wantError(t, "resolving a cancellation", r, http.StatusConflict, "conflict", "kind_cancellation")
				r = f.e.Do("POST", "/v1/me/cancellation/"+id+"/confirm", s.e.Token, map[string]any{"code": "123456"})
				wantError(t, "confirming twice", r, http.StatusConflict, "conflict", "status_open")
			}},
		{method: "POST", pattern: "/v1/staff/legal-holds/{id}/release", allow: []string{dpo},
			req: func(*testing.T, *principal) (string, any) { return "/v1/staff/legal-holds/" + s.hold + "/release", nil },
			check: func(t *testing.T, p *principal, r apitest.Response) {
				if !strings.Contains(string(r.Body), `"released_at"`) || !strings.Contains(string(r.Body), `"released_by":"`+p.actor()+`"`) {
					t.Errorf("release: %s", short(r.Body))
				}
			},
			done: func(t *testing.T) {
				r := f.call(t, f.by[dpo], "POST", "/v1/staff/legal-holds/"+s.hold+"/release", nil, false)
				wantError(t, "a second release", r, http.StatusConflict, "conflict", "")
				// Worker A deletes the messages the rows above had them
				// write (DSR-4), and is told the number stays with the
				// account; the recipient of their copy, which held the
				// messages, is sent a deletion notice.
				a := f.by[worker]
				id, r := f.newRequest(t, a.u, map[string]any{"kind": "deletion", "fields": []string{"support_ticket", "mobile"}})
				body := string(r.Body)
				if !strings.Contains(body, `"deleted_fields":["support_ticket"]`) || !strings.Contains(body, `{"field":"mobile","reason":"needed_for_account"}`) ||
					!strings.Contains(body, `"status":"completed"`) || !strings.Contains(body, `"notices":1`) {
					t.Errorf("deletion: %s", short(r.Body))
				}
				r = f.call(t, a, "GET", "/v1/me/requests/"+id, nil, false)
				if !strings.Contains(string(r.Body), `"kind":"deletion_notice","recipient":"`+sandboxRecipient+`"`) {
					t.Errorf("the deletion notice: %s", short(r.Body))
				}
			}},
	}
}
