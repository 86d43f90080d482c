package access_test

// The Guard on every engine: masked reads and consent, a person's own data
// whole, reveals with reasons and the per-staff limit over a moving window,
// and bulk work's limits.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gigvault/internal/access"
	"gigvault/internal/app"
	"gigvault/internal/approval"
	"gigvault/internal/audit"
	"gigvault/internal/clock"
	"gigvault/internal/consent"
	"gigvault/internal/errs"
	"gigvault/internal/policy"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
	"gigvault/internal/vault"
)

type env struct {
	t   *testing.T
	c   *app.Core
	g   *access.Guard
	clk *clock.Fake
}

func forEachEngine(t *testing.T, cfg access.Config, fn func(t *testing.T, e *env)) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			ac := eng.Config(t)
			ac.Access = cfg
			c := testenv.Open(t, ac)
			fn(t, &env{t: t, c: c, g: c.Guard, clk: ac.Clock.(*clock.Fake)})
		})
	}
}

func staff(id string, roles ...policy.Role) *access.Principal {
	return &access.Principal{SessionID: "session-" + id, AccountID: id, Kind: "staff", SubjectID: "staff-subject-" + id, Roles: roles}
}

var setup = vault.Actor{ID: "test:setup", Channel: "test"}

// person is a worker with values in the vault.
type person struct {
	subject string
	values  map[string]string
	p       *access.Principal
}

func (e *env) person(mobile string, consents ...string) person {
	e.t.Helper()
	ctx := context.Background()
	subject := testenv.Subjects(e.t, e.c, "worker", 1)[0]
	values := map[string]string{
		"mobile":   mobile,
		"name":     "王小明",
		"email":    "wang.xm@example.com",
		"address":  "福建省福州市仓山区金工路2号",
		"postcode": "350000",
	}
	var items []vault.Item
	for f, v := range values {
		items = append(items, vault.Item{Field: f, Value: v})
	}
	if err := e.c.Vault.Put(ctx, setup, "account_registration", subject, items...); err != nil {
		e.t.Fatal(err)
	}
	e.consent(subject, policy.Granted, consents...)
	return person{subject: subject, values: values,
		p: &access.Principal{SessionID: "session-" + subject, AccountID: "acct-" + subject, Kind: "worker", SubjectID: subject, Roles: []policy.Role{policy.Worker}}}
}

