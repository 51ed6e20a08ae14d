package handlers

import (
	"context"
	"log/slog"
)

// provisionWork runs one agency's piece of a provisioning run from the work
// queue (kind provision.agency); on the last delivery a failure is recorded
// on the agency so that the run still ends.
func (s *Server) provisionWork(ctx context.Context, p WorkPiece, log *slog.Logger) error {
	if p.Last {
		log.Warn("last try of the provisioning piece before the poison queue", "attempt", p.Attempt)
	}
	return s.provisioning.HandleWork(ctx, p.Text, p.Last, log)
}
