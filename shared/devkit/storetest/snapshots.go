package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// testSnapshotListing publishes snapshots out of order, some at the same
// moment as a bound, and lists them with open and closed bounds: [from, to),
// oldest first, each snapshot whole (AgencyUsers included, nil where it was
// not recorded), and never the latest pointer or the usage rows.
func testSnapshotListing(t *testing.T, s licensing.SnapshotStore) {
	ctx := context.Background()
	if got, err := s.ListSnapshots(ctx, time.Time{}, time.Time{}); err != nil || len(got) != 0 {
		t.Fatalf("ListSnapshots on an empty store = %d snapshots, %v; want none", len(got), err)
	}
	base := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	at := func(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }
	snap := func(minutes int, agencyUsers map[string]int) licensing.Snapshot {
		id := fmt.Sprintf("%sZ-%02d", at(minutes).Format("20060102T150405"), minutes)
		return licensing.Snapshot{ID: id, Taken: at(minutes), Full: minutes%2 == 0, UsersFile: "snapshots/" + id + "/users.jsonl.gz",
			Users: 100 + minutes, LicensedUsers: 80 + minutes, Agencies: len(agencyUsers), AgencyUsers: agencyUsers,
			Tenant: []licensing.TenantSku{{SkuID: "c5928f49-12ba-48f7-ada3-0d743a3601d5", PartNumber: "VISIOCLIENT", Enabled: 100, Consumed: 40 + minutes}}}
	}
	// Published out of order; the first was taken before AgencyUsers was
	// recorded.
	s0 := snap(0, nil)
	s10 := snap(10, map[string]int{"DOA": 41, "DET": 37, licensing.Unattributed: 2, licensing.Conflicted: 1})
	s20 := snap(20, map[string]int{"DOA": 45, "O'Brien & Co": 3})
	s30 := snap(30, map[string]int{"DOA": 44, "DET": 0})
	for _, sn := range []licensing.Snapshot{s20, s0, s30, s10} {
		usage := []licensing.Usage{{Agency: "DOA", SkuID: "c5928f49-12ba-48f7-ada3-0d743a3601d5", Users: sn.AgencyUsers["DOA"]}}
		if err := s.PublishSnapshot(ctx, sn, usage); err != nil {
			t.Fatalf("PublishSnapshot(%s): %v", sn.ID, err)
		}
	}
	all := []licensing.Snapshot{s0, s10, s20, s30}
	chicago := time.FixedZone("CST", -6*3600)
	tests := []struct {
		name     string
		from, to time.Time
		want     []licensing.Snapshot
	}{
		{"both bounds open", time.Time{}, time.Time{}, all},
		{"from is inclusive", at(10), time.Time{}, all[1:]},
		{"from just after a snapshot leaves it out", at(10).Add(time.Microsecond), time.Time{}, all[2:]},
		{"to is exclusive", time.Time{}, at(20), all[:2]},
		{"to just after a snapshot takes it in", time.Time{}, at(20).Add(time.Microsecond), all[:3]},
		{"closed range", at(10), at(30), all[1:3]},
		{"bounds in another time zone are the same instants", at(10).In(chicago), at(30).In(chicago), all[1:3]},
		{"from equal to to is empty", at(10), at(10), nil},
		{"from after to is empty", at(30), at(10), nil},
		{"before everything", time.Time{}, at(0), nil},
		{"after everything", at(31), time.Time{}, nil},
		{"range far wider than the snapshots", base.AddDate(-10, 0, 0), base.AddDate(10, 0, 0), all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListSnapshots(ctx, tt.from, tt.to)
			if err != nil {
				t.Fatalf("ListSnapshots(%v, %v): %v", tt.from, tt.to, err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ListSnapshots(%v, %v) (-want +got):\n%s", tt.from, tt.to, diff)
			}
		})
	}
	// The listing and a read by id agree, AgencyUsers included.
	for _, want := range all {
		got, err := s.GetSnapshot(ctx, want.ID)
		if err != nil {
			t.Fatalf("GetSnapshot(%s): %v", want.ID, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GetSnapshot(%s) (-want +got):\n%s", want.ID, diff)
		}
	}
	if l, err := s.LatestSnapshot(ctx); err != nil || l.ID != s30.ID {
		t.Errorf("LatestSnapshot = %s, %v; want %s", l.ID, err, s30.ID)
	}
}
