package xlsx

import (
	"bytes"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// excelizeRaw reads a cell's value as stored, unformatted.
var excelizeRaw = excelize.Options{RawCellValue: true}

// TestCostCells reads back the cost cells of an agency workbook: exact
// decimal values, number formats carrying the currency code, right-aligned
// under right-aligned headers, and blank (not 0) where no price is known.
func TestCostCells(t *testing.T) {
	var buf bytes.Buffer
	if err := NewReportWriter().WriteAgencyReport(&buf, agencyReport(), nil); err != nil {
		t.Fatal(err)
	}
	f := openBook(t, buf.Bytes())
	for cell, want := range map[string]string{"J11": "276.1234", "K11": "276123.4000", "L11": "331348.0800", "M11": "55224.6800", "K10": "3750.0000"} {
		raw, err := f.GetCellValue(sheetSummary, cell, excelizeRaw)
		if err != nil || raw != want {
			t.Errorf("Summary!%s = %q (%v), want %s", cell, raw, err, want)
		}
		id, _ := f.GetCellStyle(sheetSummary, cell)
		st, err := f.GetStyle(id)
		if err != nil || st.CustomNumFmt == nil || *st.CustomNumFmt != moneyFormat("USD") || st.Alignment == nil || st.Alignment.Horizontal != "right" {
			t.Errorf("Summary!%s style = %+v (%v), want the USD money format, right-aligned", cell, st, err)
		}
	}
	for _, cell := range []string{"J9", "K9", "L9", "M9"} {
		id, _ := f.GetCellStyle(sheetSummary, cell)
		if st, _ := f.GetStyle(id); st.Alignment == nil || st.Alignment.Horizontal != "right" {
			t.Errorf("header Summary!%s is not right-aligned", cell)
		}
	}
	// The project has no price: its cost cells are empty, not 0.
	for _, cell := range []string{"I12", "J12", "K12", "L12", "M12"} {
		if v, _ := f.GetCellValue(sheetSummary, cell, excelizeRaw); v != "" {
			t.Errorf("Summary!%s = %q, want blank", cell, v)
		}
	}
}

// TestCostsSheetFormats checks the enterprise summary's Costs sheet keeps
// each currency in its own format.
func TestCostsSheetFormats(t *testing.T) {
	s := licensing.EnterpriseSummary{Date: reportDate, Rows: []licensing.EnterpriseRow{
		{Agency: "DOA", ProductLine: licensing.ProductLine{Name: "Visio", Purchased: 1, Cost: cost("USD", "10", "10", "0", "0")}},
		{Agency: "DET", ProductLine: licensing.ProductLine{Name: "Visio", Purchased: 1, Cost: cost("EUR", "9", "9", "0", "0")}},
	}}
	var buf bytes.Buffer
	if err := NewReportWriter().WriteEnterpriseSummary(&buf, s, nil, nil); err != nil {
		t.Fatal(err)
	}
	f := openBook(t, buf.Bytes())
	for cell, cur := range map[string]string{"D2": "USD", "D3": "EUR", "D4": "EUR", "D5": "USD"} {
		id, _ := f.GetCellStyle(sheetCosts, cell)
		st, err := f.GetStyle(id)
		if err != nil || st.CustomNumFmt == nil || *st.CustomNumFmt != moneyFormat(cur) {
			t.Errorf("Costs!%s format = %v, want %s's", cell, st.CustomNumFmt, cur)
		}
	}
}

// TestWriteChargeback reads back the chargeback workbook: rows, amounts in
// their currency's format, the line without a price blank and flagged, and
// the totals per agency and currency.
func TestWriteChargeback(t *testing.T) {
	m, _ := licensing.ParseMonth("2026-11")
	p := func(s string) *licensing.Amount { a, _ := licensing.ParseAmount(s); return &a }
	c := licensing.Chargeback{Month: m, From: m.First(), To: m.Last(), Unpriced: 1,
		Rows: []licensing.ChargebackRow{
			{Agency: "DOA", Product: "Office 365 E3", PONumber: "PO-1", Line: "a", Seats: 10, UnitPrice: p("240"), Currency: "USD", Days: 30, MonthDays: 30, Amount: p("200")},
			{Agency: "DOA", Product: "Office 365 E3", PONumber: "PO-1", Line: "a-c1", Corrects: "a", Seats: -2, UnitPrice: p("240"), Currency: "USD", Days: 30, MonthDays: 30, Amount: ptrAmount(-40 * licensing.AmountScale)},
			{Agency: "DOA", Product: "Visio", PONumber: "PO-2", Line: "b", Seats: 4, UnitPrice: p("180"), Currency: "EUR", Days: 15, MonthDays: 30, Amount: p("30")},
			{Agency: "DOT", Product: "Office 365 E3", PONumber: "PO-3", Line: "c", Seats: 5, Days: 30, MonthDays: 30, Flag: licensing.FlagNoPrice},
		},
		Totals: []licensing.ChargebackTotal{
			{Agency: "DOA", Currency: "EUR", Amount: *p("30")}, {Agency: "DOA", Currency: "USD", Amount: *p("160")}, {Agency: "DOT", Unpriced: 1},
			{Unpriced: 1}, {Currency: "EUR", Amount: *p("30")}, {Currency: "USD", Amount: *p("160")},
		}}
	var buf bytes.Buffer
	if err := NewReportWriter().WriteChargeback(&buf, c); err != nil {
		t.Fatal(err)
	}
	f := openBook(t, buf.Bytes())
	rows, _ := f.GetRows(sheetChargeback)
	want := [][]string{
		{"Agency", "Product", "PO", "Line", "Seats", "Unit price (seat, year)", "Currency", "Days charged", "Amount", "Charged", "Note"},
		{"DOA", "Office 365 E3", "PO-1", "a", "10", "240.00 USD", "USD", "30", "200.00 USD", "1 month"},
		{"DOA", "Office 365 E3", "PO-1", "a-c1", "-2", "240.00 USD", "USD", "30", "-40.00 USD", "1 month", "correction of a"},
		{"DOA", "Visio", "PO-2", "b", "4", "180.00 EUR", "EUR", "15", "30.00 EUR", "15 of 30 days"},
		{"DOT", "Office 365 E3", "PO-3", "c", "5", "", "", "30", "", "1 month", licensing.FlagNoPrice},
	}
	if len(rows) < 9 {
		t.Fatalf("rows = %q", rows)
	}
	for i, w := range want {
		if got := rows[4+i]; !slicesEqual(got, w) {
			t.Errorf("row %d = %q, want %q", 5+i, got, w)
		}
	}
	if fill := fillOf(t, f, sheetChargeback, "I9"); fill != flaggedFill {
		t.Errorf("the line without a price is not flagged: fill %q", fill)
	}
	totals, _ := f.GetRows(sheetTotals)
	wantTotals := [][]string{
		{"Agency", "Currency", "Amount", "Lines without a price"},
		{"DOA", "EUR", "30.00 EUR", "0"}, {"DOA", "USD", "160.00 USD", "0"}, {"DOT", "no price", "", "1"},
		{"Total", "no price", "", "1"}, {"Total", "EUR", "30.00 EUR", "0"}, {"Total", "USD", "160.00 USD", "0"},
	}
	for i, w := range wantTotals {
		if i >= len(totals) || !slicesEqual(totals[i], w) {
			t.Errorf("totals row %d = %q, want %q", i+1, totals[min(i, len(totals)-1)], w)
		}
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func ptrAmount(a licensing.Amount) *licensing.Amount { return &a }
