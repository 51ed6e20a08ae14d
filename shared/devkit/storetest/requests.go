package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// requestPrice is the unit price of Request's line, 299.50.
var requestPrice = licensing.Amount(2995000)

// Request returns a service request of agency for po, created minutes
// after a fixed time.
func Request(id, agency, po string, minutes int) licensing.ServiceRequest {
	at := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC).Add(time.Duration(minutes) * time.Minute)
	return licensing.ServiceRequest{
		ID: id, Agency: agency, PONumber: po, Agreement: licensing.AgreementALaCarte, Scenario: licensing.ScenarioNewCustomer,
		TermStart: licensing.NewDate(2026, 8, 1), TermEnd: licensing.NewDate(2027, 6, 30),
		Lines:     []licensing.RequestLine{{SKU: "VISIOCLIENT", SkuID: "c5928f49-12ba-48f7-ada3-0d743a3601d5", Quantity: 25, UnitPrice: &requestPrice, Currency: "USD"}},
		Requester: licensing.Person{Name: "Pat O'Doe", Email: "pat@doa.example.gov"},
		Status:    licensing.StatusSubmitted, Created: at, Updated: at, Fingerprint: "f-" + id,
		History: []licensing.Transition{{At: at, To: licensing.StatusSubmitted, By: "pat@doa.example.gov", Why: "complete submission"}},
	}
}

// TestRequestStore checks the service request semantics every store shares:
// the PO index (case-insensitive, one request per agency and PO, set in
// the same write), the fingerprint index of requests without a PO,
// optimistic updates and deletions, listing filters and order.
func TestRequestStore(t *testing.T, newStore func(t *testing.T) licensing.RequestStore) {
	t.Run("claims and deletions", func(t *testing.T) { testRequestClaims(t, newStore(t)) })
	ctx := context.Background()
	s := newStore(t)
	ignoreETag := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".ETag" }, cmp.Ignore())

	a := Request("DOA-0000000001", "DOA", "4500/012345", 0)
	got, err := s.CreateRequest(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if got.ETag == "" {
		t.Error("a created request has no ETag")
	}
	if diff := cmp.Diff(a, got, ignoreETag); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	// The same PO again (other case) is the existing request and Conflict.
	dup := Request("DOA-0000000002", "DOA", "4500/012345", 1)
	dup.PONumber = "4500/012345"
	existing, err := s.CreateRequest(ctx, dup)
	if licensing.ErrorCode(err) != licensing.Conflict || existing.ID != a.ID {
		t.Errorf("duplicate PO: %v, %q; want Conflict and %s", err, existing.ID, a.ID)
	}
	if _, err := s.GetRequest(ctx, dup.ID); licensing.ErrorCode(err) != licensing.NotFound {
		t.Errorf("the refused duplicate was written: %v", err)
	}
	if byPO, err := s.RequestByPO(ctx, "DOA", "4500/012345"); err != nil || byPO.ID != a.ID {
		t.Errorf("RequestByPO = %q, %v", byPO.ID, err)
	}
	if _, err := s.RequestByPO(ctx, "DET", "4500/012345"); licensing.ErrorCode(err) != licensing.NotFound {
		t.Errorf("another agency's PO: %v, want not-found", err)
	}
	// The same PO in another agency is another request.
	if _, err := s.CreateRequest(ctx, Request("DET-0000000003", "DET", "4500/012345", 2)); err != nil {
		t.Errorf("same PO, other agency: %v", err)
	}
	// Without a PO, the fingerprint is indexed.
	noPO := Request("DOA-0000000004", "DOA", "", 3)
	noPO.Status = licensing.StatusNeedsInformation
	stored, err := s.CreateRequest(ctx, noPO)
	if err != nil {
		t.Fatal(err)
	}

	// Optimistic updates.
	stored.PONumber = "PO-77"
	stored.Status = licensing.StatusSubmitted
	updated, err := s.UpdateRequest(ctx, stored)
	if err != nil {
		t.Fatal(err)
	}
	if updated.ETag == stored.ETag {
		t.Error("the ETag did not change")
	}
	if _, err := s.UpdateRequest(ctx, stored); licensing.ErrorCode(err) != licensing.Stale {
		t.Errorf("update with an old ETag: %v, want stale", err)
	}
	if byPO, err := s.RequestByPO(ctx, "DOA", "po-77"); err != nil || byPO.ID != noPO.ID {
		t.Errorf("the PO added by an update is not indexed: %q, %v", byPO.ID, err)
	}
	// A PO another request holds cannot be given to this one.
	updated.PONumber = "4500/012345"
	if _, err := s.UpdateRequest(ctx, updated); licensing.ErrorCode(err) != licensing.Conflict {
		t.Errorf("taking another request's PO: %v, want conflict", err)
	}

	list, err := s.ListRequests(ctx, licensing.RequestFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range list {
		ids = append(ids, r.ID)
	}
	if diff := cmp.Diff([]string{"DOA-0000000004", "DET-0000000003", "DOA-0000000001"}, ids); diff != "" {
		t.Errorf("list order (-want +got):\n%s", diff)
	}
	doa, err := s.ListRequests(ctx, licensing.RequestFilter{Agency: "DOA", Status: licensing.StatusSubmitted})
	if err != nil {
		t.Fatal(err)
	}
	if len(doa) != 2 {
		t.Errorf("DOA submitted = %d requests, want 2", len(doa))
	}
	if _, err := s.GetRequest(ctx, "not-an-id"); licensing.ErrorCode(err) != licensing.NotFound {
		t.Errorf("GetRequest(not-an-id): %v", err)
	}
}

// TestDeliveries checks the delivery records every store shares.
func TestDeliveries(t *testing.T, newStore func(t *testing.T) licensing.Deliveries) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.GetDelivery(ctx, "payroll-2026-11-23", "DOA"); licensing.ErrorCode(err) != licensing.NotFound {
		t.Fatalf("empty store: %v", err)
	}
	at := time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)
	d := licensing.Delivery{Run: "payroll-2026-11-23", Key: "DOA", State: licensing.DeliveryWritten, File: "reports/payroll/2026-11-23/DOA.xlsx", Size: 12345, At: at}
	if err := s.PutDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	d.State, d.To = licensing.DeliveryMailed, []string{"x@doa.example.gov"}
	if err := s.PutDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	other := licensing.Delivery{Run: "payroll-2026-12-07", Key: "DOA", State: licensing.DeliveryWritten, At: at}
	if err := s.PutDelivery(ctx, other); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetDelivery(ctx, d.Run, "DOA")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d, got); diff != "" {
		t.Errorf("delivery (-want +got):\n%s", diff)
	}
	list, err := s.ListDeliveries(ctx, d.Run)
	if err != nil || len(list) != 1 {
		t.Errorf("list = %v, %v; want one delivery", list, err)
	}
}

