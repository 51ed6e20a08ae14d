package usage

import (
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// mailTime writes t for a mail in the report's time zone, named, as the
// workbooks show it.
func (s *Service) mailTime(t time.Time) string {
	return licensing.MailTime(t, s.cfg.Reporting.Calendar.Location)
}
