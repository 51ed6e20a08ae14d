package demotenant

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
)

// Kinds of users as attribution sees them.
const (
	kindAttributed   = iota // matches its home agency only
	kindUnattributed        // matches no agency
	kindConflict            // matches its home agency and another one
)

// generated is a user with what the generator knows about it.
type generated struct {
	user graphfake.User
	home int // agency index; -1 when unattributed
	kind int
}

// User implements graphfake.UserSource: the user at position i, the same
// for the same seed and size every time.
func (g *Generator) User(i int) graphfake.User { return g.generate(i).user }

func (g *Generator) generate(i int) generated {
	r := rand.New(rand.NewPCG(g.opts.Seed, uint64(i)+1))
	home := g.pickAgency(r)
	d := agencyDefs[home]
	a := &g.agencies[home]
	first := firstNames[r.IntN(len(firstNames))]
	last := lastNames[r.IntN(len(lastNames))]
	local := strings.ToLower(strings.NewReplacer("'", "", "é", "e", "á", "a").Replace(first+"."+last)) + strconv.Itoa(i)
	u := graphfake.User{
		ID:                g.UserID(i),
		DisplayName:       first + " " + last,
		UserPrincipalName: local + "@" + d.domain,
		Mail:              local + "@" + d.domain,
		Department:        d.name,
		CompanyName:       messyCase(r, d.name),
		OfficeLocation:    offices[r.IntN(len(offices))],
		UsageLocation:     "US",
		AccountEnabled:    true,
		Created:           g.opts.Now.AddDate(0, 0, -30-r.IntN(3650)).Truncate(time.Second),
	}
	u.ExtensionAttributes[0] = d.id
	// The attribute the agency's rule reads gets one of its values, spelled
	// the way people type it.
	g.setRuleValue(r, &u, a, home)
	out := generated{home: home, kind: kindAttributed}
	switch p := r.IntN(1000); {
	case p < perMilleUnattributed:
		// A contractor account nobody tagged: no agency matches.
		out.kind, out.home = kindUnattributed, -1
		u.Department, u.CompanyName, u.OfficeLocation = "", "Contractor", "Remote"
		u.ExtensionAttributes[0] = ""
		u.UserPrincipalName = local + "@contractor.example.com"
		u.Mail = u.UserPrincipalName
	case p < perMilleUnattributed+perMilleConflict:
		// Moved between agencies and only half updated.
		if other := g.conflictWith(r, home); other >= 0 {
			g.setRuleValue(r, &u, &g.agencies[other], other)
			out.kind = kindConflict
		}
	}
	if r.IntN(1000) < perMilleDisabled {
		u.AccountEnabled = false
	}
	if r.IntN(1000) >= perMilleNeverSignIn {
		t := g.opts.Now.Add(-time.Duration(r.IntN(180*24*3600)) * time.Second).Truncate(time.Second)
		u.LastSignIn = &t
		if r.IntN(2) == 0 {
			nt := t.Add(time.Duration(r.IntN(3*24*3600)) * time.Second)
			if nt.After(g.opts.Now) {
				nt = g.opts.Now
			}
			u.LastNonInteractiveSignIn = &nt
		}
	}
	if r.IntN(1000) < perMilleNoUsageLoc {
		u.UsageLocation = ""
	}
	u.Licenses = g.licenses(r, a)
	out.user = u
	return out
}

func (g *Generator) pickAgency(r *rand.Rand) int {
	n := r.IntN(g.total)
	for i, c := range g.cum {
		if n < c {
			return i
		}
	}
	return len(g.cum) - 1
}

// setRuleValue gives u the value agency a's rule looks for.
func (g *Generator) setRuleValue(r *rand.Rand, u *graphfake.User, a *Agency, idx int) {
	v := a.Rule.Values[r.IntN(len(a.Rule.Values))]
	switch a.Rule.Attribute {
	case "department":
		u.Department = messyCase(r, v)
	case "companyName":
		u.CompanyName = messyCase(r, v)
	case "officeLocation":
		u.OfficeLocation = messyCase(r, v)
	case "extensionAttribute1":
		u.ExtensionAttributes[0] = messyCase(r, v)
	case "upnDomain":
		local, _, _ := strings.Cut(u.UserPrincipalName, "@")
		u.UserPrincipalName = local + "@" + v
		u.Mail = u.UserPrincipalName
	}
}

// conflictWith picks another agency whose rule reads a different attribute
// (so that both match), or -1.
func (g *Generator) conflictWith(r *rand.Rand, home int) int {
	for range 8 {
		o := r.IntN(len(g.agencies))
		if o != home && g.agencies[o].Rule.Attribute != g.agencies[home].Rule.Attribute {
			return o
		}
	}
	return -1
}

// messyCase returns s as typed by different people: mostly as is, sometimes
// upper or lower case, sometimes with stray spaces.
func messyCase(r *rand.Rand, s string) string {
	switch r.IntN(20) {
	case 0:
		return strings.ToUpper(s)
	case 1:
		return strings.ToLower(s)
	case 2:
		return " " + s + " "
	case 3:
		return strings.Replace(s, " ", "  ", 1)
	}
	return s
}

// licenses picks a user's license states: a base suite (through the
// agency's license group when it has one, sometimes also directly), and
// add-ons assigned directly.
func (g *Generator) licenses(r *rand.Rand, a *Agency) []graphfake.LicenseState {
	if r.IntN(1000) < perMilleUnlicensed {
		return nil
	}
	var base SKU
	switch p := r.IntN(100); {
	case p < 75:
		base = O365E3
	case p < 90:
		base = M365E3
	default:
		base = O365E5
	}
	var out []graphfake.LicenseState
	if a.LicenseGroupID != "" && base == O365E3 {
		out = append(out, graphfake.LicenseState{SkuID: base.ID, AssignedByGroup: a.LicenseGroupID})
		if r.IntN(20) == 0 {
			out = append(out, graphfake.LicenseState{SkuID: base.ID})
		}
	} else {
		out = append(out, graphfake.LicenseState{SkuID: base.ID})
	}
	if r.IntN(100) < 5 {
		st := graphfake.LicenseState{SkuID: Visio.ID}
		if r.IntN(50) == 0 {
			st.Error = "CountViolation"
		}
		out = append(out, st)
	}
	if r.IntN(100) < 3 {
		out = append(out, graphfake.LicenseState{SkuID: Project.ID})
	}
	if base != O365E5 && r.IntN(100) < 15 {
		out = append(out, graphfake.LicenseState{SkuID: PowerBIPro.ID})
	}
	return out
}
