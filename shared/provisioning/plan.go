package provisioning

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Kinds of planned actions.
const (
	// Assign: the member gets a license now.
	Assign = "assign"
	// Remove: the app takes back a license it assigned.
	Remove = "remove"
	// Wait: the member needs a license and waits for a seat.
	Wait = "wait"
	// Skip: the member cannot be licensed (no usage location).
	Skip = "skip"
	// Elsewhere: the member holds the SKU from somewhere else; untouched.
	Elsewhere = "elsewhere"
)

// retryRefusedAfter is how long a member whose license the directory
// refused (conflicting plans, a prohibited location) is passed over before
// it is tried again, so that the refusal neither repeats every hour nor
// holds a seat another member could use.
const retryRefusedAfter = 24 * time.Hour

// Action is one line of a plan: what happens to one member, and why.
type Action struct {
	Kind              string
	UserID            string
	UserPrincipalName string
	Reason            string
	// SetLocation is set on an Assign for a user without a usage location:
	// the default one is set first.
	SetLocation bool
	// Outcome says how an Assign or Remove went (empty in a dry run).
	Outcome string
}

// groupInput is what planning one delegated group needs.
type groupInput struct {
	agency  string
	sku     licensing.TenantSku
	groupID string
	cap     int
	// members are the group's transitive user members as just read.
	members []licensing.GroupMember
	// known are the members remembered from earlier runs, by user id.
	known map[string]licensing.SeatMember
	// grants are the app's grants of the SKU (all agencies), by user id.
	grants map[string]licensing.LicenseGrant
	// byAgency lists the keys of grants by the grant's agency, so that a
	// group looks only at its own agency's grants for members who left
	// (see grantsByAgency); nil: plan groups grants itself.
	byAgency map[string][]string
	now      time.Time
	// defaultLocation is DEFAULT_USAGE_LOCATION ("" when not set).
	defaultLocation string
	// free is what is left of the tenant's free units of the SKU, shared
	// by the groups of one run; planning takes from it.
	free *int
}

// groupPlan is the plan of one delegated group.
type groupPlan struct {
	actions []Action
	// seats is the members' new memory, in the stable order.
	seats []licensing.SeatMember
	// gone are remembered members no longer in the group.
	gone []string
	// index finds a member's place in seats by user id.
	index map[string]int
}

// ordered is a member with its place in the stable order.
type ordered struct {
	m    licensing.GroupMember
	seat licensing.SeatMember
}

