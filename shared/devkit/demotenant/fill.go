package demotenant

import (
	"fmt"
	"time"

	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
)

// Stats counts what a pass over the generated users found.
type Stats struct {
	Users        int
	Unattributed int
	Conflicts    int
	Disabled     int
	// DisabledLicensed are disabled users still holding a license.
	DisabledLicensed int
	NeverSignedIn    int
	NoUsageLocation  int
	CountViolations  int
	// Consumed counts active assignments per SKU id.
	Consumed map[string]int
}

// delegatedMembers is how many users each delegated group lists.
const delegatedMembers = 25

// Fill makes t the generated tenant: its users (generated on demand), groups,
// a device in a group, subscribed SKUs and subscriptions. It walks every
// user once to count usage, which sets the agencies' Used and Purchases (see
// Agencies): every agency bought a little more than it uses, except
// OverAgency, which uses more Office 365 E3 than it bought. The tenant's
// prepaid units are the agencies' purchases plus a few untracked ones.
func (g *Generator) Fill(t *graphfake.Tenant) Stats {
	st := g.walk()
	t.SetSource(g)
	for _, a := range g.agencies {
		if a.LicenseGroupID != "" {
			t.PutGroup(graphfake.Group{ID: a.LicenseGroupID, DisplayName: a.ID + " Office 365 E3 users"})
		}
	}
	// The first delegated group also holds a device and a nested group, as
	// real groups do.
	if len(g.agencies[0].DelegatedGroups) > 0 {
		var nestedMembers []string
		if g.opts.Users > 0 {
			nestedMembers = append(nestedMembers, g.UserID(g.opts.Users-1))
		}
		t.PutDevice(graphfake.Device{ID: g.kioskID(), DisplayName: "DOA-KIOSK-01"})
		t.PutGroup(graphfake.Group{ID: g.nestedGroupID(), DisplayName: "DOA Visio contractors", Members: nestedMembers})
	}
	for _, dg := range g.DelegatedGroups() {
		t.PutGroup(dg)
	}
	for _, s := range SKUs() {
		bought := 0
		for _, a := range g.agencies {
			for _, p := range a.Purchases {
				if p.SKU == s {
					bought += p.Quantity
				}
			}
		}
		enabled := max(bought, st.Consumed[s.ID]) + 10
		sku := graphfake.Sku{SkuID: s.ID, PartNumber: s.PartNumber, Enabled: enabled}
		if s == PowerBIPro {
			sku.Warning = 5
		}
		t.PutSku(sku)
		next := time.Date(g.opts.Now.Year(), 6, 30, 0, 0, 0, 0, time.UTC)
		if !next.After(g.opts.Now) {
			next = next.AddDate(1, 0, 0)
		}
		t.PutSubscription(graphfake.Subscription{
			ID:                     fmt.Sprintf("%s-c000-%012x", g.idPrefix, len(s.PartNumber)),
			CommerceSubscriptionID: fmt.Sprintf("%s-e000-%012x", g.idPrefix, len(s.Name)),
			SkuID:                  s.ID,
			PartNumber:             s.PartNumber,
			Status:                 "Enabled",
			TotalLicenses:          enabled,
			Created:                g.opts.Now.AddDate(-3, 0, 0),
			NextLifecycle:          &next,
		})
	}
	g.putOtherSubscriptions(t)
	return st
}

// putOtherSubscriptions adds the subscriptions a real tenant has besides its
// purchases, neither worth a renewal alert: a trial that ends three weeks
// after the tenant's date, and a free SKU.
func (g *Generator) putOtherSubscriptions(t *graphfake.Tenant) {
	now := g.opts.Now.UTC()
	trialEnd := now.AddDate(0, 0, 21)
	free := now.AddDate(1, 0, 0)
	for i, sub := range []graphfake.Subscription{
		{SkuID: "efccb6f7-5641-4e0e-bd10-b4976e1bf68e", PartNumber: "EMS", Status: "Enabled", TotalLicenses: 25, IsTrial: true,
			Created: trialEnd.AddDate(0, 0, -30), NextLifecycle: &trialEnd},
		{SkuID: "f30db892-07e9-47e9-837c-80727f46fd3d", PartNumber: "FLOW_FREE", Status: "Enabled", TotalLicenses: 10000,
			Created: now.AddDate(-2, 0, 0), NextLifecycle: &free},
	} {
		sub.ID = fmt.Sprintf("%s-c100-%012x", g.idPrefix, i)
		sub.CommerceSubscriptionID = fmt.Sprintf("%s-e100-%012x", g.idPrefix, i)
		t.PutSubscription(sub)
	}
}

