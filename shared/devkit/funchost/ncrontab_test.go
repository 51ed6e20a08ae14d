package funchost

import (
	"strings"
	"testing"
	"time"
)

func TestScheduleNext(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, expr, after, want string
	}{
		{"monday six", "0 0 6 * * Mon", "2026-11-18T12:00:00Z", "2026-11-23T06:00:00Z"},
		{"monday six, on a monday before six", "0 0 6 * * Mon", "2026-11-23T05:59:59Z", "2026-11-23T06:00:00Z"},
		{"monday six, exactly at six is not after", "0 0 6 * * Mon", "2026-11-23T06:00:00Z", "2026-11-30T06:00:00Z"},
		{"hourly", "0 0 * * * *", "2026-01-01T10:15:30Z", "2026-01-01T11:00:00Z"},
		{"hourly, sub-second after the hour", "0 0 * * * *", "2026-01-01T10:00:00.5Z", "2026-01-01T11:00:00Z"},
		{"first of month", "0 30 9 1 * *", "2026-01-31T10:00:00Z", "2026-02-01T09:30:00Z"},
		{"first of month, year end", "0 30 9 1 * *", "2026-12-01T09:30:00Z", "2027-01-01T09:30:00Z"},
		{"every five minutes", "0 */5 * * * *", "2026-03-03T03:03:03Z", "2026-03-03T03:05:00Z"},
		{"every 15 seconds", "*/15 * * * * *", "2026-03-03T03:03:46Z", "2026-03-03T03:04:00Z"},
		{"range and step", "0 0 8-18/2 * * *", "2026-03-03T09:00:00Z", "2026-03-03T10:00:00Z"},
		{"range and step past the end", "0 0 8-18/2 * * *", "2026-03-03T18:00:00Z", "2026-03-04T08:00:00Z"},
		{"start and step", "0 10/20 * * * *", "2026-03-03T03:31:00Z", "2026-03-03T03:50:00Z"},
		{"list", "0 0 9,17 * * *", "2026-03-03T09:00:00Z", "2026-03-03T17:00:00Z"},
		{"weekday range by name", "0 30 9 * * Mon-Fri", "2026-11-21T00:00:00Z", "2026-11-23T09:30:00Z"},
		{"month by name", "0 0 0 1 Jan *", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"full day name, lower case", "0 0 7 * * monday", "2026-11-24T00:00:00Z", "2026-11-30T07:00:00Z"},
		{"weekday number, sunday is 0", "0 0 0 * * 0", "2026-11-23T00:00:00Z", "2026-11-29T00:00:00Z"},
		{"day and weekday both apply (AND)", "0 0 0 13 * Fri", "2026-01-01T00:00:00Z", "2026-02-13T00:00:00Z"},
		{"leap day", "0 0 0 29 2 *", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z"},
		{"never", "0 0 0 31 Feb *", "2026-01-01T00:00:00Z", ""},
		{"non-UTC input is converted", "0 0 * * * *", "2026-01-01T10:15:00+02:00", "2026-01-01T09:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSchedule(tt.expr)
			if err != nil {
				t.Fatalf("ParseSchedule(%q): %v", tt.expr, err)
			}
			got := s.Next(at(tt.after))
			if tt.want == "" {
				if !got.IsZero() {
					t.Fatalf("Next = %s, want never (zero time)", got)
				}
				return
			}
			if want := at(tt.want); !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("%q.Next(%s) = %s, want %s (UTC)", tt.expr, tt.after, got, want)
			}
		})
	}
}

func TestParseScheduleErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"0 0 * * *", "want 6 fields"},
		{"0 0 0 * * * *", "want 6 fields"},
		{"60 * * * * *", "second field: 60 is outside 0-59"},
		{"0 60 * * * *", "minute field"},
		{"0 0 24 * * *", "hour field"},
		{"0 0 0 0 * *", "day field: 0 is outside 1-31"},
		{"0 0 0 * 13 *", "month field"},
		{"0 0 0 * * 7", "weekday field"},
		{"0 0 0 * * Funday", "is not a number or a name"},
		{"0 */0 * * * *", "step must be a positive number"},
		{"0 */x * * * *", "step must be a positive number"},
		{"0 0 18-8 * * *", "range runs backwards"},
		{"0 0 1,,2 * * *", "empty value"},
		{"", "want 6 fields"},
	}
	for _, tt := range tests {
		_, err := ParseSchedule(tt.expr)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSchedule(%q) = %v, want an error containing %q", tt.expr, err, tt.want)
		}
	}
}
