package usage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// namedLinks makes links that name the file and their lifetime.
type namedLinks struct{}

func (namedLinks) Link(_ context.Context, name string, ttl time.Duration) (string, error) {
	return fmt.Sprintf("https://files.example.gov/%s?ttl=%s", name, ttl), nil
}

// TestPayrollWorkbooks lists an agency's latest payroll workbooks, newest
// first, each with a link for the lifetime asked; a delegate sees their own
// agency only.
func TestPayrollWorkbooks(t *testing.T) {
	f, reports := payrollFixture(t)
	f.links = namedLinks{}
	f.svc = f.service(f.mail, reports)
	ctx := context.Background()
	delegate := &licensing.Principal{Name: fakes.Delegate}
	none, err := f.svc.PayrollWorkbooks(ctx, delegate, "doa", 3, time.Minute)
	if err != nil || none.Agency != "DOA" || none.Name != "Administration" || len(none.Workbooks) != 0 {
		t.Fatalf("before any report: %+v, %v", none, err)
	}
	// Three payroll Mondays, two weeks apart.
	for _, date := range []licensing.Date{licensing.NewDate(2026, 10, 26), licensing.NewDate(2026, 11, 9), licensing.NewDate(2026, 11, 23)} {
		if _, err := f.svc.PayrollReport(ctx, date, usage.PayrollOptions{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.svc.PayrollWorkbooks(ctx, delegate, "DOA", 2, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, wb := range got.Workbooks {
		lines = append(lines, wb.Date.String()+" "+wb.File+" "+wb.URL)
		if wb.Size == 0 || wb.Expires.IsZero() {
			t.Errorf("workbook %+v: want its size and when its link expires", wb)
		}
	}
	want := []string{
		"2026-11-23 reports/payroll/2026-11-23/DOA.xlsx https://files.example.gov/reports/payroll/2026-11-23/DOA.xlsx?ttl=15m0s",
		"2026-11-09 reports/payroll/2026-11-09/DOA.xlsx https://files.example.gov/reports/payroll/2026-11-09/DOA.xlsx?ttl=15m0s",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("workbooks (-want +got):\n%s", diff)
	}
	all, err := f.svc.PayrollWorkbooks(ctx, admin, "DOA", 10, time.Minute)
	if err != nil || len(all.Workbooks) != 3 || !all.Workbooks[2].Date.Equal(licensing.NewDate(2026, 10, 26)) {
		t.Errorf("every workbook: %+v, %v; want the three, oldest last", all, err)
	}

	for _, c := range []struct {
		name   string
		caller *licensing.Principal
		agency string
		code   licensing.Code
	}{
		{"another agency", delegate, "DET", licensing.Forbidden},
		{"unknown agency", admin, "NOPE", licensing.NotFound},
		{"no agency", admin, " ", licensing.Invalid},
		{"nobody", nil, "DOA", licensing.Unauthenticated},
	} {
		if _, err := f.svc.PayrollWorkbooks(ctx, c.caller, c.agency, 3, time.Minute); licensing.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
}

// TestReportMailsLinkThePages: with AppURL, each agency's payroll and audit
// mails link to the agency's overview page and central IT's to the overview
// of every agency; without it they carry no link.
func TestReportMailsLinkThePages(t *testing.T) {
	for _, appURL := range []string{"https://licensing.example.gov/", ""} {
		f, reports := payrollFixture(t)
		f.appURL = appURL
		f.svc = f.service(f.mail, reports)
		ctx := context.Background()
		if _, err := f.svc.PayrollReport(ctx, licensing.NewDate(2026, 11, 23), usage.PayrollOptions{}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.UsageAudit(ctx, nil); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"payroll-2026-11-23.DOA":                "https://licensing.example.gov/agencies/DOA\n",
			"payroll-2026-11-23.DET":                "https://licensing.example.gov/agencies/DET\n",
			"payroll-2026-11-23.enterprise-summary": "https://licensing.example.gov/agencies\n",
			"audit-2026-11.central-it":              "https://licensing.example.gov/agencies\n",
			"audit-2026-11.DOA":                     "https://licensing.example.gov/agencies/DOA\n",
		}
		for id, link := range want {
			m, ok := f.mail.Sent[id]
			switch {
			case !ok:
				t.Errorf("no mail %s", id)
			case appURL != "" && !strings.Contains(m.Text, link):
				t.Errorf("mail %s lacks %q:\n%s", id, link, m.Text)
			case appURL == "" && strings.Contains(m.Text, "http"):
				t.Errorf("mail %s has a link without APP_URL:\n%s", id, m.Text)
			}
		}
	}
}
