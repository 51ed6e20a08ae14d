package intake

import (
	"context"
	"fmt"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// maxNamedLines bounds the ledger lines a refusal names one by one.
const maxNamedLines = 5

// poInLedger refuses purchase order po of agency when the ledger holds
// lines for it that no service request wrote (rows of the imported tracking
// sheet, say): recording the order would count those seats a second time.
// The refusal is a Conflict (409), not Invalid: the order is well formed,
// but the ledger has it already, so sending it again cannot succeed. It
// names the lines and says how to change them. Lines a service request
// wrote are those of the agency's request for that PO, which the
// duplicate-submission check answers.
func (s *Service) poInLedger(ctx context.Context, op, agency, po string) error {
	po = strings.TrimSpace(po)
	if agency == "" || po == "" {
		return nil
	}
	lines, err := s.cfg.Purchases.ListPurchases(ctx, licensing.PurchaseFilter{Agency: agency})
	if err != nil {
		return err
	}
	var names []string
	for _, p := range lines {
		if p.Corrects == "" && p.SRID == "" && strings.EqualFold(strings.TrimSpace(p.PONumber), po) {
			names = append(names, licensing.DescribeLine(p))
		}
	}
	if len(names) == 0 {
		return nil
	}
	n := len(names)
	if n > maxNamedLines {
		names = append(names[:maxNamedLines], fmt.Sprintf("and %d more", n-maxNamedLines))
	}
	return &licensing.Error{Op: op, Code: licensing.Conflict,
		Message: fmt.Sprintf("Purchase order %s of agency %s is in the ledger already, as %s; recording it again would count its seats twice. "+
			"To change a quantity, central IT posts a correction for that line to /api/purchases/corrections; another purchase needs its own PO number.",
			po, agency, strings.Join(names, "; ")),
		Fields: []licensing.FieldError{{Field: "poNumber", Message: fmt.Sprintf("%s is in the ledger already (%s)", po, licensing.Plural(n, "line"))}}}
}
