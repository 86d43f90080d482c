package httpapi

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"gigvault/internal/access"
	"gigvault/internal/approval"
	"gigvault/internal/audit"
	"gigvault/internal/errs"
	"gigvault/internal/identity"
	"gigvault/internal/policy"
	"gigvault/internal/ratelimit"
	"gigvault/internal/sms"
	"gigvault/internal/vault"
)

// Access rules, as the authorisation matrix test reads them.
const (
	AccessPublic = "public" // anyone, no session
	AccessAny    = "any"    // any signed-in account
)

// rule says who may call a route: "public", "any", or a list of account
// kinds ("worker", "employer", "staff") and staff roles.
type rule struct {
	kinds []string
	roles []policy.Role
}

func (r rule) String() string {
	var parts []string
	parts = append(parts, r.kinds...)
	for _, role := range r.roles {
		parts = append(parts, "role:"+string(role))
	}
	if len(parts) == 0 {
		return AccessAny
	}
	return strings.Join(parts, ",")
}

func (r rule) allows(p *access.Principal) bool {
	if len(r.kinds) == 0 && len(r.roles) == 0 {
		return true
	}
	return slices.Contains(r.kinds, p.Kind) || p.Has(r.roles...)
}

var (
	anyone    = rule{}
	users     = rule{kinds: []string{"worker", "employer"}}
	staff     = rule{kinds: []string{"staff"}}
	employers = rule{kinds: []string{"employer"}}
	piStaff   = rule{roles: []policy.Role{policy.Support, policy.DataOperator, policy.DPO}}
	bulkStaff = rule{roles: []policy.Role{policy.DataOperator, policy.DPO}}
	secAdmins = rule{roles: []policy.Role{policy.SecurityAdmin}}
	auditors  = rule{roles: []policy.Role{policy.AuditAdmin}}
)

// Limits are the API's rate limits (ACC-10), per client IP for requests
// without a session and per account for requests with one.
type Limits struct {
	IP      ratelimit.Limit // every request, by client IP
	User    ratelimit.Limit // signed-in requests, by account
	SMSIP   ratelimit.Limit // SMS sends by client IP, across all numbers
	LoginIP ratelimit.Limit // log-in attempts by client IP
}

// DefaultLimits are the defaults.
var DefaultLimits = Limits{
	IP:      ratelimit.Limit{Events: 1200, Per: time.Minute},
	User:    ratelimit.Limit{Events: 600, Per: time.Minute},
	SMSIP:   ratelimit.Limit{Events: 20, Per: time.Hour},
	LoginIP: ratelimit.Limit{Events: 10, Per: time.Minute},
}

type limiters struct {
	ip, user, smsIP, loginIP *ratelimit.Limiter
}

