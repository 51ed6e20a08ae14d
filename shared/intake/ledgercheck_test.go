package intake_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/intake"
	"github.com/shared-tenant/licensetrack/shared/ledger"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/xlsx"
)

// importSheet imports a tracking sheet through the ledger service, on the
// fixture's store, and returns the line of its first row.
func (f *intakeFixture) importSheet(t *testing.T, csv string) string {
	t.Helper()
	svc := ledger.NewService(ledger.Config{Auth: f.auth, Agencies: f.store, Purchases: f.store, Snapshots: f.store,
		Catalog: fakes.BuiltinCatalog{}, Sheets: xlsx.NewReader(xlsx.Limits{}), Now: f.now})
	res, err := svc.ImportPurchases(context.Background(), f.admin, []byte(csv), "tracking.csv", "text/csv", true)
	if err != nil || res.Imported != 1 {
		t.Fatalf("import: %+v, %v", res, err)
	}
	return res.Outcomes[0].Purchase
}

// TestPurchaseOrderAlreadyInLedger imports a tracking-sheet row for PO
// 4500012345, then submits that purchase order: it is refused as a
// conflict naming the imported line, and nothing is written. A PO number
// added later to an incomplete request is checked alike.
func TestPurchaseOrderAlreadyInLedger(t *testing.T) {
	f := newIntakeFixture(t)
	ctx := context.Background()
	id := f.importSheet(t, "Agency,PO Number,Product,Quantity,Term Start,Term End\r\nDOA,4500012345,VISIOCLIENT,25,2026-08-01,2027-06-30\r\n")
	files := len(f.store.Files())
	_, err := f.svc.SubmitPurchaseOrder(ctx, f.doaRep, completePO())
	if licensing.ErrorCode(err) != licensing.Conflict {
		t.Fatalf("SubmitPurchaseOrder: %v, want conflict", err)
	}
	for _, part := range []string{"Purchase order 4500012345", "line " + id, "25 seats", "from import", "/api/purchases/corrections"} {
		if !strings.Contains(licensing.ErrorMessage(err), part) {
			t.Errorf("message %q does not say %q", licensing.ErrorMessage(err), part)
		}
	}
	if fe := licensing.ErrorFields(err); len(fe) != 1 || fe[0].Field != "poNumber" {
		t.Errorf("fields %+v, want one on poNumber", fe)
	}
	if reqs, err := f.store.ListRequests(ctx, licensing.RequestFilter{}); err != nil || len(reqs) != 0 || len(f.store.Files()) != files {
		t.Errorf("after the refusal: requests %v (%v), files %d→%d; want nothing written", reqs, err, files, len(f.store.Files()))
	}

	// Submitted without its PO number, which is added once imported.
	in := completePO()
	in.PONumber = ""
	res, err := f.svc.SubmitPurchaseOrder(ctx, f.doaRep, in)
	if err != nil || res.Request.Status != licensing.StatusNeedsInformation {
		t.Fatalf("submission without a PO number: %+v, %v", res.Request.Status, err)
	}
	f.importSheet(t, "Agency,PO Number,Product,Quantity,Term Start,Term End\r\nDOA,po-77,VISIOCLIENT,5,2026-08-01,2027-06-30\r\n")
	_, err = f.svc.CompleteRequest(ctx, f.doaRep, res.Request.ID, intake.IntakeRequest{PONumber: "PO-77"})
	if licensing.ErrorCode(err) != licensing.Conflict || !strings.Contains(licensing.ErrorMessage(err), "PO-77") {
		t.Errorf("CompleteRequest with an imported PO number: %v, want conflict", err)
	}
	if sr := f.request(t, res.Request.ID); sr.PONumber != "" || sr.Status != licensing.StatusNeedsInformation {
		t.Errorf("the request changed: PO %q, status %s", sr.PONumber, sr.Status)
	}
}
