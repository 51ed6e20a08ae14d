package handlers

import (
	"context"
	"log/slog"
)

// snapshotWork runs one piece of a split read from the work queue (kinds
// snapshot.* and signin.*): a chunk of a segment, the check that re-sends
// lost messages, or the merge that publishes the snapshot or sign-in pass.
func (s *Server) snapshotWork(ctx context.Context, p WorkPiece, log *slog.Logger) error {
	if p.Last {
		log.Warn("last try of the split read's piece before the poison queue; the job's check sends it again if it fails", "attempt", p.Attempt)
	}
	return s.usage.HandleWork(ctx, p.Text, p.Last, log)
}

// signInPass is the daily SignInPass timer: it starts a sign-in pass as
// split work when the latest is older than SIGNIN_PASS_DAYS.
func (s *Server) signInPass(ctx context.Context, _ *TimerInfo, log *slog.Logger) error {
	_, err := s.usage.SignInPassCheck(ctx, "timer", log)
	return err
}
