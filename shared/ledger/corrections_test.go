package ledger_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/storetest"
	"github.com/shared-tenant/licensetrack/shared/ledger"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/tablestore"
	"github.com/shared-tenant/licensetrack/shared/xlsx"
)

// ledgerStore is what a ledger Service is built on.
type ledgerStore interface {
	licensing.AgencyStore
	licensing.PurchaseStore
	licensing.SnapshotStore
}

// onEachStore runs test on a ledger Service over the in-memory store and
// over Table Storage (Azurite), each with the agencies DOA and DOB.
func onEachStore(t *testing.T, test func(t *testing.T, svc *ledger.Service, store ledgerStore)) {
	stores := []struct {
		name string
		open func(t *testing.T) ledgerStore
	}{
		{"memstore", func(*testing.T) ledgerStore { return memstore.New() }},
		{"tablestore", func(t *testing.T) ledgerStore {
			s := tablestore.New(azuritetest.TableService(t), tablestore.Options{TablePrefix: azuritetest.Name(t, "ld")})
			if err := s.Init(context.Background()); err != nil {
				t.Fatalf("Init: %v", err)
			}
			return s
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			store := st.open(t)
			ctx := context.Background()
			for _, id := range []string{"DOA", "DOB"} {
				if _, _, err := store.PutAgency(ctx, storetest.Agency(id, 1), licensing.Precondition{}); err != nil {
					t.Fatal(err)
				}
			}
			test(t, newLedgerService(store, func() time.Time { return time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC) }, nil), store)
		})
	}
}

// newLedgerService returns a Service on store, with the built-in catalog
// and the spreadsheet reader; newID nil draws random ids.
func newLedgerService(store ledgerStore, now func() time.Time, newID func() string) *ledger.Service {
	return ledger.NewService(ledger.Config{
		Auth:      licensing.NewAuthorizer(store, []string{ledgerAdm}, false),
		Agencies:  store,
		Snapshots: store,
		Purchases: store,
		Catalog:   fakes.BuiltinCatalog{},
		Sheets:    xlsx.NewReader(xlsx.Limits{}),
		Now:       now,
		NewID:     newID,
	})
}

const visioRow = "Agency,PO Number,Product,Quantity,Term Start,Term End\r\nDOA,4500012345,VISIOCLIENT,%d,2025-08-01,2026-06-30\r\n"

// importedLine imports one row of qty Visio seats on PO 4500012345 for DOA
// and returns its line.
func importedLine(t *testing.T, svc *ledger.Service, store ledgerStore, qty int) licensing.Purchase {
	t.Helper()
	res, err := svc.ImportPurchases(context.Background(), adminCaller, []byte(fmt.Sprintf(visioRow, qty)), "tracking.csv", "text/csv", true)
	if err != nil || res.Imported != 1 {
		t.Fatalf("import: %+v, %v", res, err)
	}
	return onlyLine(t, store)
}

// onlyLine returns the ledger's one line, failing when it has another
// number of lines.
func onlyLine(t *testing.T, store ledgerStore) licensing.Purchase {
	t.Helper()
	lines, err := store.ListPurchases(context.Background(), licensing.PurchaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 {
		t.Fatalf("the ledger has %d lines, want 1: %+v", len(lines), lines)
	}
	return lines[0]
}

func lineTotal(t *testing.T, store ledgerStore, id string) (int, int) {
	t.Helper()
	lines, err := store.ListPurchases(context.Background(), licensing.PurchaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return licensing.LineTotal(lines, id), len(lines)
}

// TestConcurrentCorrectionsNeverGoBelowZero sends ten corrections of -10
// seats against a 10-seat line at once: exactly one is recorded, the line's
// total is 0, and the nine others are refused, saying what is left.
func TestConcurrentCorrectionsNeverGoBelowZero(t *testing.T) {
	onEachStore(t, func(t *testing.T, svc *ledger.Service, store ledgerStore) {
		line := importedLine(t, svc, store, 10)
		errs := make([]error, 10)
		fakes.AtOnce(len(errs), func(i int) {
			_, errs[i] = svc.CorrectPurchase(context.Background(), adminCaller,
				ledger.Correction{Corrects: line.ID, Quantity: -10, Reason: "seats returned", Key: fmt.Sprintf("return-%d", i)})
		})
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case licensing.PolicyOf(err).HTTPStatus != 422 || !strings.Contains(licensing.ErrorMessage(err), "Line "+line.ID+" has ") ||
				!strings.Contains(licensing.ErrorMessage(err), "Remove at most"):
				t.Errorf("a refused correction: %v; want 422 naming line %s, its seats and the largest decrease", err, line.ID)
			}
		}
		total, lines := lineTotal(t, store, line.ID)
		if ok != 1 || total != 0 || lines != 2 {
			t.Errorf("%d corrections recorded, total %d, %d lines; want 1, 0 and 2", ok, total, lines)
		}
	})
}

