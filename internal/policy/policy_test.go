package policy

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/decisions.golden")

// roleSets are every single role plus the multi-role accounts that matter.
var roleSets = func() [][]Role {
	var out [][]Role
	for _, r := range Roles {
		out = append(out, []Role{r})
	}
	return append(out,
		[]Role{DPO, Support}, []Role{DataOperator, Support},
		[]Role{AuditAdmin, SystemAdmin}, []Role{SecurityAdmin, DataOperator}, []Role{Worker, Support})
}()

func field(level int) Field {
	return Field{Name: fmt.Sprintf("f%d", level), Level: level, Sensitive: level == 1, Purposes: []string{"job_matching"}}
}

// base is a request with every side condition satisfied, so the main axes decide.
func base(roles []Role, a Action, rel Relation, c Consent, level int) Request {
	return Request{
		Roles: roles, Action: a, Relation: rel, Consent: c, Purpose: "job_matching",
		Fields: []Field{field(level)}, Records: 10, BulkLimit: 100,
		Reason: "客户投诉核实", RevealsUsed: 0, RevealLimit: 50,
	}
}

func roleName(rs []Role) string {
	var s []string
	for _, r := range rs {
		s = append(s, string(r))
	}
	return strings.Join(s, "+")
}

// TestDecisionTable: every role set × action × relation × consent state ×
// label level, compared with a reviewed golden file.
func TestDecisionTable(t *testing.T) {
	var b strings.Builder
	b.WriteString("# roles action relation | decisions for consent {granted refused withdrawn none exception} × level {1 2 3}\n")
	for _, rs := range roleSets {
		for _, a := range Actions {
			for _, rel := range Relations {
				fmt.Fprintf(&b, "%s %s %s |", roleName(rs), a, rel)
				for _, c := range Consents {
					for _, level := range []int{1, 2, 3} {
						d := Decide(base(rs, a, rel, c, level))
						fmt.Fprintf(&b, " %s", short(d))
					}
					b.WriteString(" ;")
				}
				b.WriteString("\n")
			}
		}
	}
	got := b.String()
	path := "testdata/decisions.golden"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/policy -update to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("decision table changed at line %d:\n got  %s\n want %s\n(review, then -update)", i+1, gl[i], wl[i])
			}
		}
		t.Fatal("decision table changed length")
	}
}

func short(d Decision) string {
	switch d.Effect {
	case Allow:
		return "A"
	case Mask:
		return "M"
	case NeedsApproval:
		return "N"
	}
	return "-"
}

