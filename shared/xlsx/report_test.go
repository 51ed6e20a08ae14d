package xlsx

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// chicago stands for the configured zone; a fixed offset keeps the test
// independent of the machine's time zone database.
var chicago = time.FixedZone("America/Chicago", -5*3600)

var (
	reportDate = licensing.NewDate(2026, 8, 3)
	dataAsOf   = time.Date(2026, 8, 3, 11, 30, 0, 0, time.UTC) // 06:30 in Chicago
	signIn     = time.Date(2026, 7, 30, 19, 5, 0, 0, time.UTC) // 14:05 in Chicago
)

func agencyReport() licensing.AgencyReport {
	return licensing.AgencyReport{
		Agency:     licensing.Agency{ID: "DOA", Name: "Department of Administration"},
		Date:       reportDate,
		DataAsOf:   dataAsOf,
		SnapshotID: "snap-20260803",
		Products: []licensing.ProductLine{
			{SkuID: "s1", PartNumber: "VISIOCLIENT", Name: "Visio Plan 2", Purchased: 25, InUse: 20, Available: 5, Status: licensing.ProductOK, Disabled: 1, Inactive: 2,
				Cost: cost("USD", "150", "3750", "3000", "0")},
			{SkuID: "s2", PartNumber: "ENTERPRISEPACK", Name: "Office 365 E3", Purchased: 1000, InUse: 1200, Available: -200, Status: licensing.ProductOver, Disabled: 3,
				Cost: cost("USD", "276.1234", "276123.4", "331348.08", "55224.68")},
			{SkuID: "s3", PartNumber: "PROJECTPROFESSIONAL", Name: "", Purchased: 10, Available: 10, Status: licensing.ProductUnused},
		},
		Purchases: []licensing.PurchaseLine{
			{PONumber: "4500012345", Reseller: "SHI", ProductName: "Visio Plan 2", PartNumber: "VISIOCLIENT", Quantity: 25,
				TermStart: licensing.NewDate(2025, 8, 1), TermEnd: licensing.NewDate(2026, 7, 31), DaysToEnd: -3, InGrace: true},
			{PONumber: "4500012399", Reseller: "CDW-G", ProductName: "Office 365 E3", PartNumber: "ENTERPRISEPACK", Quantity: 1000,
				TermStart: licensing.NewDate(2026, 1, 1), TermEnd: licensing.NewDate(2026, 12, 31), DaysToEnd: 150,
				UnitPrice: cost("EUR", "276.1234", "0", "0", "0").UnitPrice, Currency: "EUR"},
		},
		InactiveDays: 90,
		SignInKnown:  true,
		Users:        3,
	}
}

// cost is a product's yearly cost in one currency.
func cost(currency, unit, bought, inUse, over string) *licensing.ProductCost {
	a := func(s string) *licensing.Amount {
		v, err := licensing.ParseAmount(s)
		if err != nil {
			panic(err)
		}
		return &v
	}
	return &licensing.ProductCost{Currency: currency, UnitPrice: a(unit), Bought: []licensing.Money{{Amount: *a(bought), Currency: currency}}, InUse: a(inUse), Over: a(over)}
}

func agencyUsers() []licensing.UserLine {
	return []licensing.UserLine{
		{UserPrincipalName: "ann@doa.example.gov", DisplayName: "Ann Lee", Matched: "department=DOA",
			Licenses:       []licensing.UserLicenseLine{{Name: "Visio Plan 2", PartNumber: "VISIOCLIENT", Direct: true}, {Name: "Office 365 E3", PartNumber: "ENTERPRISEPACK", ByGroup: true}},
			AccountEnabled: true, LastSignIn: &signIn},
		{UserPrincipalName: "bob@doa.example.gov", DisplayName: "Bob Roe", Matched: "companyName=DOA",
			Licenses:       []licensing.UserLicenseLine{{PartNumber: "ENTERPRISEPACK", Direct: true, ByGroup: true}},
			AccountEnabled: false, Reclaim: "account disabled"},
		{UserPrincipalName: "cy@doa.example.gov", DisplayName: "Cy Doe", Matched: "department=DOA",
			Licenses:       []licensing.UserLicenseLine{{Name: "Office 365 E3"}},
			AccountEnabled: true, Reclaim: "never signed in"},
	}
}

func sourceOf(users []licensing.UserLine) licensing.UserSource {
	return func(fn func(licensing.UserLine) error) error {
		for _, u := range users {
			if err := fn(u); err != nil {
				return err
			}
		}
		return nil
	}
}

// bookWant is what a written workbook should show.
type bookWant struct {
	sheets []string
	// rows per sheet, as GetRows shows them (formatted).
	rows map[string][][]string
	// tables per sheet: their ranges.
	tables map[string][]string
	// panes per sheet: the top-left cell of the frozen pane.
	panes map[string]string
	// filters per sheet: the autoFilter range of the worksheet itself
	// (streamed sheets; a table carries its own).
	filters map[string]string
	// fills by "Sheet!A1": the cell's fill colour ("" for none).
	fills map[string]string
	// stamps by "Sheet!A1": the date (or date-time) the cell holds, with
	// the number format it must have.
	stamps map[string]stampWant
	// chart says whether the first sheet has the purchased-vs-in-use chart
	// over the given category and value ranges.
	chart []string
	// minWidths by "Sheet!A": the least width a column must have.
	minWidths map[string]float64
}

