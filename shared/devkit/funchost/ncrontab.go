package funchost

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed six-field NCRONTAB expression
// (second minute hour day month weekday), evaluated in UTC.
//
// As in NCrontab, which the Functions host uses, a time matches when every
// field matches: the day and weekday fields are combined with AND, not with
// the OR of classic cron.
type Schedule struct {
	expr                                    string
	second, minute, hour, day, month, wkday uint64
}

type cronField struct {
	name     string
	min, max int
	names    []string // names[i] is the name of value min+i
}

var cronFields = [6]cronField{
	{name: "second", min: 0, max: 59},
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{name: "weekday", min: 0, max: 6, names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

// fullNames lets "Monday" or "January" stand for "mon" or "jan".
var fullNames = map[string]string{
	"sunday": "sun", "monday": "mon", "tuesday": "tue", "wednesday": "wed", "thursday": "thu", "friday": "fri", "saturday": "sat",
	"january": "jan", "february": "feb", "march": "mar", "april": "apr", "june": "jun", "july": "jul",
	"august": "aug", "september": "sep", "october": "oct", "november": "nov", "december": "dec",
}

// ParseSchedule parses a six-field NCRONTAB expression. Each field accepts *,
// a value, a range a-b, a list separated by commas, and a step (*/n, a-b/n,
// a/n); months and weekdays also accept names (Jan, Mon, Monday).
func ParseSchedule(expr string) (*Schedule, error) {
	parts := strings.Fields(expr)
	if len(parts) != 6 {
		return nil, fmt.Errorf("schedule %q: want 6 fields (second minute hour day month weekday), got %d", expr, len(parts))
	}
	var sets [6]uint64
	for i, p := range parts {
		set, err := cronFields[i].parse(p)
		if err != nil {
			return nil, fmt.Errorf("schedule %q: %w", expr, err)
		}
		sets[i] = set
	}
	return &Schedule{
		expr:   strings.Join(parts, " "),
		second: sets[0], minute: sets[1], hour: sets[2], day: sets[3], month: sets[4], wkday: sets[5],
	}, nil
}

// String returns the expression the schedule was parsed from.
func (s *Schedule) String() string { return s.expr }

func (f cronField) parse(text string) (uint64, error) {
	var set uint64
	for _, item := range strings.Split(text, ",") {
		lo, hi, step := f.min, f.max, 1
		base := item
		if i := strings.IndexByte(item, '/'); i >= 0 {
			base = item[:i]
			n, err := strconv.Atoi(item[i+1:])
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("%s field %q: step must be a positive number", f.name, item)
			}
			step = n
		}
		switch {
		case base == "*":
		case base == "":
			return 0, fmt.Errorf("%s field %q: empty value", f.name, item)
		default:
			a, b, isRange := strings.Cut(base, "-")
			v, err := f.value(a)
			if err != nil {
				return 0, err
			}
			lo = v
			switch {
			case isRange:
				if hi, err = f.value(b); err != nil {
					return 0, err
				}
				if hi < lo {
					return 0, fmt.Errorf("%s field %q: range runs backwards", f.name, item)
				}
			case step == 1:
				hi = v // a single value; "a/n" keeps hi = max
			}
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << uint(v)
		}
	}
	return set, nil
}

func (f cronField) value(text string) (int, error) {
	if n, err := strconv.Atoi(text); err == nil {
		if n < f.min || n > f.max {
			return 0, fmt.Errorf("%s field: %d is outside %d-%d", f.name, n, f.min, f.max)
		}
		return n, nil
	}
	name := strings.ToLower(text)
	if full, ok := fullNames[name]; ok {
		name = full
	}
	for i, n := range f.names {
		if n == name {
			return f.min + i, nil
		}
	}
	return 0, fmt.Errorf("%s field: %q is not a number or a name", f.name, text)
}

// searchYears bounds Next: a schedule that matches nothing within this many
// years (say the 31st of February) is taken to match nothing at all. 28 years
// covers every combination of a date and a weekday in the Gregorian calendar.
const searchYears = 29

// Next returns the first time strictly after after that matches the
// schedule, in UTC and on a whole second, or the zero time if the schedule
// never matches.
func (s *Schedule) Next(after time.Time) time.Time {
	t := after.UTC().Truncate(time.Second).Add(time.Second)
	limit := t.AddDate(searchYears, 0, 0)
	for t.Before(limit) {
		switch {
		case !has(s.month, int(t.Month())):
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		case !has(s.day, t.Day()) || !has(s.wkday, int(t.Weekday())):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
		case !has(s.hour, t.Hour()):
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, time.UTC)
		case !has(s.minute, t.Minute()):
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute()+1, 0, 0, time.UTC)
		case !has(s.second, t.Second()):
			t = t.Add(time.Duration(nextBit(s.second, t.Second())-t.Second()) * time.Second)
		default:
			return t
		}
	}
	return time.Time{}
}

func has(set uint64, v int) bool { return set&(1<<uint(v)) != 0 }

// nextBit returns the smallest set member above v, or 60 (the next minute)
// when there is none.
func nextBit(set uint64, v int) int {
	rest := set >> uint(v+1) << uint(v+1)
	if rest == 0 {
		return 60
	}
	return bits.TrailingZeros64(rest)
}
