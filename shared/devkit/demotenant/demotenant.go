// Package demotenant generates a synthetic tenant shared by a few dozen
// agencies, deterministically from a seed, at any size from a handful of users
// to a million, and fills a graphfake tenant with it. Users are generated on
// demand from their position (the Generator is a graphfake.UserSource), so a
// million-user tenant costs no memory until it is read.
//
// The tenant is deliberately untidy, as real ones are: company names that
// differ in case and spaces, users that match no agency or two, disabled
// users still holding licenses, users who never signed in, users without a
// usage location, licenses in CountViolation, direct and group-based
// assignments of the same SKU, and one agency using more than it bought.
// The agency list (Agencies) says how each agency recognises its users and
// what it bought, so that the demo can configure matching agencies.
package demotenant

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// SKU is a Microsoft product the generated tenant licenses.
type SKU struct {
	ID         string
	PartNumber string
	Name       string
}

// The SKUs that matter here, with Microsoft's ids and part numbers.
var (
	O365E3     = SKU{"6fd2c87f-b296-42f0-b197-1e91e994b900", "ENTERPRISEPACK", "Office 365 E3"}
	O365E5     = SKU{"c7df2760-2c81-4ef7-b578-5b5392b571df", "ENTERPRISEPREMIUM", "Office 365 E5"}
	M365E3     = SKU{"05e9a617-0261-4cee-bb44-138d3ef5d965", "SPE_E3", "Microsoft 365 E3"}
	Visio      = SKU{"c5928f49-12ba-48f7-ada3-0d743a3601d5", "VISIOCLIENT", "Visio Plan 2"}
	Project    = SKU{"53818b1b-4a27-454b-8896-0dba576410e6", "PROJECTPROFESSIONAL", "Planner and Project Plan 3"}
	PowerBIPro = SKU{"f8a1db68-be16-40ed-86d5-cb42ce701560", "POWER_BI_PRO", "Power BI Pro"}
)

// SKUs lists every SKU of the generated tenant.
func SKUs() []SKU { return []SKU{O365E3, O365E5, M365E3, Visio, Project, PowerBIPro} }

// Purchase is what an agency bought of one SKU (the ledger the demo seeds).
type Purchase struct {
	SKU      SKU
	Quantity int
}

// Agency is one generated agency: who it is, how its users are recognised,
// and what it bought.
type Agency struct {
	ID     string
	Name   string
	Domain string
	// Rule is the attribution rule that finds the agency's users.
	Rule licensing.AttributionRule
	// Contacts and Delegates are addresses in the agency's domain.
	Contacts  []string
	Delegates []string
	// LicenseGroupID is the group that assigns the agency's base license,
	// "" when the agency assigns it directly.
	LicenseGroupID string
	// DelegatedGroups are groups for capped provisioning (Visio for some).
	DelegatedGroups []licensing.DelegatedGroup
	// Purchases are the licenses the agency bought; Used what its
	// attributed users hold (for checking reports).
	Purchases []Purchase
	Used      map[string]int
}

// Licensing returns the agency's configuration in the domain's form.
func (a Agency) Licensing() licensing.Agency {
	return licensing.Agency{
		ID:              a.ID,
		Name:            a.Name,
		Contacts:        append([]string(nil), a.Contacts...),
		Delegates:       append([]string(nil), a.Delegates...),
		Attribution:     a.Rule,
		DelegatedGroups: append([]licensing.DelegatedGroup(nil), a.DelegatedGroups...),
	}
}

// agencyDef is the fixed part of an agency.
type agencyDef struct {
	id, name, domain string
	weight           int
}

