package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"gigvault/internal/access"
	"gigvault/internal/audit"
	"gigvault/internal/consent"
	"gigvault/internal/errs"
	"gigvault/internal/functions"
	"gigvault/internal/icalfeed"
	"gigvault/internal/jobs"
	"gigvault/internal/policy"
	"gigvault/internal/store"
	"gigvault/internal/textscan"
	"gigvault/internal/vault"
)

var orgReviewers = rule{roles: []policy.Role{policy.DataOperator, policy.DPO}}

// routesGig registers the rest of the gig platform (issue 5): search
// history, nearby jobs, public résumés, the application lifecycle and its
// calendar, and organisation profiles.
func (s *Server) routesGig() {
	s.authed("GET", "/v1/me/search-history", workers, s.searchHistory)
	s.authed("DELETE", "/v1/me/search-history", workers, s.deleteSearchHistory)
	s.authed("POST", "/v1/jobs/nearby", workers, s.nearbyJobs)
	s.authed("POST", "/v1/me/applications/{id}/check-in", workers, s.checkIn)
	s.authed("POST", "/v1/me/applications/{id}/accept-contact", workers, s.acceptContact)
	s.authed("GET", "/v1/me/calendar.ics", workers, s.myCalendar)
	s.authed("POST", "/v1/me/calendar/feed", workers, s.createFeed)
	s.authed("DELETE", "/v1/me/calendar/feed", workers, s.revokeFeeds)
	s.public("GET", "/public/calendar/{file}", s.publicCalendar)
	s.authed("GET", "/v1/employer/profile", employers, s.orgProfile)
	s.authed("PUT", "/v1/employer/profile", employers, s.putOrgProfile)
	s.authed("GET", "/v1/employer/resumes", employers, s.searchResumes)
	s.authed("POST", "/v1/employer/applications/{id}/interview", employers, s.scheduleInterview)
	s.authed("POST", "/v1/employer/applications/{id}/complete", employers, s.completeApplication)
	s.authed("POST", "/v1/employer/applications/{id}/reveal-contact", employers, s.revealContact)
	s.authed("GET", "/v1/staff/organisations", orgReviewers, s.listOrgs)
	s.authed("POST", "/v1/staff/organisations/{id}/verify", orgReviewers, s.verifyOrg)
}

// Search history (GIG-3): keywords a worker searched are PI of their own.
// The basic function uses them only to answer the search (the registry
// says so), so they are kept only for a worker who switched
// personalisation on with search keywords among its PI types and agreed to
// personalised recommendations (CON-11) — then as the catalog says
// (search_keyword: at most 180 days), at most the newest MaxSearchHistory,
// visible and deletable by the worker.
const (
	searchKeyword    = "search_keyword"
	MaxSearchHistory = 20
)

// recordSearch keeps a worker's search text in their history.
func (s *Server) recordSearch(r *http.Request, p *access.Principal, text string) error {
	if text == "" || p.Kind != "worker" || s.deps.Catalog == nil {
		return nil
	}
	f, ok := s.deps.Catalog.Field(searchKeyword)
	if !ok {
		return nil
	}
	ctx := r.Context()
	pr, err := s.deps.Consent.Store().Personalisation(ctx, p.SubjectID)
	if err != nil || !pr.Enabled || !slices.Contains(pr.Fields, searchKeyword) {
		return err
	}
	if ans, err := s.deps.Guard.Consent(ctx, p.SubjectID, "personalised_recommendation", false); err != nil || ans.State != policy.Granted {
		return err
	}
	now := s.deps.Clock.Now()
	since := now.AddDate(-100, 0, 0)
	if f.Retention.Kind == "fixed" {
		since = now.Add(now.Sub(f.Retention.Duration.After(now))) // now minus the span
	}
	return s.deps.DB.InTx(ctx, func(tx *store.Tx) error {
		if err := s.deps.Guard.WriteOwn(ctx, tx, p, "personalised_recommendation", vault.Item{Field: searchKeyword,
			Record: strconv.FormatInt(now.UnixMicro(), 10), Value: text}); err != nil {
			return err
		}
		_, err := s.deps.Guard.PruneOwn(ctx, tx, p, "personalised_recommendation", searchKeyword, MaxSearchHistory, since)
		return err
	})
}

