package memstore

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.PurchaseStore = (*Store)(nil)

// ledger holds one Store's purchase lines and their audit log.
type ledger struct {
	mu    sync.Mutex
	lines map[string]licensing.Purchase // key: id
	// audit per agency, in the order written.
	audit map[string][]licensing.AuditEntry
}

func (s *Store) ledger() *ledger {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ledgerState == nil {
		s.ledgerState = &ledger{lines: map[string]licensing.Purchase{}, audit: map[string][]licensing.AuditEntry{}}
	}
	return s.ledgerState
}

// AddPurchases writes the lines not stored yet, each with an audit entry
// (at the line's Created time, or now when it has none). Lines already
// stored, and repeated ids, are skipped; added lists the ids written. A
// line whose identity (licensing.LineIdentity) another line holds, stored
// or earlier in lines, is a Conflict naming that line, and nothing is
// written.
func (s *Store) AddPurchases(ctx context.Context, lines []licensing.Purchase, who, why string) ([]string, error) {
	const op = "memstore.addPurchases"
	if err := ctx.Err(); err != nil {
		return nil, unavailable(op, err)
	}
	for _, p := range lines {
		if badKey(p.ID) || badKey(p.Agency) {
			return nil, licensing.Errorf(op, licensing.Invalid, "A purchase line needs an id and an agency without '/', '\\', '#', '?' or control characters.")
		}
	}
	l := s.ledger()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkIdentities(op, lines); err != nil {
		return nil, err
	}
	var added []string
	for _, p := range lines {
		if _, ok := l.lines[p.ID]; ok {
			continue
		}
		l.record(p, who, why)
		added = append(added, p.ID)
	}
	return added, nil
}

// record stores line p with the audit entry of its addition (at the line's
// Created time, or now when it has none). The caller holds l.mu.
func (l *ledger) record(p licensing.Purchase, who, why string) {
	p = copyPurchase(p)
	l.lines[p.ID] = p
	at := p.Created
	if at.IsZero() {
		at = time.Now().UTC()
	}
	detail, _ := json.Marshal(p)
	l.audit[p.Agency] = append(l.audit[p.Agency], licensing.AuditEntry{
		At: at, Who: who, Action: licensing.AuditAdded, Agency: p.Agency, Purchase: p.ID, Why: why, Detail: string(detail),
	})
}

// ActivatePurchases puts agency's pending lines ids in force at at, with an
// audit entry each. Active lines are left alone; an unknown id (or one of
// another agency) is NotFound and nothing changes.
func (s *Store) ActivatePurchases(ctx context.Context, agency string, ids []string, at time.Time, who, why string) error {
	const op = "memstore.activatePurchases"
	if err := ctx.Err(); err != nil {
		return unavailable(op, err)
	}
	l := s.ledger()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		if p, ok := l.lines[id]; !ok || p.Agency != agency {
			return licensing.Errorf(op, licensing.NotFound, "Purchase line %s of agency %s does not exist.", id, agency)
		}
	}
	at = at.UTC()
	for _, id := range ids {
		p := l.lines[id]
		if p.ActivatedAt != nil {
			continue
		}
		t := at
		p.ActivatedAt = &t
		l.lines[id] = p
		l.audit[agency] = append(l.audit[agency], licensing.AuditEntry{
			At: at, Who: who, Action: licensing.AuditActivated, Agency: agency, Purchase: id, Why: why,
		})
	}
	return nil
}

// ListPurchases returns the lines matching f in ledger order
// (licensing.SortLedger).
func (s *Store) ListPurchases(ctx context.Context, f licensing.PurchaseFilter) ([]licensing.Purchase, error) {
	const op = "memstore.listPurchases"
	if err := ctx.Err(); err != nil {
		return nil, unavailable(op, err)
	}
	l := s.ledger()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []licensing.Purchase
	for _, p := range l.lines {
		if (f.Agency != "" && p.Agency != f.Agency) || (f.SRID != "" && p.SRID != f.SRID) {
			continue
		}
		out = append(out, copyPurchase(p))
	}
	licensing.SortLedger(out)
	return out, nil
}

// PurchaseAudit returns agency's audit entries newest first (the later
// written first among equal times), at most limit (all when limit <= 0).
func (s *Store) PurchaseAudit(ctx context.Context, agency string, limit int) ([]licensing.AuditEntry, error) {
	const op = "memstore.purchaseAudit"
	if err := ctx.Err(); err != nil {
		return nil, unavailable(op, err)
	}
	l := s.ledger()
	l.mu.Lock()
	defer l.mu.Unlock()
	log := l.audit[agency]
	out := make([]licensing.AuditEntry, 0, len(log))
	for i := len(log) - 1; i >= 0; i-- {
		out = append(out, log[i])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// badKey reports whether v could not be a table key (see tablestore).
func badKey(v string) bool {
	return v == "" || len(v) > 1024 || strings.ContainsAny(v, `/\#?`) || strings.IndexFunc(v, unicode.IsControl) >= 0
}

func copyPurchase(p licensing.Purchase) licensing.Purchase {
	p.Replaces = append([]string(nil), p.Replaces...)
	if p.ActivatedAt != nil {
		t := *p.ActivatedAt
		p.ActivatedAt = &t
	}
	if p.UnitPrice != nil {
		a := *p.UnitPrice
		p.UnitPrice = &a
	}
	return p
}