type stampWant struct {
	at     time.Time
	format string
}

func openBook(t *testing.T, data []byte) *excelize.File {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("OpenReader: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// zipParts returns the parts of the workbook data by name.
func zipParts(t *testing.T, data []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("zip: %v", err)
	}
	parts := map[string]string{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		parts[zf.Name] = string(b)
	}
	return parts
}

// sheetPart names the worksheet part of the i-th sheet (sheets are created
// in order).
func sheetPart(i int) string { return fmt.Sprintf("xl/worksheets/sheet%d.xml", i+1) }

func split(at string) (sheet, cell string) {
	i := strings.LastIndexByte(at, '!')
	return at[:i], at[i+1:]
}

func fillOf(t *testing.T, f *excelize.File, sheet, cell string) string {
	t.Helper()
	id, err := f.GetCellStyle(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Fill.Color) == 0 {
		return ""
	}
	return st.Fill.Color[0]
}

// checkBook reads data back and compares it with want; it also checks, on
// every sheet, that no cell holds a formula.
func checkBook(t *testing.T, data []byte, want bookWant) *excelize.File {
	t.Helper()
	f := openBook(t, data)
	parts := zipParts(t, data)
	if diff := cmp.Diff(want.sheets, f.GetSheetList()); diff != "" {
		t.Errorf("sheets (-want +got):\n%s", diff)
	}
	for i, sheet := range f.GetSheetList() {
		got, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		if w, ok := want.rows[sheet]; ok {
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("%s rows (-want +got):\n%s", sheet, diff)
			}
		}
		noFormulas(t, f, sheet, got, parts[sheetPart(i)])

		tables, err := f.GetTables(sheet)
		if err != nil {
			t.Fatal(err)
		}
		var ranges []string
		for _, tb := range tables {
			ranges = append(ranges, tb.Range)
		}
		if diff := cmp.Diff(want.tables[sheet], ranges); diff != "" {
			t.Errorf("%s tables (-want +got):\n%s", sheet, diff)
		}

		panes, err := f.GetPanes(sheet)
		if err != nil {
			t.Fatal(err)
		}
		if !panes.Freeze || panes.TopLeftCell != want.panes[sheet] {
			t.Errorf("%s panes = %+v, want frozen above %s", sheet, panes, want.panes[sheet])
		}

		filter := ""
		if _, rest, ok := strings.Cut(parts[sheetPart(i)], `<autoFilter ref="`); ok {
			filter, _, _ = strings.Cut(rest, `"`)
			filter = strings.ReplaceAll(filter, "$", "")
		}
		if filter != want.filters[sheet] {
			t.Errorf("%s autoFilter = %q, want %q", sheet, filter, want.filters[sheet])
		}

		for col := 1; col <= 12; col++ {
			w, err := f.GetColWidth(sheet, colName(col))
			if err != nil {
				t.Fatal(err)
			}
			if w > maxWidth {
				t.Errorf("%s column %s is %v wide, over %d", sheet, colName(col), w, maxWidth)
			}
		}
	}
	for at, fill := range want.fills {
		sheet, c := split(at)
		if got := fillOf(t, f, sheet, c); got != fill {
			t.Errorf("%s fill = %q, want %q", at, got, fill)
		}
	}
	for at, sw := range want.stamps {
		sheet, c := split(at)
		raw, err := f.GetCellValue(sheet, c, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			t.Errorf("%s = %q, want an Excel date number", at, raw)
			continue
		}
		got, err := excelize.ExcelDateToTime(v, false)
		if err != nil || !got.Round(time.Second).Equal(sw.at) {
			t.Errorf("%s = %v (%v), want %v", at, got, err, sw.at)
		}
		if ct, _ := f.GetCellType(sheet, c); ct != excelize.CellTypeUnset && ct != excelize.CellTypeNumber {
			t.Errorf("%s cell type = %v, want a number", at, ct)
		}
		id, _ := f.GetCellStyle(sheet, c)
		st, err := f.GetStyle(id)
		if err != nil || st.CustomNumFmt == nil || *st.CustomNumFmt != sw.format {
			t.Errorf("%s number format = %v (%v), want %q", at, st.CustomNumFmt, err, sw.format)
		}
	}
	for at, min := range want.minWidths {
		sheet, col := split(at)
		if w, _ := f.GetColWidth(sheet, col); w < min {
			t.Errorf("%s width = %v, want at least %v", at, w, min)
		}
	}
	chart, hasChart := parts["xl/charts/chart1.xml"]
	if hasChart != (len(want.chart) > 0) {
		t.Errorf("chart present = %v, want %v", hasChart, len(want.chart) > 0)
	}
	for _, s := range want.chart {
		if !strings.Contains(chart, s) {
			t.Errorf("chart does not contain %q", s)
		}
	}
	if hasChart && !strings.Contains(parts["xl/worksheets/_rels/sheet1.xml.rels"], "drawings/drawing1.xml") {
		t.Errorf("the chart's drawing is not on the first sheet")
	}
	return f
}

// subtotalFormula is the one formula a report writes: a total of a
// column's range that follows the table's filter.
var subtotalFormula = regexp.MustCompile(`^SUBTOTAL\(109,[A-Z]+[0-9]+:[A-Z]+[0-9]+\)$`)

