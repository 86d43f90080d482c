// Package textscan finds personal information typed into free text (OPS-1):
// job titles and descriptions, résumé free text. It reports mainland
// resident ID numbers (GB 11643, check character verified), bank card
// numbers (13–19 digits passing Luhn) and mainland mobile numbers (11
// digits starting 1[3-9], with an optional +86, 86 or 0086 prefix), so the
// text can be refused before it is stored outside the vault.
//
// Numbers are found as people type them: full-width digits (０–９, Ｘ) count
// as digits, and one space or dash may separate the usual groups (mobile
// 3-4-4, ID 6-8-4, cards in fours, 4-6-5 or 6-then-the-rest). A number is
// only ever a whole run of digits: a 20-digit order number, the tail of a
// longer number or the digits of a decimal (13800138000.50) are never
// reported as a card or a mobile number on the strength of a substring.
//
// Findings carry a kind and a span of rune offsets, never the digits; Check
// turns them into a domain error that is safe to show and to log.
package textscan

import (
	"fmt"
	"strings"

	"gigvault/internal/errs"
	"gigvault/internal/format"
)

// The kinds of finding.
const (
	KindIDNumber = "id_number"
	KindBankCard = "bank_card"
	KindMobile   = "mobile"
)

// Finding is one number found in a text. Start and End are rune offsets
// into the original text, End exclusive; the span covers the number with
// its separators, any +86 prefix and an ID number's check character.
type Finding struct {
	Kind  string `json:"kind"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// Reason is the errs reason code of Check's error.
const Reason = "pi_in_free_text"

// maxRuns is the most digit groups one number may span (a 19-digit card
// written 4-4-4-4-3).
const maxRuns = 5

// run is a maximal run of digits, in rune offsets of the normalised text.
type run struct {
	start, end int
	x          bool // followed directly by X or x, and then no digit (an ID number's check character)
	plus       bool // preceded directly by a + that follows no digit
	decimal    bool // one side of a decimal point between digits: never a number on its own
	sep        rune // the separator joining it to the next run (' ' or '-'), 0 if none
}

// normalise maps each rune of text to the rune the scanner reasons about:
// ASCII and full-width digits to '0'–'9'; x, X, ｘ and Ｘ to 'X'; spaces to
// ' '; hyphens and dashes to '-'; + and ＋ to '+'; . and ．to '.'; anything
// else to 0. One rune in, one rune out, so offsets carry over.
func normalise(text string) []rune {
	rs := []rune(text)
	for i, r := range rs {
		switch {
		case r >= '0' && r <= '9':
		case r >= '０' && r <= '９':
			rs[i] = '0' + (r - '０')
		case r == 'x' || r == 'X' || r == 'ｘ' || r == 'Ｘ':
			rs[i] = 'X'
		case r == ' ' || r == '\u00a0' || r == '\u3000' || r == '\u2002' || r == '\u2003' || r == '\u2009' || r == '\u202f':
			rs[i] = ' '
		case r == '-' || r == '－' || (r >= '\u2010' && r <= '\u2015') || r == '\u2212':
			rs[i] = '-'
		case r == '+' || r == '＋':
			rs[i] = '+'
		case r == '.' || r == '．':
			rs[i] = '.'
		default:
			rs[i] = 0
		}
	}
	return rs
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// runs finds the digit runs of n and how they join.
func runs(n []rune) []run {
	var out []run
	for i := 0; i < len(n); {
		if !isDigit(n[i]) {
			i++
			continue
		}
		r := run{start: i}
		for i < len(n) && isDigit(n[i]) {
			i++
		}
		r.end = i
		// An X followed by a digit is inside a longer token, not a check character.
		r.x = i < len(n) && n[i] == 'X' && !(i+1 < len(n) && isDigit(n[i+1]))
		r.plus = r.start > 0 && n[r.start-1] == '+' && !(r.start >= 2 && isDigit(n[r.start-2]))
		r.decimal = (r.start >= 2 && n[r.start-1] == '.' && isDigit(n[r.start-2])) ||
			(r.end+1 < len(n) && n[r.end] == '.' && isDigit(n[r.end+1]))
		if !r.x && r.end+1 < len(n) && (n[r.end] == ' ' || n[r.end] == '-') && isDigit(n[r.end+1]) {
			r.sep = n[r.end]
		}
		out = append(out, r)
	}
	return out
}

// Scan returns the personal information numbers found in text, sorted by
// Start and not overlapping.
func Scan(text string) []Finding {
	n := normalise(text)
	rs := runs(n)
	var out []Finding
	// Chains are runs joined by single separators; a number lies within one
	// chain. Decimal runs break chains and are never part of a number.
	for i := 0; i < len(rs); {
		j := i
		for j+1 < len(rs) && rs[j].sep != 0 && !rs[j].decimal && !rs[j+1].decimal {
			j++
		}
		out = append(out, scanChain(n, rs[i:j+1])...)
		i = j + 1
	}
	return out
}

// scanChain finds numbers in one chain, left to right, preferring at each
// start the candidate spanning the most groups.
func scanChain(n []rune, c []run) []Finding {
	var out []Finding
	for i := 0; i < len(c); {
		if c[i].decimal {
			i++
			continue
		}
		found := false
		for j := min(i+maxRuns, len(c)) - 1; j >= i; j-- {
			if f, ok := classify(n, c, i, j); ok {
				out = append(out, f)
				i, found = j+1, true
				break
			}
		}
		if !found {
			i++
		}
	}
	return out
}

// classify decides whether runs c[i..j] form a number, trying an ID number,
// then a mobile number, then a bank card.
func classify(n []rune, c []run, i, j int) (Finding, bool) {
	groups := make([]int, 0, j-i+1)
	var b strings.Builder
	for k := i; k <= j; k++ {
		groups = append(groups, c[k].end-c[k].start)
		b.WriteString(string(n[c[k].start:c[k].end]))
	}
	digits := b.String()
	start, end := c[i].start, c[j].end

	// ID number: 18 characters, 17 digits and a check character that may be X.
	if c[j].x && (same(groups, 17) || same(groups, 6, 8, 3)) && validID(digits+"X") {
		return Finding{KindIDNumber, start, end + 1}, true
	}
	if (same(groups, 18) || same(groups, 6, 8, 4)) && validID(digits) {
		return Finding{KindIDNumber, start, end}, true
	}

	// Mobile number, with an optional 86 or 0086 prefix (fused or as a
	// group of its own), and a + before 86.
	g, rest := groups, digits // the groups and digits after any prefix
	switch {
	case len(groups) > 1 && (groups[0] == 2 && digits[:2] == "86" || groups[0] == 4 && digits[:4] == "0086" && !c[i].plus):
		g, rest = groups[1:], digits[groups[0]:]
	case len(groups) == 1 && len(digits) == 13 && digits[:2] == "86",
		len(groups) == 1 && len(digits) == 15 && digits[:4] == "0086" && !c[i].plus:
		g, rest = []int{11}, digits[len(digits)-11:]
	}
	if (same(g, 11) || same(g, 3, 4, 4)) && validMobile(rest) {
		if c[i].plus && rest != digits {
			start-- // +86…
		}
		return Finding{KindMobile, start, end}, true
	}

	// Bank card.
	if cardGrouping(c, i, j, groups) && validCard(digits) {
		return Finding{KindBankCard, start, end}, true
	}
	return Finding{}, false
}

// cardGrouping reports whether groups are a way card numbers are written:
// one run; fours with a shorter last group; 4-6-5; six then the rest. A
// grouped candidate must not be a piece of a longer number grouped the same
// way (1234 5678 9012 3456 7890 is twenty digits, not a card and a tail).
func cardGrouping(c []run, i, j int, groups []int) bool {
	if len(groups) == 1 {
		return true
	}
	sep := c[i].sep
	for k := i; k < j; k++ {
		if c[k].sep != sep {
			return false
		}
	}
	before := i > 0 && c[i-1].sep == sep && !c[i-1].decimal
	after := j+1 < len(c) && c[j].sep == sep && !c[j+1].decimal
	fours := true
	for _, g := range groups[:len(groups)-1] {
		fours = fours && g == 4
	}
	last := groups[len(groups)-1]
	switch {
	case fours && last <= 4:
		return !(before && c[i-1].end-c[i-1].start == 4) && !(after && last == 4)
	case same(groups, 4, 6, 5), len(groups) == 2 && groups[0] == 6:
		return !before && !after
	}
	return false
}

func same(groups []int, want ...int) bool {
	if len(groups) != len(want) {
		return false
	}
	for k := range want {
		if groups[k] != want[k] {
			return false
		}
	}
	return true
}

func validID(s string) bool { return format.Validate(format.KindIDNumber, s) == nil }

// validMobile: 11 digits, 1[3-9]. Deliberately wider than format's mobile
// segments, so a number in a segment allocated later is still caught.
func validMobile(d string) bool {
	return len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9'
}

// validCard: 13–19 digits, a Luhn check digit, and not starting with 0 (no
// card issuer's number does; 0000 0000 0000 0000 is a placeholder).
func validCard(d string) bool {
	return len(d) >= 13 && len(d) <= 19 && d[0] != '0' && format.LuhnValid(d)
}

var kindNames = map[string][2]string{ // zh, en
	KindIDNumber: {"身份证号", "an ID number"},
	KindBankCard: {"银行卡号", "a bank card number"},
	KindMobile:   {"手机号", "a mobile number"},
}

// maxNamed is how many findings Check's message names; Missing lists all.
const maxNamed = 3

// Check returns nil when text holds none of the numbers Scan finds, or an
// *errs.Error (errs.Invalid, Field field, reason "pi_in_free_text") whose
// Missing lists every finding as "<kind>@<start>-<end>". The messages name
// the kinds and spans, never the digits.
func Check(field, text string) error {
	fs := Scan(text)
	if len(fs) == 0 {
		return nil
	}
	missing := make([]string, len(fs))
	var zh, en []string
	for k, f := range fs {
		missing[k] = fmt.Sprintf("%s@%d-%d", f.Kind, f.Start, f.End)
		if k < maxNamed {
			name := kindNames[f.Kind]
			zh = append(zh, fmt.Sprintf("第%d–%d个字符处的%s", f.Start, f.End, name[0]))
			en = append(en, fmt.Sprintf("%s at characters %d–%d", name[1], f.Start, f.End))
		}
	}
	if more := len(fs) - maxNamed; more > 0 {
		zh = append(zh, fmt.Sprintf("另外%d处", more))
		en = append(en, fmt.Sprintf("%d more", more))
	}
	return errs.New(errs.Invalid, field,
		"自由文本中不得填写个人信息，请删除"+strings.Join(zh, "、"),
		"personal information must not be typed into free text: remove "+strings.Join(en, ", ")).
		With(Reason, missing, "")
}
