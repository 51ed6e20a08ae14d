package usage_test

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// splitFixture is a usage Service for split reads on memory stores and a
// fake directory of generated users.
type splitFixture struct {
	svc   *usage.Service
	store *memstore.Store
	jobs  licensing.SnapJobStore
	dir   *fakes.Directory
	queue *licensing.LocalQueue
	mu    sync.Mutex
	clock time.Time
	ids   int
}

func (f *splitFixture) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = f.clock.Add(time.Second)
	return f.clock
}

func (f *splitFixture) newID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids++
	return fmt.Sprintf("%08d", f.ids)
}

// splitUser is user n: names spread over the alphabet, every third one
// in DOA, each holding E3.
func splitUser(n int) licensing.DirectoryUser {
	first := string(rune('a' + n%26))
	u := licensing.DirectoryUser{ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", n, n), UserPrincipalName: fmt.Sprintf("%s%04d@example.gov", first, n),
		AccountEnabled: true, CreatedDateTime: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Licenses: []licensing.UserLicense{fakes.Lic(fakes.SkuE3, true)}}
	if n%3 == 0 {
		u.Department = "Administration"
	}
	return u
}

func newSplitFixture(t *testing.T, users int, jobs licensing.SnapJobStore) *splitFixture {
	t.Helper()
	f := &splitFixture{store: memstore.New(), queue: &licensing.LocalQueue{}, clock: time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)}
	f.dir = &fakes.Directory{Users: map[string]licensing.DirectoryUser{}, Members: map[string][]string{}, PageSize: 3,
		Skus: []licensing.TenantSku{{SkuID: fakes.SkuE3, PartNumber: "ENTERPRISEPACK", Enabled: 10000}}}
	for n := range users {
		u := splitUser(n)
		f.dir.Users[u.ID] = u
	}
	f.jobs = jobs
	if f.jobs == nil {
		f.jobs = f.store
	}
	auth := licensing.NewAuthorizer(f.store, []string{fakes.Admin}, false)
	admin := licensing.NewAgencyAdmin(f.store, auth, f.now)
	doa := licensing.Agency{ID: "DOA", Name: "Administration", Contacts: []string{"it@doa.example.gov"},
		Attribution: licensing.AttributionRule{Attribute: licensing.AttrDepartment, Values: []string{"Administration"}}}
	if err := fakes.PutAgencies(context.Background(), admin, doa); err != nil {
		t.Fatal(err)
	}
	f.svc = usage.NewService(usage.Config{
		Auth: auth, Runs: licensing.NewRuns(f.store, auth, f.now, f.newID), Agencies: f.store, Snapshots: f.store,
		Files: f.store, Sweeper: f.store, Directory: f.dir, Effects: licensing.NewEffects(f.store, f.now, 0), Work: f.queue, Catalog: fakes.BuiltinCatalog{},
		Split: usage.Split{Jobs: f.jobs, Segments: 4, PagesPerChunk: 1},
		Now:   f.now, NewID: f.newID,
	})
	return f
}

func (f *splitFixture) drain(t *testing.T, parallel int) {
	t.Helper()
	if err := f.svc.DrainLocal(context.Background(), f.queue, parallel, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("drain: %v", err)
	}
}