// noFormulas checks that no cell of a sheet holds a formula but totals, in the part
// and through excelize (for sheets small enough to walk cell by cell).
func noFormulas(t *testing.T, f *excelize.File, sheet string, rows [][]string, part string) {
	t.Helper()
	if strings.Count(part, "<f>")+strings.Count(part, "<f ") != strings.Count(part, "<f>SUBTOTAL(109,") {
		t.Errorf("%s has a formula element other than a total's SUBTOTAL(109, …)", sheet)
	}
	if len(rows) > 2000 {
		return
	}
	for r, row := range rows {
		for c := range row {
			cell := ref(c+1, r+1)
			fx, err := f.GetCellFormula(sheet, cell)
			if err != nil || (fx != "" && !subtotalFormula.MatchString(fx)) {
				t.Errorf("%s!%s formula = %q (%v)", sheet, cell, fx, err)
			}
		}
	}
}

func TestWriteAgencyReport(t *testing.T) {
	summaryHead := [][]string{
		{"License report: DOA"},
		{"Agency", "DOA"},
		{"Agency name", "Department of Administration"},
		{"Report date", "2026-08-03"},
		{"Data as of (America/Chicago)", "2026-08-03 06:30", noteDates},
		{"Snapshot", "snap-20260803"},
		{"Licensed users", "3"},
		nil,
		{"Product", "Part number", "Purchased", "In use", "Available", "Status", "Disabled holding it", "Inactive holding it",
			"Currency", "Unit price (seat, year)", "Cost purchased (year)", "Cost in use (year)", "Cost over (year)"},
	}
	usersHeader := []string{"UPN", "Display name", "Matched attribute", "Licenses", "Account enabled", "Last sign-in (America/Chicago)", "Reclaim candidate"}
	purchasesHeader := []string{"PO", "Reseller / source", "Product", "Part number", "Quantity", "Term start", "Term end", "Days to term end", "Note", "Unit price (seat, year)"}
	sheets := []string{"Summary", "Users", "Purchases"}
	panes := map[string]string{"Summary": "A10", "Users": "A2", "Purchases": "A2"}

	empty := agencyReport()
	empty.Products, empty.Purchases, empty.Users, empty.SignInKnown = nil, nil, 0, false

	tests := []struct {
		name   string
		report licensing.AgencyReport
		users  []licensing.UserLine
		want   bookWant
	}{
		{
			name:   "products, users and purchases",
			report: agencyReport(),
			users:  agencyUsers(),
			want: bookWant{
				sheets: sheets,
				rows: map[string][][]string{
					"Summary": append(summaryHead,
						[]string{"Visio Plan 2", "VISIOCLIENT", "25", "20", "5", "OK", "1", "2", "USD", "150.00 USD", "3,750.00 USD", "3,000.00 USD", "0.00 USD"},
						[]string{"Office 365 E3", "ENTERPRISEPACK", "1,000", "1,200", "-200", "Over", "3", "0", "USD", "276.1234 USD", "276,123.40 USD", "331,348.08 USD", "55,224.68 USD"},
						// No price: blank cost cells, not 0.
						[]string{"PROJECTPROFESSIONAL", "PROJECTPROFESSIONAL", "10", "0", "10", "Unused", "0", "0"},
						// Seats of different products are not added; SUBTOTAL's
						// value is written as text (Excel computes it again).
						[]string{"Products over", "", "", "", "", "1", "4", "2"},
						nil,
						[]string{"Costs per year, DOA"},
						[]string{"Currency", "Purchased", "In use", "Over"},
						[]string{"USD", "279,873.40 USD", "334,348.08 USD", "55,224.68 USD"},
						nil,
						[]string{notePurchased},
						[]string{noteAvailable},
						[]string{noteOver},
						[]string{"Disabled and Inactive holding it count users holding the product whose account is disabled, or who have not signed in for 90 days: candidates to reclaim (see Users)."},
						[]string{noteCosts},
						[]string{noteUnknown + " Not counted in the costs per year: 1 product."},
					),
					"Users": {
						usersHeader,
						{"ann@doa.example.gov", "Ann Lee", "department=DOA", "Visio Plan 2 (direct); Office 365 E3 (group)", "Yes", "2026-07-30 14:05"},
						{"bob@doa.example.gov", "Bob Roe", "companyName=DOA", "ENTERPRISEPACK (direct, group)", "No", "", "account disabled"},
						{"cy@doa.example.gov", "Cy Doe", "department=DOA", "Office 365 E3", "Yes", "", "never signed in"},
					},
					"Purchases": {
						purchasesHeader,
						{"4500012345", "SHI", "Visio Plan 2", "VISIOCLIENT", "25", "2025-08-01", "2026-07-31", "-3", "In grace: the term has ended; still counted as purchased."},
						{"4500012399", "CDW-G", "Office 365 E3", "ENTERPRISEPACK", "1,000", "2026-01-01", "2026-12-31", "150", "", "276.1234 EUR"},
						{"Total", "", "", "", "1025"},
						nil,
						{"Purchases in force on the report date, including those in the grace period after the term ends."},
						{"Days to term end counts from the report date; negative means the term has ended and the purchase is in grace."},
						{"The total follows the table's filter: filter Product to total the seats of one product."},
						{"Unit price is the price of one seat for one year as the purchase order quotes it; blank when it was not recorded."},
					},
				},
				tables:  map[string][]string{"Summary": {"A9:M12"}, "Purchases": {"A1:J3"}},
				panes:   panes,
				filters: map[string]string{"Users": "A1:G4"},
				fills: map[string]string{
					"Summary!A10": "", "Summary!A11": overFill, "Summary!H11": overFill, "Summary!A12": unusedFill,
					"Users!A2": "", "Users!A3": flaggedFill, "Users!F3": flaggedFill, "Users!G4": flaggedFill,
					"Purchases!A2": flaggedFill, "Purchases!A3": "",
				},
				stamps: map[string]stampWant{
					"Summary!B4":   {reportDate.Time(), dateFormat},
					"Summary!B5":   {time.Date(2026, 8, 3, 6, 30, 0, 0, time.UTC), stampFormat},
					"Users!F2":     {time.Date(2026, 7, 30, 14, 5, 0, 0, time.UTC), stampFormat},
					"Purchases!F2": {licensing.NewDate(2025, 8, 1).Time(), dateFormat},
					"Purchases!G3": {licensing.NewDate(2026, 12, 31).Time(), dateFormat},
				},
				chart: []string{"Purchased vs in use", "Summary&#39;!$C$9<", "Summary&#39;!$A$10:$A$12", "Summary&#39;!$C$10:$C$12", "Summary&#39;!$D$10:$D$12", `<barDir val="col">`, `<grouping val="clustered">`},
				minWidths: map[string]float64{
					"Summary!A": float64(len("Data as of (America/Chicago)")), "Summary!B": float64(len("PROJECTPROFESSIONAL")),
					"Users!A": float64(len("ann@doa.example.gov")), "Users!D": licensesWidth,
					"Purchases!F": 10,
				},
			},
		},
		{
			name:   "nothing: no products, users or purchases; sign-ins unknown",
			report: empty,
			want: bookWant{
				sheets: sheets,
				rows: map[string][][]string{
					"Summary": append(append([][]string{}, summaryHead[:6]...),
						[]string{"Licensed users", "0"}, nil, summaryHead[8],
						[]string{"No licenses are purchased or in use on the report date."}),
					"Users": {
						{"UPN", "Display name", "Matched attribute", "Licenses", "Account enabled", "Last sign-in: not available (needs Entra ID P1)", "Reclaim candidate"},
						{"No licensed users are attributed to the agency."},
					},
					"Purchases": {purchasesHeader, {"No purchases are in force on the report date."}},
				},
				panes:   panes,
				filters: map[string]string{"Users": "A1:G1"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := NewReportWriter(WithLocation(chicago)).WriteAgencyReport(&buf, tt.report, sourceOf(tt.users)); err != nil {
				t.Fatal(err)
			}
			checkBook(t, buf.Bytes(), tt.want)
		})
	}
}

func TestWriteAgencyReportNilSource(t *testing.T) {
	var buf bytes.Buffer
	if err := NewReportWriter().WriteAgencyReport(&buf, agencyReport(), nil); err != nil {
		t.Fatal(err)
	}
	rows, err := openBook(t, buf.Bytes()).GetRows("Users")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1][0] != "No licensed users are attributed to the agency." {
		t.Errorf("Users = %q", rows)
	}
}

