package ledger_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/ledger"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// TestImportPriceColumns reads the optional Unit price and Currency
// columns: a price with its currency is kept exact on the line, a row
// without either has none, and a price without a currency, a currency
// without a price, a negative, non-numeric or over-precise price, or an
// unknown currency rejects the row saying what to fix.
func TestImportPriceColumns(t *testing.T) {
	f := newLedgerFixture(t)
	withTenant(t, f)
	csv := strings.Join([]string{
		"Agency,PO Number,License Type,Qty,Term Start,Term End,Unit Price,Currency",
		"DOA,PO-1,VISIOCLIENT,25,2025-08-01,2026-06-30,180.1234,usd", // 2
		"DOA,PO-2,VISIOCLIENT,5,2025-08-01,2026-06-30,,",             // 3
		"DOA,PO-3,VISIOCLIENT,5,2025-08-01,2026-06-30,180,",          // 4
		"DOA,PO-4,VISIOCLIENT,5,2025-08-01,2026-06-30,,EUR",          // 5
		"DOA,PO-5,VISIOCLIENT,5,2025-08-01,2026-06-30,-1,EUR",        // 6
		"DOA,PO-6,VISIOCLIENT,5,2025-08-01,2026-06-30,ten,EUR",       // 7
		"DOA,PO-7,VISIOCLIENT,5,2025-08-01,2026-06-30,1.23456,EUR",   // 8
		"DOA,PO-8,VISIOCLIENT,5,2025-08-01,2026-06-30,12,EURO",       // 9
	}, "\r\n")
	res := importCSV(t, f, csv, true)
	want := map[int]string{
		2: ledger.ImportImported, 3: ledger.ImportImported,
		4: "Currency is missing", 5: "Unit price is missing", 6: "is negative", 7: `"ten" is not a price`,
		8: "more than 4 decimals", 9: `"EURO" is not an ISO 4217 currency code`,
	}
	for _, r := range res.Outcomes {
		w := want[r.Row]
		if r.Outcome != w && !strings.Contains(r.Reason, w) {
			t.Errorf("row %d: %s %q, want %q", r.Row, r.Outcome, r.Reason, w)
		}
		if r.Outcome == ledger.ImportRejected && r.Row < 4 {
			t.Errorf("row %d rejected: %s", r.Row, r.Reason)
		}
	}
	if res.Columns["unitPrice"] == "" || res.Columns["currency"] == "" {
		t.Errorf("columns read = %v, want the price and currency", res.Columns)
	}
	lines, err := f.store.ListPurchases(context.Background(), licensing.PurchaseFilter{Agency: "DOA"})
	if err != nil {
		t.Fatal(err)
	}
	prices := map[string]string{}
	for _, l := range lines {
		prices[l.PONumber] = "none"
		if l.UnitPrice != nil {
			prices[l.PONumber] = l.UnitPrice.String() + " " + l.Currency
		}
	}
	if prices["PO-1"] != "180.1234 USD" || prices["PO-2"] != "none" || len(prices) != 2 {
		t.Errorf("prices stored = %v", prices)
	}
}
