package usage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// newSnapshotFixture is the sample tenant with the sample agencies and DOT,
// which attributes by group, at 06:00 on November 23, 2026.
func newSnapshotFixture(t *testing.T) *fixture {
	t.Helper()
	dot := licensing.Agency{ID: "DOT", Name: "Transportation", Contacts: []string{"x@dot.example.gov"}, Attribution: licensing.AttributionRule{Attribute: licensing.AttrGroup, GroupID: fakes.GroupDOT}}
	return newFixture(t, time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC), append(fakes.Agencies(), dot)...)
}

func (f *fixture) take(t *testing.T, opts usage.SnapshotOptions) (licensing.Snapshot, []licensing.Usage) {
	t.Helper()
	snap, err := f.svc.TakeSnapshot(context.Background(), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	counts, err := f.store.SnapshotUsage(context.Background(), snap.ID)
	if err != nil {
		t.Fatal(err)
	}
	return snap, counts
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
	f := newSnapshotFixture(t)
	snap, counts := f.take(t, usage.SnapshotOptions{})
	want := []licensing.Usage{
		{Agency: licensing.Conflicted, SkuID: fakes.SkuE3, Users: 1, Direct: 1, NeverSignedIn: 1},
		{Agency: licensing.Unattributed, SkuID: fakes.SkuE3, Users: 1, Direct: 1, NeverSignedIn: 1},
		{Agency: "DET", SkuID: fakes.SkuE3, Users: 1, Direct: 1, NeverSignedIn: 1},
		{Agency: "DOA", SkuID: fakes.SkuE3, Users: 2, Direct: 2, ByGroup: 1, Disabled: 1, NeverSignedIn: 1},
		{Agency: "DOA", SkuID: fakes.SkuVisio, Users: 1, ByGroup: 1, Errors: 1},
		{Agency: "DOT", SkuID: fakes.SkuVisio, Users: 1, Direct: 1, NeverSignedIn: 1},
	}
	if diff := cmp.Diff(want, counts); diff != "" {
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
	f := newSnapshotFixture(t)
	first, _ := f.take(t, usage.SnapshotOptions{})

	// Between runs: a partial change (only the department came), a license
	// added, a removal, a new user, and a user changed twice.
	f.dir.Change("u04", []string{"department"}, func(u *licensing.DirectoryUser) { u.Department = "Administration" })
	f.dir.Change("u03", []string{"assignedLicenses"}, func(u *licensing.DirectoryUser) {
		u.Licenses = []licensing.UserLicense{fakes.Lic(fakes.SkuE3, true), fakes.Lic(fakes.SkuVisio, true)}
	})
	f.dir.Remove("u01")
	f.dir.Change("u09", []string{"userPrincipalName", "accountEnabled", "assignedLicenses"}, func(u *licensing.DirectoryUser) {
		u.UserPrincipalName, u.AccountEnabled, u.Licenses = "new@det.example.gov", true, []licensing.UserLicense{fakes.Lic(fakes.SkuVisio, true)}
	})
	f.dir.Change("u04", []string{"accountEnabled"}, func(u *licensing.DirectoryUser) { u.AccountEnabled = false })

	second, incUsage := f.take(t, usage.SnapshotOptions{})
	if second.Full || second.Base != first.ID || second.Changes != 5 {
		t.Errorf("second snapshot = %+v, want incremental on %s with 5 changes", second, first.ID)
	}
	third, fullUsage := f.take(t, usage.SnapshotOptions{Full: true})
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
	if diff := cmp.Diff([]string{"full", "delta", "full"}, f.dir.Reads); diff != "" {
		t.Errorf("reads (-want +got):\n%s", diff)
	}
}

func TestAttributionRulesApplyToUnchangedUsers(t *testing.T) {
	f := newSnapshotFixture(t)
	f.take(t, usage.SnapshotOptions{})
	// DET now claims a department instead of a domain: nobody changed in
	// the directory, yet attribution must follow the new rule.
	det := licensing.Agency{ID: "DET", Name: "Enterprise Technology", Contacts: []string{"x@det.example.gov"}, Attribution: licensing.AttributionRule{Attribute: licensing.AttrDepartment, Values: []string{"Technology"}}}
	if _, _, err := f.agencies.PutAgency(context.Background(), admin, "DET", det, licensing.Precondition{}); err != nil {
		t.Fatal(err)
	}
	snap, _ := f.take(t, usage.SnapshotOptions{})
	if snap.Full {
		t.Fatal("want an incremental snapshot")
	}
	if u := f.users(t, snap)["u03"]; u.Agency != licensing.Unattributed {
		t.Errorf("u03 = %+v, want unattributed under the new rule", u.Attribution)
	}
}

func TestExpiredDeltaLinkFallsBackToFull(t *testing.T) {
	f := newSnapshotFixture(t)
	f.take(t, usage.SnapshotOptions{})
	f.dir.Expired = true
	snap, _ := f.take(t, usage.SnapshotOptions{})
	if !snap.Full || len(snap.Notes) == 0 {
		t.Errorf("snapshot = %+v, want a full read with a note", snap)
	}
	if diff := cmp.Diff([]string{"full", "full"}, f.dir.Reads); diff != "" {
		t.Errorf("reads (-want +got):\n%s", diff)
	}
}

func TestFailedSnapshotPublishesNothing(t *testing.T) {
	f := newSnapshotFixture(t)
	first, _ := f.take(t, usage.SnapshotOptions{})
	files := len(f.store.Files())
	for _, full := range []bool{false, true} {
		f.dir.Change("u04", []string{"department"}, func(u *licensing.DirectoryUser) { u.Department = "Administration" })
		f.dir.Change("u03", []string{"department"}, func(u *licensing.DirectoryUser) { u.Department = "x" })
		f.dir.Fail = licensing.Wrap("graph.readUsers", licensing.Unavailable, "", errors.New("503 storm"))
		_, err := f.svc.TakeSnapshot(context.Background(), usage.SnapshotOptions{Full: full}, nil)
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
	f := newSnapshotFixture(t)
	delete(f.dir.Members, fakes.GroupDOT)
	snap, counts := f.take(t, usage.SnapshotOptions{})
	if len(snap.Notes) == 0 {
		t.Error("no note about the missing group")
	}
	for _, u := range counts {
		if u.Agency == "DOT" {
			t.Errorf("DOT has usage without its group: %+v", u)
		}
	}
}