func TestWriteEnterpriseSummary(t *testing.T) {
	s := licensing.EnterpriseSummary{
		Date: reportDate, DataAsOf: dataAsOf, SnapshotID: "snap-20260803", Unattributed: 1, Conflicts: 1,
		Rows: []licensing.EnterpriseRow{
			{Agency: "DOA", AgencyName: "Department of Administration", ProductLine: licensing.ProductLine{PartNumber: "VISIOCLIENT", Name: "Visio Plan 2", Purchased: 25, InUse: 20, Available: 5, Status: licensing.ProductOK,
				Cost: cost("USD", "150", "3750", "3000", "0")}},
			// Bought in two currencies: each shown, never added.
			{Agency: "DOA", AgencyName: "Department of Administration", ProductLine: licensing.ProductLine{PartNumber: "ENTERPRISEPACK", Name: "Office 365 E3", Purchased: 1000, InUse: 1200, Available: -200, Status: licensing.ProductOver,
				Cost: &licensing.ProductCost{Bought: []licensing.Money{{Amount: 100000 * licensing.AmountScale, Currency: "EUR"}, {Amount: 150000 * licensing.AmountScale, Currency: "USD"}}}}},
			{Agency: "DET", AgencyName: "Department of Enterprise Technology", ProductLine: licensing.ProductLine{PartNumber: "VISIOCLIENT", Name: "Visio Plan 2", Purchased: 5, Available: 5, Status: licensing.ProductUnused}},
		},
		Tenant: []licensing.TenantCheckRow{
			{PartNumber: "VISIOCLIENT", Name: "Visio Plan 2", Purchased: 30, Prepaid: 30, Consumed: 20},
			{PartNumber: "ENTERPRISEPACK", Name: "Office 365 E3", Purchased: 1000, Prepaid: 1500, Consumed: 1200, Difference: 500, Note: "500 prepaid units not recorded"},
		},
	}
	unattributed := []licensing.UserLine{{UserPrincipalName: "x@example.gov", DisplayName: "X", Agency: licensing.Unattributed,
		Licenses: []licensing.UserLicenseLine{{Name: "Office 365 E3", Direct: true}}, AccountEnabled: true, LastSignIn: &signIn}}
	conflicts := []licensing.UserLine{{UserPrincipalName: "y@example.gov", DisplayName: "Y", Matched: "department=DOA; companyName=DET",
		Licenses: []licensing.UserLicenseLine{{Name: "Visio Plan 2", ByGroup: true}}, AccountEnabled: false, Reclaim: "account disabled"}}

	var buf bytes.Buffer
	if err := NewReportWriter(WithLocation(chicago)).WriteEnterpriseSummary(&buf, s, sourceOf(unattributed), sourceOf(conflicts)); err != nil {
		t.Fatal(err)
	}
	userHeader := func(matched string) []string {
		return []string{"UPN", "Display name", matched, "Licenses", "Account enabled", "Last sign-in (America/Chicago)", "Reclaim candidate"}
	}
	checkBook(t, buf.Bytes(), bookWant{
		sheets: []string{"Overview", "Agencies", "Costs", "Tenant check", "Unattributed", "Conflicts"},
		rows: map[string][][]string{
			"Costs": {
				{"Agency", "Agency name", "Currency", "Purchased (year)", "In use (year)", "Over (year)", "Products without a price", "Products in several currencies"},
				{"DOA", "Department of Administration", "EUR", "100,000.00 EUR", "0.00 EUR", "0.00 EUR", "0", "1"},
				{"DOA", "Department of Administration", "USD", "153,750.00 USD", "3,000.00 USD", "0.00 USD"},
				{"DET", "Department of Enterprise Technology", "unknown", "", "", "", "1", "0"},
				{"Total", "every agency", "EUR", "100,000.00 EUR", "0.00 EUR", "0.00 EUR", "1", "1"},
				{"Total", "every agency", "USD", "153,750.00 USD", "3,000.00 USD", "0.00 USD"},
				nil,
				{noteCosts},
				{"Amounts in different currencies are never added: an agency or the total with prices in several currencies has a row per currency."},
				{"A product bought in several currencies adds its cost purchased to each currency, and nothing to In use and Over."},
				{noteUnknown + " Such products are counted under Products without a price and left out of the amounts."},
			},
			"Agencies": {
				{"Enterprise license summary"},
				{"Report date", "2026-08-03"},
				{"Data as of (America/Chicago)", "2026-08-03 06:30", noteDates},
				{"Snapshot", "snap-20260803"},
				{"Unattributed users", "1"},
				{"Users in conflict", "1"},
				nil,
				{"Agency", "Agency name", "Product", "Part number", "Purchased", "In use", "Available/Over", "Status",
					"Currency", "Unit price (seat, year)", "Cost purchased (year)", "Cost in use (year)", "Cost over (year)"},
				{"DOA", "Department of Administration", "Visio Plan 2", "VISIOCLIENT", "25", "20", "5", "OK", "USD", "150.00 USD", "3,750.00 USD", "3,000.00 USD", "0.00 USD"},
				{"DOA", "Department of Administration", "Office 365 E3", "ENTERPRISEPACK", "1,000", "1,200", "-200", "Over", "mixed", "mixed", "100,000.00 EUR; 150,000.00 USD", "mixed", "mixed"},
				{"DET", "Department of Enterprise Technology", "Visio Plan 2", "VISIOCLIENT", "5", "0", "5", "Unused"},
				{"Total", "", "", "", "1030", "1220", "-190"},
				nil,
				{notePurchased},
				{"Available/Over = Purchased − In use; negative means over by that many (Status Over, in red). Unused (grey): purchased, and nobody holds it."},
				{"The Unattributed and Conflicts sheets list the users no agency's rule matches, and those more than one matches."},
				{"The totals follow the table's filter: seats of different products do not add up, so filter Product to total one product across agencies."},
				{noteCosts + " The Costs sheet totals them per agency and currency."},
			},
			"Tenant check": {
				{"Product", "Part number", "Purchased by agencies", "Tenant prepaid", "Consumed", "Difference", "Note"},
				{"Visio Plan 2", "VISIOCLIENT", "30", "30", "20", "0"},
				{"Office 365 E3", "ENTERPRISEPACK", "1,000", "1,500", "1,200", "500", "500 prepaid units not recorded"},
				{"Total", "", "1030", "1530", "1220", "500"},
				nil,
				{"Difference = Tenant prepaid − Purchased by agencies (highlighted when not zero)."},
				{"A difference means purchases not recorded here, or a recording error."},
				{"Tenant prepaid counts the tenant's enabled units; Consumed its assigned ones."},
			},
			"Unattributed": {
				userHeader("Matched attribute"),
				{"x@example.gov", "X", "", "Office 365 E3 (direct)", "Yes", "2026-07-30 14:05"},
			},
			"Conflicts": {
				userHeader("Matched (candidates)"),
				{"y@example.gov", "Y", "department=DOA; companyName=DET", "Visio Plan 2 (group)", "No", "", "account disabled"},
			},
		},
		tables: map[string][]string{"Agencies": {"A8:M11"}, "Costs": {"A1:H4"}, "Tenant check": {"A1:G3"}},
		panes:  map[string]string{"Overview": "A2", "Agencies": "A9", "Costs": "A2", "Tenant check": "A2", "Unattributed": "A2", "Conflicts": "A2"},
		// The Overview's chart of the one agency over (DOA, 200 seats).
		chart:   []string{"Seats over what was bought, by agency", "Overview&#39;!$C$8<", "Overview&#39;!$A$9<", "Overview&#39;!$C$9<"},
		filters: map[string]string{"Unattributed": "A1:G2", "Conflicts": "A1:G2"},
		fills: map[string]string{
			"Agencies!A9": "", "Agencies!A10": overFill, "Agencies!G10": overFill, "Agencies!A11": unusedFill,
			"Tenant check!A2": "", "Tenant check!F3": flaggedFill,
			"Unattributed!A2": "", "Conflicts!A2": flaggedFill,
		},
		stamps: map[string]stampWant{
			"Agencies!B2":     {reportDate.Time(), dateFormat},
			"Agencies!B3":     {time.Date(2026, 8, 3, 6, 30, 0, 0, time.UTC), stampFormat},
			"Unattributed!F2": {time.Date(2026, 7, 30, 14, 5, 0, 0, time.UTC), stampFormat},
		},
		minWidths: map[string]float64{"Agencies!B": float64(len("Department of Enterprise Technology"))},
	})
}

