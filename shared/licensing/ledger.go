package licensing

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
)

// Audit actions of the ledger, as stores record them in AuditEntry.Action.
const (
	// AuditAdded: a line was written.
	AuditAdded = "added"
	// AuditActivated: a pending line came into force.
	AuditActivated = "activated"
)

// Limits of the ledger's API.
const (
	// defaultAuditLimit and maxAuditLimit bound PurchaseAudit.
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
	// maxReasonLen bounds the reason of a correction.
	maxReasonLen = 1000
)

// Entitlement is what one agency may use of one product on a day: the sum
// of the quantities of its purchase lines in force that day (section 3).
type Entitlement struct {
	Agency     string `json:"agency"`
	SkuID      string `json:"skuId"`
	PartNumber string `json:"skuPartNumber,omitempty"`
	Quantity   int    `json:"quantity"`
	// Lines are the ids of the lines counted, corrections included.
	Lines []string `json:"lines"`
}

// DefaultTermEnd returns the last day of a term that starts on start when
// the purchase order names none: an enterprise agreement runs
// t.EnterpriseYears (three) years, a CSP subscription one year, and an
// a-la-carte purchase (and any other kind) ends on the next fiscal-year end
// on or after start (June 30 by default, seed 001).
func DefaultTermEnd(agreement string, start Date, t Terms) Date {
	if start.IsZero() {
		return Date{}
	}
	switch agreement {
	case AgreementEnterprise:
		years := t.EnterpriseYears
		if years <= 0 {
			years = DefaultTerms().EnterpriseYears
		}
		return start.AddYears(years).AddDays(-1)
	case AgreementCSP:
		return start.AddYears(1).AddDays(-1)
	}
	return fiscalYearEnd(start, t)
}

// fiscalYearEnd returns the first fiscal-year end on or after d.
func fiscalYearEnd(d Date, t Terms) Date {
	m, day := fiscalYearEndOf(t)
	end := NewDate(d.Time().Year(), m, day)
	if end.Before(d) {
		end = NewDate(d.Time().Year()+1, m, day)
	}
	return end
}

// FiscalYear returns the term of the fiscal year that ends in year: from the
// day after the previous fiscal-year end plus the grace period (when the
// previous year's licenses stop counting, so that a renewal neither leaves
// a gap nor counts twice) to the fiscal-year end. With the default terms
// FY2026 is 2025-08-01 to 2026-06-30 (seed 001: licenses end June 30 and are
// bought again for the fiscal year beginning August 1).
func FiscalYear(year int, t Terms) (start, end Date) {
	m, day := fiscalYearEndOf(t)
	end = NewDate(year, m, day)
	prev := NewDate(year-1, m, day)
	grace := max(t.GraceDays, 0)
	start = prev.AddDays(1 + grace)
	if start.After(end) {
		start = prev.AddDays(1)
	}
	return start, end
}

// fiscalYearEndOf returns the month and day fiscal years end on, the
// default ones when t's are unusable.
func fiscalYearEndOf(t Terms) (time.Month, int) {
	if t.FiscalYearEndMonth < time.January || t.FiscalYearEndMonth > time.December || t.FiscalYearEndDay < 1 || t.FiscalYearEndDay > 31 {
		def := DefaultTerms()
		return def.FiscalYearEndMonth, def.FiscalYearEndDay
	}
	return t.FiscalYearEndMonth, t.FiscalYearEndDay
}

// ledgerIndex answers, for a set of lines, which are in force on a day.
type ledgerIndex struct {
	byID map[string]*Purchase
	// replacedFrom is, per line id, the earliest term start of an active
	// renewal line that replaces it.
	replacedFrom map[string]Date
}

