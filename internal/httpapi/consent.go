package httpapi

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"gigvault/internal/access"
	"gigvault/internal/audit"
	"gigvault/internal/consent"
	"gigvault/internal/errs"
	"gigvault/internal/policy"
	"gigvault/internal/policydoc"
	"gigvault/internal/store"
	"gigvault/internal/thirdparty"
)

// ReceiptKey is the published consent-receipt key.
type ReceiptKey struct {
	ID     string `json:"kid"`
	Alg    string `json:"alg"`
	Public string `json:"public_key"` // lower-case hex
}

var dpo = rule{roles: []policy.Role{policy.DPO}}

// routesConsent registers the public documents, consent, personalisation
// and privacy-policy management (issue 4).
func (s *Server) routesConsent() {
	s.public("GET", "/public/privacy-policy", s.publicPolicy(false, false))
	s.public("GET", "/public/privacy-policy.json", s.publicPolicy(false, true))
	s.public("GET", "/public/privacy-policy/{version}", s.publicPolicy(false, false))
	s.public("GET", "/public/children-policy", s.publicPolicy(true, false))
	s.public("GET", "/public/children-policy.json", s.publicPolicy(true, true))
	s.public("GET", "/public/pi-collected", s.publicList("collected", false))
	s.public("GET", "/public/pi-collected.json", s.publicList("collected", true))
	s.public("GET", "/public/third-party-sharing", s.publicList("sharing", false))
	s.public("GET", "/public/third-party-sharing.json", s.publicList("sharing", true))
	s.public("GET", "/public/receipt-keys", s.receiptKeys)
	s.public("GET", "/v1/consent/notices/{scope}", s.consentNotice)

	s.authed("GET", "/v1/me/consents", users, s.myConsents)
	s.authed("POST", "/v1/me/consents", users, s.consentAct)
	s.authed("POST", "/v1/me/consents/prompt", users, s.consentPrompt)
	s.authed("POST", "/v1/me/consents/withdraw", users, s.consentWithdraw)
	s.authed("GET", "/v1/me/consents/events", users, s.consentEvents)
	s.authed("GET", "/v1/me/consents/events/{id}/receipt", users, s.consentReceipt)
	s.authed("GET", "/v1/me/sharing", users, s.mySharing)
	s.authed("GET", "/v1/me/personalisation", users, s.getPersonalisation)
	s.authed("PUT", "/v1/me/personalisation", users, s.setPersonalisation)
	s.authed("DELETE", "/v1/me/personalisation/profile", users, s.deleteProfile)

	s.authed("GET", "/v1/staff/policies", staff, s.listPolicies)
	s.authed("POST", "/v1/staff/policies", dpo, s.draftPolicy)
	s.authed("POST", "/v1/staff/policies/{version}/publish", dpo, s.publishPolicy)
	s.authed("GET", "/v1/staff/sharing", rule{roles: []policy.Role{policy.DPO, policy.AuditAdmin}}, s.sharingByRecipient)
}

// public registers a route anyone may call, limited per client IP like
// every request without a session.
func (s *Server) public(method, pattern string, h http.HandlerFunc) {
	s.add(method, pattern, true, func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := s.lim.ip.Allow(limitKey(s.clientIP(r))); !ok {
			WriteError(w, r, errRate.After(wait))
			return
		}
		h(w, r)
	})
}

func (s *Server) consentReady(w http.ResponseWriter, r *http.Request) bool {
	if s.deps.Consent == nil || s.deps.Policies == nil {
		WriteError(w, r, errNoService)
		return false
	}
	return true
}

