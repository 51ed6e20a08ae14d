package usage_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
	"github.com/shared-tenant/licensetrack/shared/xlsx"
)

// checkMailTimes checks that the mail whose subject starts with prefix
// shows its time as want (a pattern) and nowhere in UTC.
func checkMailTimes(t *testing.T, f *fixture, prefix, want string) {
	t.Helper()
	re := regexp.MustCompile(want)
	n := 0
	for _, m := range f.mail.Sent {
		if !strings.HasPrefix(m.Subject, prefix) {
			continue
		}
		n++
		if !re.MatchString(m.Text) || strings.Contains(m.Text, "UTC") {
			t.Errorf("%s: text does not match %s (or shows UTC):\n%s", m.Subject, want, m.Text)
		}
	}
	if n == 0 {
		t.Errorf("no mail %q…: %v", prefix, f.mail.Subjects())
	}
}

// TestPayrollMailTimesInReportZone: the payroll mails show the data's time
// in the report's time zone (Chicago in the fixture), named, as the
// workbooks do: the snapshot taken at 14:00 UTC is 08:00 CST.
func TestPayrollMailTimesInReportZone(t *testing.T) {
	f, _ := payrollFixture(t)
	if _, err := f.svc.PayrollReport(context.Background(), licensing.NewDate(2026, 11, 23), usage.PayrollOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	checkMailTimes(t, f, "License report 2026-11-23: DOA", `\nData as of 2026-11-23 08:0\d CST\.\n`)
	checkMailTimes(t, f, "Enterprise license summary", `\(data as of 2026-11-23 08:0\d CST\)\.`)
}

// TestAuditMailTimeInReportZone: the audit's summary mail shows the data's
// time in the report's time zone, named.
func TestAuditMailTimeInReportZone(t *testing.T) {
	f, _ := payrollFixture(t)
	f.clock = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	if _, err := f.svc.UsageAudit(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	checkMailTimes(t, f, "License audit 2026-12", `\(data as of 2026-12-01 06:0\d CST\)\.`)
}

// TestImportedLinesShowTheirSource: a line imported from the legacy
// tracking sheet shows on the Purchases sheet as imported, with the file
// and row the import recorded, in place of the reseller it lacks; a purchase
// order's line keeps its reseller.
func TestImportedLinesShowTheirSource(t *testing.T) {
	f, _ := payrollFixture(t)
	activated := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lines := []licensing.Purchase{
		{ID: "p6", Agency: "DET", SkuID: fakes.SkuVisio, Quantity: 3, TermStart: licensing.NewDate(2026, 7, 1), TermEnd: licensing.NewDate(2027, 6, 30),
			PONumber: "LEGACY-DET-VISIOCLIENT", ActivatedAt: &activated, Source: licensing.SourceImport, Reason: "Imported from license-tracking.csv, row 12"},
		{ID: "p7", Agency: "DET", SkuID: fakes.SkuE3, Quantity: 4, TermStart: licensing.NewDate(2026, 7, 1), TermEnd: licensing.NewDate(2027, 6, 30),
			PONumber: "4500077777", Reseller: "SHI", ActivatedAt: &activated, Source: licensing.SourceServiceRequest, Reason: "PO 4500077777, service request DET-1"},
	}
	if _, err := f.store.AddPurchases(context.Background(), lines, "test", "fixture"); err != nil {
		t.Fatal(err)
	}
	svc := f.service(f.mail, xlsx.NewReportWriter())
	if _, err := svc.PayrollReport(context.Background(), licensing.NewDate(2026, 11, 23), usage.PayrollOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	det := openWorkbook(t, f, "reports/payroll/2026-11-23/DET.xlsx")
	got := map[string]string{}
	for _, r := range rowsWith(t, det, "Purchases", "LEGACY-DET", "4500077777", "PO-3") {
		got[r[0]] = r[1]
	}
	want := map[string]string{
		"LEGACY-DET-VISIOCLIENT": "Imported: license-tracking.csv row 12",
		"4500077777":             "SHI",
		// An imported line whose reason names no file.
		"PO-3": "Imported: the legacy tracking sheet",
	}
	for po, w := range want {
		if got[po] != w {
			t.Errorf("Purchases %s Reseller / source = %q, want %q (rows %v)", po, got[po], w, got)
		}
	}
}
