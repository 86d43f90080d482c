package approval_test

// Four-eyes requests on every engine: filing, listing with computed expiry,
// who may decide what, and execution exactly once for exactly the
// parameters approved.

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gigvault/internal/app"
	"gigvault/internal/approval"
	"gigvault/internal/audit"
	"gigvault/internal/clock"
	"gigvault/internal/errs"
	"gigvault/internal/policy"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
)

const ttl = 24 * time.Hour

type env struct {
	t   *testing.T
	c   *app.Core
	s   *approval.Store
	clk *clock.Fake
}

func forEachEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			cfg := eng.Config(t)
			cfg.ApprovalTTL = ttl
			c := testenv.Open(t, cfg)
			fn(t, &env{t: t, c: c, s: c.Approvals, clk: cfg.Clock.(*clock.Fake)})
		})
	}
}

func actor(id string, roles ...policy.Role) approval.Actor {
	return approval.Actor{AccountID: id, AuditID: "staff:" + id, Roles: roles}
}

var (
	operator = actor("op-1", policy.DataOperator)
	support  = actor("sup-1", policy.Support)
	dpo      = actor("dpo-1", policy.DPO)
	dpo2     = actor("dpo-2", policy.DPO)
	secadm   = actor("sec-1", policy.SecurityAdmin)
	auditor  = actor("aud-1", policy.AuditAdmin)
)

func exportParams() approval.Params {
	return approval.Params{Subjects: []string{"s-1", "s-2", "s-3"}, Fields: []string{"mobile", "name"}, Purpose: "customer_service", Format: "csv"}
}

func revealParams() approval.Params {
	return approval.Params{Subjects: []string{"s-9"}, Fields: []string{"mobile"}, Record: "main", Purpose: "customer_service", ReasonCode: "dispute"}
}

func (e *env) create(by approval.Actor, action policy.Action, p approval.Params, records int, reason string) approval.Request {
	e.t.Helper()
	var r approval.Request
	err := e.c.DB.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		r, err = e.s.Create(context.Background(), tx, by, action, p, records, reason)
		return err
	})
	if err != nil {
		e.t.Fatalf("create: %v", err)
	}
	return r
}

func (e *env) get(id string) approval.Request {
	e.t.Helper()
	r, err := e.s.Get(context.Background(), e.c.DB, id)
	if err != nil {
		e.t.Fatalf("get %s: %v", id, err)
	}
	return r
}

func (e *env) decide(by approval.Actor, id string, approve bool) approval.Request {
	e.t.Helper()
	r, err := e.s.Decide(context.Background(), by, id, approve, "ok")
	if err != nil {
		e.t.Fatalf("decide %s by %s: %v", id, by.AccountID, err)
	}
	return r
}

func (e *env) consume(id, requester string, action policy.Action, p approval.Params) error {
	return e.c.DB.InTx(context.Background(), func(tx *store.Tx) error {
		return e.s.Consume(context.Background(), tx, id, requester, action, p)
	})
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

func ids(rs []approval.Request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func TestCreateGet(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		now := e.clk.Now()
		long := "customer 13912345678 asked for a copy " + strings.Repeat("x", 300)
		r := e.create(operator, policy.Export, exportParams(), 3, long)
		if r.ID == "" || r.Status != approval.Pending || r.Requester != operator.AccountID || r.Action != policy.Export || r.Records != 3 {
			t.Fatalf("created %+v", r)
		}
		if !r.CreatedAt.Equal(now) || !r.ExpiresAt.Equal(now.Add(ttl)) {
			t.Fatalf("created at %v expires %v, want %v and %v", r.CreatedAt, r.ExpiresAt, now, now.Add(ttl))
		}
		// The reason goes to the permanent log: no number, at most 200 characters.
		if strings.Contains(r.Reason, "13912345678") || len([]rune(r.Reason)) > 200 || !strings.Contains(r.Reason, "asked for a copy") {
			t.Fatalf("reason kept as %q", r.Reason)
		}
		got := e.get(r.ID)
		if got.ID != r.ID || got.Status != approval.Pending || got.Reason != r.Reason || got.Records != 3 || got.Requester != operator.AccountID ||
			!got.CreatedAt.Equal(r.CreatedAt) || !got.ExpiresAt.Equal(r.ExpiresAt) || got.DecidedAt != nil || got.ExecutedAt != nil || got.DecidedBy != "" {
			t.Fatalf("get = %+v, want %+v", got, r)
		}
		if !slices.Equal(got.Params.Subjects, exportParams().Subjects) || !slices.Equal(got.Params.Fields, exportParams().Fields) ||
			got.Params.Purpose != "customer_service" || got.Params.Format != "csv" {
			t.Fatalf("params = %+v", got.Params)
		}
		if _, err := e.s.Get(context.Background(), e.c.DB, "no-such-id"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("get unknown: %v, want not_found", err)
		}
		// Filing is audited, naming fields but no values.
		es := e.entries(audit.Filter{Action: "approval.request", Actor: operator.AuditID})
		if len(es) != 1 || es[0].Detail["approval"] != r.ID || es[0].Purpose != "customer_service" || !slices.Equal(es[0].Fields, []string{"mobile", "name"}) {
			t.Fatalf("audit of the request: %+v", es)
		}
		// A single-subject request names its subject in the log.
		one := e.create(support, policy.Reveal, revealParams(), 1, "dispute")
		es = e.entries(audit.Filter{Action: "approval.request", Actor: support.AuditID})
		if len(es) != 1 || es[0].Subject != "s-9" || es[0].Detail["approval"] != one.ID {
			t.Fatalf("audit of the single-subject request: %+v", es)
		}
	})
}

