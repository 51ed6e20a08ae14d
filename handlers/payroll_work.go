package handlers

import (
	"context"
	"log/slog"
)

// payrollWork runs one piece of a payroll run from the work queue (kinds
// payroll.start and payroll.agency): the usage service plans the run, or
// delivers one agency's report and, after the last agency, the summary.
func (s *Server) payrollWork(ctx context.Context, p WorkPiece, log *slog.Logger) error {
	if p.Last {
		log.Warn("last try of the payroll piece before the poison queue", "attempt", p.Attempt)
	}
	return s.usage.HandleWork(ctx, p.Text, p.Last, log)
}
