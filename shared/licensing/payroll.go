package licensing

import (
	"fmt"
	"time"
)

// PayrollCalendar says which Mondays are payroll Mondays: every
// IntervalDays days from Anchor (a Monday), in the agencies' time zone.
type PayrollCalendar struct {
	Anchor       Date
	IntervalDays int
	Location     *time.Location
}

// IsPayrollDay reports whether d is a payroll day.
func (c PayrollCalendar) IsPayrollDay(d Date) bool {
	if c.IntervalDays <= 0 {
		return false
	}
	n := c.Anchor.DaysUntil(d) % c.IntervalDays
	return n == 0
}

// Due decides what a run of the weekly timer at now should do: the payroll
// date to report and whether to run at all, with a sentence for the log.
// On time, it runs when today (in the calendar's zone) is a payroll Monday.
// Past due (the host missed the scheduled run), it runs for the Monday of
// this week when that was a payroll Monday, so a missed report is still
// produced; delivery records keep a late run from mailing twice.
func (c PayrollCalendar) Due(now time.Time, pastDue bool) (Date, bool, string) {
	today := DateOf(now, c.Location)
	back := (int(today.Time().Weekday()) + 6) % 7 // days since Monday
	monday := today.AddDays(-back)
	zone := "UTC"
	if c.Location != nil {
		zone = c.Location.String()
	}
	switch {
	case !pastDue && back != 0:
		return monday, false, fmt.Sprintf("skipped: %s is not a Monday in %s", today, zone)
	case !c.IsPayrollDay(monday):
		next := monday
		for i := 0; i < c.IntervalDays/7+1 && !c.IsPayrollDay(next); i++ {
			next = next.AddDays(7)
		}
		return monday, false, fmt.Sprintf("skipped: %s is not a payroll Monday (the next one is %s)", monday, next)
	case pastDue && back != 0:
		return monday, true, fmt.Sprintf("past due: producing the report of payroll Monday %s that the schedule missed", monday)
	}
	return monday, true, fmt.Sprintf("%s is a payroll Monday", monday)
}
