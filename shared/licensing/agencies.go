package licensing

import (
	"context"
	"fmt"
	"time"
)

// AgencyAdmin is the administration of agencies by central IT: their
// attribution rules, contacts, delegates and delegated groups.
type AgencyAdmin struct {
	store AgencyStore
	auth  *Authorizer
	now   func() time.Time
}

// NewAgencyAdmin returns an AgencyAdmin over store; now defaults to the
// clock.
func NewAgencyAdmin(store AgencyStore, auth *Authorizer, now func() time.Time) *AgencyAdmin {
	if now == nil {
		now = time.Now
	}
	return &AgencyAdmin{store: store, auth: auth, now: now}
}

// GetAgency returns one agency's configuration. Admins only.
func (s *AgencyAdmin) GetAgency(ctx context.Context, caller *Principal, id string) (Agency, error) {
	const op = "agencies.get"
	if _, err := s.auth.RequireAdmin(ctx, op, caller); err != nil {
		return Agency{}, err
	}
	id = NormalizeAgencyID(id)
	if !ValidAgencyID(id) {
		return Agency{}, Errorf(op, NotFound, "There is no agency %q.", Truncate(id))
	}
	return s.store.GetAgency(ctx, id)
}

// ListAgencies returns every agency. Admins only.
func (s *AgencyAdmin) ListAgencies(ctx context.Context, caller *Principal) ([]Agency, error) {
	const op = "agencies.list"
	if _, err := s.auth.RequireAdmin(ctx, op, caller); err != nil {
		return nil, err
	}
	return s.store.ListAgencies(ctx)
}

// PutAgency creates or replaces the agency with id from a. The id in the path
// wins; a different id in the body is an error rather than a silent rename.
// pre carries the caller's If-Match / If-None-Match. Admins only.
func (s *AgencyAdmin) PutAgency(ctx context.Context, caller *Principal, id string, a Agency, pre Precondition) (Agency, bool, error) {
	const op = "agencies.put"
	acc, err := s.auth.RequireAdmin(ctx, op, caller)
	if err != nil {
		return Agency{}, false, err
	}
	id = NormalizeAgencyID(id)
	if a.ID != "" && NormalizeAgencyID(a.ID) != id {
		return Agency{}, false, &Error{Op: op, Code: Invalid, Message: "The agency has 1 problem; see fields.",
			Fields: []FieldError{{Field: "id", Message: "must match the id in the URL (" + Truncate(id) + ") or be left out"}}}
	}
	a.ID = id
	if err := a.Validate(); err != nil {
		err.(*Error).Op = op
		return Agency{}, false, err
	}
	others, err := s.store.ListAgencies(ctx)
	if err != nil {
		return Agency{}, false, err
	}
	if err := overlappingRules(a, others).Err(op, "The agency"); err != nil {
		return Agency{}, false, err
	}
	a.Updated = s.now().UTC()
	a.UpdatedBy = acc.Who
	return s.store.PutAgency(ctx, a, pre)
}

// overlappingRules finds values of a's attribution rule that another agency's
// rule already claims: every user with such a value would be a conflict,
// counted against nobody.
func overlappingRules(a Agency, others []Agency) FieldErrors {
	var fe FieldErrors
	for _, o := range others {
		if o.ID == a.ID || o.Attribution.Attribute != a.Attribution.Attribute {
			continue
		}
		if a.Attribution.Attribute == AttrGroup {
			if o.Attribution.GroupID == a.Attribution.GroupID {
				fe.Add("attribution.groupId", "agency %s already attributes by this group; its members would count as conflicts", o.ID)
			}
			continue
		}
		claimed := map[string]bool{}
		for _, v := range o.Attribution.Values {
			claimed[FoldValue(v)] = true
		}
		for i, v := range a.Attribution.Values {
			if claimed[FoldValue(v)] {
				fe.Add(fmt.Sprintf("attribution.values[%d]", i), "%q is already claimed by agency %s; users with it would count as conflicts", Truncate(v), o.ID)
			}
		}
	}
	return fe
}
