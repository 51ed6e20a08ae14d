package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// importOne imports csv (committed) and returns the line of its first row.
func importOne(t *testing.T, h *testHost, csv string) string {
	t.Helper()
	r := h.do(importCall(map[string]string{"commit": "true"}, "text/csv", csv, admin))
	var res struct {
		Outcomes []struct{ Purchase, Outcome string }
	}
	r.json(t, &res)
	if r.status != http.StatusOK || len(res.Outcomes) == 0 || res.Outcomes[0].Outcome != "imported" {
		t.Fatalf("import: status %d, %s", r.status, r.body)
	}
	return res.Outcomes[0].Purchase
}

// TestPurchasesCorrectionIdempotencyKey retries a correction with its
// Idempotency-Key: the first answer is 201, a retry 200 with the same line,
// and the correction is applied once; the key in the body works alike, and
// the same key with another correction is 409.
func TestPurchasesCorrectionIdempotencyKey(t *testing.T) {
	h := newLedgerHost(t)
	id := importOne(t, h, trackingCSV)
	body := `{"corrects":"` + id + `","quantity":-5,"reason":"PO says 20"}`
	first := h.do(correctionCall(body, "5f0c1d9e-2b7a-4c1e-9d3f-1a2b3c4d5e6f", admin))
	if first.status != http.StatusCreated {
		t.Fatalf("correction: status %d, %s", first.status, first.body)
	}
	retry := h.do(correctionCall(body, "5f0c1d9e-2b7a-4c1e-9d3f-1a2b3c4d5e6f", admin))
	if retry.status != http.StatusOK || retry.body != first.body {
		t.Errorf("retry: status %d, body %s; want 200 and the first answer %s", retry.status, retry.body, first.body)
	}
	inBody := h.do(correctionCall(strings.TrimSuffix(body, "}")+`,"idempotencyKey":"5f0c1d9e-2b7a-4c1e-9d3f-1a2b3c4d5e6f"}`, "", admin))
	if inBody.status != http.StatusOK || inBody.body != first.body {
		t.Errorf("retry with the key in the body: status %d, %s; want 200 and the first answer", inBody.status, inBody.body)
	}
	other := h.do(correctionCall(`{"corrects":"`+id+`","quantity":-6,"reason":"PO says 19"}`, "5f0c1d9e-2b7a-4c1e-9d3f-1a2b3c4d5e6f", admin))
	var e errorBody
	other.json(t, &e)
	if other.status != http.StatusConflict || e.Error.Code != licensing.Conflict || !strings.Contains(e.Error.Message, "Use a new key") {
		t.Errorf("same key, other correction: status %d, %s; want 409 saying to use a new key", other.status, other.body)
	}
	if n := h.ledgerLines(); n != 3 {
		t.Errorf("%d ledger lines, want 3 (two imported, one correction)", n)
	}
	lines, err := h.store.ListPurchases(context.Background(), licensing.PurchaseFilter{Agency: "DOA"})
	if err != nil {
		t.Fatal(err)
	}
	if total := licensing.LineTotal(lines, id); total != 20 {
		t.Errorf("line total %d, want 20: the correction applied once", total)
	}
}

// TestPurchasesConcurrentCorrections posts ten corrections of -10 seats
// against a 10-seat line at the same time: one is recorded (201), the nine
// others get 422 naming the line, its seats and the largest decrease.
func TestPurchasesConcurrentCorrections(t *testing.T) {
	h := newLedgerHost(t)
	id := importOne(t, h, "Agency,PO Number,License Type,Qty,Term Start,Term End\r\nDOA,4500012345,VISIOCLIENT,10,2025-08-01,2026-06-30\r\n")
	const n = 10
	replies := make([]reply, n)
	fakes.AtOnce(n, func(i int) {
		replies[i] = h.do(correctionCall(`{"corrects":"`+id+`","quantity":-10,"reason":"returned"}`, fmt.Sprintf("return-%d", i), admin))
	})
	statuses := map[int]int{}
	for _, r := range replies {
		statuses[r.status]++
		if r.status == http.StatusUnprocessableEntity {
			var e errorBody
			r.json(t, &e)
			if want := "Line " + id + " has 0 seats now"; !strings.Contains(e.Error.Message, want) || !strings.Contains(e.Error.Message, "Remove at most 0") {
				t.Errorf("refusal %q does not say %q and the largest decrease", e.Error.Message, want)
			}
		}
	}
	if statuses[http.StatusCreated] != 1 || statuses[http.StatusUnprocessableEntity] != n-1 {
		t.Errorf("statuses %v, want one 201 and %d 422", statuses, n-1)
	}
	lines, err := h.store.ListPurchases(context.Background(), licensing.PurchaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if total := licensing.LineTotal(lines, id); total != 0 || len(lines) != 2 {
		t.Errorf("total %d over %d lines, want 0 over 2", total, len(lines))
	}
}

// TestPurchaseOrderAlreadyImported imports a row of the tracking sheet, then
// submits a purchase order with that PO number: it is refused with 409
// naming the imported line, and no request is created.
func TestPurchaseOrderAlreadyImported(t *testing.T) {
	h := newLedgerHost(t)
	id := importOne(t, h, "Agency,PO Number,License Type,Qty,Term Start,Term End\r\nDOA,4500012345,VISIOCLIENT,25,2026-08-01,2027-06-30\r\n")
	r := h.do(call{function: "PurchaseOrders", method: "POST", path: "purchase-orders", body: string(poJSON(nil)), caller: doaDelegate})
	var e errorBody
	r.json(t, &e)
	if r.hostStatus != 200 || r.status != http.StatusConflict || e.Error.Code != licensing.Conflict {
		t.Fatalf("host %d, status %d, %s; want 409", r.hostStatus, r.status, r.body)
	}
	for _, part := range []string{"4500012345", "line " + id, "25 seats", "from import", "/api/purchases/corrections"} {
		if !strings.Contains(e.Error.Message, part) {
			t.Errorf("message %q does not say %q", e.Error.Message, part)
		}
	}
	reqs, err := h.store.ListRequests(context.Background(), licensing.RequestFilter{})
	if err != nil || len(reqs) != 0 {
		t.Errorf("requests after the refusal: %v, %v; want none", reqs, err)
	}
	other := h.do(call{function: "PurchaseOrders", method: "POST", path: "purchase-orders", caller: doaDelegate,
		body: string(poJSON(func(m map[string]any) { m["poNumber"] = "4500099999" }))})
	if other.status != http.StatusCreated {
		t.Errorf("another PO: status %d, %s; want 201", other.status, other.body)
	}
}
