// Package calendar is the PRC working-day calendar used for statutory
// deadlines, such as answering a data-subject request within 15 working days.
//
// A day is a working day unless it is a Saturday or Sunday, with the
// exceptions published each year by the State Council General Office
// (国务院办公厅关于××××年部分节假日安排的通知): statutory public holidays that
// fall on weekdays are not working days, and make-up working days (调休上班)
// that fall on weekends are. The notices for 2024, 2025 and 2026 are embedded
// (see holidays.txt and [Default]); operators can add later years, or correct
// entries, with [LoadFile] or [Parse].
//
// # Time zones
//
// Every function that takes a [time.Time] first converts it to China Standard
// Time ([CST], UTC+8, no daylight saving) and then uses only the calendar date
// of the result. 2025-09-30T16:30:00Z is therefore 2025-10-01 in CST, a
// holiday, whatever the location of the value passed in. CST is a fixed zone,
// so the package needs no tzdata.
//
// # Uncovered years
//
// For a year without data ([Calendar.Covers] is false) the calendar falls
// back to the weekend rule alone, which is wrong on holidays and make-up days.
// Callers computing deadlines should check [Calendar.Covered] for both the
// start and the result and warn (or alert an operator) when either is false.
//
// A *Calendar is immutable once built and safe for concurrent use.
package calendar

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// CST is China Standard Time (UTC+8), the zone in which dates are taken.
// It is a fixed zone, equivalent to Asia/Shanghai since 1992.
var CST = time.FixedZone("CST", 8*3600)

// MaxWorkingDays bounds the magnitude of n accepted by
// [Calendar.AddWorkingDays]: about 3,800 years, far beyond any statutory
// period.
const MaxWorkingDays = 1_000_000

// Calendar tells working days from rest days. The zero Calendar knows only
// the weekend rule and covers no year; use [Default], [Parse] or [LoadFile]
// to get one with holiday data.
type Calendar struct {
	// special holds the listed dates, keyed by day number (days since
	// 1970-01-01).
	special map[int64]entry
	// adjDays lists, in ascending order, the listed dates whose status
	// differs from the weekend rule; adjPrefix[i] is the sum of the
	// adjustments (+1 for a working weekend day, -1 for a weekday off) of
	// adjDays[:i].
	adjDays   []int64
	adjPrefix []int
	// years maps each covered year to the source cited for it.
	years map[int]string
}

// entry is one listed date.
type entry struct {
	work bool
	name string
}

// dayNum returns the number of the CST calendar date of t, counted in days
// from 1970-01-01.
func dayNum(t time.Time) int64 {
	y, m, d := t.In(CST).Date()
	return civil(y, m, d)
}

// civil returns the day number of the date y-m-d.
func civil(y int, m time.Month, d int) int64 {
	// Midnight UTC is a whole multiple of a day, so the division is exact
	// for dates before 1970 too.
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// dateOf returns the start (00:00 CST) of the date numbered n.
func dateOf(n int64) time.Time {
	y, m, d := time.Unix(n*86400, 0).UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, CST)
}

// weekday returns the weekday of the date numbered n (1970-01-01 was a
// Thursday).
func weekday(n int64) time.Weekday {
	return time.Weekday(((n+4)%7 + 7) % 7)
}

func isWeekend(n int64) bool {
	wd := weekday(n)
	return wd == time.Saturday || wd == time.Sunday
}

// weekdaysUpTo returns a count of Monday–Friday dates that increases by one
// exactly at each weekday: weekdaysUpTo(b) - weekdaysUpTo(a) is the number
// of weekdays in (a, b].
func weekdaysUpTo(n int64) int64 {
	k := n - 4 // 1970-01-05, day 4, was a Monday
	q := k / 7
	r := k % 7
	if r < 0 {
		q--
		r += 7
	}
	return 5*q + min(r+1, 5)
}

func (c *Calendar) working(n int64) bool {
	if e, ok := c.special[n]; ok {
		return e.work
	}
	return !isWeekend(n)
}

