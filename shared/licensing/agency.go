package licensing

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// Agency is one sub-unit of the tenant that buys its own licenses: a state
// agency or a university department.
type Agency struct {
	// ID is the agency's short code, upper case (DOA, DET, WSU-ITS).
	ID string `json:"id"`
	// Name is the full name shown in reports.
	Name string `json:"name"`
	// Contacts receive the agency's reports (email addresses).
	Contacts []string `json:"contacts"`
	// Delegates may act for the agency: user principal names or object ids
	// (see Principal.Is).
	Delegates []string `json:"delegates"`
	// Attribution decides which tenant users count against this agency.
	Attribution AttributionRule `json:"attribution"`
	// DelegatedGroups name, per product, the group whose members are
	// licensed up to the agency's entitlement.
	DelegatedGroups []DelegatedGroup `json:"delegatedGroups"`
	// Updated is when the configuration was last written, UpdatedBy by whom.
	Updated   time.Time `json:"updated"`
	UpdatedBy string    `json:"updatedBy"`
	// ETag is the stored version, for optimistic concurrency. It is output
	// only: a write's condition comes from the If-Match header.
	ETag string `json:"etag,omitempty"`
}

// DelegatedGroup ties one product to the group that holds its users.
type DelegatedGroup struct {
	// Product is a SKU part number (VISIOCLIENT) or SKU id (a GUID).
	Product string `json:"product"`
	// GroupID is the Entra ID object id of the group.
	GroupID string `json:"groupId"`
}

// Attribution attributes. A rule matches a user when the named attribute
// equals one of the rule's values, ignoring case and surrounding spaces, or,
// for AttrGroup, when the user is a member of the group.
const (
	AttrDepartment     = "department"
	AttrCompanyName    = "companyName"
	AttrOfficeLocation = "officeLocation"
	AttrUPNDomain      = "upnDomain"
	AttrGroup          = "group"
	// extensionAttribute1 … extensionAttribute15 come from
	// onPremisesExtensionAttributes and are accepted as well.
	attrExtensionPrefix = "extensionAttribute"
)

// AttributionRule maps tenant users to an agency.
type AttributionRule struct {
	Attribute string   `json:"attribute"`
	Values    []string `json:"values,omitempty"`
	GroupID   string   `json:"groupId,omitempty"`
}

// Limits on agency configuration, generous for real use and small enough
// to keep one agency inside one table entity.
const (
	maxNameLen         = 200
	maxContacts        = 50
	maxDelegates       = 200
	maxRuleValues      = 200
	maxRuleValueLen    = 256
	maxDelegatedGroups = 100
)

