package licensing

import (
	"context"
	"strings"
)

// Principal is the caller of an API request as App Service authentication
// reports it. A nil *Principal means the request carried no identity.
type Principal struct {
	// Name is the user principal name (or the app's name for an app).
	Name string
	// ObjectID is the Entra ID object id, when known.
	ObjectID string
	// Provider is the identity provider (aad).
	Provider string
	// Roles are the app roles in the token.
	Roles []string
}

// Access says what a caller may do.
type Access struct {
	// Who names the caller for audit trails.
	Who string
	// Admin is central IT: everything, every agency.
	Admin bool
	// Agencies are the agencies the caller is a delegate of.
	Agencies []string
}

// CanActFor reports whether the caller may see or act for agency id.
func (a Access) CanActFor(id string) bool {
	if a.Admin {
		return true
	}
	id = NormalizeAgencyID(id)
	for _, x := range a.Agencies {
		if x == id {
			return true
		}
	}
	return false
}

// anonymousName names the local anonymous caller in audit trails.
const anonymousName = "anonymous (local development)"

// Authorizer decides what a caller may do: central IT administrators are
// listed in configuration, delegates in each agency's record. Every workflow
// asks it before acting for someone.
type Authorizer struct {
	agencies       AgencyStore
	admins         map[string]bool
	allowAnonymous bool
}

// NewAuthorizer returns an Authorizer for the administrators admins (user
// principal names or object ids, compared without case), reading delegates
// from agencies. allowAnonymous lets a request without any identity act as
// an admin: only for a developer's own machine; configuration refuses it in
// Azure.
func NewAuthorizer(agencies AgencyStore, admins []string, allowAnonymous bool) *Authorizer {
	set := map[string]bool{}
	for _, a := range admins {
		if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
			set[a] = true
		}
	}
	return &Authorizer{agencies: agencies, admins: set, allowAnonymous: allowAnonymous}
}

// isAdmin reports whether p is listed as an administrator.
func (s *Authorizer) isAdmin(p *Principal) bool {
	if p == nil {
		return false
	}
	return s.admins[strings.ToLower(p.Name)] || (p.ObjectID != "" && s.admins[strings.ToLower(p.ObjectID)])
}

// Authorize resolves what caller may do: an admin, a delegate of some
// agencies, or neither. No identity is Unauthenticated unless anonymous local
// use is allowed, in which case the caller is an admin.
func (s *Authorizer) Authorize(ctx context.Context, op string, caller *Principal) (Access, error) {
	if caller == nil || (caller.Name == "" && caller.ObjectID == "") {
		if s.allowAnonymous {
			return Access{Who: anonymousName, Admin: true}, nil
		}
		return Access{}, Errorf(op, Unauthenticated, "Sign in first: this API needs the caller's identity from App Service authentication.")
	}
	who := caller.Name
	if who == "" {
		who = caller.ObjectID
	}
	if s.isAdmin(caller) {
		return Access{Who: who, Admin: true}, nil
	}
	agencies, err := s.agencies.ListAgencies(ctx)
	if err != nil {
		return Access{}, err
	}
	acc := Access{Who: who}
	name := strings.ToLower(caller.Name)
	for _, a := range agencies {
		for _, d := range a.Delegates {
			if d == name {
				acc.Agencies = append(acc.Agencies, a.ID)
				break
			}
		}
	}
	return acc, nil
}

// RequireAdmin returns the caller's access when it is an admin, Forbidden
// when it is someone else, and Unauthenticated when it is nobody.
func (s *Authorizer) RequireAdmin(ctx context.Context, op string, caller *Principal) (Access, error) {
	if caller != nil && s.isAdmin(caller) {
		return Access{Who: caller.Name, Admin: true}, nil
	}
	acc, err := s.Authorize(ctx, op, caller)
	if err != nil {
		return acc, err
	}
	if !acc.Admin {
		return acc, Errorf(op, Forbidden, "Only central IT administrators may do this.")
	}
	return acc, nil
}
