package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Correction returns an active correction of n seats to line of of agency,
// with the line's PO number as Purchase gives it.
func Correction(id, of, agency string, n int) licensing.Purchase {
	c := Purchase(id, agency, n)
	c.Source, c.Corrects, c.SRID, c.PONumber = licensing.SourceCorrection, of, "", "4500-"+of
	at := base.Add(time.Hour)
	c.ActivatedAt = &at
	return c
}

// identityCases check that the ledger keeps one line per agency, PO number
// and product (licensing.LineIdentity), also against concurrent writers.
func identityCases() []purchaseCase {
	return []purchaseCase{
		{"a second line for a PO and product is refused, naming the first", func(t *testing.T, ctx context.Context, s licensing.PurchaseStore) {
			first := Purchase("p1", "DOA", 10)
			addLines(t, ctx, s, []licensing.Purchase{first}, "a", "intake")
			second := Purchase("p2", "DOA", 30)
			second.PONumber, second.SkuID, second.Source = " 4500-P1 ", strings.ToUpper(skuVisio), licensing.SourceImport
			added, err := s.AddPurchases(ctx, []licensing.Purchase{Purchase("p3", "DOA", 3), second}, "b", "import")
			wantCode(t, "AddPurchases of a second line for PO 4500-p1 and Visio", err, licensing.Conflict)
			for _, part := range []string{"line p1", "PO 4500-p1", "VISIOCLIENT", "10 seats", "from service-request", "/api/purchases/corrections", `"corrects": "p1"`} {
				if !strings.Contains(licensing.ErrorMessage(err), part) {
					t.Errorf("message %q does not say %q", licensing.ErrorMessage(err), part)
				}
			}
			if len(added) != 0 {
				t.Errorf("added = %v, want none", added)
			}
			if got := listLines(t, ctx, s, licensing.PurchaseFilter{}); len(got) != 1 || got[0].ID != "p1" {
				t.Errorf("lines after the refusal = %+v, want p1 alone", got)
			}
			if n := len(auditOf(t, ctx, s, "DOA", 0)); n != 1 {
				t.Errorf("%d audit entries after the refusal, want 1", n)
			}

			// Other identities, lines without one, and a retry of p1 itself.
			otherSku := Purchase("o1", "DOA", 1)
			otherSku.PONumber, otherSku.SkuID = first.PONumber, skuPowerBI
			otherAgency := Purchase("o2", "DOB", 1)
			otherAgency.PONumber = first.PONumber
			noPO1, noPO2 := Purchase("n1", "DOA", 1), Purchase("n2", "DOA", 2)
			noPO1.PONumber, noPO2.PONumber = "", ""
			corr := Correction("c1", "p1", "DOA", -2)
			lines := []licensing.Purchase{first, otherSku, otherAgency, noPO1, noPO2, corr}
			if diff := cmp.Diff([]string{"o1", "o2", "n1", "n2", "c1"}, addLines(t, ctx, s, lines, "a", "more")); diff != "" {
				t.Errorf("added (-want +got):\n%s", diff)
			}
		}},
		{"two lines of one call for a PO and product are refused", func(t *testing.T, ctx context.Context, s licensing.PurchaseStore) {
			a, b := Purchase("a1", "DOA", 1), Purchase("a2", "DOA", 2)
			b.PONumber = a.PONumber
			_, err := s.AddPurchases(ctx, []licensing.Purchase{a, b}, "a", "x")
			wantCode(t, "AddPurchases of two lines for one PO and product", err, licensing.Conflict)
			if got := listLines(t, ctx, s, licensing.PurchaseFilter{}); len(got) != 0 {
				t.Errorf("refused lines were stored: %+v", got)
			}
		}},
		{"concurrent writers of one PO and product store one line", func(t *testing.T, ctx context.Context, s licensing.PurchaseStore) {
			var mu sync.Mutex
			var won []string
			fakes.AtOnce(8, func(i int) {
				p := Purchase(fmt.Sprintf("r%d", i), "DOA", 10+i)
				p.PONumber = "4500-RACE"
				added, err := s.AddPurchases(ctx, []licensing.Purchase{p}, "writer", "race")
				if err != nil && licensing.ErrorCode(err) != licensing.Conflict {
					t.Errorf("AddPurchases: %v, want success or conflict", err)
				}
				mu.Lock()
				won = append(won, added...)
				mu.Unlock()
			})
			got := listLines(t, ctx, s, licensing.PurchaseFilter{Agency: "DOA"})
			if len(won) != 1 || len(got) != 1 || got[0].ID != won[0] {
				t.Errorf("writers added %v, the ledger has %d lines; want one line, added once", won, len(got))
			}
			if n := len(auditOf(t, ctx, s, "DOA", 0)); n != 1 {
				t.Errorf("%d audit entries, want 1", n)
			}
		}},
	}
}

