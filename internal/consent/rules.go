package consent

import (
	"errors"
	"strconv"
	"time"

	"gigvault/internal/errs"
	"gigvault/internal/format"
)

// The rules of who may consent, how, and when a refused scenario may be
// asked again (CON-4 to CON-9). They are pure: the consent records built on
// them (the consent issue) gather the facts and apply them.

// Age groups that change who consents (CON-8, the children's policy).
type AgeGroup string

// The age groups.
const (
	Child   AgeGroup = "child"   // under 14: the guardian's separate consent
	Minor   AgeGroup = "minor"   // 14 to 17: the minor's or the guardian's
	Adult   AgeGroup = "adult"   // 18 and over
	Unknown AgeGroup = "unknown" // no birth date known: treated as an adult who states it
)

// AgeOn is the age in whole years on day, of someone born on birth.
func AgeOn(birth, day time.Time) int {
	y := day.Year() - birth.Year()
	if day.Month() < birth.Month() || (day.Month() == birth.Month() && day.Day() < birth.Day()) {
		y--
	}
	return y
}

// GroupOf places an age in its group.
func GroupOf(age int) AgeGroup {
	switch {
	case age < 0:
		return Unknown
	case age < 14:
		return Child
	case age < 18:
		return Minor
	}
	return Adult
}

var errNoBirthDate = errors.New("consent: not a resident ID number with a valid birth date")

// BirthFromIDNumber reads the birth date from an 18-digit resident ID
// number (GB 11643: digits 7 to 14, YYYYMMDD), after checking its check
// character. The number is not kept or returned.
func BirthFromIDNumber(id string) (time.Time, error) {
	n, err := format.Normalize(format.KindIDNumber, id)
	if err != nil || len(n) != 18 {
		return time.Time{}, errNoBirthDate
	}
	y, err1 := strconv.Atoi(n[6:10])
	m, err2 := strconv.Atoi(n[10:12])
	d, err3 := strconv.Atoi(n[12:14])
	if err1 != nil || err2 != nil || err3 != nil {
		return time.Time{}, errNoBirthDate
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return time.Time{}, errNoBirthDate
	}
	return t, nil
}

// Actor kinds who may give or withdraw consent.
const (
	BySubject  = "subject"
	ByGuardian = "guardian"
)

// Guardian identifies who consents for a child: their relationship and a
// reference to their verified identity (a subject ID), never raw PI.
type Guardian struct {
	SubjectRef   string // the guardian's own subject ID after verification
	Relationship string // parent | legal_guardian
}

// Relationships a guardian may state.
var Relationships = []string{"parent", "legal_guardian"}

// Act is one consent action as the API receives it.
type Act struct {
	By       string // BySubject or ByGuardian
	Group    AgeGroup
	Guardian *Guardian
	// Explicit: the person took an affirmative action (ticked, tapped) on
	// this very scenario; pre-set or implied consent does not count (CON-4).
	Explicit bool
	// Scenarios the action covers: one function or purpose per act, so a
	// single tap cannot bundle unrelated processing (CON-5).
	Scenarios []string
}

// CheckAct applies CON-4, CON-5 and CON-8: only an explicit action counts,
// one scenario per act, by the subject or — under 14 only, and as a
// separate consent — by their guardian, whose relationship is recorded; 14
// to 17 either may.
func CheckAct(a Act) error {
	if !a.Explicit {
		return errs.New(errs.Invalid, "explicit", "同意须由本人主动作出，不得默认勾选", "consent must be an explicit action, never pre-set")
	}
	if len(a.Scenarios) != 1 {
		return errs.New(errs.Invalid, "scenario", "每次只能就一项业务功能或目的作出同意，不得捆绑", "one consent per function or purpose: no bundling")
	}
	switch a.By {
	case BySubject:
		if a.Group == Child {
			return errs.New(errs.ConsentRequired, "guardian", "不满十四周岁的用户须由监护人同意", "under 14, a guardian must consent").
				With("guardian_required", []string{"guardian"}, "")
		}
		return nil
	case ByGuardian:
		if a.Group == Adult || a.Group == Unknown {
			return errs.New(errs.Forbidden, "by", "成年人的同意只能由本人作出", "an adult consents for themselves")
		}
		if a.Guardian == nil || a.Guardian.SubjectRef == "" {
			return errs.New(errs.Invalid, "guardian", "须记录监护人身份", "the guardian's verified identity must be recorded")
		}
		for _, r := range Relationships {
			if a.Guardian.Relationship == r {
				return nil
			}
		}
		return errs.New(errs.Invalid, "guardian.relationship", "监护关系应为父母或法定监护人", "the relationship must be parent or legal_guardian")
	}
	return errs.New(errs.Forbidden, "by", "只有本人或其监护人可以作出同意", "only the subject or their guardian may consent")
}

// RepromptAfter is how long a refused or withdrawn scenario may not be
// prompted again (CON-7).
const RepromptAfter = 48 * time.Hour

// PromptAllowedAt is when a scenario refused or withdrawn at last may be
// prompted again; the zero time (never refused) means now.
func PromptAllowedAt(last time.Time) time.Time {
	if last.IsZero() {
		return time.Time{}
	}
	return last.Add(RepromptAfter)
}

// MayPrompt reports whether the scenario may be prompted at now.
func MayPrompt(last, now time.Time) bool {
	at := PromptAllowedAt(last)
	return at.IsZero() || !now.Before(at)
}