func (s *Server) routesV1() {
	d := s.deps
	clk := d.Clock
	s.lim = limiters{
		ip:      ratelimit.New(d.Limits.IP, clk, 0),
		user:    ratelimit.New(d.Limits.User, clk, 0),
		smsIP:   ratelimit.New(d.Limits.SMSIP, clk, 0),
		loginIP: ratelimit.New(d.Limits.LoginIP, clk, 0),
	}
	s.add("POST", "/v1/auth/sms/send", true, s.sendCode)
	s.add("POST", "/v1/auth/sms/login", true, s.loginSMS)
	s.add("POST", "/v1/auth/staff/login", true, s.loginStaff)
	s.add("GET", "/v1/dev/sms-outbox", true, s.devOutbox)
	s.authed("POST", "/v1/auth/logout", anyone, s.logout)
	s.authed("GET", "/v1/sessions", anyone, s.listSessions)
	s.authed("DELETE", "/v1/sessions/{id}", anyone, s.revokeSession)
	s.authed("GET", "/v1/me", anyone, s.me)
	s.authed("POST", "/v1/me/verification/send", users, s.sendOwnCode)
	s.authed("POST", "/v1/me/verification", users, s.verifyOwnCode)
	s.authed("POST", "/v1/me/password", staff, s.changePassword)
	s.authed("POST", "/v1/employer/members", employers, s.inviteMember)
	s.authed("GET", "/v1/staff/subjects/{id}", piStaff, s.staffSubject)
	s.authed("POST", "/v1/staff/subjects/{id}/reveal", piStaff, s.reveal)
	s.authed("POST", "/v1/staff/bulk", bulkStaff, s.bulk)
	s.authed("GET", "/v1/staff/accounts", secAdmins, s.listStaff)
	s.authed("POST", "/v1/staff/accounts", secAdmins, s.createStaff)
	s.authed("PUT", "/v1/staff/accounts/{id}/roles", secAdmins, s.setRoles)
	s.authed("POST", "/v1/staff/accounts/{id}/status", secAdmins, s.setStatus)
	s.authed("POST", "/v1/staff/accounts/{id}/reset", secAdmins, s.resetCredentials)
	s.authed("POST", "/v1/staff/accounts/{id}/unlock", secAdmins, s.unlock)
	s.authed("GET", "/v1/approvals", staff, s.listApprovals)
	s.authed("GET", "/v1/approvals/{id}", staff, s.getApproval)
	s.authed("POST", "/v1/approvals/{id}/decision", rule{roles: []policy.Role{policy.DPO, policy.SecurityAdmin}}, s.decideApproval)
	s.authed("GET", "/v1/audit", auditors, s.auditSearch)
}

type principalKey struct{}

var (
	errForbidden = errs.New(errs.Forbidden, "", "无权执行此操作", "you may not do this").With(policy.ReasonNotPermitted, nil, "")
	errRate      = errs.New(errs.RateLimited, "", "请求过于频繁，请稍后再试", "too many requests: slow down")
	errNoService = errs.New(errs.Unavailable, "", "服务未就绪", "the service is not ready")
)

// authed registers a route that needs a session and a role the rule allows.
func (s *Server) authed(method, pattern string, allow rule, h func(http.ResponseWriter, *http.Request, *access.Principal)) {
	s.addRule(method, pattern, allow.String(), func(w http.ResponseWriter, r *http.Request) {
		if s.deps.Identity == nil {
			WriteError(w, r, errNoService)
			return
		}
		token, ok := bearer(r)
		if !ok {
			WriteError(w, r, errs.New(errs.Unauthenticated, "", "请先登录", "sign in first"))
			return
		}
		p, err := s.deps.Identity.Authenticate(r.Context(), token)
		if err != nil {
			// Failed tokens count against the caller's IP.
			if ok, wait := s.lim.ip.Allow(limitKey(s.clientIP(r))); !ok {
				WriteError(w, r, errRate.After(wait))
				return
			}
			s.fail(w, r, err)
			return
		}
		if ok, wait := s.lim.user.Allow(p.AccountID); !ok {
			WriteError(w, r, errRate.After(wait))
			return
		}
		if !allow.allows(p) {
			s.recordDenied(r, p, pattern)
			WriteError(w, r, errForbidden)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)), p)
	})
}

// bearer reads "Authorization: Bearer <token>"; the scheme name is
// case-insensitive (RFC 9110).
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), token != ""
}

// recordDenied audits a refused call: privileged endpoints probed by the
// wrong role are security events (AUD-1).
func (s *Server) recordDenied(r *http.Request, p *access.Principal, route string) {
	if s.deps.Recorder == nil {
		return
	}
	_ = s.deps.Recorder.Record(r.Context(), audit.Entry{Actor: p.ActorID(), Channel: "api", Action: "api.denied", Outcome: "denied",
		Detail: map[string]string{"route": r.Method + " " + route}})
}

// clientIP is the peer address; X-Forwarded-For is trusted only from the
// configured proxies.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if slices.Contains(s.deps.TrustedProxies, host) {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			return strings.TrimSpace(parts[len(parts)-1])
		}
	}
	return host
}

