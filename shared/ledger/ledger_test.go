package ledger_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/storetest"
	"github.com/shared-tenant/licensetrack/shared/ledger"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

const (
	ledgerVisio    = fakes.SkuVisio
	ledgerPBI      = fakes.SkuPowerBIPro
	ledgerAdm      = "admin@central-it.example.gov"
	ledgerDelegate = "pat.doe@doa.example.gov"
)

func ledgerDay(s string) licensing.Date {
	d, err := licensing.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestDefaultTermEnd(t *testing.T) {
	sept := licensing.DefaultTerms()
	sept.FiscalYearEndMonth, sept.FiscalYearEndDay = time.September, 30
	noYears := licensing.DefaultTerms()
	noYears.EnterpriseYears = 0
	tests := []struct {
		name      string
		agreement string
		start     string
		terms     licensing.Terms
		want      string
	}{
		{"a-la-carte from August", licensing.AgreementALaCarte, "2025-08-01", licensing.DefaultTerms(), "2026-06-30"},
		{"a-la-carte starting on the fiscal-year end", licensing.AgreementALaCarte, "2026-06-30", licensing.DefaultTerms(), "2026-06-30"},
		{"a-la-carte starting the day after", licensing.AgreementALaCarte, "2026-07-01", licensing.DefaultTerms(), "2027-06-30"},
		{"a-la-carte mid-year", licensing.AgreementALaCarte, "2026-01-15", licensing.DefaultTerms(), "2026-06-30"},
		{"a-la-carte, fiscal year ending September 30", licensing.AgreementALaCarte, "2026-01-15", sept, "2026-09-30"},
		{"unknown kind is a-la-carte", "", "2025-08-01", licensing.DefaultTerms(), "2026-06-30"},
		{"enterprise agreement: three years", licensing.AgreementEnterprise, "2025-08-01", licensing.DefaultTerms(), "2028-07-31"},
		{"enterprise agreement, years unset", licensing.AgreementEnterprise, "2025-07-01", noYears, "2028-06-30"},
		{"csp: one year", licensing.AgreementCSP, "2025-08-01", licensing.DefaultTerms(), "2026-07-31"},
		{"csp from a leap day", licensing.AgreementCSP, "2028-02-29", licensing.DefaultTerms(), "2029-02-28"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := licensing.DefaultTermEnd(tt.agreement, ledgerDay(tt.start), tt.terms)
			if got.String() != tt.want {
				t.Errorf("DefaultTermEnd(%s, %s) = %s, want %s", tt.agreement, tt.start, got, tt.want)
			}
		})
	}
}

func TestFiscalYear(t *testing.T) {
	noGrace := licensing.DefaultTerms()
	noGrace.GraceDays = 0
	tests := []struct {
		name        string
		year        int
		terms       licensing.Terms
		start, ends string
	}{
		{"bought again for the year beginning August 1", 2026, licensing.DefaultTerms(), "2025-08-01", "2026-06-30"},
		{"without grace the year begins July 1", 2026, noGrace, "2025-07-01", "2026-06-30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end := licensing.FiscalYear(tt.year, tt.terms)
			if start.String() != tt.start || end.String() != tt.ends {
				t.Errorf("FiscalYear(%d) = %s to %s, want %s to %s", tt.year, start, end, tt.start, tt.ends)
			}
		})
	}
}

// line returns an active line of DOA for Visio.
func ledgerLine(id string, qty int, start, end string) licensing.Purchase {
	at := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	return licensing.Purchase{ID: id, Agency: "DOA", SkuID: ledgerVisio, PartNumber: "VISIOCLIENT", Quantity: qty,
		TermStart: ledgerDay(start), TermEnd: ledgerDay(end), Source: licensing.SourceServiceRequest, ActivatedAt: &at, Created: at}
}

func pendingLine(p licensing.Purchase) licensing.Purchase { p.ActivatedAt = nil; return p }

func renewing(p licensing.Purchase, ids ...string) licensing.Purchase { p.Replaces = ids; return p }

func correctionLine(id, of string, qty int) licensing.Purchase {
	c := ledgerLine(id, qty, "2000-01-01", "2000-01-01") // the window is the corrected line's
	c.Source, c.Corrects = licensing.SourceCorrection, of
	return c
}

