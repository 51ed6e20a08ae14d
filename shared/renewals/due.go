package renewals

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// DueLine is a purchase line of an agency whose term ends within the
// reminder horizon.
type DueLine struct {
	ID         string
	PONumber   string
	Product    string
	PartNumber string
	// Quantity is the line's seats after its corrections.
	Quantity  int
	TermStart licensing.Date
	TermEnd   licensing.Date
	// DaysLeft counts from today to the term end (0 on the last day).
	DaysLeft int
	// Agreement names the agreement ("Enterprise Agreement", "CSP", "a la
	// carte", "not recorded"); Advice says how the line is renewed.
	Agreement string
	Advice    string
}

// DueRenewals are an agency's purchase lines that end within Horizon days
// of On, soonest first.
type DueRenewals struct {
	Agency  string
	On      licensing.Date
	Horizon int
	Lines   []DueLine
}

// RenewalsDue returns the lines of agency that end within the largest
// reminder threshold (90 days by default) of today, counted as the
// reminders count them: active base lines with their corrections, not
// replaced by a renewal, not ended. Admins and the agency's delegates may
// read them; anyone else is Forbidden, and an unknown agency is NotFound.
func (s *Service) RenewalsDue(ctx context.Context, caller *licensing.Principal, agency string) (DueRenewals, error) {
	const op = "renewals.due"
	acc, err := s.cfg.Auth.Authorize(ctx, op, caller)
	if err != nil {
		return DueRenewals{}, err
	}
	agency = licensing.NormalizeAgencyID(agency)
	if !acc.CanActFor(agency) {
		return DueRenewals{}, licensing.Errorf(op, licensing.Forbidden, "You may see only your own agency's renewals.")
	}
	if _, err := s.cfg.Agencies.GetAgency(ctx, agency); err != nil {
		return DueRenewals{}, err
	}
	purchases, err := s.cfg.Purchases.ListPurchases(ctx, licensing.PurchaseFilter{Agency: agency})
	if err != nil {
		return DueRenewals{}, err
	}
	catalog, _ := licensing.ProductNames(ctx, s.cfg.Catalog)
	on := s.today()
	due := DueRenewals{Agency: agency, On: on, Horizon: slices.Max(s.cfg.Thresholds), Lines: []DueLine{}}
	for _, p := range renewable(purchases, on) {
		left := on.DaysUntil(p.TermEnd)
		if p.Agency != agency || left > due.Horizon {
			continue
		}
		prod := catalog.Product(p.SkuID, p.PartNumber)
		due.Lines = append(due.Lines, DueLine{ID: p.ID, PONumber: p.PONumber, Product: prod.Name, PartNumber: prod.PartNumber, Quantity: p.Quantity,
			TermStart: p.TermStart, TermEnd: p.TermEnd, DaysLeft: left, Agreement: agreementName(p.Agreement), Advice: s.lineAdvice(p)})
	}
	sort.SliceStable(due.Lines, func(i, j int) bool {
		a, b := due.Lines[i], due.Lines[j]
		if !a.TermEnd.Equal(b.TermEnd) {
			return a.TermEnd.Before(b.TermEnd)
		}
		return a.PONumber < b.PONumber
	})
	return due, nil
}

// lineAdvice says how line p is renewed, by its agreement.
func (s *Service) lineAdvice(p licensing.Purchase) string {
	switch agreementKind(p.Agreement) {
	case licensing.AgreementALaCarte:
		return fiscalYearAdvice(p.TermEnd, s.cfg.Terms)
	case licensing.AgreementEnterprise:
		return fmt.Sprintf("Renew through your reseller or the Microsoft account team before %s, and send the renewal's purchase order to central IT.", p.TermEnd)
	case licensing.AgreementCSP:
		with := "the reseller"
		if p.Reseller != "" {
			with += " (" + p.Reseller + ")"
		}
		return fmt.Sprintf("Renew with %s before %s, and send the renewal's purchase order to central IT.", with, p.TermEnd)
	}
	return fmt.Sprintf("Send a new purchase order to central IT before %s.", p.TermEnd)
}
