package licensing

import (
	"testing"
	"time"
)

func TestPayrollCalendar(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	cal := PayrollCalendar{Anchor: NewDate(2026, 1, 5), IntervalDays: 14, Location: chicago}
	utc := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }
	tests := []struct {
		name    string
		now     time.Time
		pastDue bool
		want    string
		run     bool
	}{
		{"anchor itself", utc(2026, 1, 5, 11), false, "2026-01-05", true},
		{"the off Monday", utc(2026, 1, 12, 11), false, "2026-01-12", false},
		{"two weeks on", utc(2026, 1, 19, 11), false, "2026-01-19", true},
		// 2026-03-08 is the spring DST change in Chicago: the 11:00 UTC run
		// is 06:00 CDT on Monday the 9th... and 2026-03-16 is a payroll Monday.
		{"Monday after spring DST", utc(2026, 3, 16, 11), false, "2026-03-16", true},
		{"Monday of spring DST week, off week", utc(2026, 3, 9, 11), false, "2026-03-09", false},
		// Early UTC on Monday is still Sunday in Chicago: not a run day.
		{"Monday 03:00 UTC is Sunday in Chicago", utc(2026, 3, 16, 3), false, "2026-03-09", false},
		// Fall DST ends on 2026-11-01; 2026-11-09 is a payroll Monday.
		{"after fall DST change", utc(2026, 11, 9, 11), false, "2026-11-09", true},
		{"today, a payroll Monday", utc(2026, 11, 23, 11), false, "2026-11-23", true},
		{"year boundary: last one of 2026", utc(2026, 12, 21, 11), false, "2026-12-21", true},
		{"year boundary: off week", utc(2026, 12, 28, 11), false, "2026-12-28", false},
		{"first one of 2027", utc(2027, 1, 4, 11), false, "2027-01-04", true},
		{"off week in 2027", utc(2027, 1, 11, 11), false, "2027-01-11", false},
		{"past due on Tuesday for a payroll Monday", utc(2026, 11, 24, 15), true, "2026-11-23", true},
		{"past due on Wednesday for an off Monday", utc(2026, 11, 18, 15), true, "2026-11-16", false},
		{"past due late in the week", utc(2026, 11, 27, 15), true, "2026-11-23", true},
		{"past due on Sunday night in Chicago, Monday in UTC", utc(2026, 11, 30, 3), true, "2026-11-23", true},
		{"on time but not a Monday", utc(2026, 11, 17, 11), false, "2026-11-16", false},
		{"before the anchor", utc(2025, 12, 22, 11), false, "2025-12-22", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, run, why := cal.Due(tt.now, tt.pastDue)
			if got.String() != tt.want || run != tt.run {
				t.Errorf("Due(%s, %v) = %s, %v (%s); want %s, %v", tt.now, tt.pastDue, got, run, why, tt.want, tt.run)
			}
			if why == "" {
				t.Error("no reason given")
			}
		})
	}
}