// count returns the number of working days in (a, b]; a <= b.
func (c *Calendar) count(a, b int64) int64 {
	n := weekdaysUpTo(b) - weekdaysUpTo(a)
	i, _ := slices.BinarySearch(c.adjDays, a+1)
	j, _ := slices.BinarySearch(c.adjDays, b+1)
	if i < j {
		n += int64(c.adjPrefix[j] - c.adjPrefix[i])
	}
	return n
}

// IsWorkingDay reports whether the CST date of t is a working day: a Monday
// to Friday that is not a listed day off, or a listed make-up working day.
// t is converted to CST before its date is taken.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	return c.working(dayNum(t))
}

// AddWorkingDays returns the date that is n working days after the CST date
// of t, the day of t itself not counting: a request received on any day, at
// any hour, is due on the n-th working day that follows.
//
// The result is the start of the due date, 00:00 in [CST]. The period runs to
// the end of that day: a response is on time if made before
// result.AddDate(0, 0, 1).
//
// For n > 0 the result is always a working day and
// WorkingDaysBetween(t, result) == n. For n == 0 it is the start of t's own
// date, working day or not. For n < 0 it is the |n|-th working day before
// t's date. Outside the covered years only weekends are skipped; see
// [Calendar.Covered]. AddWorkingDays panics if |n| > [MaxWorkingDays].
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	if n > MaxWorkingDays || n < -MaxWorkingDays {
		panic(fmt.Sprintf("calendar: AddWorkingDays: n = %d out of range ±%d", n, MaxWorkingDays))
	}
	start := dayNum(t)
	switch {
	case n == 0:
		return dateOf(start)
	case n > 0:
		// The smallest d > start with count(start, d) >= n; count only
		// grows on working days, so d is one and the count is exactly n.
		want := int64(n)
		span := want*7/5 + 16
		for c.count(start, start+span) < want {
			span *= 2
		}
		off := sort.Search(int(span), func(i int) bool {
			return c.count(start, start+int64(i)+1) >= want
		})
		return dateOf(start + int64(off) + 1)
	default:
		// The largest d < start with working days in [d, start) >= |n|,
		// that is count(d-1, start-1) >= |n|.
		want := int64(-n)
		end := start - 1
		span := want*7/5 + 16
		for c.count(end-span, end) < want {
			span *= 2
		}
		// Search over i = end - d, ascending in i ⇔ descending in d.
		off := sort.Search(int(span), func(i int) bool {
			d := end - int64(i)
			return c.count(d-1, end) >= want
		})
		return dateOf(end - int64(off))
	}
}

// WorkingDaysBetween returns the number of working days among the CST dates
// in the half-open interval (a, b]: the date of a is excluded and the date of
// b included, so that WorkingDaysBetween(t, c.AddWorkingDays(t, n)) == n for
// every n >= 0. Both times are converted to CST before their dates are
// taken; times on the same date give 0. If b's date is before a's, the result
// is -WorkingDaysBetween(b, a).
func (c *Calendar) WorkingDaysBetween(a, b time.Time) int {
	da, db := dayNum(a), dayNum(b)
	if db >= da {
		return int(c.count(da, db))
	}
	return -int(c.count(db, da))
}

// Covers reports whether holiday data for year is loaded, that is whether
// the data declared the year (a "year" line) and so lists all of its
// holidays and make-up days.
func (c *Calendar) Covers(year int) bool {
	_, ok := c.years[year]
	return ok
}

// Covered reports whether holiday data is loaded for the year of t's CST
// date. When it is false, [Calendar.IsWorkingDay] and the counting functions
// fall back to the weekend rule for that date, and callers should warn.
func (c *Calendar) Covered(t time.Time) bool {
	return c.Covers(t.In(CST).Year())
}

// Years returns the covered years in ascending order.
func (c *Calendar) Years() []int {
	ys := make([]int, 0, len(c.years))
	for y := range c.years {
		ys = append(ys, y)
	}
	slices.Sort(ys)
	return ys
}

// Source returns the source cited for a covered year in its "year" line,
// such as "国办发明电〔2024〕12号 (2024-11-12)", or "" if the year is not
// covered.
func (c *Calendar) Source(year int) string {
	return c.years[year]
}