// hostile are texts that a spreadsheet could evaluate or cannot store,
// with the value each must be stored as.
var hostile = []struct {
	name, in, want string
}{
	{"hyperlink formula", `=HYPERLINK("http://evil","x")`, `'=HYPERLINK("http://evil","x")`},
	{"plus", "+1+1", "'+1+1"},
	{"minus", "-2", "'-2"},
	{"at", "@SUM(A1)", "'@SUM(A1)"},
	{"tab", "\tcmd", "'\tcmd"},
	{"carriage return", "\r=1", "'\r=1"},
	{"control characters hiding a formula", "\x00\x0b=1+1", "'=1+1"},
	{"control characters inside", "a\x01b\x1fc\x7fd\uFFFEe", "abcde"},
	{"line break kept", "first\nsecond", "first\nsecond"},
	{"invalid UTF-8", "bad\xffbyte", "bad\uFFFDbyte"},
	{"unicode", "Zoë Ångström 名前 😀", "Zoë Ångström 名前 😀"},
}

// tooLong are texts longer than a cell holds, with the value each must be
// stored as.
var tooLong = []struct {
	name, in, want string
}{
	{"40,000 characters", strings.Repeat("x", 40000), strings.Repeat("x", maxCellUnits)},
	{"40,000 characters after =", "=" + strings.Repeat("y", 40000), "'=" + strings.Repeat("y", maxCellUnits-2)},
	{"astral characters at the limit", strings.Repeat("😀", 20000), strings.Repeat("😀", maxCellUnits/2)},
}