func TestList(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		old := e.create(operator, policy.Export, exportParams(), 3, "old") // will expire
		e.clk.Advance(time.Second)
		oldA := e.create(support, policy.Reveal, revealParams(), 1, "old") // approved, will expire
		e.decide(dpo, oldA.ID, true)
		e.clk.Advance(ttl - time.Hour)
		pend := e.create(operator, policy.Export, exportParams(), 3, "pending")
		e.clk.Advance(time.Second)
		appr := e.create(support, policy.Reveal, revealParams(), 1, "approved")
		e.decide(dpo, appr.ID, true)
		e.clk.Advance(time.Second)
		rej := e.create(operator, policy.Download, exportParams(), 3, "rejected")
		e.decide(secadm, rej.ID, false)
		e.clk.Advance(time.Second)
		exe := e.create(operator, policy.Export, exportParams(), 3, "executed")
		e.decide(dpo, exe.ID, true)
		if err := e.consume(exe.ID, operator.AccountID, policy.Export, exportParams()); err != nil {
			t.Fatal(err)
		}
		// Not yet: everything is within its lifetime.
		if rs, err := e.s.List(ctx, approval.Expired, "", 0); err != nil || len(rs) != 0 {
			t.Fatalf("expired before the time: %v %v", ids(rs), err)
		}
		e.clk.Advance(2 * time.Hour) // old and oldA are now past 24 hours

		cases := []struct {
			status, requester string
			want              []approval.Request
		}{
			{"", "", []approval.Request{exe, rej, appr, pend, oldA, old}},
			{approval.Pending, "", []approval.Request{pend}},
			{approval.Approved, "", []approval.Request{appr}},
			{approval.Rejected, "", []approval.Request{rej}},
			{approval.Executed, "", []approval.Request{exe}},
			{approval.Expired, "", []approval.Request{oldA, old}},
			{"", operator.AccountID, []approval.Request{exe, rej, pend, old}},
			{"", support.AccountID, []approval.Request{appr, oldA}},
			{approval.Expired, support.AccountID, []approval.Request{oldA}},
			{approval.Pending, support.AccountID, nil},
			{"", "nobody", nil},
			{"no-such-status", "", nil},
		}
		for _, c := range cases {
			rs, err := e.s.List(ctx, c.status, c.requester, 0)
			if err != nil {
				t.Fatalf("list %q %q: %v", c.status, c.requester, err)
			}
			if !slices.Equal(ids(rs), ids(c.want)) {
				t.Errorf("list status %q requester %q = %v, want %v", c.status, c.requester, ids(rs), ids(c.want))
			}
			for _, r := range rs {
				if c.status != "" && r.Status != c.status {
					t.Errorf("list %q returned a request with status %q", c.status, r.Status)
				}
			}
		}
		// Statuses as Get computes them.
		for r, want := range map[string]string{old.ID: approval.Expired, oldA.ID: approval.Expired, pend.ID: approval.Pending,
			appr.ID: approval.Approved, rej.ID: approval.Rejected, exe.ID: approval.Executed} {
			if got := e.get(r).Status; got != want {
				t.Errorf("status of %s = %q, want %q", r, got, want)
			}
		}
		if rs, _ := e.s.List(ctx, "", "", 2); !slices.Equal(ids(rs), []string{exe.ID, rej.ID}) {
			t.Errorf("list limit 2 = %v", ids(rs))
		}
		// Expiry is exactly at ExpiresAt: a request created at T expires at T+ttl.
		e.clk.Set(pend.ExpiresAt.Add(-time.Microsecond))
		if got := e.get(pend.ID).Status; got != approval.Pending {
			t.Fatalf("a microsecond before expiry: %q", got)
		}
		e.clk.Set(pend.ExpiresAt)
		if got := e.get(pend.ID).Status; got != approval.Expired {
			t.Fatalf("at expiry: %q", got)
		}
		if rs, _ := e.s.List(ctx, approval.Expired, operator.AccountID, 0); !slices.Equal(ids(rs), []string{pend.ID, old.ID}) {
			t.Fatalf("expired of the operator at pend's expiry: %v", ids(rs))
		}
	})
}

