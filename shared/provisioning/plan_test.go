package provisioning

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

const testSku = "c5928f49-12ba-48f7-ada3-0d743a3601d5"

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func member(id string, holds bool) licensing.GroupMember {
	m := licensing.GroupMember{ID: id, UserPrincipalName: id + "@doa.example.gov", UsageLocation: "US", AccountEnabled: true}
	if holds {
		m.Licenses = []licensing.UserLicense{{SkuID: testSku, Direct: true}}
	}
	return m
}

func input(cap int, members ...licensing.GroupMember) groupInput {
	free := 1000
	return groupInput{
		agency: "DOA", sku: licensing.TenantSku{SkuID: testSku, PartNumber: "VISIOCLIENT"}, groupID: "g1", cap: cap,
		members: members, known: map[string]licensing.SeatMember{}, grants: map[string]licensing.LicenseGrant{},
		now: t0, free: &free,
	}
}

// lines renders a plan as "kind user" lines, in order.
func lines(p groupPlan) string {
	var out []string
	for _, a := range p.actions {
		out = append(out, a.Kind+" "+a.UserID)
	}
	return strings.Join(out, ", ")
}

func grant(user string, since time.Time) licensing.LicenseGrant {
	return licensing.LicenseGrant{UserID: user, SkuID: testSku, Agency: "DOA", GroupID: "g1", State: licensing.GrantAssigned, Gen: 1, Since: since}
}

func TestPlanOrderIsFirstSeenThenUPN(t *testing.T) {
	in := input(2, member("carol", false), member("bob", false), member("alice", false), member("dave", false))
	in.known["dave"] = licensing.SeatMember{UserID: "dave", FirstSeen: t0.Add(-48 * time.Hour)}
	p := plan(in)
	if got, want := lines(p), "assign dave, assign alice, wait bob, wait carol"; got != want {
		t.Errorf("plan = %s; want %s", got, want)
	}
	// The same members read in another order plan the same.
	in2 := input(2, member("alice", false), member("dave", false), member("carol", false), member("bob", false))
	in2.known = in.known
	if got := lines(plan(in2)); got != lines(p) {
		t.Errorf("reordered read plans %s; want %s", got, lines(p))
	}
	for _, s := range p.seats {
		if s.UserID == "bob" && (s.State != licensing.SeatWaiting || !s.Since.Equal(t0)) {
			t.Errorf("bob = %+v; want waiting since %v", s, t0)
		}
	}
}

func TestPlanWaitingSinceIsKept(t *testing.T) {
	in := input(0, member("alice", false))
	in.known["alice"] = licensing.SeatMember{UserID: "alice", FirstSeen: t0.Add(-time.Hour), State: licensing.SeatWaiting, Since: t0.Add(-time.Hour)}
	in.now = t0.Add(time.Hour)
	p := plan(in)
	if s := p.seats[0]; !s.Since.Equal(t0.Add(-time.Hour)) || !s.FirstSeen.Equal(t0.Add(-time.Hour)) {
		t.Errorf("seat = %+v; want waiting and first seen since %v", s, t0.Add(-time.Hour))
	}
}

func TestPlanLicensedElsewhereIsNotCounted(t *testing.T) {
	in := input(1, member("alice", true), member("bob", false))
	in.known["alice"] = licensing.SeatMember{UserID: "alice", FirstSeen: t0.Add(-time.Hour)}
	// bob holds it under another agency's grant: elsewhere too.
	in.members = append(in.members, member("carol", true))
	in.grants["carol"] = licensing.LicenseGrant{UserID: "carol", Agency: "DET", State: licensing.GrantAssigned}
	p := plan(in)
	if got, want := lines(p), "elsewhere alice, assign bob, elsewhere carol"; got != want {
		t.Errorf("plan = %s; want %s", got, want)
	}
}

func TestPlanLoweredCapRemovesLastAssignedFirst(t *testing.T) {
	in := input(1, member("alice", true), member("bob", true), member("carol", true))
	in.grants["alice"] = grant("alice", t0.Add(-3*time.Hour))
	in.grants["bob"] = grant("bob", t0.Add(-1*time.Hour))
	in.grants["carol"] = grant("carol", t0.Add(-2*time.Hour))
	p := plan(in)
	if got, want := lines(p), "remove bob, remove carol"; got != want {
		t.Errorf("plan = %s; want %s", got, want)
	}
	if !strings.Contains(p.actions[0].Reason, "last in, first out") || strings.Contains(lines(p), "alice") {
		t.Errorf("reason = %q", p.actions[0].Reason)
	}
	in = input(0, member("alice", true))
	in.grants["alice"] = grant("alice", t0)
	if p := plan(in); len(p.actions) != 1 || !strings.Contains(p.actions[0].Reason, "no VISIOCLIENT licenses in force") {
		t.Errorf("cap 0 plan = %+v; want a removal because the purchases ended", p.actions)
	}
}

