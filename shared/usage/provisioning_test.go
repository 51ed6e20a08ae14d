package usage_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
	"github.com/shared-tenant/licensetrack/shared/xlsx"
)

// provisioningReader serves fixed provisioning states, or err, and
// remembers which agencies were asked for.
type provisioningReader struct {
	mu     sync.Mutex
	states map[string]licensing.ProvisioningState
	err    error
	asked  []string
}

func (p *provisioningReader) ProvisioningState(_ context.Context, agency string) (licensing.ProvisioningState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = append(p.asked, agency)
	if p.err != nil {
		return licensing.ProvisioningState{}, p.err
	}
	return p.states[agency], nil
}

// provisioningFixture is the payroll fixture with DOA's Visio seats handed
// out through a delegated group (DET has none), rendering real workbooks
// and reading provisioning states from reader.
func provisioningFixture(t *testing.T, reader *provisioningReader) *fixture {
	t.Helper()
	f, _ := payrollFixture(t)
	doa := fakes.Agencies()[0]
	doa.DelegatedGroups = []licensing.DelegatedGroup{{Product: "VISIOCLIENT", GroupID: "6f1c0f55-1b1b-4c4c-9d9d-000000000001"}}
	if err := fakes.PutAgencies(context.Background(), f.agencies, doa); err != nil {
		t.Fatal(err)
	}
	f.provisioning = reader
	f.svc = f.service(f.mail, xlsx.NewReportWriter())
	return f
}

// TestPayrollProvisioningSheet: with a provisioning reader, the workbook of
// an agency with delegated groups gets the Provisioning sheet (and its mail
// says so); an agency without delegated groups is not asked about and gets
// no such sheet.
func TestPayrollProvisioningSheet(t *testing.T) {
	reader := &provisioningReader{states: map[string]licensing.ProvisioningState{"DOA": {
		Agency: "DOA", AsOf: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC),
		Products: []licensing.ProductSeats{{
			SkuID: fakes.SkuVisio, PartNumber: "VISIOCLIENT", Name: "Visio Plan 2", GroupID: "6f1c0f55-1b1b-4c4c-9d9d-000000000001", Cap: 1,
			Assigned: []licensing.SeatEntry{{UserID: "u01", UserPrincipalName: "a@doa.example.gov", Since: time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)}},
			Waitlist: []licensing.SeatEntry{{UserID: "u09", UserPrincipalName: "=HYPERLINK(\"x\")@doa.example.gov", Since: time.Date(2026, 11, 9, 12, 0, 0, 0, time.UTC)}},
		}},
	}}}
	f := provisioningFixture(t, reader)
	res, err := f.svc.PayrollReport(context.Background(), licensing.NewDate(2026, 11, 23), usage.PayrollOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mailed != 3 || strings.Contains(strings.Join(res.Notes, "; "), "Provisioning") {
		t.Errorf("result = %+v, want 3 mails and no note about the Provisioning sheet", res)
	}
	if diff := cmp.Diff([]string{"DOA"}, reader.asked); diff != "" {
		t.Errorf("agencies asked for (-want +got):\n%s", diff)
	}
	doa := openWorkbook(t, f, "reports/payroll/2026-11-23/DOA.xlsx")
	if diff := cmp.Diff([]string{"Summary", "Users", "Purchases", "Provisioning"}, doa.GetSheetList()); diff != "" {
		t.Errorf("DOA sheets (-want +got):\n%s", diff)
	}
	if v, _ := doa.GetCellValue("Provisioning", "A7"); v != "Visio Plan 2 (VISIOCLIENT)" {
		t.Errorf("Provisioning!A7 = %q, want the product's heading", v)
	}
	want := [][]string{
		{"a@doa.example.gov", "Assigned", "2026-11-02 12:00"},
		{`'=HYPERLINK("x")@doa.example.gov`, "Waiting (1)", "2026-11-09 12:00"},
	}
	if diff := cmp.Diff(want, rowsWith(t, doa, "Provisioning", "@doa.example.gov")); diff != "" {
		t.Errorf("DOA Provisioning members (-want +got):\n%s", diff)
	}
	det := openWorkbook(t, f, "reports/payroll/2026-11-23/DET.xlsx")
	if diff := cmp.Diff([]string{"Summary", "Users", "Purchases"}, det.GetSheetList()); diff != "" {
		t.Errorf("DET (no delegated groups) sheets (-want +got):\n%s", diff)
	}
	if m := f.mail.Sent["payroll-2026-11-23.DOA"]; !strings.Contains(m.Text, "Provisioning sheet") {
		t.Errorf("DOA's mail does not mention the Provisioning sheet:\n%s", m.Text)
	}
	if m := f.mail.Sent["payroll-2026-11-23.DET"]; strings.Contains(m.Text, "Provisioning") {
		t.Errorf("DET's mail mentions a Provisioning sheet it does not have:\n%s", m.Text)
	}
}

// TestPayrollProvisioningReadFails: a provisioning state that cannot be
// read does not stop the payroll: the workbook is written and mailed
// without the sheet, and the run's result and record say so.
func TestPayrollProvisioningReadFails(t *testing.T) {
	reader := &provisioningReader{err: licensing.Errorf("provisioning.state", licensing.Unavailable, "Table Storage is unavailable.")}
	f := provisioningFixture(t, reader)
	ctx := context.Background()
	res, err := f.svc.PayrollRun(ctx, "cli", licensing.NewDate(2026, 11, 23), false, usage.PayrollOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 3 || res.Mailed != 3 {
		t.Errorf("result = %+v, want every workbook written and mailed", res)
	}
	note := "DOA: the workbook has no Provisioning sheet, the delegated groups' state could not be read: Table Storage is unavailable."
	if !slices.Contains(res.Notes, note) {
		t.Errorf("notes = %q, want %q", res.Notes, note)
	}
	doa := openWorkbook(t, f, "reports/payroll/2026-11-23/DOA.xlsx")
	if diff := cmp.Diff([]string{"Summary", "Users", "Purchases"}, doa.GetSheetList()); diff != "" {
		t.Errorf("DOA sheets (-want +got):\n%s", diff)
	}
	if _, ok := f.mail.Sent["payroll-2026-11-23.DOA"]; !ok {
		t.Errorf("DOA's report was not mailed")
	}
	runs, err := f.store.ListRuns(ctx, licensing.RunFilter{Function: "PayrollReport"})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Outcome != licensing.RunSucceeded || !strings.Contains(runs[0].Message, note) {
		t.Errorf("runs = %+v, want one succeeded run whose message has %q", runs, note)
	}
}
