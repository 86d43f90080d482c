package calendar

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		mode     Mode
		input    string
		wantLine int
		wantMsg  string
	}{
		{"unknown kind", Replace, "year 2027 x\n2027-01-01 holiday 元旦\n", 2, `unknown kind "holiday"`},
		{"kind is case sensitive", Replace, "year 2027 x\n2027-01-01 OFF\n", 2, `unknown kind "OFF"`},
		{"missing kind", Replace, "year 2027 x\n\n2027-01-01\n", 3, "missing kind"},
		{"bad date format", Replace, "year 2027 x\n2027/01/01 off\n", 2, `bad date "2027/01/01"`},
		{"short date", Replace, "year 2027 x\n2027-1-01 off\n", 2, `bad date "2027-1-01"`},
		{"day out of range", Replace, "year 2027 x\n2027-02-29 off\n", 2, "day out of range"},
		{"month out of range", Replace, "year 2027 x\n2027-13-01 off\n", 2, "month out of range"},
		{"stray word", Replace, "# c\nholiday 2027-01-01 off\n", 2, `bad date "holiday"`},
		{"duplicate date", Replace, "year 2027 x\n2027-01-01 off\n# again\n2027-01-01 work\n", 4, "already listed on line 2"},
		{"undeclared year", Replace, "year 2027 x\n2027-01-01 off\n2028-01-01 off\n2028-01-02 off\n", 3, "year 2028, which has no"},
		{"replace does not inherit years", Replace, "2025-10-08 work\n", 1, "year 2025, which has no"},
		{"merge: year neither declared nor embedded", Merge, "2030-01-01 off\n", 1, "year 2030, which has no"},
		{"year without source", Replace, "year 2027\n", 1, "missing source"},
		{"year without anything", Replace, "year\n", 1, "needs a year and a source"},
		{"bad year", Replace, "year 27 x\n", 1, `bad year "27"`},
		{"year not digits", Replace, "year 2O27 x\n", 1, `bad year "2O27"`},
		{"duplicate year", Replace, "year 2027 a\nyear 2027 b\n", 2, "year 2027 already declared on line 1"},
		{"comment hides the kind", Replace, "year 2027 x\n2027-01-01 #off\n", 2, "missing kind"},
		{"invalid UTF-8", Replace, "year 2027 x\n2027-01-01 off \xff\n", 2, "invalid UTF-8"},
		{"line too long", Replace, "year 2027 x\n2027-01-01 off " + strings.Repeat("长", maxLine) + "\n", 2, "line too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tt.input), tt.mode)
			if err == nil {
				t.Fatalf("Parse succeeded, want an error at line %d", tt.wantLine)
			}
			if c != nil {
				t.Errorf("Parse returned a calendar with an error")
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if pe.Line != tt.wantLine {
				t.Errorf("line = %d, want %d (error %v)", pe.Line, tt.wantLine, err)
			}
			if !strings.Contains(pe.Msg, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", pe.Msg, tt.wantMsg)
			}
			if !strings.HasPrefix(err.Error(), "calendar: line ") {
				t.Errorf("error %q does not start with \"calendar: line \"", err)
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	in := "year 2027 x\n2027-01-01 of\n2027-01-02 off\n2027-13-01 off\n"
	_, err := Parse(strings.NewReader(in), Replace)
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	got := err.Error()
	for _, want := range []string{"line 2: ", "line 4: "} {
		if !strings.Contains(got, want) {
			t.Errorf("error %q does not mention %q", got, want)
		}
	}
	if strings.Contains(got, "line 3: ") {
		t.Errorf("error %q blames the good line 3", got)
	}

	many := "year 2027 x\n" + strings.Repeat("nonsense\n", 50)
	_, err = Parse(strings.NewReader(many), Replace)
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != maxErrors {
		t.Errorf("%d errors reported, want the cap %d", n, maxErrors)
	}
}

func TestParseAccepts(t *testing.T) {
	in := "\uFEFF# leading BOM and comment\r\n" +
		"year 2027 国办发明电〔2026〕N号 # trailing comment\r\n" +
		"\t2027-01-01\toff\t元旦#1 in the name # comment\r\n" +
		"2027-01-02   work   a   spaced   name\r\n" +
		"   \r\n" +
		"2027-01-03 off # no name\r\n"
	c, err := Parse(strings.NewReader(in), Replace)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Source(2027), "国办发明电〔2026〕N号"; got != want {
		t.Errorf("Source(2027) = %q, want %q", got, want)
	}
	tests := []struct {
		d        time.Time
		work     bool
		wantName string
	}{
		{day(2027, 1, 1), false, "元旦#1 in the name"},
		{day(2027, 1, 2), true, "a spaced name"},
		{day(2027, 1, 3), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.d.Format(time.DateOnly), func(t *testing.T) {
			if got := c.IsWorkingDay(tt.d); got != tt.work {
				t.Errorf("IsWorkingDay = %v, want %v", got, tt.work)
			}
			if got := c.special[dayNum(tt.d)].name; got != tt.wantName {
				t.Errorf("name = %q, want %q", got, tt.wantName)
			}
		})
	}
	// Empty input is a valid, empty calendar.
	empty, err := Parse(strings.NewReader(""), Replace)
	if err != nil || len(empty.Years()) != 0 || !empty.IsWorkingDay(day(2025, 10, 1)) {
		t.Errorf("Parse(\"\") = %v, %v; want an empty calendar", empty, err)
	}
}

const data2027 = `# An operator's extension for a later year (dates invented for the test).
year 2027 国办发明电〔2026〕99号 (test)
2027-01-01 off  元旦
2027-02-05 off  春节
2027-02-06 work 春节调休
`

func TestMergeExtendsAnotherYear(t *testing.T) {
	c, err := Parse(strings.NewReader(data2027), Merge)
	if err != nil {
		t.Fatal(err)
	}
	for _, y := range []int{2024, 2025, 2026, 2027} {
		if !c.Covers(y) {
			t.Errorf("merged calendar does not cover %d", y)
		}
	}
	tests := []struct {
		name string
		d    time.Time
		want bool
	}{
		{"new 2027 holiday on a Friday", day(2027, 1, 1), false},
		{"new 2027 make-up Saturday", day(2027, 2, 6), true},
		{"ordinary 2027 Monday", day(2027, 1, 4), true},
		{"embedded 2025 holiday kept", day(2025, 10, 8), false},
		{"embedded 2026 make-up day kept", day(2026, 10, 10), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.IsWorkingDay(tt.d); got != tt.want {
				t.Errorf("IsWorkingDay(%s) = %v, want %v", tt.d.Format(time.DateOnly), got, tt.want)
			}
		})
	}
	// 2027-02-04 (Thu) + 1 skips the Friday holiday to the make-up Saturday.
	if got := c.AddWorkingDays(day(2027, 2, 4), 1); !got.Equal(day(2027, 2, 6)) {
		t.Errorf("AddWorkingDays(2027-02-04, 1) = %v, want 2027-02-06", got)
	}
	// Merging must not change the shared default.
	if Default().Covers(2027) || !Default().IsWorkingDay(day(2027, 1, 1)) {
		t.Error("Merge modified Default()")
	}
}

func TestMergeCorrectsEmbeddedDate(t *testing.T) {
	// No "year 2025" line: allowed when merging because 2025 is embedded.
	c, err := Parse(strings.NewReader("2025-10-08 work correction\n2025-10-12 work another\n"), Merge)
	if err != nil {
		t.Fatal(err)
	}
	if !c.IsWorkingDay(day(2025, 10, 8)) || !c.IsWorkingDay(day(2025, 10, 12)) {
		t.Error("corrections not applied")
	}
	if got := c.AddWorkingDays(day(2025, 9, 30), 1); !got.Equal(day(2025, 10, 8)) {
		t.Errorf("AddWorkingDays after correction = %v, want 2025-10-08", got)
	}
	if got, want := c.WorkingDaysBetween(day(2024, 12, 31), day(2025, 12, 31)), 250; got != want {
		t.Errorf("2025 working days after two corrections = %d, want %d", got, want)
	}
	if got, want := c.Source(2025), Default().Source(2025); got != want {
		t.Errorf("Source(2025) = %q, want the embedded %q", got, want)
	}
	// Re-declaring a covered year replaces its source.
	c, err = Parse(strings.NewReader("year 2025 corrected notice\n"), Merge)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Source(2025); got != "corrected notice" {
		t.Errorf("Source(2025) = %q after re-declaring", got)
	}
}

func TestReplace(t *testing.T) {
	c, err := Parse(strings.NewReader(data2027), Replace)
	if err != nil {
		t.Fatal(err)
	}
	if c.Covers(2025) || !c.Covers(2027) {
		t.Errorf("Replace covers %v, want [2027]", c.Years())
	}
	if !c.IsWorkingDay(day(2025, 10, 1)) {
		t.Error("Replace kept the embedded 2025-10-01 holiday")
	}
	if c.IsWorkingDay(day(2027, 1, 1)) {
		t.Error("Replace lost the file's 2027-01-01 holiday")
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "holidays-2027.txt")
	if err := os.WriteFile(good, []byte(data2027), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadFile(good, Merge)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Covers(2026) || !c.Covers(2027) || c.IsWorkingDay(day(2027, 2, 5)) {
		t.Error("LoadFile(Merge) did not merge the file")
	}

	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("year 2027 x\n2027-01-01 of\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadFile(bad, Replace)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Name != bad || pe.Line != 2 {
		t.Fatalf("LoadFile(bad) error = %v, want a ParseError at %s:2", err, bad)
	}
	if want := "calendar: " + bad + ":2: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}

	if _, err := LoadFile(filepath.Join(dir, "missing.txt"), Merge); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadFile(missing) error = %v, want ErrNotExist", err)
	}
	if _, err := LoadFile(good, Mode(7)); err == nil || !strings.Contains(err.Error(), "unknown mode") {
		t.Errorf("LoadFile with Mode(7) error = %v, want unknown mode", err)
	}
}

func TestModeString(t *testing.T) {
	for m, want := range map[Mode]string{Merge: "merge", Replace: "replace", Mode(9): "Mode(9)"} {
		if got := m.String(); got != want {
			t.Errorf("Mode(%d).String() = %q, want %q", int(m), got, want)
		}
	}
}

// TestEmbeddedParsesStandalone makes sure the embedded file itself needs no
// base: every date's year is declared.
func TestEmbeddedParsesStandalone(t *testing.T) {
	c, err := Parse(strings.NewReader(embedded), Replace)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.special) != 28+8+28+5+33+6 {
		t.Errorf("embedded data lists %d dates, want %d", len(c.special), 28+8+28+5+33+6)
	}
}
