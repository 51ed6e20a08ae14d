package licensing

import (
	"sort"
	"strings"
	"time"
)

// Audit actions of the ledger, as stores record them in AuditEntry.Action.
const (
	// AuditAdded: a line was written.
	AuditAdded = "added"
	// AuditActivated: a pending line came into force.
	AuditActivated = "activated"
)

// Entitlement is what one agency may use of one product on a day: the sum
// of the quantities of its purchase lines in force that day.
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
// on or after start (June 30 by default).
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
// FY2026 is 2025-08-01 to 2026-06-30 (licenses end June 30 and are
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
	for _, e := range EntitlementsOn(purchases, on, t) {
		if e.Agency == agency && strings.EqualFold(e.SkuID, skuID) {
			return e.Quantity
		}
	}
	return 0
}

// EntitlementsOn sums the lines in force on day on per agency and SKU,
// ordered by agency and SKU id.
func EntitlementsOn(all []Purchase, on Date, t Terms) []Entitlement {
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

// CountedLines returns agency's purchase lines (corrections excepted) in
// force on day on, each with its quantity after the corrections of it in
// force that day.
func CountedLines(all []Purchase, agency string, on Date, t Terms) []Purchase {
	ix := newLedgerIndex(all)
	var out []Purchase
	for _, p := range all {
		if p.Agency != agency || p.Source == SourceCorrection || !ix.inForce(p, on, t) {
			continue
		}
		for _, c := range all {
			if c.Corrects == p.ID && ix.inForce(c, on, t) {
				p.Quantity += c.Quantity
			}
		}
		out = append(out, p)
	}
	return out
}
