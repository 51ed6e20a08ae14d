package licensing

import (
	"sort"
	"strings"
	"unicode"
)

// Buckets for users no single agency claims. Agency ids cannot contain
// parentheses, so these never collide with a real agency.
const (
	// Unattributed holds users that no agency's rule matches.
	Unattributed = "(unattributed)"
	// Conflicted holds users that more than one agency's rule matches.
	Conflicted = "(conflict)"
)

// Attribution is the outcome of applying every agency's rule to one user.
type Attribution struct {
	// Agency is the one agency the user counts against, Unattributed when
	// no rule matches, or Conflicted when several do.
	Agency string `json:"agency"`
	// Matched says which attribute and value matched ("department =
	// Administration"), for the reports; for a conflict, every match.
	Matched string `json:"matched,omitempty"`
	// Candidates are the agencies whose rules matched when there were
	// several, sorted.
	Candidates []string `json:"candidates,omitempty"`
}

// Attributor applies the agencies' attribution rules. Build one per run with
// NewAttributor, give it the members of the groups that rules name, then call
// Attribute for each user; it only reads after that, so it is safe for
// concurrent use.
type Attributor struct {
	// byValue maps attribute -> folded value -> agencies whose rule lists it.
	byValue map[string]map[string][]string
	// groupRules maps group id -> agencies attributing by that group.
	groupRules map[string][]string
	// members maps group id -> member user ids.
	members map[string]map[string]bool
}

// NewAttributor compiles the rules of agencies.
func NewAttributor(agencies []Agency) *Attributor {
	at := &Attributor{byValue: map[string]map[string][]string{}, groupRules: map[string][]string{}, members: map[string]map[string]bool{}}
	for _, a := range agencies {
		r := a.Attribution
		if r.Attribute == AttrGroup {
			g := strings.ToLower(r.GroupID)
			at.groupRules[g] = appendUnique(at.groupRules[g], a.ID)
			continue
		}
		m := at.byValue[r.Attribute]
		if m == nil {
			m = map[string][]string{}
			at.byValue[r.Attribute] = m
		}
		for _, v := range r.Values {
			k := FoldValue(v)
			m[k] = appendUnique(m[k], a.ID)
		}
	}
	return at
}

// Groups returns the ids of the groups whose members the rules need, sorted.
func (at *Attributor) Groups() []string {
	var ids []string
	for g := range at.groupRules {
		ids = append(ids, g)
	}
	sort.Strings(ids)
	return ids
}

// SetMembers records the member user ids of group id (transitive, users
// only). Call it for each of Groups before attributing.
func (at *Attributor) SetMembers(groupID string, userIDs []string) {
	set := make(map[string]bool, len(userIDs))
	for _, id := range userIDs {
		set[strings.ToLower(id)] = true
	}
	at.members[strings.ToLower(groupID)] = set
}

// Attribute decides which agency u counts against.
func (at *Attributor) Attribute(u DirectoryUser) Attribution {
	var agencies, matches []string
	add := func(ids []string, why string) {
		for _, id := range ids {
			if !contains(agencies, id) {
				agencies = append(agencies, id)
				matches = append(matches, why)
			}
		}
	}
	for attr, values := range at.byValue {
		raw := UserAttribute(u, attr)
		if raw == "" {
			continue
		}
		if ids := values[FoldValue(raw)]; len(ids) > 0 {
			add(ids, attr+" = "+strings.TrimSpace(raw))
		}
	}
	if len(at.groupRules) > 0 {
		id := strings.ToLower(u.ID)
		for g, ids := range at.groupRules {
			if at.members[g][id] {
				add(ids, "member of group "+g)
			}
		}
	}
	switch len(agencies) {
	case 0:
		return Attribution{Agency: Unattributed}
	case 1:
		return Attribution{Agency: agencies[0], Matched: matches[0]}
	}
	// Report a conflict the same way whatever order the maps gave.
	idx := make([]int, len(agencies))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(i, j int) bool { return agencies[idx[i]] < agencies[idx[j]] })
	cands := make([]string, len(idx))
	whys := make([]string, len(idx))
	for i, k := range idx {
		cands[i] = agencies[k]
		whys[i] = agencies[k] + ": " + matches[k]
	}
	return Attribution{Agency: Conflicted, Candidates: cands, Matched: strings.Join(whys, "; ")}
}

// UserAttribute returns the value of a rule attribute for u: the user
// property, the domain of the user principal name for AttrUPNDomain, or an
// extension attribute. Unknown attributes give "".
func UserAttribute(u DirectoryUser, attr string) string {
	switch attr {
	case AttrDepartment:
		return u.Department
	case AttrCompanyName:
		return u.CompanyName
	case AttrOfficeLocation:
		return u.OfficeLocation
	case AttrUPNDomain:
		if at := strings.LastIndexByte(u.UserPrincipalName, '@'); at >= 0 {
			return u.UserPrincipalName[at+1:]
		}
		return ""
	}
	if n, ok := extensionNumber(attr); ok {
		return u.ExtensionAttribute(n)
	}
	return ""
}

func extensionNumber(attr string) (int, bool) {
	rest, ok := strings.CutPrefix(attr, attrExtensionPrefix)
	if !ok || rest == "" || len(rest) > 2 {
		return 0, false
	}
	n := 0
	for _, r := range rest {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, n >= 1 && n <= 15
}

// FoldValue is how attribute values are compared: without case, without
// surrounding space, with runs of inner white space (including non-breaking
// spaces) counted as one space.
func FoldValue(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range strings.TrimFunc(s, unicode.IsSpace) {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func appendUnique(list []string, s string) []string {
	if contains(list, s) {
		return list
	}
	return append(list, s)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
