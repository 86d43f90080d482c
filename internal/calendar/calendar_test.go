package calendar

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// day returns 00:00 CST on y-m-d.
func day(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, CST)
}

// span is an inclusive run of dates with one status, written independently
// of holidays.txt from the notices' text.
type span struct {
	from, to time.Time
	work     bool
	what     string
}

func off(y int, m time.Month, d1, d2 int, what string) span {
	return span{day(y, m, d1), day(y, m, d2), false, what}
}

func offRange(from, to time.Time, what string) span { return span{from, to, false, what} }

func work(y int, m time.Month, d int, what string) span {
	return span{day(y, m, d), day(y, m, d), true, what}
}

// notices lists every special date of the three notices.
var notices = []span{
	// 2024, 国办发明电〔2023〕7号
	off(2024, 1, 1, 1, "2024 元旦"),
	work(2024, 2, 4, "2024 春节调休 (Sun)"),
	off(2024, 2, 10, 17, "2024 春节"),
	work(2024, 2, 18, "2024 春节调休 (Sun)"),
	off(2024, 4, 4, 6, "2024 清明节"),
	work(2024, 4, 7, "2024 清明节调休 (Sun)"),
	work(2024, 4, 28, "2024 劳动节调休 (Sun)"),
	off(2024, 5, 1, 5, "2024 劳动节"),
	work(2024, 5, 11, "2024 劳动节调休 (Sat)"),
	off(2024, 6, 10, 10, "2024 端午节"),
	work(2024, 9, 14, "2024 中秋节调休 (Sat)"),
	off(2024, 9, 15, 17, "2024 中秋节"),
	work(2024, 9, 29, "2024 国庆节调休 (Sun)"),
	off(2024, 10, 1, 7, "2024 国庆节"),
	work(2024, 10, 12, "2024 国庆节调休 (Sat)"),
	// 2025, 国办发明电〔2024〕12号
	off(2025, 1, 1, 1, "2025 元旦"),
	work(2025, 1, 26, "2025 春节调休 (Sun)"),
	offRange(day(2025, 1, 28), day(2025, 2, 4), "2025 春节"),
	work(2025, 2, 8, "2025 春节调休 (Sat)"),
	off(2025, 4, 4, 6, "2025 清明节"),
	work(2025, 4, 27, "2025 劳动节调休 (Sun)"),
	off(2025, 5, 1, 5, "2025 劳动节"),
	offRange(day(2025, 5, 31), day(2025, 6, 2), "2025 端午节"),
	work(2025, 9, 28, "2025 国庆节、中秋节调休 (Sun)"),
	off(2025, 10, 1, 8, "2025 国庆节、中秋节"),
	work(2025, 10, 11, "2025 国庆节、中秋节调休 (Sat)"),
	// 2026, 国办发明电〔2025〕7号
	off(2026, 1, 1, 3, "2026 元旦"),
	work(2026, 1, 4, "2026 元旦调休 (Sun)"),
	work(2026, 2, 14, "2026 春节调休 (Sat)"),
	off(2026, 2, 15, 23, "2026 春节"),
	work(2026, 2, 28, "2026 春节调休 (Sat)"),
	off(2026, 4, 4, 6, "2026 清明节"),
	off(2026, 5, 1, 5, "2026 劳动节"),
	work(2026, 5, 9, "2026 劳动节调休 (Sat)"),
	off(2026, 6, 19, 21, "2026 端午节"),
	work(2026, 9, 20, "2026 国庆节调休 (Sun)"),
	off(2026, 9, 25, 27, "2026 中秋节"),
	off(2026, 10, 1, 7, "2026 国庆节"),
	work(2026, 10, 10, "2026 国庆节调休 (Sat)"),
}

// oracle is the expected status of each special date.
func oracle() map[time.Time]bool {
	m := map[time.Time]bool{}
	for _, s := range notices {
		for d := s.from; !d.After(s.to); d = d.AddDate(0, 0, 1) {
			m[d] = s.work
		}
	}
	return m
}

func TestIsWorkingDaySpecialDates(t *testing.T) {
	c := Default()
	for _, s := range notices {
		for d := s.from; !d.After(s.to); d = d.AddDate(0, 0, 1) {
			t.Run(fmt.Sprintf("%s/%s", s.what, d.Format(time.DateOnly)), func(t *testing.T) {
				if got := c.IsWorkingDay(d); got != s.work {
					t.Errorf("IsWorkingDay(%s, %s) = %v, want %v", d.Format(time.DateOnly), d.Weekday(), got, s.work)
				}
			})
		}
	}
}

