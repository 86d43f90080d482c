package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"gigvault/internal/access"
	"gigvault/internal/dsrexport"
	"gigvault/internal/errs"
	"gigvault/internal/identity"
	"gigvault/internal/policy"
	"gigvault/internal/rights"
	"gigvault/internal/sharing"
	"gigvault/internal/store"
	"gigvault/internal/textscan"
	"gigvault/internal/vault"
)

// Rights requests (DSR-1..7), complaints and appeals (CON-12), account
// cancellation (DSR-5) and legal holds (RET-1).
var (
	handlers = rule{roles: []policy.Role{policy.Support, policy.DataOperator, policy.DPO}}
	dpos     = rule{roles: []policy.Role{policy.DPO}}
)

func (s *Server) routesRights() {
	s.authed("POST", "/v1/me/requests", users, s.createRequest)
	s.authed("GET", "/v1/me/requests", users, s.myRequests)
	s.authed("GET", "/v1/me/requests/{id}", users, s.myRequest)
	s.authed("POST", "/v1/me/requests/{id}/messages", users, s.postMyMessage)
	s.authed("POST", "/v1/me/requests/{id}/withdraw", users, s.withdrawRequest)
	s.authed("GET", "/v1/me/requests/{id}/copy", users, s.downloadCopy)
	s.authed("GET", "/v1/me/cancellation", users, s.explainCancellation)
	s.authed("POST", "/v1/me/cancellation", users, s.startCancellation)
	s.authed("POST", "/v1/me/cancellation/{id}/confirm", users, s.confirmCancellation)
	s.authed("GET", "/v1/staff/requests", handlers, s.requestQueue)
	s.authed("GET", "/v1/staff/requests/{id}", handlers, s.staffRequest)
	s.authed("POST", "/v1/staff/requests/{id}/messages", handlers, s.postStaffMessage)
	s.authed("POST", "/v1/staff/requests/{id}/extend", handlers, s.extendRequest)
	s.authed("POST", "/v1/staff/requests/{id}/resolve", handlers, s.resolveRequest)
	s.authed("GET", "/v1/staff/legal-holds", dpos, s.listHolds)
	s.authed("POST", "/v1/staff/legal-holds", dpos, s.placeHold)
	s.authed("POST", "/v1/staff/legal-holds/{id}/release", dpos, s.releaseHold)
}

func (s *Server) rightsReady(w http.ResponseWriter, r *http.Request) bool {
	if s.deps.Rights == nil || s.deps.Guard == nil || s.deps.Identity == nil {
		WriteError(w, r, errNoService)
		return false
	}
	return true
}

// requestIn is the body of a new request; which members apply depends on
// the kind.
type requestIn struct {
	Kind            string   `json:"kind"`
	Code            string   `json:"code"`
	Category        string   `json:"category"`
	Message         string   `json:"message"`
	Fields          []string `json:"fields"`
	Scope           string   `json:"scope"`
	Field           string   `json:"field"`
	Record          string   `json:"record"`
	Value           string   `json:"value"`
	IncludeIdentity *bool    `json:"include_identity"`
	DeliverTo       string   `json:"deliver_to"`
	DecisionRef     string   `json:"decision_ref"`
}

