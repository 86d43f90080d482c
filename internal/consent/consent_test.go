package consent_test

// Consent state on every engine: legal-basis purposes, no record, record
// and overwrite, the transaction it is recorded in; and the Fixed source.

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"gigvault/internal/app"
	"gigvault/internal/clock"
	"gigvault/internal/consent"
	"gigvault/internal/policy"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
)

func forEachEngine(t *testing.T, fn func(t *testing.T, c *app.Core, clk *clock.Fake)) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			cfg := eng.Config(t)
			fn(t, testenv.Open(t, cfg), cfg.Clock.(*clock.Fake))
		})
	}
}

func state(t *testing.T, s consent.Source, subject, purpose string) policy.Consent {
	t.Helper()
	a, err := s.Check(context.Background(), consent.Query{Subject: subject, Purpose: purpose})
	if err != nil {
		t.Fatalf("state %s: %v", purpose, err)
	}
	return a.State
}

func record(t *testing.T, c *app.Core, subject string, st policy.Consent, version string, purposes ...string) {
	t.Helper()
	event := map[policy.Consent]string{policy.Granted: consent.Agree, policy.Refused: consent.Refuse, policy.Withdrawn: consent.Withdraw}[st]
	err := c.DB.InTx(context.Background(), func(tx *store.Tx) error {
		for _, p := range purposes {
			for _, sc := range c.Consent.ScopesFor(p) {
				if err := c.Consent.Append(context.Background(), tx, &consent.Event{Subject: subject, Scope: sc, Event: event,
					PolicyVersion: version, Channel: "api"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("record: %v", err)
	}
}

func TestLegalBasisIsException(t *testing.T) {
	forEachEngine(t, func(t *testing.T, c *app.Core, _ *clock.Fake) {
		subject := testenv.Subjects(t, c, "worker", 1)[0]
		if len(consent.LegalBasis) == 0 {
			t.Fatal("no legal-basis purposes")
		}
		for _, p := range consent.LegalBasis {
			// Without any record, and for a subject that does not exist.
			if got := state(t, c.Consent, subject, p); got != policy.Exception {
				t.Errorf("%s without a record: %q, want exception", p, got)
			}
			if got := state(t, c.Consent, "no-such-subject", p); got != policy.Exception {
				t.Errorf("%s for an unknown subject: %q, want exception", p, got)
			}
		}
		// A withdrawal on file does not turn a legal obligation into consent.
		record(t, c, subject, policy.Withdrawn, "v1", consent.LegalBasis...)
		for _, p := range consent.LegalBasis {
			if got := state(t, c.Consent, subject, p); got != policy.Exception {
				t.Errorf("%s after a withdrawal: %q, want exception", p, got)
			}
		}
		// The legal-basis purposes are not among those a registrant agrees to.
		for _, p := range consent.LegalBasis {
			if slices.Contains(c.Functions.Basic()[0].Purposes, p) {
				t.Errorf("%s is both a basic purpose and a legal basis", p)
			}
		}
	})
}

func TestStateRecord(t *testing.T) {
	forEachEngine(t, func(t *testing.T, c *app.Core, clk *clock.Fake) {
		ctx := context.Background()
		subs := testenv.Subjects(t, c, "worker", 2)
		a, b := subs[0], subs[1]
		for _, p := range append([]string{"marketing"}, c.Functions.Basic()[0].Purposes...) {
			if got := state(t, c.Consent, a, p); got != policy.NoConsent {
				t.Fatalf("%s without a record: %q, want none", p, got)
			}
		}

		// Agreeing to the policy covers every basic purpose, and nothing else.
		record(t, c, a, policy.Granted, "v1", "account_registration")
		for _, p := range c.Functions.Basic()[0].Purposes {
			if got := state(t, c.Consent, a, p); got != policy.Granted {
				t.Errorf("%s after agreeing to the policy: %q, want granted", p, got)
			}
			if got := state(t, c.Consent, b, p); got != policy.NoConsent {
				t.Errorf("%s of another subject: %q, want none", p, got)
			}
		}
		if got := state(t, c.Consent, a, "marketing"); got != policy.NoConsent {
			t.Errorf("marketing, not recorded: %q, want none", got)
		}

		// A later event overwrites the state row; the events all stay.
		clk.Advance(time.Hour)
		record(t, c, a, policy.Withdrawn, "v2", "job_matching", "marketing")
		if got := state(t, c.Consent, a, "job_search"); got != policy.Withdrawn {
			t.Errorf("job_search after withdrawing the policy: %q", got)
		}
		if got := state(t, c.Consent, a, "marketing"); got != policy.Withdrawn {
			t.Errorf("marketing after recording a withdrawal: %q", got)
		}
		var n int
		var version string
		var at, refused int64
		if err := c.DB.QueryRow(ctx, `SELECT COUNT(*) FROM consents WHERE subject_id = ? AND purpose = 'policy'`, a).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d rows for one scope (%v), want 1", n, err)
		}
		if err := c.DB.QueryRow(ctx, `SELECT policy_version, at, refused_at FROM consents WHERE subject_id = ? AND purpose = 'policy'`, a).Scan(&version, &at, &refused); err != nil {
			t.Fatal(err)
		}
		if version != "v2" || at != clk.Now().UnixMicro() || refused != at {
			t.Fatalf("overwritten row: version %q at %d refused %d, want v2 at %d", version, at, refused, clk.Now().UnixMicro())
		}
		record(t, c, a, policy.Granted, "v3", "marketing")
		if got := state(t, c.Consent, a, "marketing"); got != policy.Granted {
			t.Errorf("marketing granted again: %q", got)
		}
		// Agreeing again keeps the last refusal time: the 48-hour rule
		// counts from it (CON-7).
		if err := c.DB.QueryRow(ctx, `SELECT refused_at FROM consents WHERE subject_id = ? AND purpose = 'function:marketing'`, a).Scan(&refused); err != nil || refused != at {
			t.Fatalf("refused_at after agreeing again: %d (%v), want %d", refused, err, at)
		}
		record(t, c, a, policy.Refused, "v3", "marketing")
		if got := state(t, c.Consent, a, "marketing"); got != policy.Refused {
			t.Errorf("marketing refused: %q", got)
		}
		if err := c.DB.QueryRow(ctx, `SELECT COUNT(*) FROM consents WHERE subject_id = ?`, a).Scan(&n); err != nil || n != 2 {
			t.Fatalf("%d state rows for the subject (%v), want 2 (policy, function:marketing)", n, err)
		}
		if err := c.DB.QueryRow(ctx, `SELECT COUNT(*) FROM consent_events WHERE subject_id = ?`, a).Scan(&n); err != nil || n != 5 {
			t.Fatalf("%d events for the subject (%v), want 5", n, err)
		}
		evs, err := c.Consent.Events(ctx, a)
		if err != nil || len(evs) != 5 || evs[0].Scope != "policy" || evs[0].Event != consent.Agree || evs[4].Event != consent.Refuse {
			t.Fatalf("events: %+v (%v)", evs, err)
		}
		// No purposes: nothing recorded, no error.
		record(t, c, b, policy.Granted, "v1")
		if err := c.DB.QueryRow(ctx, `SELECT COUNT(*) FROM consents WHERE subject_id = ?`, b).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d rows after recording no purposes (%v)", n, err)
		}
	})
}

// TestRecordInCallersTransaction: consent is recorded in the transaction of
// the action that gathered it, and goes if that action fails.
func TestRecordInCallersTransaction(t *testing.T) {
	forEachEngine(t, func(t *testing.T, c *app.Core, _ *clock.Fake) {
		subject := testenv.Subjects(t, c, "worker", 1)[0]
		failed := errors.New("the registration failed")
		err := c.DB.InTx(context.Background(), func(tx *store.Tx) error {
			if err := c.Consent.Append(context.Background(), tx, &consent.Event{Subject: subject, Scope: "function:marketing", Event: consent.Agree,
				PolicyVersion: "v1", Channel: "api"}); err != nil {
				return err
			}
			return failed
		})
		if !errors.Is(err, failed) {
			t.Fatalf("InTx: %v", err)
		}
		if got := state(t, c.Consent, subject, "marketing"); got != policy.NoConsent {
			t.Fatalf("after a rolled-back record: %q, want none", got)
		}
	})
}

func TestFixed(t *testing.T) {
	f := consent.Fixed{"marketing": policy.Granted, "job_matching": policy.Withdrawn, "legal_compliance": policy.Refused}
	var src consent.Source = f
	cases := []struct {
		subject, purpose string
		want             policy.Consent
	}{
		{"s-1", "marketing", policy.Granted},
		{"s-2", "marketing", policy.Granted}, // the same answer for every subject
		{"", "marketing", policy.Granted},
		{"s-1", "job_matching", policy.Withdrawn},
		{"s-1", "legal_compliance", policy.Refused}, // only what the map says
		{"s-1", "job_search", policy.NoConsent},
		{"s-1", "", policy.NoConsent},
	}
	for _, c := range cases {
		if got := state(t, src, c.subject, c.purpose); got != c.want {
			t.Errorf("Fixed.State(%q, %q) = %q, want %q", c.subject, c.purpose, got, c.want)
		}
	}
	if got := state(t, consent.Fixed(nil), "s-1", "marketing"); got != policy.NoConsent {
		t.Errorf("nil Fixed: %q, want none", got)
	}
}
