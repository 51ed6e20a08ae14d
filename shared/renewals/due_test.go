package renewals_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// TestRenewalsDue lists an agency's lines ending within the largest
// threshold as the reminders count them: with their corrections, without
// lines replaced by a renewal, ended, pending or corrected to nothing, and
// without another agency's; a delegate reads their own agency only.
func TestRenewalsDue(t *testing.T) {
	f := newReminders(t)
	f.setDay(day("2027-04-01"))
	renewal := line("renewal", "DOA", fakes.SkuE3, "ENTERPRISEPACK", "PO-NEXT", 10, day("2027-07-01"), day("2028-06-30"), licensing.AgreementALaCarte)
	renewal.Replaces = []string{"renewed"}
	pending := line("pending", "DOA", fakes.SkuE3, "ENTERPRISEPACK", "PO-PEND", 3, day("2026-07-01"), day("2027-05-01"), "")
	pending.ActivatedAt = nil
	csp := line("csp", "DOA", fakes.SkuVisio, "VISIOCLIENT", "PO-CSP", 4, day("2026-05-01"), day("2027-04-30"), licensing.AgreementCSP)
	csp.Reseller = "Contoso Reseller"
	fix := line("fix", "DOA", fakes.SkuVisio, "VISIOCLIENT", "PO-CSP", 2, day("2026-06-01"), day("2027-04-30"), "")
	fix.Corrects, fix.Source = "csp", licensing.SourceCorrection
	gone := line("gone", "DOA", fakes.SkuE3, "ENTERPRISEPACK", "PO-GONE", 2, day("2026-01-01"), day("2027-06-30"), "")
	zero := line("zero", "DOA", fakes.SkuE3, "ENTERPRISEPACK", "PO-GONE", -2, day("2026-02-01"), day("2027-06-30"), "")
	zero.Corrects, zero.Source = "gone", licensing.SourceCorrection
	f.addLines(
		line("fy", "DOA", fakes.SkuE3, "ENTERPRISEPACK", "PO-FY", 20, day("2026-07-01"), day("2027-06-30"), licensing.AgreementALaCarte),
		line("ea", "DOA", fakes.SkuE3, "ENTERPRISEPACK", "PO-EA", 5, day("2024-07-01"), day("2027-06-30"), licensing.AgreementEnterprise),
		line("renewed", "DOA", fakes.SkuE3, "ENTERPRISEPACK", "PO-OLD", 10, day("2026-07-01"), day("2027-06-30"), licensing.AgreementALaCarte),
		renewal, pending, csp, fix, gone, zero,
		line("later", "DOA", fakes.SkuE3, "ENTERPRISEPACK", "PO-LATE", 1, day("2026-07-02"), day("2027-07-01"), ""),
		line("ended", "DOA", fakes.SkuE3, "ENTERPRISEPACK", "PO-END", 1, day("2026-04-01"), day("2027-03-31"), ""),
		line("det", "DET", fakes.SkuE3, "ENTERPRISEPACK", "PO-DET", 1, day("2026-07-01"), day("2027-06-30"), ""),
	)
	delegate := &licensing.Principal{Name: fakes.Delegate}
	due, err := f.service().RenewalsDue(context.Background(), delegate, "doa")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range due.Lines {
		got = append(got, l.PONumber+" "+l.Product+" "+l.TermEnd.String()+" "+l.Agreement)
	}
	want := []string{
		"PO-CSP Visio Plan 2 2027-04-30 CSP",
		"PO-EA Office 365 E3 2027-06-30 Enterprise Agreement",
		"PO-FY Office 365 E3 2027-06-30 a la carte",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if due.Agency != "DOA" || due.Horizon != 90 || !due.On.Equal(day("2027-04-01")) {
		t.Errorf("due = %+v, want DOA on 2027-04-01 within 90 days", due)
	}
	if len(due.Lines) == 3 {
		csp, fy := due.Lines[0], due.Lines[2]
		if csp.Quantity != 6 || csp.DaysLeft != 29 || !strings.Contains(csp.Advice, "Contoso Reseller") {
			t.Errorf("CSP line = %+v, want 6 seats after its correction, 29 days left, renewed with its reseller", csp)
		}
		if !strings.Contains(fy.Advice, "fiscal year 2028") {
			t.Errorf("a-la-carte advice = %q, want the fiscal year", fy.Advice)
		}
	}

	svc, ctx := f.service(), context.Background()
	refused := map[string]error{}
	_, refused["another agency's delegate: forbidden"] = svc.RenewalsDue(ctx, delegate, "DET")
	_, refused["an unknown agency: not-found"] = svc.RenewalsDue(ctx, &licensing.Principal{Name: fakes.Admin}, "NOPE")
	_, refused["nobody: unauthenticated"] = svc.RenewalsDue(ctx, nil, "DOA")
	for what, err := range refused {
		if _, code, _ := strings.Cut(what, ": "); string(licensing.ErrorCode(err)) != code {
			t.Errorf("%s: %v", what, err)
		}
	}
}