var reRef = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9:_.-]{0,99}$`)

func invalid(field, zh, en string) error { return errs.New(errs.Invalid, field, zh, en) }

// check validates a request before the SMS code is spent on it.
func (s *Server) checkRequest(ctx context.Context, p *access.Principal, in *requestIn) error {
	cat := s.deps.Catalog
	// Only complaints and appeals have a category, only appeals a decision
	// reference: nothing else a client sends is kept.
	if in.Kind != string(rights.Complaint) && in.Kind != string(rights.Appeal) {
		in.Category = ""
	}
	if in.Kind != string(rights.Appeal) {
		in.DecisionRef = ""
	}
	switch rights.Kind(in.Kind) {
	case rights.Access:
	case rights.Copy:
		if in.DeliverTo != "" && (s.deps.Rights.Deliverable == nil || !s.deps.Rights.Deliverable(in.DeliverTo)) {
			return invalid("deliver_to", "无法向该接收方传输副本：请从可传输的接收方中选择", "a copy cannot be sent to this recipient: choose one that accepts transfers")
		}
	case rights.Correction:
		f, ok := cat.Field(in.Field)
		if !ok {
			return invalid("field", "该字段未在个人信息目录中声明", "a field is not declared in the PI catalog")
		}
		if f.Multi && in.Record == "" {
			return invalid("record", "请指明要更正的记录", "name the record to correct")
		}
		if in.Record != "" && !reRef.MatchString(in.Record) {
			return invalid("record", "记录编号格式不正确", "the record ID is malformed")
		}
		if !f.Multi {
			in.Record = ""
		}
		if in.Value == "" {
			return invalid("value", "请填写更正后的值", "give the corrected value")
		}
		if err := s.deps.Rights.CheckProposal(in.Field, in.Value); err != nil {
			return err
		}
		if n := len([]rune(strings.TrimSpace(in.Message))); n > 2000 {
			return invalid("message", "说明不超过2000个字符", "a message is at most 2000 characters")
		}
		has, err := s.deps.Vault.Has(ctx, p.SubjectID, in.Field)
		if err != nil {
			return err
		}
		if !has {
			return errs.New(errs.NotFound, "field", "我们没有保存您的该项信息", "we hold no value of this field for you")
		}
	case rights.Deletion:
		switch in.Scope {
		case "all":
			if len(in.Fields) > 0 {
				return invalid("fields", "删除全部信息时不能再指定字段", "scope all takes no field list")
			}
		case "", "fields":
			in.Scope = "fields"
			if len(in.Fields) == 0 || len(in.Fields) > 100 {
				return invalid("fields", "请选择要删除的信息（1至100项）", "choose 1 to 100 fields to delete")
			}
			for _, f := range in.Fields {
				if _, ok := cat.Field(f); !ok {
					return errs.New(errs.Invalid, "fields", "该字段未在个人信息目录中声明", "a field is not declared in the PI catalog").With("", []string{f}, "")
				}
			}
		default:
			return invalid("scope", "删除范围须为 fields 或 all", "scope is fields or all")
		}
		if held, err := s.deps.Rights.UnderHold(ctx, s.deps.DB, p.SubjectID); err != nil || held {
			if err == nil {
				err = rights.Held
			}
			return err
		}
	case rights.Complaint, rights.Appeal:
		cats := rights.ComplaintCategories
		if in.Kind == string(rights.Appeal) {
			cats = rights.AppealCategories
			if !reRef.MatchString(in.DecisionRef) {
				return invalid("decision_ref", "请指明申诉的自动化决定（如核验编号）", "name the automated decision appealed against (a reference such as a verification ID)")
			}
		}
		if !slices.Contains(cats, in.Category) {
			return errs.New(errs.Invalid, "category", "请选择类别", "choose a category").With("", cats, "")
		}
		if n := len([]rune(strings.TrimSpace(in.Message))); n < 1 || n > 2000 {
			return invalid("message", "请描述您的问题（1至2000个字符）", "describe the problem (1 to 2000 characters)")
		}
	case rights.Cancellation:
		return invalid("kind", "注销账户请使用注销流程", "cancel the account through /v1/me/cancellation")
	default:
		return errs.New(errs.Invalid, "kind", "未知的请求类型", "unknown request kind")
	}
	return nil
}

// createRequest receives a rights request: it is validated, the requester
// proves who they are with a fresh SMS code (DSR-7), and what can be done at
// once is done: access and copy answer immediately, deletion is carried
// out; corrections, complaints and appeals go to the handlers' queue with a
// deadline.
func (s *Server) createRequest(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.rightsReady(w, r) {
		return
	}
	var in requestIn
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	if err := s.checkRequest(ctx, p, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	svc := s.deps.Rights
	// A copy of identity data needs 2 factors: check before the code is
	// spent, from which fields the person has (nothing decrypted).
	verified := "sms"
	include := in.IncludeIdentity == nil || *in.IncludeIdentity
	if in.Kind == string(rights.Copy) && include {
		held, err := svc.HeldFields(ctx, s.deps.DB, p.SubjectID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if svc.HasIdentityFields(held) {
			if err := svc.RequireTwoFactor(ctx, p.SubjectID); err != nil {
				s.fail(w, r, err)
				return
			}
			verified = "sms+2f"
		}
	}
	if err := s.deps.Identity.VerifyCode(ctx, p, identity.CodeRights, in.Code); err != nil {
		s.fail(w, r, err)
		return
	}
	// Only now, with the requester verified, is their data read.
	var inv rights.Inventory
	var vals []vault.Value
	if in.Kind == string(rights.Access) || in.Kind == string(rights.Copy) {
		var err error
		if inv, vals, err = svc.Inventory(ctx, p); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	id, err := rights.NewID()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n := rights.New{Subject: p.SubjectID, Kind: rights.Kind(in.Kind), Category: in.Category, VerifiedWith: verified}
	out := map[string]any{}
	err = s.deps.DB.InTx(ctx, func(tx *store.Tx) error {
		var req rights.Request
		var err error
		switch rights.Kind(in.Kind) {
		case rights.Access:
			if req, err = svc.Create(ctx, tx, id, n, p.ActorID(), "api"); err != nil {
				return err
			}
			req, err = svc.Transition(ctx, tx, req, rights.Completed, "system:rights", "answered", p.ActorID(), "api")
			out["inventory"] = inv
		case rights.Copy:
			n.Params = rights.Params{IncludeIdentity: include, DeliverTo: in.DeliverTo}
			if req, err = svc.Create(ctx, tx, id, n, p.ActorID(), "api"); err != nil {
				return err
			}
			if !include {
				vals = svc.WithoutIdentity(vals)
			}
			out["download"] = "/v1/me/requests/" + id + "/copy"
			out["values"] = len(vals)
			if in.DeliverTo != "" {
				if err := s.queueCopy(ctx, tx, p, req, vals); err != nil {
					return err
				}
			}
			req, err = svc.Transition(ctx, tx, req, rights.Completed, "system:rights", "copy_ready", p.ActorID(), "api")
		case rights.Correction:
			var sealed []byte
			var ver int
			if sealed, ver, err = svc.SealProposal(ctx, p.SubjectID, id, in.Field, in.Value); err != nil {
				return err
			}
			n.Params, n.Sealed, n.SealedVer = rights.Params{Fields: []string{in.Field}, Record: in.Record}, sealed, ver
			if req, err = svc.Create(ctx, tx, id, n, p.ActorID(), "api"); err != nil {
				return err
			}
			if strings.TrimSpace(in.Message) != "" {
				_, err = svc.Post(ctx, tx, p, req, "subject", in.Message)
			}
		case rights.Deletion:
			fields := in.Fields
			if in.Scope == "all" {
				if fields, err = svc.HeldFields(ctx, tx, p.SubjectID); err != nil {
					return err
				}
			}
			n.Params = rights.Params{Fields: in.Fields, Scope: in.Scope}
			if req, err = svc.Create(ctx, tx, id, n, p.ActorID(), "api"); err != nil {
				return err
			}
			var deleted, notices int
			var gone []string
			var kept map[string]string
			if deleted, gone, kept, notices, err = svc.Delete(ctx, tx, p, req, fields); err != nil {
				return err
			}
			if gone == nil {
				gone = []string{}
			}
			out["deleted_values"], out["deleted_fields"], out["notices"] = deleted, gone, notices
			out["kept"] = s.keptReasons(kept)
			req, err = svc.Transition(ctx, tx, req, rights.Completed, "system:rights", "deleted", p.ActorID(), "api")
		case rights.Complaint, rights.Appeal:
			n.Params = rights.Params{DecisionRef: in.DecisionRef}
			if req, err = svc.Create(ctx, tx, id, n, p.ActorID(), "api"); err != nil {
				return err
			}
			_, err = svc.Post(ctx, tx, p, req, "subject", in.Message)
			if in.Kind == string(rights.Appeal) {
				out["review"] = map[string]string{
					"zh": "您对自动化决定的申诉将由工作人员人工复核，并在期限内答复；复核期间您可以补充说明。",
					"en": "A member of staff will review the automated decision by hand and answer within the deadline; you may add to your appeal meanwhile.",
				}
			}
		}
		out["request"] = req
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

// keptReasons lists the fields a deletion kept and why, in catalog order.
func (s *Server) keptReasons(kept map[string]string) []map[string]string {
	out := []map[string]string{}
	for _, f := range s.deps.Catalog.Fields() {
		if why, ok := kept[f.Name]; ok {
			out = append(out, map[string]string{"field": f.Name, "reason": why})
		}
	}
	return out
}

// queueCopy records the provision of a copy to the recipient the person
// named in the sharing ledger (SHR-1) and queues its delivery.
func (s *Server) queueCopy(ctx context.Context, tx *store.Tx, p *access.Principal, req rights.Request, vals []vault.Value) error {
	fields := []string{}
	for _, v := range vals {
		if !slices.Contains(fields, v.Field) {
			fields = append(fields, v.Field)
		}
	}
	slices.Sort(fields)
	if len(fields) == 0 {
		return invalid("deliver_to", "没有可传输的个人信息", "there is no data to send")
	}
	lid, err := s.deps.Ledger.Append(ctx, tx, sharing.Provision{Recipient: req.Params.DeliverTo, RecipientKind: "subject_named", Purpose: "rights_request",
		Fields: fields, Subjects: []string{p.SubjectID}, Records: len(vals), LegalBasis: "consent", ConsentRef: req.ID, Actor: p.ActorID(), Channel: "api"})
	if err != nil {
		return err
	}
	if s.deps.Rights.Outbox == nil {
		return errNoService
	}
	_, err = s.deps.Rights.Outbox.Enqueue(ctx, tx, rights.Notice{Kind: "copy", RequestID: req.ID, SubjectID: p.SubjectID, Recipient: req.Params.DeliverTo,
		RecipientKind: "subject_named", Fields: fields, LedgerIDs: []string{lid}})
	return err
}

func (s *Server) myRequests(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.rightsReady(w, r) {
		return
	}
	rs, err := s.deps.Rights.BySubject(r.Context(), p.SubjectID)
	if rs == nil {
		rs = []rights.Request{}
	}
	s.reply(w, r, http.StatusOK, map[string]any{"requests": rs}, err)
}

// requestView is a request with its thread and deliveries.
type requestView struct {
	Request         rights.Request    `json:"request"`
	SubjectID       string            `json:"subject_id,omitempty"`
	WorkingDaysLeft int               `json:"working_days_left"`
	Overdue         bool              `json:"overdue"`
	Messages        []rights.Message  `json:"messages"`
	Deliveries      []rights.Delivery `json:"deliveries"`
	Proposal        string            `json:"proposed_value,omitempty"`
}

func (s *Server) view(r *http.Request, p *access.Principal, req rights.Request, staffView bool) (requestView, error) {
	ctx := r.Context()
	svc := s.deps.Rights
	now := s.deps.Clock.Now()
	v := requestView{Request: req, WorkingDaysLeft: svc.Deadlines().WorkingDaysLeft(now, req.DueAt), Overdue: req.Live() && !now.Before(req.DueAt)}
	if staffView {
		v.SubjectID = req.SubjectID
	}
	var err error
	if v.Messages, err = svc.Thread(ctx, p, req); err != nil && !errs.Is(err, errs.Erased) {
		return v, err
	}
	if v.Messages == nil {
		v.Messages = []rights.Message{}
	}
	if v.Deliveries, err = svc.Deliveries(ctx, req.ID); err != nil {
		return v, err
	}
	if req.Kind == rights.Correction && req.Live() {
		if staffView {
			v.Proposal, err = svc.MaskedProposal(ctx, req)
		} else {
			v.Proposal, err = svc.Proposal(ctx, req)
		}
		if err != nil && !errs.Is(err, errs.Erased) {
			return v, err
		}
	}
	return v, nil
}

func (s *Server) myRequest(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.rightsReady(w, r) {
		return
	}
	req, err := s.deps.Rights.Own(r.Context(), p.SubjectID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.view(r, p, req, false)
	s.reply(w, r, http.StatusOK, v, err)
}

func (s *Server) postMyMessage(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.rightsReady(w, r) {
		return
	}
	req, err := s.deps.Rights.Own(r.Context(), p.SubjectID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.postMessage(w, r, p, req, "subject")
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request, p *access.Principal, req rights.Request, author string) {
	var in struct {
		Message string `json:"message"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if !req.Live() {
		s.fail(w, r, errs.New(errs.Conflict, "id", "该请求已结束，无法再留言", "the request is closed").With("status_"+string(req.Status), nil, req.ID))
		return
	}
	var id string
	err := s.deps.DB.InTx(r.Context(), func(tx *store.Tx) error {
		var err error
		id, err = s.deps.Rights.Post(r.Context(), tx, p, req, author, in.Message)
		return err
	})
	s.reply(w, r, http.StatusCreated, map[string]string{"id": id}, err)
}

