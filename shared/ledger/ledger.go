package ledger

import (
	"context"
	"fmt"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Limits of the ledger's API.
const (
	// defaultAuditLimit and maxAuditLimit bound PurchaseAudit.
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
	// maxReasonLen bounds the reason of a correction.
	maxReasonLen = 1000
)

// Entitlements returns every agency's entitlement per product on day on,
// for the jobs (reports, provisioning, audits), which act for central IT.
func (s *Service) Entitlements(ctx context.Context, on licensing.Date) ([]licensing.Entitlement, error) {
	all, err := s.cfg.Purchases.ListPurchases(ctx, licensing.PurchaseFilter{})
	if err != nil {
		return nil, err
	}
	return licensing.EntitlementsOn(all, on, s.cfg.Terms), nil
}

// ListEntitlements returns the entitlements on day on of one agency, or of
// every agency when agency is empty (admins only). Delegates see their own
// agencies only.
func (s *Service) ListEntitlements(ctx context.Context, caller *licensing.Principal, agency string, on licensing.Date) ([]licensing.Entitlement, error) {
	const op = "purchases.entitlements"
	agency, err := s.ledgerScope(ctx, op, caller, agency)
	if err != nil {
		return nil, err
	}
	if on.IsZero() {
		return nil, licensing.Errorf(op, licensing.Invalid, "Name the day to count on, like 2026-08-01.")
	}
	lines, err := s.cfg.Purchases.ListPurchases(ctx, licensing.PurchaseFilter{Agency: agency})
	if err != nil {
		return nil, err
	}
	return licensing.EntitlementsOn(lines, on, s.cfg.Terms), nil
}

// ListPurchases returns ledger lines filtered by f, ordered by agency, term
// start and id. Admins see every agency; a delegate must name an agency it
// acts for.
func (s *Service) ListPurchases(ctx context.Context, caller *licensing.Principal, f licensing.PurchaseFilter) ([]licensing.Purchase, error) {
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
func (s *Service) ledgerScope(ctx context.Context, op string, caller *licensing.Principal, agency string) (string, error) {
	acc, err := s.cfg.Auth.Authorize(ctx, op, caller)
	if err != nil {
		return "", err
	}
	agency = licensing.NormalizeAgencyID(agency)
	if agency != "" && !licensing.ValidAgencyID(agency) {
		return "", &licensing.Error{Op: op, Code: licensing.Invalid, Message: "The query has 1 problem; see fields.",
			Fields: []licensing.FieldError{{Field: "agency", Message: fmt.Sprintf("%q is not an agency code", licensing.Truncate(agency))}}}
	}
	switch {
	case acc.Admin:
		return agency, nil
	case agency == "":
		return "", licensing.Errorf(op, licensing.Forbidden, "Only central IT administrators may see every agency's purchases; name your agency (?agency=%s).", firstOr(acc.Agencies, "ID"))
	case !acc.CanActFor(agency):
		return "", licensing.Errorf(op, licensing.Forbidden, "You may see only the purchases of the agencies you are a delegate of.")
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
func (s *Service) PurchaseAudit(ctx context.Context, caller *licensing.Principal, agency string, limit int) ([]licensing.AuditEntry, error) {
	const op = "purchases.audit"
	if strings.TrimSpace(agency) == "" {
		if _, err := s.cfg.Auth.Authorize(ctx, op, caller); err != nil {
			return nil, err
		}
		return nil, &licensing.Error{Op: op, Code: licensing.Invalid, Message: "The query has 1 problem; see fields.",
			Fields: []licensing.FieldError{{Field: "agency", Message: "is required: the audit log is kept per agency"}}}
	}
	agency, err := s.ledgerScope(ctx, op, caller, agency)
	if err != nil {
		return nil, err
	}
	switch {
	case limit < 0:
		return nil, &licensing.Error{Op: op, Code: licensing.Invalid, Message: "The query has 1 problem; see fields.",
			Fields: []licensing.FieldError{{Field: "limit", Message: fmt.Sprintf("must be from 1 to %d", maxAuditLimit)}}}
	case limit == 0:
		limit = defaultAuditLimit
	case limit > maxAuditLimit:
		limit = maxAuditLimit
	}
	return s.cfg.Purchases.PurchaseAudit(ctx, agency, limit)
}
