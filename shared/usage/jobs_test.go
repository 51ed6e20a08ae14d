package usage_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// TestPayrollRunRefusesOffCalendarDates: a payroll run for a date that is
// not a payroll Monday is refused, naming the payroll Mondays around it,
// before anything is read, recorded or mailed; forced, it reports that date.
func TestPayrollRunRefusesOffCalendarDates(t *testing.T) {
	f, _ := payrollFixture(t)
	ctx := context.Background()
	for _, date := range []licensing.Date{licensing.NewDate(2026, 11, 24), licensing.NewDate(2026, 11, 30), licensing.NewDate(2025, 12, 29)} {
		res, err := f.svc.PayrollRun(ctx, "cli", date, false, usage.PayrollOptions{}, nil)
		if licensing.ErrorCode(err) != licensing.Invalid || res.Run != "" || !strings.Contains(licensing.ErrorMessage(err), date.String()+" is not a payroll Monday") {
			t.Errorf("%s: %+v, %v; want Invalid, nothing run", date, res, err)
		}
	}
	if msg := licensing.ErrorMessage(errOf(f.svc.PayrollRun(ctx, "cli", licensing.NewDate(2025, 12, 29), false, usage.PayrollOptions{}, nil))); !strings.Contains(msg, "2025-12-22 and 2026-01-05") {
		t.Errorf("message %q does not name the payroll Mondays around the date", msg)
	}
	runs, _ := f.store.ListRuns(ctx, licensing.RunFilter{Function: "PayrollReport"})
	deliveries, _ := f.store.ListDeliveries(ctx, "payroll-2026-11-24")
	if len(runs) != 0 || len(deliveries) != 0 || len(f.dir.Reads) != 0 || f.mail.Sends != 0 {
		t.Fatalf("refused runs left runs %v, deliveries %v, directory reads %v, %d mails", runs, deliveries, f.dir.Reads, f.mail.Sends)
	}

	res, err := f.svc.PayrollRun(ctx, "cli", licensing.NewDate(2026, 11, 24), false, usage.PayrollOptions{Force: true}, nil)
	if err != nil || res.Run != "payroll-2026-11-24" || res.Mailed != 3 {
		t.Errorf("forced: %+v, %v; want the reports of 2026-11-24 mailed", res, err)
	}
	res, err = f.svc.PayrollRun(ctx, "cli", licensing.NewDate(2026, 11, 23), false, usage.PayrollOptions{}, nil)
	if err != nil || res.Run != "payroll-2026-11-23" {
		t.Errorf("a payroll Monday: %+v, %v", res, err)
	}
}

// errOf returns the error of a call's results.
func errOf[T any](_ T, err error) error { return err }