// publicPolicy serves the privacy policy (or the children's policy) in
// effect, or a given published version, as HTML or JSON (CON-1, CON-8).
func (s *Server) publicPolicy(children, jsonRoute bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		asJSON := jsonRoute // per request: "{version}.json" asks for JSON
		if !s.consentReady(w, r) {
			return
		}
		ctx := r.Context()
		version := r.PathValue("version")
		if version == "" {
			cur, err := s.deps.Policies.Current(ctx)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			version = cur.Version
		}
		if strings.HasSuffix(version, ".json") {
			version, asJSON = strings.TrimSuffix(version, ".json"), true
		}
		v, err := s.deps.Policies.Get(ctx, version)
		if err == nil && v.Status != "published" {
			err = errs.New(errs.NotFound, "version", "该版本尚未发布", "this version is not published")
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		doc, kids, err := s.deps.Policies.Documents(ctx, version)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		body := doc
		if children {
			body = kids
		}
		if asJSON {
			writeRaw(w, "application/json; charset=utf-8", body)
			return
		}
		var html []byte
		if children {
			var c policydoc.Children
			if err = json.Unmarshal(body, &c); err == nil {
				html, err = c.HTML()
			}
		} else {
			var p policydoc.Policy
			if err = json.Unmarshal(body, &p); err == nil {
				html, err = p.HTML()
			}
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeRaw(w, "text/html; charset=utf-8", html)
	}
}

// publicList serves the list of PI collected or the third-party sharing
// list (CON-10, SHR-2), generated from the catalog and the registries.
func (s *Server) publicList(which string, asJSON bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		src := s.deps.Sources
		if src.Catalog == nil || src.Functions == nil || src.ThirdParty == nil {
			WriteError(w, r, errNoService)
			return
		}
		var body []byte
		var err error
		switch {
		case which == "collected" && asJSON:
			body, err = thirdparty.CollectedList(src.Catalog, src.Functions).JSON()
		case which == "collected":
			body, err = thirdparty.CollectedList(src.Catalog, src.Functions).HTML()
		case asJSON:
			body, err = thirdparty.SharingList(src.ThirdParty, src.Catalog).JSON()
		default:
			body, err = thirdparty.SharingList(src.ThirdParty, src.Catalog).HTML()
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		ct := "text/html; charset=utf-8"
		if asJSON {
			ct = "application/json; charset=utf-8"
		}
		writeRaw(w, ct, body)
	}
}

func writeRaw(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (s *Server) receiptKeys(w http.ResponseWriter, r *http.Request) {
	if s.deps.ReceiptKey == nil {
		WriteError(w, r, errNoService)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": []ReceiptKey{*s.deps.ReceiptKey}})
}

// consentNotice is the notice to show before asking about one scope.
func (s *Server) consentNotice(w http.ResponseWriter, r *http.Request) {
	if !s.consentReady(w, r) {
		return
	}
	n, err := s.deps.Consent.NoticeFor(r.Context(), r.PathValue("scope"))
	s.reply(w, r, http.StatusOK, n, err)
}

type scopeState struct {
	consent.State
	Current         bool       `json:"current"` // still counts: given under the latest material policy version or later
	PromptAllowedAt *time.Time `json:"prompt_allowed_at,omitempty"`
}

func (s *Server) myConsents(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.consentReady(w, r) {
		return
	}
	ctx := r.Context()
	cur, err := s.deps.Policies.Current(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	floor, _, err := s.deps.Policies.MaterialFloor(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	states, err := s.deps.Consent.Store().States(ctx, p.SubjectID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []scopeState{}
	now := s.deps.Clock.Now()
	for _, sc := range slices.Sorted(maps.Keys(states)) {
		st := scopeState{State: states[sc], Current: states[sc].PolicySeq >= floor}
		if at := states[sc].PromptAllowedAt(now); !at.IsZero() {
			st.PromptAllowedAt = &at
		}
		out = append(out, st)
	}
	writeJSON(w, http.StatusOK, map[string]any{"policy_version": cur.Version, "consents": out,
		"scopes": policydoc.Scopes(s.deps.Sources)})
}

type consentBody struct {
	Scope         string                    `json:"scope"`
	Scopes        []string                  `json:"scopes"` // refused when more than one: no bundling
	Event         string                    `json:"event"`
	Explicit      bool                      `json:"explicit"`
	PolicyVersion string                    `json:"policy_version"`
	NoticeDigest  string                    `json:"notice_digest"`
	Channel       string                    `json:"channel"`
	Language      string                    `json:"language"`
	By            string                    `json:"by"`
	Guardian      *consent.GuardianIdentity `json:"guardian"`
}

// consentAct records an explicit agree or refuse by the subject or their
// guardian, with its evidence, and returns the signed receipt.
func (s *Server) consentAct(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.consentReady(w, r) {
		return
	}
	var in consentBody
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Event == consent.Withdraw {
		s.fail(w, r, errs.New(errs.Invalid, "event", "撤回请使用 /v1/me/consents/withdraw", "withdraw through /v1/me/consents/withdraw"))
		return
	}
	s.act(w, r, p, in)
}

func (s *Server) consentWithdraw(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.consentReady(w, r) {
		return
	}
	var in consentBody
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	in.Event = consent.Withdraw
	s.act(w, r, p, in)
}

func (s *Server) act(w http.ResponseWriter, r *http.Request, p *access.Principal, in consentBody) {
	ctx := r.Context()
	scopes := len(in.Scopes)
	if in.Scope == "" && scopes == 1 {
		in.Scope = in.Scopes[0]
	}
	if in.Scope != "" && scopes == 0 {
		scopes = 1
	}
	if in.Scope == "" && scopes == 0 {
		s.fail(w, r, errs.New(errs.Invalid, "scope", "请指明同意事项", "name the scope"))
		return
	}
	if in.By == "" {
		in.By = consent.BySubject
	}
	group, err := s.ageGroup(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if in.By == consent.ByGuardian && in.Guardian == nil {
		s.fail(w, r, errs.New(errs.Invalid, "guardian", "须记录监护人身份", "the guardian's identity must be given"))
		return
	}
	ev, rc, err := s.deps.Consent.Act(ctx, consent.Request{Subject: p.SubjectID, Scope: in.Scope, Scopes: scopes, Event: in.Event,
		Explicit: in.Explicit, PolicyVersion: in.PolicyVersion, NoticeDigest: in.NoticeDigest, Channel: in.Channel,
		Language: in.Language, IP: s.clientIP(r), Group: group, By: in.By, Guardian: in.Guardian, Actor: p.ActorID()})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusCreated
	if ev.Event == consent.Withdraw {
		status = http.StatusOK
	}
	body := map[string]any{"event": ev, "receipt": rc}
	if ev.Event != consent.Agree {
		at := consent.PromptAllowedAt(ev.At)
		body["prompt_allowed_at"] = at
	}
	writeJSON(w, status, body)
}

// ageGroup works out the caller's age group from their ID number or birth
// month, if they gave one (CON-8).
func (s *Server) ageGroup(r *http.Request, p *access.Principal) (consent.AgeGroup, error) {
	ctx := r.Context()
	own := map[string]string{}
	for _, f := range []string{"id_number", "birth_month"} {
		v, err := s.deps.Guard.OwnValue(ctx, p, f, policy.PurposeRights)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		own[f] = v
	}
	return ageGroupOf(own["id_number"], own["birth_month"], s.deps.Clock.Now()), nil
}

// ageGroupOf is the age group on now given an ID number or a birth month
// ("2006-01"), either possibly empty; the ID number wins. A birth month
// counts from its last day, so a person is never taken for older than
// they may be.
func ageGroupOf(idNumber, birthMonth string, now time.Time) consent.AgeGroup {
	if birth, err := consent.BirthFromIDNumber(idNumber); err == nil {
		return consent.GroupOf(consent.AgeOn(birth, now))
	}
	first, err := time.Parse("2006-01", birthMonth)
	if err != nil {
		return consent.Unknown
	}
	return consent.GroupOf(consent.AgeOn(first.AddDate(0, 1, -1), now))
}

func (s *Server) consentPrompt(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.consentReady(w, r) {
		return
	}
	var in struct {
		Scope string `json:"scope"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := s.deps.Consent.Prompt(r.Context(), p.SubjectID, in.Scope)
	s.reply(w, r, http.StatusOK, n, err)
}

func (s *Server) consentEvents(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.consentReady(w, r) {
		return
	}
	evs, err := s.deps.Consent.Store().Events(r.Context(), p.SubjectID)
	if evs == nil {
		evs = []consent.Event{}
	}
	s.reply(w, r, http.StatusOK, map[string]any{"events": evs}, err)
}

// consentReceipt signs the receipt of one of the caller's consent events
// again (the registration's agreement to the policy, say) as a file.
func (s *Server) consentReceipt(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.consentReady(w, r) {
		return
	}
	ctx := r.Context()
	ev, ok, err := s.deps.Consent.Store().Event(ctx, p.SubjectID, r.PathValue("id"))
	if err == nil && !ok {
		err = errs.New(errs.NotFound, "id", "没有该同意记录", "no such consent event")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	guardianName := ""
	if ev.GuardianRef != "" {
		guardianName = "*" // the receipt carries only a masked name
	}
	rc, err := s.deps.Consent.Receipt(ctx, ev, guardianName, "zh-CN")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := rc.Marshal()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="consent-receipt-`+ev.ID+`.json"`)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(b)
}

// mySharing is the caller's own sharing record: every provision of their
// PI outside gigvault (SHR-1, DSR-1).
func (s *Server) mySharing(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if s.deps.Ledger == nil {
		WriteError(w, r, errNoService)
		return
	}
	rows, err := s.deps.Ledger.BySubject(r.Context(), p.SubjectID)
	s.reply(w, r, http.StatusOK, map[string]any{"provisions": nonNil(rows)}, err)
}

func (s *Server) sharingByRecipient(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if s.deps.Ledger == nil {
		WriteError(w, r, errNoService)
		return
	}
	rcpt := r.URL.Query().Get("recipient")
	if rcpt == "" {
		s.fail(w, r, errs.New(errs.Invalid, "recipient", "请指明接收方", "name the recipient"))
		return
	}
	rows, err := s.deps.Ledger.ByRecipient(r.Context(), rcpt, 500)
	s.reply(w, r, http.StatusOK, map[string]any{"recipient": rcpt, "provisions": nonNil(rows)}, err)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) getPersonalisation(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.consentReady(w, r) {
		return
	}
	pr, err := s.deps.Consent.Store().Personalisation(r.Context(), p.SubjectID)
	s.reply(w, r, http.StatusOK, map[string]any{"personalisation": pr, "available_fields": consent.PersonalisationFields}, err)
}

// setPersonalisation switches personalised recommendations on or off and
// picks the PI types they may use (CON-11). Switching them off offers
// deletion of the profile data behind them.
func (s *Server) setPersonalisation(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.consentReady(w, r) {
		return
	}
	var in struct {
		Enabled *bool    `json:"enabled"`
		Fields  []string `json:"fields"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Enabled == nil {
		s.fail(w, r, errs.New(errs.Invalid, "enabled", "请说明开启或关闭个性化推荐", "say whether personalised recommendations are on"))
		return
	}
	var out consent.Personalisation
	err := s.deps.DB.InTx(r.Context(), func(tx *store.Tx) error {
		var err error
		out, err = s.deps.Consent.Store().SetPersonalisation(r.Context(), tx, p.SubjectID, consent.Personalisation{Enabled: *in.Enabled, Fields: in.Fields})
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body := map[string]any{"personalisation": out}
	if !out.Enabled {
		body["offer_delete"] = map[string]any{
			"message_zh": "个性化推荐已关闭。是否同时删除用于推荐的画像信息（搜索、浏览记录和兴趣标签）？",
			"message":    "Personalised recommendations are off. Delete the profile data behind them (searches, browsing and interest tags) too?",
			"fields":     consent.ProfileFields, "method": "DELETE", "href": "/v1/me/personalisation/profile"}
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) deleteProfile(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var n int
	err := s.deps.DB.InTx(r.Context(), func(tx *store.Tx) error {
		var err error
		n, err = s.deps.Guard.DeleteOwn(r.Context(), tx, p, "personalised_recommendation", consent.ProfileFields...)
		return err
	})
	s.reply(w, r, http.StatusOK, map[string]any{"deleted_values": n, "fields": consent.ProfileFields}, err)
}

func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.consentReady(w, r) {
		return
	}
	vs, err := s.deps.Policies.List(r.Context())
	s.reply(w, r, http.StatusOK, map[string]any{"versions": nonNil(vs)}, err)
}

// draftPolicy creates a draft privacy-policy version (the DPO's job).
func (s *Server) draftPolicy(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.consentReady(w, r) {
		return
	}
	var in struct {
		Version     string    `json:"version"`
		EffectiveAt time.Time `json:"effective_at"`
		SummaryZh   string    `json:"summary_zh"`
		Summary     string    `json:"summary"`
		Material    *bool     `json:"material"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Material == nil {
		s.fail(w, r, errs.New(errs.Invalid, "material", "请说明是否为重大变更", "say whether the change is material"))
		return
	}
	v, err := s.deps.Policies.CreateDraft(r.Context(), p.ActorID(), policydoc.Meta{Version: in.Version, EffectiveAt: in.EffectiveAt,
		SummaryZh: in.SummaryZh, SummaryEn: in.Summary, Material: *in.Material})
	if e := errs.As(err); err != nil && e.Field == "summary_en" {
		// The request names the English summary "summary".
		c := *e
		c.Field = "summary"
		err = &c
	}
	if err == nil {
		err = s.auditChange(r, p, "policy.draft", map[string]string{"version": v.Version})
	}
	s.reply(w, r, http.StatusCreated, v, err)
}

// publishPolicy publishes a draft. A material change makes consent-
// dependent processing answer consent_required until people agree to it.
func (s *Server) publishPolicy(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.consentReady(w, r) {
		return
	}
	v, err := s.deps.Policies.Publish(r.Context(), p.ActorID(), r.PathValue("version"))
	if err == nil {
		err = s.auditChange(r, p, "policy.publish", map[string]string{"version": v.Version, "material": boolText(v.Material), "digest": v.Digest})
	}
	s.reply(w, r, http.StatusOK, v, err)
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func (s *Server) auditChange(r *http.Request, p *access.Principal, action string, detail map[string]string) error {
	if s.deps.Recorder == nil {
		return errors.New("httpapi: no audit recorder")
	}
	return s.deps.Recorder.Record(r.Context(), auditEntry(p, action, detail))
}

func auditEntry(p *access.Principal, action string, detail map[string]string) audit.Entry {
	return audit.Entry{Actor: p.ActorID(), Channel: "api", Action: action, Outcome: "ok", Detail: detail}
}
