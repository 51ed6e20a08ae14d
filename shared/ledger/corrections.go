package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// maxKeyLen bounds an idempotency key.
const maxKeyLen = 200

// Correction is a correction as an administrator asks for it.
type Correction struct {
	// Corrects is the id of the line to correct, or of one of its
	// corrections (which stands for the line it corrects).
	Corrects string
	// Quantity is the seats to add (positive) or to remove (negative).
	Quantity int
	// Reason says why; it goes into the line and the audit log.
	Reason string
	// UnitPrice and Currency, optional and together, are the price of one
	// seat for one year of the seats corrected, as typed; without them the
	// correction costs the price of the line it corrects.
	UnitPrice, Currency string
	// Key is the caller's idempotency key: sent again with the same
	// correction it returns the correction recorded the first time instead
	// of applying it again.
	Key string
}

// CorrectionResult is the correction recorded for a key.
type CorrectionResult struct {
	Line licensing.Purchase
	// Created is false when the key's correction had been recorded before:
	// Line is that correction and nothing was applied again.
	Created bool
}

// CorrectPurchase records a correction of line c.Corrects: a new line of the
// same agency, product and term whose quantity is c.Quantity (non-zero), so
// that the line's total (its quantity plus all its corrections) becomes the
// old total plus c.Quantity, which must not fall below zero, also when
// corrections of the line run at the same time (the store checks and writes
// in one conditional step). A correction of a correction corrects the
// original line. c.Reason is required and kept in the line and in the audit
// log. c.Key is required: the correction's id is derived from it, so the
// same key with the same correction returns the line recorded first
// (Created false), and the same key with another correction is a Conflict.
// The correction is in force whenever the line it corrects is. Admins only.
func (s *Service) CorrectPurchase(ctx context.Context, caller *licensing.Principal, c Correction) (CorrectionResult, error) {
	const op = "purchases.correct"
	acc, err := s.cfg.Auth.RequireAdmin(ctx, op, caller)
	if err != nil {
		return CorrectionResult{}, err
	}
	c.Corrects, c.Reason, c.Key = strings.TrimSpace(c.Corrects), strings.TrimSpace(c.Reason), strings.TrimSpace(c.Key)
	price, currency, err := validCorrection(op, c)
	if err != nil {
		return CorrectionResult{}, err
	}
	all, err := s.cfg.Purchases.ListPurchases(ctx, licensing.PurchaseFilter{})
	if err != nil {
		return CorrectionResult{}, err
	}
	byID := make(map[string]licensing.Purchase, len(all))
	for _, p := range all {
		byID[p.ID] = p
	}
	base, found := byID[c.Corrects]
	if found && base.Corrects != "" {
		base, found = byID[base.Corrects]
	}
	id := correctionID(c.Key)
	if prev, ok := byID[id]; ok {
		return replay(op, prev, base.ID, c, price)
	}
	if !found {
		return CorrectionResult{}, licensing.Errorf(op, licensing.NotFound, "There is no purchase line %q.", licensing.Truncate(c.Corrects))
	}
	if total := licensing.LineTotal(all, base.ID); total+c.Quantity < 0 {
		return CorrectionResult{}, licensing.NegativeTotal(op, base.ID, total, c.Quantity)
	}
	now := s.now().UTC()
	line := licensing.Purchase{
		ID:          id,
		Agency:      base.Agency,
		SkuID:       base.SkuID,
		PartNumber:  base.PartNumber,
		Quantity:    c.Quantity,
		TermStart:   base.TermStart,
		TermEnd:     base.TermEnd,
		PONumber:    base.PONumber,
		Reseller:    base.Reseller,
		Agreement:   base.Agreement,
		UnitPrice:   price,
		Currency:    currency,
		SRID:        base.SRID,
		Source:      licensing.SourceCorrection,
		Corrects:    base.ID,
		ActivatedAt: &now,
		Created:     now,
		CreatedBy:   acc.Who,
		Reason:      c.Reason,
	}
	stored, created, err := s.cfg.Purchases.AddCorrection(ctx, line, acc.Who, c.Reason)
	if err != nil {
		return CorrectionResult{}, err
	}
	if !created {
		// The same key, sent at the same time, was recorded first.
		return replay(op, stored, base.ID, c, price)
	}
	return CorrectionResult{Line: stored, Created: true}, nil
}

// validCorrection checks the fields of c, trimmed, and returns its price.
func validCorrection(op string, c Correction) (*licensing.Amount, string, error) {
	var fe licensing.FieldErrors
	price, currency := licensing.ParsePrice(c.UnitPrice, c.Currency, "", &fe)
	if c.Corrects == "" {
		fe.Add("corrects", "is required: the id of the line to correct")
	}
	switch {
	case c.Quantity == 0:
		fe.Add("quantity", "must not be 0: give the seats to add (positive) or remove (negative)")
	case c.Quantity > licensing.MaxQuantity || c.Quantity < -licensing.MaxQuantity:
		fe.Add("quantity", "must be from -%d to %d", licensing.MaxQuantity, licensing.MaxQuantity)
	}
	switch {
	case c.Reason == "":
		fe.Add("reason", "is required: say why the line is corrected (it goes into the audit log)")
	case len(c.Reason) > maxReasonLen:
		fe.Add("reason", "must be at most %d characters", maxReasonLen)
	case strings.IndexFunc(c.Reason, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0:
		fe.Add("reason", "must not contain control characters")
	}
	switch {
	case c.Key == "":
		fe.Add("idempotencyKey", "is required (the Idempotency-Key header): a new unique value, such as a UUID, for each correction, sent again unchanged when the same correction is retried")
	case len(c.Key) > maxKeyLen || licensing.HasControl(c.Key):
		fe.Add("idempotencyKey", "must be at most %d characters without control characters", maxKeyLen)
	}
	return price, currency, fe.Err(op, "The correction")
}

// correctionID is the id of the correction recorded for idempotency key
// key.
func correctionID(key string) string {
	sum := sha256.Sum256([]byte("correction\x1f" + key))
	return "c-" + hex.EncodeToString(sum[:16])
}

// replay answers a correction whose key was recorded as prev: the same
// correction (of line baseID, same quantity, reason and price) returns
// prev; any other is a Conflict.
func replay(op string, prev licensing.Purchase, baseID string, c Correction, price *licensing.Amount) (CorrectionResult, error) {
	samePrice := (prev.UnitPrice == nil) == (price == nil) && (price == nil || *prev.UnitPrice == *price)
	if prev.Corrects == baseID && prev.Quantity == c.Quantity && prev.Reason == c.Reason && samePrice {
		return CorrectionResult{Line: prev}, nil
	}
	return CorrectionResult{}, licensing.Errorf(op, licensing.Conflict,
		"Idempotency key %q was used already, for correction %s of line %s (%+d seats, reason %q), which is not this correction. Use a new key for a new correction.",
		licensing.Truncate(c.Key), prev.ID, prev.Corrects, prev.Quantity, licensing.Truncate(prev.Reason))
}
