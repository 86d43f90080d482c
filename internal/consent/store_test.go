package consent_test

// The consent question as the decision point asks it: scopes per function,
// the separate consent for sensitive PI, recipients, the material-change
// floor, exceptions with their basis, and the cache across nodes.

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"gigvault/internal/app"
	"gigvault/internal/clock"
	"gigvault/internal/consent"
	"gigvault/internal/functions"
	"gigvault/internal/policy"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
)

// floor is a settable material-change floor.
type floor struct{ seq atomic.Int64 }

func (f *floor) MaterialFloor(context.Context) (int64, string, error) { return f.seq.Load(), "", nil }

func appendEvent(t *testing.T, c *app.Core, s *consent.Store, subject, scope, event string, seq int64) {
	t.Helper()
	err := c.DB.InTx(context.Background(), func(tx *store.Tx) error {
		return s.Append(context.Background(), tx, &consent.Event{Subject: subject, Scope: scope, Event: event, PolicyVersion: "v", PolicySeq: seq, Channel: "app"})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func check(t *testing.T, s consent.Source, q consent.Query) consent.Answer {
	t.Helper()
	a, err := s.Check(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCheckScopes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, c *app.Core, clk *clock.Fake) {
		f := &floor{}
		s := consent.New(c.DB, clk, consent.Options{Functions: functions.Default(c.Catalog), Catalog: c.Catalog, Floor: f})
		w := testenv.Subjects(t, c, "worker", 1)[0]

		// Exceptions answer with their basis, whatever is recorded.
		for p, basis := range consent.Exceptions {
			if a := check(t, s, consent.Query{Subject: w, Purpose: p}); a.State != policy.Exception || a.Basis != basis {
				t.Errorf("%s: %+v, want exception %s", p, a, basis)
			}
		}
		// A purpose no function serves cannot be consented to at all.
		if a := check(t, s, consent.Query{Subject: w, Purpose: "no_such_purpose"}); a.State != policy.NoConsent || !slices.Equal(a.Missing, []string{"purpose:no_such_purpose"}) {
			t.Errorf("unknown purpose: %+v", a)
		}

		// nearby_jobs uses sensitive PI (precise location): the function's
		// consent alone covers its ordinary fields, not the sensitive ones.
		appendEvent(t, c, s, w, "function:nearby_jobs", consent.Agree, 1)
		if a := check(t, s, consent.Query{Subject: w, Purpose: "nearby_jobs"}); a.State != policy.Granted {
			t.Errorf("nearby_jobs, ordinary fields: %+v", a)
		}
		a := check(t, s, consent.Query{Subject: w, Purpose: "nearby_jobs", Sensitive: true})
		if a.State == policy.Granted || !slices.Equal(a.Missing, []string{"sensitive:nearby_jobs"}) {
			t.Errorf("nearby_jobs, sensitive fields without their consent: %+v", a)
		}
		appendEvent(t, c, s, w, "sensitive:nearby_jobs", consent.Agree, 1)
		if a := check(t, s, consent.Query{Subject: w, Purpose: "nearby_jobs", Sensitive: true}); a.State != policy.Granted {
			t.Errorf("nearby_jobs with both consents: %+v", a)
		}

		// A recipient needs its own consent on top of the purpose's.
		appendEvent(t, c, s, w, "policy", consent.Agree, 1)
		q := consent.Query{Subject: w, Purpose: "resume_sharing", Recipient: "recipient:org-a"}
		if a := check(t, s, q); a.State != policy.NoConsent || !slices.Equal(a.Missing, []string{"recipient:org-a"}) {
			t.Errorf("résumé to org-a without its consent: %+v", a)
		}
		appendEvent(t, c, s, w, "recipient:org-a", consent.Agree, 1)
		if a := check(t, s, q); a.State != policy.Granted {
			t.Errorf("résumé to org-a with consent: %+v", a)
		}
		appendEvent(t, c, s, w, "recipient:org-a", consent.Withdraw, 1)
		if a := check(t, s, q); a.State != policy.Withdrawn || !slices.Equal(a.Missing, []string{"recipient:org-a"}) {
			t.Errorf("résumé to org-a after the withdrawal: %+v", a)
		}
		if a := check(t, s, consent.Query{Subject: w, Purpose: "resume_sharing"}); a.State != policy.Granted {
			t.Errorf("withdrawing one recipient touched the purpose: %+v", a)
		}

		// A material change: consents under older versions stop counting.
		f.seq.Store(2)
		a = check(t, s, consent.Query{Subject: w, Purpose: "job_matching"})
		if a.State == policy.Granted || !slices.Equal(a.Missing, []string{"policy"}) {
			t.Errorf("after a material change: %+v", a)
		}
		appendEvent(t, c, s, w, "policy", consent.Agree, 2)
		if a := check(t, s, consent.Query{Subject: w, Purpose: "job_matching"}); a.State != policy.Granted {
			t.Errorf("after agreeing to the new version: %+v", a)
		}
		if a := check(t, s, consent.Query{Subject: w, Purpose: "nearby_jobs"}); a.State == policy.Granted {
			t.Errorf("a function consent under the old version still counts: %+v", a)
		}
	})
}

// TestCacheAcrossNodes: a change is seen at once on the node that made it,
// and on another node within the cache TTL, never later.
func TestCacheAcrossNodes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, c *app.Core, clk *clock.Fake) {
		opts := consent.Options{Functions: functions.Default(c.Catalog), Catalog: c.Catalog, CacheTTL: 2 * time.Second}
		one := consent.New(c.DB, clk, opts)
		two := consent.New(c.DB, clk, opts)
		w := testenv.Subjects(t, c, "worker", 1)[0]
		q := consent.Query{Subject: w, Purpose: "marketing"}
		appendEvent(t, c, one, w, "function:marketing", consent.Agree, 0)
		if check(t, one, q).State != policy.Granted || check(t, two, q).State != policy.Granted {
			t.Fatal("granted state not seen")
		}
		appendEvent(t, c, one, w, "function:marketing", consent.Withdraw, 0)
		if got := check(t, one, q).State; got != policy.Withdrawn {
			t.Fatalf("the node that recorded the withdrawal answers %q", got)
		}
		// The other node answers from its cache until the TTL passes, and
		// not a moment longer.
		clk.Advance(1999 * time.Millisecond)
		if got := check(t, two, q).State; got != policy.Granted {
			t.Fatalf("inside the TTL the other node answers %q; the test no longer shows the cache", got)
		}
		clk.Advance(time.Millisecond)
		if got := check(t, two, q).State; got != policy.Withdrawn {
			t.Fatalf("after the TTL the other node still answers %q", got)
		}
		// Without a cache every answer is fresh.
		none := consent.New(c.DB, clk, consent.Options{Functions: functions.Default(c.Catalog), CacheTTL: -1})
		appendEvent(t, c, one, w, "function:marketing", consent.Agree, 0)
		if got := check(t, none, q).State; got != policy.Granted {
			t.Fatalf("uncached store: %q", got)
		}
	})
}