func TestEntitlementWindows(t *testing.T) {
	fy26 := ledgerLine("fy26", 25, "2025-08-01", "2026-06-30")
	renewAug := renewing(ledgerLine("renew-aug", 30, "2026-08-01", "2027-06-30"), "fy26")
	renewJul := renewing(ledgerLine("renew-jul", 30, "2026-07-01", "2027-06-30"), "fy26")
	other := ledgerLine("other", 7, "2025-08-01", "2026-06-30")
	other.SkuID = ledgerPBI
	otherAgency := ledgerLine("dob", 9, "2025-08-01", "2026-06-30")
	otherAgency.Agency = "DOB"
	tests := []struct {
		name  string
		lines []licensing.Purchase
		on    string
		want  int
	}{
		{"before the term starts", []licensing.Purchase{fy26}, "2025-07-31", 0},
		{"first day", []licensing.Purchase{fy26}, "2025-08-01", 25},
		{"last day of the term", []licensing.Purchase{fy26}, "2026-06-30", 25},
		{"in grace (through July)", []licensing.Purchase{fy26}, "2026-07-31", 25},
		{"after grace", []licensing.Purchase{fy26}, "2026-08-01", 0},
		{"pending lines do not count", []licensing.Purchase{pendingLine(fy26)}, "2025-09-01", 0},
		{"other products and agencies do not count", []licensing.Purchase{fy26, other, otherAgency}, "2025-09-01", 25},
		{"two lines add up", []licensing.Purchase{fy26, ledgerLine("more", 5, "2026-01-01", "2026-06-30")}, "2026-02-01", 30},

		{"renewal on Aug 1: old line through July 31", []licensing.Purchase{fy26, renewAug}, "2026-07-31", 25},
		{"renewal on Aug 1: takes over on Aug 1, no gap", []licensing.Purchase{fy26, renewAug}, "2026-08-01", 30},
		{"renewal on July 1: replaces from July 1", []licensing.Purchase{fy26, renewJul}, "2026-07-01", 30},
		{"renewal on July 1: no double count in grace", []licensing.Purchase{fy26, renewJul}, "2026-07-15", 30},
		{"renewal on July 1: old line until then", []licensing.Purchase{fy26, renewJul}, "2026-06-30", 25},
		{"pending renewal replaces nothing", []licensing.Purchase{fy26, pendingLine(renewJul)}, "2026-07-15", 25},

		{"correction counts with its line", []licensing.Purchase{fy26, correctionLine("c1", "fy26", -5)}, "2025-09-01", 20},
		{"correction in the line's grace", []licensing.Purchase{fy26, correctionLine("c1", "fy26", -5)}, "2026-07-31", 20},
		{"correction ends with its line", []licensing.Purchase{fy26, correctionLine("c1", "fy26", -5), renewAug}, "2026-08-01", 30},
		{"correction stops when its line is replaced", []licensing.Purchase{fy26, correctionLine("c1", "fy26", 3), renewJul}, "2026-07-15", 30},
		{"correction of a pending line does not count", []licensing.Purchase{pendingLine(fy26), correctionLine("c1", "fy26", 3)}, "2025-09-01", 0},
		{"pending correction does not count", []licensing.Purchase{fy26, pendingLine(correctionLine("c1", "fy26", -5))}, "2025-09-01", 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := licensing.EntitlementOf(tt.lines, "DOA", ledgerVisio, ledgerDay(tt.on), licensing.DefaultTerms())
			if got != tt.want {
				t.Errorf("EntitlementOf on %s = %d, want %d", tt.on, got, tt.want)
			}
		})
	}
}

func TestInForce(t *testing.T) {
	fy26 := ledgerLine("fy26", 25, "2025-08-01", "2026-06-30")
	renewJul := renewing(ledgerLine("renew-jul", 30, "2026-07-01", "2027-06-30"), "fy26")
	all := []licensing.Purchase{fy26, renewJul}
	tests := []struct {
		name string
		p    licensing.Purchase
		on   string
		want bool
	}{
		{"old line before its renewal", fy26, "2026-06-30", true},
		{"old line once replaced", fy26, "2026-07-01", false},
		{"renewal", renewJul, "2026-07-01", true},
		{"renewal in its own grace", renewJul, "2027-07-31", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := licensing.InForce(tt.p, all, ledgerDay(tt.on), licensing.DefaultTerms()); got != tt.want {
				t.Errorf("InForce(%s, %s) = %v, want %v", tt.p.ID, tt.on, got, tt.want)
			}
		})
	}
}