// plan decides, for one group, who keeps, gets, waits for and loses a
// license:
//
//   - members are ordered by when the product first saw them in the group,
//     ties by user principal name (then id), so the order is the same on
//     every run; a member who leaves and comes back is seen anew;
//   - a member holding the SKU under a grant of this agency keeps it; one
//     holding it from anywhere else is licensed elsewhere: not counted, not
//     touched;
//   - when more members keep a seat than the cap allows, the most recently
//     assigned are removed first (last in, first out); a seat once given is
//     never taken for a member earlier in the order;
//   - the members who need a license get the free seats in order, while the
//     tenant has free units; the rest wait; a member the directory refused
//     within retryRefusedAfter, or without a usage location when there is
//     no default, is skipped and holds no seat;
//   - grants of this agency whose user left the group are removed.
func plan(in groupInput) groupPlan {
	part := in.sku.PartNumber
	list := make([]ordered, 0, len(in.members))
	present := make(map[string]bool, len(in.members))
	for _, m := range in.members {
		if present[m.ID] {
			continue
		}
		present[m.ID] = true
		seat, ok := in.known[m.ID]
		if !ok {
			seat = licensing.SeatMember{FirstSeen: in.now}
		}
		seat.Agency, seat.SkuID, seat.UserID = in.agency, in.sku.SkuID, m.ID
		seat.UserPrincipalName, seat.Disabled = m.UserPrincipalName, !m.AccountEnabled
		list = append(list, ordered{m: m, seat: seat})
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i].seat, list[j].seat
		if !a.FirstSeen.Equal(b.FirstSeen) {
			return a.FirstSeen.Before(b.FirstSeen)
		}
		if ua, ub := strings.ToLower(a.UserPrincipalName), strings.ToLower(b.UserPrincipalName); ua != ub {
			return ua < ub
		}
		return a.UserID < b.UserID
	})

	var p groupPlan
	// acts holds each member's line, so the plan reads in member order.
	acts := make([]*Action, len(list))
	var kept, needs []int
	for i := range list {
		o := &list[i]
		g, hasGrant := in.grants[o.m.ID]
		owned := hasGrant && g.Owned(in.agency)
		switch holds := licensing.Holds(o.m.Licenses, in.sku.SkuID); {
		case holds && owned:
			kept = append(kept, i)
		case holds:
			o.seat.State, o.seat.Since, o.seat.Error = licensing.SeatElsewhere, time.Time{}, ""
			acts[i] = &Action{Kind: Elsewhere, UserID: o.m.ID, UserPrincipalName: o.m.UserPrincipalName, Reason: "holds the SKU from elsewhere; not counted, not touched"}
		default:
			needs = append(needs, i)
		}
	}

	// Removals: beyond the cap, last assigned first.
	removed := map[int]string{}
	if over := len(kept) - in.cap; over > 0 {
		byRecent := append([]int(nil), kept...)
		sort.SliceStable(byRecent, func(a, b int) bool {
			sa, sb := in.grants[list[byRecent[a]].m.ID].Since, in.grants[list[byRecent[b]].m.ID].Since
			if !sa.Equal(sb) {
				return sa.After(sb)
			}
			return byRecent[a] > byRecent[b]
		})
		why := fmt.Sprintf("beyond the agency's %d %s seats (last in, first out)", in.cap, part)
		if in.cap == 0 {
			why = "the agency holds no " + part + " licenses in force (its purchases ended, grace included)"
		}
		for _, i := range byRecent[:over] {
			removed[i] = why
		}
	}
	var removals int
	for _, i := range kept {
		o := &list[i]
		if why, ok := removed[i]; ok {
			removals++
			acts[i] = &Action{Kind: Remove, UserID: o.m.ID, UserPrincipalName: o.m.UserPrincipalName, Reason: why}
			o.seat.State, o.seat.Since, o.seat.Error = licensing.SeatWaiting, in.now, ""
			continue
		}
		o.seat.State, o.seat.Since, o.seat.Error = licensing.SeatAssigned, in.grants[o.m.ID].Since, ""
	}
	// Grants of this agency whose user left the group.
	var left []licensing.LicenseGrant
	byAgency := in.byAgency
	if byAgency == nil {
		byAgency = grantsByAgency(in.grants)
	}
	for _, id := range byAgency[in.agency] {
		if g := in.grants[id]; !present[id] && g.Owned(in.agency) {
			left = append(left, g)
		}
	}
	sort.Slice(left, func(i, j int) bool { return left[i].UserID < left[j].UserID })
	removals += len(left)
	// Removed licenses return to the tenant before the assignments are
	// made (removals are sent first).
	*in.free += removals

	seats := in.cap - (len(kept) - len(removed))
	for _, i := range needs {
		o := &list[i]
		a := Action{UserID: o.m.ID, UserPrincipalName: o.m.UserPrincipalName}
		switch {
		case o.seat.State == licensing.SeatFailed && o.seat.Error != licensing.ReasonUsageLocation && in.now.Before(o.seat.Since.Add(retryRefusedAfter)):
			a.Kind, a.Reason = Skip, fmt.Sprintf("the directory refused the license (%s) at %s; tried again after %s unless fixed sooner",
				o.seat.Error, since(o.seat.Since), since(o.seat.Since.Add(retryRefusedAfter)))
		case seats <= 0:
			a.Kind, a.Reason = Wait, fmt.Sprintf("all %d %s seats of the agency are taken", in.cap, part)
		case o.m.UsageLocation == "" && in.defaultLocation == "":
			a.Kind, a.Reason = Skip, "has no usage location and no default is configured (DEFAULT_USAGE_LOCATION)"
		case *in.free <= 0:
			a.Kind, a.Reason = Wait, "the tenant has no free "+part+" units"
		default:
			a.Kind, a.Reason = Assign, fmt.Sprintf("seat %d of %d", in.cap-seats+1, in.cap)
			a.SetLocation = o.m.UsageLocation == ""
			if a.SetLocation {
				a.Reason += ", usage location set to " + in.defaultLocation
			}
			seats--
			*in.free--
		}
		switch a.Kind {
		case Assign:
			o.seat.State, o.seat.Since, o.seat.Error = licensing.SeatAssigned, in.now, ""
		case Skip:
			if o.seat.State != licensing.SeatFailed {
				o.seat.Since, o.seat.Error = in.now, licensing.ReasonUsageLocation
			}
			o.seat.State = licensing.SeatFailed
		default:
			if o.seat.State != licensing.SeatWaiting || o.seat.Since.IsZero() {
				o.seat.Since = in.now
			}
			o.seat.State, o.seat.Error = licensing.SeatWaiting, ""
		}
		if o.seat.Error == "" {
			o.seat.Error = licensing.LicenseErrorOf(o.m.Licenses, in.sku.SkuID)
		}
		acts[i] = &a
	}
	for _, a := range acts {
		if a != nil {
			p.actions = append(p.actions, *a)
		}
	}
	for _, g := range left {
		p.actions = append(p.actions, Action{Kind: Remove, UserID: g.UserID, UserPrincipalName: g.UserPrincipalName, Reason: "left the group"})
	}
	p.index = make(map[string]int, len(list))
	for i, o := range list {
		p.seats = append(p.seats, o.seat)
		p.index[o.m.ID] = i
	}
	for id := range in.known {
		if !present[id] {
			p.gone = append(p.gone, id)
		}
	}
	sort.Strings(p.gone)
	return p
}

// grantsByAgency lists the user ids of grants by the agency each grant
// names. Planning reads it once per SKU instead of going through every
// agency's grants for each group.
func grantsByAgency(grants map[string]licensing.LicenseGrant) map[string][]string {
	out := map[string][]string{}
	for id, g := range grants {
		out[g.Agency] = append(out[g.Agency], id)
	}
	return out
}