// TestRetriedCorrectionAppliedOnce sends a correction, then the same again
// with its key (also several at once): it is recorded once. The same key
// with another correction is a conflict.
func TestRetriedCorrectionAppliedOnce(t *testing.T) {
	onEachStore(t, func(t *testing.T, svc *ledger.Service, store ledgerStore) {
		ctx := context.Background()
		line := importedLine(t, svc, store, 10)
		c := ledger.Correction{Corrects: line.ID, Quantity: -5, Reason: "PO says 5", Key: "0b6a1c2e-retry"}
		first, err := svc.CorrectPurchase(ctx, adminCaller, c)
		if err != nil || !first.Created {
			t.Fatalf("first: %+v, %v", first, err)
		}
		again, err := svc.CorrectPurchase(ctx, adminCaller, c)
		if err != nil || again.Created || again.Line.ID != first.Line.ID || again.Line.Quantity != -5 {
			t.Errorf("retry: %+v, %v; want the first correction, not created", again, err)
		}
		fakes.AtOnce(5, func(int) {
			if r, err := svc.CorrectPurchase(ctx, adminCaller, c); err != nil || r.Created {
				t.Errorf("concurrent retry: %+v, %v; want the first correction, not created", r, err)
			}
		})
		if total, lines := lineTotal(t, store, line.ID); total != 5 || lines != 2 {
			t.Errorf("total %d over %d lines, want 5 over 2: the correction applied once", total, lines)
		}
		other := c
		other.Quantity = -4
		_, err = svc.CorrectPurchase(ctx, adminCaller, other)
		if licensing.ErrorCode(err) != licensing.Conflict || !strings.Contains(licensing.ErrorMessage(err), first.Line.ID) {
			t.Errorf("same key, other quantity: %v; want a conflict naming %s", err, first.Line.ID)
		}
		// Once the line is at 0, a retry of the correction that took it
		// there still answers with it, not with a refusal.
		zero := ledger.Correction{Corrects: line.ID, Quantity: -5, Reason: "the rest", Key: "to-zero"}
		if _, err := svc.CorrectPurchase(ctx, adminCaller, zero); err != nil {
			t.Fatal(err)
		}
		if r, err := svc.CorrectPurchase(ctx, adminCaller, zero); err != nil || r.Created {
			t.Errorf("retry of the correction to zero: %+v, %v; want the first, not created", r, err)
		}
	})
}

// TestImportThenDifferentQuantity imports a row, then the same PO and
// product with another quantity: the second is rejected naming the line
// and how to correct it, the ledger keeps one line, and the entitlement is
// unchanged. The same row again is already imported.
func TestImportThenDifferentQuantity(t *testing.T) {
	onEachStore(t, func(t *testing.T, svc *ledger.Service, store ledgerStore) {
		ctx := context.Background()
		line := importedLine(t, svc, store, 25)
		res, err := svc.ImportPurchases(ctx, adminCaller, []byte(fmt.Sprintf(visioRow, 30)), "tracking-v2.csv", "text/csv", true)
		if err != nil {
			t.Fatal(err)
		}
		if res.Imported != 0 || res.Rejected != 1 {
			t.Fatalf("second import: %+v; want the row rejected", res)
		}
		reason := res.Outcomes[0].Reason
		for _, part := range []string{"line " + line.ID, "PO 4500012345", "VISIOCLIENT", "25 seats", "from import", "this row says 30 seats",
			"/api/purchases/corrections", `"corrects": "` + line.ID + `"`, "A quantity of +5"} {
			if !strings.Contains(reason, part) {
				t.Errorf("reason %q does not say %q", reason, part)
			}
		}
		onlyLine(t, store)
		ents, err := svc.Entitlements(ctx, ledgerDay("2026-01-01"))
		if err != nil || len(ents) != 1 || ents[0].Quantity != 25 {
			t.Errorf("entitlements %+v, %v; want 25 seats", ents, err)
		}
		same, err := svc.ImportPurchases(ctx, adminCaller, []byte(fmt.Sprintf(visioRow, 25)), "tracking.csv", "text/csv", true)
		if err != nil || same.AlreadyImported != 1 || same.Outcomes[0].Purchase != line.ID {
			t.Errorf("the same row again: %+v, %v; want already imported as %s", same, err, line.ID)
		}
		// Two rows of one file for one PO and product.
		two := "Agency,PO Number,Product,Quantity,Term Start,Term End\r\n" +
			"DOB,4500099999,VISIOCLIENT,5,2025-08-01,2026-06-30\r\nDOB,4500099999,VISIOCLIENT,7,2025-08-01,2026-06-30\r\n"
		res, err = svc.ImportPurchases(ctx, adminCaller, []byte(two), "two.csv", "text/csv", true)
		if err != nil || res.Imported != 1 || res.Rejected != 1 || !strings.Contains(res.Outcomes[1].Reason, "as row 2") {
			t.Errorf("two rows for one PO and product: %+v, %v; want the second rejected", res, err)
		}
	})
}
