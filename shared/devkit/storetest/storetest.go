// Package storetest is the conformance suite of the domain's stores: every
// implementation of licensing.AgencyStore and licensing.RunStore (the
// in-memory one and the Table Storage one) runs the same tests, so that they
// cannot drift apart.
package storetest

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// base is a fixed time with millisecond precision, which every store keeps.
var base = time.Date(2026, 11, 23, 6, 30, 0, 123_000_000, time.UTC)

// Agency returns a valid agency with id and a name that says n.
func Agency(id string, n int) licensing.Agency {
	return licensing.Agency{
		ID:        id,
		Name:      fmt.Sprintf("Department of %s, version %d", id, n),
		Contacts:  []string{"licensing@" + lower(id) + ".example.gov"},
		Delegates: []string{"pat.doe@" + lower(id) + ".example.gov"},
		Attribution: licensing.AttributionRule{
			Attribute: licensing.AttrDepartment,
			Values:    []string{id, "Dept " + id},
		},
		DelegatedGroups: []licensing.DelegatedGroup{{Product: "VISIOCLIENT", GroupID: "6f1d2c3b-4a59-4e7f-8a1b-2c3d4e5f6a7b"}},
		Updated:         base.Add(time.Duration(n) * time.Minute),
		UpdatedBy:       "admin@example.gov",
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// agencyOpts compares agencies without their ETag (checked on its own) and
// without telling nil from empty lists.
var agencyOpts = cmp.Options{cmpopts.IgnoreFields(licensing.Agency{}, "ETag"), cmpopts.EquateEmpty()}

// TestAgencyStore runs the agency conformance tests; newStore returns an
// empty store for each.
func TestAgencyStore(t *testing.T, newStore func(t *testing.T) licensing.AgencyStore) {
	replacement := Agency("DOA", 2)
	replacement.Delegates = nil
	tests := preconditionCases(versioned[licensing.AgencyStore, licensing.Agency]{
		what:        "agency",
		record:      Agency,
		main:        "DOA",
		keys:        []string{"WSU-ITS", "DOA", "DET", "A_1", "Z9"},
		replacement: replacement,
		key:         func(a licensing.Agency) string { return a.ID },
		etag:        func(a licensing.Agency) string { return a.ETag },
		opts:        agencyOpts,
		put:         licensing.AgencyStore.PutAgency,
		get:         licensing.AgencyStore.GetAgency,
		list:        licensing.AgencyStore.ListAgencies,
	})
	tests = append(tests, []agencyCase{
		{"hostile strings survive", func(t *testing.T, ctx context.Context, s licensing.AgencyStore) {
			want := Agency("O-BRIEN", 1)
			want.Name = `O'Brien "Quoted" Agency #1 / Ünïcödé 🚀 <b>&amp;</b> ''`
			want.Attribution.Values = []string{`it's`, `a''b`, `x' or RowKey ne 'y`, "日本語", `back\slash`}
			want.UpdatedBy = `o'brien@example.gov`
			put(t, ctx, s, want, licensing.Precondition{})
			if diff := cmp.Diff(want, get(t, ctx, s, "O-BRIEN"), agencyOpts); diff != "" {
				t.Errorf("GetAgency (-want +got):\n%s", diff)
			}
			list, err := s.ListAgencies(ctx)
			if err != nil {
				t.Fatalf("ListAgencies: %v", err)
			}
			if diff := cmp.Diff([]licensing.Agency{want}, list, agencyOpts); diff != "" {
				t.Errorf("ListAgencies (-want +got):\n%s", diff)
			}
		}},
		{"cancelled context is unavailable", func(t *testing.T, ctx context.Context, s licensing.AgencyStore) {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err := s.GetAgency(ctx, "DOA")
			wantCode(t, "GetAgency with a cancelled context", err, licensing.Unavailable)
			_, _, err = s.PutAgency(ctx, Agency("DOA", 1), licensing.Precondition{})
			wantCode(t, "PutAgency with a cancelled context", err, licensing.Unavailable)
		}},
	}...)
	tests = append(tests, claimCases()...)
	runCases(t, tests, newStore)
}

func put(t *testing.T, ctx context.Context, s licensing.AgencyStore, a licensing.Agency, pre licensing.Precondition) (licensing.Agency, bool) {
	t.Helper()
	stored, created, err := s.PutAgency(ctx, a, pre)
	if err != nil {
		t.Fatalf("PutAgency(%s, %+v): %v", a.ID, pre, err)
	}
	return stored, created
}

func get(t *testing.T, ctx context.Context, s licensing.AgencyStore, id string) licensing.Agency {
	t.Helper()
	a, err := s.GetAgency(ctx, id)
	if err != nil {
		t.Fatalf("GetAgency(%s): %v", id, err)
	}
	return a
}

// unchanged checks that the stored agency is still want, ETag included.
func unchanged(t *testing.T, ctx context.Context, s licensing.AgencyStore, want licensing.Agency) {
	t.Helper()
	got := get(t, ctx, s, want.ID)
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("stored agency changed by a refused write (-want +got):\n%s", diff)
	}
}

func wantCode(t *testing.T, what string, err error, want licensing.Code) {
	t.Helper()
	if got := licensing.ErrorCode(err); got != want {
		t.Errorf("%s: code %q (%v), want %q", what, got, err, want)
	}
}

// Run returns a run record of function started at base plus minutes.
func Run(id, function string, minutes int) licensing.Run {
	return licensing.Run{
		ID:       id,
		Function: function,
		Trigger:  "timer",
		Started:  base.Add(time.Duration(minutes) * time.Minute),
		Outcome:  licensing.RunRunning,
		Counts:   map[string]int{},
	}
}

// TestRunStore runs the run-record conformance tests; newStore returns an
// empty store for each.
func TestRunStore(t *testing.T, newStore func(t *testing.T) licensing.RunStore) {
	ended := base.Add(90 * time.Minute)
	finished := Run("r2", "PayrollReport", 2)
	finished.Ended = &ended
	finished.Outcome = licensing.RunSucceeded
	finished.Message = `sent 12 reports; "it's" done`
	finished.Counts = map[string]int{"agencies": 12, "mails": 13}

	runs := []licensing.Run{
		Run("r1", "PayrollReport", 1),
		Run("r3", "UsageAudit", 3),
		Run("r4", "It's \"quoted\"", 4),
		Run("r0", "UsageAudit", 0),
		finished,
		Run("r5b", "ProvisionGroups", 5),
		Run("r5a", "ProvisionGroups", 5),
	}
	ids := func(rs []licensing.Run) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	tests := []struct {
		name    string
		filter  licensing.RunFilter
		wantIDs []string
	}{
		{"all, newest first, ties by id", licensing.RunFilter{}, []string{"r5a", "r5b", "r4", "r3", "r2", "r1", "r0"}},
		{"limit", licensing.RunFilter{Limit: 3}, []string{"r5a", "r5b", "r4"}},
		{"limit above count", licensing.RunFilter{Limit: 100}, []string{"r5a", "r5b", "r4", "r3", "r2", "r1", "r0"}},
		{"function", licensing.RunFilter{Function: "UsageAudit"}, []string{"r3", "r0"}},
		{"function with quotes", licensing.RunFilter{Function: "It's \"quoted\""}, []string{"r4"}},
		{"function that would break an unescaped filter", licensing.RunFilter{Function: "x' or Function ne 'x"}, nil},
		{"unknown function", licensing.RunFilter{Function: "Nope"}, nil},
		{"since is inclusive", licensing.RunFilter{Since: base.Add(3 * time.Minute)}, []string{"r5a", "r5b", "r4", "r3"}},
		{"since just after a start", licensing.RunFilter{Since: base.Add(3*time.Minute + time.Nanosecond)}, []string{"r5a", "r5b", "r4"}},
		{"since before everything", licensing.RunFilter{Since: base.Add(-time.Hour)}, []string{"r5a", "r5b", "r4", "r3", "r2", "r1", "r0"}},
		{"since after everything", licensing.RunFilter{Since: base.Add(time.Hour)}, nil},
		{"function, since and limit", licensing.RunFilter{Function: "ProvisionGroups", Since: base, Limit: 1}, []string{"r5a"}},
	}

	t.Run("listing", func(t *testing.T) {
		ctx := context.Background()
		s := newStore(t)
		got, err := s.ListRuns(ctx, licensing.RunFilter{})
		if err != nil || len(got) != 0 {
			t.Fatalf("ListRuns on an empty store = %v, %v; want nothing", ids(got), err)
		}
		for _, r := range runs {
			if err := s.PutRun(ctx, r); err != nil {
				t.Fatalf("PutRun(%s): %v", r.ID, err)
			}
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.ListRuns(ctx, tt.filter)
				if err != nil {
					t.Fatalf("ListRuns(%+v): %v", tt.filter, err)
				}
				if diff := cmp.Diff(tt.wantIDs, ids(got), cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("ListRuns(%+v) ids (-want +got):\n%s", tt.filter, diff)
				}
			})
		}
	})

	t.Run("records round trip and a rewrite replaces", func(t *testing.T) {
		ctx := context.Background()
		s := newStore(t)
		started := Run("r2", "PayrollReport", 2)
		if err := s.PutRun(ctx, started); err != nil {
			t.Fatalf("PutRun(started): %v", err)
		}
		if err := s.PutRun(ctx, finished); err != nil {
			t.Fatalf("PutRun(finished): %v", err)
		}
		got, err := s.ListRuns(ctx, licensing.RunFilter{})
		if err != nil {
			t.Fatalf("ListRuns: %v", err)
		}
		if diff := cmp.Diff([]licensing.Run{finished}, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ListRuns after two writes of one run (-want +got):\n%s", diff)
		}
	})
}

