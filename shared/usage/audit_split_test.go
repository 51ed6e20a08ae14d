package usage_test

import (
	"context"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// TestAuditOnARecentSnapshotReadsNoUser: where full snapshots are split
// work (a tenant too large for one invocation), the monthly audit reports
// on the latest snapshot when a payroll run published it lately, reading
// no user from the directory; on a snapshot older than that it reads the
// tenant as before.
func TestAuditOnARecentSnapshotReadsNoUser(t *testing.T) {
	for _, tc := range []struct {
		age   time.Duration
		reads int
	}{{3 * 24 * time.Hour, 0}, {20 * 24 * time.Hour, 1}} {
		f := newFixture(t, time.Date(2026, 11, 1, 14, 0, 0, 0, time.UTC), fakes.Agencies()...)
		f.split = true
		ctx := context.Background()
		if _, err := f.service(f.mail, nil).TakeSnapshot(ctx, usage.SnapshotOptions{}, nil); err != nil {
			t.Fatal(err)
		}
		f.clock = f.clock.Add(tc.age)
		before := len(f.dir.Reads)
		res, err := f.service(newCountingMail(f.mail), &textReports{}).UsageAudit(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(f.dir.Reads) - before; got != tc.reads || res.Snapshot == "" {
			t.Errorf("snapshot %s old: the audit read the directory %d times (%v) on snapshot %q, want %d", tc.age, got, f.dir.Reads[before:], res.Snapshot, tc.reads)
		}
	}
}
