package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/blobstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// postAtOnce posts body to the intake n times at once and returns the
// statuses and the request ids answered.
func (r *workflowRig) postAtOnce(n int, body []byte) ([]int, []string) {
	statuses, ids := make([]int, n), make([]string, n)
	fakes.AtOnce(n, func(i int) {
		st, resp := r.call(http.MethodPost, "/api/purchase-orders", delegate, "application/json", body)
		var out struct{ ID string }
		json.Unmarshal(resp, &out)
		statuses[i], ids[i] = st, out.ID
	})
	return statuses, ids
}

// TestSimultaneousPostsOneRequest posts the same purchase order 20 times at
// once through the host to the handler on Azurite, with and without a PO
// number: one answer creates the request (201), the others return it (200),
// and Table and Blob Storage hold one request and one set of documents.
func TestSimultaneousPostsOneRequest(t *testing.T) {
	r := newWorkflowRig(t)
	ctx := context.Background()
	for _, po := range []string{"4500000101", ""} {
		statuses, ids := r.postAtOnce(20, purchaseOrderJSON(po, true))
		created := 0
		for i, st := range statuses {
			switch {
			case st == http.StatusCreated:
				created++
			case st != http.StatusOK:
				t.Errorf("PO %q post %d: status %d", po, i, st)
			}
			if ids[i] != ids[0] {
				t.Errorf("PO %q: answers name %s and %s", po, ids[0], ids[i])
			}
		}
		if created != 1 {
			t.Errorf("PO %q: %d answers created the request, want 1", po, created)
		}
		sr := r.request(ids[0])
		if sr.Status == licensing.StatusReceiving || len(sr.Documents) != 2 {
			t.Errorf("PO %q: request %s is %s with %d documents", po, sr.ID, sr.Status, len(sr.Documents))
		}
		var blobs []string
		if err := r.blobs.List(ctx, "documents/DOA/", func(b blobstore.BlobInfo) error {
			blobs = append(blobs, b.Name)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(blobs) != 2*len(r.requests(t)) {
			t.Errorf("PO %q: %d document blobs for %d requests", po, len(blobs), len(r.requests(t)))
		}
	}
	if list := r.requests(t); len(list) != 2 {
		t.Errorf("%d requests stored, want 2 (one with the PO number, one without)", len(list))
	}
}

func (r *workflowRig) requests(t *testing.T) []licensing.ServiceRequest {
	t.Helper()
	list, err := r.tables.ListRequests(context.Background(), licensing.RequestFilter{Agency: "DOA"})
	if err != nil {
		t.Fatal(err)
	}
	return list
}