// limitKey is the per-IP limiters' key: the address, or for IPv6 its /64
// prefix, since one subscriber holds a whole /64.
func limitKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() || a.Is4In6() {
		return ip
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// limitIP applies the per-IP limit to an unauthenticated request, plus one
// specific limiter.
func (s *Server) limitIP(w http.ResponseWriter, r *http.Request, extra *ratelimit.Limiter) bool {
	ip := limitKey(s.clientIP(r))
	for _, l := range []*ratelimit.Limiter{s.lim.ip, extra} {
		if l == nil {
			continue
		}
		if ok, wait := l.Allow(ip); !ok {
			WriteError(w, r, errRate.After(wait))
			return false
		}
	}
	return true
}

// reply writes v with status, or err when there is one.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, status, v)
}

// fail writes err; internal errors are logged (redacted) with the route.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if e := errs.As(err); e.Code == errs.Internal || e.Code == errs.Integrity {
		s.deps.Log.Error("request failed", "route", r.Pattern, "err", err)
	}
	WriteError(w, r, err)
}

const maxBody = 1 << 20

// decode reads a JSON body strictly: unknown fields and trailing data are
// refused with the offending field named.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		field := ""
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &ute):
			field = ute.Field
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field = strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		}
		if errors.Is(err, io.EOF) {
			return errs.New(errs.Invalid, "", "请求体为空", "the request body is empty")
		}
		return errs.New(errs.Invalid, field, "请求体不是有效的 JSON 或含有未知字段", "the body is not valid JSON for this endpoint")
	}
	if dec.More() {
		return errs.New(errs.Invalid, "", "请求体含有多余内容", "the body has trailing data")
	}
	return nil
}

