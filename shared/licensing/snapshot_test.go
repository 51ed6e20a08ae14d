package licensing_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
)

const (
	skuE3    = "6fd2c87f-b296-42f0-b197-1e91e994b900"
	skuVisio = "c5928f49-12ba-48f7-ada3-0d743a3601d5"
	groupDOT = "aaaaaaaa-0000-0000-0000-000000000001"
)

// fakeDirectory is a small working directory: users, a change log for
// delta reads, group members and tenant SKUs.
type fakeDirectory struct {
	users   map[string]licensing.DirectoryUser
	members map[string][]string
	skus    []licensing.TenantSku
	changes []licensing.DirectoryUser
	round   int
	expired bool
	fail    error // returned after the first user of the next read
	reads   []string
}

func (d *fakeDirectory) SubscribedSkus(context.Context) ([]licensing.TenantSku, error) {
	return d.skus, nil
}
func (d *fakeDirectory) Subscriptions(context.Context) ([]licensing.TenantSubscription, error) {
	return nil, nil
}
func (d *fakeDirectory) GroupUserMembers(_ context.Context, g string, fn func(licensing.GroupMember) error) error {
	ids, ok := d.members[g]
	if !ok {
		return licensing.Errorf("fake", licensing.NotFound, "no group")
	}
	for _, id := range ids {
		if err := fn(licensing.GroupMember{ID: id}); err != nil {
			return err
		}
	}
	return nil
}