func TestIsWorkingDayOrdinary(t *testing.T) {
	c := Default()
	tests := []struct {
		name string
		t    time.Time
		want bool
	}{
		{"2024-02-09 除夕 Fri, not a holiday in 2024", day(2024, 2, 9), true},
		{"2024-02-19 Mon after 春节", day(2024, 2, 19), true},
		{"2024-02-24 Sat", day(2024, 2, 24), false},
		{"2024-06-08 Sat before 端午", day(2024, 6, 8), false},
		{"2024-12-31 Tue", day(2024, 12, 31), true},
		{"2025-01-02 Thu", day(2025, 1, 2), true},
		{"2025-01-27 Mon 春节 eve-eve", day(2025, 1, 27), true},
		{"2025-02-05 Wed after 春节", day(2025, 2, 5), true},
		{"2025-02-09 Sun", day(2025, 2, 9), false},
		{"2025-09-27 Sat before 国庆", day(2025, 9, 27), false},
		{"2025-09-30 Tue", day(2025, 9, 30), true},
		{"2025-10-09 Thu after 国庆", day(2025, 10, 9), true},
		{"2025-10-12 Sun", day(2025, 10, 12), false},
		{"2026-01-05 Mon", day(2026, 1, 5), true},
		{"2026-03-01 Sun", day(2026, 3, 1), false},
		{"2026-10-08 Thu after 国庆", day(2026, 10, 8), true},
		{"2026-10-11 Sun", day(2026, 10, 11), false},
		// Uncovered years: weekend rule only.
		{"2023-10-02 Mon (uncovered, really 国庆)", day(2023, 10, 2), true},
		{"2027-01-01 Fri (uncovered)", day(2027, 1, 1), true},
		{"2027-01-02 Sat (uncovered)", day(2027, 1, 2), false},
		// Time zones: the CST date counts.
		{"2025-09-30T16:30Z is 10-01 CST", time.Date(2025, 9, 30, 16, 30, 0, 0, time.UTC), false},
		{"2025-09-30T15:59:59Z is 09-30 CST", time.Date(2025, 9, 30, 15, 59, 59, 0, time.UTC), true},
		{"2025-10-08 12:00 UTC-5 is 10-09 CST", time.Date(2025, 10, 8, 12, 0, 0, 0, time.FixedZone("EST", -5*3600)), true},
		{"2025-10-08 10:59 UTC-5 is 10-08 CST", time.Date(2025, 10, 8, 10, 59, 0, 0, time.FixedZone("EST", -5*3600)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.IsWorkingDay(tt.t); got != tt.want {
				t.Errorf("IsWorkingDay(%v) = %v, want %v", tt.t, got, tt.want)
			}
		})
	}
}

// TestEveryDay compares every day of 2023–2027 with the notices' table and
// the weekend rule, so an extra or missing line in holidays.txt fails.
func TestEveryDay(t *testing.T) {
	c := Default()
	want := oracle()
	var bad []string
	for d := day(2023, 1, 1); d.Before(day(2028, 1, 1)); d = d.AddDate(0, 0, 1) {
		w, special := want[d]
		if !special {
			w = d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
		}
		if got := c.IsWorkingDay(d); got != w {
			bad = append(bad, fmt.Sprintf("%s %s: got %v, want %v", d.Format(time.DateOnly), d.Weekday(), got, w))
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d days differ:\n%v", len(bad), bad)
	}
}

func TestWorkingDaysPerYear(t *testing.T) {
	c := Default()
	tests := []struct {
		year int
		want int
	}{
		// 262 weekdays − 19 weekday holidays + 8 make-up days.
		{2024, 251},
		// 261 weekdays − 18 weekday holidays + 5 make-up days = 248, the
		// first year with 13 statutory holiday days (365 − 104 − 13). The
		// issue said 250; the notice's own dates give 248.
		{2025, 248},
		// 261 weekdays − 19 weekday holidays + 6 make-up days.
		{2026, 248},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.year), func(t *testing.T) {
			got := c.WorkingDaysBetween(day(tt.year-1, 12, 31), day(tt.year, 12, 31))
			if got != tt.want {
				t.Errorf("working days in %d = %d, want %d", tt.year, got, tt.want)
			}
			// Cross-check by plain iteration.
			n := 0
			for d := day(tt.year, 1, 1); d.Year() == tt.year; d = d.AddDate(0, 0, 1) {
				if c.IsWorkingDay(d) {
					n++
				}
			}
			if n != tt.want {
				t.Errorf("iterating %d: %d working days, want %d", tt.year, n, tt.want)
			}
		})
	}
}