func newLedgerIndex(all []Purchase) ledgerIndex {
	ix := ledgerIndex{byID: make(map[string]*Purchase, len(all)), replacedFrom: map[string]Date{}}
	for i := range all {
		ix.byID[all[i].ID] = &all[i]
	}
	for _, r := range all {
		if r.ActivatedAt == nil || r.TermStart.IsZero() {
			continue
		}
		for _, id := range r.Replaces {
			old, ok := ix.byID[id]
			if !ok || old.Agency != r.Agency {
				continue
			}
			if from, ok := ix.replacedFrom[id]; !ok || r.TermStart.Before(from) {
				ix.replacedFrom[id] = r.TermStart
			}
		}
	}
	return ix
}

// base returns the line whose window p counts with: the corrected line for
// a correction (when known), else p itself.
func (ix ledgerIndex) base(p Purchase) Purchase {
	if p.Corrects != "" {
		if b, ok := ix.byID[p.Corrects]; ok && b.Agency == p.Agency {
			return *b
		}
	}
	return p
}

// inForce reports whether p counts on day on.
func (ix ledgerIndex) inForce(p Purchase, on Date, t Terms) bool {
	if p.ActivatedAt == nil {
		return false
	}
	b := ix.base(p)
	if b.ActivatedAt == nil || b.TermStart.IsZero() || b.TermEnd.IsZero() {
		return false
	}
	grace := max(t.GraceDays, 0)
	if on.Before(b.TermStart) || on.After(b.TermEnd.AddDays(grace)) {
		return false
	}
	if from, ok := ix.replacedFrom[b.ID]; ok && !on.Before(from) {
		return false
	}
	return true
}

// InForce reports whether line p counts on day on, given all the lines of
// the ledger (at least those of p's agency): it must be active, on must lie
// between its term start and its term end plus the grace period, and no
// active renewal line that lists it in Replaces may have started by on. A
// correction counts exactly when the line it corrects does.
func InForce(p Purchase, all []Purchase, on Date, t Terms) bool {
	return newLedgerIndex(all).inForce(p, on, t)
}

// EntitlementOf returns how many seats of SKU skuID agency may use on day
// on: the sum of the quantities of the lines in force that day, never less
// than zero.
func EntitlementOf(purchases []Purchase, agency, skuID string, on Date, t Terms) int {
	for _, e := range entitlementsOn(purchases, on, t) {
		if e.Agency == agency && strings.EqualFold(e.SkuID, skuID) {
			return e.Quantity
		}
	}
	return 0
}

// entitlementsOn sums the lines in force on day on per agency and SKU,
// ordered by agency and SKU id.
func entitlementsOn(all []Purchase, on Date, t Terms) []Entitlement {
	ix := newLedgerIndex(all)
	type key struct{ agency, sku string }
	sums := map[key]*Entitlement{}
	var keys []key
	for _, p := range all {
		if !ix.inForce(p, on, t) {
			continue
		}
		k := key{p.Agency, strings.ToLower(p.SkuID)}
		e, ok := sums[k]
		if !ok {
			e = &Entitlement{Agency: p.Agency, SkuID: k.sku}
			sums[k] = e
			keys = append(keys, k)
		}
		if e.PartNumber == "" {
			e.PartNumber = p.PartNumber
		}
		e.Quantity += p.Quantity
		e.Lines = append(e.Lines, p.ID)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].agency != keys[j].agency {
			return keys[i].agency < keys[j].agency
		}
		return keys[i].sku < keys[j].sku
	})
	out := make([]Entitlement, 0, len(keys))
	for _, k := range keys {
		e := sums[k]
		if e.Quantity < 0 {
			e.Quantity = 0
		}
		sort.Strings(e.Lines)
		out = append(out, *e)
	}
	return out
}

// RenewedLines returns the ids of the lines a renewal of agency's SKU skuID
// starting on start replaces: the active lines (not corrections, which
// follow their line) of that agency and SKU that began before start and are
// still in force, grace included, on start. Sorted.
func RenewedLines(existing []Purchase, agency, skuID string, start Date, t Terms) []string {
	ix := newLedgerIndex(existing)
	var out []string
	for _, p := range existing {
		if p.Agency != agency || !strings.EqualFold(p.SkuID, skuID) || p.Corrects != "" || !p.TermStart.Before(start) {
			continue
		}
		if ix.inForce(p, start, t) {
			out = append(out, p.ID)
		}
	}
	sort.Strings(out)
	return out
}