func (d *fakeDirectory) ReadUsers(_ context.Context, q licensing.UserQuery, fn func(licensing.DirectoryUser) error) (licensing.UserReadResult, error) {
	emit := func(list []licensing.DirectoryUser) error {
		for i, u := range list {
			if d.fail != nil && i == 1 {
				err := d.fail
				d.fail = nil
				return err
			}
			if err := fn(u); err != nil {
				return err
			}
		}
		return nil
	}
	res := licensing.UserReadResult{Requests: 1}
	if q.DeltaLink != "" && !(d.expired && !q.Strict) {
		if d.expired {
			return res, licensing.Errorf("fake", licensing.Stale, "expired")
		}
		if q.DeltaLink != fmt.Sprint("delta-", d.round) {
			return res, fmt.Errorf("unexpected link %s", q.DeltaLink)
		}
		d.reads = append(d.reads, "delta")
		if err := emit(d.changes); err != nil {
			return res, err
		}
		res.Users = len(d.changes)
	} else {
		d.reads = append(d.reads, "full")
		var ids []string
		for id := range d.users {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		var list []licensing.DirectoryUser
		for _, id := range ids {
			list = append(list, d.users[id])
		}
		if err := emit(list); err != nil {
			return res, err
		}
		res.Full, res.Users = true, len(list)
	}
	d.expired = false
	d.changes = nil
	d.round++
	res.DeltaLink = fmt.Sprint("delta-", d.round)
	return res, nil
}

// change records a change as Graph reports it: only the fields given.
func (d *fakeDirectory) change(id string, fields []string, edit func(u *licensing.DirectoryUser)) {
	u := d.users[id]
	u.ID = id
	edit(&u)
	d.users[id] = u
	upd := licensing.DirectoryUser{ID: id, Partial: true, Fields: fields}
	edit(&upd)
	d.changes = append(d.changes, upd)
}

func (d *fakeDirectory) remove(id string) {
	delete(d.users, id)
	d.changes = append(d.changes, licensing.DirectoryUser{ID: id, Removed: true})
}

func lic(sku string, direct bool, groups ...string) licensing.UserLicense {
	return licensing.UserLicense{SkuID: sku, Direct: direct, Groups: groups}
}

func newDirectory() *fakeDirectory {
	signed := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	users := []licensing.DirectoryUser{
		{ID: "u01", UserPrincipalName: "a@doa.example.gov", Department: "Administration", AccountEnabled: true, LastSignIn: &signed, Licenses: []licensing.UserLicense{lic(skuE3, true), lic(skuVisio, false, "g-visio")}},
		{ID: "u02", UserPrincipalName: "b@doa.example.gov", Department: " administration ", AccountEnabled: false, Licenses: []licensing.UserLicense{lic(skuE3, true, "g-e3")}},
		{ID: "u03", UserPrincipalName: "c@det.example.gov", AccountEnabled: true, Licenses: []licensing.UserLicense{lic(skuE3, true)}},
		{ID: "u04", UserPrincipalName: "d@nowhere.example.gov", AccountEnabled: true, Licenses: []licensing.UserLicense{lic(skuE3, true)}},
		{ID: "u05", UserPrincipalName: "e@det.example.gov", Department: "Administration", AccountEnabled: true, Licenses: []licensing.UserLicense{lic(skuE3, true)}},
		{ID: "u06", UserPrincipalName: "f@x.example.gov", AccountEnabled: true, Licenses: []licensing.UserLicense{lic(skuVisio, true)}},
		{ID: "u07", UserPrincipalName: "g@doa.example.gov", Department: "Administration", AccountEnabled: true, Licenses: []licensing.UserLicense{{SkuID: skuVisio, Direct: true, Error: "CountViolation"}}},
		{ID: "u08", UserPrincipalName: "h@doa.example.gov", Department: "Administration", AccountEnabled: true},
	}
	d := &fakeDirectory{users: map[string]licensing.DirectoryUser{}, members: map[string][]string{groupDOT: {"u06"}},
		skus: []licensing.TenantSku{{SkuID: skuVisio, PartNumber: "VISIOCLIENT", Enabled: 10, Consumed: 2}, {SkuID: skuE3, PartNumber: "ENTERPRISEPACK", Enabled: 100, Consumed: 5}}}
	for _, u := range users {
		d.users[u.ID] = u
	}
	return d
}

type fixture struct {
	svc   *licensing.Service
	dir   *fakeDirectory
	store *memstore.Store
	clock time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: newDirectory(), store: memstore.New(), clock: time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)}
	n := 0
	f.svc = licensing.NewService(licensing.ServiceConfig{
		Agencies: f.store, Runs: f.store, Snapshots: f.store, Files: f.store, Directory: f.dir,
		Admins: []string{"admin@it.example.gov"},
		Now:    func() time.Time { f.clock = f.clock.Add(time.Second); return f.clock },
		NewID:  func() string { n++; return fmt.Sprintf("%08d", n) },
	})
	admin := &licensing.Principal{Name: "admin@it.example.gov"}
	for _, a := range []licensing.Agency{
		{ID: "DOA", Name: "Administration", Contacts: []string{"x@doa.example.gov"}, Attribution: licensing.AttributionRule{Attribute: licensing.AttrDepartment, Values: []string{"Administration"}}},
		{ID: "DET", Name: "Enterprise Technology", Contacts: []string{"x@det.example.gov"}, Attribution: licensing.AttributionRule{Attribute: licensing.AttrUPNDomain, Values: []string{"det.example.gov"}}},
		{ID: "DOT", Name: "Transportation", Contacts: []string{"x@dot.example.gov"}, Attribution: licensing.AttributionRule{Attribute: licensing.AttrGroup, GroupID: groupDOT}},
	} {
		if _, _, err := f.svc.PutAgency(context.Background(), admin, a.ID, a, licensing.Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) take(t *testing.T, opts licensing.SnapshotOptions) (licensing.Snapshot, []licensing.Usage) {
	t.Helper()
	snap, err := f.svc.TakeSnapshot(context.Background(), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	usage, err := f.store.SnapshotUsage(context.Background(), snap.ID)
	if err != nil {
		t.Fatal(err)
	}
	return snap, usage
}

func (f *fixture) users(t *testing.T, snap licensing.Snapshot) map[string]licensing.SnapshotUser {
	t.Helper()
	out := map[string]licensing.SnapshotUser{}
	if err := f.svc.ReadSnapshotUsers(context.Background(), snap, func(u licensing.SnapshotUser) error {
		out[u.ID] = u
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFirstSnapshotIsFullAndCountsEveryPath(t *testing.T) {
	f := newFixture(t)
	snap, usage := f.take(t, licensing.SnapshotOptions{})
	want := []licensing.Usage{
		{Agency: licensing.Conflicted, SkuID: skuE3, Users: 1, Direct: 1, NeverSignedIn: 1},
		{Agency: licensing.Unattributed, SkuID: skuE3, Users: 1, Direct: 1, NeverSignedIn: 1},
		{Agency: "DET", SkuID: skuE3, Users: 1, Direct: 1, NeverSignedIn: 1},
		{Agency: "DOA", SkuID: skuE3, Users: 2, Direct: 2, ByGroup: 1, Disabled: 1, NeverSignedIn: 1},
		{Agency: "DOA", SkuID: skuVisio, Users: 1, ByGroup: 1, Errors: 1},
		{Agency: "DOT", SkuID: skuVisio, Users: 1, Direct: 1, NeverSignedIn: 1},
	}
	if diff := cmp.Diff(want, usage); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
	if !snap.Full || snap.Users != 8 || snap.LicensedUsers != 6 || snap.Unattributed != 1 || snap.Conflicts != 1 || snap.Agencies != 3 || snap.DeltaLink != "delta-1" {
		t.Errorf("snapshot = %+v", snap)
	}
	users := f.users(t, snap)
	if len(users) != 8 {
		t.Fatalf("stored %d users, want every user (8)", len(users))
	}
	if u := users["u05"]; u.Agency != licensing.Conflicted || len(u.Candidates) != 2 {
		t.Errorf("conflicting user = %+v", u.Attribution)
	}
	if u := users["u02"]; u.Agency != "DOA" || u.Matched != "department = administration" || u.AccountEnabled {
		t.Errorf("u02 = %+v", u)
	}
}

func TestIncrementalSnapshotMatchesAFullOne(t *testing.T) {
	f := newFixture(t)
	first, _ := f.take(t, licensing.SnapshotOptions{})

	// Between runs: a partial change (only the department came), a license
	// added, a removal, a new user, and a user changed twice.
	f.dir.change("u04", []string{"department"}, func(u *licensing.DirectoryUser) { u.Department = "Administration" })
	f.dir.change("u03", []string{"assignedLicenses"}, func(u *licensing.DirectoryUser) {
		u.Licenses = []licensing.UserLicense{lic(skuE3, true), lic(skuVisio, true)}
	})
	f.dir.remove("u01")
	f.dir.change("u09", []string{"userPrincipalName", "accountEnabled", "assignedLicenses"}, func(u *licensing.DirectoryUser) {
		u.UserPrincipalName, u.AccountEnabled, u.Licenses = "new@det.example.gov", true, []licensing.UserLicense{lic(skuVisio, true)}
	})
	f.dir.change("u04", []string{"accountEnabled"}, func(u *licensing.DirectoryUser) { u.AccountEnabled = false })

	second, incUsage := f.take(t, licensing.SnapshotOptions{})
	if second.Full || second.Base != first.ID || second.Changes != 5 {
		t.Errorf("second snapshot = %+v, want incremental on %s with 5 changes", second, first.ID)
	}
	third, fullUsage := f.take(t, licensing.SnapshotOptions{Full: true})
	if !third.Full {
		t.Fatal("third snapshot should be full")
	}
	if diff := cmp.Diff(fullUsage, incUsage); diff != "" {
		t.Errorf("incremental usage differs from a full read (-full +incremental):\n%s", diff)
	}
	inc, full := f.users(t, second), f.users(t, third)
	if diff := cmp.Diff(full, inc); diff != "" {
		t.Errorf("incremental users differ from a full read (-full +incremental):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"full", "delta", "full"}, f.dir.reads); diff != "" {
		t.Errorf("reads (-want +got):\n%s", diff)
	}
}

func TestAttributionRulesApplyToUnchangedUsers(t *testing.T) {
	f := newFixture(t)
	f.take(t, licensing.SnapshotOptions{})
	// DET now claims a department instead of a domain: nobody changed in
	// the directory, yet attribution must follow the new rule.
	admin := &licensing.Principal{Name: "admin@it.example.gov"}
	det := licensing.Agency{ID: "DET", Name: "Enterprise Technology", Contacts: []string{"x@det.example.gov"}, Attribution: licensing.AttributionRule{Attribute: licensing.AttrDepartment, Values: []string{"Technology"}}}
	if _, _, err := f.svc.PutAgency(context.Background(), admin, "DET", det, licensing.Precondition{}); err != nil {
		t.Fatal(err)
	}
	snap, _ := f.take(t, licensing.SnapshotOptions{})
	if snap.Full {
		t.Fatal("want an incremental snapshot")
	}
	if u := f.users(t, snap)["u03"]; u.Agency != licensing.Unattributed {
		t.Errorf("u03 = %+v, want unattributed under the new rule", u.Attribution)
	}
}

func TestExpiredDeltaLinkFallsBackToFull(t *testing.T) {
	f := newFixture(t)
	f.take(t, licensing.SnapshotOptions{})
	f.dir.expired = true
	snap, _ := f.take(t, licensing.SnapshotOptions{})
	if !snap.Full || len(snap.Notes) == 0 {
		t.Errorf("snapshot = %+v, want a full read with a note", snap)
	}
	if diff := cmp.Diff([]string{"full", "full"}, f.dir.reads); diff != "" {
		t.Errorf("reads (-want +got):\n%s", diff)
	}
}

func TestFailedSnapshotPublishesNothing(t *testing.T) {
	f := newFixture(t)
	first, _ := f.take(t, licensing.SnapshotOptions{})
	files := len(f.store.Files())
	for _, full := range []bool{false, true} {
		f.dir.change("u04", []string{"department"}, func(u *licensing.DirectoryUser) { u.Department = "Administration" })
		f.dir.change("u03", []string{"department"}, func(u *licensing.DirectoryUser) { u.Department = "x" })
		f.dir.fail = licensing.Wrap("graph.readUsers", licensing.Unavailable, "", errors.New("503 storm"))
		_, err := f.svc.TakeSnapshot(context.Background(), licensing.SnapshotOptions{Full: full}, nil)
		if licensing.ErrorCode(err) != licensing.Unavailable {
			t.Fatalf("full=%v: err = %v, want unavailable", full, err)
		}
		latest, err := f.store.LatestSnapshot(context.Background())
		if err != nil || latest.ID != first.ID {
			t.Errorf("full=%v: latest = %s, %v; want the first snapshot still", full, latest.ID, err)
		}
		if n := len(f.store.Files()); n != files {
			t.Errorf("full=%v: %d files, want %d: a failed run must leave no file", full, n, files)
		}
	}
}

func TestMissingGroupIsNotedNotFatal(t *testing.T) {
	f := newFixture(t)
	delete(f.dir.members, groupDOT)
	snap, usage := f.take(t, licensing.SnapshotOptions{})
	if len(snap.Notes) == 0 {
		t.Error("no note about the missing group")
	}
	for _, u := range usage {
		if u.Agency == "DOT" {
			t.Errorf("DOT has usage without its group: %+v", u)
		}
	}
}
