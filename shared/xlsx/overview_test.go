package xlsx

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// TestEnterpriseOverview writes an enterprise summary with several agencies
// over and reads its Overview back: the first sheet, the agencies over worst
// first (by seats over, then products over; the unattributed users' entry
// left out), the tenant check's differences only, the counts of
// unattributed and conflicting users, and a chart of the seats over with
// dark Calibri axis labels.
func TestEnterpriseOverview(t *testing.T) {
	over := func(agency, name, part string, purchased, inUse int) licensing.EnterpriseRow {
		return licensing.EnterpriseRow{Agency: agency, AgencyName: agency + " name", ProductLine: licensing.ProductLine{
			PartNumber: part, Name: name, Purchased: purchased, InUse: inUse, Available: purchased - inUse, Status: licensing.ProductOver}}
	}
	fine := over("DOA", "Visio Plan 2", "VISIOCLIENT", 30, 10)
	fine.Status = licensing.ProductOK
	s := licensing.EnterpriseSummary{
		Date: reportDate, DataAsOf: dataAsOf, SnapshotID: "snap-1", Unattributed: 7, Conflicts: 3,
		Rows: []licensing.EnterpriseRow{
			fine,
			over("DOA", "Office 365 E3", "ENTERPRISEPACK", 100, 110),
			over("DET", "Office 365 E3", "ENTERPRISEPACK", 10, 15),
			over("DET", "Visio Plan 2", "VISIOCLIENT", 5, 10),
			over("DOR", "Power BI Pro", "POWER_BI_PRO", 0, 40),
			over(licensing.Unattributed, "Office 365 E3", "ENTERPRISEPACK", 0, 99),
		},
		Tenant: []licensing.TenantCheckRow{
			{PartNumber: "VISIOCLIENT", Name: "Visio Plan 2", Purchased: 35, Prepaid: 35, Consumed: 20},
			{PartNumber: "ENTERPRISEPACK", Name: "Office 365 E3", Purchased: 110, Prepaid: 150, Consumed: 224, Difference: 40, Note: "40 prepaid units not recorded"},
			{PartNumber: "POWER_BI_PRO", Name: "Power BI Pro", Purchased: 0, Prepaid: 0, Consumed: 40},
		},
	}
	var buf bytes.Buffer
	if err := NewReportWriter(WithLocation(chicago)).WriteEnterpriseSummary(&buf, s, nil, nil); err != nil {
		t.Fatal(err)
	}
	f := openBook(t, buf.Bytes())
	if diff := cmp.Diff([]string{"Overview", "Agencies", "Costs", "Tenant check", "Unattributed", "Conflicts"}, f.GetSheetList()); diff != "" {
		t.Errorf("sheets (-want +got):\n%s", diff)
	}
	rows, err := f.GetRows("Overview")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"Enterprise overview"},
		{"Report date", "2026-08-03"},
		{"Data as of (America/Chicago)", "2026-08-03 06:30", noteDates},
		{"Unattributed users", "7", "Licensed users no agency's rule matches: see the Unattributed sheet."},
		{"Users in conflict", "3", "Licensed users several agencies' rules match: see the Conflicts sheet."},
		nil,
		{"Agencies using more than they bought"},
		{"Agency", "Agency name", "Seats over", "Products over", "Over in"},
		{"DOR", "DOR name", "40", "1", "Power BI Pro"},
		{"DET", "DET name", "10", "2", "Office 365 E3, Visio Plan 2"},
		{"DOA", "DOA name", "10", "1", "Office 365 E3"},
		nil,
		{"Tenant check: differences"},
		{"Product", "Part number", "Purchased by agencies", "Tenant prepaid", "Consumed", "Difference", "Note"},
		{"Office 365 E3", "ENTERPRISEPACK", "110", "150", "224", "40", "40 prepaid units not recorded"},
		nil,
		{"Seats over adds up, per agency, In use − Purchased of its products over what it bought (see the Agencies sheet)."},
		{"Difference = Tenant prepaid − Purchased by agencies: the Tenant check sheet lists every product."},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("Overview rows (-want +got):\n%s", diff)
	}
	parts := zipParts(t, buf.Bytes())
	chart, ok := parts["xl/charts/chart1.xml"]
	if !ok || !strings.Contains(parts["xl/worksheets/_rels/sheet1.xml.rels"], "drawings/drawing1.xml") {
		t.Fatalf("no chart on the Overview (parts %v)", len(parts))
	}
	for _, s := range []string{"Seats over what was bought, by agency", "Overview&#39;!$C$8<", "Overview&#39;!$A$9:$A$11<", "Overview&#39;!$C$9:$C$11<",
		`<barDir val="col">`, `val="` + axisColor + `"`, `typeface="Calibri"`} {
		if !strings.Contains(chart, s) {
			t.Errorf("chart does not contain %q", s)
		}
	}
}

// TestEnterpriseOverviewNothingOver: with no agency over and no tenant
// difference, the Overview says so and has no chart.
func TestEnterpriseOverviewNothingOver(t *testing.T) {
	s := licensing.EnterpriseSummary{Date: reportDate, DataAsOf: dataAsOf,
		Tenant: []licensing.TenantCheckRow{{PartNumber: "VISIOCLIENT", Name: "Visio Plan 2", Purchased: 5, Prepaid: 5}}}
	var buf bytes.Buffer
	if err := NewReportWriter().WriteEnterpriseSummary(&buf, s, nil, nil); err != nil {
		t.Fatal(err)
	}
	f := openBook(t, buf.Bytes())
	rows, err := f.GetRows("Overview")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(func() []string {
		var out []string
		for _, r := range rows {
			out = append(out, strings.Join(r, "|"))
		}
		return out
	}(), "\n")
	for _, w := range []string{"No agency uses more licenses than it bought.", "The tenant's seats match the agencies' purchases for every product."} {
		if !strings.Contains(text, w) {
			t.Errorf("Overview lacks %q:\n%s", w, text)
		}
	}
	if _, ok := zipParts(t, buf.Bytes())["xl/charts/chart1.xml"]; ok {
		t.Errorf("a chart with nothing over")
	}
}

// TestPurchasesShowImportedSource: an imported line's Reseller / source
// cell says it was imported and from which file and row; a purchase order's
// line shows its reseller.
func TestPurchasesShowImportedSource(t *testing.T) {
	r := agencyReport()
	r.Purchases = []licensing.PurchaseLine{
		{PONumber: "LEGACY-DOT-POWERBIPRO", ProductName: "Power BI Pro", PartNumber: "POWER_BI_PRO", Quantity: 3, Imported: "license-tracking.csv row 12"},
		{PONumber: "LEGACY-DOT-VISIO", Reseller: "CDW-G", ProductName: "Visio Plan 2", PartNumber: "VISIOCLIENT", Quantity: 1, Imported: "tracking.xlsx row 4"},
		{PONumber: "4500012345", Reseller: "SHI", ProductName: "Visio Plan 2", PartNumber: "VISIOCLIENT", Quantity: 2},
	}
	var buf bytes.Buffer
	if err := NewReportWriter().WriteAgencyReport(&buf, r, nil); err != nil {
		t.Fatal(err)
	}
	f := openBook(t, buf.Bytes())
	var got []string
	for _, at := range []string{"B1", "B2", "B3", "B4"} {
		v, err := f.GetCellValue("Purchases", at)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	want := []string{"Reseller / source", "Imported: license-tracking.csv row 12", "Imported: tracking.xlsx row 4 (reseller CDW-G)", "SHI"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Reseller / source (-want +got):\n%s", diff)
	}
}