// all enumerates the full product, side conditions included.
func all(fn func(Request, Decision)) {
	for _, rs := range roleSets {
		for _, a := range Actions {
			for _, rel := range Relations {
				for _, c := range Consents {
					for _, level := range []int{1, 2, 3} {
						for _, reason := range []string{"", "核实身份"} {
							for _, used := range []int{0, 50} {
								for _, records := range []int{10, 1000} {
									for _, appr := range []*Approval{nil, {Action: a, Valid: true}, {Action: a, Valid: false}, {Action: Read, Valid: true}} {
										r := base(rs, a, rel, c, level)
										r.Reason, r.RevealsUsed, r.Records, r.Approval = reason, used, records, appr
										fn(r, Decide(r))
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

func permits(d Decision) bool { return d.Effect == Allow || d.Effect == Mask }

// The rules, as invariants over every combination.
func TestInvariants(t *testing.T) {
	n := 0
	all(func(r Request, d Decision) {
		n++
		fail := func(rule string) {
			t.Helper()
			t.Fatalf("%s violated: %+v → %+v", rule, r, d)
		}
		if d2 := Decide(r); d2.Effect != d.Effect || d2.Reason != d.Reason {
			fail("determinism")
		}
		if d.Reason == "" {
			fail("every decision has a reason")
		}
		if _, ok := CheckRoles(r.Roles); !ok && d.Effect != Deny {
			fail("ACC-1: conflicting roles are refused")
		}
		pi := touchesPI(r.Action)
		for _, admin := range []Role{AuditAdmin, SecurityAdmin, SystemAdmin} {
			if pi && len(r.Roles) == 1 && r.Roles[0] == admin && permits(d) {
				fail("ACC-1/ACC-2: administrators never reach PI")
			}
		}
		self := r.Relation == Self && isUser(r.Roles)
		if pi && !self && permits(d) && r.Consent != Granted && r.Consent != Exception && r.Action != Erase {
			fail("CON-5/CON-9: no consent, no processing (erasure excepted)")
		}
		if pi && !self && permits(d) && d.Effect == Allow && r.Action == Read {
			fail("ACC-6: reads by others are masked")
		}
		if r.Action == Reveal && !self && permits(d) && len([]rune(r.Reason)) < 2 {
			fail("ACC-6: a reveal needs a reason")
		}
		approved := r.Approval != nil && r.Approval.Valid && r.Approval.Action == r.Action
		if bulk(r.Action) && !self && r.Records > r.BulkLimit && permits(d) && !approved {
			fail("ACC-5: bulk work above the limit needs an approval")
		}
		if r.Action == Reveal && !self && !isUser(r.Roles) && r.RevealsUsed >= r.RevealLimit && permits(d) && !approved {
			fail("G-6.3 d 3: reveals past the limit need an approval")
		}
		if isUser(r.Roles) && !self && permits(d) && (r.Action != Read && r.Action != Reveal) {
			fail("users only read what others shared with them")
		}
		if isUser(r.Roles) && !self && permits(d) && r.Relation == None {
			fail("IDOR: a user never reaches a stranger's data")
		}
		if self && pi && r.Action != BulkModify && d.Effect != Allow {
			if _, ok := CheckRoles(r.Roles); ok {
				fail("DSR-1..5: the subject reaches their own data")
			}
		}
		if !pi && permits(d) && !hasAny(r.Roles, adminActions[r.Action]) {
			fail("administrative actions need their role")
		}
	})
	if n < 100000 {
		t.Fatalf("only %d combinations", n)
	}
}

func TestPurposeMustBeDeclared(t *testing.T) {
	r := base([]Role{DataOperator}, Read, None, Granted, 2)
	r.Fields = append(r.Fields, Field{Name: "id_number", Level: 1, Sensitive: true, Purposes: []string{"identity_verification"}})
	d := Decide(r)
	if d.Effect != Deny || d.Reason != ReasonPurposeUndeclared || len(d.Missing) != 1 || d.Missing[0] != "id_number" {
		t.Fatalf("%+v", d)
	}
	r.Purpose = ""
	if d := Decide(r); d.Effect != Deny {
		t.Fatalf("no purpose: %+v", d)
	}
}

func TestConsentRequiredNamesWhatIsMissing(t *testing.T) {
	d := Decide(base([]Role{Support}, Read, None, Withdrawn, 2))
	if d.Effect != Deny || d.Reason != ReasonConsentRequired || len(d.Missing) != 1 || d.Missing[0] != "job_matching" {
		t.Fatalf("%+v", d)
	}
	if d := Decide(base([]Role{Support}, Read, None, Exception, 2)); d.Effect != Mask || d.Reason != ReasonLegalBasis {
		t.Fatalf("exception: %+v", d)
	}
}

func TestCheckRoles(t *testing.T) {
	for _, tc := range []struct {
		roles []Role
		ok    bool
	}{
		{[]Role{AuditAdmin}, true},
		{[]Role{SecurityAdmin, DPO}, true},
		{[]Role{AuditAdmin, SystemAdmin}, false},
		{[]Role{AuditAdmin, DataOperator}, false},
		{[]Role{SecurityAdmin, SystemAdmin}, false},
		{[]Role{SecurityAdmin, DataOperator}, false},
		{[]Role{Worker, Support}, false},
		{[]Role{"root"}, false},
		{[]Role{DataOperator, Support, DPO}, true},
	} {
		if _, ok := CheckRoles(tc.roles); ok != tc.ok {
			t.Errorf("CheckRoles(%v) = %v, want %v", tc.roles, ok, tc.ok)
		}
	}
}

func TestOwnRightsCoverEveryField(t *testing.T) {
	f := Field{Name: "id_number", Level: 1, Sensitive: true, Purposes: []string{"identity_verification"}}
	r := Request{Roles: []Role{Worker}, Relation: Self, Action: Read, Fields: []Field{f}, Purpose: PurposeRights}
	if d := Decide(r); d.Effect != Allow || d.Reason != ReasonSelf {
		t.Fatalf("own data under rights_request: %+v", d)
	}
	// The same purpose does not widen anyone else's reach.
	for _, rel := range []Relation{None, Shared, ContactGranted} {
		r.Relation = rel
		for _, roles := range [][]Role{{Worker}, {EmployerMember}, {Support}, {DPO}} {
			r.Roles = roles
			if d := Decide(r); d.Effect != Deny || d.Reason != ReasonPurposeUndeclared {
				t.Fatalf("%v %v under rights_request: %+v", roles, rel, d)
			}
		}
	}
}
