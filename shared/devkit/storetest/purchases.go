package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// SKU ids used by the purchase tests.
const (
	skuVisio   = "c5928f49-12ba-48f7-ada3-0d743a3601d5"
	skuPowerBI = "f8a1db68-be16-40ed-86d5-cb42ce701560"
)

// Purchase returns a pending ledger line of agency for n seats of Visio,
// created at base plus n minutes, with a PO number of its own (4500-{id}),
// so that lines of different ids have different identities.
func Purchase(id, agency string, n int) licensing.Purchase {
	return licensing.Purchase{
		ID:         id,
		Agency:     agency,
		SkuID:      skuVisio,
		PartNumber: "VISIOCLIENT",
		Quantity:   n,
		TermStart:  licensing.NewDate(2025, time.August, 1),
		TermEnd:    licensing.NewDate(2026, time.June, 30),
		PONumber:   "4500-" + id,
		Reseller:   "SHI",
		Agreement:  "a-la-carte",
		SRID:       "sr-" + agency + "-1",
		Source:     licensing.SourceServiceRequest,
		Created:    base.Add(time.Duration(n) * time.Minute),
		CreatedBy:  "admin@example.gov",
		Reason:     "Service request sr-" + agency + "-1",
	}
}

// purchaseOpts compares lines and audit entries: Detail is checked on its
// own, nil and empty lists are alike.
var purchaseOpts = cmp.Options{cmpopts.EquateEmpty(), cmpopts.IgnoreFields(licensing.AuditEntry{}, "Detail")}