func TestAddWorkingDays(t *testing.T) {
	c := Default()
	est := time.FixedZone("EST", -5*3600)
	tests := []struct {
		name string
		t    time.Time
		n    int
		want time.Time
	}{
		// 2025 国庆节 + 中秋节 (10-01..10-08 off; 09-28 Sun, 10-11 Sat work).
		{"2025-09-26 Fri +15 (DSR deadline)", time.Date(2025, 9, 26, 17, 45, 0, 0, CST), 15, day(2025, 10, 23)},
		{"2025-09-30 +1 skips the break", day(2025, 9, 30), 1, day(2025, 10, 9)},
		{"2025-09-27 Sat +1 is make-up Sunday", day(2025, 9, 27), 1, day(2025, 9, 28)},
		{"2025-09-28 make-up Sun +1", day(2025, 9, 28), 1, day(2025, 9, 29)},
		{"2025-10-03 holiday +1", day(2025, 10, 3), 1, day(2025, 10, 9)},
		{"2025-10-10 Fri +1 is make-up Saturday", day(2025, 10, 10), 1, day(2025, 10, 11)},
		{"2025-09-29 +5", day(2025, 9, 29), 5, day(2025, 10, 13)},
		// 2025 春节 (01-28..02-04 off; 01-26 Sun, 02-08 Sat work).
		{"2025-01-24 Fri +1 is make-up Sunday", day(2025, 1, 24), 1, day(2025, 1, 26)},
		{"2025-01-26 +1", day(2025, 1, 26), 1, day(2025, 1, 27)},
		{"2025-01-27 +1 skips 春节", day(2025, 1, 27), 1, day(2025, 2, 5)},
		{"2025-01-27 +15", day(2025, 1, 27), 15, day(2025, 2, 24)},
		{"2025-02-07 Fri +1 is make-up Saturday", day(2025, 2, 7), 1, day(2025, 2, 8)},
		// 2024 春节 (02-10..02-17 off; 02-04 Sun, 02-18 Sun work; 02-09 works).
		{"2024-02-03 Sat +1 is make-up Sunday", day(2024, 2, 3), 1, day(2024, 2, 4)},
		{"2024-02-08 +1 is 除夕, a working day", day(2024, 2, 8), 1, day(2024, 2, 9)},
		{"2024-02-09 +1 is make-up Sunday 02-18", day(2024, 2, 9), 1, day(2024, 2, 18)},
		{"2024-02-09 +15", day(2024, 2, 9), 15, day(2024, 3, 7)},
		// Across years.
		{"2024-12-31 +1 skips 元旦", day(2024, 12, 31), 1, day(2025, 1, 2)},
		{"2025-12-31 +1 skips 2026 元旦", day(2025, 12, 31), 1, day(2026, 1, 4)},
		// Time zones: the CST date of receipt counts.
		{"2025-09-29T16:30Z is 09-30 CST", time.Date(2025, 9, 29, 16, 30, 0, 0, time.UTC), 1, day(2025, 10, 9)},
		{"2025-09-29T15:00Z is 09-29 CST", time.Date(2025, 9, 29, 15, 0, 0, 0, time.UTC), 1, day(2025, 9, 30)},
		{"2025-09-29 11:30 EST is 09-30 CST", time.Date(2025, 9, 29, 11, 30, 0, 0, est), 1, day(2025, 10, 9)},
		// n == 0 and n < 0.
		{"n=0 on a holiday keeps the date", time.Date(2025, 10, 2, 9, 0, 0, 0, CST), 0, day(2025, 10, 2)},
		{"2025-10-09 -1", day(2025, 10, 9), -1, day(2025, 9, 30)},
		{"2025-10-09 -3 reaches make-up Sunday", day(2025, 10, 9), -3, day(2025, 9, 28)},
		{"2025-10-12 Sun -1 is make-up Saturday", day(2025, 10, 12), -1, day(2025, 10, 11)},
		// Uncovered years fall back to weekends.
		{"2027-01-01 Fri +1 (uncovered)", day(2027, 1, 1), 1, day(2027, 1, 4)},
		{"2023-12-29 Fri +1 lands in 2024 after 元旦", day(2023, 12, 29), 1, day(2024, 1, 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.AddWorkingDays(tt.t, tt.n)
			if !got.Equal(tt.want) {
				t.Fatalf("AddWorkingDays(%v, %d) = %v, want %v", tt.t, tt.n, got, tt.want)
			}
			if _, off := got.Zone(); off != 8*3600 || got.Hour() != 0 || got.Minute() != 0 || got.Second() != 0 || got.Nanosecond() != 0 {
				t.Errorf("AddWorkingDays(%v, %d) = %v, want 00:00 CST", tt.t, tt.n, got)
			}
		})
	}
}