func (s *Server) sendCode(w http.ResponseWriter, r *http.Request) {
	if !s.limitIP(w, r, s.lim.smsIP) {
		return
	}
	var in struct {
		Mobile  string `json:"mobile"`
		Purpose string `json:"purpose"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Purpose == "" {
		in.Purpose = identity.CodeLogin
	}
	if in.Purpose != identity.CodeLogin {
		s.fail(w, r, errs.New(errs.Invalid, "purpose", "未登录时只能获取登录验证码", "without a session only log-in codes can be sent"))
		return
	}
	if s.deps.Identity == nil {
		WriteError(w, r, errNoService)
		return
	}
	ch, err := s.deps.Identity.SendCode(r.Context(), in.Mobile, in.Purpose)
	s.reply(w, r, http.StatusAccepted, ch, err)
}

func (s *Server) loginSMS(w http.ResponseWriter, r *http.Request) {
	if !s.limitIP(w, r, s.lim.loginIP) {
		return
	}
	var in struct {
		Mobile       string                 `json:"mobile"`
		Code         string                 `json:"code"`
		AgreePolicy  bool                   `json:"agree_policy"`
		RegisterAs   string                 `json:"register_as"`
		Organisation *identity.Organisation `json:"organisation"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.deps.Identity == nil {
		WriteError(w, r, errNoService)
		return
	}
	res, err := s.deps.Identity.LoginSMS(r.Context(), identity.SMSLogin{Mobile: in.Mobile, Code: in.Code, AgreePolicy: in.AgreePolicy,
		RegisterAs: identity.Kind(in.RegisterAs), Organisation: in.Organisation})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if res.Registered {
		status = http.StatusCreated
	}
	writeJSON(w, status, res)
}

func (s *Server) loginStaff(w http.ResponseWriter, r *http.Request) {
	if !s.limitIP(w, r, s.lim.loginIP) {
		return
	}
	var in struct {
		LoginName string `json:"login_name"`
		Password  string `json:"password"`
		TOTP      string `json:"totp"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.deps.Identity == nil {
		WriteError(w, r, errNoService)
		return
	}
	res, err := s.deps.Identity.LoginStaff(r.Context(), identity.StaffLogin{LoginName: in.LoginName, Password: in.Password, TOTP: in.TOTP})
	s.reply(w, r, http.StatusOK, res, err)
}

// devOutbox shows the console SMS gateway's messages to one number:
// development only, absent (404) in production or with a real gateway.
func (s *Server) devOutbox(w http.ResponseWriter, r *http.Request) {
	con, ok := s.deps.SMS.(*sms.Console)
	if !ok || s.deps.Production {
		WriteError(w, r, errs.New(errs.NotFound, "", "接口不存在", "no such endpoint"))
		return
	}
	if !s.limitIP(w, r, nil) {
		return
	}
	number, err := identity.NormaliseMobile(r.URL.Query().Get("mobile"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	type msg struct {
		Template string            `json:"template"`
		Params   map[string]string `json:"params"`
		At       time.Time         `json:"at"`
	}
	out := []msg{}
	for _, m := range con.Outbox(number) {
		out = append(out, msg{Template: m.Template, Params: m.Params, At: m.At})
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if err := s.deps.Identity.Revoke(r.Context(), p, ""); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	ss, err := s.deps.Identity.Sessions(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": ss})
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if err := s.deps.Identity.Revoke(r.Context(), p, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// valueOut is a PI value as the API shows it.
type valueOut struct {
	Field   string    `json:"field"`
	Label   string    `json:"label_zh"`
	LabelEn string    `json:"label"`
	Record  string    `json:"record"`
	Value   string    `json:"value"`
	Masked  bool      `json:"masked"`
	Updated time.Time `json:"updated_at"`
}

func (s *Server) values(vs []vault.Value) []valueOut {
	out := make([]valueOut, 0, len(vs))
	for _, v := range vs {
		o := valueOut{Field: v.Field, Record: v.Record, Value: v.Text, Masked: v.Masked, Updated: v.UpdatedAt}
		if s.deps.Catalog != nil {
			if f, ok := s.deps.Catalog.Field(v.Field); ok {
				o.Label, o.LabelEn = f.Zh, f.En
			}
		}
		out = append(out, o)
	}
	return out
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	vs, err := s.deps.Guard.ReadOwn(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	roles := p.Roles
	if roles == nil {
		roles = []policy.Role{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"account": map[string]any{"id": p.AccountID, "kind": p.Kind, "org_id": p.OrgID, "roles": roles},
		"values":  s.values(vs),
	})
}

func (s *Server) sendOwnCode(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in struct {
		Purpose string `json:"purpose"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ch, err := s.deps.Identity.SendOwnCode(r.Context(), p, in.Purpose)
	s.reply(w, r, http.StatusAccepted, ch, err)
}

func (s *Server) verifyOwnCode(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in struct {
		Purpose string `json:"purpose"`
		Code    string `json:"code"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.deps.Identity.VerifyCode(r.Context(), p, in.Purpose, in.Code); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"verified": true, "purpose": in.Purpose})
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
		TOTP    string `json:"totp"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.deps.Identity.ChangePassword(r.Context(), p, in.Current, in.New, in.TOTP); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) inviteMember(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in struct {
		Mobile string `json:"mobile"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	inv, err := s.deps.Identity.InviteMember(r.Context(), p, in.Mobile)
	s.reply(w, r, http.StatusAccepted, inv, err)
}

func (s *Server) staffSubject(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	purpose := r.URL.Query().Get("purpose")
	if purpose == "" {
		s.fail(w, r, errs.New(errs.Invalid, "purpose", "请说明处理目的", "name the purpose"))
		return
	}
	vs, err := s.deps.Guard.Read(r.Context(), p, r.PathValue("id"), purpose)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"subject": r.PathValue("id"), "purpose": purpose, "values": s.values(vs)})
}

func (s *Server) reveal(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in struct {
		Field      string `json:"field"`
		Record     string `json:"record"`
		Purpose    string `json:"purpose"`
		ReasonCode string `json:"reason_code"`
		Reason     string `json:"reason"`
		ApprovalID string `json:"approval_id"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.deps.Guard.Reveal(r.Context(), p, access.RevealRequest{Subject: r.PathValue("id"), Field: in.Field, Record: in.Record,
		Purpose: in.Purpose, ReasonCode: in.ReasonCode, Reason: in.Reason, ApprovalID: in.ApprovalID})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, s.values([]vault.Value{v})[0])
}

func (s *Server) bulk(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in struct {
		Action     string   `json:"action"`
		Subjects   []string `json:"subjects"`
		Fields     []string `json:"fields"`
		Purpose    string   `json:"purpose"`
		Reason     string   `json:"reason"`
		ApprovalID string   `json:"approval_id"`
		Value      string   `json:"value"`
		Recipient  string   `json:"recipient"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	scope, kind, err := s.exportRecipient(in.Action, in.Recipient, in.Purpose, in.Fields)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows, err := s.deps.Guard.Bulk(r.Context(), p, access.BulkRequest{Action: policy.Action(in.Action), Subjects: in.Subjects,
		Fields: in.Fields, Purpose: in.Purpose, Reason: in.Reason, ApprovalID: in.ApprovalID, Value: in.Value, Recipient: scope})
	if err == nil && scope != "" {
		err = s.recordExport(r, p, rows, in.Recipient, kind, in.Purpose, in.Fields, scope)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if policy.Action(in.Action) == policy.Download {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="gigvault-export.csv"`)
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"subject", "field", "record", "value", "masked", "error", "reason"})
		for _, row := range rows {
			if row.Error != "" {
				_ = cw.Write([]string{row.Subject, "", "", "", "", row.Error, row.Reason})
			}
			for _, v := range row.Values {
				_ = cw.Write([]string{row.Subject, v.Field, v.Record, csvCell(v.Text), strconv.FormatBool(v.Masked), "", ""})
			}
		}
		cw.Flush()
		return
	}
	type rowOut struct {
		Subject string     `json:"subject"`
		Values  []valueOut `json:"values,omitempty"`
		Error   string     `json:"error,omitempty"`
		Reason  string     `json:"reason,omitempty"`
	}
	out := make([]rowOut, len(rows))
	for i, row := range rows {
		out[i] = rowOut{Subject: row.Subject, Values: s.values(row.Values), Error: row.Error, Reason: row.Reason}
	}
	writeJSON(w, http.StatusOK, map[string]any{"action": in.Action, "rows": out})
}

