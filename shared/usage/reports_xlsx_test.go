package usage_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
	"github.com/shared-tenant/licensetrack/shared/xlsx"
)

// TestPayrollWorkbooksReadBack runs the payroll report with the real
// spreadsheet writer and reads the workbooks back: the numbers must be the
// fake tenant's and the ledger's (group-assigned, disabled, unattributed
// and conflicting users; purchases in grace, not started, pending).
func TestPayrollWorkbooksReadBack(t *testing.T) {
	f, _ := payrollFixture(t)
	svc := f.service(f.mail, xlsx.NewReportWriter())
	if _, err := svc.PayrollReport(context.Background(), licensing.NewDate(2026, 11, 23), usage.PayrollOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	open := func(name string) *excelize.File { return openWorkbook(t, f, name) }
	doa := open("reports/payroll/2026-11-23/DOA.xlsx")
	if diff := cmp.Diff([]string{"Summary", "Users", "Purchases"}, doa.GetSheetList()); diff != "" {
		t.Errorf("sheets (-want +got):\n%s", diff)
	}
	products := rowsWith(t, doa, "Summary", "ENTERPRISEPACK", "VISIOCLIENT")
	// Product, part number, purchased, in use, available, status, disabled, inactive
	// (unknown: the fixture reads no sign-ins).
	want := [][]string{
		{"Office 365 E3", "ENTERPRISEPACK", "1", "2", "-1", "Over", "1", "unknown"},
		{"Visio Plan 2", "VISIOCLIENT", "5", "1", "4", "OK", "0", "unknown"},
	}
	if diff := cmp.Diff(want, products); diff != "" {
		t.Errorf("Summary products (-want +got):\n%s", diff)
	}
	users := rowsWith(t, doa, "Users", "@doa.example.gov")
	if len(users) != 2 {
		t.Fatalf("Users rows = %v, want a (E3 direct, Visio by group) and b (disabled)", users)
	}
	if users[0][0] != "a@doa.example.gov" || users[1][0] != "b@doa.example.gov" || users[1][len(users[1])-1] != "account disabled" {
		t.Errorf("Users = %v", users)
	}
	purchases := rowsWith(t, doa, "Purchases", "PO-", "HYPERLINK")
	if len(purchases) != 2 || purchases[1][0] != "'=HYPERLINK(1)" {
		t.Errorf("Purchases = %v (the future PO-FUTURE must not show; the formula-like PO must be text)", purchases)
	}
	sum := open("reports/payroll/2026-11-23/enterprise-summary.xlsx")
	tenant := rowsWith(t, sum, "Tenant check", "ENTERPRISEPACK", "VISIOCLIENT")
	if len(tenant) != 2 || tenant[0][2] != "3" || tenant[0][3] != "100" || tenant[1][2] != "5" || tenant[1][3] != "10" {
		t.Errorf("Tenant check = %v, want E3 3 bought of 100, Visio 5 of 10", tenant)
	}
	if u := rowsWith(t, sum, "Unattributed", "d@nowhere.example.gov"); len(u) != 1 {
		t.Errorf("Unattributed = %v", u)
	}
	if c := rowsWith(t, sum, "Conflicts", "e@det.example.gov"); len(c) != 1 {
		t.Errorf("Conflicts = %v", c)
	}
}

// rowsWith returns the rows of a sheet whose first two cells contain one
// of the needles.
func rowsWith(t *testing.T, x *excelize.File, sheet string, needles ...string) [][]string {
	t.Helper()
	rows, err := x.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, r := range rows {
		for _, n := range needles {
			if len(r) > 1 && (contains(r[0], n) || contains(r[1], n)) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

func contains(s, sub string) bool { return sub != "" && strings.Contains(s, sub) }
