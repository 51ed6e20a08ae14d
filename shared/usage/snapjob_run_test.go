package usage_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

func TestSnapshotRunHereSplitsAFullRead(t *testing.T) {
	f := newSplitFixture(t, 90, nil)
	ctx := context.Background()
	var (
		mu      sync.Mutex
		seen    []usage.SnapProgress
		running []licensing.Run
	)
	progress := func(p usage.SnapProgress) {
		runs, _ := f.store.ListRuns(ctx, licensing.RunFilter{})
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, p)
		if len(runs) > 0 {
			running = append(running, runs[0])
		}
	}
	sum, err := f.svc.SnapshotRunHere(ctx, "cli", usage.SnapshotOptions{SignIn: true}, progress, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	snap, got := f.users(t)
	wantSameUsers(t, f.dir, got)
	if sum.Snapshot.ID != snap.ID || !snap.Full || snap.SignInPass == "" || !snap.SignInAvailable {
		t.Errorf("summary of %s (full %v, pass %q, sign-in %v); want the published %s, full, with a sign-in pass", sum.Snapshot.ID, snap.Full, snap.SignInPass, snap.SignInAvailable, snap.ID)
	}
	if len(seen) < 2 {
		t.Fatalf("progress reported %d times, want at least the pass's end and the snapshot's", len(seen))
	}
	if p := seen[len(seen)-1]; p.Job != snap.ID || !p.Published() || p.SegmentsDone != 4 || p.Segments != 4 || p.Users < 90 {
		t.Errorf("last progress = %+v (%s); want the snapshot's 4 of 4 segments and every user", p, p)
	}
	if r := running[len(running)-1]; r.Outcome != licensing.RunRunning || !strings.Contains(r.Message, "4 of 4 segments read") || r.Counts["snapshot segments read"] != 4 {
		t.Errorf("run record while running = %+v; want the progress in its message and counts", r)
	}
	runs, _ := f.store.ListRuns(ctx, licensing.RunFilter{})
	if len(runs) != 1 || runs[0].Outcome != licensing.RunSucceeded || runs[0].Counts["users"] != 90 {
		t.Errorf("run records = %+v; want one succeeded snapshot run of 90 users", runs)
	}

	// The next run follows the delta link: one invocation, the changes only.
	seen = nil
	sum, err = f.svc.SnapshotRunHere(ctx, "cli", usage.SnapshotOptions{}, progress, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Snapshot.Full || sum.Snapshot.Base != snap.ID || len(seen) != 0 {
		t.Errorf("second run: full %v on base %q with %d progress reports; want incremental on %s without split work", sum.Snapshot.Full, sum.Snapshot.Base, len(seen), snap.ID)
	}
}
