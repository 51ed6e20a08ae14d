package ledger_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/ledger"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// withTenant publishes a snapshot whose tenant has Visio Plan 2 and Power
// BI Pro, so that their friendly names resolve.
func withTenant(t *testing.T, f *ledgerFixture) {
	t.Helper()
	snap := licensing.Snapshot{ID: "s1", Taken: f.now.Add(-time.Hour), Full: true, Tenant: []licensing.TenantSku{
		{SkuID: ledgerVisio, PartNumber: "VISIOCLIENT", Enabled: 100},
		{SkuID: ledgerPBI, PartNumber: "POWER_BI_PRO", Enabled: 50},
	}}
	if err := f.store.PublishSnapshot(context.Background(), snap, nil); err != nil {
		t.Fatal(err)
	}
}

func importCSV(t *testing.T, f *ledgerFixture, csv string, commit bool) ledger.ImportResult {
	t.Helper()
	res, err := f.svc.ImportPurchases(context.Background(), adminCaller, []byte(csv), "tracking.csv", "text/csv", commit)
	if err != nil {
		t.Fatalf("ImportPurchases: %v", err)
	}
	return res
}

func TestImportRowOutcomes(t *testing.T) {
	f := newLedgerFixture(t)
	withTenant(t, f)
	long := strings.Repeat("9", 50000)
	csv := strings.Join([]string{
		"Agency,PO Number,License Type,Qty,Term Start,Term End,Reseller",
		"DOA,4500012345,VISIOCLIENT,25,2025-08-01,2026-06-30,SHI",      // 2
		"doa,4500012346,power bi pro,\"1,000\",8/1/2025,6/30/2026,CDW", // 3
		"XYZ,4500012347,VISIOCLIENT,5,2025-08-01,2026-06-30,",          // 4
		"DOA,4500012348,Visio Pro,5,2025-08-01,2026-06-30,",            // 5
		"DOA,4500012349,VISIOCLIENT,25.5,2025-08-01,2026-06-30,",       // 6
		"DOA,4500012350,VISIOCLIENT,0,2025-08-01,2026-06-30,",          // 7
		"DOA,4500012351,VISIOCLIENT,5,13/45/2025,2026-06-30,",          // 8
		"DOA,4500012352,VISIOCLIENT,5,2026-06-30,2025-08-01,",          // 9
		"DOA,,VISIOCLIENT,5,2025-08-01,2026-06-30,",                    // 10
		"DOA,4500012345,VISIOCLIENT,25,2025-08-01,2026-06-30,SHI",      // 11: same as row 2
		",,,,,,", // 12: blank
		"DOA,=cmd|' /C calc'!A0,VISIOCLIENT,5,2025-08-01,2026-06-30,",                 // 13
		"DOA,4500012353,VISIOCLIENT,5,2025-08-01,2026-06-30,=HYPERLINK(\"http://x\")", // 14
		"DOA,4500012354,c5928f49-12ba-48f7-ada3-0d743a3601d5,7,45870,46203,",          // 15: serials
		"Department of DOB,4500012355,VISIOCLIENT,3,2025-08-01,,",                     // 16: name, default end
		"DOA,4500012356,VISIO\x07CLIENT,5,2025-08-01,2026-06-30,",                     // 17
		"DOA," + long + ",VISIOCLIENT,100001,2025-08-01,2026-06-30,",                  // 18
		"DOA,4500012357,VISIOCLIENT,-3,1/2/1850,2026-06-30,",                          // 19
	}, "\r\n")
	res := importCSV(t, f, csv, true)

	type outcome struct {
		Row     int
		Outcome string
		Reason  string // a part of the reason
	}
	want := []outcome{
		{2, ledger.ImportImported, ""},
		{3, ledger.ImportImported, ""},
		{4, ledger.ImportRejected, `unknown agency "XYZ"`},
		{5, ledger.ImportRejected, `unknown product "Visio Pro"`},
		{6, ledger.ImportRejected, `quantity "25.5" is not a whole number from 1 to 100000`},
		{7, ledger.ImportRejected, `quantity "0" is not a whole number`},
		{8, ledger.ImportRejected, `term start "13/45/2025" is not a date`},
		{9, ledger.ImportRejected, "the term ends (2025-08-01) before it starts (2026-06-30)"},
		{10, ledger.ImportRejected, "the PO number is missing"},
		{11, ledger.ImportRejected, "Duplicate of row 2"},
		{13, ledger.ImportRejected, `PO number "=cmd|' /C calc'!A0" is not`},
		{14, ledger.ImportRejected, "which spreadsheets take for a formula"},
		{15, ledger.ImportImported, ""},
		{16, ledger.ImportImported, ""},
		{17, ledger.ImportRejected, `unknown product "VISIO\aCLIENT"`},
		{18, ledger.ImportRejected, "quantity \"100001\""},
		{19, ledger.ImportRejected, `term start "1/2/1850" is not a date`},
	}
	var got []outcome
	for _, o := range res.Outcomes {
		g := outcome{Row: o.Row, Outcome: o.Outcome}
		for _, w := range want {
			if w.Row == o.Row && w.Reason != "" && strings.Contains(strings.ToLower(o.Reason), strings.ToLower(w.Reason)) {
				g.Reason = w.Reason
			}
		}
		if g.Reason == "" && o.Reason != "" {
			g.Reason = "unexpected: " + o.Reason
		}
		if len(o.Reason) > 600 {
			t.Errorf("row %d: the reason is %d bytes long; hostile cells must be shortened", o.Row, len(o.Reason))
		}
		got = append(got, g)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if res.Rows != 17 || res.Blank != 1 || res.Imported != 4 || res.Rejected != 13 || res.AlreadyImported != 0 {
		t.Errorf("counts: rows %d, blank %d, imported %d, rejected %d, already %d; want 17, 1, 4, 13, 0",
			res.Rows, res.Blank, res.Imported, res.Rejected, res.AlreadyImported)
	}

	lines, err := f.store.ListPurchases(context.Background(), licensing.PurchaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	type brief struct {
		Agency, SkuID, PO, Start, End, Reseller string
		Qty                                     int
	}
	var stored []brief
	for _, p := range lines {
		stored = append(stored, brief{p.Agency, p.SkuID, p.PONumber, p.TermStart.String(), p.TermEnd.String(), p.Reseller, p.Quantity})
	}
	wantStored := []brief{
		{"DOA", ledgerVisio, "4500012345", "2025-08-01", "2026-06-30", "SHI", 25},
		{"DOA", ledgerPBI, "4500012346", "2025-08-01", "2026-06-30", "CDW", 1000},
		{"DOA", ledgerVisio, "4500012354", "2025-08-01", "2026-06-30", "", 7},
		{"DOB", ledgerVisio, "4500012355", "2025-08-01", "2026-06-30", "", 3},
	}
	sortBriefs := cmp.Transformer("sort", func(in []brief) []brief {
		out := append([]brief(nil), in...)
		for i := range out {
			for j := i + 1; j < len(out); j++ {
				if fmt.Sprint(out[j]) < fmt.Sprint(out[i]) {
					out[i], out[j] = out[j], out[i]
				}
			}
		}
		return out
	})
	if diff := cmp.Diff(wantStored, stored, sortBriefs); diff != "" {
		t.Errorf("stored lines (-want +got):\n%s", diff)
	}
	for _, p := range lines {
		if p.ActivatedAt == nil || !p.ActivatedAt.Equal(f.now) || p.Source != licensing.SourceImport || p.CreatedBy != ledgerAdm ||
			!strings.HasPrefix(p.Reason, "Imported from tracking.csv, row ") {
			t.Errorf("line %s: active %v, source %q, by %q, reason %q", p.ID, p.ActivatedAt, p.Source, p.CreatedBy, p.Reason)
		}
	}
	audit, err := f.svc.PurchaseAudit(context.Background(), adminCaller, "DOA", 0)
	if err != nil || len(audit) != 3 || audit[0].Why != "Import of tracking.csv" {
		t.Errorf("DOA audit = %+v, %v; want 3 entries for the import", audit, err)
	}
}

func TestImportTwiceAndDryRun(t *testing.T) {
	f := newLedgerFixture(t)
	csv := "Agency,PO,Product,Quantity,Start,End\nDOA,4500012345,VISIOCLIENT,25,2025-08-01,2026-06-30\nDOB,4500012346,VISIOCLIENT,5,2025-08-01,2026-06-30\nXYZ,1,VISIOCLIENT,5,2025-08-01,2026-06-30\n"
	ctx := context.Background()
	outcomes := func(res ledger.ImportResult) []string {
		var out []string
		for _, o := range res.Outcomes {
			out = append(out, o.Outcome)
		}
		return out
	}
	count := func() (lines, entries int) {
		l, _ := f.store.ListPurchases(ctx, licensing.PurchaseFilter{})
		a, _ := f.store.PurchaseAudit(ctx, "DOA", 0)
		b, _ := f.store.PurchaseAudit(ctx, "DOB", 0)
		return len(l), len(a) + len(b)
	}

	dry := importCSV(t, f, csv, false)
	if diff := cmp.Diff([]string{ledger.ImportWouldImport, ledger.ImportWouldImport, ledger.ImportRejected}, outcomes(dry)); diff != "" {
		t.Errorf("dry run (-want +got):\n%s", diff)
	}
	if dry.Commit || dry.Imported != 2 {
		t.Errorf("dry run: commit %v, imported %d; want false, 2", dry.Commit, dry.Imported)
	}
	if l, a := count(); l != 0 || a != 0 {
		t.Fatalf("a dry run wrote %d lines and %d audit entries", l, a)
	}

	first := importCSV(t, f, csv, true)
	if diff := cmp.Diff([]string{ledger.ImportImported, ledger.ImportImported, ledger.ImportRejected}, outcomes(first)); diff != "" {
		t.Errorf("first import (-want +got):\n%s", diff)
	}
	// The dry run named the lines the import wrote.
	if first.Outcomes[0].Purchase != dry.Outcomes[0].Purchase || first.Outcomes[0].Purchase == "" {
		t.Errorf("line ids: dry run %q, import %q", dry.Outcomes[0].Purchase, first.Outcomes[0].Purchase)
	}
	second := importCSV(t, f, csv, true)
	if diff := cmp.Diff([]string{ledger.ImportAlreadyImported, ledger.ImportAlreadyImported, ledger.ImportRejected}, outcomes(second)); diff != "" {
		t.Errorf("second import (-want +got):\n%s", diff)
	}
	if second.AlreadyImported != 2 || second.Imported != 0 {
		t.Errorf("second import counts: already %d, imported %d", second.AlreadyImported, second.Imported)
	}
	if l, a := count(); l != 2 || a != 2 {
		t.Errorf("after importing twice: %d lines, %d audit entries; want 2 and 2", l, a)
	}
}

func TestImportHeaders(t *testing.T) {
	tests := []struct {
		name  string
		csv   string
		row   int
		start string
		end   string
	}{
		{"synonyms", "agency code,purchase order,sku,count,start date,expires\nDOA,45001,VISIOCLIENT,5,2025-08-01,2026-06-30\n", 2, "2025-08-01", "2026-06-30"},
		{"case, spaces and punctuation", "  AGENCY ; PO # ; Product ; Licenses ; Term-Start ; Term_End \nDOA;45001;VISIOCLIENT;5;2025-08-01;2026-06-30\n", 2, "2025-08-01", "2026-06-30"},
		{"term as a range", "Agency,PO,License,Qty,Term\nDOA,45001,VISIOCLIENT,5,2025-08-01 - 2026-06-30\n", 2, "2025-08-01", "2026-06-30"},
		{"term as a US range", "Agency,PO,License,Qty,Term\nDOA,45001,VISIOCLIENT,5,8/1/2025 to 6/30/2026\n", 2, "2025-08-01", "2026-06-30"},
		{"term as a fiscal year", "Agency,PO,License,Qty,Fiscal Year\nDOA,45001,VISIOCLIENT,5,FY2026\n", 2, "2025-08-01", "2026-06-30"},
		{"term as a short fiscal year", "Agency,PO,License,Qty,Term\nDOA,45001,VISIOCLIENT,5,fy 26\n", 2, "2025-08-01", "2026-06-30"},
		{"enterprise agreement without an end", "Agency,PO,License,Qty,Start,Agreement\nDOA,45001,VISIOCLIENT,5,2025-08-01,enterprise-agreement\n", 2, "2025-08-01", "2028-07-31"},
		{"header below a title", "DOA license tracking,,,,\nExported 2026-11-01,,,,\n,,,,\nAgency,PO,Product,Qty,Start\nDOA,45001,VISIOCLIENT,5,2025-08-01\n", 5, "2025-08-01", "2026-06-30"},
		{"unknown columns ignored", "Notes,Agency,PO,Product,Qty,Start,End,Approved by\nhello,DOA,45001,VISIOCLIENT,5,2025-08-01,2026-06-30,Lee\n", 2, "2025-08-01", "2026-06-30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLedgerFixture(t)
			res := importCSV(t, f, tt.csv, false)
			if len(res.Outcomes) != 1 {
				t.Fatalf("outcomes = %+v, want one", res.Outcomes)
			}
			o := res.Outcomes[0]
			if o.Outcome != ledger.ImportWouldImport || o.Row != tt.row || o.TermStart.String() != tt.start || o.TermEnd.String() != tt.end {
				t.Errorf("outcome = row %d %q (%s) term %s to %s; want row %d, would import, term %s to %s",
					o.Row, o.Outcome, o.Reason, o.TermStart, o.TermEnd, tt.row, tt.start, tt.end)
			}
		})
	}
}

func TestImportXLSX(t *testing.T) {
	f := newLedgerFixture(t)
	withTenant(t, f)
	wb := excelize.NewFile()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	aug1 := time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC)
	jun30 := time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
	_, err := wb.NewSheet("License Tracking")
	must(err)
	must(wb.SetCellValue("Sheet1", "A1", "Read me: the tracking is on the next sheet"))
	must(wb.SetSheetRow("License Tracking", "A1", &[]any{"Agency", "PO Number", "Product", "Quantity", "Term Start", "Term End"}))
	must(wb.SetSheetRow("License Tracking", "A2", &[]any{"DOA", 4500012345, "Visio Plan 2", 25, aug1, jun30}))
	must(wb.SetSheetRow("License Tracking", "A3", &[]any{"DOB", "PO-77", "POWER_BI_PRO", 10.0, 45870, 46203}))
	must(wb.SetSheetRow("License Tracking", "A4", &[]any{"DOB", "PO-78", "POWER_BI_PRO", "=1+1", "=NOW()", jun30}))
	var buf bytes.Buffer
	must(wb.Write(&buf))
	must(wb.Close())

	res, err := f.svc.ImportPurchases(context.Background(), adminCaller, buf.Bytes(), "C:\\Users\\pat\\licenses.xlsx", "application/octet-stream", true)
	if err != nil {
		t.Fatalf("ImportPurchases: %v", err)
	}
	type brief struct {
		Row                         int
		Outcome, Agency, Sku, PO    string
		Qty                         int
		Start, End, ReasonStartWith string
	}
	var got []brief
	for _, o := range res.Outcomes {
		r := o.Reason
		if len(r) > 20 {
			r = r[:20]
		}
		got = append(got, brief{o.Row, o.Outcome, o.Agency, o.SkuID, o.PONumber, o.Quantity, o.TermStart.String(), o.TermEnd.String(), r})
	}
	want := []brief{
		{2, ledger.ImportImported, "DOA", ledgerVisio, "4500012345", 25, "2025-08-01", "2026-06-30", ""},
		{3, ledger.ImportImported, "DOB", ledgerPBI, "PO-77", 10, "2025-08-01", "2026-06-30", ""},
		{4, ledger.ImportRejected, "", "", "", 0, "", "", "Quantity \"=1+1\" is n"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if res.FileName != "licenses.xlsx" {
		t.Errorf("file name = %q, want the base name only", res.FileName)
	}
	lines, _ := f.store.ListPurchases(context.Background(), licensing.PurchaseFilter{Agency: "DOA"})
	if len(lines) != 1 || lines[0].Reason != "Imported from licenses.xlsx, row 2" {
		t.Errorf("DOA lines = %+v", lines)
	}
}

func TestImportRefuses(t *testing.T) {
	manyRows := func(n int) string {
		var b strings.Builder
		b.WriteString("Agency,PO,Product,Qty,Start\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "DOA,%d,VISIOCLIENT,1,2025-08-01\n", i)
		}
		return b.String()
	}
	tests := []struct {
		name    string
		caller  *licensing.Principal
		content string
		want    licensing.Code
		field   string
	}{
		{"no header", adminCaller, "a,b,c\n1,2,3\n", licensing.Invalid, "header"},
		{"header without PO and term", adminCaller, "Agency,Product,Qty\nDOA,VISIOCLIENT,1\n", licensing.Invalid, "header"},
		{"two quantity columns", adminCaller, "Agency,PO,Product,Qty,Count,Start\n", licensing.Invalid, "header"},
		{"empty file", adminCaller, "", licensing.Invalid, ""},
		{"too many rows", adminCaller, manyRows(licensing.MaxImportRows + 1), licensing.TooLarge, ""},
		{"too many bytes", adminCaller, "Agency,PO\n" + strings.Repeat("x", licensing.MaxImportBytes), licensing.TooLarge, ""},
		{"delegate", delegateCaller, "Agency,PO,Product,Qty,Start\n", licensing.Forbidden, ""},
		{"nobody", nil, "Agency,PO,Product,Qty,Start\n", licensing.Unauthenticated, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLedgerFixture(t)
			_, err := f.svc.ImportPurchases(context.Background(), tt.caller, []byte(tt.content), "t.csv", "text/csv", true)
			if licensing.ErrorCode(err) != tt.want {
				t.Fatalf("ImportPurchases: %v, want code %q", err, tt.want)
			}
			if tt.field != "" {
				if fe := licensing.ErrorFields(err); len(fe) == 0 || fe[0].Field != tt.field {
					t.Errorf("fields = %+v, want some on %q", fe, tt.field)
				}
			}
			if lines, _ := f.store.ListPurchases(context.Background(), licensing.PurchaseFilter{}); len(lines) != 0 {
				t.Errorf("a refused import wrote %d lines", len(lines))
			}
		})
	}
	// Exactly at the limit is fine.
	f := newLedgerFixture(t)
	res, err := f.svc.ImportPurchases(context.Background(), adminCaller, []byte(manyRows(licensing.MaxImportRows)), "t.csv", "text/csv", false)
	if err != nil || res.Imported != licensing.MaxImportRows {
		t.Errorf("import of %d rows: %d would import, %v", licensing.MaxImportRows, res.Imported, err)
	}
}