func TestRenewedLines(t *testing.T) {
	fy26 := ledgerLine("fy26", 25, "2025-08-01", "2026-06-30")
	fy25 := ledgerLine("fy25", 20, "2024-08-01", "2025-06-30")
	extra := ledgerLine("extra", 5, "2026-01-01", "2026-06-30")
	future := ledgerLine("future", 5, "2026-09-01", "2027-06-30")
	other := ledgerLine("pbi", 5, "2025-08-01", "2026-06-30")
	other.SkuID = ledgerPBI
	dob := ledgerLine("dob", 5, "2025-08-01", "2026-06-30")
	dob.Agency = "DOB"
	existing := []licensing.Purchase{fy25, fy26, extra, future, other, dob, pendingLine(ledgerLine("pending", 5, "2025-08-01", "2026-06-30")),
		correctionLine("c1", "fy26", -2)}
	tests := []struct {
		name  string
		start string
		want  []string
	}{
		{"renewal on Aug 1: the old lines stopped the day before", "2026-08-01", nil},
		{"renewal on July 31 replaces the lines in grace", "2026-07-31", []string{"extra", "fy26"}},
		{"renewal on July 1", "2026-07-01", []string{"extra", "fy26"}},
		{"a year earlier", "2025-08-01", nil},
		{"mid-year", "2026-02-01", []string{"extra", "fy26"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := licensing.RenewedLines(existing, "DOA", ledgerVisio, ledgerDay(tt.start), licensing.DefaultTerms())
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("RenewedLines from %s (-want +got):\n%s", tt.start, diff)
			}
		})
	}
}

// ledgerFixture is a ledger Service on in-memory stores with two agencies
// (DOA with delegate pat.doe@doa.example.gov, and DOB) and the built-in
// catalog.
type ledgerFixture struct {
	svc   *ledger.Service
	store *memstore.Store
	now   time.Time
}

