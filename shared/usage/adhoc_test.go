package usage_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
	"github.com/shared-tenant/licensetrack/shared/xlsx"
)

// adhocAfterPayroll runs the payroll of November 23 with the real
// spreadsheet writer, so that the ad-hoc report reads the payroll's
// snapshot and can be compared with the workbooks.
func adhocAfterPayroll(t *testing.T) *fixture {
	t.Helper()
	f, _ := payrollFixture(t)
	f.svc = f.service(f.mail, xlsx.NewReportWriter())
	if _, err := f.svc.PayrollReport(context.Background(), licensing.NewDate(2026, 11, 23), usage.PayrollOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	return f
}

func numbersOf(rep usage.LicenseReport) map[string]usage.AgencyNumbers {
	out := map[string]usage.AgencyNumbers{}
	for _, a := range rep.Agencies {
		out[a.Agency] = a
	}
	return out
}

// TestAdhocCountsUsersLikeTheWorkbook: licensedUsers counts users, not
// license assignments: DOA's a holds E3 and Visio and b holds E3, so 2 (3
// assignments), as many as the workbook's Users sheet lists.
func TestAdhocCountsUsersLikeTheWorkbook(t *testing.T) {
	f := adhocAfterPayroll(t)
	listed := map[string]int{}
	for _, agency := range []string{"DOA", "DET"} {
		x := openWorkbook(t, f, "reports/payroll/2026-11-23/"+agency+".xlsx")
		listed[agency] = len(rowsWith(t, x, "Users", "@"))
	}
	if listed["DOA"] != 2 || listed["DET"] != 1 {
		t.Fatalf("workbook Users rows = %v, want DOA 2 and DET 1", listed)
	}
	rep, err := f.svc.LicenseReport(context.Background(), admin, "")
	if err != nil {
		t.Fatal(err)
	}
	got := numbersOf(rep)
	for agency, n := range listed {
		if got[agency].Users != n {
			t.Errorf("%s licensedUsers = %d, the workbook lists %d users", agency, got[agency].Users, n)
		}
	}
}

// TestAdhocTenantWideShowsUnattributedAndConflicts: an admin's tenant-wide
// report has the users matching no agency (d, and f whose group no agency
// names) and several (e), each bucket marked and counted as the enterprise
// summary's sheets list them; an agency's report and a delegate's do not.
func TestAdhocTenantWideShowsUnattributedAndConflicts(t *testing.T) {
	f := adhocAfterPayroll(t)
	ctx := context.Background()
	sum := openWorkbook(t, f, "reports/payroll/2026-11-23/enterprise-summary.xlsx")
	sheets := map[string]int{
		licensing.Unattributed: len(rowsWith(t, sum, "Unattributed", "@")),
		licensing.Conflicted:   len(rowsWith(t, sum, "Conflicts", "@")),
	}
	rep, err := f.svc.LicenseReport(ctx, admin, "")
	if err != nil {
		t.Fatal(err)
	}
	got := numbersOf(rep)
	type bucket struct {
		Bucket string
		Users  int
		Lines  []string
	}
	lines := func(a usage.AgencyNumbers) []string {
		var out []string
		for _, p := range a.Products {
			out = append(out, p.PartNumber+" "+p.Status)
		}
		return out
	}
	want := map[string]bucket{
		licensing.Unattributed: {"unattributed", 2, []string{"ENTERPRISEPACK Over", "VISIOCLIENT Over"}},
		licensing.Conflicted:   {"conflict", 1, []string{"ENTERPRISEPACK Over"}},
	}
	for name, w := range want {
		a, ok := got[name]
		if !ok {
			t.Errorf("the tenant-wide report has no %s entry: %+v", name, rep.Agencies)
			continue
		}
		if diff := cmp.Diff(w, bucket{a.Bucket, a.Users, lines(a)}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
		if a.Users != sheets[name] || a.Note == "" {
			t.Errorf("%s: %d users with note %q; the summary's sheet lists %d", name, a.Users, a.Note, sheets[name])
		}
	}
	if got["DOA"].Bucket != "" || len(rep.Tenant) == 0 {
		t.Errorf("agencies must not be marked, and the tenant check must stay: %+v", rep)
	}

	var rows []string
	err = f.svc.LicenseRows(ctx, admin, "", func(r usage.LicenseRow) error {
		if strings.HasPrefix(r.Agency, "(") {
			rows = append(rows, r.Agency+" "+r.UPN+" "+r.PartNumber)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantRows := []string{"(unattributed) d@nowhere.example.gov ENTERPRISEPACK", "(conflict) e@det.example.gov ENTERPRISEPACK", "(unattributed) f@x.example.gov VISIOCLIENT"}
	if diff := cmp.Diff(wantRows, rows); diff != "" {
		t.Errorf("tenant-wide CSV rows of the buckets (-want +got):\n%s", diff)
	}

	for _, c := range []struct {
		caller *licensing.Principal
		agency string
	}{{admin, "DOA"}, {&licensing.Principal{Name: fakes.Delegate}, ""}} {
		rep, err := f.svc.LicenseReport(ctx, c.caller, c.agency)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Agencies) != 1 || rep.Agencies[0].Agency != "DOA" {
			t.Errorf("%s asking for %q got %+v, want DOA only", c.caller.Name, c.agency, rep.Agencies)
		}
		err = f.svc.LicenseRows(ctx, c.caller, c.agency, func(r usage.LicenseRow) error {
			if r.Agency != "DOA" {
				t.Errorf("%s asking for %q got a row of %s", c.caller.Name, c.agency, r.Agency)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