// users returns the latest snapshot's users by id, failing on a duplicate.
func (f *splitFixture) users(t *testing.T) (licensing.Snapshot, map[string]licensing.SnapshotUser) {
	t.Helper()
	ctx := context.Background()
	snap, err := f.svc.LatestSnapshot(ctx)
	if err != nil {
		t.Fatalf("LatestSnapshot: %v", err)
	}
	got := map[string]licensing.SnapshotUser{}
	err = f.svc.ReadSnapshotUsers(ctx, snap, func(u licensing.SnapshotUser) error {
		if _, dup := got[u.ID]; dup {
			t.Errorf("user %s (%s) is in the snapshot twice", u.ID, u.UserPrincipalName)
		}
		got[u.ID] = u
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap, got
}

func wantSameUsers(t *testing.T, dir *fakes.Directory, got map[string]licensing.SnapshotUser) {
	t.Helper()
	if len(got) != len(dir.Users) {
		t.Errorf("snapshot holds %d users, the directory %d", len(got), len(dir.Users))
	}
	for id, u := range dir.Users {
		if g, ok := got[id]; !ok || g.UserPrincipalName != u.UserPrincipalName {
			t.Errorf("user %s: snapshot has %q (present %v), directory %q", id, g.UserPrincipalName, ok, u.UserPrincipalName)
		}
	}
}

func TestSplitSnapshotHasEveryUserOnce(t *testing.T) {
	f := newSplitFixture(t, 60, nil)
	// A user whose name is a segment's shared end is read by both.
	edge := licensing.DirectoryUser{ID: "edge", UserPrincipalName: "i0", AccountEnabled: true}
	f.dir.Users[edge.ID] = edge
	ctx := context.Background()
	job, err := f.svc.StartSnapshot(ctx, usage.StartOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.LatestSnapshot(ctx); licensing.ErrorCode(err) != licensing.NotFound {
		t.Fatalf("a snapshot is published before the merge: %v", err)
	}
	f.drain(t, 4)
	snap, got := f.users(t)
	if snap.ID != job.ID || !snap.AgencyFiles {
		t.Errorf("published %s (agency files %v), want %s with agency files", snap.ID, snap.AgencyFiles, job.ID)
	}
	wantSameUsers(t, f.dir, got)
	if snap.Users != 61 || snap.AgencyUsers["DOA"] != 20 {
		t.Errorf("counts: users %d, DOA %d; want 61 and 20", snap.Users, snap.AgencyUsers["DOA"])
	}
	var doa int
	err = f.svc.ReadAgencyUsers(ctx, snap, "DOA", func(u licensing.SnapshotUser) error {
		if u.Agency != "DOA" {
			t.Errorf("%s in DOA's file is %s's", u.ID, u.Agency)
		}
		doa++
		return nil
	})
	if err != nil || doa != 20 {
		t.Errorf("ReadAgencyUsers(DOA) = %d users, %v; want 20", doa, err)
	}
	_, segs, err := f.jobs.GetSnapJob(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range segs {
		if !g.Done || (g.Users > 3 && g.Chunk < 2) {
			t.Errorf("segment %d: done %v after %d chunks; want done in several one-page chunks", g.Index, g.Done, g.Chunk)
		}
	}
	var parts []string
	f.store.ListFiles(ctx, "snapshots/"+job.ID+"/parts/", func(fi licensing.FileInfo) error { parts = append(parts, fi.Name); return nil })
	if len(parts) != 0 {
		t.Errorf("parts left after publishing: %v", parts)
	}
}

func TestSplitSnapshotSeesChangesDuringTheRead(t *testing.T) {
	f := newSplitFixture(t, 40, nil)
	// zeta is in the last segment; renamed into the first while the first
	// pages are read, before the last segment reaches it.
	zeta := licensing.DirectoryUser{ID: "zeta", UserPrincipalName: "zz-zeta@example.gov", AccountEnabled: true, Licenses: []licensing.UserLicense{fakes.Lic(fakes.SkuE3, true)}}
	f.dir.Users[zeta.ID] = zeta
	gone := splitUser(7)
	calls := 0
	f.dir.BeforePage = func(int) {
		// The second page read: segment 0 (no name of this tenant starts
		// with a digit) is done, the last segment has not reached zeta.
		if calls++; calls == 2 {
			f.dir.Change("zeta", []string{"userPrincipalName"}, func(u *licensing.DirectoryUser) { u.UserPrincipalName = "00-zeta@example.gov" })
			f.dir.Remove(gone.ID)
		}
	}
	if _, err := f.svc.StartSnapshot(context.Background(), usage.StartOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	// One piece at a time, in order: every segment's first page is read
	// before the last segment gets to zeta.
	f.drain(t, 1)
	_, got := f.users(t)
	wantSameUsers(t, f.dir, got)
	if u := got["zeta"]; u.UserPrincipalName != "00-zeta@example.gov" || !u.Licensed() {
		t.Errorf("renamed user = %+v, want its new name and its license", u)
	}
	if _, ok := got[gone.ID]; ok {
		t.Errorf("user %s deleted during the read is in the snapshot", gone.ID)
	}
}

// failingJobs fails the first checkpoint after the part was written.
type failingJobs struct {
	licensing.SnapJobStore
	mu    sync.Mutex
	fails int
}

func (j *failingJobs) UpdateSnapSegment(ctx context.Context, seg licensing.SnapSegment) (licensing.SnapSegment, error) {
	j.mu.Lock()
	fail := j.fails > 0 && seg.Chunk == 2
	if fail {
		j.fails--
	}
	j.mu.Unlock()
	if fail {
		return licensing.SnapSegment{}, licensing.Errorf("test", licensing.Unavailable, "checkpoint lost")
	}
	return j.SnapJobStore.UpdateSnapSegment(ctx, seg)
}

func TestSplitSnapshotResumesAfterALostCheckpoint(t *testing.T) {
	mem := memstore.New()
	jobs := &failingJobs{SnapJobStore: mem, fails: 1}
	f := newSplitFixture(t, 50, jobs)
	if _, err := f.svc.StartSnapshot(context.Background(), usage.StartOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	f.drain(t, 2)
	if jobs.fails != 0 {
		t.Fatal("no checkpoint failed")
	}
	_, got := f.users(t)
	wantSameUsers(t, f.dir, got)
}

func TestSplitSnapshotDuplicateMessages(t *testing.T) {
	f := newSplitFixture(t, 30, nil)
	ctx := context.Background()
	if _, err := f.svc.StartSnapshot(ctx, usage.StartOptions{Then: `{"kind":"test.next"}`}, nil); err != nil {
		t.Fatal(err)
	}
	// Every segment message twice, and handled at once.
	for _, m := range f.queue.Take() {
		f.queue.Send(ctx, m, 0)
		f.queue.Send(ctx, m, 0)
	}
	var mu sync.Mutex
	var thens int
	err := f.queue.Drain(ctx, 8, func(ctx context.Context, text string) error {
		if text == `{"kind":"test.next"}` {
			mu.Lock()
			thens++
			mu.Unlock()
			return nil
		}
		// Every merge message is handled twice at once.
		if len(text) > 0 && strings.Contains(text, ".merge") {
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range errs {
				wg.Add(1)
				go func() { defer wg.Done(); errs[i] = f.svc.HandleWork(ctx, text, false, nil) }()
			}
			wg.Wait()
			return firstErr(errs...)
		}
		return f.svc.HandleWork(ctx, text, false, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	_, got := f.users(t)
	wantSameUsers(t, f.dir, got)
	if thens != 1 {
		t.Errorf("continuation sent %d times, want once", thens)
	}
	snaps, _ := f.store.ListSnapshots(ctx, time.Time{}, time.Time{})
	if len(snaps) != 1 {
		t.Errorf("%d snapshots published, want 1", len(snaps))
	}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func TestSignInPassMergedIntoSnapshotByID(t *testing.T) {
	f := newSplitFixture(t, 30, nil)
	ctx := context.Background()
	signed := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	var ids []string
	for id := range f.dir.Users {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for i, id := range ids {
		if i%2 == 0 {
			u := f.dir.Users[id]
			t := signed.Add(time.Duration(i) * time.Hour)
			u.LastSignIn = &t
			f.dir.Users[id] = u
		}
	}
	pass, err := f.svc.StartSignInPass(ctx, usage.StartOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.drain(t, 4)
	// A user created after the pass has no sign-in in it.
	late := licensing.DirectoryUser{ID: "late", UserPrincipalName: "late@example.gov", AccountEnabled: true,
		CreatedDateTime: f.clock.Add(time.Hour), Licenses: []licensing.UserLicense{fakes.Lic(fakes.SkuE3, true)}}
	f.dir.Users[late.ID] = late
	if _, err := f.svc.StartSnapshot(ctx, usage.StartOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	f.drain(t, 4)
	snap, got := f.users(t)
	if !snap.SignInAvailable || snap.SignInPass != pass.ID || !snap.SignInAsOf.Equal(pass.Started) {
		t.Errorf("snapshot sign-in: available %v, pass %q as of %v; want pass %s as of %v", snap.SignInAvailable, snap.SignInPass, snap.SignInAsOf, pass.ID, pass.Started)
	}
	for i, id := range ids {
		u := got[id]
		if i%2 == 0 && (u.LastSignIn == nil || !u.LastSignIn.Equal(*f.dir.Users[id].LastSignIn)) {
			t.Errorf("user %s: sign-in %v, want %v", id, u.LastSignIn, f.dir.Users[id].LastSignIn)
		}
		if i%2 == 1 && u.LastSignIn != nil {
			t.Errorf("user %s never signed in, snapshot says %v", id, u.LastSignIn)
		}
	}
	if !got["late"].SignInUnknown {
		t.Error("a user created after the pass is not marked as unknown")
	}
	usageRows, _ := f.store.SnapshotUsage(ctx, snap.ID)
	never := 0
	for _, u := range usageRows {
		never += u.NeverSignedIn
	}
	if never != 15 {
		t.Errorf("never signed in = %d, want 15 (not the user created after the pass)", never)
	}
}

func TestSignInPassRefused(t *testing.T) {
	f := newSplitFixture(t, 10, nil)
	f.dir.NoSignIn = true
	ctx := context.Background()
	if _, err := f.svc.StartSignInPass(ctx, usage.StartOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	f.drain(t, 2)
	if _, err := f.svc.StartSnapshot(ctx, usage.StartOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	f.drain(t, 2)
	snap, _ := f.users(t)
	if snap.SignInAvailable || len(snap.Notes) == 0 || !strings.Contains(snap.Notes[len(snap.Notes)-1], "sign-in activity not available: ") {
		t.Errorf("snapshot of a refused pass: available %v, notes %q", snap.SignInAvailable, snap.Notes)
	}
}