// TestPurchaseStore runs the ledger conformance tests; newStore returns an
// empty store for each.
func TestPurchaseStore(t *testing.T, newStore func(t *testing.T) licensing.PurchaseStore) {
	active := func(p licensing.Purchase, at time.Time) licensing.Purchase {
		p.ActivatedAt = &at
		return p
	}
	tests := []purchaseCase{
		{"add then list, every field kept, ordered", func(t *testing.T, ctx context.Context, s licensing.PurchaseStore) {
			full := Purchase("p2", "DOA", 2)
			full.Replaces = []string{"old-1", "old-2"}
			full.Reason = `Renewal of "FY2025" – O'Brien's PO ` + strings.Repeat("é", 40000)
			full = active(full, base.Add(time.Hour))
			// A unit price with every decimal an Amount holds comes back exact.
			price := licensing.Amount(1234567)
			full.UnitPrice, full.Currency = &price, "USD"
			corr := Purchase("c1", "DOA", -1)
			corr.Source, corr.Corrects, corr.SRID, corr.Reseller, corr.Agreement = licensing.SourceCorrection, "p2", "", "", ""
			// A correction with a price of its own; zero is a price.
			var zero licensing.Amount
			corr.UnitPrice, corr.Currency = &zero, "EUR"
			early := Purchase("p9", "DOA", 9)
			early.TermStart = licensing.NewDate(2024, time.August, 1)
			other := Purchase("p1", "DOB", 1)
			other.SkuID, other.PartNumber = skuPowerBI, ""
			added := addLines(t, ctx, s, []licensing.Purchase{full, corr, early, other}, "admin@example.gov", "intake")
			if diff := cmp.Diff([]string{"p2", "c1", "p9", "p1"}, added); diff != "" {
				t.Errorf("added (-want +got):\n%s", diff)
			}
			want := []licensing.Purchase{early, corr, full, other}
			for _, tt := range []struct {
				name string
				f    licensing.PurchaseFilter
				want []licensing.Purchase
			}{
				{"all", licensing.PurchaseFilter{}, want},
				{"agency", licensing.PurchaseFilter{Agency: "DOA"}, want[:3]},
				{"service request", licensing.PurchaseFilter{SRID: "sr-DOA-1"}, []licensing.Purchase{early, full}},
				{"agency and service request", licensing.PurchaseFilter{Agency: "DOB", SRID: "sr-DOA-1"}, nil},
				{"unknown agency", licensing.PurchaseFilter{Agency: "NONE"}, nil},
			} {
				got := listLines(t, ctx, s, tt.f)
				if diff := cmp.Diff(tt.want, got, purchaseOpts); diff != "" {
					t.Errorf("ListPurchases %s (-want +got):\n%s", tt.name, diff)
				}
			}
		}},
		{"adding again records nothing twice", func(t *testing.T, ctx context.Context, s licensing.PurchaseStore) {
			first := []licensing.Purchase{Purchase("p1", "DOA", 1), Purchase("p2", "DOA", 2)}
			addLines(t, ctx, s, first, "a", "first")
			changed := Purchase("p1", "DOA", 50)
			again := addLines(t, ctx, s, []licensing.Purchase{changed, Purchase("p2", "DOA", 2), Purchase("p3", "DOA", 3), Purchase("p3", "DOA", 3)}, "b", "retry")
			if diff := cmp.Diff([]string{"p3"}, again); diff != "" {
				t.Errorf("added on retry (-want +got):\n%s", diff)
			}
			got := listLines(t, ctx, s, licensing.PurchaseFilter{Agency: "DOA"})
			want := []licensing.Purchase{first[0], first[1], Purchase("p3", "DOA", 3)}
			if diff := cmp.Diff(want, got, purchaseOpts); diff != "" {
				t.Errorf("lines after retry (-want +got):\n%s", diff)
			}
			if n := len(auditOf(t, ctx, s, "DOA", 0)); n != 3 {
				t.Errorf("%d audit entries, want 3 (one per line written)", n)
			}
			if again := addLines(t, ctx, s, first, "a", "first"); len(again) != 0 {
				t.Errorf("added on a full retry = %v, want none", again)
			}
		}},
		{"many lines over several agencies", func(t *testing.T, ctx context.Context, s licensing.PurchaseStore) {
			var lines []licensing.Purchase
			for i := 0; i < 130; i++ {
				agency := "DOA"
				if i%10 == 9 {
					agency = "DOB"
				}
				lines = append(lines, Purchase(fmt.Sprintf("p%03d", i), agency, 1+i%7))
			}
			if got := addLines(t, ctx, s, lines, "a", "bulk"); len(got) != len(lines) {
				t.Fatalf("added %d lines, want %d", len(got), len(lines))
			}
			// A retry after a partial failure writes only the rest.
			more := append(lines[60:], Purchase("p999", "DOA", 1))
			if got := addLines(t, ctx, s, more, "a", "bulk"); len(got) != 1 || got[0] != "p999" {
				t.Errorf("added on retry = %v, want [p999]", got)
			}
			if got := listLines(t, ctx, s, licensing.PurchaseFilter{}); len(got) != 131 {
				t.Errorf("listed %d lines, want 131", len(got))
			}
			if got := auditOf(t, ctx, s, "DOB", 0); len(got) != 13 {
				t.Errorf("DOB has %d audit entries, want 13", len(got))
			}
		}},
		{"audit newest first, limited, with the line as written", func(t *testing.T, ctx context.Context, s licensing.PurchaseStore) {
			p1, p2 := Purchase("p1", "DOA", 1), Purchase("p2", "DOA", 2)
			addLines(t, ctx, s, []licensing.Purchase{p1}, "admin@example.gov", "first PO")
			addLines(t, ctx, s, []licensing.Purchase{p2, Purchase("x", "DOB", 3)}, "other@example.gov", "second PO")
			at := base.Add(24 * time.Hour)
			if err := s.ActivatePurchases(ctx, "DOA", []string{"p1"}, at, "verify", "seats seen in the tenant"); err != nil {
				t.Fatal(err)
			}
			want := []licensing.AuditEntry{
				{At: at, Who: "verify", Action: licensing.AuditActivated, Agency: "DOA", Purchase: "p1", Why: "seats seen in the tenant"},
				{At: p2.Created, Who: "other@example.gov", Action: licensing.AuditAdded, Agency: "DOA", Purchase: "p2", Why: "second PO"},
				{At: p1.Created, Who: "admin@example.gov", Action: licensing.AuditAdded, Agency: "DOA", Purchase: "p1", Why: "first PO"},
			}
			got := auditOf(t, ctx, s, "DOA", 0)
			if diff := cmp.Diff(want, got, purchaseOpts); diff != "" {
				t.Errorf("audit (-want +got):\n%s", diff)
			}
			if len(got) == 3 {
				var line licensing.Purchase
				if err := json.Unmarshal([]byte(got[1].Detail), &line); err != nil {
					t.Errorf("Detail of an added line is not the line: %v", err)
				} else if diff := cmp.Diff(p2, line, purchaseOpts); diff != "" {
					t.Errorf("Detail (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(want[:2], auditOf(t, ctx, s, "DOA", 2), purchaseOpts); diff != "" {
				t.Errorf("audit limited to 2 (-want +got):\n%s", diff)
			}
			if got := auditOf(t, ctx, s, "NONE", 10); len(got) != 0 {
				t.Errorf("audit of an agency without lines = %v, want none", got)
			}
		}},
		{"activation is once, unknown ids change nothing", func(t *testing.T, ctx context.Context, s licensing.PurchaseStore) {
			pending, other := Purchase("p1", "DOA", 1), Purchase("p2", "DOA", 2)
			addLines(t, ctx, s, []licensing.Purchase{pending, other, Purchase("b1", "DOB", 3)}, "a", "intake")
			err := s.ActivatePurchases(ctx, "DOA", []string{"p1", "nope"}, base, "verify", "x")
			wantCode(t, "ActivatePurchases with an unknown id", err, licensing.NotFound)
			err = s.ActivatePurchases(ctx, "DOA", []string{"b1"}, base, "verify", "x")
			wantCode(t, "ActivatePurchases of another agency's line", err, licensing.NotFound)
			if got := listLines(t, ctx, s, licensing.PurchaseFilter{Agency: "DOA"}); len(got) != 2 || got[0].ActivatedAt != nil {
				t.Fatalf("a refused activation changed lines: %+v", got)
			}
			first := base.Add(time.Hour)
			if err := s.ActivatePurchases(ctx, "DOA", []string{"p1"}, first, "verify", "seen"); err != nil {
				t.Fatal(err)
			}
			if err := s.ActivatePurchases(ctx, "DOA", []string{"p1", "p2"}, first.Add(time.Hour), "admin", "confirmed"); err != nil {
				t.Fatal(err)
			}
			got := listLines(t, ctx, s, licensing.PurchaseFilter{Agency: "DOA"})
			want := []licensing.Purchase{active(pending, first), active(other, first.Add(time.Hour))}
			if diff := cmp.Diff(want, got, purchaseOpts); diff != "" {
				t.Errorf("activated lines (-want +got):\n%s", diff)
			}
			var activations int
			for _, e := range auditOf(t, ctx, s, "DOA", 0) {
				if e.Action == licensing.AuditActivated {
					activations++
				}
			}
			if activations != 2 {
				t.Errorf("%d activation entries, want 2 (one per line, none for the repeat)", activations)
			}
		}},
		{"unusable keys are invalid", func(t *testing.T, ctx context.Context, s licensing.PurchaseStore) {
			for _, p := range []licensing.Purchase{Purchase("a/b", "DOA", 1), Purchase("p1", "", 1), Purchase("p#1", "DOA", 1)} {
				_, err := s.AddPurchases(ctx, []licensing.Purchase{p}, "a", "x")
				wantCode(t, fmt.Sprintf("AddPurchases(id %q, agency %q)", p.ID, p.Agency), err, licensing.Invalid)
			}
			if got := listLines(t, ctx, s, licensing.PurchaseFilter{}); len(got) != 0 {
				t.Errorf("refused lines were stored: %v", got)
			}
		}},
	}
	tests = append(tests, identityCases()...)
	tests = append(tests, correctionCases()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, context.Background(), newStore(t))
		})
	}
}

// purchaseCase is one ledger conformance test.
type purchaseCase struct {
	name string
	run  func(t *testing.T, ctx context.Context, s licensing.PurchaseStore)
}

func addLines(t *testing.T, ctx context.Context, s licensing.PurchaseStore, lines []licensing.Purchase, who, why string) []string {
	t.Helper()
	added, err := s.AddPurchases(ctx, lines, who, why)
	if err != nil {
		t.Fatalf("AddPurchases: %v", err)
	}
	return added
}

func listLines(t *testing.T, ctx context.Context, s licensing.PurchaseStore, f licensing.PurchaseFilter) []licensing.Purchase {
	t.Helper()
	got, err := s.ListPurchases(ctx, f)
	if err != nil {
		t.Fatalf("ListPurchases(%+v): %v", f, err)
	}
	return got
}

func auditOf(t *testing.T, ctx context.Context, s licensing.PurchaseStore, agency string, limit int) []licensing.AuditEntry {
	t.Helper()
	got, err := s.PurchaseAudit(ctx, agency, limit)
	if err != nil {
		t.Fatalf("PurchaseAudit(%s, %d): %v", agency, limit, err)
	}
	return got
}
