package memstore

import (
	"context"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// checkIdentities returns the Conflict of the first line of lines not
// stored yet whose identity (licensing.LineIdentity) another line holds:
// a stored one, or one earlier in lines. The caller holds l.mu.
func (l *ledger) checkIdentities(op string, lines []licensing.Purchase) error {
	held := map[string]licensing.Purchase{}
	for _, p := range l.lines {
		if k, ok := licensing.LineIdentity(p); ok {
			if h, dup := held[k]; !dup || p.ID < h.ID {
				held[k] = p
			}
		}
	}
	for _, p := range lines {
		if _, stored := l.lines[p.ID]; stored {
			continue
		}
		k, ok := licensing.LineIdentity(p)
		if !ok {
			continue
		}
		if h, taken := held[k]; taken && h.ID != p.ID {
			return licensing.IdentityTaken(op, h)
		}
		held[k] = p
	}
	return nil
}

// AddCorrection writes correction c of line c.Corrects with its audit entry
// when the line's total (its quantity and its corrections) stays at zero or
// above (see licensing.PurchaseStore). The check and the write happen under
// one lock. A stored line with c.ID is returned as it is, created false.
func (s *Store) AddCorrection(ctx context.Context, c licensing.Purchase, who, why string) (licensing.Purchase, bool, error) {
	const op = "memstore.addCorrection"
	if err := ctx.Err(); err != nil {
		return licensing.Purchase{}, false, unavailable(op, err)
	}
	if badKey(c.ID) || badKey(c.Agency) || badKey(c.Corrects) {
		return licensing.Purchase{}, false, licensing.Errorf(op, licensing.Invalid, "A correction needs an id, an agency and the line it corrects, without '/', '\\', '#', '?' or control characters.")
	}
	l := s.ledger()
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, ok := l.lines[c.ID]; ok {
		return copyPurchase(prev), false, nil
	}
	base, ok := l.lines[c.Corrects]
	switch {
	case !ok || base.Agency != c.Agency:
		return licensing.Purchase{}, false, licensing.Errorf(op, licensing.NotFound, "Purchase line %s of agency %s does not exist.", c.Corrects, c.Agency)
	case base.Corrects != "":
		return licensing.Purchase{}, false, licensing.Errorf(op, licensing.Invalid, "Line %s is a correction itself; correct line %s instead.", base.ID, base.Corrects)
	}
	total := base.Quantity
	for _, p := range l.lines {
		if p.Corrects == base.ID && p.Agency == base.Agency {
			total += p.Quantity
		}
	}
	if total+c.Quantity < 0 {
		return licensing.Purchase{}, false, licensing.NegativeTotal(op, base.ID, total, c.Quantity)
	}
	l.record(c, who, why)
	return copyPurchase(c), true, nil
}