// correctionCases check AddCorrection: a line's total (its quantity and its
// corrections) never falls below zero, also under concurrent corrections,
// and a correction id is recorded once.
func correctionCases() []purchaseCase {
	return []purchaseCase{
		{"corrections keep a line's total at zero or above", func(t *testing.T, ctx context.Context, s licensing.PurchaseStore) {
			addLines(t, ctx, s, []licensing.Purchase{Purchase("p1", "DOA", 10), Purchase("b1", "DOB", 5)}, "a", "intake")
			c1 := Correction("c1", "p1", "DOA", -4)
			stored, created := correct(t, ctx, s, c1)
			if diff := cmp.Diff(c1, stored, purchaseOpts); diff != "" || !created {
				t.Errorf("AddCorrection created %v (-want +got):\n%s", created, diff)
			}
			_, _, err := s.AddCorrection(ctx, Correction("c2", "p1", "DOA", -7), "admin", "too many")
			wantCode(t, "AddCorrection below zero", err, licensing.Invalid)
			if msg := licensing.ErrorMessage(err); !strings.Contains(msg, "Line p1 has 6 seats") || !strings.Contains(msg, "Remove at most 6") {
				t.Errorf("message %q does not name the line, its total and the largest decrease", msg)
			}
			if fe := licensing.ErrorFields(err); len(fe) != 1 || fe[0].Field != "quantity" {
				t.Errorf("fields = %+v, want one on quantity", fe)
			}
			correct(t, ctx, s, Correction("c3", "p1", "DOA", 3))
			// c1 again, even with other content: the stored one, not applied again.
			again, created := correct(t, ctx, s, Correction("c1", "p1", "DOA", -1))
			if created || again.Quantity != -4 {
				t.Errorf("AddCorrection of a stored id = %+v, created %v; want the first (-4), not created", again, created)
			}
			for _, tt := range []struct {
				name string
				c    licensing.Purchase
				want licensing.Code
			}{
				{"of an unknown line", Correction("c4", "nope", "DOA", -1), licensing.NotFound},
				{"of another agency's line", Correction("c5", "b1", "DOA", -1), licensing.NotFound},
				{"of a correction", Correction("c6", "c1", "DOA", 1), licensing.Invalid},
				{"with an unusable id", Correction("c/7", "p1", "DOA", 1), licensing.Invalid},
			} {
				_, _, err := s.AddCorrection(ctx, tt.c, "admin", "x")
				wantCode(t, "AddCorrection "+tt.name, err, tt.want)
			}
			lines := listLines(t, ctx, s, licensing.PurchaseFilter{Agency: "DOA"})
			if total := licensing.LineTotal(lines, "p1"); len(lines) != 3 || total != 9 {
				t.Errorf("%d lines with a total of %d, want 3 (p1, c1, c3) and 9", len(lines), total)
			}
			if n := len(auditOf(t, ctx, s, "DOA", 0)); n != 3 {
				t.Errorf("%d audit entries, want 3", n)
			}
		}},
		{"concurrent corrections never take a line below zero", func(t *testing.T, ctx context.Context, s licensing.PurchaseStore) {
			addLines(t, ctx, s, []licensing.Purchase{Purchase("p1", "DOA", 10)}, "a", "intake")
			created, errs := correctAtOnce(ctx, s, 10, func(i int) licensing.Purchase { return Correction(fmt.Sprintf("c%d", i), "p1", "DOA", -10) })
			if created != 1 {
				t.Errorf("%d corrections of -10 written, want exactly 1", created)
			}
			for _, err := range errs {
				if licensing.ErrorCode(err) != licensing.Invalid || !strings.Contains(licensing.ErrorMessage(err), "Remove at most 0") {
					t.Errorf("a refused correction: %v; want invalid, saying to remove at most 0", err)
				}
			}
			lines := listLines(t, ctx, s, licensing.PurchaseFilter{Agency: "DOA"})
			if total := licensing.LineTotal(lines, "p1"); len(lines) != 2 || total != 0 {
				t.Errorf("%d lines with a total of %d, want 2 and 0", len(lines), total)
			}
		}},
		{"concurrent corrections that fit are all written", func(t *testing.T, ctx context.Context, s licensing.PurchaseStore) {
			addLines(t, ctx, s, []licensing.Purchase{Purchase("p1", "DOA", 10)}, "a", "intake")
			created, errs := correctAtOnce(ctx, s, 6, func(i int) licensing.Purchase { return Correction(fmt.Sprintf("c%d", i), "p1", "DOA", 1) })
			if created != 6 || len(errs) != 0 {
				t.Errorf("%d corrections of +1 written, errors %v; want all 6", created, errs)
			}
			if total := licensing.LineTotal(listLines(t, ctx, s, licensing.PurchaseFilter{}), "p1"); total != 16 {
				t.Errorf("total %d, want 16", total)
			}
		}},
		{"one correction sent at once several times is written once", func(t *testing.T, ctx context.Context, s licensing.PurchaseStore) {
			addLines(t, ctx, s, []licensing.Purchase{Purchase("p1", "DOA", 10)}, "a", "intake")
			created, errs := correctAtOnce(ctx, s, 6, func(int) licensing.Purchase { return Correction("c-same", "p1", "DOA", -3) })
			if created != 1 || len(errs) != 0 {
				t.Errorf("%d written, errors %v; want 1 written, the others answered with it", created, errs)
			}
			lines := listLines(t, ctx, s, licensing.PurchaseFilter{})
			if total := licensing.LineTotal(lines, "p1"); len(lines) != 2 || total != 7 {
				t.Errorf("%d lines with a total of %d, want 2 and 7", len(lines), total)
			}
			if n := len(auditOf(t, ctx, s, "DOA", 0)); n != 2 {
				t.Errorf("%d audit entries, want 2", n)
			}
		}},
	}
}

func correct(t *testing.T, ctx context.Context, s licensing.PurchaseStore, c licensing.Purchase) (licensing.Purchase, bool) {
	t.Helper()
	stored, created, err := s.AddCorrection(ctx, c, "admin@example.gov", "correction "+c.ID)
	if err != nil {
		t.Fatalf("AddCorrection(%s): %v", c.ID, err)
	}
	return stored, created
}

// correctAtOnce runs n AddCorrection calls at the same time, the i-th
// writing line(i), and returns how many wrote a line and the errors.
func correctAtOnce(ctx context.Context, s licensing.PurchaseStore, n int, line func(i int) licensing.Purchase) (int, []error) {
	var mu sync.Mutex
	created := 0
	var errs []error
	fakes.AtOnce(n, func(i int) {
		_, ok, err := s.AddCorrection(ctx, line(i), "admin@example.gov", "at once")
		mu.Lock()
		defer mu.Unlock()
		if ok {
			created++
		}
		if err != nil {
			errs = append(errs, err)
		}
	})
	return created, errs
}
