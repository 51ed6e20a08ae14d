package usage_test

import (
	"context"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/usage"
)

// TestNextSplitReadCutsWhereTheLatestSnapshotSplits: a published snapshot
// records where its names split evenly, and the next split read's segments
// start there, so each holds about as many users.
func TestNextSplitReadCutsWhereTheLatestSnapshotSplits(t *testing.T) {
	f := newSplitFixture(t, 200, nil)
	ctx := context.Background()
	if _, err := f.svc.StartSnapshot(ctx, usage.StartOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	f.drain(t, 4)
	snap, _ := f.users(t)
	if len(snap.SegmentEnds) < 16 {
		t.Fatalf("snapshot recorded %d segment ends, want many", len(snap.SegmentEnds))
	}
	job, err := f.svc.StartSnapshot(ctx, usage.StartOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, segs, err := f.jobs.GetSnapJob(ctx, job.ID)
	if err != nil || len(segs) != 4 {
		t.Fatalf("segments %d, %v", len(segs), err)
	}
	ends := map[string]bool{}
	for _, e := range snap.SegmentEnds {
		ends[e] = true
	}
	for i, s := range segs[1:] {
		if !ends[s.Range.From] || segs[i].Range.To != s.Range.From {
			t.Errorf("segment %d starts at %q, not at an end the snapshot recorded (or not where %d ends: %q)", i+1, s.Range.From, i, segs[i].Range.To)
		}
	}
	f.drain(t, 4)
	_, users := f.users(t)
	wantSameUsers(t, f.dir, users)
}
