package memstore

import (
	"context"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// GrantsFor returns the grants of skuID made for agency and those of the
// users listed, each once, ordered by user id.
func (s *Store) GrantsFor(ctx context.Context, skuID, agency string, users []string) ([]licensing.LicenseGrant, error) {
	const op = "memstore.grantsFor"
	if err := ctx.Err(); err != nil {
		return nil, unavailable(op, err)
	}
	if err := checkSku(op, skuID); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.prov().grants[skuID]
	var out []licensing.LicenseGrant
	for _, g := range all {
		if g.Agency == agency {
			out = append(out, g)
		}
	}
	seen := map[string]bool{}
	for _, id := range users {
		if g, ok := all[id]; ok && g.Agency != agency && !seen[id] {
			seen[id] = true
			out = append(out, g)
		}
	}
	sortBy(out, func(g licensing.LicenseGrant) string { return g.UserID })
	return out, nil
}
