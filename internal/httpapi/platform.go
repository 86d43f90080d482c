package httpapi

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"gigvault/internal/access"
	"gigvault/internal/consent"
	"gigvault/internal/errs"
	"gigvault/internal/functions"
	"gigvault/internal/jobs"
	"gigvault/internal/policy"
	"gigvault/internal/sharing"
	"gigvault/internal/store"
	"gigvault/internal/textscan"
	"gigvault/internal/vault"
)

var (
	workers          = rule{kinds: []string{"worker"}}
	errNoApplication = errs.New(errs.NotFound, "id", "没有该报名记录", "no such application")
)

// routesPlatform registers the basic function — profile, résumé, job
// search, applications — and the employer side of it. Nothing here asks for
// optional PI (CAT-2): a worker who refused every optional consent uses all
// of it.
func (s *Server) routesPlatform() {
	s.authed("PUT", "/v1/me/profile", workers, s.putProfile)
	s.authed("PUT", "/v1/me/resume", workers, s.putResume)
	s.authed("GET", "/v1/me/resume", workers, s.getResume)
	s.authed("GET", "/v1/jobs", users, s.searchJobs)
	s.authed("GET", "/v1/jobs/recommended", workers, s.recommendedJobs)
	s.authed("GET", "/v1/jobs/{id}", users, s.getJob)
	s.authed("POST", "/v1/jobs/{id}/apply", workers, s.apply)
	s.authed("GET", "/v1/me/applications", workers, s.myApplications)
	s.authed("POST", "/v1/me/applications/{id}/withdraw", workers, s.withdrawApplication)
	s.authed("POST", "/v1/employer/jobs", employers, s.postJob)
	s.authed("GET", "/v1/employer/jobs", employers, s.orgJobs)
	s.authed("GET", "/v1/employer/applications", employers, s.orgApplications)
	s.authed("GET", "/v1/employer/applications/{id}", employers, s.orgApplication)
	s.authed("POST", "/v1/employer/applications/{id}/decision", employers, s.decideApplication)
}

func (s *Server) platformReady(w http.ResponseWriter, r *http.Request) bool {
	if s.deps.Jobs == nil || s.deps.Consent == nil || s.deps.Ledger == nil {
		WriteError(w, r, errNoService)
		return false
	}
	return true
}

// profileFields are the optional profile fields a worker may fill in.
var profileFields = []string{"name", "gender", "birth_month", "city", "job_intent", "work_start_date"}

// putProfile stores whichever optional profile fields the worker gives.
func (s *Server) putProfile(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	in := map[string]string{}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	var items []vault.Item
	for _, f := range slices.Sorted(maps.Keys(in)) {
		if !slices.Contains(profileFields, f) {
			s.fail(w, r, errs.New(errs.Invalid, f, "资料中没有该项", "not a profile field"))
			return
		}
		if v := strings.TrimSpace(in[f]); v != "" {
			items = append(items, vault.Item{Field: f, Value: v})
		}
	}
	err := s.deps.DB.InTx(r.Context(), func(tx *store.Tx) error {
		return s.deps.Guard.WriteOwn(r.Context(), tx, p, "job_matching", items...)
	})
	s.reply(w, r, http.StatusOK, map[string]any{"saved": len(items)}, err)
}

type resumeBody struct {
	Text        string            `json:"text"`
	ExpectedPay *int64            `json:"expected_pay_fen"`
	Skills      []string          `json:"skills"`
	Education   []json.RawMessage `json:"education"`
	WorkHistory []json.RawMessage `json:"work_history"`
	Visibility  string            `json:"visibility"`
}