func newLedgerFixture(t *testing.T) *ledgerFixture {
	t.Helper()
	store := memstore.New()
	ctx := context.Background()
	for _, id := range []string{"DOA", "DOB"} {
		a := storetest.Agency(id, 1)
		a.Name = "Department of " + id
		if _, _, err := store.PutAgency(ctx, a, licensing.Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	f := &ledgerFixture{store: store, now: time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)}
	n := 0
	f.svc = newLedgerService(store, func() time.Time { return f.now }, func() string { n++; return fmt.Sprintf("id%03d", n) })
	return f
}

func (f *ledgerFixture) add(t *testing.T, lines ...licensing.Purchase) {
	t.Helper()
	if _, err := f.store.AddPurchases(context.Background(), lines, "test", "setup"); err != nil {
		t.Fatal(err)
	}
}

var (
	adminCaller    = &licensing.Principal{Name: ledgerAdm}
	delegateCaller = &licensing.Principal{Name: ledgerDelegate}
	strangerCaller = &licensing.Principal{Name: "someone@elsewhere.example.gov"}
)

func TestListPurchasesAccess(t *testing.T) {
	f := newLedgerFixture(t)
	doa := ledgerLine("doa1", 5, "2025-08-01", "2026-06-30")
	dob := ledgerLine("dob1", 7, "2025-08-01", "2026-06-30")
	dob.Agency = "DOB"
	f.add(t, doa, dob)
	tests := []struct {
		name     string
		caller   *licensing.Principal
		agency   string
		wantIDs  []string
		wantCode licensing.Code
	}{
		{"admin, every agency", adminCaller, "", []string{"doa1", "dob1"}, ""},
		{"admin, one agency, any case", adminCaller, " dob ", []string{"dob1"}, ""},
		{"delegate, own agency", delegateCaller, "DOA", []string{"doa1"}, ""},
		{"delegate, another agency", delegateCaller, "DOB", nil, licensing.Forbidden},
		{"delegate, every agency", delegateCaller, "", nil, licensing.Forbidden},
		{"strangerCaller", strangerCaller, "DOA", nil, licensing.Forbidden},
		{"nobody", nil, "DOA", nil, licensing.Unauthenticated},
		{"not an agency code", adminCaller, "DO/A", nil, licensing.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.svc.ListPurchases(context.Background(), tt.caller, licensing.PurchaseFilter{Agency: tt.agency})
			if licensing.ErrorCode(err) != tt.wantCode {
				t.Fatalf("ListPurchases: %v, want code %q", err, tt.wantCode)
			}
			var ids []string
			for _, p := range got {
				ids = append(ids, p.ID)
			}
			if diff := cmp.Diff(tt.wantIDs, ids); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEntitlements(t *testing.T) {
	f := newLedgerFixture(t)
	dob := ledgerLine("dob1", 7, "2025-08-01", "2026-06-30")
	dob.Agency = "DOB"
	f.add(t, ledgerLine("fy26", 25, "2025-08-01", "2026-06-30"), correctionLine("c1", "fy26", -5), dob,
		renewing(ledgerLine("renew", 30, "2026-07-01", "2027-06-30"), "fy26"), pendingLine(ledgerLine("p", 99, "2025-08-01", "2026-06-30")))
	ctx := context.Background()
	got, err := f.svc.Entitlements(ctx, ledgerDay("2026-06-01"))
	if err != nil {
		t.Fatal(err)
	}
	want := []licensing.Entitlement{
		{Agency: "DOA", SkuID: ledgerVisio, PartNumber: "VISIOCLIENT", Quantity: 20, Lines: []string{"c1", "fy26"}},
		{Agency: "DOB", SkuID: ledgerVisio, PartNumber: "VISIOCLIENT", Quantity: 7, Lines: []string{"dob1"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Entitlements (-want +got):\n%s", diff)
	}
	mine, err := f.svc.ListEntitlements(ctx, delegateCaller, "DOA", ledgerDay("2026-07-15"))
	if err != nil {
		t.Fatal(err)
	}
	wantMine := []licensing.Entitlement{{Agency: "DOA", SkuID: ledgerVisio, PartNumber: "VISIOCLIENT", Quantity: 30, Lines: []string{"renew"}}}
	if diff := cmp.Diff(wantMine, mine); diff != "" {
		t.Errorf("ListEntitlements (-want +got):\n%s", diff)
	}
	if _, err := f.svc.ListEntitlements(ctx, delegateCaller, "DOB", ledgerDay("2026-07-15")); licensing.ErrorCode(err) != licensing.Forbidden {
		t.Errorf("ListEntitlements of another agency: %v, want forbidden", err)
	}
}

func TestCorrectPurchase(t *testing.T) {
	f := newLedgerFixture(t)
	fy26 := ledgerLine("fy26", 25, "2025-08-01", "2026-06-30")
	fy26.PONumber, fy26.Reseller = "4500012345", "SHI"
	f.add(t, fy26, pendingLine(ledgerLine("pend", 3, "2025-08-01", "2026-06-30")))
	ctx := context.Background()

	res, err := f.svc.CorrectPurchase(ctx, adminCaller, ledger.Correction{Corrects: "fy26", Quantity: -5, Reason: "PO was for 20 seats, not 25", Key: "k1"})
	if err != nil || !res.Created {
		t.Fatalf("CorrectPurchase: %+v, %v", res, err)
	}
	got := res.Line
	now := f.now
	want := licensing.Purchase{ID: got.ID, Agency: "DOA", SkuID: ledgerVisio, PartNumber: "VISIOCLIENT", Quantity: -5,
		TermStart: fy26.TermStart, TermEnd: fy26.TermEnd, PONumber: "4500012345", Reseller: "SHI",
		Source: licensing.SourceCorrection, Corrects: "fy26", ActivatedAt: &now, Created: now, CreatedBy: ledgerAdm,
		Reason: "PO was for 20 seats, not 25"}
	if diff := cmp.Diff(want, got); diff != "" || !strings.HasPrefix(got.ID, "c-") {
		t.Errorf("correction %s (-want +got):\n%s", got.ID, diff)
	}
	// A correction of the correction corrects the line itself.
	res, err = f.svc.CorrectPurchase(ctx, adminCaller, ledger.Correction{Corrects: got.ID, Quantity: 2, Reason: "two more after all", Key: "k2"})
	again := res.Line
	if err != nil || again.Corrects != "fy26" {
		t.Fatalf("correcting a correction: %+v, %v; want it to correct fy26", again, err)
	}
	if n, _ := f.svc.Entitlements(ctx, ledgerDay("2026-01-01")); len(n) != 1 || n[0].Quantity != 22 {
		t.Errorf("entitlement after corrections = %+v, want 22 seats", n)
	}
	audit, err := f.svc.PurchaseAudit(ctx, adminCaller, "doa", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) < 2 || audit[0].Purchase != again.ID || audit[0].Why != "two more after all" || audit[0].Who != ledgerAdm {
		t.Errorf("newest audit entries = %+v", audit)
	}

	tests := []struct {
		name     string
		caller   *licensing.Principal
		corrects string
		delta    int
		reason   string
		key      string
		want     licensing.Code
		field    string
	}{
		{"below zero", adminCaller, "fy26", -23, "too many", "k3", licensing.Invalid, "quantity"},
		{"zero", adminCaller, "fy26", 0, "nothing", "k3", licensing.Invalid, "quantity"},
		{"out of range", adminCaller, "fy26", 200000, "huge", "k3", licensing.Invalid, "quantity"},
		{"no reason", adminCaller, "fy26", 1, "  ", "k3", licensing.Invalid, "reason"},
		{"control characters in the reason", adminCaller, "fy26", 1, "a\x00b", "k3", licensing.Invalid, "reason"},
		{"no line named", adminCaller, "", 1, "x", "k3", licensing.Invalid, "corrects"},
		{"no idempotency key", adminCaller, "fy26", 1, "x", " ", licensing.Invalid, "idempotencyKey"},
		{"idempotency key too long", adminCaller, "fy26", 1, "x", strings.Repeat("k", 201), licensing.Invalid, "idempotencyKey"},
		{"unknown line", adminCaller, "nope", 1, "x", "k3", licensing.NotFound, ""},
		{"delegate", delegateCaller, "fy26", 1, "x", "k3", licensing.Forbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.CorrectPurchase(ctx, tt.caller, ledger.Correction{Corrects: tt.corrects, Quantity: tt.delta, Reason: tt.reason, Key: tt.key})
			if licensing.ErrorCode(err) != tt.want {
				t.Fatalf("CorrectPurchase: %v, want code %q", err, tt.want)
			}
			if tt.field != "" {
				if fe := licensing.ErrorFields(err); len(fe) != 1 || fe[0].Field != tt.field {
					t.Errorf("fields = %+v, want one on %s", fe, tt.field)
				}
			}
		})
	}
	lines, _ := f.store.ListPurchases(ctx, licensing.PurchaseFilter{})
	if len(lines) != 4 {
		t.Errorf("%d lines after refused corrections, want 4", len(lines))
	}
}

func TestPurchaseAuditAccess(t *testing.T) {
	f := newLedgerFixture(t)
	f.add(t, ledgerLine("fy26", 25, "2025-08-01", "2026-06-30"))
	ctx := context.Background()
	tests := []struct {
		name   string
		caller *licensing.Principal
		agency string
		limit  int
		want   licensing.Code
		n      int
	}{
		{"admin", adminCaller, "DOA", 0, "", 1},
		{"delegate of the agency", delegateCaller, "doa", 10, "", 1},
		{"delegate of another", delegateCaller, "DOB", 0, licensing.Forbidden, 0},
		{"agency required", adminCaller, "", 0, licensing.Invalid, 0},
		{"negative limit", adminCaller, "DOA", -1, licensing.Invalid, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.svc.PurchaseAudit(ctx, tt.caller, tt.agency, tt.limit)
			if licensing.ErrorCode(err) != tt.want || len(got) != tt.n {
				t.Errorf("PurchaseAudit = %d entries, %v; want %d, code %q", len(got), err, tt.n, tt.want)
			}
		})
	}
}
