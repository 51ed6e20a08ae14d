package main

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// splitService is a usage service on the rig's Graph client, tables and
// blobs that reads full snapshots in that many segments, pagesPerChunk
// pages a chunk (0: the default, SNAPSHOT_PAGES_PER_CHUNK's).
func (r *snapshotRig) splitService(segments, pagesPerChunk int) *usage.Service {
	auth := licensing.NewAuthorizer(r.tables, []string{"admin@it.example.gov"}, false)
	return usage.NewService(usage.Config{
		Auth: auth, Runs: licensing.NewRuns(r.tables, auth, nil, nil), Agencies: r.tables, Snapshots: r.tables,
		Files: r.blobs, Sweeper: r.blobs, Directory: r.client, Catalog: fakes.BuiltinCatalog{},
		Split: usage.Split{Jobs: r.tables, Segments: segments, PagesPerChunk: pagesPerChunk},
	})
}

// TestSplitSnapshotAgainstGraphAndAzurite reads a tenant of a few hundred
// users in 99 segments through the Graph adapter ($filter on the user
// principal name, one page a chunk) into Azurite, while one user is renamed
// from the last segment into the first (already read) and another from an
// early segment into the last (read again): the snapshot holds exactly the
// tenant's users, each once, under their new names.
func TestSplitSnapshotAgainstGraphAndAzurite(t *testing.T) {
	r := newSnapshotRig(t, 300, time.Minute)
	var first, last graphfake.User
	r.tenant.EachUser(func(u graphfake.User) bool {
		if first.ID == "" || u.UserPrincipalName < first.UserPrincipalName {
			first = u
		}
		if u.UserPrincipalName > last.UserPrincipalName {
			last = u
		}
		return true
	})
	var renamed atomic.Bool
	r.server.BeforeUsersPage = func(n int) {
		// 60 pages in, 16 at a time: the segments of names starting with
		// "a" are read, the last segment is not.
		if n == 60 && !renamed.Swap(true) {
			r.tenant.UpdateUser(last.ID, func(u *graphfake.User) { u.UserPrincipalName = "00-moved-" + u.UserPrincipalName })
			r.tenant.UpdateUser(first.ID, func(u *graphfake.User) { u.UserPrincipalName = "zz-moved-" + u.UserPrincipalName })
		}
	}
	svc := r.splitService(99, 1)
	ctx := context.Background()
	var progress []usage.SnapProgress
	sum, err := svc.SnapshotRunHere(ctx, "test", usage.SnapshotOptions{Full: true}, func(p usage.SnapProgress) { progress = append(progress, p) }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if !renamed.Load() {
		t.Fatal("the users were not renamed during the read")
	}
	snap := sum.Snapshot
	want := map[string]string{}
	r.tenant.EachUser(func(u graphfake.User) bool { want[u.ID] = u.UserPrincipalName; return true })
	got := map[string]string{}
	err = svc.ReadSnapshotUsers(ctx, snap, func(u licensing.SnapshotUser) error {
		if _, dup := got[u.ID]; dup {
			t.Errorf("user %s (%s) is in the snapshot twice", u.ID, u.UserPrincipalName)
		}
		got[u.ID] = u.UserPrincipalName
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || snap.Users != len(want) {
		t.Errorf("snapshot holds %d users (counted %d), the tenant %d", len(got), snap.Users, len(want))
	}
	for id, name := range want {
		if got[id] != name {
			t.Errorf("user %s: snapshot has %q, tenant %q", id, got[id], name)
		}
	}
	if !strings.HasPrefix(got[last.ID], "00-moved-") || !strings.HasPrefix(got[first.ID], "zz-moved-") {
		t.Errorf("renamed users: %q and %q", got[last.ID], got[first.ID])
	}
	if !snap.Full || !snap.AgencyFiles || snap.DeltaLink == "" || snap.Changes < 2 {
		t.Errorf("snapshot: full %v, agency files %v, delta link %v, changes %d; want a full read with the changes merged and a delta link", snap.Full, snap.AgencyFiles, snap.DeltaLink != "", snap.Changes)
	}
	if p := progress[len(progress)-1]; !p.Published() || p.SegmentsDone != 99 {
		t.Errorf("last progress %s", p)
	}
	var parts []string
	r.blobs.ListFiles(ctx, "snapshots/"+snap.ID+"/parts/", func(f licensing.FileInfo) error { parts = append(parts, f.Name); return nil })
	if len(parts) != 0 {
		t.Errorf("%d parts left after the merge", len(parts))
	}
}