// testRequestClaims checks the fingerprint claim of requests without a PO
// number and the conditional deletion that frees a claim.
func testRequestClaims(t *testing.T, s licensing.RequestStore) {
	ctx := context.Background()
	noPO := Request("DOA-00000000a1", "DOA", "", 0)
	noPO.Status = licensing.StatusReceiving
	first, err := s.CreateRequest(ctx, noPO)
	if err != nil {
		t.Fatal(err)
	}
	// The same content again is the first request and Conflict; another
	// agency's is another request.
	again := Request("DOA-00000000a2", "DOA", "", 1)
	again.Fingerprint = noPO.Fingerprint
	if existing, err := s.CreateRequest(ctx, again); licensing.ErrorCode(err) != licensing.Conflict || existing.ID != noPO.ID {
		t.Errorf("same fingerprint: %v, %q; want Conflict and %s", err, existing.ID, noPO.ID)
	}
	if _, err := s.GetRequest(ctx, again.ID); licensing.ErrorCode(err) != licensing.NotFound {
		t.Errorf("the refused duplicate was written: %v", err)
	}
	other := Request("DET-00000000a3", "DET", "", 2)
	other.Fingerprint = noPO.Fingerprint
	if _, err := s.CreateRequest(ctx, other); err != nil {
		t.Errorf("same fingerprint, other agency: %v", err)
	}
	if got, err := s.RequestByFingerprint(ctx, "DOA", noPO.Fingerprint); err != nil || got.ID != noPO.ID {
		t.Errorf("RequestByFingerprint = %q, %v", got.ID, err)
	}
	if _, err := s.RequestByFingerprint(ctx, "DOA", "f-unknown"); licensing.ErrorCode(err) != licensing.NotFound {
		t.Errorf("unknown fingerprint: %v, want not-found", err)
	}
	// A request with a PO number is not indexed by its fingerprint.
	withPO := Request("DOA-00000000a4", "DOA", "PO-9", 3)
	withPO.Status = licensing.StatusReceiving
	claimed, err := s.CreateRequest(ctx, withPO)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RequestByFingerprint(ctx, "DOA", withPO.Fingerprint); licensing.ErrorCode(err) != licensing.NotFound {
		t.Errorf("a request with a PO found by its fingerprint: %v", err)
	}

	// Deletion needs the current version and frees the claim.
	updated := first
	updated.Status = licensing.StatusSubmitted
	if updated, err = s.UpdateRequest(ctx, updated); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRequest(ctx, first); licensing.ErrorCode(err) != licensing.Stale {
		t.Errorf("DeleteRequest with an old ETag: %v, want stale", err)
	}
	if got, err := s.RequestByFingerprint(ctx, "DOA", noPO.Fingerprint); err != nil || got.ID != noPO.ID {
		t.Errorf("after a refused deletion: %q, %v", got.ID, err)
	}
	for _, sr := range []licensing.ServiceRequest{updated, claimed} {
		if err := s.DeleteRequest(ctx, sr); err != nil {
			t.Fatalf("DeleteRequest(%s): %v", sr.ID, err)
		}
		if _, err := s.GetRequest(ctx, sr.ID); licensing.ErrorCode(err) != licensing.NotFound {
			t.Errorf("GetRequest(%s) after deletion: %v", sr.ID, err)
		}
		if err := s.DeleteRequest(ctx, sr); licensing.ErrorCode(err) != licensing.NotFound {
			t.Errorf("DeleteRequest(%s) twice: %v, want not-found", sr.ID, err)
		}
	}
	if _, err := s.RequestByFingerprint(ctx, "DOA", noPO.Fingerprint); licensing.ErrorCode(err) != licensing.NotFound {
		t.Errorf("the fingerprint index outlived its request: %v", err)
	}
	if _, err := s.RequestByPO(ctx, "DOA", "po-9"); licensing.ErrorCode(err) != licensing.NotFound {
		t.Errorf("the PO index outlived its request: %v", err)
	}
	if _, err := s.CreateRequest(ctx, Request("DOA-00000000a5", "DOA", "PO-9", 4)); err != nil {
		t.Errorf("claiming a freed PO again: %v", err)
	}
	if _, err := s.CreateRequest(ctx, again); err != nil {
		t.Errorf("claiming a freed fingerprint again: %v", err)
	}
	if got, err := s.GetRequest(ctx, other.ID); err != nil || got.Fingerprint != noPO.Fingerprint {
		t.Errorf("the other agency's request: %v", err)
	}
}
