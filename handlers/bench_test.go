package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// BenchmarkInvokeAgencyGet measures the handler's own cost of one HTTP
// invocation (decode the envelope, authorize, read an in-memory store,
// encode the reply), without storage latency.
func BenchmarkInvokeAgencyGet(b *testing.B) {
	cfg := testConfig(memstore.New(), hostOpts{})
	var a licensing.Agency
	if err := json.Unmarshal([]byte(doaJSON), &a); err != nil {
		b.Fatal(err)
	}
	if _, _, err := cfg.Agencies.PutAgency(context.Background(), &licensing.Principal{Name: admin}, "DOA", a, licensing.Precondition{}); err != nil {
		b.Fatal(err)
	}
	srv := New(cfg)
	env := []byte(`{"Data":{"req":{"Url":"http://localhost/api/agencies/DOA","Method":"GET","Query":{},` +
		`"Headers":{"X-MS-CLIENT-PRINCIPAL-NAME":["` + admin + `"]},"Params":{"id":"DOA"}}},"Metadata":{}}`)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/Agencies", bytes.NewReader(env))
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
		io.Copy(io.Discard, rec.Body)
	}
}

// BenchmarkIntakeInMemory measures the handler's own cost of one purchase
// order (envelope, JSON and base64 decoding, validation, content checks,
// storing two documents and the request) with in-memory stores.
func BenchmarkIntakeInMemory(b *testing.B) {
	srv, _ := intakeServer(b, 0)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		body := poJSON(func(m map[string]any) { m["poNumber"] = fmt.Sprintf("PO-%d", i) })
		r := postIntake(b, srv, "PurchaseOrders", "purchase-orders", nil, "application/json", body, "pat@doa.example.gov")
		if r.status != 201 {
			b.Fatalf("status %d: %s", r.status, r.body)
		}
	}
}
