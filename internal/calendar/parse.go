package calendar

import (
	"bufio"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

//go:embed holidays.txt
var embedded string

// embeddedName names the embedded data in error messages.
const embeddedName = "holidays.txt"

// maxErrors caps the number of problems one Parse call reports.
const maxErrors = 10

// maxLine is the longest line Parse accepts, in bytes.
const maxLine = 64 << 10

var defaultCalendar = sync.OnceValue(func() *Calendar {
	c, err := parse(strings.NewReader(embedded), embeddedName, nil)
	if err != nil {
		panic("calendar: embedded data: " + err.Error())
	}
	return c
})

// Default returns the calendar built from the embedded data, which covers
// 2024, 2025 and 2026 (see [Calendar.Years] and [Calendar.Source]). Every
// call returns the same immutable *Calendar.
func Default() *Calendar {
	return defaultCalendar()
}

// Mode says how [Parse] and [LoadFile] combine their input with the embedded
// data.
type Mode int

const (
	// Merge overlays the input on the embedded data ([Default]): a date the
	// input lists takes the status the input gives it, every other date
	// keeps its embedded status, and a "year" line adds the year to the
	// covered years (replacing the source cited for it, if it was already
	// covered). Dates may be listed for years the input does not declare as
	// long as the embedded data covers them, so a file can correct a single
	// embedded date.
	Merge Mode = iota
	// Replace ignores the embedded data: the calendar holds only the input.
	Replace
)

// String returns "merge" or "replace".
func (m Mode) String() string {
	switch m {
	case Merge:
		return "merge"
	case Replace:
		return "replace"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// ParseError describes one problem in calendar data.
type ParseError struct {
	// Name is the file the data came from, or "" for a plain reader.
	Name string
	// Line is the 1-based line number of the problem.
	Line int
	// Msg says what is wrong.
	Msg string
}

// Error returns "calendar: NAME:LINE: MSG" (or "calendar: line LINE: MSG"
// without a name).
func (e *ParseError) Error() string {
	if e.Name != "" {
		return fmt.Sprintf("calendar: %s:%d: %s", e.Name, e.Line, e.Msg)
	}
	return fmt.Sprintf("calendar: line %d: %s", e.Line, e.Msg)
}

// Parse reads calendar data in the format of the embedded holidays.txt and
// returns a calendar combining it with the embedded data as mode says.
//
// Each non-blank line, once comments are removed (a '#' at the start of a
// line or after a space or tab starts one), is one of
//
//	year YYYY <source>       the year is covered; <source> cites the notice
//	YYYY-MM-DD off  [name]   a day off (a holiday, even on a weekend)
//	YYYY-MM-DD work [name]   a working day (a make-up working day)
//
// Fields are separated by spaces or tabs; the optional name is the rest of
// the line. Every listed date's year must be declared by a "year" line of
// the same input, anywhere in it, or, in [Merge] mode, be covered by the
// embedded data. A date or year may appear only once per input.
//
// On bad data Parse returns a nil *Calendar and an error wrapping one
// *[ParseError] per problem found (at most 10), each naming the line; use
// errors.As to get the first. An error reading r is returned wrapped.
func Parse(r io.Reader, mode Mode) (*Calendar, error) {
	return parseMode(r, "", mode)
}

// LoadFile reads calendar data from the named file, as [Parse] does; errors
// name the file as well as the line.
func LoadFile(path string, mode Mode) (*Calendar, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	defer f.Close()
	return parseMode(f, path, mode)
}

func parseMode(r io.Reader, name string, mode Mode) (*Calendar, error) {
	switch mode {
	case Merge:
		return parse(r, name, Default())
	case Replace:
		return parse(r, name, nil)
	}
	return nil, fmt.Errorf("calendar: unknown mode %d", int(mode))
}

// parse reads data from r and overlays it on base (nil for none).
func parse(r io.Reader, name string, base *Calendar) (*Calendar, error) {
	type dated struct {
		line int
		n    int64
		e    entry
	}
	var (
		errs      []error
		entries   []dated
		dateLine  = map[int64]int{}  // day number -> line listing it
		yearLine  = map[int]int{}    // declared year -> line
		sources   = map[int]string{} // declared year -> source
		firstLine = map[int]int{}    // year -> first line listing a date in it
	)
	fail := func(line int, format string, args ...any) {
		if len(errs) < maxErrors {
			errs = append(errs, &ParseError{Name: name, Line: line, Msg: fmt.Sprintf(format, args...)})
		}
	}

	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	line := 0
	for sc.Scan() && len(errs) < maxErrors {
		line++
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		if !utf8.ValidString(text) {
			fail(line, "invalid UTF-8")
			continue
		}
		fields := strings.Fields(stripComment(text))
		if len(fields) == 0 {
			continue
		}
		if fields[0] == "year" {
			if len(fields) < 2 {
				fail(line, `"year" needs a year and a source, as in "year 2027 国办发明电〔2026〕N号"`)
				continue
			}
			y, ok := parseYear(fields[1])
			if !ok {
				fail(line, "bad year %q: want four digits, as in 2027", fields[1])
				continue
			}
			if len(fields) < 3 {
				fail(line, "year %d: missing source; cite the notice, as in \"year %d 国办发明电〔%d〕N号\"", y, y, y-1)
				continue
			}
			if prev, dup := yearLine[y]; dup {
				fail(line, "year %d already declared on line %d", y, prev)
				continue
			}
			yearLine[y] = line
			sources[y] = strings.Join(fields[2:], " ")
			continue
		}

		d, err := parseDate(fields[0])
		if err != nil {
			fail(line, "%v", err)
			continue
		}
		if len(fields) < 2 {
			fail(line, "date %s: missing kind: want \"off\" or \"work\"", fields[0])
			continue
		}
		var e entry
		switch fields[1] {
		case "off":
		case "work":
			e.work = true
		default:
			fail(line, "date %s: unknown kind %q: want \"off\" or \"work\"", fields[0], fields[1])
			continue
		}
		e.name = strings.Join(fields[2:], " ")
		n := civil(d.Date())
		if prev, dup := dateLine[n]; dup {
			fail(line, "date %s already listed on line %d", fields[0], prev)
			continue
		}
		dateLine[n] = line
		if _, seen := firstLine[d.Year()]; !seen {
			firstLine[d.Year()] = line
		}
		entries = append(entries, dated{line, n, e})
	}
	if err := sc.Err(); err != nil && len(errs) < maxErrors {
		if errors.Is(err, bufio.ErrTooLong) {
			fail(line+1, "line too long (limit %d bytes)", maxLine)
		} else {
			return nil, fmt.Errorf("calendar: reading %s: %w", displayName(name), err)
		}
	}

	// Every listed date needs a declared (or, when merging, covered) year.
	undeclared := make([]int, 0)
	for y := range firstLine {
		if _, ok := sources[y]; ok {
			continue
		}
		if base != nil && base.Covers(y) {
			continue
		}
		undeclared = append(undeclared, y)
	}
	slices.SortFunc(undeclared, func(a, b int) int { return firstLine[a] - firstLine[b] })
	for _, y := range undeclared {
		fail(firstLine[y], "date in year %d, which has no \"year %d <source>\" line", y, y)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	c := &Calendar{special: map[int64]entry{}, years: map[int]string{}}
	if base != nil {
		for n, e := range base.special {
			c.special[n] = e
		}
		for y, s := range base.years {
			c.years[y] = s
		}
	}
	for _, d := range entries {
		c.special[d.n] = d.e
	}
	for y, s := range sources {
		c.years[y] = s
	}
	c.index()
	return c, nil
}

// index builds adjDays and adjPrefix from special.
func (c *Calendar) index() {
	c.adjDays = c.adjDays[:0]
	for n, e := range c.special {
		if e.work == isWeekend(n) { // differs from the weekend rule
			c.adjDays = append(c.adjDays, n)
		}
	}
	slices.Sort(c.adjDays)
	c.adjPrefix = make([]int, len(c.adjDays)+1)
	for i, n := range c.adjDays {
		adj := -1
		if c.special[n].work {
			adj = 1
		}
		c.adjPrefix[i+1] = c.adjPrefix[i] + adj
	}
}

// stripComment removes a comment: from a '#' at the start of s or after a
// space or tab to the end.
func stripComment(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return s[:i]
		}
	}
	return s
}

// parseYear parses exactly four ASCII digits.
func parseYear(s string) (int, bool) {
	if len(s) != 4 {
		return 0, false
	}
	y := 0
	for i := 0; i < 4; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		y = y*10 + int(s[i]-'0')
	}
	return y, true
}

// parseDate parses YYYY-MM-DD, rejecting anything else.
func parseDate(s string) (time.Time, error) {
	if len(s) != len("2006-01-02") || s[4] != '-' || s[7] != '-' {
		return time.Time{}, fmt.Errorf("bad date %q: want YYYY-MM-DD, or \"year\"", s)
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		var pe *time.ParseError
		if errors.As(err, &pe) && pe.Message != "" {
			return time.Time{}, fmt.Errorf("bad date %q%s", s, pe.Message)
		}
		return time.Time{}, fmt.Errorf("bad date %q: want YYYY-MM-DD", s)
	}
	return t, nil
}

func displayName(name string) string {
	if name == "" {
		return "input"
	}
	return name
}
