package licensing

import (
	"fmt"
	"strings"
)

// AttributionClaim is one attribution value an agency's rule claims: an
// attribute with one of its values, compared folded (see FoldValue), or a
// group. A value belongs to one agency at most: a user matching the rules of
// two agencies counts against neither (a conflict). The stores enforce it:
// PutAgency refuses a rule claiming a value another agency holds, and
// releases the values an agency's new rule no longer claims.
type AttributionClaim struct {
	// Key identifies the claim across agencies: the attribute and the
	// folded value, or "group" and the group's object id in lower case.
	Key string
	// Attribute is the attribute the rule names.
	Attribute string
	// Value is the value as the agency spells it, or the group id.
	Value string
	// Field names the value in the agency document, for messages:
	// attribution.values[i] or attribution.groupId.
	Field string
}

// Claims returns the claims of the rule in the order of its values, one per
// key: values that fold alike ("Dept  A" and "dept a") are one claim, under
// the first one's spelling. A rule without an attribute, or a group rule
// without a group, claims nothing.
func (r AttributionRule) Claims() []AttributionClaim {
	var out []AttributionClaim
	seen := map[string]bool{}
	add := func(value, folded, field string) {
		key := r.Attribute + "\x1f" + folded
		if folded == "" || seen[key] {
			return
		}
		seen[key] = true
		out = append(out, AttributionClaim{Key: key, Attribute: r.Attribute, Value: value, Field: field})
	}
	switch r.Attribute {
	case "":
	case AttrGroup:
		add(r.GroupID, strings.ToLower(strings.TrimSpace(r.GroupID)), "attribution.groupId")
	default:
		for i, v := range r.Values {
			add(v, FoldValue(v), fmt.Sprintf("attribution.values[%d]", i))
		}
	}
	return out
}

// ClaimKeys returns the keys of the rule's claims as a set.
func (r AttributionRule) ClaimKeys() map[string]bool {
	keys := map[string]bool{}
	for _, c := range r.Claims() {
		keys[c.Key] = true
	}
	return keys
}

// describe names the claimed value in a message: department "DOA", or
// group 6f1c0f55-….
func (c AttributionClaim) describe() string {
	if c.Attribute == AttrGroup {
		return "group " + c.Value
	}
	return fmt.Sprintf("%s %q", c.Attribute, Truncate(c.Value))
}

// claimedBy is the field message for a value agency holder holds.
func (c AttributionClaim) claimedBy(holder string) string {
	if c.Attribute == AttrGroup {
		return fmt.Sprintf("agency %s already attributes by this group; its members would count as conflicts", holder)
	}
	return fmt.Sprintf("%q is already claimed by agency %s; users with it would count as conflicts", Truncate(c.Value), holder)
}

// AttributionTaken returns the Conflict error that refuses claim c because
// agency holder holds it. pending says that holder's claim comes from a
// change of holder that has not finished, or was cut short and is not yet
// given up: the value may become free, so the message says to try again.
func AttributionTaken(op string, c AttributionClaim, holder string, pending bool) *Error {
	if pending {
		field := fmt.Sprintf("is being claimed by agency %s in a change that has not finished; try again in a few minutes", holder)
		return &Error{Op: op, Code: Conflict, Fields: []FieldError{{Field: c.Field, Message: field}},
			Message: fmt.Sprintf("The attribution value %s is being claimed by agency %s in a change that has not finished; try again in a few minutes.", c.describe(), holder)}
	}
	return &Error{Op: op, Code: Conflict, Fields: []FieldError{{Field: c.Field, Message: c.claimedBy(holder)}},
		Message: fmt.Sprintf("The attribution value %s belongs to agency %s: a value counts users against one agency only. Choose another value, or remove it from agency %s first.", c.describe(), holder, holder)}
}