func TestAddWorkingDaysPanicsOutOfRange(t *testing.T) {
	for _, n := range []int{MaxWorkingDays + 1, -MaxWorkingDays - 1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("AddWorkingDays(_, %d) did not panic", n)
				}
			}()
			Default().AddWorkingDays(day(2025, 1, 1), n)
		})
	}
	t.Run("max is accepted", func(t *testing.T) {
		c := Default()
		start := day(2025, 1, 1)
		got := c.AddWorkingDays(start, MaxWorkingDays)
		if n := c.WorkingDaysBetween(start, got); n != MaxWorkingDays {
			t.Errorf("WorkingDaysBetween = %d, want %d", n, MaxWorkingDays)
		}
	})
}

func TestWorkingDaysBetween(t *testing.T) {
	c := Default()
	tests := []struct {
		name string
		a, b time.Time
		want int
	}{
		{"same date", time.Date(2025, 9, 30, 1, 0, 0, 0, CST), time.Date(2025, 9, 30, 23, 0, 0, 0, CST), 0},
		{"whole 2025 国庆 break", day(2025, 9, 30), day(2025, 10, 8), 0},
		{"into 10-09", day(2025, 9, 30), day(2025, 10, 9), 1},
		{"b excluded from a, included at b", day(2025, 9, 26), day(2025, 9, 28), 1},
		{"reversed is negative", day(2025, 10, 9), day(2025, 9, 30), -1},
		{"2025-09-26 to 2025-10-23", day(2025, 9, 26), day(2025, 10, 23), 15},
		{"2024 春节 week", day(2024, 2, 9), day(2024, 2, 18), 1},
		{"CST date of UTC times", time.Date(2025, 9, 29, 16, 0, 0, 0, time.UTC), time.Date(2025, 10, 8, 16, 0, 0, 0, time.UTC), 1},
		{"three years", day(2023, 12, 31), day(2026, 12, 31), 251 + 248 + 248},
		{"uncovered week", day(2027, 1, 3), day(2027, 1, 10), 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.WorkingDaysBetween(tt.a, tt.b); got != tt.want {
				t.Errorf("WorkingDaysBetween(%v, %v) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

// naiveAdd and naiveBetween are day-by-day reference implementations.
func naiveAdd(c *Calendar, t time.Time, n int) time.Time {
	d := dateOf(dayNum(t))
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if c.IsWorkingDay(d) {
			n--
		}
	}
	return d
}

func naiveBetween(c *Calendar, a, b time.Time) int {
	n := 0
	for d := dateOf(dayNum(a)).AddDate(0, 0, 1); !d.After(dateOf(dayNum(b))); d = d.AddDate(0, 0, 1) {
		if c.IsWorkingDay(d) {
			n++
		}
	}
	return n
}

func TestAddBetweenProperty(t *testing.T) {
	c := Default()
	rng := rand.New(rand.NewPCG(2024, 2026))
	lo := day(2024, 1, 1).Unix()
	hi := day(2027, 1, 1).Unix()
	zones := []*time.Location{CST, time.UTC, time.FixedZone("EST", -5*3600), time.FixedZone("NZ", 13*3600)}
	for i := range 2000 {
		tm := time.Unix(lo+rng.Int64N(hi-lo), 0).In(zones[rng.IntN(len(zones))])
		n := rng.IntN(61)
		t.Run(fmt.Sprintf("%d/%s+%d", i, tm.Format(time.RFC3339), n), func(t *testing.T) {
			due := c.AddWorkingDays(tm, n)
			if got := c.WorkingDaysBetween(tm, due); got != n {
				t.Errorf("WorkingDaysBetween(t, AddWorkingDays(t, %d) = %v) = %d", n, due, got)
			}
			if want := naiveAdd(c, tm, n); !due.Equal(want) {
				t.Errorf("AddWorkingDays = %v, day-by-day gives %v", due, want)
			}
			if n > 0 && !c.IsWorkingDay(due) {
				t.Errorf("AddWorkingDays(_, %d) = %v, not a working day", n, due)
			}
			other := time.Unix(lo+rng.Int64N(hi-lo), 0)
			if got, want := c.WorkingDaysBetween(tm, other), c.WorkingDaysBetween(other, tm); got != -want {
				t.Errorf("WorkingDaysBetween not antisymmetric: %d vs %d", got, want)
			}
			a, b := tm, other
			if b.Before(a) {
				a, b = b, a
			}
			if got, want := c.WorkingDaysBetween(a, b), naiveBetween(c, a, b); got != want {
				t.Errorf("WorkingDaysBetween(%v, %v) = %d, day-by-day gives %d", a, b, got, want)
			}
			if n > 0 {
				back := c.AddWorkingDays(due, -n)
				// Going back n working days from the due date lands on the
				// last working day on or before t's date.
				want := dateOf(dayNum(tm))
				for !c.IsWorkingDay(want) {
					want = want.AddDate(0, 0, -1)
				}
				if !back.Equal(want) {
					t.Errorf("AddWorkingDays(%v, -%d) = %v, want %v", due, n, back, want)
				}
			}
		})
	}
}

func TestCovers(t *testing.T) {
	c := Default()
	for _, tt := range []struct {
		year int
		want bool
	}{{2023, false}, {2024, true}, {2025, true}, {2026, true}, {2027, false}} {
		t.Run(fmt.Sprint(tt.year), func(t *testing.T) {
			if got := c.Covers(tt.year); got != tt.want {
				t.Errorf("Covers(%d) = %v, want %v", tt.year, got, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name string
		t    time.Time
		want bool
	}{
		{"2026-12-31T16:00Z is 2027 in CST", time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC), false},
		{"2026-12-31T15:59Z is 2026 in CST", time.Date(2026, 12, 31, 15, 59, 0, 0, time.UTC), true},
		{"2023-12-31T16:00Z is 2024 in CST", time.Date(2023, 12, 31, 16, 0, 0, 0, time.UTC), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Covered(tt.t); got != tt.want {
				t.Errorf("Covered(%v) = %v, want %v", tt.t, got, tt.want)
			}
		})
	}
	if got, want := c.Years(), []int{2024, 2025, 2026}; !slices.Equal(got, want) {
		t.Errorf("Years() = %v, want %v", got, want)
	}
	for y, want := range map[int]string{
		2024: "国办发明电〔2023〕7号 (2023-10-25)",
		2025: "国办发明电〔2024〕12号 (2024-11-12)",
		2026: "国办发明电〔2025〕7号 (2025-11-04)",
		2027: "",
	} {
		if got := c.Source(y); got != want {
			t.Errorf("Source(%d) = %q, want %q", y, got, want)
		}
	}
}

func TestZeroCalendar(t *testing.T) {
	var c Calendar
	if c.IsWorkingDay(day(2025, 10, 1)) != true || c.IsWorkingDay(day(2025, 10, 4)) != false {
		t.Error("zero Calendar does not follow the weekend rule")
	}
	if got := c.AddWorkingDays(day(2025, 9, 30), 1); !got.Equal(day(2025, 10, 1)) {
		t.Errorf("zero Calendar AddWorkingDays = %v, want 2025-10-01", got)
	}
	if c.Covers(2025) || len(c.Years()) != 0 {
		t.Error("zero Calendar covers a year")
	}
}

func TestDefaultIsShared(t *testing.T) {
	a, b := Default(), Default()
	if a != b {
		t.Error("Default returned different calendars")
	}
}

// TestEmbeddedDataShape checks rules the data file must keep: every make-up
// working day is a weekend day.
func TestEmbeddedDataShape(t *testing.T) {
	c := Default()
	for n, e := range c.special {
		if e.work && !isWeekend(n) {
			t.Errorf("%s is listed as a make-up working day but is a %s", dateOf(n).Format(time.DateOnly), weekday(n))
		}
		if e.name == "" {
			t.Errorf("%s has no name", dateOf(n).Format(time.DateOnly))
		}
	}
}

func TestWeekdaysUpTo(t *testing.T) {
	// Check the closed form against counting, around and before the epoch.
	for _, a := range []int64{-800, -15, -1, 0, 3, 4, 10, 20000} {
		for span := int64(0); span < 30; span++ {
			want := int64(0)
			for n := a + 1; n <= a+span; n++ {
				if !isWeekend(n) {
					want++
				}
			}
			if got := weekdaysUpTo(a+span) - weekdaysUpTo(a); got != want {
				t.Errorf("weekdays in (%d, %d] = %d, want %d", a, a+span, got, want)
			}
		}
	}
	if weekday(0) != time.Thursday || weekday(-1) != time.Wednesday {
		t.Error("weekday numbering is off")
	}
}
