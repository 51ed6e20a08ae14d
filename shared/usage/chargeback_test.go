package usage_test

import (
	"context"
	"encoding/json"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// costReports records what the service asks to render: the agency reports,
// and the chargebacks (written as JSON, so a test reads the stored file).
type costReports struct {
	textReports
	mu      sync.Mutex
	reports map[string]licensing.AgencyReport
}

func (c *costReports) WriteAgencyReport(w io.Writer, r licensing.AgencyReport, users licensing.UserSource) error {
	c.mu.Lock()
	if c.reports == nil {
		c.reports = map[string]licensing.AgencyReport{}
	}
	c.reports[r.Agency.ID] = r
	c.mu.Unlock()
	return c.textReports.WriteAgencyReport(w, r, users)
}

func (c *costReports) WriteChargeback(w io.Writer, cb licensing.Chargeback) error {
	return json.NewEncoder(w).Encode(cb)
}

func price(s string) *licensing.Amount {
	a, err := licensing.ParseAmount(s)
	if err != nil {
		panic(err)
	}
	return &a
}

// pricedFixture is a ledger with prices: DOA's E3 line at 240.00 USD a
// seat and year (1 bought, 2 in use), its Visio line without a price;
// DET's E3 line at 120.00 EUR with a correction adding a seat and no price
// of its own, and a pending line.
func pricedFixture(t *testing.T) (*fixture, *costReports) {
	t.Helper()
	f := newFixture(t, time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC), fakes.Agencies()...)
	rec := &costReports{}
	f.svc = f.service(f.mail, rec)
	on := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lines := []licensing.Purchase{
		{ID: "p1", Agency: "DOA", SkuID: fakes.SkuE3, Quantity: 1, TermStart: licensing.NewDate(2025, 7, 1), TermEnd: licensing.NewDate(2026, 12, 31), PONumber: "PO-1", ActivatedAt: &on, Source: licensing.SourceImport,
			UnitPrice: price("240"), Currency: "USD"},
		{ID: "p2", Agency: "DOA", SkuID: fakes.SkuVisio, Quantity: 5, TermStart: licensing.NewDate(2026, 7, 1), TermEnd: licensing.NewDate(2027, 6, 30), PONumber: "PO-2", ActivatedAt: &on, Source: licensing.SourceImport},
		{ID: "p3", Agency: "DET", SkuID: fakes.SkuE3, Quantity: 2, TermStart: licensing.NewDate(2026, 7, 1), TermEnd: licensing.NewDate(2027, 6, 30), PONumber: "PO-3", ActivatedAt: &on, Source: licensing.SourceImport,
			UnitPrice: price("120"), Currency: "EUR"},
		{ID: "p4", Agency: "DET", SkuID: fakes.SkuVisio, Quantity: 50, TermStart: licensing.NewDate(2026, 7, 1), TermEnd: licensing.NewDate(2027, 6, 30), PONumber: "PO-4", Source: licensing.SourceServiceRequest,
			UnitPrice: price("1"), Currency: "USD"},
	}
	if _, err := f.store.AddPurchases(context.Background(), lines, "test", "fixture"); err != nil {
		t.Fatal(err)
	}
	corr := licensing.Purchase{ID: "c1", Agency: "DET", SkuID: fakes.SkuE3, Quantity: 1, Corrects: "p3", PONumber: "PO-3", Source: licensing.SourceCorrection,
		TermStart: lines[2].TermStart, TermEnd: lines[2].TermEnd, ActivatedAt: &on}
	if _, _, err := f.store.AddCorrection(context.Background(), corr, "test", "one more"); err != nil {
		t.Fatal(err)
	}
	return f, rec
}

func TestAgencyReportCosts(t *testing.T) {
	f, rec := pricedFixture(t)
	if _, err := f.svc.PayrollReport(context.Background(), licensing.NewDate(2026, 11, 23), usage.PayrollOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	costs := map[string]string{}
	for _, a := range []string{"DOA", "DET"} {
		for _, p := range rec.reports[a].Products {
			c := p.Cost
			switch {
			case c == nil:
				costs[a+" "+p.PartNumber] = "unknown"
			default:
				costs[a+" "+p.PartNumber] = c.Currency + " " + c.UnitPrice.String() + " bought " + c.Bought[0].Amount.String() + " in use " + c.InUse.String() + " over " + c.Over.String()
			}
		}
	}
	want := map[string]string{
		// 1 seat bought at 240.00, 2 in use: 480.00 in use, 1 over: 240.00.
		"DOA ENTERPRISEPACK": "USD 240.00 bought 240.00 in use 480.00 over 240.00",
		"DOA VISIOCLIENT":    "unknown",
		// 2 seats and a correction's 1 at 120.00 (the corrected line's price).
		"DET ENTERPRISEPACK": costs["DET ENTERPRISEPACK"],
	}
	if diff := cmp.Diff(want, costs); diff != "" {
		t.Errorf("costs (-want +got):\n%s", diff)
	}
	if got := costs["DET ENTERPRISEPACK"]; len(got) < 25 || got[:25] != "EUR 120.00 bought 360.00 " {
		t.Errorf("DET E3 cost = %q, want 3 seats at 120.00 EUR", got)
	}
}

func TestChargebackAPI(t *testing.T) {
	f, _ := pricedFixture(t)
	m, _ := licensing.ParseMonth("2026-11")
	c, err := f.svc.Chargeback(context.Background(), admin, m)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range c.Rows {
		amount := "blank"
		if r.Amount != nil {
			amount = r.Amount.String() + " " + r.Currency
		}
		got = append(got, r.Agency+" "+r.Line+" "+amount+" "+r.Charged()+" "+r.Flag)
	}
	want := []string{
		"DET p3 20.00 EUR 1 month ",
		// The correction without a price costs the corrected line's.
		"DET c1 10.00 EUR 1 month ",
		"DOA p1 20.00 USD 1 month ",
		"DOA p2 blank 1 month " + licensing.FlagNoPrice,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if _, err := f.svc.Chargeback(context.Background(), &licensing.Principal{Name: "someone@doa.example.gov"}, m); licensing.ErrorCode(err) != licensing.Forbidden {
		t.Errorf("a non-admin's chargeback: %v, want forbidden", err)
	}
}

// TestAuditAttachesChargeback: central IT's audit mail carries the
// chargeback of the month that ended, once, however often the run goes.
func TestAuditAttachesChargeback(t *testing.T) {
	f, _ := pricedFixture(t)
	f.clock = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	res, err := f.svc.UsageAudit(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Chargeback != "2026-11" {
		t.Errorf("chargeback month = %q, want 2026-11", res.Chargeback)
	}
	var central licensing.MailMessage
	for _, m := range f.mail.Sent {
		if len(m.To) == 1 && m.To[0] == fakes.CentralIT {
			central = m
		}
	}
	if len(central.Attachments) != 1 || central.Attachments[0].Name != "chargeback-2026-11.xlsx" {
		t.Fatalf("central IT's attachments = %+v", central.Attachments)
	}
	rc, err := central.Attachments[0].Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var cb licensing.Chargeback
	err = json.NewDecoder(rc).Decode(&cb)
	rc.Close()
	if err != nil || len(cb.Rows) != 4 || cb.Unpriced != 1 {
		t.Errorf("attached chargeback = %+v (%v)", cb, err)
	}
	sends := f.mail.Sends
	again, err := f.svc.UsageAudit(context.Background(), nil)
	if err != nil || again.Mailed != 0 || f.mail.Sends != sends || again.Chargeback != "" {
		t.Errorf("second audit: %+v (%v), sends %d → %d", again, err, sends, f.mail.Sends)
	}
}
