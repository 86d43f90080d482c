package rights

import (
	"time"

	"gigvault/internal/calendar"
)

// Deadlines counts a request's statutory period in PRC working days
// (DSR-2, DSR-3, DSR-5, DSR-6: 15 working days).
type Deadlines struct {
	Cal *calendar.Calendar
	// DueDays is the statutory period (default 15 working days).
	DueDays int
	// TargetDays is the platform's own, shorter target (0: the same as
	// DueDays); the queue shows both.
	TargetDays int
	// RemindDays: handlers are reminded this many working days before the
	// due date (default 3).
	RemindDays int
	// MaxExtensionDays bounds one extension (default 15 working days).
	MaxExtensionDays int
}

func (d Deadlines) withDefaults() Deadlines {
	if d.Cal == nil {
		d.Cal = calendar.Default()
	}
	if d.DueDays <= 0 {
		d.DueDays = 15
	}
	if d.TargetDays <= 0 || d.TargetDays > d.DueDays {
		d.TargetDays = d.DueDays
	}
	if d.RemindDays <= 0 {
		d.RemindDays = 3
	}
	if d.MaxExtensionDays <= 0 {
		d.MaxExtensionDays = 15
	}
	return d
}

// end returns the instant a period of n working days from t ends: 00:00
// CST after the n-th working day that follows t's date. A request is on
// time if completed before it.
func (d Deadlines) end(t time.Time, n int) time.Time {
	return d.Cal.AddWorkingDays(t, n).AddDate(0, 0, 1).UTC()
}

// Due is when a request received at t falls due.
func (d Deadlines) Due(received time.Time) time.Time { return d.end(received, d.DueDays) }

// Target is the platform's target for a request received at t.
func (d Deadlines) Target(received time.Time) time.Time { return d.end(received, d.TargetDays) }

// DueDate is the last day of the period ending at due, in CST (YYYY-MM-DD).
func DueDate(due time.Time) string {
	return due.In(calendar.CST).AddDate(0, 0, -1).Format(time.DateOnly)
}

// RemindAt is when handlers are reminded of a request due at due: the
// start (00:00 CST) of the working day RemindDays working days before the
// due date.
func (d Deadlines) RemindAt(due time.Time) time.Time {
	last := due.In(calendar.CST).AddDate(0, 0, -1)
	return d.Cal.AddWorkingDays(last, -d.RemindDays).UTC()
}

// Extend moves a due date by n more working days.
func (d Deadlines) Extend(due time.Time, n int) time.Time {
	last := due.In(calendar.CST).AddDate(0, 0, -1)
	return d.end(last, n)
}

// WorkingDaysLeft counts the working days from now to the due date: 0 on
// the due date itself, negative once overdue.
func (d Deadlines) WorkingDaysLeft(now, due time.Time) int {
	last := due.In(calendar.CST).AddDate(0, 0, -1)
	return d.Cal.WorkingDaysBetween(now, last)
}
