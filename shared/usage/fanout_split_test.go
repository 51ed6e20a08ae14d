package usage_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// TestPayrollStartedTwiceReadsTheTenantOnce: a payroll run whose snapshot
// is read as split work, started again (a past-due timer, an admin) while
// that snapshot is still being read, waits for it instead of reading the
// tenant a second time; once the pieces run, every report is mailed once.
func TestPayrollStartedTwiceReadsTheTenantOnce(t *testing.T) {
	f := newFixture(t, time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC), fakes.Agencies()...)
	f.split = true
	m := newCountingMail(f.mail)
	q := &licensing.LocalQueue{}
	svc := f.service(m, &textReports{}).WithWork(q)
	ctx := context.Background()
	for range 2 {
		if _, err := svc.PayrollRun(ctx, "timer", payrollDate, false, usage.PayrollOptions{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	texts, kinds := pieces(t, q)
	segments := 0
	for _, k := range kinds {
		if k == usage.KindSnapshotSegment {
			segments++
		}
	}
	if segments != 2 {
		t.Fatalf("two starts sent %q: want one snapshot's two segments", kinds)
	}
	// The pieces run in this process, which sees them all through: a
	// check, due later on a real queue, would come at once here and send
	// every segment again.
	if strings.Contains(strings.Join(kinds, ","), "snapshot.check") {
		t.Errorf("a run in this process sent the job's check: %q", kinds)
	}
	for _, text := range texts {
		if err := q.Send(ctx, text, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.DrainLocal(ctx, q, 2, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{payrollRun + ".DET", payrollRun + ".DOA", summaryMail} {
		if n := m.count(id); n != 1 {
			t.Errorf("%s mailed %d times, want once", id, n)
		}
	}
	snaps, err := f.store.ListSnapshots(ctx, time.Time{}, time.Time{})
	if err != nil || len(snaps) != 1 {
		t.Errorf("snapshots published: %d (%v), want 1", len(snaps), err)
	}
	if strings.Count(strings.Join(kinds, ","), usage.KindPayrollStart) != 0 {
		t.Errorf("the start piece went before the snapshot was published: %q", kinds)
	}
}
