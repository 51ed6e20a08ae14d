package usage_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// textReports renders reports as lines of text, so tests can check what
// each report holds without a spreadsheet library.
type textReports struct {
	mu    sync.Mutex
	users map[string][]string
}

func (t *textReports) WriteAgencyReport(w io.Writer, r licensing.AgencyReport, users licensing.UserSource) error {
	fmt.Fprintf(w, "agency %s %s users=%d\n", r.Agency.ID, r.Date, r.Users)
	for _, p := range r.Products {
		fmt.Fprintf(w, "product %s purchased=%d inuse=%d available=%d %s disabled=%d\n", p.PartNumber, p.Purchased, p.InUse, p.Available, p.Status, p.Disabled)
	}
	for _, p := range r.Purchases {
		fmt.Fprintf(w, "purchase %s %d %s..%s days=%d grace=%v\n", p.PONumber, p.Quantity, p.TermStart, p.TermEnd, p.DaysToEnd, p.InGrace)
	}
	var names []string
	err := users(func(u licensing.UserLine) error {
		names = append(names, u.UserPrincipalName+" "+u.Reclaim)
		fmt.Fprintf(w, "user %s %q\n", u.UserPrincipalName, u.Reclaim)
		return nil
	})
	t.mu.Lock()
	if t.users == nil {
		t.users = map[string][]string{}
	}
	t.users[r.Agency.ID] = names
	t.mu.Unlock()
	return err
}

func (t *textReports) WriteEnterpriseSummary(w io.Writer, s licensing.EnterpriseSummary, unattributed, conflicts licensing.UserSource) error {
	for _, r := range s.Rows {
		fmt.Fprintf(w, "row %s %s purchased=%d inuse=%d %s\n", r.Agency, r.PartNumber, r.Purchased, r.InUse, r.Status)
	}
	for _, r := range s.Tenant {
		fmt.Fprintf(w, "tenant %s purchased=%d prepaid=%d diff=%d\n", r.PartNumber, r.Purchased, r.Prepaid, r.Difference)
	}
	for name, src := range map[string]licensing.UserSource{"unattributed": unattributed, "conflict": conflicts} {
		if err := src(func(u licensing.UserLine) error { fmt.Fprintf(w, "%s %s\n", name, u.UserPrincipalName); return nil }); err != nil {
			return err
		}
	}
	return nil
}

// payrollFixture is the sample tenant and agencies at 14:00 on November 23,
// 2026 (a payroll Monday), with a usage service that renders text reports.
func payrollFixture(t *testing.T) (*fixture, *textReports) {
	t.Helper()
	f := newFixture(t, time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC), fakes.Agencies()...)
	reports := &textReports{}
	f.svc = f.service(f.mail, reports)
	// The ledger: DOA bought 1 E3 (in grace on the report date), 5 Visio;
	// DET bought 2 E3; a pending line never counts.
	activated := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lines := []licensing.Purchase{
		{ID: "p1", Agency: "DOA", SkuID: fakes.SkuE3, Quantity: 1, TermStart: licensing.NewDate(2025, 7, 1), TermEnd: licensing.NewDate(2026, 11, 1), PONumber: "PO-1", ActivatedAt: &activated, Source: licensing.SourceImport},
		{ID: "p2", Agency: "DOA", SkuID: fakes.SkuVisio, Quantity: 5, TermStart: licensing.NewDate(2026, 7, 1), TermEnd: licensing.NewDate(2027, 6, 30), PONumber: "=HYPERLINK(1)", ActivatedAt: &activated, Source: licensing.SourceImport},
		{ID: "p3", Agency: "DET", SkuID: fakes.SkuE3, Quantity: 2, TermStart: licensing.NewDate(2026, 7, 1), TermEnd: licensing.NewDate(2027, 6, 30), PONumber: "PO-3", ActivatedAt: &activated, Source: licensing.SourceImport},
		{ID: "p4", Agency: "DET", SkuID: fakes.SkuVisio, Quantity: 50, TermStart: licensing.NewDate(2026, 7, 1), TermEnd: licensing.NewDate(2027, 6, 30), PONumber: "PO-4", Source: licensing.SourceServiceRequest},
		{ID: "p5", Agency: "DOA", SkuID: fakes.SkuVisio, Quantity: 9, TermStart: licensing.NewDate(2026, 12, 1), TermEnd: licensing.NewDate(2027, 6, 30), PONumber: "PO-FUTURE", ActivatedAt: &activated, Source: licensing.SourceImport},
	}
	if _, err := f.store.AddPurchases(context.Background(), lines, "test", "fixture"); err != nil {
		t.Fatal(err)
	}
	return f, reports
}

