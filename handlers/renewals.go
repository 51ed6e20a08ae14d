package handlers

import (
	"context"
	"log/slog"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// renewalReminders is the daily reminder run: purchase lines before their
// term end, tenant subscriptions, and true-up windows.
func (s *Server) renewalReminders(ctx context.Context, _ *TimerInfo, log *slog.Logger) error {
	_, err := s.renewals.RemindersRun(ctx, "timer", licensing.Date{}, log)
	return err
}
