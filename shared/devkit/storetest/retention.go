package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// RetentionStore is what retention reads and deletes: snapshots and
// report deliveries.
type RetentionStore interface {
	licensing.SnapshotStore
	licensing.SnapshotPruner
	licensing.Deliveries
	licensing.DeliveryPruner
}

// TestRetentionStore runs the conformance tests of what retention deletes;
// newStore returns an empty store for each.
func TestRetentionStore(t *testing.T, newStore func(t *testing.T) RetentionStore) {
	t.Run("pruned snapshots keep their counts", func(t *testing.T) { testMarkPruned(t, newStore(t)) })
	t.Run("deleted snapshots are gone", func(t *testing.T) { testDeleteSnapshot(t, newStore(t)) })
	t.Run("deliveries of old runs", func(t *testing.T) { testDeleteDeliveries(t, newStore(t)) })
}

// retentionSnapshots publishes two snapshots with 230 usage rows each (more
// than one table transaction holds) and returns them, oldest first.
func retentionSnapshots(t *testing.T, s licensing.SnapshotStore) (licensing.Snapshot, licensing.Snapshot, []licensing.Usage) {
	t.Helper()
	var usage []licensing.Usage
	for i := range 230 {
		usage = append(usage, licensing.Usage{Agency: fmt.Sprintf("A%03d", i), SkuID: "c5928f49-12ba-48f7-ada3-0d743a3601d5", Users: i, Direct: i})
	}
	var snaps [2]licensing.Snapshot
	for i := range snaps {
		taken := base.Add(time.Duration(i) * time.Hour)
		id := fmt.Sprintf("%s-%08d", taken.Format("20060102T150405Z"), i)
		snaps[i] = licensing.Snapshot{ID: id, Taken: taken, Full: true, UsersFile: "snapshots/" + id + "/users.jsonl.gz",
			Users: 300 + i, LicensedUsers: 230 + i, Agencies: 230, AgencyUsers: map[string]int{"A001": 1, licensing.Unattributed: 4},
			Tenant: []licensing.TenantSku{{SkuID: "c5928f49-12ba-48f7-ada3-0d743a3601d5", PartNumber: "VISIOCLIENT", Enabled: 400, Consumed: 230}}}
		if err := s.PublishSnapshot(context.Background(), snaps[i], usage); err != nil {
			t.Fatalf("PublishSnapshot(%s): %v", id, err)
		}
	}
	return snaps[0], snaps[1], usage
}

// testMarkPruned marks a snapshot pruned: its summary, counts and usage
// rows read as before with the time set; marking again, or twice at once,
// keeps one time; an unknown snapshot is NotFound.
func testMarkPruned(t *testing.T, s RetentionStore) {
	ctx := context.Background()
	old, latest, usage := retentionSnapshots(t, s)
	at := base.Add(48 * time.Hour)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { errs[i] = s.MarkSnapshotPruned(ctx, old.ID, at.Add(time.Duration(i)*time.Millisecond)) })
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("MarkSnapshotPruned twice at once: %v", errs)
	}
	got, err := s.GetSnapshot(ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Pruned.Equal(at) && !got.Pruned.Equal(at.Add(time.Millisecond)) {
		t.Errorf("Pruned = %v, want %v or a millisecond later", got.Pruned, at)
	}
	first := got.Pruned
	if err := s.MarkSnapshotPruned(ctx, old.ID, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	want := old
	want.Pruned = first
	list, err := s.ListSnapshots(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]licensing.Snapshot{want, latest}, list); diff != "" {
		t.Errorf("after marking again, ListSnapshots (-want +got):\n%s", diff)
	}
	if u, err := s.SnapshotUsage(ctx, old.ID); err != nil || len(u) != len(usage) {
		t.Errorf("usage of the pruned snapshot: %d rows, %v; want %d", len(u), err, len(usage))
	}
	if l, err := s.LatestSnapshot(ctx); err != nil || l.ID != latest.ID || !l.Pruned.IsZero() {
		t.Errorf("LatestSnapshot = %s pruned %v, %v; want %s, not pruned", l.ID, l.Pruned, err, latest.ID)
	}
	if err := s.MarkSnapshotPruned(ctx, "20990101T000000Z-nope", at); licensing.ErrorCode(err) != licensing.NotFound {
		t.Errorf("MarkSnapshotPruned of an unknown snapshot: %v, want not-found", err)
	}
}

