package licensing

import (
	"context"
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
// pre carries the caller's If-Match / If-None-Match. An attribution value
// another agency claims is Invalid when the stored agencies show it, and
// Conflict when the store refuses it (a write of the other agency at the
// same moment); either names that agency. Admins only.
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
// counted against nobody. It reads the agencies as listed, so two writes at
// once can both pass it; the store's claims (see AttributionClaim) decide
// between them.
func overlappingRules(a Agency, others []Agency) FieldErrors {
	var fe FieldErrors
	mine := a.Attribution.Claims()
	for _, o := range others {
		if o.ID == a.ID {
			continue
		}
		theirs := o.Attribution.ClaimKeys()
		for _, c := range mine {
			if theirs[c.Key] {
				fe.Add(c.Field, "%s", c.claimedBy(o.ID))
			}
		}
	}
	return fe
}