var (
	agencyIDPattern  = regexp.MustCompile(`^[A-Z0-9][A-Z0-9_-]{0,31}$`)
	guidPattern      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	partNumberPatern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}$`)
	domainPattern    = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
)

// NormalizeAgencyID returns id trimmed and upper-cased, the form in which
// agency ids are stored and compared.
func NormalizeAgencyID(id string) string {
	return strings.ToUpper(strings.TrimSpace(id))
}

// ValidAgencyID reports whether id (already normalized) is a usable agency code.
func ValidAgencyID(id string) bool { return agencyIDPattern.MatchString(id) }

// IsGUID reports whether s is a GUID in its usual 8-4-4-4-12 form.
func IsGUID(s string) bool { return guidPattern.MatchString(s) }

// AttributeNames lists every attribute an attribution rule may name.
func AttributeNames() []string {
	names := []string{AttrDepartment, AttrCompanyName, AttrOfficeLocation, AttrUPNDomain, AttrGroup}
	for i := 1; i <= 15; i++ {
		names = append(names, fmt.Sprintf("%s%d", attrExtensionPrefix, i))
	}
	return names
}

// attributeChoices names the attributes in messages.
const attributeChoices = "department, companyName, officeLocation, upnDomain, group, or extensionAttribute1 to extensionAttribute15"

func knownAttribute(name string) bool {
	for _, n := range AttributeNames() {
		if n == name {
			return true
		}
	}
	return false
}

// normalize trims and canonicalizes every field in place so that what is
// stored compares reliably: ids upper case, addresses lower case, GUIDs
// lower case, duplicates removed.
func (a *Agency) normalize() {
	a.ID = NormalizeAgencyID(a.ID)
	a.Name = strings.TrimSpace(a.Name)
	a.Contacts = normalizeList(a.Contacts, strings.ToLower)
	a.Delegates = normalizeList(a.Delegates, strings.ToLower)
	r := &a.Attribution
	r.Attribute = strings.TrimSpace(r.Attribute)
	r.GroupID = strings.ToLower(strings.TrimSpace(r.GroupID))
	if r.Attribute == AttrUPNDomain {
		r.Values = normalizeList(r.Values, func(s string) string { return strings.TrimPrefix(strings.ToLower(s), "@") })
	} else {
		r.Values = normalizeList(r.Values, nil)
	}
	for i := range a.DelegatedGroups {
		g := &a.DelegatedGroups[i]
		g.Product = strings.TrimSpace(g.Product)
		if IsGUID(g.Product) {
			g.Product = strings.ToLower(g.Product)
		}
		g.GroupID = strings.ToLower(strings.TrimSpace(g.GroupID))
	}
	if a.Contacts == nil {
		a.Contacts = []string{}
	}
	if a.Delegates == nil {
		a.Delegates = []string{}
	}
	if a.DelegatedGroups == nil {
		a.DelegatedGroups = []DelegatedGroup{}
	}
}

// normalizeList trims each entry, applies fold when given, and drops empty
// entries and duplicates (compared without case), keeping the first spelling.
func normalizeList(in []string, fold func(string) string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		if fold != nil {
			s = fold(s)
		}
		key := strings.ToLower(s)
		if s == "" || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, s)
	}
	return out
}

// Validate normalizes a and reports every problem at once as an Invalid
// error with one FieldError per problem.
func (a *Agency) Validate() error {
	a.normalize()
	var fe FieldErrors
	if !ValidAgencyID(a.ID) {
		fe.Add("id", "must be 1 to 32 letters, digits, '-' or '_', starting with a letter or digit (for example DOA)")
	}
	switch {
	case a.Name == "":
		fe.Add("name", "is required")
	case len(a.Name) > maxNameLen:
		fe.Add("name", "must be at most %d characters", maxNameLen)
	case HasInvisible(a.Name):
		fe.Add("name", "must not contain control or invisible formatting characters (such as U+0000, U+200B or U+202E)")
	}
	if len(a.Contacts) == 0 {
		fe.Add("contacts", "needs at least one email address to send the agency's reports to")
	}
	if len(a.Contacts) > maxContacts {
		fe.Add("contacts", "must list at most %d addresses", maxContacts)
	}
	for i, c := range a.Contacts {
		if !ValidAddress(c) {
			fe.Add(fmt.Sprintf("contacts[%d]", i), "%q is not an email address like name@agency.example.gov", Truncate(c))
		}
	}
	if len(a.Delegates) > maxDelegates {
		fe.Add("delegates", "must list at most %d delegates", maxDelegates)
	}
	for i, d := range a.Delegates {
		if !ValidPrincipalEntry(d) {
			fe.Add(fmt.Sprintf("delegates[%d]", i), "%q is neither a user principal name like pat.doe@agency.example.gov nor an object id (a GUID)", Truncate(d))
		}
	}
	a.Attribution.validate(&fe)
	if len(a.DelegatedGroups) > maxDelegatedGroups {
		fe.Add("delegatedGroups", "must list at most %d groups", maxDelegatedGroups)
	}
	products := map[string]bool{}
	for i, g := range a.DelegatedGroups {
		field := fmt.Sprintf("delegatedGroups[%d]", i)
		if !IsGUID(g.Product) && !partNumberPatern.MatchString(g.Product) {
			fe.Add(field+".product", "must be a SKU part number such as VISIOCLIENT or a SKU id (GUID)")
		}
		if !IsGUID(g.GroupID) {
			fe.Add(field+".groupId", "must be the group's object id (a GUID)")
		}
		key := strings.ToLower(g.Product)
		if products[key] {
			fe.Add(field+".product", "%q has a delegated group already; one group per product", Truncate(g.Product))
		}
		products[key] = true
	}
	return fe.Err("agencies.validate", "The agency")
}

func (r *AttributionRule) validate(fe *FieldErrors) {
	switch {
	case r.Attribute == "":
		fe.Add("attribution.attribute", "is required: %s", attributeChoices)
		return
	case !knownAttribute(r.Attribute):
		fe.Add("attribution.attribute", "%q is not supported; use %s", Truncate(r.Attribute), attributeChoices)
		return
	case r.Attribute == AttrGroup:
		if !IsGUID(r.GroupID) {
			fe.Add("attribution.groupId", "must be the group's object id (a GUID) when attributing by group")
		}
		if len(r.Values) > 0 {
			fe.Add("attribution.values", "must be empty when attributing by group")
		}
		return
	}
	if r.GroupID != "" {
		fe.Add("attribution.groupId", "is only used when attribute is %q", AttrGroup)
	}
	if len(r.Values) == 0 {
		fe.Add("attribution.values", "needs at least one value of %s to match", r.Attribute)
	}
	if len(r.Values) > maxRuleValues {
		fe.Add("attribution.values", "must list at most %d values", maxRuleValues)
	}
	for i, v := range r.Values {
		field := fmt.Sprintf("attribution.values[%d]", i)
		switch {
		case len(v) > maxRuleValueLen:
			fe.Add(field, "must be at most %d characters", maxRuleValueLen)
		case HasControl(v):
			fe.Add(field, "must not contain control characters")
		case r.Attribute == AttrUPNDomain && !domainPattern.MatchString(v):
			fe.Add(field, "%q is not a domain name like doa.example.gov", Truncate(v))
		}
	}
}

// HasControl reports whether s holds a control character.
func HasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// Truncate keeps echoed input short in error messages.
func Truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	r := []rune(s)
	if len(r) > max {
		r = r[:max]
	}
	return string(r) + "…"
}
