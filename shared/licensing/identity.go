package licensing

import (
	"fmt"
	"strings"
)

// LineIdentity returns the ledger identity of line p and whether it has
// one: its agency, its PO number (without case) and its SKU id (without
// case). The ledger holds at most one line per identity, whichever way the
// line came in (a service request, an import); a change to its quantity is
// a correction of that line. A correction has no identity of its own (it
// belongs to the line it corrects), and neither has a line without a PO
// number or a SKU id.
func LineIdentity(p Purchase) (string, bool) {
	po := strings.ToUpper(strings.TrimSpace(p.PONumber))
	sku := strings.ToLower(strings.TrimSpace(p.SkuID))
	if po == "" || sku == "" || p.Corrects != "" || p.Source == SourceCorrection {
		return "", false
	}
	return p.Agency + "\x1f" + po + "\x1f" + sku, true
}

// DescribeLine names line p for a message: its id, PO number, product,
// quantity and source.
func DescribeLine(p Purchase) string {
	product := p.PartNumber
	if product == "" {
		product = p.SkuID
	}
	source := p.Source
	if p.SRID != "" {
		source += " " + p.SRID
	}
	return fmt.Sprintf("line %s (PO %s, %s, %s, from %s)", p.ID, p.PONumber, product, Plural(p.Quantity, "seat"), source)
}

// CorrectionHint tells how to change the quantity of line id: a correction
// posted for that line, not a second line.
func CorrectionHint(id string) string {
	return fmt.Sprintf(`To change its quantity, POST a correction for that line to /api/purchases/corrections: {"corrects": %q, "quantity": <seats to add, negative to remove>, "reason": "..."} with an Idempotency-Key header.`, id)
}

// IdentityTaken returns the Conflict error that refuses a second line with
// the ledger identity of line existing (see LineIdentity): it names that
// line and says how to correct it.
func IdentityTaken(op string, existing Purchase) *Error {
	return Errorf(op, Conflict, "Agency %s already has %s for this PO number and product; the ledger keeps one line per PO and product. %s",
		existing.Agency, DescribeLine(existing), CorrectionHint(existing.ID))
}

// LineTotal returns the seats of line id in all: its quantity plus the
// quantities of all its corrections (in force or not).
func LineTotal(all []Purchase, id string) int {
	total := 0
	agency := ""
	for _, p := range all {
		if p.ID == id && p.Corrects == "" {
			total += p.Quantity
			agency = p.Agency
		}
	}
	for _, p := range all {
		if p.Corrects == id && p.Agency == agency {
			total += p.Quantity
		}
	}
	return total
}

// NegativeTotal returns the Invalid error that refuses a correction of
// delta seats to line id, whose total (its quantity and its corrections) is
// total, because it would leave the line with fewer than zero seats. It
// names the line, its total and the largest decrease allowed.
func NegativeTotal(op, id string, total, delta int) *Error {
	largest := max(total, 0)
	return &Error{Op: op, Code: Invalid,
		Message: fmt.Sprintf("Line %s has %s now (its quantity and its corrections); a correction of %d would leave %d. Remove at most %d.",
			id, Plural(total, "seat"), delta, total+delta, largest),
		Fields: []FieldError{{Field: "quantity", Message: fmt.Sprintf("would leave line %s with %d seats; it has %d, so remove at most %d", id, total+delta, total, largest)}}}
}