// TestSnapshotStore checks the snapshot semantics every implementation must
// share: nothing before the first publish, the newest published snapshot is
// the latest, an older one published late does not replace it, usage comes
// back complete (more than one transaction's worth) and in order, and the
// listing by time (see testSnapshotListing) on a store of its own.
func TestSnapshotStore(t *testing.T, newStore func(t *testing.T) licensing.SnapshotStore) {
	t.Run("listing by time", func(t *testing.T) { testSnapshotListing(t, newStore(t)) })
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.LatestSnapshot(ctx); licensing.ErrorCode(err) != licensing.NotFound {
		t.Fatalf("LatestSnapshot on an empty store: %v, want not-found", err)
	}
	if _, err := s.GetSnapshot(ctx, "nope"); licensing.ErrorCode(err) != licensing.NotFound {
		t.Errorf("GetSnapshot of an unknown id: %v, want not-found", err)
	}
	base := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	snap := func(id string, minutes int) licensing.Snapshot {
		return licensing.Snapshot{ID: id, Taken: base.Add(time.Duration(minutes) * time.Minute), Full: true, UsersFile: "snapshots/" + id + "/users.jsonl.gz",
			DeltaLink: "https://graph.example/v1.0/users/delta()?$deltatoken=" + id, Users: 10, LicensedUsers: 7, Agencies: 2, Unattributed: 1, Conflicts: 1,
			Notes: []string{"O'Brien's note, with a quote"}, Tenant: []licensing.TenantSku{{SkuID: "c5928f49-12ba-48f7-ada3-0d743a3601d5", PartNumber: "VISIOCLIENT", Enabled: 100, Consumed: 42}}}
	}
	var usage []licensing.Usage
	for i := 0; i < 230; i++ {
		usage = append(usage, licensing.Usage{Agency: fmt.Sprintf("A%03d", i), SkuID: "c5928f49-12ba-48f7-ada3-0d743a3601d5", Users: i, Direct: i / 2, ByGroup: i - i/2, Disabled: 1})
	}
	usage = append(usage, licensing.Usage{Agency: licensing.Unattributed, SkuID: "6fd2c87f-b296-42f0-b197-1e91e994b900", Users: 3, Errors: 1},
		licensing.Usage{Agency: licensing.Conflicted, SkuID: "6fd2c87f-b296-42f0-b197-1e91e994b900", Users: 2})
	sort.Slice(usage, func(i, j int) bool {
		if usage[i].Agency != usage[j].Agency {
			return usage[i].Agency < usage[j].Agency
		}
		return usage[i].SkuID < usage[j].SkuID
	})

	second, first := snap("20261123T061000Z-b", 10), snap("20261123T060000Z-a", 0)
	if err := s.PublishSnapshot(ctx, second, usage); err != nil {
		t.Fatal(err)
	}
	// An older snapshot finishing late is stored, but is not the latest.
	if err := s.PublishSnapshot(ctx, first, usage[:1]); err != nil {
		t.Fatal(err)
	}
	latest, err := s.LatestSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(second, latest); diff != "" {
		t.Errorf("latest (-want +got):\n%s", diff)
	}
	got, err := s.SnapshotUsage(ctx, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(usage, got); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
	if old, err := s.GetSnapshot(ctx, first.ID); err != nil || old.ID != first.ID {
		t.Errorf("GetSnapshot(first) = %v, %v", old.ID, err)
	}
	// Publishing the same snapshot again changes nothing.
	if err := s.PublishSnapshot(ctx, second, usage); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.SnapshotUsage(ctx, second.ID); len(again) != len(usage) {
		t.Errorf("republished usage has %d rows, want %d", len(again), len(usage))
	}
	third := snap("20261123T062000Z-c", 20)
	if err := s.PublishSnapshot(ctx, third, nil); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.LatestSnapshot(ctx); l.ID != third.ID {
		t.Errorf("latest = %s, want %s", l.ID, third.ID)
	}
}