// walk generates every user once, counting usage per agency and in total,
// and sets the agencies' Used and Purchases. Later calls return the counts of
// the first.
func (g *Generator) walk() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.walked {
		return g.stats
	}
	g.walked = true
	st := Stats{Users: g.opts.Users, Consumed: map[string]int{}}
	used := make([]map[string]int, len(g.agencies))
	for i := range used {
		used[i] = map[string]int{}
	}
	for i := 0; i < g.opts.Users; i++ {
		gu := g.generate(i)
		u := gu.user
		switch gu.kind {
		case kindUnattributed:
			st.Unattributed++
		case kindConflict:
			st.Conflicts++
		}
		if !u.AccountEnabled {
			st.Disabled++
			if len(u.Licenses) > 0 {
				st.DisabledLicensed++
			}
		}
		if u.LastSignIn == nil && u.LastNonInteractiveSignIn == nil {
			st.NeverSignedIn++
		}
		if u.UsageLocation == "" {
			st.NoUsageLocation++
		}
		seen := map[string]bool{}
		for _, l := range u.Licenses {
			if l.Error != "" {
				st.CountViolations++
				continue
			}
			if seen[l.SkuID] {
				continue
			}
			seen[l.SkuID] = true
			st.Consumed[l.SkuID]++
			if gu.kind == kindAttributed {
				used[gu.home][l.SkuID]++
			}
		}
	}
	for i := range g.agencies {
		a := &g.agencies[i]
		a.Used = used[i]
		a.Purchases = nil
		for _, s := range SKUs() {
			n := used[i][s.ID]
			if n == 0 {
				continue
			}
			q := n + n/10 + 2
			if a.ID == OverAgency && s == O365E3 {
				q = n * 85 / 100
			}
			if q > 0 {
				a.Purchases = append(a.Purchases, Purchase{SKU: s, Quantity: q})
			}
		}
	}
	g.stats = st
	return st
}

// delegatedMembers lists up to delegatedMembers users of agency i, spread
// over the tenant, deterministically.
func (g *Generator) delegatedMembers(agency int) []string {
	var out []string
	step := max(1, g.opts.Users/2000)
	for i := 0; i < g.opts.Users && len(out) < delegatedMembers; i += step {
		if gu := g.generate(i); gu.home == agency && gu.kind == kindAttributed {
			out = append(out, gu.user.ID)
		}
	}
	return out
}

// DelegatedGroups returns the agencies' delegated groups as Fill puts them
// in the tenant, with their direct members (users, and for the first one a
// device and a nested group), so that a caller can change a group's
// membership with Tenant.PutGroup as a delegate would in Entra ID.
func (g *Generator) DelegatedGroups() []graphfake.Group {
	var out []graphfake.Group
	for i, a := range g.agencies {
		for _, dg := range a.DelegatedGroups {
			members := g.delegatedMembers(i)
			if i == 0 {
				members = append(members, g.kioskID(), g.nestedGroupID())
			}
			out = append(out, graphfake.Group{ID: dg.GroupID, DisplayName: a.ID + " Visio users", Members: members})
		}
	}
	return out
}

// nestedGroupID is the group nested in the first delegated group.
func (g *Generator) nestedGroupID() string { return fmt.Sprintf("%s-a%03x-%012x", g.idPrefix, 3, 0) }

// kioskID is the device in the first delegated group.
func (g *Generator) kioskID() string { return fmt.Sprintf("%s-d%03x-%012x", g.idPrefix, 0, 1) }