func TestDecide(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		type attempt struct {
			name    string
			action  policy.Action
			by      approval.Actor
			approve bool
			code    errs.Code // "" = decided
			reason  string
		}
		cases := []attempt{
			{"reveal by a dpo", policy.Reveal, dpo, true, "", ""},
			{"reveal rejected by a dpo", policy.Reveal, dpo, false, "", ""},
			{"reveal by a security admin", policy.Reveal, secadm, true, errs.Forbidden, policy.ReasonNotPermitted},
			{"reveal by support", policy.Reveal, actor("sup-2", policy.Support), true, errs.Forbidden, policy.ReasonNotPermitted},
			{"reveal by the requester", policy.Reveal, actor("sup-1", policy.DPO), true, errs.Forbidden, "self_approval"},
			{"export by a dpo", policy.Export, dpo, true, "", ""},
			{"export by a security admin", policy.Export, secadm, true, "", ""},
			{"download by a security admin", policy.Download, secadm, true, "", ""},
			{"bulk change rejected by a security admin", policy.BulkModify, secadm, false, "", ""},
			{"export by an audit admin", policy.Export, auditor, true, errs.Forbidden, policy.ReasonNotPermitted},
			{"export by a data operator", policy.Export, actor("op-2", policy.DataOperator), true, errs.Forbidden, policy.ReasonNotPermitted},
			{"export by nobody in particular", policy.Export, actor("x-1"), true, errs.Forbidden, policy.ReasonNotPermitted},
			{"export by the requester", policy.Export, actor("op-1", policy.DPO, policy.SecurityAdmin), true, errs.Forbidden, "self_approval"},
		}
		for _, c := range cases {
			requester, p := operator, exportParams()
			if c.action == policy.Reveal {
				requester, p = support, revealParams()
			}
			r := e.create(requester, c.action, p, 1, c.name)
			got, err := e.s.Decide(ctx, c.by, r.ID, c.approve, "note 13912345678")
			if c.code == "" {
				if err != nil {
					t.Errorf("%s: %v", c.name, err)
					continue
				}
				want := approval.Rejected
				if c.approve {
					want = approval.Approved
				}
				if got.Status != want || got.DecidedBy != c.by.AccountID || got.DecidedAt == nil || !got.DecidedAt.Equal(e.clk.Now()) {
					t.Errorf("%s: decided %+v", c.name, got)
				}
				if strings.Contains(got.DecisionNote, "13912345678") || got.DecisionNote == "" {
					t.Errorf("%s: note kept as %q", c.name, got.DecisionNote)
				}
			} else {
				ee := errs.As(err)
				if err == nil || ee.Code != c.code || ee.Reason != c.reason {
					t.Errorf("%s: %v (reason %q), want %s %s", c.name, err, ee.Reason, c.code, c.reason)
					continue
				}
				if s := e.get(r.ID); s.Status != approval.Pending || s.DecidedBy != "" {
					t.Errorf("%s: refused decision changed the request: %+v", c.name, s)
				}
			}
			// Every attempt, refused or not, is in the log.
			verb := "approval.reject"
			if c.approve {
				verb = "approval.approve"
			}
			var found bool
			for _, en := range e.entries(audit.Filter{Action: verb, Actor: c.by.AuditID}) {
				if en.Detail["approval"] == r.ID {
					found = true
					want := "ok"
					if c.code != "" {
						want = string(c.code)
					}
					if en.Outcome != want || en.Detail["requester"] != requester.AccountID {
						t.Errorf("%s: audited outcome %q requester %q, want %q %q", c.name, en.Outcome, en.Detail["requester"], want, requester.AccountID)
					}
				}
			}
			if !found {
				t.Errorf("%s: no %s entry for the attempt", c.name, verb)
			}
		}
	})
}

func TestDecideOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := e.create(operator, policy.Export, exportParams(), 3, "twice")
		first := e.decide(dpo, r.ID, true)
		for _, c := range []struct {
			by      approval.Actor
			approve bool
		}{{dpo, true}, {dpo2, false}, {secadm, true}} {
			if _, err := e.s.Decide(ctx, c.by, r.ID, c.approve, ""); !errs.Is(err, errs.Conflict) {
				t.Fatalf("second decision by %s: %v, want conflict", c.by.AccountID, err)
			}
		}
		if got := e.get(r.ID); got.Status != approval.Approved || got.DecidedBy != dpo.AccountID || !got.DecidedAt.Equal(*first.DecidedAt) {
			t.Fatalf("after refused second decisions: %+v", got)
		}
		conflicts := 0
		for _, en := range e.entries(audit.Filter{}) {
			if strings.HasPrefix(en.Action, "approval.") && en.Detail["approval"] == r.ID && en.Outcome == string(errs.Conflict) {
				conflicts++
			}
		}
		if conflicts != 3 {
			t.Fatalf("%d refused second decisions audited, want 3", conflicts)
		}
		// Deciding an expired request is refused too.
		late := e.create(operator, policy.Export, exportParams(), 3, "late")
		e.clk.Advance(ttl)
		if _, err := e.s.Decide(ctx, dpo, late.ID, true, ""); !errs.Is(err, errs.Conflict) {
			t.Fatalf("decide expired: %v, want conflict", err)
		}
		if _, err := e.s.Decide(ctx, dpo, "no-such-id", true, ""); !errs.Is(err, errs.NotFound) {
			t.Fatalf("decide unknown: %v, want not_found", err)
		}
		// Concurrent deciders: exactly one decides.
		race := e.create(operator, policy.Export, exportParams(), 3, "race")
		var wg sync.WaitGroup
		results := make(chan error, 6)
		for i := range 6 {
			by := []approval.Actor{dpo, dpo2, secadm}[i%3]
			wg.Go(func() {
				_, err := e.s.Decide(ctx, by, race.ID, i%2 == 0, "")
				results <- err
			})
		}
		wg.Wait()
		close(results)
		ok := 0
		for err := range results {
			if err == nil {
				ok++
			} else if !errs.Is(err, errs.Conflict) {
				t.Errorf("concurrent decide: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d concurrent decisions succeeded, want 1", ok)
		}
		// Each of the six attempts is in the log: one decided, five refused.
		outcomes := map[string]int{}
		for _, en := range e.entries(audit.Filter{}) {
			if strings.HasPrefix(en.Action, "approval.") && en.Action != "approval.request" && en.Detail["approval"] == race.ID {
				outcomes[en.Outcome]++
			}
		}
		if outcomes["ok"] != 1 || outcomes[string(errs.Conflict)] != 5 {
			t.Fatalf("concurrent decisions audited as %v, want 1 ok and 5 conflict", outcomes)
		}
	})
}

func TestConsumeOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		r := e.create(operator, policy.Export, exportParams(), 3, "once")
		// Not yet approved: unusable.
		if err := e.consume(r.ID, operator.AccountID, policy.Export, exportParams()); !errs.Is(err, errs.ApprovalRequired) {
			t.Fatalf("consume pending: %v, want approval_required", err)
		}
		e.decide(dpo, r.ID, true)
		if !e.s.Usable(context.Background(), r.ID, operator.AccountID, policy.Export, exportParams()) {
			t.Fatal("approved request not usable")
		}
		const n = 10
		var wg sync.WaitGroup
		results := make(chan error, n)
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				results <- e.consume(r.ID, operator.AccountID, policy.Export, exportParams())
			})
		}
		close(start)
		wg.Wait()
		close(results)
		ok := 0
		for err := range results {
			switch {
			case err == nil:
				ok++
			case errs.Is(err, errs.ApprovalRequired):
			default:
				t.Errorf("concurrent consume: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of %d concurrent consumes succeeded, want exactly 1", ok, n)
		}
		got := e.get(r.ID)
		if got.Status != approval.Executed || got.ExecutedAt == nil {
			t.Fatalf("after consume: %+v", got)
		}
		if e.s.Usable(context.Background(), r.ID, operator.AccountID, policy.Export, exportParams()) {
			t.Fatal("executed request still usable")
		}
		if err := e.consume(r.ID, operator.AccountID, policy.Export, exportParams()); !errs.Is(err, errs.ApprovalRequired) {
			t.Fatalf("consume again: %v", err)
		}
		if err := e.consume("no-such-id", operator.AccountID, policy.Export, exportParams()); !errs.Is(err, errs.ApprovalRequired) {
			t.Fatalf("consume unknown: %v, want approval_required", err)
		}
		// A consume in a transaction that rolls back leaves it usable.
		r2 := e.create(operator, policy.Export, exportParams(), 3, "rollback")
		e.decide(dpo, r2.ID, true)
		_ = e.c.DB.InTx(context.Background(), func(tx *store.Tx) error {
			if err := e.s.Consume(context.Background(), tx, r2.ID, operator.AccountID, policy.Export, exportParams()); err != nil {
				t.Fatal(err)
			}
			return errs.New(errs.Internal, "", "", "the operation failed")
		})
		if got := e.get(r2.ID); got.Status != approval.Approved {
			t.Fatalf("after a rolled-back consume: %q, want approved", got.Status)
		}
	})
}

