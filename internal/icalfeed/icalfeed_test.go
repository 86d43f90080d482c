package icalfeed_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"

	"gigvault/internal/icalfeed"
)

var update = flag.Bool("update", false, "rewrite testdata/feed.ics.golden")

var (
	now   = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	cst   = time.FixedZone("CST", 8*3600)
	start = time.Date(2026, 11, 5, 10, 0, 0, 0, cst) // 02:00 UTC
)

// longZh is a CJK description long enough to fold several times; each
// character is three octets, so a fold that counts characters, or that
// cuts at byte 75, would split one.
var longZh = strings.Repeat("请携带身份证原件到前台签到,", 12) + "迟到十五分钟视为缺席。"

func events() []icalfeed.Event {
	return []icalfeed.Event{
		{
			UID: "app-0192", Kind: icalfeed.KindInterview,
			Summary:     "面试:门店店员, 深圳; 第二轮",
			Location:    "深圳市南山区科技园, 1号楼; 3层",
			Description: "第一行\n第二行\r\n反斜杠 \\ 结束\r" + longZh,
			Start:       start, End: start.Add(time.Hour),
			Updated: time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC),
		},
		{
			UID: "shift-77:1", Kind: icalfeed.KindShift,
			Summary:  "Warehouse shift",
			Location: "Bao'an, Shenzhen",
			Start:    start.Add(48 * time.Hour), End: start.Add(56 * time.Hour),
		},
		{
			UID: "app-0001", Kind: icalfeed.KindInterview, Cancelled: true,
			Summary: "面试:咖啡师",
			Start:   start.Add(24 * time.Hour), End: start.Add(25 * time.Hour),
		},
	}
}

func write(t *testing.T, evs []icalfeed.Event) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := icalfeed.Write(&b, "零工日程, 面试; 上班提醒", evs, now); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// physicalLines splits the output at CRLF and fails on any other line end.
func physicalLines(t *testing.T, out []byte) []string {
	t.Helper()
	if !bytes.HasSuffix(out, []byte("\r\n")) {
		t.Fatal("output does not end with CRLF")
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\r\n"), "\r\n")
	for i, l := range lines {
		if strings.ContainsAny(l, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, l)
		}
	}
	return lines
}

// unfold joins continuation lines (RFC 5545 §3.1) into content lines.
func unfold(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, " ") && len(out) > 0 {
			out[len(out)-1] += l[1:]
			continue
		}
		out = append(out, l)
	}
	return out
}