// putResume writes the worker's résumé — the basic function's necessary
// PI — structured (education and work history as entries, skills,
// expected pay) with free text. Free text is scanned for ID, card and
// mobile numbers (OPS-1). A public résumé needs the worker's consent to
// publishing and is found by verified employers through keyed tags of its
// skills and the worker's city (GIG-2).
func (s *Server) putResume(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	var in resumeBody
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Visibility == "" {
		in.Visibility = "private"
	}
	if in.Visibility != "private" && in.Visibility != "public" {
		s.fail(w, r, errs.New(errs.Invalid, "visibility", "可见范围应为 private 或 public", "visibility must be private or public"))
		return
	}
	in.Text = strings.TrimSpace(in.Text)
	if n := len([]rune(in.Text)); n < 2 || n > 5000 {
		s.fail(w, r, errs.New(errs.Invalid, "text", "简历内容应为2至5000字", "the résumé text must be 2 to 5000 characters"))
		return
	}
	items := []vault.Item{{Field: "resume_text", Value: in.Text}}
	if err := textscan.Check("text", in.Text); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.ExpectedPay != nil {
		if *in.ExpectedPay < 0 || *in.ExpectedPay > jobs.MaxPayFen {
			s.fail(w, r, errs.New(errs.Invalid, "expected_pay_fen", "期望薪资超出范围", "the expected pay is out of range"))
			return
		}
		items = append(items, vault.Item{Field: "expected_pay", Value: strconv.FormatInt(*in.ExpectedPay, 10)})
	}
	if len(in.Skills) > 50 {
		s.fail(w, r, errs.New(errs.Invalid, "skills", "条目过多（最多50条）", "at most 50 entries"))
		return
	}
	var skills []string
	for i, v := range in.Skills {
		field := "skills[" + strconv.Itoa(i) + "]"
		if err := textscan.Check(field, v); err != nil {
			s.fail(w, r, err)
			return
		}
		if v = strings.TrimSpace(v); v != "" {
			items = append(items, vault.Item{Field: "skills", Record: strconv.Itoa(i + 1), Value: v})
			skills = append(skills, v)
		}
	}
	for _, part := range []struct {
		field string
		vals  []json.RawMessage
	}{{"education", in.Education}, {"work_history", in.WorkHistory}} {
		if len(part.vals) > 50 {
			s.fail(w, r, errs.New(errs.Invalid, part.field, "条目过多（最多50条）", "at most 50 entries"))
			return
		}
		for i, raw := range part.vals {
			v, err := parseEntry(part.field, part.field+"["+strconv.Itoa(i)+"]", raw)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if v != "" {
				items = append(items, vault.Item{Field: part.field, Record: strconv.Itoa(i + 1), Value: v})
			}
		}
	}
	ctx := r.Context()
	var tags [][]byte
	if in.Visibility == "public" {
		if err := s.publishingConsent(r, p); err != nil {
			s.fail(w, r, err)
			return
		}
		tags = s.resumeTags("skill", skills...)
		if city, err := s.deps.Guard.OwnValue(ctx, p, "city", "job_matching"); err == nil {
			tags = append(tags, s.resumeTags("city", city)...)
		} else if !errs.Is(err, errs.NotFound) {
			s.fail(w, r, err)
			return
		}
	}
	var res jobs.Resume
	err := s.deps.DB.InTx(ctx, func(tx *store.Tx) error {
		existing, err := s.deps.Jobs.Resumes(ctx, p.SubjectID)
		if err != nil {
			return err
		}
		if len(existing) > 0 {
			res = existing[0]
			if err := s.deps.Jobs.TouchResume(ctx, tx, res.ID, in.Visibility); err != nil {
				return err
			}
			res.Visibility = in.Visibility
			// Entries are rewritten whole: drop the old lists first.
			if _, err := s.deps.Guard.DeleteOwn(ctx, tx, p, "resume_sharing", "skills", "education", "work_history", "expected_pay"); err != nil {
				return err
			}
		} else if res, err = s.deps.Jobs.CreateResume(ctx, tx, p.SubjectID, in.Visibility); err != nil {
			return err
		}
		if err := s.deps.Jobs.SetResumeTerms(ctx, tx, res.ID, tags); err != nil {
			return err
		}
		return s.deps.Guard.WriteOwn(ctx, tx, p, "resume_sharing", items...)
	})
	s.reply(w, r, http.StatusOK, map[string]any{"resume": res, "values": len(items)}, err)
}

