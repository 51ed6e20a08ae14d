package usage

import (
	"context"
	"log/slog"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// provisioningOf reads where agency a's delegated groups stand, for the
// Provisioning sheet of its payroll workbook: nil when no reader is
// configured or a has no delegated groups. A failed read does not stop the
// report: it is logged, the workbook goes without the sheet, and note says
// so for the run's notes.
func (s *Service) provisioningOf(ctx context.Context, a licensing.Agency, log *slog.Logger) (state *licensing.ProvisioningState, note string) {
	if s.cfg.Provisioning == nil || len(a.DelegatedGroups) == 0 {
		return nil, ""
	}
	st, err := s.cfg.Provisioning.ProvisioningState(ctx, a.ID)
	if err != nil {
		log.Warn("provisioning state not read; the report goes without its Provisioning sheet", "agency", a.ID, "error", err)
		return nil, a.ID + ": the workbook has no Provisioning sheet, the delegated groups' state could not be read: " + licensing.ErrorMessage(err)
	}
	return &st, ""
}