// TestFormulaInjection feeds hostile and too long text through every text
// field of both workbooks and reads each cell back: a string, never a
// formula, holding the original text (with an apostrophe in front where it
// could be read as a formula, cut to what a cell holds).
func TestFormulaInjection(t *testing.T) {
	for _, h := range slices.Concat(hostile, tooLong) {
		t.Run(h.name, func(t *testing.T) {
			s := h.in
			user := licensing.UserLine{UserPrincipalName: s, DisplayName: s, Agency: s, Matched: s,
				Licenses: []licensing.UserLicenseLine{{Name: s}}, AccountEnabled: true, Reclaim: s}
			r := agencyReport()
			r.Agency = licensing.Agency{ID: s, Name: s}
			r.SnapshotID = s
			r.Products = []licensing.ProductLine{{Name: s, PartNumber: s, Purchased: 1, InUse: 2, Available: -1, Status: s}}
			r.Purchases = []licensing.PurchaseLine{{PONumber: s, Reseller: s, ProductName: s, PartNumber: s, Quantity: 1}}
			seat := licensing.SeatEntry{UserID: "u", UserPrincipalName: s, Error: s}
			r.Provisioning = &licensing.ProvisioningState{Agency: s, Products: []licensing.ProductSeats{{
				Name: s, GroupID: s, Cap: 1, Assigned: []licensing.SeatEntry{seat}, Errors: []licensing.SeatEntry{seat},
			}}}
			es := licensing.EnterpriseSummary{Date: reportDate, DataAsOf: dataAsOf, SnapshotID: s,
				Rows:   []licensing.EnterpriseRow{{Agency: s, AgencyName: s, ProductLine: r.Products[0]}},
				Tenant: []licensing.TenantCheckRow{{Name: s, PartNumber: s, Note: s}},
			}
			rw := NewReportWriter()

			var agency, enterprise bytes.Buffer
			if err := rw.WriteAgencyReport(&agency, r, sourceOf([]licensing.UserLine{user})); err != nil {
				t.Fatal(err)
			}
			if err := rw.WriteEnterpriseSummary(&enterprise, es, sourceOf([]licensing.UserLine{user}), sourceOf([]licensing.UserLine{user})); err != nil {
				t.Fatal(err)
			}
			for _, book := range []struct {
				data  []byte
				cells []string
			}{
				{agency.Bytes(), []string{"Summary!B2", "Summary!B3", "Summary!B6", "Summary!A10", "Summary!B10", "Summary!F10",
					"Users!A2", "Users!B2", "Users!C2", "Users!D2", "Users!G2",
					"Purchases!A2", "Purchases!B2", "Purchases!C2", "Purchases!D2",
					// Agency, product, group, the members' names and the error.
					"Provisioning!B2", "Provisioning!A7", "Provisioning!B8", "Provisioning!A17", "Provisioning!A18", "Provisioning!D18"}},
				{enterprise.Bytes(), []string{"Agencies!B4", "Agencies!A9", "Agencies!B9", "Agencies!C9", "Agencies!D9", "Agencies!H9",
					"Tenant check!A2", "Tenant check!B2", "Tenant check!G2",
					"Unattributed!A2", "Unattributed!B2", "Unattributed!C2", "Unattributed!D2", "Unattributed!G2",
					"Conflicts!A2", "Conflicts!B2", "Conflicts!C2", "Conflicts!D2", "Conflicts!G2"}},
			} {
				f := openBook(t, book.data)
				parts := zipParts(t, book.data)
				for i, sheet := range f.GetSheetList() {
					rows, err := f.GetRows(sheet)
					if err != nil {
						t.Fatal(err)
					}
					noFormulas(t, f, sheet, rows, parts[sheetPart(i)])
				}
				for _, at := range book.cells {
					sheet, c := split(at)
					got, err := f.GetCellValue(sheet, c, excelize.Options{RawCellValue: true})
					if err != nil {
						t.Fatal(err)
					}
					if got != h.want {
						t.Errorf("%s = %.60q (%d chars), want %.60q (%d chars)", at, got, len(got), h.want, len(h.want))
					}
					if ct, _ := f.GetCellType(sheet, c); ct != excelize.CellTypeSharedString && ct != excelize.CellTypeInlineString {
						t.Errorf("%s cell type = %v, want a string", at, ct)
					}
				}
				if title, _ := f.GetCellValue(f.GetSheetName(0), "A1"); strings.HasPrefix(title, "'") {
					t.Errorf("title = %.40q", title)
				}
			}
		})
	}
}