// testDeleteSnapshot deletes a snapshot twice at once, then again: its
// summary and usage rows are gone, the other snapshot and the latest
// pointer stay, and deleting what is not there is no error.
func testDeleteSnapshot(t *testing.T, s RetentionStore) {
	ctx := context.Background()
	old, latest, usage := retentionSnapshots(t, s)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { errs[i] = s.DeleteSnapshot(ctx, old.ID) })
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("DeleteSnapshot twice at once: %v", errs)
	}
	if err := s.DeleteSnapshot(ctx, old.ID); err != nil {
		t.Errorf("DeleteSnapshot again: %v", err)
	}
	if _, err := s.GetSnapshot(ctx, old.ID); licensing.ErrorCode(err) != licensing.NotFound {
		t.Errorf("GetSnapshot of the deleted snapshot: %v, want not-found", err)
	}
	if u, err := s.SnapshotUsage(ctx, old.ID); err != nil || len(u) != 0 {
		t.Errorf("usage of the deleted snapshot: %d rows, %v; want none", len(u), err)
	}
	if list, err := s.ListSnapshots(ctx, time.Time{}, time.Time{}); err != nil || len(list) != 1 || list[0].ID != latest.ID {
		t.Errorf("ListSnapshots after the deletion = %v, %v; want only %s", list, err, latest.ID)
	}
	if u, err := s.SnapshotUsage(ctx, latest.ID); err != nil || len(u) != len(usage) {
		t.Errorf("usage of the other snapshot: %d rows, %v; want %d", len(u), err, len(usage))
	}
	if l, err := s.LatestSnapshot(ctx); err != nil || l.ID != latest.ID {
		t.Errorf("LatestSnapshot = %s, %v; want %s", l.ID, err, latest.ID)
	}
	if err := s.DeleteSnapshot(ctx, "20990101T000000Z-nope"); err != nil {
		t.Errorf("DeleteSnapshot of an unknown snapshot: %v", err)
	}
}

// testDeleteDeliveries lists the runs with deliveries, in name order, and
// deletes deliveries one by one: a run without any left is no longer
// listed, and deleting what is not there is no error.
func testDeleteDeliveries(t *testing.T, s RetentionStore) {
	ctx := context.Background()
	if runs, err := s.ListDeliveryRuns(ctx); err != nil || len(runs) != 0 {
		t.Fatalf("ListDeliveryRuns of an empty store = %q, %v; want none", runs, err)
	}
	for _, d := range []licensing.Delivery{
		{Run: "payroll-2026-11-23", Key: "snapshot", State: "taken", File: "20261123T170000Z-00000001", At: base},
		{Run: "payroll-2026-11-23", Key: "DOA", State: licensing.DeliveryMailed, File: "reports/payroll/2026-11-23/DOA.xlsx", At: base},
		{Run: "audit-2026-11", Key: "central-it", State: licensing.DeliveryMailed, At: base},
		{Run: "payroll-2026-11-09", Key: "DOA", State: licensing.DeliveryWritten, At: base},
	} {
		if err := s.PutDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"audit-2026-11", "payroll-2026-11-09", "payroll-2026-11-23"}
	if runs, err := s.ListDeliveryRuns(ctx); err != nil || !cmp.Equal(want, runs) {
		t.Errorf("ListDeliveryRuns = %q, %v; want %q", runs, err, want)
	}
	for _, k := range [][2]string{{"payroll-2026-11-23", "DOA"}, {"payroll-2026-11-23", "DOA"}, {"payroll-2026-11-23", "DOT"}, {"payroll-2026-11-09", "DOA"}} {
		if err := s.DeleteDelivery(ctx, k[0], k[1]); err != nil {
			t.Errorf("DeleteDelivery(%s, %s): %v", k[0], k[1], err)
		}
	}
	if _, err := s.GetDelivery(ctx, "payroll-2026-11-23", "DOA"); licensing.ErrorCode(err) != licensing.NotFound {
		t.Errorf("GetDelivery of a deleted delivery: %v, want not-found", err)
	}
	want = []string{"audit-2026-11", "payroll-2026-11-23"}
	if runs, err := s.ListDeliveryRuns(ctx); err != nil || !cmp.Equal(want, runs) {
		t.Errorf("ListDeliveryRuns after the deletions = %q, %v; want %q", runs, err, want)
	}
}
