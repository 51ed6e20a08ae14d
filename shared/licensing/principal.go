package licensing

import (
	"context"
	"slices"
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

// who names the caller in audit trails: the user principal name, or the
// object id when there is no name.
func (p *Principal) who() string {
	if p.Name != "" {
		return p.Name
	}
	return p.ObjectID
}

// Is reports whether entry, a user principal name or an object id (as
// listed in ADMINS or in an agency's delegates), names the caller. An
// object id (a GUID) matches the caller's object id only, never its name;
// a user principal name matches the caller's name only, never its object
// id. Both compare without case.
func (p *Principal) Is(entry string) bool {
	entry = strings.TrimSpace(entry)
	if p == nil || entry == "" {
		return false
	}
	if IsGUID(entry) {
		return strings.EqualFold(strings.TrimSpace(p.ObjectID), entry)
	}
	return strings.EqualFold(strings.TrimSpace(p.Name), entry)
}

// ValidPrincipalEntry reports whether entry names a user for ADMINS or an
// agency's delegates: an object id (a GUID) or a user principal name
// (name@agency.example.gov), in any case.
func ValidPrincipalEntry(entry string) bool {
	return IsGUID(entry) || ValidAddress(strings.ToLower(entry))
}

// Authorizer decides what a caller may do: central IT administrators are
// listed in configuration, delegates in each agency's record, each as a
// user principal name or an object id (see Principal.Is). Every workflow
// asks it before acting for someone.
type Authorizer struct {
	agencies       AgencyStore
	admins         []string
	allowAnonymous bool
}

// NewAuthorizer returns an Authorizer for the administrators admins (user
// principal names or object ids, see Principal.Is), reading delegates from
// agencies. allowAnonymous lets a request without any identity act as an
// admin: only for a developer's own machine; configuration refuses it in
// Azure.
func NewAuthorizer(agencies AgencyStore, admins []string, allowAnonymous bool) *Authorizer {
	var list []string
	for _, a := range admins {
		if a = strings.TrimSpace(a); a != "" {
			list = append(list, a)
		}
	}
	return &Authorizer{agencies: agencies, admins: list, allowAnonymous: allowAnonymous}
}

// isAdmin reports whether p is listed as an administrator.
func (s *Authorizer) isAdmin(p *Principal) bool {
	return slices.ContainsFunc(s.admins, p.Is)
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
	if s.isAdmin(caller) {
		return Access{Who: caller.who(), Admin: true}, nil
	}
	agencies, err := s.agencies.ListAgencies(ctx)
	if err != nil {
		return Access{}, err
	}
	acc := Access{Who: caller.who()}
	for _, a := range agencies {
		if slices.ContainsFunc(a.Delegates, caller.Is) {
			acc.Agencies = append(acc.Agencies, a.ID)
		}
	}
	return acc, nil
}

// RequireAdmin returns the caller's access when it is an admin, Forbidden
// when it is someone else, and Unauthenticated when it is nobody.
func (s *Authorizer) RequireAdmin(ctx context.Context, op string, caller *Principal) (Access, error) {
	if s.isAdmin(caller) {
		return Access{Who: caller.who(), Admin: true}, nil
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
