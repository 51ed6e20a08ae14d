package handlers

import (
	"context"
	"log/slog"

	"github.com/shared-tenant/licensetrack/shared/usage"
)

// retention is the daily Retention timer: old snapshots lose their files
// (their counts stay for the true-up), and old report runs their workbooks
// and delivery records (see usage.Service.Retain).
func (s *Server) retention(ctx context.Context, _ *TimerInfo, log *slog.Logger) error {
	_, err := s.usage.RetentionRun(ctx, "timer", usage.RetentionOptions{}, log)
	return err
}
