package licensing

import "time"

// MailTime writes t for a mail's text as the wall clock in loc, with the
// zone's abbreviation ("2026-12-01 19:45 CST"), as the workbooks show
// times in the report's time zone; UTC when loc is nil.
func MailTime(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}