// Entitlements returns every agency's entitlement per product on day on,
// for the jobs (reports, provisioning, audits), which act for central IT.
func (s *Service) Entitlements(ctx context.Context, on Date) ([]Entitlement, error) {
	all, err := s.cfg.Purchases.ListPurchases(ctx, PurchaseFilter{})
	if err != nil {
		return nil, err
	}
	return entitlementsOn(all, on, s.cfg.Terms), nil
}

// ListEntitlements returns the entitlements on day on of one agency, or of
// every agency when agency is empty (admins only). Delegates see their own
// agencies only.
func (s *Service) ListEntitlements(ctx context.Context, caller *Principal, agency string, on Date) ([]Entitlement, error) {
	const op = "purchases.entitlements"
	agency, err := s.ledgerScope(ctx, op, caller, agency)
	if err != nil {
		return nil, err
	}
	if on.IsZero() {
		return nil, Errorf(op, Invalid, "Name the day to count on, like 2026-08-01.")
	}
	lines, err := s.cfg.Purchases.ListPurchases(ctx, PurchaseFilter{Agency: agency})
	if err != nil {
		return nil, err
	}
	return entitlementsOn(lines, on, s.cfg.Terms), nil
}

// ListPurchases returns ledger lines filtered by f, ordered by agency, term
// start and id. Admins see every agency; a delegate must name an agency it
// acts for.
func (s *Service) ListPurchases(ctx context.Context, caller *Principal, f PurchaseFilter) ([]Purchase, error) {
	const op = "purchases.list"
	agency, err := s.ledgerScope(ctx, op, caller, f.Agency)
	if err != nil {
		return nil, err
	}
	f.Agency = agency
	f.SRID = strings.TrimSpace(f.SRID)
	return s.cfg.Purchases.ListPurchases(ctx, f)
}

// ledgerScope checks that caller may read agency's part of the ledger (all
// of it when agency is empty: admins only) and returns agency normalized.
func (s *Service) ledgerScope(ctx context.Context, op string, caller *Principal, agency string) (string, error) {
	acc, err := s.Authorize(ctx, op, caller)
	if err != nil {
		return "", err
	}
	agency = NormalizeAgencyID(agency)
	if agency != "" && !ValidAgencyID(agency) {
		return "", &Error{Op: op, Code: Invalid, Message: "The query has 1 problem; see fields.",
			Fields: []FieldError{{Field: "agency", Message: fmt.Sprintf("%q is not an agency code", truncate(agency))}}}
	}
	switch {
	case acc.Admin:
		return agency, nil
	case agency == "":
		return "", Errorf(op, Forbidden, "Only central IT administrators may see every agency's purchases; name your agency (?agency=%s).", firstOr(acc.Agencies, "ID"))
	case !acc.CanActFor(agency):
		return "", Errorf(op, Forbidden, "You may see only the purchases of the agencies you are a delegate of.")
	}
	return agency, nil
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}

// PurchaseAudit returns the newest audit entries of agency's ledger, at most
// limit (100 when 0, 1000 at most). Admins, and delegates of the agency.
func (s *Service) PurchaseAudit(ctx context.Context, caller *Principal, agency string, limit int) ([]AuditEntry, error) {
	const op = "purchases.audit"
	if strings.TrimSpace(agency) == "" {
		if _, err := s.Authorize(ctx, op, caller); err != nil {
			return nil, err
		}
		return nil, &Error{Op: op, Code: Invalid, Message: "The query has 1 problem; see fields.",
			Fields: []FieldError{{Field: "agency", Message: "is required: the audit log is kept per agency"}}}
	}
	agency, err := s.ledgerScope(ctx, op, caller, agency)
	if err != nil {
		return nil, err
	}
	switch {
	case limit < 0:
		return nil, &Error{Op: op, Code: Invalid, Message: "The query has 1 problem; see fields.",
			Fields: []FieldError{{Field: "limit", Message: fmt.Sprintf("must be from 1 to %d", maxAuditLimit)}}}
	case limit == 0:
		limit = defaultAuditLimit
	case limit > maxAuditLimit:
		limit = maxAuditLimit
	}
	return s.cfg.Purchases.PurchaseAudit(ctx, agency, limit)
}

