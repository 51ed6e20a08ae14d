package licensing

import (
	"context"
	"log/slog"
	"strings"
)

// PayrollRun runs the payroll report as a job and records the run. With
// date zero it decides from the calendar (the weekly timer: a run on a
// Monday that is not a payroll Monday is recorded as skipped); with a date
// it reports that date (an admin re-running a missed one).
func (s *Service) PayrollRun(ctx context.Context, trigger string, date Date, pastDue bool, opts PayrollOptions, log *slog.Logger) (ReportResult, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	run := s.StartRun(ctx, "PayrollReport", trigger, log)
	if date.IsZero() {
		d, due, why := s.cfg.Reporting.Calendar.Due(s.now(), pastDue)
		log.Info(why)
		if !due {
			run.Finish(ctx, nil, true, why)
			return ReportResult{Date: d}, nil
		}
		date = d
	}
	res, err := s.PayrollReport(ctx, date, opts, log)
	run.Add("agencies reported", res.Agencies)
	run.Add("files written", res.Written)
	run.Add("mails sent", res.Mailed)
	run.Add("already delivered", res.Skipped)
	run.Add("over-consuming agencies", res.Over)
	run.Add("unconfirmed", len(res.Unconfirmed))
	run.Finish(ctx, err, false, "payroll Monday "+date.String()+noteText(res.Notes))
	return res, err
}

// AuditRun runs the usage audit as a job and records the run.
func (s *Service) AuditRun(ctx context.Context, trigger string, log *slog.Logger) (AuditResult, error) {
	run := s.StartRun(ctx, "UsageAudit", trigger, log)
	res, err := s.UsageAudit(ctx, log)
	over := map[string]bool{}
	for _, o := range res.Over {
		over[o.Agency] = true
	}
	run.Add("over-consuming agencies", len(over))
	run.Add("over products", len(res.Over))
	run.Add("mails sent", res.Mailed)
	run.Finish(ctx, err, false, "")
	return res, err
}

func noteText(notes []string) string {
	if len(notes) == 0 {
		return ""
	}
	return "; " + strings.Join(notes, "; ")
}
