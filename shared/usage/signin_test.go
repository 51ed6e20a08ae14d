package usage_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/graph"
	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
	"github.com/shared-tenant/licensetrack/shared/xlsx"
)

// signInFixture is the payroll fixture's agencies (DOA bought 2 E3, DET 1)
// over a fake Graph tenant read through the real Graph adapter, with
// the real spreadsheet writer. DOA has four E3 users: one signed in three
// days ago, one last in June, one never, and one disabled; DET and nobody
// have one each.
func signInFixture(t *testing.T, forbidden bool) (*fixture, *graphfake.Server) {
	t.Helper()
	f := newFixture(t, time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC), fakes.Agencies()...)
	tenant := graphfake.NewTenant()
	tenant.PutSku(graphfake.Sku{SkuID: fakes.SkuE3, PartNumber: "ENTERPRISEPACK", CapabilityStatus: "Enabled", Enabled: 100})
	recent, june := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	e3 := []graphfake.LicenseState{{SkuID: fakes.SkuE3}}
	for i, u := range []graphfake.User{
		{UserPrincipalName: "recent@doa.example.gov", Department: "Administration", AccountEnabled: true, LastSignIn: &recent},
		{UserPrincipalName: "june@doa.example.gov", Department: "Administration", AccountEnabled: true, LastSignIn: &june},
		{UserPrincipalName: "never@doa.example.gov", Department: "Administration", AccountEnabled: true},
		{UserPrincipalName: "off@doa.example.gov", Department: "Administration", AccountEnabled: false, LastSignIn: &recent},
		{UserPrincipalName: "c@det.example.gov", AccountEnabled: true, LastSignIn: &june},
		{UserPrincipalName: "d@nowhere.example.gov", AccountEnabled: true},
	} {
		u.ID = "00000000-0000-0000-0000-00000000000" + string(rune('1'+i))
		u.UsageLocation, u.Licenses = "US", e3
		tenant.PutUser(u)
	}
	tenant.SetSignInActivityForbidden(forbidden)
	quiet := slog.New(slog.DiscardHandler)
	server := graphfake.NewServer(tenant, quiet)
	ts := httptest.NewServer(server)
	t.Cleanup(ts.Close)
	client, err := graph.New(graph.Config{BaseURL: ts.URL + "/v1.0", Auth: graph.AuthNone, RetryDelay: 10 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	activated := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	var lines []licensing.Purchase
	for agency, n := range map[string]int{"DOA": 2, "DET": 1} {
		lines = append(lines, licensing.Purchase{ID: "p-" + agency, Agency: agency, SkuID: fakes.SkuE3, Quantity: n, TermStart: licensing.NewDate(2026, 7, 1),
			TermEnd: licensing.NewDate(2027, 6, 30), PONumber: "PO-" + agency, ActivatedAt: &activated, Source: licensing.SourceImport})
	}
	if _, err := f.store.AddPurchases(context.Background(), lines, "test", "fixture"); err != nil {
		t.Fatal(err)
	}
	f.directory = client
	f.svc = f.service(f.mail, xlsx.NewReportWriter())
	return f, server
}

// openWorkbook reads a stored workbook back.
func openWorkbook(t *testing.T, f *fixture, name string) *excelize.File {
	t.Helper()
	rc, err := f.store.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	x, err := excelize.OpenReader(rc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// reclaimByUser returns the Users sheet's last cell (the reclaim reason) by
// user principal name.
func reclaimByUser(t *testing.T, x *excelize.File) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range rowsWith(t, x, "Users", "@doa.example.gov") {
		out[r[0]] = ""
		if len(r) > 1 && (strings.Contains(r[len(r)-1], "sign") || strings.Contains(r[len(r)-1], "disabled")) {
			out[r[0]] = r[len(r)-1]
		}
	}
	return out
}

// runMessage returns the message of function's only run.
func runMessage(t *testing.T, f *fixture, function string) string {
	t.Helper()
	runs, err := f.store.ListRuns(context.Background(), licensing.RunFilter{Function: function})
	if err != nil || len(runs) != 1 {
		t.Fatalf("%s runs = %+v, %v; want one", function, runs, err)
	}
	return runs[0].Message
}

// TestPayrollReadsSignInActivity: a scheduled payroll run reads sign-in
// activity (users at 500 a page with signInActivity), so the workbook flags
// the users who stopped signing in and counts them as Inactive; a later
// plain snapshot still reads only the changes.
func TestPayrollReadsSignInActivity(t *testing.T) {
	f, server := signInFixture(t, false)
	ctx := context.Background()
	res, err := f.svc.PayrollRun(ctx, "timer", licensing.Date{}, false, usage.PayrollOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Date.String() != "2026-11-23" || len(res.Notes) != 0 {
		t.Errorf("result = %+v, want the payroll of 2026-11-23 without notes", res)
	}
	signInPages := 0
	for _, r := range server.Requests() {
		if r.Path == "/v1.0/users" && strings.Contains(r.Query.Get("$select"), "signInActivity") && r.Query.Get("$top") == "500" {
			signInPages++
		}
	}
	if signInPages != 1 {
		t.Errorf("%d pages of /users with signInActivity and $top=500, want 1", signInPages)
	}

	doa := openWorkbook(t, f, "reports/payroll/2026-11-23/DOA.xlsx")
	want := map[string]string{
		"recent@doa.example.gov": "",
		"june@doa.example.gov":   "no sign-in for 90 days",
		"never@doa.example.gov":  "never signed in",
		"off@doa.example.gov":    "account disabled",
	}
	if diff := cmp.Diff(want, reclaimByUser(t, doa)); diff != "" {
		t.Errorf("Users sheet reclaim candidates (-want +got):\n%s", diff)
	}
	// Product, part number, purchased, in use, available, status, disabled, inactive.
	if diff := cmp.Diff([][]string{{"Office 365 E3", "ENTERPRISEPACK", "2", "4", "-2", "Over", "1", "2"}}, rowsWith(t, doa, "Summary", "ENTERPRISEPACK")); diff != "" {
		t.Errorf("Summary (-want +got):\n%s", diff)
	}
	if rows, _ := doa.GetRows("Users"); len(rows) == 0 || strings.Contains(strings.Join(rows[0], "|")+strings.Join(rows[len(rows)-1], "|"), "not available") {
		t.Errorf("Users sheet says sign-ins are not available: %v", rows)
	}
	for _, m := range f.mail.Sent {
		if strings.Contains(m.Text, "not available") {
			t.Errorf("%s says sign-ins are not available:\n%s", m.Subject, m.Text)
		}
	}

	// The monthly audit counts the inactive users as reclaimable.
	f.clock = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	audit, err := f.svc.AuditRun(ctx, "timer", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit.Over) != 1 || audit.Over[0].Reclaimable != 3 || len(audit.Notes) != 0 {
		t.Errorf("audit = %+v, want DOA's E3 over with 3 reclaimable (disabled, June, never)", audit)
	}
	for _, m := range f.mail.Sent {
		if strings.HasPrefix(m.Subject, "Action needed") && !(strings.Contains(m.Text, "june@doa.example.gov") && strings.Contains(m.Text, "never@doa.example.gov")) {
			t.Errorf("DOA's audit mail does not list the inactive users:\n%s", m.Text)
		}
	}

	// A snapshot taken by hand afterwards reads only the changes since the
	// audit's sign-in read.
	snap, err := f.svc.TakeSnapshot(ctx, usage.SnapshotOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Full || snap.Base != audit.Snapshot {
		t.Errorf("snapshot after the audit: full=%v base=%q, want an incremental read on %s", snap.Full, snap.Base, audit.Snapshot)
	}
}

// TestPayrollSaysWhenSignInIsUnavailable: in a tenant without Entra ID P1
// the payroll and audit runs still report, and the result, the run record
// and every mail say that sign-in activity is not available and why.
func TestPayrollSaysWhenSignInIsUnavailable(t *testing.T) {
	f, _ := signInFixture(t, true)
	ctx := context.Background()
	const want = "sign-in activity not available: the tenant has no Microsoft Entra ID P1 license"
	res, err := f.svc.PayrollRun(ctx, "timer", licensing.Date{}, false, usage.PayrollOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mailed != 3 {
		t.Errorf("result = %+v, want 3 mails", res)
	}
	checkSaid(t, f, "PayrollReport", res.Notes, want)
	doa := openWorkbook(t, f, "reports/payroll/2026-11-23/DOA.xlsx")
	wantUsers := map[string]string{"recent@doa.example.gov": "", "june@doa.example.gov": "", "never@doa.example.gov": "", "off@doa.example.gov": "account disabled"}
	if diff := cmp.Diff(wantUsers, reclaimByUser(t, doa)); diff != "" {
		t.Errorf("Users sheet without sign-ins (-want +got):\n%s", diff)
	}

	f.clock = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	f.mail.Sent = nil
	audit, err := f.svc.AuditRun(ctx, "timer", nil)
	if err != nil {
		t.Fatal(err)
	}
	if audit.Mailed != 2 {
		t.Errorf("audit = %+v, want 2 mails", audit)
	}
	checkSaid(t, f, "UsageAudit", audit.Notes, want)
}

// checkSaid checks that the result's notes, the run record of function and
// every mail sent say want.
func checkSaid(t *testing.T, f *fixture, function string, notes []string, want string) {
	t.Helper()
	if len(notes) != 1 || !strings.HasPrefix(notes[0], want) {
		t.Errorf("%s notes = %q, want %q", function, notes, want)
	}
	if msg := runMessage(t, f, function); !strings.Contains(msg, want) {
		t.Errorf("%s run record = %q, want %q", function, msg, want)
	}
	for _, m := range f.mail.Sent {
		if !strings.Contains(m.Text, want) {
			t.Errorf("%s does not say %q:\n%s", m.Subject, want, m.Text)
		}
	}
}
