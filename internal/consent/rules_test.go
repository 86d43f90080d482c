package consent

import (
	"strings"
	"testing"
	"time"

	"gigvault/internal/errs"
	"gigvault/internal/format"
)

func idNumber(t testing.TB, region, birth, seq string) string {
	t.Helper()
	body := region + birth + seq
	c, ok := format.IDCheckChar(body)
	if !ok {
		t.Fatalf("ID body %q", body)
	}
	return body + string(c)
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestAgeAndGroup(t *testing.T) {
	for _, c := range []struct {
		birth, on string
		age       int
		group     AgeGroup
	}{
		{"2012-11-23", "2026-11-22", 13, Child}, // 14 tomorrow
		{"2012-11-22", "2026-11-22", 14, Minor}, // 14 today
		{"2011-06-01", "2026-11-22", 15, Minor},
		{"2008-11-23", "2026-11-22", 17, Minor},
		{"2008-11-22", "2026-11-22", 18, Adult},
		{"2008-02-29", "2026-02-28", 17, Minor}, // leap-day birthday not yet reached
		{"2008-02-29", "2026-03-01", 18, Adult},
	} {
		if got := AgeOn(day(c.birth), day(c.on)); got != c.age || GroupOf(got) != c.group {
			t.Errorf("born %s on %s: %d %s, want %d %s", c.birth, c.on, got, GroupOf(got), c.age, c.group)
		}
	}
	if GroupOf(-1) != Unknown {
		t.Error("negative age")
	}
}

func TestBirthFromIDNumber(t *testing.T) {
	id := idNumber(t, "350102", "20121123", "123")
	b, err := BirthFromIDNumber(id)
	if err != nil || !b.Equal(day("2012-11-23")) {
		t.Fatalf("birth %v %v", b, err)
	}
	if g := GroupOf(AgeOn(b, day("2026-11-22"))); g != Child {
		t.Fatalf("a 13-year-old is %s", g)
	}
	for _, bad := range []string{"", "35010220121123123", id[:17] + "0", "350102201302301234", "abc"} {
		if _, err := BirthFromIDNumber(bad); err == nil {
			t.Errorf("%q accepted", bad)
		} else if strings.Contains(err.Error(), "350102") {
			t.Errorf("error carries the number: %v", err)
		}
	}
}

func TestCheckAct(t *testing.T) {
	parent := &Guardian{SubjectRef: "01a2-guardian", Relationship: "parent"}
	one := []string{"identity_verification"}
	for _, c := range []struct {
		name string
		act  Act
		code errs.Code
	}{
		{"adult, explicit, one scenario", Act{By: BySubject, Group: Adult, Explicit: true, Scenarios: one}, ""},
		{"15-year-old consents for themselves", Act{By: BySubject, Group: Minor, Explicit: true, Scenarios: one}, ""},
		{"15-year-old's guardian consents", Act{By: ByGuardian, Group: Minor, Guardian: parent, Explicit: true, Scenarios: one}, ""},
		{"13-year-old's guardian consents", Act{By: ByGuardian, Group: Child, Guardian: parent, Explicit: true, Scenarios: one}, ""},
		{"13-year-old alone", Act{By: BySubject, Group: Child, Explicit: true, Scenarios: one}, errs.ConsentRequired},
		{"guardian without identity", Act{By: ByGuardian, Group: Child, Guardian: &Guardian{Relationship: "parent"}, Explicit: true, Scenarios: one}, errs.Invalid},
		{"guardian without record", Act{By: ByGuardian, Group: Child, Explicit: true, Scenarios: one}, errs.Invalid},
		{"guardian of unknown relationship", Act{By: ByGuardian, Group: Child, Guardian: &Guardian{SubjectRef: "x", Relationship: "neighbour"}, Explicit: true, Scenarios: one}, errs.Invalid},
		{"guardian for an adult", Act{By: ByGuardian, Group: Adult, Guardian: parent, Explicit: true, Scenarios: one}, errs.Forbidden},
		{"pre-set", Act{By: BySubject, Group: Adult, Scenarios: one}, errs.Invalid},
		{"bundled", Act{By: BySubject, Group: Adult, Explicit: true, Scenarios: []string{"marketing", "identity_verification"}}, errs.Invalid},
		{"nothing", Act{By: BySubject, Group: Adult, Explicit: true}, errs.Invalid},
		{"someone else", Act{By: "staff", Group: Adult, Explicit: true, Scenarios: one}, errs.Forbidden},
	} {
		err := CheckAct(c.act)
		if got := errs.CodeOf(err); got != c.code {
			t.Errorf("%s: %v, want %q", c.name, err, c.code)
		}
	}
}

func TestPromptRule(t *testing.T) {
	refused := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	if !MayPrompt(time.Time{}, refused) || !PromptAllowedAt(time.Time{}).IsZero() {
		t.Fatal("a scenario never refused may be prompted")
	}
	if at := PromptAllowedAt(refused); !at.Equal(refused.Add(48 * time.Hour)) {
		t.Fatalf("prompt_allowed_at %v", at)
	}
	for _, c := range []struct {
		after time.Duration
		may   bool
	}{{0, false}, {time.Hour, false}, {48*time.Hour - time.Microsecond, false}, {48 * time.Hour, true}, {72 * time.Hour, true}} {
		if got := MayPrompt(refused, refused.Add(c.after)); got != c.may {
			t.Errorf("%v after the refusal: %v, want %v", c.after, got, c.may)
		}
	}
}

// FuzzBirthFromIDNumber: anything accepted is a real date whose digits are
// in the number; nothing panics.
func FuzzBirthFromIDNumber(f *testing.F) {
	for _, s := range []string{"35010220121123123X", "110101199003077777", "", "x", "11010119900230777X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := BirthFromIDNumber(s)
		if err != nil {
			return
		}
		if !strings.Contains(s, b.Format("20060102")) {
			t.Fatalf("%q gave %v", s, b)
		}
	})
}