func (s *Server) getResume(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	rs, err := s.deps.Jobs.Resumes(r.Context(), p.SubjectID)
	if err == nil && len(rs) == 0 {
		err = errs.New(errs.NotFound, "", "您还没有简历", "you have no résumé yet")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	vs, err := s.deps.Guard.ReadOwn(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var mine []vault.Value
	for _, v := range vs {
		if slices.Contains(functions.ResumeFields, v.Field) {
			mine = append(mine, v)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"resume": rs[0], "values": s.values(mine)})
}

func (s *Server) searchJobs(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	q, err := jobs.ParseQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	js, err := s.deps.Jobs.Search(r.Context(), q)
	if err == nil && q.Before == "" {
		err = s.recordSearch(r, p, q.Text) // the first page is the search; later pages are paging
	}
	s.reply(w, r, http.StatusOK, map[string]any{"jobs": nonNil(js), "personalised": false}, err)
}

// recommendedJobs recommends jobs: personalised only when the worker
// switched personalisation on and consented to it, using only the PI
// types they chose, and labelled as such; otherwise the newest jobs,
// labelled as not personalised (CON-11). ?personalised=false always gives
// the non-personalised list.
func (s *Server) recommendedJobs(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	ctx := r.Context()
	pr, err := s.deps.Consent.Store().Personalisation(ctx, p.SubjectID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	why := ""
	q := jobs.Query{Limit: 20}
	var basis []string
	switch {
	case r.URL.Query().Get("personalised") == "false":
		why = "not_requested"
	case !pr.Enabled:
		why = "personalisation_off"
	default:
		ans, err := s.deps.Guard.Consent(ctx, p.SubjectID, "personalised_recommendation", false)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if ans.State != policy.Granted {
			why = "consent_required"
			break
		}
		for _, f := range []string{"city", "job_intent"} {
			if !slices.Contains(pr.Fields, f) {
				continue
			}
			v, err := s.deps.Guard.OwnValue(ctx, p, f, "personalised_recommendation")
			if errs.Is(err, errs.NotFound) {
				continue
			}
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if f == "city" {
				if n := len([]rune(v)); n < jobs.MinCityRunes || n > jobs.MaxCityRunes {
					continue // a city the job search cannot filter by
				}
				q.City = v
			} else if slices.Contains(jobs.Categories, v) {
				q.Category = v
			} else {
				continue
			}
			basis = append(basis, f)
		}
	}
	js, err := s.deps.Jobs.Search(ctx, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body := map[string]any{"jobs": nonNil(js), "personalised": why == ""}
	if why == "" {
		body["label_zh"], body["label"], body["basis"] = "个性化推荐", "Personalised recommendation", nonNil(basis)
		body["opt_out"] = "/v1/jobs/recommended?personalised=false"
	} else {
		body["label_zh"], body["label"], body["not_personalised_because"] = "非个性化推荐（按发布时间）", "Not personalised (newest first)", why
	}
	writeJSON(w, http.StatusOK, body)
}

// getJob returns a job with the notice shown before applying: applying
// provides the résumé to the employer (SHR-1).
func (s *Server) getJob(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	j, err := s.deps.Jobs.Job(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := s.deps.Consent.NoticeFor(r.Context(), consent.Scope(consent.KindRecipient, j.OrgID))
	s.reply(w, r, http.StatusOK, map[string]any{"job": j, "apply_notice": n}, err)
}

// apply is the worker's explicit act of applying: it records their
// consent to provide the résumé to this employer, the provision in the
// sharing ledger and the application, in one transaction, and returns the
// consent receipt.
func (s *Server) apply(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	var in struct {
		Explicit      bool   `json:"explicit"`
		PolicyVersion string `json:"policy_version"`
		NoticeDigest  string `json:"notice_digest"`
		Channel       string `json:"channel"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	j, err := s.deps.Jobs.Job(ctx, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rs, err := s.deps.Jobs.Resumes(ctx, p.SubjectID)
	if err == nil && len(rs) == 0 {
		err = errs.New(errs.Invalid, "resume", "请先填写简历再报名", "write a résumé before applying").With("resume_required", nil, "")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	own, err := s.deps.Guard.ReadOwn(ctx, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var fields []string
	records := 0
	idNumber, birthMonth := "", ""
	for _, v := range own {
		switch v.Field {
		case "id_number":
			idNumber = v.Text
		case "birth_month":
			birthMonth = v.Text
		}
		if slices.Contains(functions.ResumeFields, v.Field) {
			records++
			if !slices.Contains(fields, v.Field) {
				fields = append(fields, v.Field)
			}
		}
	}
	slices.Sort(fields)
	// Providing the résumé rests on the basic function's consent as well
	// as this recipient's: after a material policy change the worker
	// agrees to the new version first (CON-3).
	if err := s.requireConsent(r, p.SubjectID, "resume_sharing", false, "policy_version",
		"隐私政策已更新，请先同意新版本后再报名", "the privacy policy has changed: agree to the new version before applying"); err != nil {
		s.fail(w, r, err)
		return
	}
	scope := consent.Scope(consent.KindRecipient, j.OrgID)
	var ev consent.Event
	var app jobs.Application
	err = s.deps.DB.InTx(ctx, func(tx *store.Tx) error {
		var err error
		ev, err = s.deps.Consent.ActTx(ctx, tx, consent.Request{Subject: p.SubjectID, Scope: scope, Scopes: 1, Event: consent.Agree,
			Explicit: in.Explicit, PolicyVersion: in.PolicyVersion, NoticeDigest: in.NoticeDigest, Channel: in.Channel,
			IP: s.clientIP(r), Group: ageGroupOf(idNumber, birthMonth, s.deps.Clock.Now()), By: consent.BySubject, Actor: p.ActorID()})
		if err != nil {
			return err
		}
		ledgerID, err := s.deps.Ledger.Append(ctx, tx, sharing.Provision{Recipient: j.OrgID, RecipientKind: "employer", Purpose: "resume_sharing",
			Fields: fields, Subjects: []string{p.SubjectID}, Records: records, LegalBasis: "consent", ConsentRef: ev.ID,
			Actor: p.ActorID(), Channel: "api"})
		if err != nil {
			return err
		}
		app, err = s.deps.Jobs.Apply(ctx, tx, jobs.Application{JobID: j.ID, SubjectID: p.SubjectID, ResumeID: rs[0].ID,
			ConsentRef: ev.ID, LedgerID: ledgerID})
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rc, err := s.deps.Consent.Receipt(ctx, ev, "", "zh-CN")
	s.reply(w, r, http.StatusCreated, map[string]any{"application": app, "receipt": rc}, err)
}

func (s *Server) myApplications(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	as, err := s.deps.Jobs.ForSubject(r.Context(), p.SubjectID)
	s.reply(w, r, http.StatusOK, map[string]any{"applications": nonNil(as)}, err)
}

func (s *Server) withdrawApplication(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	a, err := s.deps.Jobs.Application(r.Context(), r.PathValue("id"))
	if err == nil && a.SubjectID != p.SubjectID {
		err = errNoApplication // someone else's is not even said to exist
	}
	if err == nil {
		a, err = s.deps.Jobs.SetStatus(r.Context(), a.ID, "withdrawn", "", p.SubjectID)
	}
	s.reply(w, r, http.StatusOK, map[string]any{"application": a}, err)
}

func (s *Server) postJob(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	var in struct {
		Title       string      `json:"title"`
		Description string      `json:"description"`
		City        string      `json:"city"`
		Category    string      `json:"category"`
		PayFen      int64       `json:"pay_fen"`
		PayUnit     string      `json:"pay_unit"`
		Place       string      `json:"place"`
		Lat         *float64    `json:"lat"`
		Lng         *float64    `json:"lng"`
		HeadCount   int         `json:"head_count"`
		Slots       []jobs.Slot `json:"slots"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.verifiedOrg(r, p); err != nil {
		s.fail(w, r, err)
		return
	}
	j, err := s.deps.Jobs.Post(r.Context(), jobs.Job{OrgID: p.OrgID, Title: in.Title, Description: in.Description, City: in.City,
		Category: in.Category, PayFen: in.PayFen, PayUnit: in.PayUnit, Place: in.Place, Lat: in.Lat, Lng: in.Lng,
		HeadCount: in.HeadCount, Slots: in.Slots, CreatedBy: p.ActorID()})
	s.reply(w, r, http.StatusCreated, map[string]any{"job": j}, err)
}

func (s *Server) orgJobs(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	js, err := s.deps.Jobs.ByOrg(r.Context(), p.OrgID, jobs.MaxLimit)
	s.reply(w, r, http.StatusOK, map[string]any{"jobs": nonNil(js)}, err)
}

func (s *Server) orgApplications(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	as, err := s.deps.Jobs.ForOrg(r.Context(), p.OrgID, jobs.MaxLimit)
	s.reply(w, r, http.StatusOK, map[string]any{"applications": nonNil(as)}, err)
}

// orgApplication shows the employer an application with the résumé it
// provided, masked, while the worker's consent to this employer stands.
func (s *Server) orgApplication(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	ctx := r.Context()
	a, err := s.deps.Jobs.Application(ctx, r.PathValue("id"))
	if err == nil && a.OrgID != p.OrgID {
		err = errNoApplication
	}
	if err == nil && a.Status == "withdrawn" {
		err = errs.New(errs.Forbidden, "id", "求职者已撤回报名", "the applicant withdrew this application").With("application_withdrawn", nil, "")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rel := policy.Shared
	if a.ContactAcceptedAt != nil {
		rel = policy.ContactGranted
	}
	vs, err := s.deps.Guard.ReadShared(ctx, p, a.SubjectID, "resume_sharing", functions.ResumeFields, rel)
	if err == nil {
		// The contact number, masked until the worker accepts contact and
		// the employer reveals it once (reveal-contact).
		var mob []vault.Value
		if mob, err = s.deps.Guard.ReadShared(ctx, p, a.SubjectID, "job_matching", []string{"mobile"}, rel); err == nil {
			vs = append(vs, mob...)
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"application": a, "resume": s.values(vs)})
}

func (s *Server) decideApplication(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	var in struct {
		Status string `json:"status"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.deps.Jobs.Application(r.Context(), r.PathValue("id"))
	if err == nil && a.OrgID != p.OrgID {
		err = errNoApplication
	}
	if err == nil {
		a, err = s.deps.Jobs.SetStatus(r.Context(), a.ID, in.Status, p.OrgID, "")
	}
	s.reply(w, r, http.StatusOK, map[string]any{"application": a}, err)
}

// exportRecipient checks the third party an export or download is for:
// a registry recipient, processor or SDK. Without one the export stays
// inside gigvault (a staff member's working copy) and is not a provision.
func (s *Server) exportRecipient(action, recipient, purpose string, fields []string) (scope, kind string, err error) {
	if recipient == "" {
		return "", "", nil
	}
	if a := policy.Action(action); a != policy.Export && a != policy.Download {
		return "", "", errs.New(errs.Invalid, "recipient", "只有导出和下载可以指定接收方", "only an export or a download has a recipient")
	}
	if s.deps.Sources.ThirdParty == nil || s.deps.Ledger == nil {
		return "", "", errNoService
	}
	e, ok := s.deps.Sources.ThirdParty.Entry(recipient)
	if !ok {
		return "", "", errs.New(errs.Invalid, "recipient", "接收方未在第三方登记表中", "the recipient is not in the third-party registry")
	}
	// Only what the registry declares for the recipient: its purposes and
	// its PI types (SHR-2); anything else is not a provision it may get.
	if !slices.Contains(e.Purposes, purpose) {
		return "", "", errs.New(errs.Forbidden, "purpose", "该接收方未登记此用途", "the recipient is not registered for this purpose").
			With("recipient_purpose_not_declared", []string{purpose}, "")
	}
	var undeclared []string
	for _, f := range fields {
		if !slices.Contains(e.Fields, f) {
			undeclared = append(undeclared, f)
		}
	}
	if len(undeclared) > 0 {
		return "", "", errs.New(errs.Forbidden, "fields", "该接收方未登记接收这些个人信息", "the recipient is not registered to receive these types of PI").
			With("recipient_fields_not_declared", undeclared, "")
	}
	if _, exception := consent.Exceptions[purpose]; exception && e.CrossBorder() {
		// Outside mainland China only on the person's own consent (OPS-10).
		return "", "", errs.New(errs.Forbidden, "recipient", "向境外提供个人信息须取得个人单独同意，不能依据法定事由", "a transfer outside mainland China needs each person's consent, not a legal-basis exception").
			With("cross_border_needs_consent", nil, "")
	}
	kind = string(e.Kind)
	if kind == "recipient" {
		return consent.Scope(consent.KindRecipient, recipient), kind, nil
	}
	return consent.Scope(consent.KindProcessor, recipient), kind, nil
}

// recordExport appends the ledger row of an export to a third party: the
// subjects whose values went out and how many values (SHR-1).
func (s *Server) recordExport(r *http.Request, p *access.Principal, rows []access.Row, recipient, kind, purpose string, fields []string, scope string) error {
	var subjects, sent []string
	records := 0
	for _, row := range rows {
		if row.Error == "" && len(row.Values) > 0 {
			subjects = append(subjects, row.Subject)
			records += len(row.Values)
			for _, v := range row.Values {
				if !slices.Contains(sent, v.Field) {
					sent = append(sent, v.Field)
				}
			}
		}
	}
	slices.Sort(sent)
	fields = sent // the types of PI that went out, not those asked for
	if records == 0 {
		return nil
	}
	basis, ref := "consent", scope
	switch consent.Exceptions[purpose] {
	case "legal_obligation":
		basis, ref = "legal_obligation", ""
	case "service_security", "contract":
		basis, ref = "contract", ""
	}
	return s.deps.DB.InTx(r.Context(), func(tx *store.Tx) error {
		_, err := s.deps.Ledger.Append(r.Context(), tx, sharing.Provision{Recipient: recipient, RecipientKind: kind, Purpose: purpose,
			Fields: fields, Subjects: subjects, Records: records, LegalBasis: basis, ConsentRef: ref, Actor: p.ActorID(), Channel: "api"})
		return err
	})
}
