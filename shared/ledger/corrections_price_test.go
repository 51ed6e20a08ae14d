package ledger_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/ledger"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// TestCorrectionPrice: a correction may carry a price of its own, stored
// with it on each store; a price without a currency, or a bad price, is a
// field error and nothing is written; the same key with another price is a
// conflict.
func TestCorrectionPrice(t *testing.T) {
	onEachStore(t, func(t *testing.T, svc *ledger.Service, store ledgerStore) {
		ctx := context.Background()
		line := importedLine(t, svc, store, 10)
		res, err := svc.CorrectPurchase(ctx, adminCaller, ledger.Correction{Corrects: line.ID, Quantity: 2, Reason: "two more at the new price",
			UnitPrice: "199.5", Currency: "usd", Key: "k-1"})
		if err != nil {
			t.Fatal(err)
		}
		if p := res.Line.UnitPrice; p == nil || p.String() != "199.50" || res.Line.Currency != "USD" {
			t.Errorf("correction's price = %v %q, want 199.50 USD", p, res.Line.Currency)
		}
		lines, _ := store.ListPurchases(ctx, licensing.PurchaseFilter{})
		for _, l := range lines {
			if l.ID == res.Line.ID && (l.UnitPrice == nil || l.UnitPrice.String() != "199.50" || l.Currency != "USD") {
				t.Errorf("stored correction = %+v", l)
			}
		}
		for _, c := range []struct {
			price, currency, field, says string
		}{
			{"199.5", "", "currency", "is missing"},
			{"-1", "USD", "unitPrice", "negative"},
			{"1.00001", "USD", "unitPrice", "more than 4 decimals"},
		} {
			_, err := svc.CorrectPurchase(ctx, adminCaller, ledger.Correction{Corrects: line.ID, Quantity: 1, Reason: "x", UnitPrice: c.price, Currency: c.currency, Key: "k-bad"})
			fields := licensing.ErrorFields(err)
			if licensing.PolicyOf(err).HTTPStatus != 422 || len(fields) != 1 || fields[0].Field != c.field || !strings.Contains(fields[0].Message, c.says) {
				t.Errorf("price %q %q: %v %+v; want 422 on %s saying %q", c.price, c.currency, err, fields, c.field, c.says)
			}
		}
		if _, n := lineTotal(t, store, line.ID); n != 2 {
			t.Errorf("%d lines after the refused corrections, want 2", n)
		}
		_, err = svc.CorrectPurchase(ctx, adminCaller, ledger.Correction{Corrects: line.ID, Quantity: 2, Reason: "two more at the new price",
			UnitPrice: "150", Currency: "USD", Key: "k-1"})
		if licensing.ErrorCode(err) != licensing.Conflict {
			t.Errorf("the same key with another price: %v, want a conflict", err)
		}
	})
}