// agencyDefs are the agencies, with a relative size.
var agencyDefs = []agencyDef{
	{"DOA", "Department of Administration", "doa.example.gov", 40},
	{"DOR", "Department of Revenue", "dor.example.gov", 45},
	{"DOT", "Department of Transportation", "dot.example.gov", 90},
	{"DHS", "Department of Health Services", "dhs.example.gov", 120},
	{"DCF", "Department of Children and Families", "dcf.example.gov", 35},
	{"DNR", "Department of Natural Resources", "dnr.example.gov", 70},
	{"DPI", "Department of Public Instruction", "dpi.example.gov", 30},
	{"DOC", "Department of Corrections", "doc.example.gov", 150},
	{"DWD", "Department of Workforce Development", "dwd.example.gov", 50},
	{"DATCP", "Department of Agriculture, Trade and Consumer Protection", "datcp.example.gov", 25},
	{"DFI", "Department of Financial Institutions", "dfi.example.gov", 10},
	{"DSPS", "Department of Safety and Professional Services", "dsps.example.gov", 12},
	{"DVA", "Department of Veterans Affairs", "dva.example.gov", 20},
	{"DMA", "Department of Military Affairs", "dma.example.gov", 18},
	{"DOJ", "Department of Justice", "doj.example.gov", 28},
	{"TOUR", "Department of Tourism", "tourism.example.gov", 5},
	{"DCP", "Department of Corrections Probation", "dcp.example.gov", 15},
	{"OCI", "Office of the Commissioner of Insurance", "oci.example.gov", 6},
	{"PSC", "Public Service Commission", "psc.example.gov", 6},
	{"ETF", "Department of Employee Trust Funds", "etf.example.gov", 9},
	{"WHS", "Historical Society", "history.example.gov", 7},
	{"ECB", "Educational Communications Board", "ecb.example.gov", 4},
	{"DHA", "Division of Hearings and Appeals", "dha.example.gov", 3},
	{"GOV", "Office of the Governor", "gov.example.gov", 3},
	{"LTG", "Office of the Lieutenant Governor", "ltg.example.gov", 1},
	{"SOS", "Office of the Secretary of State", "sos.example.gov", 1},
	{"TRS", "Office of the State Treasurer", "treasury.example.gov", 1},
	{"ELEC", "Elections Commission", "elections.example.gov", 3},
	{"ETH", "Ethics Commission", "ethics.example.gov", 1},
	{"BCPL", "Board of Commissioners of Public Lands", "bcpl.example.gov", 1},
	{"LIRC", "Labor and Industry Review Commission", "lirc.example.gov", 2},
	{"WERC", "Employment Relations Commission", "werc.example.gov", 2},
}

// How agencies recognise their users, in turn.
var ruleAttributes = []string{
	licensing.AttrDepartment, licensing.AttrCompanyName, licensing.AttrUPNDomain,
	licensing.AttrDepartment, "extensionAttribute1", licensing.AttrOfficeLocation,
}

// OverAgency is the agency that uses more Office 365 E3 than it bought.
const OverAgency = "DOT"

// Fractions of users, in thousandths.
const (
	perMilleUnattributed = 20
	perMilleConflict     = 5
	perMilleDisabled     = 30
	perMilleNeverSignIn  = 100
	perMilleNoUsageLoc   = 20
	perMilleUnlicensed   = 80
)

var (
	firstNames = []string{"Pat", "Chris", "Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Jamie", "Robin",
		"Lee", "Dana", "Avery", "Riley", "Quinn", "Drew", "Maria", "José", "Wei", "Aisha", "Olga", "Tomás",
		"Nguyen", "Fatima", "John", "Mary", "Linda", "James", "Ann", "Bob"}
	lastNames = []string{"Doe", "Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Martinez", "Lopez",
		"Wilson", "Anderson", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris",
		"Clark", "Lewis", "Robinson", "Walker", "Young", "O'Brien", "Nguyen", "Schmidt", "Kowalski"}
	offices = []string{"Madison", "Milwaukee", "Green Bay", "Eau Claire", "La Crosse", "Wausau"}
)

// Options size and seed a Generator.
type Options struct {
	// Seed makes the tenant: the same seed and size give the same tenant.
	Seed uint64
	// Users is the number of users (at least 0).
	Users int
	// Now anchors generated dates (sign-ins, term ends); a fixed date by
	// default so that output does not depend on the clock.
	Now time.Time
}