func reportText(t *testing.T, f *fixture, name string) string {
	t.Helper()
	rc, err := f.store.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	return string(b)
}

func TestPayrollReportNumbers(t *testing.T) {
	f, _ := payrollFixture(t)
	date := licensing.NewDate(2026, 11, 23)
	res, err := f.svc.PayrollReport(context.Background(), date, usage.PayrollOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Agencies != 2 || res.Written != 3 || res.Mailed != 3 || res.Over != 1 {
		t.Errorf("result = %+v", res)
	}
	doa := reportText(t, f, "reports/payroll/2026-11-23/DOA.xlsx")
	// u01: E3 direct + Visio by group; u02: E3, disabled; u07: Visio in error
	// (not counted); u08: nothing. E3 bought 1 (in grace), 2 in use: over.
	for _, want := range []string{
		"agency DOA 2026-11-23 users=2",
		"product ENTERPRISEPACK purchased=1 inuse=2 available=-1 Over disabled=1",
		"product VISIOCLIENT purchased=5 inuse=1 available=4 OK disabled=0",
		"purchase PO-1 1 2025-07-01..2026-11-01 days=-22 grace=true",
		"purchase =HYPERLINK(1) 5 2026-07-01..2027-06-30 days=219 grace=false",
		`user b@doa.example.gov "account disabled"`,
	} {
		if !strings.Contains(doa, want) {
			t.Errorf("DOA report lacks %q:\n%s", want, doa)
		}
	}
	if strings.Contains(doa, "PO-FUTURE") || strings.Contains(doa, "PO-3") {
		t.Errorf("DOA report shows a purchase not in force or not its own:\n%s", doa)
	}
	det := reportText(t, f, "reports/payroll/2026-11-23/DET.xlsx")
	if !strings.Contains(det, "product ENTERPRISEPACK purchased=2 inuse=1 available=1 OK") || strings.Contains(det, "VISIOCLIENT purchased=50") {
		t.Errorf("DET report (the pending Visio line must not count):\n%s", det)
	}
	sum := reportText(t, f, "reports/payroll/2026-11-23/enterprise-summary.xlsx")
	for _, want := range []string{
		"tenant ENTERPRISEPACK purchased=3 prepaid=100 diff=97",
		"tenant VISIOCLIENT purchased=5 prepaid=10 diff=5",
		"unattributed d@nowhere.example.gov",
		"conflict e@det.example.gov",
		"row (unattributed) ENTERPRISEPACK purchased=0 inuse=1 Over",
	} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
	var to []string
	for _, m := range f.mail.Sent {
		to = append(to, m.Subject+" -> "+strings.Join(m.To, ","))
		if len(m.Attachments) != 1 || m.Attachments[0].Size == 0 {
			t.Errorf("%s: attachments %+v", m.Subject, m.Attachments)
		}
	}
	want := []string{
		"Enterprise license summary 2026-11-23 -> licensing@it.example.gov",
		"License report 2026-11-23: DET -> x@det.example.gov",
		"License report 2026-11-23: DOA -> licensing@doa.example.gov",
	}
	sort.Strings(to)
	if diff := cmp.Diff(want, to); diff != "" {
		t.Errorf("mail (-want +got):\n%s", diff)
	}
}

// flakyMailer fails the nth send and the one after it (the retry of the
// piece whose mail failed).
type flakyMailer struct {
	*fakes.Mailbox
	mu            sync.Mutex
	failAt, calls int
}

func (m *flakyMailer) Send(ctx context.Context, msg licensing.MailMessage) error {
	m.mu.Lock()
	m.calls++
	fail := m.calls == m.failAt || m.calls == m.failAt+1
	m.mu.Unlock()
	if fail {
		return licensing.Wrap("mail", licensing.Unavailable, "", errors.New("mail server down"))
	}
	return m.Mailbox.Send(ctx, msg)
}

func TestPayrollResumesWithoutMailingTwice(t *testing.T) {
	f, _ := payrollFixture(t)
	ctx := context.Background()
	date := licensing.NewDate(2026, 11, 23)
	flaky := &flakyMailer{Mailbox: f.mail, failAt: 2}
	svc := f.service(flaky, &textReports{})
	res, err := svc.PayrollReport(ctx, date, usage.PayrollOptions{}, nil)
	if licensing.ErrorCode(err) != licensing.Unavailable || res.Mailed != 2 {
		t.Fatalf("first run: %v, %+v; want unavailable after mailing the others", err, res)
	}
	firstSnap := res.Snapshot
	// The directory changes meanwhile; the resumed run reports on the same
	// snapshot and mails only the one that failed.
	f.dir.Users["u99"] = licensing.DirectoryUser{ID: "u99", UserPrincipalName: "new@doa.example.gov", Department: "Administration", AccountEnabled: true,
		Licenses: []licensing.UserLicense{fakes.Lic(fakes.SkuE3, true)}}
	res, err = svc.PayrollReport(ctx, date, usage.PayrollOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Snapshot != firstSnap || res.Mailed != 1 || res.Skipped != 2 {
		t.Errorf("resumed run = %+v, want the first snapshot, 1 mail, 2 already delivered", res)
	}
	if f.mail.Sends != 3 {
		t.Errorf("%d mails in all, want 3 (each report once)", f.mail.Sends)
	}
	// A third run does nothing; --resend DOA mails DOA again, on purpose.
	res, _ = svc.PayrollReport(ctx, date, usage.PayrollOptions{}, nil)
	if res.Mailed != 0 || res.Skipped != 3 {
		t.Errorf("third run = %+v", res)
	}
	res, _ = svc.PayrollReport(ctx, date, usage.PayrollOptions{Resend: []string{"doa"}}, nil)
	if res.Mailed != 1 {
		t.Errorf("resend = %+v", res)
	}
}

func TestPayrollInterruptedWhileMailingIsNotResent(t *testing.T) {
	f, _ := payrollFixture(t)
	ctx := context.Background()
	date := licensing.NewDate(2026, 11, 23)
	// A previous run died between recording "mailing" and "mailed" for DOA.
	if err := f.store.PutDelivery(ctx, licensing.Delivery{Run: "payroll-2026-11-23", Key: "DOA", State: licensing.DeliveryMailing, File: "reports/payroll/2026-11-23/DOA.xlsx"}); err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.PayrollReport(ctx, date, usage.PayrollOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mailed != 2 || len(res.Unconfirmed) != 1 || res.Unconfirmed[0] != "DOA" || len(res.Notes) == 0 {
		t.Errorf("result = %+v", res)
	}
}

func TestPayrollTimerSkipsOffMondays(t *testing.T) {
	f, _ := payrollFixture(t)
	f.clock = time.Date(2026, 11, 30, 11, 0, 0, 0, time.UTC) // the off Monday
	res, err := f.svc.PayrollRun(context.Background(), "timer", licensing.Date{}, false, usage.PayrollOptions{}, nil)
	if err != nil || res.Run != "" || f.mail.Sends != 0 {
		t.Fatalf("off Monday: %+v %v, %d mails", res, err, f.mail.Sends)
	}
	runs, _ := f.store.ListRuns(context.Background(), licensing.RunFilter{Function: "PayrollReport"})
	if len(runs) != 1 || runs[0].Outcome != licensing.RunSkipped || !strings.Contains(runs[0].Message, "not a payroll Monday") {
		t.Errorf("runs = %+v", runs)
	}
	// Past due on Wednesday for the payroll Monday before: the report is made.
	f.clock = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	res, err = f.svc.PayrollRun(context.Background(), "timer", licensing.Date{}, true, usage.PayrollOptions{}, nil)
	if err != nil || res.Date.String() != "2026-11-23" || res.Mailed != 3 {
		t.Errorf("past due: %+v %v", res, err)
	}
}

func TestUsageAudit(t *testing.T) {
	f, _ := payrollFixture(t)
	f.clock = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	res, err := f.svc.UsageAudit(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []usage.OverUse{{Agency: "DOA", AgencyName: "Administration", SkuID: fakes.SkuE3, PartNumber: "ENTERPRISEPACK", Product: "Office 365 E3",
		Purchased: 1, InUse: 2, Over: 1, Reclaimable: 1}}
	// On December 1 DOA's E3 line (term end November 1) is in its last day
	// of grace: 1 bought, 2 in use.
	if diff := cmp.Diff(want, res.Over); diff != "" {
		t.Errorf("over (-want +got):\n%s", diff)
	}
	if res.Mailed != 2 {
		t.Errorf("mails = %d, want central IT and DOA", res.Mailed)
	}
	for _, m := range f.mail.Sent {
		if strings.HasPrefix(m.Subject, "Action needed") && !strings.Contains(m.Text, "b@doa.example.gov") {
			t.Errorf("DOA's mail does not list the disabled user:\n%s", m.Text)
		}
	}
	again, _ := f.svc.UsageAudit(context.Background(), nil)
	if again.Mailed != 0 || f.mail.Sends != 2 {
		t.Errorf("second audit in the month mailed %d (total %d)", again.Mailed, f.mail.Sends)
	}
}

func TestLicenseCSVIsSafe(t *testing.T) {
	var b strings.Builder
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	err := usage.WriteLicenseCSV(&b, func(fn func(usage.LicenseRow) error) error {
		return fn(usage.LicenseRow{Agency: "DOA", UPN: "=cmd|' /C calc'!A0", Name: "+SUM(1)\x00", License: "-2", PartNumber: "@x", Assigned: "\tDirect", Enabled: true, LastSignIn: &at})
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "\ufeffAgency,User principal name,Display name,License,Part number,Assigned,Account enabled,Last sign-in,Reclaim candidate\r\n" +
		"DOA,'=cmd|' /C calc'!A0,'+SUM(1),'-2,'@x,'\tDirect,Yes,2026-11-01,\r\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
}

// slowMailer takes a while per mail, so that two runs overlap.
type slowMailer struct {
	*fakes.Mailbox
	delay time.Duration
}

func (m *slowMailer) Send(ctx context.Context, msg licensing.MailMessage) error {
	time.Sleep(m.delay)
	return m.Mailbox.Send(ctx, msg)
}

func TestConcurrentPayrollRunsMailEachReportOnce(t *testing.T) {
	f, _ := payrollFixture(t)
	svc := f.service(&slowMailer{Mailbox: f.mail, delay: 50 * time.Millisecond}, &textReports{})
	date := licensing.NewDate(2026, 11, 23)
	var wg sync.WaitGroup
	results := make([]usage.ReportResult, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := svc.PayrollRun(context.Background(), "timer", date, false, usage.PayrollOptions{}, nil)
			if err != nil {
				t.Errorf("run %d: %v", i, err)
			}
			results[i] = res
		}()
	}
	wg.Wait()
	if f.mail.Sends != 3 {
		t.Errorf("%d mails sent by two concurrent runs, want 3 (DOA, DET and the summary, once each)", f.mail.Sends)
	}
	if mailed := results[0].Mailed + results[1].Mailed; mailed != 3 {
		t.Errorf("runs report %d and %d mails sent, want 3 in all", results[0].Mailed, results[1].Mailed)
	}
}

// TestPayrollClaimLeftByADeadRunIsNotResent: a run claimed DOA's mail and
// died before confirming it (it may have gone). The next run, once the
// claim has lapsed, does not send it again and reports it unconfirmed.
func TestPayrollClaimLeftByADeadRunIsNotResent(t *testing.T) {
	f, _ := payrollFixture(t)
	ctx := context.Background()
	claimed := f.clock.Add(-time.Hour)
	if _, err := f.store.ClaimEffect(ctx, licensing.Effect{Key: "mail:payroll-2026-11-23.DOA", State: licensing.EffectClaimed,
		Claimed: claimed, Until: claimed.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.PayrollReport(ctx, licensing.NewDate(2026, 11, 23), usage.PayrollOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mailed != 2 || len(res.Unconfirmed) != 1 || res.Unconfirmed[0] != "DOA" || f.mail.Sends != 2 {
		t.Errorf("result = %+v, %d sends; want 2 mailed and DOA unconfirmed", res, f.mail.Sends)
	}
	again, err := f.svc.PayrollReport(ctx, licensing.NewDate(2026, 11, 23), usage.PayrollOptions{}, nil)
	if err != nil || again.Mailed != 0 || f.mail.Sends != 2 {
		t.Errorf("a later run = %+v, %v, %d sends; want nothing sent", again, err, f.mail.Sends)
	}
}
