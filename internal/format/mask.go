package format

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Stars is what a masked part of a value becomes. Its length is fixed, so a
// masked value does not reveal how long the hidden part was.
const Stars = "****"

// Mask spec limits: keep:F:L with F, L ≤ maxKeep; truncate:N with 1 ≤ N ≤ maxTruncate.
const (
	maxKeep     = 64
	maxTruncate = 10000
)

type maskSpec struct {
	op   string // keep, name, email, year, area, truncate, redact, none
	f, l int    // keep:F:L
	n    int    // truncate:N
}

// ValidateMaskSpec reports whether spec is a mask spec of SCHEMA.md:
// keep:F:L (F, L from 0 to 64), name, email, year, area, truncate:N
// (N from 1 to 10000), redact or none. A non-nil error is an *Error with code
// CodeInvalidMaskSpec.
func ValidateMaskSpec(spec string) error {
	if _, err := parseMaskSpec(spec); err != nil {
		return err
	}
	return nil
}

func parseMaskSpec(spec string) (maskSpec, *Error) {
	bad := newError("", CodeInvalidMaskSpec, msgMaskSpec)
	op, args, hasArgs := strings.Cut(spec, ":")
	switch op {
	case "name", "email", "year", "area", "redact", "none":
		if hasArgs {
			return maskSpec{}, bad
		}
		return maskSpec{op: op}, nil
	case "keep":
		fs, ls, ok := strings.Cut(args, ":")
		f, ok1 := canonicalUint(fs)
		l, ok2 := canonicalUint(ls)
		if !ok || !ok1 || !ok2 || f > maxKeep || l > maxKeep {
			return maskSpec{}, bad
		}
		return maskSpec{op: op, f: int(f), l: int(l)}, nil
	case "truncate":
		n, ok := canonicalUint(args)
		if !ok || n < 1 || n > maxTruncate {
			return maskSpec{}, bad
		}
		return maskSpec{op: op, n: int(n)}, nil
	}
	return maskSpec{}, bad
}

// Mask returns v masked by spec (see ValidateMaskSpec), counting in runes so
// that Chinese text is cut between characters:
//
//   - keep:F:L — the first F and last L runes around Stars: 153****2212. A
//     value of F+L runes or fewer becomes Stars, as keeping would show all of it.
//   - name — the first rune, then one star per other rune: 张**; 张 → *.
//   - email — the first rune of the local part, ***, then @domain: z***@163.com.
//   - year — the year of a date or year-month: 1990-**, 1990-**-**, 1990年**月.
//   - area — the province and city of an address, then Stars: 福建省福州市****.
//   - truncate:N — the first N runes, then …; shorter values are unchanged.
//   - redact — Stars.
//   - none — v unchanged.
//
// Apart from none, surrounding white space is removed first and an empty value
// becomes Stars. Mask returns an error only for a bad spec; the error does not
// contain v. Mask does not validate v: it is meant for stored, normalised values,
// and masks anything it is given.
func Mask(spec, v string) (string, error) {
	ms, err := parseMaskSpec(spec)
	if err != nil {
		return "", err
	}
	if ms.op == "none" {
		return v, nil
	}
	s := strings.ToValidUTF8(strings.TrimSpace(v), "\uFFFD")
	if s == "" {
		return Stars, nil
	}
	r := []rune(s)
	switch ms.op {
	case "keep":
		if len(r) <= ms.f+ms.l {
			return Stars, nil
		}
		return string(r[:ms.f]) + Stars + string(r[len(r)-ms.l:]), nil
	case "name":
		if len(r) == 1 {
			return "*", nil
		}
		return string(r[0]) + strings.Repeat("*", len(r)-1), nil
	case "email":
		at := strings.LastIndexByte(s, '@')
		if at <= 0 {
			return Stars, nil
		}
		first, _ := utf8.DecodeRuneInString(s)
		return string(first) + "***" + s[at:], nil
	case "year":
		return maskYear(s), nil
	case "area":
		return maskArea(r), nil
	case "truncate":
		if len(r) <= ms.n {
			return s, nil
		}
		return string(r[:ms.n]) + "…", nil
	}
	return Stars, nil // redact
}