func TestConsumeExactParameters(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		base := exportParams()
		r := e.create(operator, policy.Export, base, 3, "exact")
		e.decide(dpo, r.ID, true)
		with := func(f func(p *approval.Params)) approval.Params {
			p := exportParams()
			f(&p)
			return p
		}
		cases := []struct {
			name      string
			requester string
			action    policy.Action
			p         approval.Params
		}{
			{"another requester", "op-2", policy.Export, base},
			{"the approver", dpo.AccountID, policy.Export, base},
			{"another action", operator.AccountID, policy.Download, base},
			{"a subject more", operator.AccountID, policy.Export, with(func(p *approval.Params) { p.Subjects = append(p.Subjects, "s-4") })},
			{"a subject fewer", operator.AccountID, policy.Export, with(func(p *approval.Params) { p.Subjects = p.Subjects[:2] })},
			{"another subject", operator.AccountID, policy.Export, with(func(p *approval.Params) { p.Subjects[0] = "s-0" })},
			{"subjects reordered", operator.AccountID, policy.Export, with(func(p *approval.Params) { slices.Reverse(p.Subjects) })},
			{"a field more", operator.AccountID, policy.Export, with(func(p *approval.Params) { p.Fields = append(p.Fields, "id_number") })},
			{"a field fewer", operator.AccountID, policy.Export, with(func(p *approval.Params) { p.Fields = p.Fields[:1] })},
			{"another purpose", operator.AccountID, policy.Export, with(func(p *approval.Params) { p.Purpose = "marketing" })},
			{"another format", operator.AccountID, policy.Export, with(func(p *approval.Params) { p.Format = "json" })},
			{"a record", operator.AccountID, policy.Export, with(func(p *approval.Params) { p.Record = "main" })},
			{"a value digest", operator.AccountID, policy.Export, with(func(p *approval.Params) { p.ValueDigest = "ab" })},
			{"a reason code", operator.AccountID, policy.Export, with(func(p *approval.Params) { p.ReasonCode = "dispute" })},
			{"no parameters", operator.AccountID, policy.Export, approval.Params{}},
		}
		for _, c := range cases {
			if e.s.Usable(context.Background(), r.ID, c.requester, c.action, c.p) {
				t.Errorf("%s: usable", c.name)
			}
			if err := e.consume(r.ID, c.requester, c.action, c.p); !errs.Is(err, errs.ApprovalRequired) {
				t.Errorf("%s: consume = %v, want approval_required", c.name, err)
			}
		}
		if got := e.get(r.ID); got.Status != approval.Approved {
			t.Fatalf("mismatched consumes changed the request: %q", got.Status)
		}
		if err := e.consume(r.ID, operator.AccountID, policy.Export, exportParams()); err != nil {
			t.Fatalf("consume with the exact parameters: %v", err)
		}
	})
}

func TestConsumeAfterExpiry(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		r := e.create(support, policy.Reveal, revealParams(), 1, "expiry")
		e.clk.Advance(ttl - time.Minute)
		e.decide(dpo, r.ID, true) // approved a minute before it expires
		e.clk.Advance(time.Minute)
		if e.s.Usable(context.Background(), r.ID, support.AccountID, policy.Reveal, revealParams()) {
			t.Fatal("expired approval usable")
		}
		if err := e.consume(r.ID, support.AccountID, policy.Reveal, revealParams()); !errs.Is(err, errs.ApprovalRequired) {
			t.Fatalf("consume expired: %v, want approval_required", err)
		}
		if got := e.get(r.ID); got.Status != approval.Expired || got.ExecutedAt != nil {
			t.Fatalf("expired request: %+v", got)
		}
		// Rejected requests are never usable either.
		rej := e.create(support, policy.Reveal, revealParams(), 1, "rejected")
		e.decide(dpo, rej.ID, false)
		if err := e.consume(rej.ID, support.AccountID, policy.Reveal, revealParams()); !errs.Is(err, errs.ApprovalRequired) {
			t.Fatalf("consume rejected: %v", err)
		}
	})
}
