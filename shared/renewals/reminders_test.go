package renewals_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/renewals"
)

// TestPurchaseRemindersOncePerThreshold runs the reminders every day from
// 100 days before a term ends to after it ended: exactly three mails, on
// the 90th, 60th and 30th day before the end, to the agency's contacts with
// central IT in copy, none late.
func TestPurchaseRemindersOncePerThreshold(t *testing.T) {
	f := newReminders(t)
	end := day("2027-06-30")
	f.addLines(line("doa-visio", "DOA", fakes.SkuVisio, "VISIOCLIENT", "PO-1001", 10, day("2026-07-01"), end, licensing.AgreementALaCarte))
	sentOn := map[string]licensing.Date{}
	for d := end.AddDays(-100); !d.After(end.AddDays(5)); d = d.AddDays(1) {
		res := f.run(d)
		for _, r := range res.Sent {
			if prev, ok := sentOn[r.Key]; ok {
				t.Errorf("%s sent on %s and again on %s", r.Key, prev, d)
			}
			sentOn[r.Key] = d
			if r.Late {
				t.Errorf("%s sent on its day %s is marked late", r.Key, d)
			}
		}
		if len(res.Failed)+len(res.Unconfirmed)+len(res.Skipped) > 0 {
			t.Errorf("%s: failed %v, unconfirmed %v, skipped %v", d, res.Failed, res.Unconfirmed, res.Skipped)
		}
	}
	want := map[string]licensing.Date{
		"mail:renewal.DOA.2027-06-30.90d": end.AddDays(-90),
		"mail:renewal.DOA.2027-06-30.60d": end.AddDays(-60),
		"mail:renewal.DOA.2027-06-30.30d": end.AddDays(-30),
	}
	if diff := cmp.Diff(want, sentOn, cmp.Comparer(func(a, b licensing.Date) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("sent on (-want +got):\n%s", diff)
	}
	if f.mail.Sends != 3 {
		t.Errorf("mailer sent %d messages, want 3", f.mail.Sends)
	}
	m := f.sentMail("renewal.DOA.2027-06-30.60d")
	if diff := cmp.Diff([]string{"licensing@doa.example.gov"}, m.To); diff != "" {
		t.Errorf("to (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{fakes.CentralIT}, m.Cc); diff != "" {
		t.Errorf("cc (-want +got):\n%s", diff)
	}
	for _, s := range []string{"Administration (DOA)", "in 60 days", "Visio Plan 2", "PO-1001", "2026-07-01 to 2027-06-30", "a la carte"} {
		if !strings.Contains(m.Text, s) {
			t.Errorf("mail lacks %q:\n%s", s, m.Text)
		}
	}
	if strings.Contains(m.Text, "late") {
		t.Errorf("mail on its day says late:\n%s", m.Text)
	}
}

// TestPurchaseReminderCatchUp starts running 45 days before the end: the
// 60-day reminder goes, marked late and naming the day it was due; the
// 90-day one is passed over (skipped, not mailed); the next day sends
// nothing. A line activated after the due day is not late.
func TestPurchaseReminderCatchUp(t *testing.T) {
	f := newReminders(t)
	end := day("2027-06-30")
	f.addLines(line("doa-visio", "DOA", fakes.SkuVisio, "VISIOCLIENT", "PO-1001", 10, day("2026-07-01"), end, licensing.AgreementALaCarte))
	late := line("det-e3", "DET", fakes.SkuE3, "ENTERPRISEPACK", "PO-2001", 5, day("2026-07-01"), end, licensing.AgreementALaCarte)
	at := end.AddDays(-50).Time().Add(15 * time.Hour)
	late.ActivatedAt = &at
	f.addLines(late)

	res := f.run(end.AddDays(-45))
	if diff := cmp.Diff([]string{"renewal.DET.2027-06-30.60d", "renewal.DOA.2027-06-30.60d"}, keys(res.Sent)); diff != "" {
		t.Fatalf("sent (-want +got):\n%s", diff)
	}
	for _, r := range res.Sent {
		if wantLate := r.Key == "mail:renewal.DOA.2027-06-30.60d"; r.Late != wantLate {
			t.Errorf("%s late = %v, want %v", r.Key, r.Late, wantLate)
		}
	}
	doa := f.sentMail("renewal.DOA.2027-06-30.60d")
	if !strings.Contains(doa.Text, "due on 2027-05-01") || !strings.Contains(doa.Text, "sent late") {
		t.Errorf("late mail does not say so:\n%s", doa.Text)
	}
	if det := f.sentMail("renewal.DET.2027-06-30.60d"); strings.Contains(det.Text, "late") {
		t.Errorf("a line activated after the due day is reminded as late:\n%s", det.Text)
	}
	want := []renewals.SkippedReminder{{Kind: renewals.KindPurchase, What: "renewal.DOA.2027-06-30.90d",
		Why: "passed over: it was due on 2027-04-01 and no run sent it; the later reminder renewal.DOA.2027-06-30.60d went instead"}}
	if diff := cmp.Diff(want, res.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}

	next := f.run(end.AddDays(-44))
	if len(next.Sent) != 0 || len(next.Skipped) != 0 {
		t.Errorf("next day sent %v, skipped %v", keys(next.Sent), next.Skipped)
	}
	if diff := cmp.Diff([]string{"renewal.DET.2027-06-30.60d", "renewal.DOA.2027-06-30.60d"}, keys(next.AlreadySent)); diff != "" {
		t.Errorf("already sent (-want +got):\n%s", diff)
	}
	if f.mail.Sends != 2 {
		t.Errorf("mailer sent %d messages, want 2", f.mail.Sends)
	}
}

// TestPurchaseRemindersOnlyWhileActionIsPossible: a term that ended gets
// nothing, one that ends today gets its last reminder; a line a renewal
// replaces, a pending line, and a line corrected down to zero get nothing.
func TestPurchaseRemindersOnlyWhileActionIsPossible(t *testing.T) {
	f := newReminders(t)
	today := day("2027-06-30")
	ended := line("ended", "DOA", fakes.SkuVisio, "VISIOCLIENT", "PO-1", 10, day("2026-07-01"), today.AddDays(-1), licensing.AgreementCSP)
	endsToday := line("today", "DOA", fakes.SkuE3, "ENTERPRISEPACK", "PO-2", 10, day("2026-07-01"), today, licensing.AgreementCSP)
	renewed := line("renewed", "DET", fakes.SkuVisio, "VISIOCLIENT", "PO-3", 4, day("2026-07-01"), today.AddDays(20), licensing.AgreementALaCarte)
	renewal := line("renewal", "DET", fakes.SkuVisio, "VISIOCLIENT", "PO-4", 4, today.AddDays(21), today.AddDays(386), licensing.AgreementALaCarte)
	renewal.Replaces = []string{"renewed"}
	pending := line("pending", "DET", fakes.SkuE3, "ENTERPRISEPACK", "PO-5", 3, day("2026-07-01"), today.AddDays(10), licensing.AgreementALaCarte)
	pending.ActivatedAt = nil
	zeroed := line("zeroed", "DET", fakes.SkuPowerBIPro, "POWER_BI_PRO", "PO-6", 2, day("2026-07-01"), today.AddDays(10), licensing.AgreementALaCarte)
	f.addLines(ended, endsToday, renewed, renewal, pending, zeroed)
	f.setDay(today.AddDays(-5))
	if _, _, err := f.store.AddCorrection(context.Background(), licensing.Purchase{ID: "zeroed-fix", Agency: "DET", SkuID: fakes.SkuPowerBIPro, Quantity: -2,
		Source: licensing.SourceCorrection, Corrects: "zeroed", ActivatedAt: &f.clock, Created: f.clock, CreatedBy: "test"}, "test", "bought none"); err != nil {
		t.Fatal(err)
	}

	res := f.run(today)
	if diff := cmp.Diff([]string{"renewal.DOA.2027-06-30.30d"}, keys(res.Sent)); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	m := f.sentMail("renewal.DOA.2027-06-30.30d")
	if !strings.Contains(m.Text, "today") || !strings.Contains(m.Text, "CSP lines: renew with the reseller before 2027-06-30") {
		t.Errorf("mail:\n%s", m.Text)
	}
	if strings.Contains(m.Text, "Visio") {
		t.Errorf("the ended line is in the mail:\n%s", m.Text)
	}
	if res := f.run(today.AddDays(1)); len(res.Sent)+len(res.AlreadySent) != 0 {
		t.Errorf("after the end: sent %v, already sent %v", keys(res.Sent), keys(res.AlreadySent))
	}
}

// TestFiscalYearWording: the a-la-carte advice follows the configured
// fiscal year and grace period (September 30 and 15 days here, June 30 and
// 31 by default); enterprise lines get the reseller and account team.
func TestFiscalYearWording(t *testing.T) {
	t.Run("september", func(t *testing.T) {
		f := newReminders(t)
		f.terms = licensing.Terms{GraceDays: 15, FiscalYearEndMonth: 9, FiscalYearEndDay: 30, EnterpriseYears: 3}
		f.addLines(line("a", "DOA", fakes.SkuVisio, "VISIOCLIENT", "PO-1", 10, day("2026-10-16"), day("2027-09-30"), licensing.AgreementALaCarte),
			line("b", "DOA", fakes.SkuE3, "ENTERPRISEPACK", "EA-PO-1", 100, day("2024-10-01"), day("2027-09-30"), licensing.AgreementEnterprise))
		f.run(day("2027-07-02"))
		m := f.sentMail("renewal.DOA.2027-09-30.90d")
		for _, s := range []string{
			"the licenses end on 2027-09-30 and must be bought again, with a new purchase order, for fiscal year 2028, which starts on 2027-10-16 (2027-10-16 to 2028-09-30)",
			"The grace period keeps the seats through 2027-10-15",
			"Enterprise Agreement lines: renew through your reseller or the Microsoft account team before 2027-09-30",
			"Microsoft sends its own reminder about 90 days before the end",
		} {
			if !strings.Contains(m.Text, s) {
				t.Errorf("mail lacks %q:\n%s", s, m.Text)
			}
		}
	})
	t.Run("default", func(t *testing.T) {
		f := newReminders(t)
		f.addLines(line("a", "DOA", fakes.SkuVisio, "VISIOCLIENT", "PO-1", 10, day("2025-08-01"), day("2026-06-30"), licensing.AgreementALaCarte))
		f.run(day("2026-06-01"))
		m := f.sentMail("renewal.DOA.2026-06-30.30d")
		for _, s := range []string{"for fiscal year 2027, which starts on 2026-08-01", "keeps the seats through 2026-07-31"} {
			if !strings.Contains(m.Text, s) {
				t.Errorf("mail lacks %q:\n%s", s, m.Text)
			}
		}
		if strings.Contains(m.Text, "Enterprise Agreement") {
			t.Errorf("advice for agreements the mail does not list:\n%s", m.Text)
		}
	})
}

// TestPurchaseRemindersGrouped: an agency's lines ending on one day share a
// mail; another agency gets its own; an agency without contacts (one the
// ledger names but nobody configured) is reminded through central IT,
// saying so.
func TestPurchaseRemindersGrouped(t *testing.T) {
	f := newReminders(t) // DNR, in the ledger, is not configured
	end := day("2027-06-30")
	f.addLines(
		line("doa-visio", "DOA", fakes.SkuVisio, "VISIOCLIENT", "PO-1", 10, day("2026-07-01"), end, licensing.AgreementALaCarte),
		line("doa-e3", "DOA", fakes.SkuE3, "ENTERPRISEPACK", "PO-2", 40, day("2026-07-01"), end, licensing.AgreementALaCarte),
		line("doa-later", "DOA", fakes.SkuPowerBIPro, "POWER_BI_PRO", "PO-3", 5, day("2026-07-01"), end.AddDays(120), licensing.AgreementALaCarte),
		line("det-visio", "DET", fakes.SkuVisio, "VISIOCLIENT", "PO-1", 3, day("2026-07-01"), end, licensing.AgreementALaCarte),
		line("dnr-visio", "DNR", fakes.SkuVisio, "VISIOCLIENT", "PO-9", 2, day("2026-07-01"), end, licensing.AgreementALaCarte),
	)
	res := f.run(end.AddDays(-90))
	if diff := cmp.Diff([]string{"renewal.DET.2027-06-30.90d", "renewal.DNR.2027-06-30.90d", "renewal.DOA.2027-06-30.90d"}, keys(res.Sent)); diff != "" {
		t.Fatalf("sent (-want +got):\n%s", diff)
	}
	doa := f.sentMail("renewal.DOA.2027-06-30.90d")
	for _, s := range []string{"Visio Plan 2", "Office 365 E3", "PO-1", "PO-2"} {
		if !strings.Contains(doa.Text, s) {
			t.Errorf("DOA mail lacks %q:\n%s", s, doa.Text)
		}
	}
	if strings.Contains(doa.Text, "Power BI") || strings.Contains(doa.Text, "PO-9") {
		t.Errorf("DOA mail lists a line it should not:\n%s", doa.Text)
	}
	if det := f.sentMail("renewal.DET.2027-06-30.90d"); strings.Contains(det.Text, "Office 365 E3") {
		t.Errorf("DET mail lists DOA's line:\n%s", det.Text)
	}
	dnr := f.sentMail("renewal.DNR.2027-06-30.90d")
	if diff := cmp.Diff([]string{fakes.CentralIT}, dnr.To); diff != "" || len(dnr.Cc) != 0 {
		t.Errorf("DNR mail to %v cc %v", dnr.To, dnr.Cc)
	}
	if !strings.Contains(dnr.Text, "DNR has no contacts") {
		t.Errorf("DNR mail does not say it has no contacts:\n%s", dnr.Text)
	}
}

// TestReminderResultText prints a run's result as the command line does.
func TestReminderResultText(t *testing.T) {
	f := newReminders(t)
	end := day("2027-06-30")
	f.addLines(line("doa-visio", "DOA", fakes.SkuVisio, "VISIOCLIENT", "PO-1", 10, day("2026-07-01"), end, licensing.AgreementALaCarte))
	f.dir.Subs = []licensing.TenantSubscription{sub("trial", fakes.SkuE3, "ENTERPRISEPACK", "Enabled", 25, "2027-01-01", "2027-05-01")}
	res := f.run(end.AddDays(-45))
	var out bytes.Buffer
	if err := res.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"renewal reminders of 2027-05-16: 1 sent", "STATE", "sent", "renewal.DOA.2027-06-30.60d", "licensing@doa.example.gov", "(late)", "skipped:", "renewal.DOA.2027-06-30.90d", "passed over"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("text lacks %q:\n%s", s, out.String())
		}
	}
}