func (s *Server) listStaff(w http.ResponseWriter, r *http.Request, _ *access.Principal) {
	as, err := s.deps.Identity.Accounts(r.Context(), identity.Staff, 500)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"accounts": as})
}

func (s *Server) createStaff(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in struct {
		LoginName  string        `json:"login_name"`
		Roles      []policy.Role `json:"roles"`
		ApprovalID string        `json:"approval_id"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	// Dual control: another security administrator approves (ACC-1, ACC-5).
	enr, err := s.deps.Identity.RequestStaff(r.Context(), p, in.LoginName, in.Roles, in.ApprovalID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, enr)
}

func (s *Server) setRoles(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in struct {
		Roles      []policy.Role `json:"roles"`
		ApprovalID string        `json:"approval_id"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.deps.Identity.SetRoles(r.Context(), p, r.PathValue("id"), in.Roles, in.ApprovalID)
	s.reply(w, r, http.StatusOK, a, err)
}

func (s *Server) setStatus(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in struct {
		Enabled *bool  `json:"enabled"`
		Reason  string `json:"reason"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Enabled == nil {
		s.fail(w, r, errs.New(errs.Invalid, "enabled", "请指定启用（true）或停用（false）", "say enabled: true or false"))
		return
	}
	a, err := s.deps.Identity.SetStatus(r.Context(), p, r.PathValue("id"), *in.Enabled, in.Reason)
	s.reply(w, r, http.StatusOK, a, err)
}

func (s *Server) resetCredentials(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in struct {
		Password   bool   `json:"password"`
		TOTP       bool   `json:"totp"`
		ApprovalID string `json:"approval_id"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	enr, err := s.deps.Identity.ResetCredentials(r.Context(), p, r.PathValue("id"), in.Password, in.TOTP, in.ApprovalID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, enr)
}

func (s *Server) unlock(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if err := s.deps.Identity.Unlock(r.Context(), p, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// csvCell keeps a value from being read as a formula by a spreadsheet
// (CSV injection): cells starting with = + - @ or a control character get a
// leading apostrophe.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// mayDecide: approvers (DPO, security admin) see every request; other
// staff see their own.
func mayDecide(p *access.Principal) bool { return p.Has(policy.DPO, policy.SecurityAdmin) }

func (s *Server) listApprovals(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	status := r.URL.Query().Get("status")
	switch status {
	case "", approval.Pending, approval.Approved, approval.Rejected, approval.Executed, approval.Expired:
	default:
		s.fail(w, r, errs.New(errs.Invalid, "status", "未知的审批状态", "unknown status").With("", []string{approval.Pending, approval.Approved,
			approval.Rejected, approval.Executed, approval.Expired}, ""))
		return
	}
	requester := ""
	if !mayDecide(p) {
		requester = p.AccountID // others see their own requests only
	}
	out, err := s.deps.Approvals.List(r.Context(), status, requester, 500)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if out == nil {
		out = []approval.Request{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"approvals": out})
}

func (s *Server) getApproval(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	a, err := s.deps.Approvals.Get(r.Context(), s.deps.DB, r.PathValue("id"))
	if err == nil && !mayDecide(p) && a.Requester != p.AccountID {
		err = errs.New(errs.NotFound, "id", "审批申请不存在", "no such approval request")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) decideApproval(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in struct {
		Approve *bool  `json:"approve"`
		Note    string `json:"note"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Approve == nil {
		s.fail(w, r, errs.New(errs.Invalid, "approve", "请选择批准或驳回", "say approve: true or false"))
		return
	}
	a, err := s.deps.Approvals.Decide(r.Context(), p.ApprovalActor(), r.PathValue("id"), *in.Approve, in.Note)
	s.reply(w, r, http.StatusOK, a, err)
}

func (s *Server) auditSearch(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	q := r.URL.Query()
	f := audit.Filter{Actor: q.Get("actor"), Subject: q.Get("subject"), Action: q.Get("action"), Channel: q.Get("channel")}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				s.fail(w, r, errs.New(errs.Invalid, p.name, "时间格式应为 RFC 3339", "use an RFC 3339 time"))
				return
			}
			*p.dst = t
		}
	}
	f.Limit = 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.fail(w, r, errs.New(errs.Invalid, "limit", "limit 应为 1 至 1000", "limit must be 1 to 1000"))
			return
		}
		f.Limit = n
	}
	// Newest first; "before" (a sequence number) pages back.
	f.Newest = true
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			s.fail(w, r, errs.New(errs.Invalid, "before", "before 应为条目序号", "before must be an entry sequence number"))
			return
		}
		f.Before = n
	}
	es, err := audit.Search(r.Context(), s.deps.DB, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Searching the audit log is itself audited (AUD-5).
	if s.deps.Recorder != nil {
		if err := s.deps.Recorder.Record(r.Context(), audit.Entry{Actor: p.ActorID(), Channel: "api", Action: "audit.search",
			Detail: map[string]string{"results": fmt.Sprint(len(es))}}); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	type entryOut struct {
		Seq     int64             `json:"seq"`
		At      time.Time         `json:"at"`
		Actor   string            `json:"actor"`
		Action  string            `json:"action"`
		Subject string            `json:"subject,omitempty"`
		Fields  []string          `json:"fields,omitempty"`
		Purpose string            `json:"purpose,omitempty"`
		Outcome string            `json:"outcome"`
		Channel string            `json:"channel,omitempty"`
		Detail  map[string]string `json:"detail,omitempty"`
	}
	out := make([]entryOut, len(es))
	for i, e := range es {
		out[i] = entryOut{Seq: e.Seq, At: e.At, Actor: e.Actor, Action: e.Action, Subject: e.Subject, Fields: e.Fields,
			Purpose: e.Purpose, Outcome: e.Outcome, Channel: e.Channel, Detail: e.Detail}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out})
}