// DefaultNow is the date generated tenants are anchored at by default.
var DefaultNow = time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)

// Generator generates one synthetic tenant. It is safe for concurrent use.
type Generator struct {
	opts     Options
	agencies []Agency
	// cumulative weights for picking an agency.
	cum   []int
	total int
	// idPrefix makes ids differ between seeds.
	idPrefix string
	// walked is set once usage and purchases have been counted.
	mu     sync.Mutex
	walked bool
	stats  Stats
}

// New returns the generator for opts.
func New(opts Options) *Generator {
	if opts.Users < 0 {
		opts.Users = 0
	}
	if opts.Now.IsZero() {
		opts.Now = DefaultNow
	}
	g := &Generator{opts: opts}
	r := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
	g.idPrefix = fmt.Sprintf("%08x-%04x-4%03x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff)
	for i, d := range agencyDefs {
		a := Agency{
			ID:        d.id,
			Name:      d.name,
			Domain:    d.domain,
			Contacts:  []string{"licensing@" + d.domain},
			Delegates: []string{"it.lead@" + d.domain},
			Used:      map[string]int{},
		}
		attr := ruleAttributes[i%len(ruleAttributes)]
		a.Rule = licensing.AttributionRule{Attribute: attr, Values: g.ruleValues(d, attr)}
		if i%2 == 0 {
			a.LicenseGroupID = g.groupID(i, 1)
		}
		if i < 3 {
			a.DelegatedGroups = []licensing.DelegatedGroup{{Product: Visio.PartNumber, GroupID: g.groupID(i, 2)}}
		}
		g.agencies = append(g.agencies, a)
		g.total += d.weight
		g.cum = append(g.cum, g.total)
	}
	return g
}

// ruleValues are the values an agency's rule lists: its name or code in the
// usual spellings.
func (g *Generator) ruleValues(d agencyDef, attr string) []string {
	switch attr {
	case licensing.AttrUPNDomain:
		return []string{d.domain}
	case "extensionAttribute1":
		return []string{d.id}
	case licensing.AttrOfficeLocation:
		return []string{d.name + " - Main Office", d.id + " HQ"}
	case licensing.AttrCompanyName:
		return []string{d.name, strings.Replace(d.name, "Department of", "Dept. of", 1)}
	}
	return []string{d.name}
}

func (g *Generator) groupID(agency, kind int) string {
	return fmt.Sprintf("%s-a%03x-%012x", g.idPrefix, kind, agency)
}

// Len implements graphfake.UserSource.
func (g *Generator) Len() int { return g.opts.Users }

// Lookup implements graphfake.UserSource.
func (g *Generator) Lookup(id string) (int, bool) {
	rest, ok := strings.CutPrefix(strings.ToLower(id), g.idPrefix+"-8")
	if !ok || len(rest) != 3+1+12 || rest[3] != '-' {
		return 0, false
	}
	i, err := strconv.ParseUint(rest[4:], 16, 64)
	if err != nil || i >= uint64(g.opts.Users) {
		return 0, false
	}
	return int(i), true
}

// UserID returns the id of the user at position i.
func (g *Generator) UserID(i int) string {
	return fmt.Sprintf("%s-8%03x-%012x", g.idPrefix, uint32(i>>48)&0xfff, i)
}

// Agencies returns the agencies with what they bought and use. The first
// call (or Fill) walks every user once to count usage.
func (g *Generator) Agencies() []Agency {
	g.walk()
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Agency, len(g.agencies))
	for i, a := range g.agencies {
		a.Rule.Values = append([]string(nil), a.Rule.Values...)
		a.Purchases = append([]Purchase(nil), a.Purchases...)
		used := make(map[string]int, len(a.Used))
		for k, v := range a.Used {
			used[k] = v
		}
		a.Used = used
		out[i] = a
	}
	return out
}
