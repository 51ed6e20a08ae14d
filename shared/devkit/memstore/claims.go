package memstore

import "github.com/shared-tenant/licensetrack/shared/licensing"

// checkClaims refuses agency a when another agency holds one of the claims
// of its attribution rule (see licensing.AttributionClaim): Conflict,
// naming that agency. The caller holds s.mu.
func (s *Store) checkClaims(op string, a licensing.Agency) error {
	for _, c := range a.Attribution.Claims() {
		if holder, ok := s.claims[c.Key]; ok && holder != a.ID {
			return licensing.AttributionTaken(op, c, holder, false)
		}
	}
	return nil
}

// takeClaims gives agency a, which checkClaims let through, the claims of
// its rule and releases those of its stored rule. The caller holds s.mu.
func (s *Store) takeClaims(a licensing.Agency) {
	if s.claims == nil {
		s.claims = map[string]string{}
	}
	if cur, ok := s.agencies[a.ID]; ok {
		for key := range cur.Attribution.ClaimKeys() {
			delete(s.claims, key)
		}
	}
	for _, c := range a.Attribution.Claims() {
		s.claims[c.Key] = a.ID
	}
}