// CorrectPurchase records a correction of line corrects: a new line of the
// same agency, product and term whose quantity is delta (non-zero), so that
// the line's total (its quantity plus all its corrections) becomes the old
// total plus delta, which must not fall below zero. A correction of a
// correction corrects the original line. reason is required and kept in
// the line and in the audit log. The correction is in force whenever the
// line it corrects is. Admins only.
func (s *Service) CorrectPurchase(ctx context.Context, caller *Principal, corrects string, delta int, reason string) (Purchase, error) {
	const op = "purchases.correct"
	acc, err := s.requireAdmin(ctx, op, caller)
	if err != nil {
		return Purchase{}, err
	}
	corrects = strings.TrimSpace(corrects)
	reason = strings.TrimSpace(reason)
	var fe fieldErrors
	if corrects == "" {
		fe.add("corrects", "is required: the id of the line to correct")
	}
	switch {
	case delta == 0:
		fe.add("quantity", "must not be 0: give the seats to add (positive) or remove (negative)")
	case delta > maxQuantity || delta < -maxQuantity:
		fe.add("quantity", "must be from -%d to %d", maxQuantity, maxQuantity)
	}
	switch {
	case reason == "":
		fe.add("reason", "is required: say why the line is corrected (it goes into the audit log)")
	case len(reason) > maxReasonLen:
		fe.add("reason", "must be at most %d characters", maxReasonLen)
	case strings.IndexFunc(reason, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0:
		fe.add("reason", "must not contain control characters")
	}
	if err := fe.err(op, "The correction"); err != nil {
		return Purchase{}, err
	}
	all, err := s.cfg.Purchases.ListPurchases(ctx, PurchaseFilter{})
	if err != nil {
		return Purchase{}, err
	}
	var base *Purchase
	for i := range all {
		if all[i].ID == corrects {
			base = &all[i]
			break
		}
	}
	if base != nil && base.Corrects != "" {
		orig := base.Corrects
		base = nil
		for i := range all {
			if all[i].ID == orig {
				base = &all[i]
				break
			}
		}
	}
	if base == nil {
		return Purchase{}, Errorf(op, NotFound, "There is no purchase line %q.", truncate(corrects))
	}
	total := base.Quantity
	for _, p := range all {
		if p.Corrects == base.ID && p.Agency == base.Agency {
			total += p.Quantity
		}
	}
	if total+delta < 0 {
		return Purchase{}, &Error{Op: op, Code: Invalid, Message: "The correction has 1 problem; see fields.",
			Fields: []FieldError{{Field: "quantity", Message: fmt.Sprintf("would leave line %s with %d seats; it has %d, so remove at most %d", base.ID, total+delta, total, total)}}}
	}
	now := s.now().UTC()
	line := Purchase{
		ID:          "c-" + s.newID(),
		Agency:      base.Agency,
		SkuID:       base.SkuID,
		PartNumber:  base.PartNumber,
		Quantity:    delta,
		TermStart:   base.TermStart,
		TermEnd:     base.TermEnd,
		PONumber:    base.PONumber,
		Reseller:    base.Reseller,
		Agreement:   base.Agreement,
		SRID:        base.SRID,
		Source:      SourceCorrection,
		Corrects:    base.ID,
		ActivatedAt: &now,
		Created:     now,
		CreatedBy:   acc.Who,
		Reason:      reason,
	}
	if _, err := s.cfg.Purchases.AddPurchases(ctx, []Purchase{line}, acc.Who, reason); err != nil {
		return Purchase{}, err
	}
	return line, nil
}