func TestPlanMemberWhoLeftIsRemovedAndFirstWaitingGetsTheSeat(t *testing.T) {
	in := input(1, member("bob", false))
	in.grants["alice"] = grant("alice", t0.Add(-time.Hour))
	in.known["alice"] = licensing.SeatMember{UserID: "alice", FirstSeen: t0.Add(-2 * time.Hour), State: licensing.SeatAssigned}
	in.known["bob"] = licensing.SeatMember{UserID: "bob", FirstSeen: t0.Add(-time.Hour), State: licensing.SeatWaiting}
	p := plan(in)
	if got, want := lines(p), "assign bob, remove alice"; got != want {
		t.Errorf("plan = %s; want %s", got, want)
	}
	if len(p.gone) != 1 || p.gone[0] != "alice" {
		t.Errorf("gone = %v; want [alice]", p.gone)
	}
}

func TestPlanTenantFreeUnitsAndUsageLocation(t *testing.T) {
	noLoc := member("bob", false)
	noLoc.UsageLocation = ""
	in := input(5, member("alice", false), noLoc, member("carol", false), member("dave", false))
	for i, id := range []string{"alice", "bob", "carol", "dave"} {
		in.known[id] = licensing.SeatMember{UserID: id, FirstSeen: t0.Add(time.Duration(i) * time.Minute)}
	}
	*in.free = 2
	p := plan(in)
	if got, want := lines(p), "assign alice, skip bob, assign carol, wait dave"; got != want {
		t.Errorf("plan = %s; want %s", got, want)
	}
	if !strings.Contains(p.actions[3].Reason, "no free VISIOCLIENT units") {
		t.Errorf("reason = %q", p.actions[3].Reason)
	}
	// With a default location, bob is licensed and his location set first.
	in.defaultLocation, *in.free = "US", 10
	p = plan(in)
	if p.actions[1].Kind != Assign || !p.actions[1].SetLocation {
		t.Errorf("bob = %+v; want an assignment that sets the usage location", p.actions[1])
	}
}

func TestPlanDirectoryErrorIsRecorded(t *testing.T) {
	m := member("alice", false)
	m.Licenses = []licensing.UserLicense{{SkuID: testSku, Groups: []string{"g9"}, Error: licensing.ReasonMutuallyExclusive}}
	p := plan(input(0, m))
	if s := p.seats[0]; s.Error != licensing.ReasonMutuallyExclusive {
		t.Errorf("seat = %+v; want the directory's error recorded", s)
	}
}

func TestPlanLargeGroupIsStable(t *testing.T) {
	var ms []licensing.GroupMember
	for i := range 500 {
		ms = append(ms, member(fmt.Sprintf("u%03d", i), false))
	}
	in := input(100, ms...)
	p := plan(in)
	var assigned int
	for _, a := range p.actions {
		if a.Kind == Assign {
			assigned++
		}
	}
	if assigned != 100 || *in.free != 900 {
		t.Errorf("assigned %d, free %d; want 100 and 900", assigned, *in.free)
	}
}

func TestPlanRecentRefusalHoldsNoSeat(t *testing.T) {
	in := input(1, member("alice", false), member("bob", false))
	in.known["alice"] = licensing.SeatMember{UserID: "alice", FirstSeen: t0.Add(-2 * time.Hour), State: licensing.SeatFailed,
		Since: t0.Add(-time.Hour), Error: licensing.ReasonMutuallyExclusive}
	in.known["bob"] = licensing.SeatMember{UserID: "bob", FirstSeen: t0.Add(-time.Hour)}
	p := plan(in)
	if got, want := lines(p), "skip alice, assign bob"; got != want {
		t.Errorf("plan = %s; want %s", got, want)
	}
	if s := p.seats[0]; s.State != licensing.SeatFailed || s.Error != licensing.ReasonMutuallyExclusive || !s.Since.Equal(t0.Add(-time.Hour)) {
		t.Errorf("alice = %+v; want the refusal kept as it was", s)
	}
	// A day after the refusal it is tried again.
	in = input(1, member("alice", false), member("bob", false))
	in.known["alice"] = licensing.SeatMember{UserID: "alice", FirstSeen: t0.Add(-48 * time.Hour), State: licensing.SeatFailed,
		Since: t0.Add(-25 * time.Hour), Error: licensing.ReasonMutuallyExclusive}
	if got, want := lines(plan(in)), "assign alice, wait bob"; got != want {
		t.Errorf("a day later plan = %s; want %s", got, want)
	}
}