func (e *env) consent(subject string, st policy.Consent, purposes ...string) {
	e.t.Helper()
	if len(purposes) == 0 {
		return
	}
	event := map[policy.Consent]string{policy.Granted: consent.Agree, policy.Refused: consent.Refuse, policy.Withdrawn: consent.Withdraw}[st]
	err := e.c.DB.InTx(context.Background(), func(tx *store.Tx) error {
		for _, p := range purposes {
			for _, sc := range e.c.Consent.ScopesFor(p) {
				scopes := []string{sc}
				if kind, id := consent.SplitScope(sc); kind == consent.KindFunction {
					scopes = append(scopes, consent.Scope(consent.KindSensitive, id)) // with the sensitive PI
				}
				for _, sc := range scopes {
					if err := e.c.Consent.Append(context.Background(), tx, &consent.Event{Subject: subject, Scope: sc, Event: event,
						PolicyVersion: "1", PolicySeq: 1, Channel: "api"}); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) entries(f audit.Filter) []audit.Entry {
	e.t.Helper()
	f.Limit = 10000
	es, err := audit.Search(context.Background(), e.c.DB, f)
	if err != nil {
		e.t.Fatal(err)
	}
	return es
}

// refused checks err's code, field and reason ("" = any field).
func refused(t *testing.T, err error, code errs.Code, field, reason, what string) *errs.Error {
	t.Helper()
	e := errs.As(err)
	if err == nil || e.Code != code || (field != "" && e.Field != field) || e.Reason != reason {
		t.Fatalf("%s: %v (field %q reason %q), want %s on %q reason %q", what, err, e.Field, e.Reason, code, field, reason)
	}
	return e
}

func byField(vs []vault.Value) map[string]vault.Value {
	m := map[string]vault.Value{}
	for _, v := range vs {
		m[v.Field] = v
	}
	return m
}

func fieldNames(vs []vault.Value) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Field)
	}
	slices.Sort(out)
	return out
}

func TestReadMasksForSupport(t *testing.T) {
	forEachEngine(t, access.Config{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		w := e.person("13912345678", "customer_service")
		sup := staff("sup-1", policy.Support)
		vs, err := e.g.Read(ctx, sup, w.subject, "customer_service")
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		// Only what the catalog declares for the purpose; all masked.
		if got := fieldNames(vs); !slices.Equal(got, []string{"email", "mobile", "name"}) {
			t.Fatalf("fields read for customer_service: %v", got)
		}
		for _, v := range vs {
			if !v.Masked || v.Text == w.values[v.Field] || v.Text == "" {
				t.Errorf("%s read as %q (masked %v): want it masked", v.Field, v.Text, v.Masked)
			}
		}
		if m := byField(vs)["mobile"].Text; !strings.HasPrefix(m, "139") || !strings.HasSuffix(m, "5678") || strings.Contains(m, "1234") {
			t.Errorf("mobile masked as %q, want 139…5678", m)
		}
		// The read is audited with the decision that allowed it.
		es := e.entries(audit.Filter{Action: "pi.list", Subject: w.subject, Actor: sup.ActorID()})
		if len(es) != 1 || es[0].Purpose != "customer_service" || es[0].Detail["decision"] != string(policy.Mask) || es[0].Detail["revealed"] != "" {
			t.Fatalf("audit of the read: %+v", es)
		}

		// A legal basis needs no consent row; still masked.
		vs, err = e.g.Read(ctx, sup, w.subject, "security_risk_control")
		if err != nil {
			t.Fatalf("read for security_risk_control: %v", err)
		}
		if got := byField(vs)["mobile"]; !got.Masked {
			t.Fatalf("security_risk_control read: %+v", vs)
		}

		// Roles without access to PI, and other users, are refused.
		for _, p := range []*access.Principal{staff("sec-1", policy.SecurityAdmin), staff("aud-1", policy.AuditAdmin), staff("sys-1", policy.SystemAdmin),
			e.person("13912345679").p, staff("none")} {
			_, err := e.g.Read(ctx, p, w.subject, "customer_service")
			want := policy.ReasonNotPermitted
			if len(p.Roles) == 0 {
				want = policy.ReasonUnknown
			}
			refused(t, err, errs.Forbidden, "", want, "read by "+p.ActorID())
		}
		if _, err := e.g.Read(ctx, sup, w.subject, "no_such_purpose"); !errs.Is(err, errs.Invalid) || errs.As(err).Field != "purpose" {
			t.Fatalf("read for an unknown purpose: %v", err)
		}
	})
}

func TestReadNeedsConsent(t *testing.T) {
	forEachEngine(t, access.Config{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		w := e.person("13912345678", "customer_service")
		sup := staff("sup-1", policy.Support)

		_, err := e.g.Read(ctx, sup, w.subject, "marketing")
		ee := refused(t, err, errs.ConsentRequired, "purpose", policy.ReasonConsentRequired, "marketing read without consent")
		// The missing scopes are named: the marketing function, and the
		// separate consent for the sensitive PI among its fields (CON-6).
		if !slices.Equal(ee.Missing, []string{"function:marketing", "sensitive:marketing"}) {
			t.Fatalf("missing %v, want [function:marketing sensitive:marketing]", ee.Missing)
		}
		es := e.entries(audit.Filter{Action: "pi.decision", Subject: w.subject})
		if len(es) != 1 {
			t.Fatalf("%d pi.decision entries, want 1: %+v", len(es), es)
		}
		d := es[0]
		if d.Actor != sup.ActorID() || d.Purpose != "marketing" || d.Outcome != string(policy.Deny) || d.Detail["reason"] != policy.ReasonConsentRequired ||
			d.Detail["action"] != string(policy.Read) || !slices.Equal(d.Fields, []string{"address", "mobile", "postcode"}) {
			t.Fatalf("decision audited as %+v", d)
		}
		if es := e.entries(audit.Filter{Action: "pi.list", Subject: w.subject}); len(es) != 0 {
			t.Fatalf("a refused read reached the vault: %+v", es)
		}

		// With consent the same read is allowed, masked; withdrawn, refused again.
		e.consent(w.subject, policy.Granted, "marketing")
		vs, err := e.g.Read(ctx, sup, w.subject, "marketing")
		if err != nil {
			t.Fatalf("marketing read with consent: %v", err)
		}
		if got := fieldNames(vs); !slices.Equal(got, []string{"address", "mobile", "postcode"}) {
			t.Fatalf("marketing fields: %v", got)
		}
		for _, v := range vs {
			if !v.Masked {
				t.Errorf("%s unmasked", v.Field)
			}
		}
		for _, st := range []policy.Consent{policy.Withdrawn, policy.Refused} {
			e.consent(w.subject, st, "marketing")
			_, err = e.g.Read(ctx, sup, w.subject, "marketing")
			refused(t, err, errs.ConsentRequired, "purpose", policy.ReasonConsentRequired, "marketing read after "+string(st))
		}
		if n := len(e.entries(audit.Filter{Action: "pi.decision", Subject: w.subject})); n != 3 {
			t.Fatalf("%d refusals audited, want 3", n)
		}
	})
}

func TestReadOwnWhole(t *testing.T) {
	forEachEngine(t, access.Config{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		w := e.person("13912345678") // no consents at all: a person's own data needs none
		vs, err := e.g.ReadOwn(ctx, w.p)
		if err != nil {
			t.Fatalf("read own: %v", err)
		}
		got := byField(vs)
		if len(got) != len(w.values) {
			t.Fatalf("read own: %d values, want %d", len(got), len(w.values))
		}
		for f, want := range w.values {
			if v := got[f]; v.Masked || v.Text != want {
				t.Errorf("own %s: %q (masked %v), want %q whole", f, v.Text, v.Masked, want)
			}
		}
		es := e.entries(audit.Filter{Action: "pi.list", Subject: w.subject, Actor: w.p.ActorID()})
		if len(es) != 1 || es[0].Purpose != policy.PurposeRights || es[0].Detail["revealed"] != "true" || es[0].Detail["decision"] != string(policy.Allow) {
			t.Fatalf("audit of own read: %+v", es)
		}
		// Someone else's subject ID in the principal reads that subject only.
		other := e.person("13912345670")
		vs, err = e.g.ReadOwn(ctx, other.p)
		if err != nil || byField(vs)["mobile"].Text != "13912345670" {
			t.Fatalf("the other person's own read: %+v %v", vs, err)
		}
		// Staff keep no PI in the vault.
		if vs, err := e.g.ReadOwn(ctx, staff("sup-1", policy.Support)); err != nil || vs != nil {
			t.Fatalf("staff read own: %v %v", vs, err)
		}
		// OwnValue is one own value whole.
		if v, err := e.g.OwnValue(ctx, w.p, "mobile", "security_risk_control"); err != nil || v != "13912345678" {
			t.Fatalf("own value: %q %v", v, err)
		}
	})
}

func TestRevealNeedsReason(t *testing.T) {
	forEachEngine(t, access.Config{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		w := e.person("13912345678", "customer_service")
		sup := staff("sup-1", policy.Support)
		req := func(code, reason string) access.RevealRequest {
			return access.RevealRequest{Subject: w.subject, Field: "mobile", Purpose: "customer_service", ReasonCode: code, Reason: reason}
		}
		for _, code := range []string{"", "curiosity", "DISPUTE", " dispute"} {
			_, err := e.g.Reveal(ctx, sup, req(code, "the customer asked"))
			ee := refused(t, err, errs.Invalid, "reason_code", "", fmt.Sprintf("reason code %q", code))
			if !slices.Equal(ee.Missing, access.ReasonCodes) {
				t.Fatalf("reason-code error lists %v, want the accepted codes", ee.Missing)
			}
		}
		for _, reason := range []string{"", " ", "x", "  y  ", "\t"} {
			_, err := e.g.Reveal(ctx, sup, req("dispute", reason))
			refused(t, err, errs.Invalid, "reason", policy.ReasonReasonRequired, fmt.Sprintf("reason %q", reason))
		}
		_, err := e.g.Reveal(ctx, sup, access.RevealRequest{Subject: w.subject, Field: "no_such_field", Purpose: "customer_service", ReasonCode: "dispute", Reason: "ticket 42"})
		refused(t, err, errs.Invalid, "field", "", "unknown field")
		if used, _, err := e.g.RevealsUsed(ctx, sup); err != nil || used != 0 {
			t.Fatalf("refused reveals counted: %d %v", used, err)
		}

		for _, code := range access.ReasonCodes {
			v, err := e.g.Reveal(ctx, sup, req(code, "ticket 42"))
			if err != nil {
				t.Fatalf("reveal with %s: %v", code, err)
			}
			if v.Masked || v.Text != "13912345678" {
				t.Fatalf("revealed %q (masked %v), want the whole number", v.Text, v.Masked)
			}
		}
		if used, limit, err := e.g.RevealsUsed(ctx, sup); err != nil || used != len(access.ReasonCodes) || limit != 50 {
			t.Fatalf("reveals used %d of %d (%v), want %d of 50", used, limit, err, len(access.ReasonCodes))
		}
		// The reveal is audited with its reason.
		es := e.entries(audit.Filter{Action: "pi.read", Subject: w.subject, Actor: sup.ActorID()})
		if len(es) != len(access.ReasonCodes) || es[0].Detail["revealed"] != "true" || !strings.HasPrefix(es[0].Detail["reason"], access.ReasonCodes[0]+": ") {
			t.Fatalf("audit of reveals: %+v", es)
		}
		// Consent still counts: marketing is not consented to.
		_, err = e.g.Reveal(ctx, sup, access.RevealRequest{Subject: w.subject, Field: "mobile", Purpose: "marketing", ReasonCode: "dispute", Reason: "ticket 42"})
		refused(t, err, errs.ConsentRequired, "purpose", policy.ReasonConsentRequired, "reveal for marketing")
		// And roles: a security administrator sees no PI.
		_, err = e.g.Reveal(ctx, staff("sec-1", policy.SecurityAdmin), req("dispute", "ticket 42"))
		refused(t, err, errs.Forbidden, "", policy.ReasonNotPermitted, "reveal by a security admin")
	})
}

func TestRevealLimitWindow(t *testing.T) {
	const limit, window = 2, time.Hour
	forEachEngine(t, access.Config{RevealLimit: limit, RevealWindow: window}, func(t *testing.T, e *env) {
		ctx := context.Background()
		w := e.person("13912345678", "customer_service")
		sup := staff("sup-1", policy.Support)
		req := access.RevealRequest{Subject: w.subject, Field: "mobile", Purpose: "customer_service", ReasonCode: "dispute", Reason: "ticket 42"}
		reveal := func(p *access.Principal, r access.RevealRequest) error {
			t.Helper()
			v, err := e.g.Reveal(ctx, p, r)
			if err == nil && (v.Masked || v.Text != "13912345678") {
				t.Fatalf("revealed %q", v.Text)
			}
			return err
		}
		start := e.clk.Now()
		for i := range limit {
			if err := reveal(sup, req); err != nil {
				t.Fatalf("reveal %d: %v", i+1, err)
			}
		}
		e.clk.Advance(30 * time.Minute)
		ee := refused(t, reveal(sup, req), errs.ApprovalRequired, "", policy.ReasonRevealLimit, "reveal past the limit")
		if ee.Ref == "" {
			t.Fatal("no approval request filed")
		}
		filed, err := e.c.Approvals.Get(ctx, e.c.DB, ee.Ref)
		if err != nil || filed.Action != policy.Reveal || filed.Requester != sup.AccountID || filed.Status != approval.Pending ||
			!slices.Equal(filed.Params.Subjects, []string{w.subject}) || !slices.Equal(filed.Params.Fields, []string{"mobile"}) {
			t.Fatalf("filed request: %+v %v", filed, err)
		}
		// Another staff member has a limit of their own.
		if err := reveal(staff("sup-2", policy.Support), req); err != nil {
			t.Fatalf("another member's reveal: %v", err)
		}
		// Still inside the window a microsecond before it ends.
		e.clk.Set(start.Add(window - time.Microsecond))
		refused(t, reveal(sup, req), errs.ApprovalRequired, "", policy.ReasonRevealLimit, "reveal just inside the window")
		// Once the window has passed, reveals are allowed again, up to the limit.
		e.clk.Set(start.Add(window))
		if used, _, _ := e.g.RevealsUsed(ctx, sup); used != 0 {
			t.Fatalf("reveals used after the window: %d, want 0", used)
		}
		for i := range limit {
			if err := reveal(sup, req); err != nil {
				t.Fatalf("reveal %d after the window: %v", i+1, err)
			}
		}
		refused(t, reveal(sup, req), errs.ApprovalRequired, "", policy.ReasonRevealLimit, "past the limit again")

		// A DPO's approval lets the first filed request through, once, for
		// exactly what was asked.
		if _, err := e.c.Approvals.Decide(ctx, staff("dpo-1", policy.DPO).ApprovalActor(), ee.Ref, true, "ok"); err != nil {
			t.Fatalf("approve: %v", err)
		}
		other := req
		other.Field = "name"
		other.ApprovalID = ee.Ref
		refused(t, reveal(sup, other), errs.ApprovalRequired, "approval_id", access.ReasonApprovalUnusable, "approval for another field")
		withApproval := req
		withApproval.ApprovalID = ee.Ref
		if err := reveal(sup, withApproval); err != nil {
			t.Fatalf("reveal with the approval: %v", err)
		}
		refused(t, reveal(sup, withApproval), errs.ApprovalRequired, "approval_id", access.ReasonApprovalUnusable, "the approval used twice")
		if got, _ := e.c.Approvals.Get(ctx, e.c.DB, ee.Ref); got.Status != approval.Executed {
			t.Fatalf("approval after use: %q", got.Status)
		}
	})
}

func TestBulkLimits(t *testing.T) {
	const window = 24 * time.Hour
	forEachEngine(t, access.Config{BulkLimit: 2, BulkWindow: window}, func(t *testing.T, e *env) {
		ctx := context.Background()
		op := staff("op-1", policy.DataOperator)
		a := e.person("13912345671", "account_registration")
		b := e.person("13912345672", "account_registration")
		c := e.person("13912345673") // no consent
		export := func(subjects ...string) access.BulkRequest {
			return access.BulkRequest{Action: policy.Export, Subjects: subjects, Fields: []string{"mobile"}, Purpose: "account_registration", Reason: "audit"}
		}

		// Five entries, two subjects: within the limit of two, no approval.
		req := export(b.subject, a.subject, b.subject, a.subject, b.subject)
		rows, err := e.g.Bulk(ctx, op, req)
		if err != nil {
			t.Fatalf("export with duplicates: %v", err)
		}
		want := []string{a.subject, b.subject}
		slices.Sort(want)
		if len(rows) != 2 || rows[0].Subject != want[0] || rows[1].Subject != want[1] {
			t.Fatalf("rows %+v, want one per subject %v", rows, want)
		}
		for _, r := range rows {
			if r.Error != "" || len(r.Values) != 1 || !r.Values[0].Masked || r.Values[0].Field != "mobile" {
				t.Fatalf("row %+v: want the masked mobile", r)
			}
		}
		if !slices.Equal(req.Subjects, []string{b.subject, a.subject, b.subject, a.subject, b.subject}) {
			t.Fatalf("Bulk changed the caller's subjects: %q", req.Subjects)
		}
		// The two count against the person's limit for the window.
		_, err = e.g.Bulk(ctx, op, export(c.subject))
		refused(t, err, errs.ApprovalRequired, "", policy.ReasonBulkApproval, "one more within the window")

		// Three subjects are over the limit for anyone.
		op2 := staff("op-2", policy.DataOperator)
		_, err = e.g.Bulk(ctx, op2, export(a.subject, b.subject, c.subject))
		if ee := refused(t, err, errs.ApprovalRequired, "", policy.ReasonBulkApproval, "export of three"); ee.Ref == "" {
			t.Fatal("no approval filed")
		}

		// Consent decides each row.
		rows, err = e.g.Bulk(ctx, op2, export(a.subject, c.subject))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 {
			t.Fatalf("%d rows, want 2", len(rows))
		}
		for _, r := range rows {
			wantErr := ""
			if r.Subject == c.subject {
				wantErr = string(errs.ConsentRequired)
			}
			if r.Error != wantErr || (wantErr != "" && (r.Values != nil || r.Reason != policy.ReasonConsentRequired)) {
				t.Fatalf("row of %s: %+v, want error %q", r.Subject, r, wantErr)
			}
		}

		// Once the window has passed, the first operator may export again.
		e.clk.Advance(window)
		if _, err := e.g.Bulk(ctx, op, export(c.subject, a.subject)); err != nil {
			t.Fatalf("export after the window: %v", err)
		}

		many := func(n int) []string {
			s := make([]string, n)
			for i := range s {
				s[i] = fmt.Sprintf("subject-%05d", i)
			}
			return s
		}
		bad := []struct {
			name  string
			req   access.BulkRequest
			field string
		}{
			{"no subjects", export(), "subjects"},
			{"empty subjects", access.BulkRequest{Action: policy.Export, Subjects: []string{}, Fields: []string{"mobile"}, Purpose: "account_registration"}, "subjects"},
			{"10001 subjects", export(many(10001)...), "subjects"},
			{"no fields", access.BulkRequest{Action: policy.Export, Subjects: []string{a.subject}, Purpose: "account_registration"}, "fields"},
			{"unknown field", access.BulkRequest{Action: policy.Export, Subjects: []string{a.subject}, Fields: []string{"no_such_field"}, Purpose: "account_registration"}, "fields"},
			{"unknown action", access.BulkRequest{Action: policy.Read, Subjects: []string{a.subject}, Fields: []string{"mobile"}, Purpose: "account_registration"}, "action"},
			{"bulk change of no field", access.BulkRequest{Action: policy.BulkModify, Subjects: []string{a.subject}, Purpose: "account_registration", Value: "x@example.com"}, "fields"},
			{"bulk change of two fields", access.BulkRequest{Action: policy.BulkModify, Subjects: []string{a.subject}, Fields: []string{"email", "name"}, Purpose: "account_registration", Value: "x@example.com"}, "fields"},
		}
		for _, c := range bad {
			_, err := e.g.Bulk(ctx, op, c.req)
			refused(t, err, errs.Invalid, c.field, "", c.name)
		}
		// 10000 is allowed: it goes for approval.
		_, err = e.g.Bulk(ctx, op, export(many(10000)...))
		if ee := refused(t, err, errs.ApprovalRequired, "", policy.ReasonBulkApproval, "export of 10000"); ee.Ref == "" {
			t.Fatal("no approval filed for 10000")
		} else if r, err := e.c.Approvals.Get(ctx, e.c.DB, ee.Ref); err != nil || r.Records != 10000 || len(r.Params.Subjects) != 10000 {
			t.Fatalf("filed for 10000: records %d subjects %d %v", r.Records, len(r.Params.Subjects), err)
		}
	})
}

func TestBulkModifyOneField(t *testing.T) {
	forEachEngine(t, access.Config{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		op := staff("op-1", policy.DataOperator)
		a := e.person("13912345671", "account_registration")
		b := e.person("13912345672", "account_registration")
		c := e.person("13912345673") // no consent: left alone
		req := access.BulkRequest{Action: policy.BulkModify, Subjects: []string{a.subject, b.subject, c.subject, a.subject}, Fields: []string{"email"},
			Purpose: "account_registration", Value: "new@example.com", Reason: "domain change"}
		// Support may not change in bulk.
		_, err := e.g.Bulk(ctx, staff("sup-1", policy.Support), req)
		refused(t, err, errs.Forbidden, "", policy.ReasonNotPermitted, "bulk change by support")
		// The caller's request is left as it was, so it can be sent again.
		if want := []string{a.subject, b.subject, c.subject, a.subject}; !slices.Equal(req.Subjects, want) {
			t.Fatalf("Bulk changed the caller's subjects to %q, want %q", req.Subjects, want)
		}

		rows, err := e.g.Bulk(ctx, op, req)
		if err != nil {
			t.Fatalf("bulk change: %v", err)
		}
		if len(rows) != 3 {
			t.Fatalf("%d rows, want 3", len(rows))
		}
		for _, p := range []person{a, b, c} {
			vs, err := e.g.ReadOwn(ctx, p.p)
			if err != nil {
				t.Fatal(err)
			}
			want := "new@example.com"
			if p.subject == c.subject {
				want = p.values["email"]
			}
			if got := byField(vs)["email"].Text; got != want {
				t.Errorf("email of %s after the bulk change: %q, want %q", p.subject, got, want)
			}
			if got := byField(vs)["name"].Text; got != p.values["name"] {
				t.Errorf("name of %s changed to %q", p.subject, got)
			}
		}
		// A value the field's format refuses fails each row, and changes nothing.
		req.Value = "not an address"
		rows, err = e.g.Bulk(ctx, op, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.Error == "" {
				t.Errorf("row %s accepted an invalid e-mail", r.Subject)
			}
		}
		vs, _ := e.g.ReadOwn(ctx, a.p)
		if got := byField(vs)["email"].Text; got != "new@example.com" {
			t.Fatalf("email after a refused change: %q", got)
		}
	})
}

// Parallel reveals cannot all slip under the limit: the count is re-checked
// under the account's lock before a value leaves.
func TestRevealLimitUnderConcurrency(t *testing.T) {
	const limit = 3
	forEachEngine(t, access.Config{RevealLimit: limit}, func(t *testing.T, e *env) {
		ctx := context.Background()
		w := e.person("13912345679", "customer_service")
		sup := staff("sup-par", policy.Support)
		req := access.RevealRequest{Subject: w.subject, Field: "mobile", Purpose: "customer_service", ReasonCode: "dispute", Reason: "ticket 43"}
		var wg sync.WaitGroup
		var whole atomic.Int32
		for range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if v, err := e.g.Reveal(ctx, sup, req); err == nil && !v.Masked {
					whole.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := whole.Load(); n != limit {
			t.Fatalf("%d whole values from 12 parallel reveals, want exactly %d", n, limit)
		}
	})
}