func (s *Server) withdrawRequest(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.rightsReady(w, r) {
		return
	}
	ctx := r.Context()
	req, err := s.deps.Rights.Own(ctx, p.SubjectID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Kind == rights.Cancellation && req.Status == rights.InProgress {
		s.fail(w, r, errs.New(errs.Conflict, "id", "注销正在执行，无法撤回", "the cancellation is being carried out"))
		return
	}
	err = s.deps.DB.InTx(ctx, func(tx *store.Tx) error {
		req, err = s.deps.Rights.Transition(ctx, tx, req, rights.Withdrawn, "", "withdrawn_by_subject", p.ActorID(), "api")
		return err
	})
	s.reply(w, r, http.StatusOK, map[string]any{"request": req}, err)
}

func (s *Server) explainCancellation(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.rightsReady(w, r) {
		return
	}
	c, err := s.deps.Rights.Explain(r.Context(), p)
	s.reply(w, r, http.StatusOK, c, err)
}

func (s *Server) startCancellation(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.rightsReady(w, r) {
		return
	}
	var in struct {
		Explanation string `json:"explanation"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := s.deps.Rights.StartCancellation(r.Context(), p, in.Explanation)
	s.reply(w, r, http.StatusCreated, map[string]any{"request": req, "next": map[string]string{
		"send_code": "POST /v1/me/verification/send {\"purpose\":\"cancel\"}",
		"confirm":   "POST /v1/me/cancellation/" + req.ID + "/confirm {\"code\":…}",
	}}, err)
}

// confirmCancellation is the second confirmation, with a fresh SMS code:
// the request counts as received now, and is carried out at once unless a
// legal hold stands (then it waits, and handlers see it in the queue).
func (s *Server) confirmCancellation(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.rightsReady(w, r) {
		return
	}
	var in struct {
		Code string `json:"code"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	svc := s.deps.Rights
	req, err := svc.Own(ctx, p.SubjectID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Kind != rights.Cancellation || req.Status != rights.Confirming {
		s.fail(w, r, errs.New(errs.Conflict, "id", "该注销申请不在待确认状态", "the cancellation is not awaiting confirmation").With("status_"+string(req.Status), nil, req.ID))
		return
	}
	if err := s.deps.Identity.VerifyCode(ctx, p, identity.CodeCancel, in.Code); err != nil {
		s.fail(w, r, err)
		return
	}
	err = s.deps.DB.InTx(ctx, func(tx *store.Tx) error {
		req, err = svc.Confirmed(ctx, tx, req, "sms", p.ActorID())
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done, err := svc.CompleteCancellation(ctx, req, "account cancellation (api)")
	if e := errs.As(err); e != nil && e.Reason == "legal_hold" {
		writeJSON(w, http.StatusAccepted, map[string]any{"request": req, "held": true})
		return
	}
	s.reply(w, r, http.StatusOK, map[string]any{"request": done}, err)
}

func (s *Server) requestQueue(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.rightsReady(w, r) {
		return
	}
	q := r.URL.Query()
	f := rights.Filter{Kind: rights.Kind(q.Get("kind")), Status: rights.Status(q.Get("status")), Overdue: q.Get("overdue") == "true" || q.Get("overdue") == "1"}
	if f.Kind != "" && !slices.Contains(rights.Kinds, f.Kind) {
		s.fail(w, r, invalid("kind", "未知的请求类型", "unknown request kind"))
		return
	}
	rs, err := s.deps.Rights.Queue(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.deps.Clock.Now()
	type item struct {
		rights.Request
		SubjectID       string `json:"subject_id"`
		WorkingDaysLeft int    `json:"working_days_left"`
		Overdue         bool   `json:"overdue"`
	}
	out := []item{}
	overdue := 0
	for _, req := range rs {
		it := item{Request: req, SubjectID: req.SubjectID, WorkingDaysLeft: s.deps.Rights.Deadlines().WorkingDaysLeft(now, req.DueAt),
			Overdue: req.Live() && !now.Before(req.DueAt)}
		if it.Overdue {
			overdue++
		}
		out = append(out, it)
	}
	writeJSON(w, http.StatusOK, map[string]any{"requests": out, "overdue": overdue})
}

func (s *Server) staffRequest(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.rightsReady(w, r) {
		return
	}
	req, err := s.deps.Rights.Get(r.Context(), s.deps.DB, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.view(r, p, req, true)
	s.reply(w, r, http.StatusOK, v, err)
}

func (s *Server) postStaffMessage(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.rightsReady(w, r) {
		return
	}
	req, err := s.deps.Rights.Get(r.Context(), s.deps.DB, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.postMessage(w, r, p, req, "staff")
}

func (s *Server) extendRequest(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.rightsReady(w, r) {
		return
	}
	var in struct {
		WorkingDays int    `json:"working_days"`
		Reason      string `json:"reason"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if n := len([]rune(in.Reason)); n < 4 || n > 200 {
		s.fail(w, r, invalid("reason", "延期须说明理由（4至200个字符）", "an extension needs a reason (4 to 200 characters)"))
		return
	}
	if err := textscan.Check("reason", in.Reason); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	svc := s.deps.Rights
	var req rights.Request
	err := s.deps.DB.InTx(ctx, func(tx *store.Tx) error {
		cur, err := svc.Get(ctx, tx, r.PathValue("id"))
		if err != nil {
			return err
		}
		if req, err = svc.Extend(ctx, tx, cur, in.WorkingDays, in.Reason, p.ActorID()); err != nil {
			return err
		}
		return svc.SystemPost(ctx, tx, req, fmt.Sprintf("处理期限已延长至%s。原因：%s\nThe deadline is extended to %s. Reason: %s",
			req.DueDate, in.Reason, req.DueDate, in.Reason))
	})
	s.reply(w, r, http.StatusOK, map[string]any{"request": req}, err)
}

// Resolution outcomes.
var outcomes = map[string]rights.Status{"completed": rights.Completed, "rejected": rights.Rejected}

// Review results of an appeal (CON-12).
var reviews = []string{"upheld", "overturned"}

func (s *Server) resolveRequest(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.rightsReady(w, r) {
		return
	}
	var in struct {
		Outcome string `json:"outcome"`
		Review  string `json:"review"`
		Message string `json:"message"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	to, ok := outcomes[in.Outcome]
	if !ok {
		s.fail(w, r, invalid("outcome", "处理结果须为 completed 或 rejected", "outcome is completed or rejected"))
		return
	}
	ctx := r.Context()
	svc := s.deps.Rights
	var req rights.Request
	err := s.deps.DB.InTx(ctx, func(tx *store.Tx) error {
		cur, err := svc.Get(ctx, tx, r.PathValue("id"))
		if err != nil {
			return err
		}
		if !cur.Live() {
			return errs.New(errs.Conflict, "id", "该请求已结束", "the request is closed").With("status_"+string(cur.Status), nil, cur.ID)
		}
		outcome := in.Outcome
		switch cur.Kind {
		case rights.Correction, rights.Complaint, rights.Appeal:
		default:
			return errs.New(errs.Conflict, "id", "该类请求由系统自动处理", "this kind of request is carried out automatically").With("kind_"+string(cur.Kind), nil, cur.ID)
		}
		if cur.Kind == rights.Appeal {
			if !slices.Contains(reviews, in.Review) {
				return errs.New(errs.Invalid, "review", "请填写人工复核结论", "give the human review's result").With("", reviews, "")
			}
			outcome += ":" + in.Review
		}
		if strings.TrimSpace(in.Message) == "" {
			return invalid("message", "请向用户说明处理结果", "tell the person the result")
		}
		if cur.Kind == rights.Correction && to == rights.Completed {
			if err := svc.ApplyCorrection(ctx, tx, p.Actor(), cur); err != nil {
				return err
			}
		}
		if _, err := svc.Post(ctx, tx, p, cur, "staff", in.Message); err != nil {
			return err
		}
		req, err = svc.Transition(ctx, tx, cur, to, p.ActorID(), outcome, p.ActorID(), "api")
		return err
	})
	s.reply(w, r, http.StatusOK, map[string]any{"request": req}, err)
}

func (s *Server) listHolds(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.rightsReady(w, r) {
		return
	}
	hs, err := s.deps.Rights.Holds(r.Context(), r.URL.Query().Get("subject_id"))
	s.reply(w, r, http.StatusOK, map[string]any{"holds": hs}, err)
}

func (s *Server) placeHold(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.rightsReady(w, r) {
		return
	}
	var in struct {
		SubjectID string `json:"subject_id"`
		Reason    string `json:"reason"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := textscan.Check("reason", in.Reason); err != nil {
		s.fail(w, r, err)
		return
	}
	h, err := s.deps.Rights.PlaceHold(r.Context(), in.SubjectID, in.Reason, p.ActorID())
	s.reply(w, r, http.StatusCreated, map[string]any{"hold": h}, err)
}

func (s *Server) releaseHold(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.rightsReady(w, r) {
		return
	}
	h, err := s.deps.Rights.ReleaseHold(r.Context(), r.PathValue("id"), p.ActorID())
	s.reply(w, r, http.StatusOK, map[string]any{"hold": h}, err)
}

// downloadCopy streams the copy of a completed copy request, built from the
// vault at the moment of download (nothing is kept in clear), for 7 days.
func (s *Server) downloadCopy(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.rightsReady(w, r) {
		return
	}
	ctx := r.Context()
	svc := s.deps.Rights
	req, err := svc.Own(ctx, p.SubjectID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Kind != rights.Copy || req.Status != rights.Completed || req.CompletedAt == nil {
		s.fail(w, r, errs.New(errs.Conflict, "id", "该请求没有可下载的副本", "this request has no copy to download").With("not_a_copy", nil, req.ID))
		return
	}
	if s.deps.Clock.Now().After(req.CompletedAt.AddDate(0, 0, rights.CopyWindowDays)) {
		s.fail(w, r, errs.New(errs.Conflict, "id", "副本下载期限已过，请重新申请", "the copy has expired: ask again").With("copy_expired", nil, req.ID))
		return
	}
	vals, err := s.deps.Guard.ReadOwn(ctx, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !req.Params.IncludeIdentity {
		vals = svc.WithoutIdentity(vals)
	}
	zip, err := svc.BuildCopy(ctx, p.SubjectID, vals)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", dsrexport.ContentType)
	w.Header().Set("Content-Disposition", `attachment; filename="gigvault-copy-`+req.ID+`.zip"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(zip)
}
