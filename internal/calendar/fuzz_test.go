package calendar

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary bytes to Parse. It must never panic; a failure
// must be a *ParseError naming a line of the input; a success must give a
// calendar whose queries are consistent.
func FuzzParse(f *testing.F) {
	f.Add([]byte(data2027))
	f.Add([]byte("year 2025 x\n2025-10-01 off 国庆节\n2025-09-28 work 国庆节调休\n"))
	f.Add([]byte("2025-13-45 work\n"))
	f.Add([]byte("year 0000 y\n0000-01-01 work\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, mode := range []Mode{Replace, Merge} {
			c, err := Parse(bytes.NewReader(data), mode)
			if err != nil {
				if c != nil {
					t.Fatalf("%v: calendar and error both returned", mode)
				}
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("%v: error %v is not a *ParseError", mode, err)
				}
				if pe.Line < 1 || pe.Line > lines {
					t.Fatalf("%v: error at line %d of a %d-line input: %v", mode, pe.Line, lines, err)
				}
				continue
			}
			for _, y := range c.Years() {
				if !c.Covers(y) {
					t.Fatalf("%v: Years lists %d but Covers(%d) is false", mode, y, y)
				}
				if y < 1 || y > 9998 {
					continue // keep the date arithmetic below in range
				}
				start := time.Date(y, 1, 1, 0, 0, 0, 0, CST)
				end := time.Date(y, 12, 31, 0, 0, 0, 0, CST)
				n := c.WorkingDaysBetween(start.AddDate(0, 0, -1), end)
				if n < 0 || n > 366 {
					t.Fatalf("%v: %d working days in %d", mode, n, y)
				}
				if n > 0 {
					due := c.AddWorkingDays(start.AddDate(0, 0, -1), n)
					if got := c.WorkingDaysBetween(start.AddDate(0, 0, -1), due); got != n || !c.IsWorkingDay(due) || due.After(end) {
						t.Fatalf("%v: AddWorkingDays(%d-01-00, %d) = %v, inconsistent", mode, y, n, due)
					}
				}
			}
		}
	})
}