// Every physical line ends in CRLF, holds at most 75 octets, is valid UTF-8
// on its own (no multi-byte character cut by a fold), and the long CJK
// description was in fact folded.
func TestStrictLines(t *testing.T) {
	out := write(t, events())
	lines := physicalLines(t, out)
	folds := 0
	for i, l := range lines {
		if len(l) > 75 {
			t.Errorf("line %d is %d octets: %q", i+1, len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("line %d is not valid UTF-8 on its own (a fold split a character): %q", i+1, l)
		}
		if strings.HasPrefix(l, " ") {
			folds++
		}
		if strings.HasPrefix(l, "\t") {
			t.Errorf("line %d starts with a tab", i+1)
		}
	}
	if folds < 5 {
		t.Errorf("only %d continuation lines; the long description should fold many times", folds)
	}
	content := unfold(lines)
	if content[0] != "BEGIN:VCALENDAR" || content[len(content)-1] != "END:VCALENDAR" {
		t.Errorf("not one VCALENDAR: first %q, last %q", content[0], content[len(content)-1])
	}
	for _, want := range []string{
		"VERSION:2.0",
		"PRODID:-//gigvault//jobs//ZH",
		`X-WR-CALNAME:零工日程\, 面试\; 上班提醒`,
		"X-WR-TIMEZONE:Asia/Shanghai",
		"METHOD:PUBLISH",
		"UID:app-0192@gigvault",
		"DTSTAMP:20261102T090000Z",
		"DTSTART:20261105T020000Z",
		"DTEND:20261105T030000Z",
		"LAST-MODIFIED:20261101T083000Z",
		`SUMMARY:面试:门店店员\, 深圳\; 第二轮`,
		`LOCATION:深圳市南山区科技园\, 1号楼\; 3层`,
		`DESCRIPTION:第一行\n第二行\n反斜杠 \\ 结束\n` + strings.ReplaceAll(longZh, ",", `\,`),
		"STATUS:CANCELLED",
		"ACTION:DISPLAY",
		"TRIGGER:-PT1H",
		"TRIGGER:-PT2H",
	} {
		if !slices.Contains(content, want) {
			t.Errorf("no content line %q", want)
		}
	}
}

// The feed parses back with the library's parser, and every value comes
// back as it went in: escaping is undone, times are the same instants in
// UTC, cancelled events carry STATUS:CANCELLED and no alarm, the others one
// DISPLAY alarm 1 hour (interview) or 2 hours (shift) before the start.
func TestParsesBack(t *testing.T) {
	in := events()
	cal, err := ics.ParseCalendar(bytes.NewReader(write(t, in)))
	if err != nil {
		t.Fatal(err)
	}
	props := map[string]string{}
	for _, p := range cal.CalendarProperties {
		props[p.IANAToken] = ics.FromText(p.Value)
	}
	if props["PRODID"] != icalfeed.ProductID || props["X-WR-CALNAME"] != "零工日程, 面试; 上班提醒" || props["X-WR-TIMEZONE"] != "Asia/Shanghai" {
		t.Errorf("calendar properties: %v", props)
	}
	got := cal.Events()
	if len(got) != len(in) {
		t.Fatalf("%d events, want %d", len(got), len(in))
	}
	// Sorted by start: the interview, the cancelled one, the shift.
	order := []int{0, 2, 1}
	for i, ev := range got {
		want := in[order[i]]
		if id := ev.Id(); id != want.UID+"@gigvault" {
			t.Errorf("event %d: UID %q, want %q", i, id, want.UID+"@gigvault")
		}
		text := func(p ics.ComponentProperty) string {
			if v := ev.GetProperty(p); v != nil {
				return v.Value // the parser has unescaped TEXT already
			}
			return ""
		}
		wantDesc := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(want.Description)
		if text(ics.ComponentPropertySummary) != want.Summary || text(ics.ComponentPropertyLocation) != want.Location ||
			text(ics.ComponentPropertyDescription) != wantDesc {
			t.Errorf("event %d: text %q / %q / %q", i, text(ics.ComponentPropertySummary),
				text(ics.ComponentPropertyLocation), text(ics.ComponentPropertyDescription))
		}
		s, err1 := ev.GetStartAt()
		e, err2 := ev.GetEndAt()
		if err1 != nil || err2 != nil || !s.Equal(want.Start) || !e.Equal(want.End) || s.Location() != time.UTC {
			t.Errorf("event %d: %v–%v (%v, %v), want %v–%v in UTC", i, s, e, err1, err2, want.Start, want.End)
		}
		if st, err := ev.GetDtStampTime(); err != nil || !st.Equal(now) {
			t.Errorf("event %d: DTSTAMP %v, %v", i, st, err)
		}
		status := text(ics.ComponentPropertyStatus)
		alarms := ev.Alarms()
		if want.Cancelled {
			if status != "CANCELLED" || len(alarms) != 0 {
				t.Errorf("cancelled event %d: status %q, %d alarms", i, status, len(alarms))
			}
			continue
		}
		if status != "CONFIRMED" || len(alarms) != 1 {
			t.Fatalf("event %d: status %q, %d alarms", i, status, len(alarms))
		}
		a := alarms[0]
		trig := map[string]string{icalfeed.KindInterview: "-PT1H", icalfeed.KindShift: "-PT2H"}[want.Kind]
		if p := a.GetProperty(ics.ComponentPropertyAction); p == nil || p.Value != "DISPLAY" {
			t.Errorf("event %d: alarm action %v", i, p)
		}
		if p := a.GetProperty(ics.ComponentPropertyTrigger); p == nil || p.Value != trig {
			t.Errorf("event %d: alarm trigger %v, want %s", i, p, trig)
		}
		if p := a.GetProperty(ics.ComponentPropertyDescription); p == nil || !strings.HasSuffix(p.Value, want.Summary) {
			t.Errorf("event %d: a DISPLAY alarm needs a DESCRIPTION, got %v", i, p)
		}
	}
}

// The same events and now give the same bytes whatever their order, and
// the output matches the reviewed golden file.
func TestDeterministic(t *testing.T) {
	evs := events()
	a := write(t, evs)
	slices.Reverse(evs)
	if b := write(t, evs); !bytes.Equal(a, b) {
		t.Fatal("output depends on the order of the events")
	}
	golden := filepath.Join("testdata", "feed.ics.golden")
	if *update {
		if err := os.WriteFile(golden, a, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, want) {
		t.Errorf("output differs from %s (run with -update after review):\n%s", golden, a)
	}
}

// An empty feed is still a valid calendar.
func TestEmpty(t *testing.T) {
	out := write(t, nil)
	cal, err := ics.ParseCalendar(bytes.NewReader(out))
	if err != nil || len(cal.Events()) != 0 {
		t.Fatalf("empty feed: %v, %d events", err, len(cal.Events()))
	}
	physicalLines(t, out)
}

// Control characters other than tab and line ends never reach the output;
// invalid UTF-8 becomes U+FFFD.
func TestControlCharacters(t *testing.T) {
	evs := events()[:1]
	evs[0].Summary = "a\x00b\x1bc\x7fd\te\xffz"
	out := write(t, evs)
	for i, c := range out {
		if c < 0x20 && c != '\r' && c != '\n' && c != '\t' || c == 0x7f {
			t.Fatalf("control byte %#x at %d", c, i)
		}
	}
	if !utf8.Valid(out) {
		t.Fatal("output is not valid UTF-8")
	}
	if !slices.Contains(unfold(physicalLines(t, out)), "SUMMARY:abcd\te\uFFFDz") {
		t.Errorf("summary not cleaned as expected:\n%s", out)
	}
}

func TestInvalid(t *testing.T) {
	ok := events()[1]
	for name, mod := range map[string]func(*icalfeed.Event){
		"no UID":        func(e *icalfeed.Event) { e.UID = "" },
		"UID with @":    func(e *icalfeed.Event) { e.UID = "a@b" },
		"UID with CRLF": func(e *icalfeed.Event) { e.UID = "a\r\nX-EVIL:1" },
		"long UID":      func(e *icalfeed.Event) { e.UID = strings.Repeat("a", 129) },
		"kind":          func(e *icalfeed.Event) { e.Kind = "party" },
		"no start":      func(e *icalfeed.Event) { e.Start = time.Time{} },
		"end = start":   func(e *icalfeed.Event) { e.End = e.Start },
		"end < start":   func(e *icalfeed.Event) { e.End = e.Start.Add(-time.Minute) },
		"no summary":    func(e *icalfeed.Event) { e.Summary = " \r\n" },
		"long text":     func(e *icalfeed.Event) { e.Description = strings.Repeat("字", icalfeed.MaxTextLen) },
	} {
		e := ok
		mod(&e)
		var b bytes.Buffer
		err := icalfeed.Write(&b, "cal", []icalfeed.Event{e}, now)
		if !errors.Is(err, icalfeed.ErrInvalidEvent) {
			t.Errorf("%s: %v, want ErrInvalidEvent", name, err)
		}
		if b.Len() != 0 {
			t.Errorf("%s: wrote %d bytes", name, b.Len())
		}
	}
	var b bytes.Buffer
	if err := icalfeed.Write(&b, "cal", []icalfeed.Event{ok, ok}, now); !errors.Is(err, icalfeed.ErrInvalidEvent) {
		t.Errorf("duplicate UID: %v", err)
	}
	if err := icalfeed.Write(&b, "", nil, now); !errors.Is(err, icalfeed.ErrInvalidEvent) {
		t.Errorf("empty calendar name: %v", err)
	}
	if err := icalfeed.Write(&b, "cal", nil, time.Time{}); err == nil {
		t.Error("zero now accepted")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	if err := icalfeed.Write(failWriter{}, "cal", events(), now); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("write error: %v", err)
	}
}