func (s *Server) searchHistory(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	vs, err := s.deps.Guard.ReadOwn(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	type kw struct {
		Keyword    string    `json:"keyword"`
		SearchedAt time.Time `json:"searched_at"`
	}
	out := []kw{}
	for _, v := range vs {
		if v.Field == searchKeyword {
			out = append(out, kw{v.Text, v.UpdatedAt})
		}
	}
	slices.SortFunc(out, func(a, b kw) int { return b.SearchedAt.Compare(a.SearchedAt) })
	writeJSON(w, http.StatusOK, map[string]any{"history": out, "retention": "180d", "max": MaxSearchHistory})
}

func (s *Server) deleteSearchHistory(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var n int
	err := s.deps.DB.InTx(r.Context(), func(tx *store.Tx) error {
		var err error
		n, err = s.deps.Guard.DeleteOwn(r.Context(), tx, p, "personalised_recommendation", searchKeyword)
		return err
	})
	s.reply(w, r, http.StatusOK, map[string]any{"deleted": n}, err)
}

// nearbyJobs (GIG-4): the position in the body is used for this request
// only. It is not stored, logged or audited; the audit entry records that
// the current location was used, and for what, without it.
func (s *Server) nearbyJobs(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	var in struct {
		Lat      *float64 `json:"lat"`
		Lng      *float64 `json:"lng"`
		RadiusKm float64  `json:"radius_km"`
		Category string   `json:"category"`
		Limit    int      `json:"limit"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Lat == nil || in.Lng == nil {
		s.fail(w, r, errs.New(errs.Invalid, "lat", "请提供当前位置的经纬度", "give the current position as lat and lng"))
		return
	}
	ctx := r.Context()
	if err := s.requireConsent(r, p.SubjectID, "nearby_jobs", true, "purpose",
		"查看附近职位需要您同意使用当前位置", "nearby jobs need your consent to use your current position"); err != nil {
		s.fail(w, r, err)
		return
	}
	js, err := s.deps.Jobs.Nearby(ctx, jobs.NearbyQuery{Lat: *in.Lat, Lng: *in.Lng, RadiusKm: in.RadiusKm, Category: in.Category, Limit: in.Limit})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.deps.Recorder.Record(ctx, audit.Entry{Actor: p.ActorID(), Channel: "api", Action: "pi.use", Subject: p.SubjectID,
		Fields: audit.SortedFields("current_location"), Purpose: "nearby_jobs", Outcome: "ok",
		Detail: map[string]string{"retention": "request", "stored": "false"}}); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": nonNil(js), "position_stored": false})
}

// resumeEntry is one education or work-history entry: a line of text, or
// an object of the fields below.
type resumeEntry map[string]string

// entryKeys are the fields an entry object may have, per résumé part.
var entryKeys = map[string][]string{
	"education":    {"school", "degree", "major", "start", "end", "text"},
	"work_history": {"employer", "role", "start", "end", "description", "text"},
}

// parseEntry reads a résumé entry (a string or an object) as its stored
// JSON, scanning each text for stray ID, card and mobile numbers (OPS-1).
func parseEntry(part, field string, raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	e := resumeEntry{}
	if len(raw) > 0 && raw[0] == '"' {
		var t string
		if err := json.Unmarshal(raw, &t); err != nil {
			return "", errs.New(errs.Invalid, field, "条目格式错误", "the entry is not valid")
		}
		e["text"] = t
	} else if err := json.Unmarshal(raw, &e); err != nil {
		return "", errs.New(errs.Invalid, field, "条目应为文字或对象", "an entry is a string or an object of strings")
	}
	for k, v := range e {
		if !slices.Contains(entryKeys[part], k) {
			return "", errs.New(errs.Invalid, field+"."+k, "条目中没有该项，可用："+strings.Join(entryKeys[part], "、"), "not a field of this entry; one of "+strings.Join(entryKeys[part], ", "))
		}
		v = strings.TrimSpace(v)
		if len([]rune(v)) > 500 {
			return "", errs.New(errs.Invalid, field+"."+k, "每项最多500字", "at most 500 characters")
		}
		if err := textscan.Check(field+"."+k, v); err != nil {
			return "", err
		}
		if v == "" {
			delete(e, k)
		} else {
			e[k] = v
		}
	}
	if len(e) == 0 {
		return "", nil
	}
	b, err := json.Marshal(e) // sorted keys: the same entry is the same value
	return string(b), err
}

// resumeTags are the keyed digests under which a public résumé is found:
// its skills and the worker's city, normalised.
func (s *Server) resumeTags(kind string, terms ...string) [][]byte {
	var out [][]byte
	for _, t := range terms {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" && s.deps.Keys != nil {
			out = append(out, s.deps.Keys.Tag("resume-term", kind, t))
		}
	}
	return out
}

// searchResumes lets a verified employer find public résumés by skill and
// city (GIG-2); contact details are never in the result, and the résumé
// is shown masked.
func (s *Server) searchResumes(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	ctx := r.Context()
	if err := s.verifiedOrg(r, p); err != nil {
		s.fail(w, r, err)
		return
	}
	qv := r.URL.Query()
	tags := s.resumeTags("skill", qv["skill"]...)
	tags = append(tags, s.resumeTags("city", qv["city"]...)...)
	limit, _ := strconv.Atoi(qv.Get("limit"))
	rs, err := s.deps.Jobs.PublicResumes(ctx, tags, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	type found struct {
		ResumeID  string     `json:"resume_id"`
		UpdatedAt time.Time  `json:"updated_at"`
		Values    []valueOut `json:"values"`
	}
	out := []found{}
	for _, res := range rs {
		vs, err := s.deps.Guard.ReadShared(ctx, p, res.SubjectID, "job_matching", functions.ResumeFields, policy.Published)
		if errs.Is(err, errs.ConsentRequired) {
			continue // the worker withdrew publishing: no longer found
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, found{res.ID, res.UpdatedAt, s.values(vs)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"resumes": out})
}

// verifiedOrg refuses an employer whose organisation staff have not
// verified.
func (s *Server) verifiedOrg(r *http.Request, p *access.Principal) error {
	o, err := s.deps.Jobs.Org(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	if !o.Verified() {
		return errs.New(errs.Forbidden, "org_id", "招聘单位尚未通过资质审核", "your organisation has not been verified yet").With("org_not_verified", nil, "")
	}
	return nil
}

// ownApplication loads the caller's application by path ID; someone
// else's is not found.
func (s *Server) ownApplication(r *http.Request, p *access.Principal) (jobs.Application, error) {
	a, err := s.deps.Jobs.Application(r.Context(), r.PathValue("id"))
	if err == nil && ((p.Kind == "worker" && a.SubjectID != p.SubjectID) || (p.Kind == "employer" && a.OrgID != p.OrgID)) {
		err = errNoApplication
	}
	return a, err
}

func (s *Server) checkIn(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	a, err := s.ownApplication(r, p)
	if err == nil {
		a, err = s.deps.Jobs.CheckIn(r.Context(), a.ID, p.SubjectID)
	}
	s.reply(w, r, http.StatusOK, map[string]any{"application": a}, err)
}

func (s *Server) acceptContact(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	a, err := s.ownApplication(r, p)
	if err == nil {
		a, err = s.deps.Jobs.AcceptContact(r.Context(), a.ID, p.SubjectID)
	}
	s.reply(w, r, http.StatusOK, map[string]any{"application": a}, err)
}

func (s *Server) scheduleInterview(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	var in struct {
		At time.Time `json:"interview_at"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.ownApplication(r, p)
	if err == nil {
		a, err = s.deps.Jobs.Schedule(r.Context(), a.ID, p.OrgID, in.At)
	}
	s.reply(w, r, http.StatusOK, map[string]any{"application": a}, err)
}

func (s *Server) completeApplication(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	a, err := s.ownApplication(r, p)
	if err == nil {
		a, err = s.deps.Jobs.Complete(r.Context(), a.ID, p.OrgID)
	}
	s.reply(w, r, http.StatusOK, map[string]any{"application": a}, err)
}

// revealContact shows the employer the applicant's mobile number whole,
// once, after the worker accepted contact (GIG-2); the read is audited.
func (s *Server) revealContact(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	ctx := r.Context()
	a, err := s.ownApplication(r, p)
	if err == nil {
		err = s.deps.DB.InTx(ctx, func(tx *store.Tx) error {
			a, err = s.deps.Jobs.RevealContact(ctx, tx, a.ID, p.OrgID, p.ActorID())
			return err
		})
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.deps.Guard.RevealContact(ctx, p, a.SubjectID, "mobile", "job_matching", "contact accepted: application "+a.ID)
	if err != nil {
		if uerr := s.deps.Jobs.UndoReveal(ctx, a.ID); uerr != nil {
			s.deps.Log.Error("undo contact reveal", "application", a.ID, "err", uerr)
		}
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"application": a, "mobile": v.Text, "once": true})
}

// calendarEvents are the worker's interviews and work slots.
func (s *Server) calendarEvents(r *http.Request, subject string) ([]icalfeed.Event, error) {
	as, js, err := s.deps.Jobs.Calendar(r.Context(), subject)
	if err != nil {
		return nil, err
	}
	var evs []icalfeed.Event
	for _, a := range as {
		j := js[a.JobID]
		where := strings.TrimSpace(j.City + " " + j.Place)
		if a.InterviewAt != nil {
			evs = append(evs, icalfeed.Event{UID: a.ID + "-interview", Kind: "interview", Summary: "面试 Interview: " + j.Title,
				Location: where, Start: *a.InterviewAt, End: a.InterviewAt.Add(time.Hour), Updated: a.UpdatedAt})
		}
		for i, sl := range j.Slots {
			evs = append(evs, icalfeed.Event{UID: a.ID + "-slot-" + strconv.Itoa(i+1), Kind: "shift", Summary: "兼职 Shift: " + j.Title,
				Location: where, Start: sl.Start, End: sl.End, Updated: a.UpdatedAt, Cancelled: a.Status == jobs.Withdrawn})
		}
	}
	return evs, nil
}

func (s *Server) writeCalendar(w http.ResponseWriter, r *http.Request, subject string) {
	evs, err := s.calendarEvents(r, subject)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := icalfeed.Write(&buf, "gigvault 兼职日程", evs, s.deps.Clock.Now()); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) myCalendar(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	s.writeCalendar(w, r, p.SubjectID)
}

// createFeed makes a subscription URL for the worker's calendar; the
// token is shown once and only its digest is kept.
func (s *Server) createFeed(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	token, hash := icalfeed.NewToken()
	err := s.deps.Jobs.CreateFeed(r.Context(), p.SubjectID, hash)
	s.reply(w, r, http.StatusCreated, map[string]any{"path": "/public/calendar/" + token + ".ics",
		"note": "此链接只显示一次，可随时撤销 / shown once; revoke it with DELETE /v1/me/calendar/feed"}, err)
}

func (s *Server) revokeFeeds(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	n, err := s.deps.Jobs.RevokeFeeds(r.Context(), p.SubjectID)
	s.reply(w, r, http.StatusOK, map[string]any{"revoked": n}, err)
}

func (s *Server) publicCalendar(w http.ResponseWriter, r *http.Request) {
	if s.deps.Jobs == nil {
		WriteError(w, r, errNoService)
		return
	}
	hash, ok := icalfeed.HashToken(strings.TrimSuffix(r.PathValue("file"), ".ics"))
	if !ok {
		WriteError(w, r, errs.New(errs.NotFound, "token", "日历订阅链接无效或已撤销", "no such calendar feed, or it was revoked"))
		return
	}
	subject, err := s.deps.Jobs.FeedSubject(r.Context(), hash)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	s.writeCalendar(w, r, subject)
}

func (s *Server) orgProfile(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	o, err := s.deps.Jobs.Org(r.Context(), p.OrgID)
	s.reply(w, r, http.StatusOK, map[string]any{"organisation": o}, err)
}

func (s *Server) putOrgProfile(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	var in struct {
		City        string `json:"city"`
		Industry    string `json:"industry"`
		Description string `json:"description"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	o, err := s.deps.Jobs.UpdateOrg(r.Context(), p.OrgID, in.City, in.Industry, in.Description)
	s.reply(w, r, http.StatusOK, map[string]any{"organisation": o}, err)
}

func (s *Server) listOrgs(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	os, err := s.deps.Jobs.Orgs(r.Context(), jobs.MaxLimit)
	s.reply(w, r, http.StatusOK, map[string]any{"organisations": os}, err)
}

// verifyOrg records a staff member's review of an organisation's
// qualification, audited.
func (s *Server) verifyOrg(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.platformReady(w, r) {
		return
	}
	o, err := s.deps.Jobs.VerifyOrg(r.Context(), r.PathValue("id"), p.ActorID())
	if err == nil {
		err = s.deps.Recorder.Record(r.Context(), audit.Entry{Actor: p.ActorID(), Channel: "api", Action: "org.verify", Outcome: "ok",
			Detail: map[string]string{"org": o.ID}})
	}
	s.reply(w, r, http.StatusOK, map[string]any{"organisation": o}, err)
}

// requireConsent answers consent_required, naming the missing scopes and
// field, unless the subject's consent to purpose stands — the check before
// a person's own act that needs an optional function.
func (s *Server) requireConsent(r *http.Request, subject, purpose string, sensitive bool, field, zh, en string) error {
	ans, err := s.deps.Guard.Consent(r.Context(), subject, purpose, sensitive)
	if err == nil && ans.State != policy.Granted {
		err = errs.New(errs.ConsentRequired, field, zh, en).With(policy.ReasonConsentRequired, ans.Missing, "")
	}
	return err
}

// publishingConsent checks the worker agreed to publishing before a
// résumé goes public.
func (s *Server) publishingConsent(r *http.Request, p *access.Principal) error {
	ans, err := s.deps.Guard.Consent(r.Context(), p.SubjectID, access.PublishingFunction, false)
	if err != nil {
		return err
	}
	if ans.State != policy.Granted {
		return errs.New(errs.ConsentRequired, "visibility", "公开简历需要您同意“求职信息发布”", "a public résumé needs your consent to publishing job-seeking information").
			With(policy.ReasonConsentRequired, []string{consent.Scope(consent.KindFunction, access.PublishingFunction)}, "")
	}
	return nil
}
