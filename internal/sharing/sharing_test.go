package sharing_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"gigvault/internal/errs"
	"gigvault/internal/sharing"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
)

var ctx = context.Background()

func resumeTo(employer string, subjects ...string) sharing.Provision {
	return sharing.Provision{Recipient: employer, RecipientKind: "employer", Purpose: "resume_sharing",
		Fields: []string{"resume_text", "name", "education"}, Subjects: subjects, Records: 3 * len(subjects),
		LegalBasis: "consent", ConsentRef: "consent-1", Actor: "worker:a", Channel: "api"}
}

func TestLedger(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := testenv.Open(t, e.Config(t))
			l := sharing.New(c.DB, c.Catalog, c.Clock)
			subs := testenv.Subjects(t, c, "worker", 3)
			appendOne := func(p sharing.Provision) (string, error) {
				var id string
				err := c.DB.InTx(ctx, func(tx *store.Tx) error {
					var err error
					id, err = l.Append(ctx, tx, p)
					return err
				})
				return id, err
			}
			// An application shares one résumé; an export to a processor
			// concerns three people.
			if _, err := appendOne(resumeTo("org-1", subs[0])); err != nil {
				t.Fatal(err)
			}
			export := sharing.Provision{Recipient: "processor-sms", RecipientKind: "processor", Purpose: "customer_service",
				Fields: []string{"mobile", "mobile"}, Subjects: []string{subs[0], subs[1], subs[2], subs[1]}, Records: 3,
				LegalBasis: "contract", Actor: "staff:x", Channel: "api"}
			if _, err := appendOne(export); err != nil {
				t.Fatal(err)
			}
			rows, err := l.BySubject(ctx, subs[0])
			if err != nil || len(rows) != 2 {
				t.Fatalf("subject 0: %d rows %v", len(rows), err)
			}
			byRecipient, _ := l.ByRecipient(ctx, "processor-sms", 0)
			if len(byRecipient) != 1 || byRecipient[0].SubjectN != 3 || byRecipient[0].Records != 3 ||
				!slices.Equal(byRecipient[0].Fields, []string{"mobile"}) || byRecipient[0].LegalBasis != "contract" {
				t.Fatalf("processor row: %+v", byRecipient)
			}
			if rows, _ := l.BySubject(ctx, subs[1]); len(rows) != 1 || rows[0].Recipient != "processor-sms" {
				t.Fatalf("subject 1: %+v", rows)
			}
			if got, _ := l.Recipients(ctx, subs[0]); !slices.Equal(got, []string{"org-1", "processor-sms"}) {
				t.Fatalf("recipients of subject 0: %v", got)
			}
			// A provision whose transaction rolls back leaves no row.
			boom := errors.New("provision failed")
			err = c.DB.InTx(ctx, func(tx *store.Tx) error {
				if _, err := l.Append(ctx, tx, resumeTo("org-2", subs[2])); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatal(err)
			}
			if rows, _ := l.ByRecipient(ctx, "org-2", 10); len(rows) != 0 {
				t.Fatalf("rolled-back provision recorded: %+v", rows)
			}
			if !rows[0].At.Equal(c.Clock.Now()) {
				t.Fatalf("row time %v, want the injected clock's %v", rows[0].At, c.Clock.Now())
			}
		})
	}
}

func TestLedgerRefusesIncompleteProvisions(t *testing.T) {
	c := testenv.Open(t, testenv.Engines(t)[0].Config(t))
	l := sharing.New(c.DB, c.Catalog, c.Clock)
	base := resumeTo("org-1", "s1")
	for _, tc := range []struct {
		name  string
		edit  func(*sharing.Provision)
		field string
	}{
		{"no recipient", func(p *sharing.Provision) { p.Recipient = " " }, "recipient"},
		{"unknown kind", func(p *sharing.Provision) { p.RecipientKind = "friend" }, "recipient_kind"},
		{"unknown basis", func(p *sharing.Provision) { p.LegalBasis = "because" }, "legal_basis"},
		{"consent without reference", func(p *sharing.Provision) { p.ConsentRef = "" }, "consent_ref"},
		{"no fields", func(p *sharing.Provision) { p.Fields = nil }, "fields"},
		{"undeclared field", func(p *sharing.Provision) { p.Fields = []string{"shoe_size"} }, "fields"},
		{"purpose not declared for a field", func(p *sharing.Provision) { p.Fields = []string{"id_number"} }, "purpose"},
		{"no subjects", func(p *sharing.Provision) { p.Subjects = nil }, "records"},
		{"fewer records than subjects", func(p *sharing.Provision) { p.Subjects = []string{"a", "b"}; p.Records = 1 }, "records"},
	} {
		p := base
		p.Fields = slices.Clone(base.Fields)
		tc.edit(&p)
		err := c.DB.InTx(ctx, func(tx *store.Tx) error { _, err := l.Append(ctx, tx, p); return err })
		if e := errs.As(err); err == nil || e.Code != errs.Invalid || e.Field != tc.field {
			t.Errorf("%s: %v, want invalid %s", tc.name, err, tc.field)
		}
	}
	if rows, _ := l.ByRecipient(ctx, "org-1", 10); len(rows) != 0 {
		t.Fatalf("refused provisions recorded: %d", len(rows))
	}
}