var (
	reYearMonth = regexp.MustCompile(`^(\d{4})([-/.])\d{1,2}$`)
	reYearDate  = regexp.MustCompile(`(?s)^(\d{4})([-/.])\d{1,2}([-/.])\d{1,2}(?:[ T].*)?$`)
	reZhMonth   = regexp.MustCompile(`^(\d{4})年\d{1,2}月$`)
	reZhDate    = regexp.MustCompile(`(?s)^(\d{4})年\d{1,2}月\d{1,2}日`)
)

// maskYear keeps the year of the date shapes people write; anything else
// becomes Stars rather than guessing which part is safe.
func maskYear(s string) string {
	if m := reYearMonth.FindStringSubmatch(s); m != nil {
		return m[1] + m[2] + "**"
	}
	if m := reYearDate.FindStringSubmatch(s); m != nil {
		return m[1] + m[2] + "**" + m[3] + "**"
	}
	if m := reZhMonth.FindStringSubmatch(s); m != nil {
		return m[1] + "年**月"
	}
	if m := reZhDate.FindStringSubmatch(s); m != nil {
		return m[1] + "年**月**日"
	}
	if isDigits(s) {
		switch len(s) {
		case 4:
			return s // a year alone is what this spec keeps
		case 6:
			return s[:4] + "**"
		case 8:
			return s[:4] + "****"
		}
	}
	return Stars
}

// Area masking: the province marker must end within the first
// maxProvinceRunes runes (新疆维吾尔自治区 has 8), and the city marker within
// maxCityRunes runes after it (克孜勒苏柯尔克孜自治州 has 11), so that a 市 in
// a street or shop name (超市) further on is not mistaken for the city.
const (
	maxProvinceRunes = 8
	maxCityRunes     = 12
)

var (
	provinceMarkers = [][]rune{[]rune("特别行政区"), []rune("自治区"), []rune("省")}
	cityMarkers     = [][]rune{[]rune("地区"), []rune("市"), []rune("州"), []rune("盟")}
	municipalities  = []string{"北京", "天津", "上海", "重庆"}
)

// maskArea keeps the province and city of an address: through the first
// 市/州/盟/地区 after a 省/自治区/特别行政区 (a 州 directly followed by 市, as
// in 福州市, counts as one city name), or through the first such marker when
// there is no province (北京市). Failing that it keeps a municipality's name or
// the first three runes.
func maskArea(r []rune) string {
	prov, provStart := -1, -1
	for _, m := range provinceMarkers {
		if i := runeIndex(r, m, 0, maxProvinceRunes); i >= 0 && (provStart < 0 || i < provStart) {
			provStart, prov = i, i+len(m)
		}
	}
	from := max(prov, 0)
	if end := cityEnd(r, from); end > 0 {
		return string(r[:end]) + Stars
	}
	if prov > 0 {
		return string(r[:prov]) + Stars
	}
	s := string(r)
	for _, m := range municipalities {
		if strings.HasPrefix(s, m) {
			return m + Stars
		}
	}
	return string(r[:min(3, len(r))]) + Stars
}

// cityEnd returns the index just after the first city marker that starts at
// or after from and ends within maxCityRunes of it, or -1.
func cityEnd(r []rune, from int) int {
	start, end := -1, -1
	for _, m := range cityMarkers {
		i := runeIndex(r, m, from, from+maxCityRunes)
		if i < 0 || (start >= 0 && i >= start) {
			continue
		}
		start, end = i, i+len(m)
		if m[0] == '州' && end < len(r) && r[end] == '市' {
			end++ // 福州市, 杭州市: 州 is part of the name
		}
	}
	return end
}

// runeIndex returns the first i ≥ from with r[i:i+len(m)] == m and
// i+len(m) ≤ limit, or -1.
func runeIndex(r, m []rune, from, limit int) int {
	for i := from; i+len(m) <= min(limit, len(r)); i++ {
		match := true
		for j := range m {
			if r[i+j] != m[j] {
				match = false
				break
			}
		}
		if match {
			return i
		}
	}
	return -1
}
