package provisioning

import (
	"context"
	"sort"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.ProvisioningReader = (*Service)(nil)

// State answers GET /api/provisioning: the provisioning state of agency, or
// with agency empty of every agency the caller may see (an admin: all; a
// delegate: their own). A delegate asking for another agency is Forbidden.
func (s *Service) State(ctx context.Context, caller *licensing.Principal, agency string) ([]licensing.ProvisioningState, error) {
	const op = "provisioning.state"
	acc, err := s.cfg.Auth.Authorize(ctx, op, caller)
	if err != nil {
		return nil, err
	}
	agency = licensing.NormalizeAgencyID(agency)
	switch {
	case agency != "" && !acc.CanActFor(agency):
		return nil, licensing.Errorf(op, licensing.Forbidden, "You may see only your own agency's provisioning.")
	case agency == "" && !acc.Admin && len(acc.Agencies) == 0:
		return nil, licensing.Errorf(op, licensing.Forbidden, "Only central IT and agency delegates may see provisioning.")
	}
	var ids []string
	if agency != "" {
		if _, err := s.cfg.Agencies.GetAgency(ctx, agency); err != nil {
			return nil, err
		}
		ids = []string{agency}
	} else {
		all, err := s.cfg.Agencies.ListAgencies(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range all {
			if acc.CanActFor(a.ID) && len(a.DelegatedGroups) > 0 {
				ids = append(ids, a.ID)
			}
		}
	}
	out := make([]licensing.ProvisioningState, 0, len(ids))
	for _, id := range ids {
		st, err := s.ProvisioningState(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// ProvisioningState returns where agency's delegated groups stood after the
// last run, with each product's cap as of today. It reads the product's
// records, and the tenant's SKUs only for a product the catalog does not
// name.
func (s *Service) ProvisioningState(ctx context.Context, agency string) (licensing.ProvisioningState, error) {
	a, err := s.cfg.Agencies.GetAgency(ctx, agency)
	if err != nil {
		return licensing.ProvisioningState{}, err
	}
	st := licensing.ProvisioningState{Agency: a.ID, Products: []licensing.ProductSeats{}}
	if len(a.DelegatedGroups) == 0 {
		return st, nil
	}
	if n, err := s.cfg.Seats.GetNotice(ctx, a.ID, noticeRun); err == nil {
		st.AsOf = n.Sent
	} else if licensing.ErrorCode(err) != licensing.NotFound {
		return st, err
	}
	purchases, err := s.cfg.Purchases.ListPurchases(ctx, licensing.PurchaseFilter{Agency: a.ID})
	if err != nil {
		return st, err
	}
	today := licensing.DateOf(s.cfg.Now(), s.cfg.Location)
	names := s.names(ctx)
	var tenant []licensing.TenantSku
	for _, dg := range a.DelegatedGroups {
		p := licensing.ProductSeats{PartNumber: dg.Product, Name: dg.Product, GroupID: strings.ToLower(dg.GroupID)}
		if prod, ok := names.Lookup(dg.Product); ok {
			p.SkuID, p.PartNumber, p.Name = prod.SkuID, prod.PartNumber, prod.Name
		} else if licensing.IsGUID(dg.Product) {
			p.SkuID = strings.ToLower(dg.Product)
		} else {
			// A part number the catalog does not know: the tenant's SKUs
			// name it.
			if tenant == nil {
				if tenant, err = s.cfg.Directory.SubscribedSkus(ctx); err != nil {
					return st, err
				}
			}
			if k, ok := findSku(tenant, dg.Product); ok {
				p.SkuID, p.PartNumber = k.SkuID, k.PartNumber
			}
		}
		if p.SkuID != "" {
			p.Cap = licensing.EntitlementOf(purchases, a.ID, p.SkuID, today, s.cfg.Terms)
			seats, err := s.cfg.Seats.SeatMembers(ctx, a.ID, p.SkuID)
			if err != nil {
				return st, err
			}
			fill(&p, seats)
		}
		st.Products = append(st.Products, p)
	}
	return st, nil
}

// fill sorts a group's remembered members into the lists of p, each in the
// stable order (first seen, then UPN).
func fill(p *licensing.ProductSeats, seats []licensing.SeatMember) {
	sort.Slice(seats, func(i, j int) bool {
		a, b := seats[i], seats[j]
		if !a.FirstSeen.Equal(b.FirstSeen) {
			return a.FirstSeen.Before(b.FirstSeen)
		}
		return strings.ToLower(a.UserPrincipalName) < strings.ToLower(b.UserPrincipalName)
	})
	p.Assigned, p.LicensedElsewhere, p.Waitlist, p.Errors, p.WouldFree = []licensing.SeatEntry{}, []licensing.SeatEntry{}, []licensing.SeatEntry{}, []licensing.SeatEntry{}, []licensing.SeatEntry{}
	for _, m := range seats {
		e := licensing.SeatEntry{UserID: m.UserID, UserPrincipalName: m.UserPrincipalName}
		switch m.State {
		case licensing.SeatAssigned:
			e.Since = m.Since
			p.Assigned = append(p.Assigned, e)
			if m.Disabled {
				p.WouldFree = append(p.WouldFree, e)
			}
		case licensing.SeatElsewhere:
			p.LicensedElsewhere = append(p.LicensedElsewhere, e)
		case licensing.SeatWaiting:
			e.Since = m.Since
			p.Waitlist = append(p.Waitlist, e)
		}
		if m.Error != "" {
			p.Errors = append(p.Errors, licensing.SeatEntry{UserID: m.UserID, UserPrincipalName: m.UserPrincipalName, Error: m.Error})
		}
	}
}