// TestSafeText checks the cut to a cell's size; licensing.FormulaSafe,
// tested where it is, does the rest.
func TestSafeText(t *testing.T) {
	for _, h := range tooLong {
		if got := safeText(h.in); got != h.want {
			t.Errorf("%s: safeText = %.60q, want %.60q", h.name, got, h.want)
		}
	}
}

// TestStreamsManyUsers writes 100,000 users and checks that the Users sheet
// went to a temporary file while it was written, holds every user in
// order, and that the temporary files are gone afterwards.
func TestStreamsManyUsers(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100,000 users")
	}
	const n = 100_000
	dir := t.TempDir()
	spilled := false
	src := func(fn func(licensing.UserLine) error) error {
		for i := range n {
			if err := fn(benchUser(i)); err != nil {
				return err
			}
		}
		entries, err := os.ReadDir(dir)
		spilled = err == nil && len(entries) > 0
		return nil
	}
	var buf bytes.Buffer
	if err := NewReportWriter(WithTempDir(dir)).WriteAgencyReport(&buf, agencyReport(), src); err != nil {
		t.Fatal(err)
	}
	if !spilled {
		t.Errorf("the Users sheet stayed in memory while it was written")
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("temporary files left: %v", entries)
	}
	f := openBook(t, buf.Bytes())
	rows, err := f.Rows("Users")
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	var last []string
	for rows.Next() {
		count++
		if last, err = rows.Columns(excelize.Options{RawCellValue: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if count != n+1 {
		t.Errorf("Users has %d rows, want %d", count, n+1)
	}
	u := benchUser(n - 1)
	want := []string{u.UserPrincipalName, u.DisplayName, u.Matched, "Office 365 E3 (direct); Visio Plan 2 (group)", "Yes", "46246"}
	if diff := cmp.Diff(want, last); diff != "" { // 46246 is 2026-08-12, the last user's last sign-in
		t.Errorf("last row (-want +got):\n%s", diff)
	}
	if part := zipParts(t, buf.Bytes())[sheetPart(1)]; !strings.Contains(part, `<autoFilter ref="$A$1:$G$100001"`) {
		t.Errorf("Users has no autoFilter over every row")
	}
}

func TestRowLimit(t *testing.T) {
	rw := NewReportWriter()
	rw.maxRows = 10
	users := make([]licensing.UserLine, 20)
	for i := range users {
		users[i] = licensing.UserLine{UserPrincipalName: fmt.Sprintf("u%02d@x", i), AccountEnabled: true}
	}
	var buf bytes.Buffer
	if err := rw.WriteAgencyReport(&buf, agencyReport(), sourceOf(users)); err != nil {
		t.Fatal(err)
	}
	rows, err := openBook(t, buf.Bytes()).GetRows("Users")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows[1:] {
		got = append(got, r[0])
	}
	want := []string{"u00@x", "u01@x", "u02@x", "u03@x", "u04@x", "u05@x", "u06@x", "u07@x",
		"12 more users are not shown: a sheet holds at most 10 rows."}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Users (-want +got):\n%s", diff)
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWriteErrors(t *testing.T) {
	unavailable := licensing.Errorf("users.read", licensing.Unavailable, "The snapshot store is unavailable.")
	plain := errors.New("disk full")
	tests := []struct {
		name     string
		w        io.Writer
		users    licensing.UserSource
		wantCode licensing.Code
		wantIs   error
	}{
		{"source fails with a code", io.Discard, func(func(licensing.UserLine) error) error { return unavailable }, licensing.Unavailable, unavailable},
		{"source fails without a code", io.Discard, func(func(licensing.UserLine) error) error { return plain }, licensing.Internal, plain},
		{"writer fails with a code", failingWriter{unavailable}, sourceOf(agencyUsers()), licensing.Unavailable, unavailable},
		{"writer fails without a code", failingWriter{plain}, sourceOf(agencyUsers()), licensing.Internal, plain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewReportWriter().WriteAgencyReport(tt.w, agencyReport(), tt.users)
			if got := licensing.ErrorCode(err); got != tt.wantCode || !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v (code %q), want code %q wrapping %v", err, got, tt.wantCode, tt.wantIs)
			}
		})
	}
}

// Benchmarks: 200 agencies' workbooks with REPORT_BENCH_USERS users in all
// (default 100,000; the payroll target is 1,000,000). Peak RSS is the
// process's high-water mark, so run each benchmark in its own process:
//
//	REPORT_BENCH_USERS=1000000 go test ./shared/xlsx/ -run '^$' -bench '^BenchmarkAgencyReports$' -benchtime 1x
//	REPORT_BENCH_USERS=1000000 go test ./shared/xlsx/ -run '^$' -bench '^BenchmarkBareStreamWriter$' -benchtime 1x

const benchAgencies = 200

func benchTotalUsers(b *testing.B) int {
	s := os.Getenv("REPORT_BENCH_USERS")
	if s == "" {
		return 100_000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < benchAgencies {
		b.Fatalf("REPORT_BENCH_USERS=%q: want a number of at least %d", s, benchAgencies)
	}
	return n
}

var benchSignIn = time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)

// benchUser returns the i-th user of the benchmark's tenant.
func benchUser(i int) licensing.UserLine {
	id := strconv.Itoa(i)
	u := licensing.UserLine{
		UserPrincipalName: "user" + id + "@agency.example.gov",
		DisplayName:       "User Number " + id,
		Matched:           "department=AGENCY",
		Licenses:          []licensing.UserLicenseLine{{Name: "Office 365 E3", Direct: true}},
		AccountEnabled:    i%10 != 0,
	}
	if i%3 == 0 {
		u.Licenses = append(u.Licenses, licensing.UserLicenseLine{Name: "Visio Plan 2", ByGroup: true})
	}
	if u.AccountEnabled {
		t := benchSignIn.Add(time.Duration(i%1000) * time.Hour)
		u.LastSignIn = &t
	} else {
		u.Reclaim = "account disabled"
	}
	return u
}

func benchSource(first, n int) licensing.UserSource {
	return func(fn func(licensing.UserLine) error) error {
		for i := first; i < first+n; i++ {
			if err := fn(benchUser(i)); err != nil {
				return err
			}
		}
		return nil
	}
}

func BenchmarkAgencyReports(b *testing.B) {
	total := benchTotalUsers(b)
	per := total / benchAgencies
	rw := NewReportWriter()
	r := agencyReport()
	b.ReportAllocs()
	for b.Loop() {
		for a := range benchAgencies {
			r.Agency.ID = "A" + strconv.Itoa(a)
			r.Users = per
			if err := rw.WriteAgencyReport(io.Discard, r, benchSource(a*per, per)); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(per*benchAgencies), "users/op")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}

// BenchmarkBareStreamWriter writes the same user rows (the same cell values)
// to as many workbooks with a bare excelize StreamWriter: no styles, widths,
// panes, filters or other sheets; the floor the reports are measured
// against.
func BenchmarkBareStreamWriter(b *testing.B) {
	total := benchTotalUsers(b)
	per := total / benchAgencies
	b.ReportAllocs()
	for b.Loop() {
		for a := range benchAgencies {
			f := excelize.NewFile()
			sw, err := f.NewStreamWriter("Sheet1")
			if err != nil {
				b.Fatal(err)
			}
			row := 1
			if err := sw.SetRow("A1", []any{"UPN", "Display name", "Matched attribute", "Licenses", "Account enabled", "Last sign-in", "Reclaim candidate"}); err != nil {
				b.Fatal(err)
			}
			err = benchSource(a*per, per)(func(u licensing.UserLine) error {
				row++
				enabled := "No"
				if u.AccountEnabled {
					enabled = "Yes"
				}
				var last any
				if u.LastSignIn != nil {
					last = *u.LastSignIn
				}
				return sw.SetRow("A"+strconv.Itoa(row), []any{u.UserPrincipalName, u.DisplayName, u.Matched, licenseList(u.Licenses), enabled, last, u.Reclaim})
			})
			if err != nil {
				b.Fatal(err)
			}
			if err := sw.Flush(); err != nil {
				b.Fatal(err)
			}
			if err := f.Write(io.Discard); err != nil {
				b.Fatal(err)
			}
			if err := f.Close(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(per*benchAgencies), "users/op")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}
