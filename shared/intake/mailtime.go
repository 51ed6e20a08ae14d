package intake

import "github.com/shared-tenant/licensetrack/shared/licensing"

// movedAt is " on 2026-12-01 19:45 CST": when sr last moved into status,
// in the configured time zone, for a mail's sentence; "" when it never
// did.
func (s *Service) movedAt(sr licensing.ServiceRequest, status string) string {
	for i := len(sr.History) - 1; i >= 0; i-- {
		if h := sr.History[i]; h.To == status && h.From != status {
			return " on " + licensing.MailTime(h.At, s.cfg.Location)
		}
	}
	return ""
}
