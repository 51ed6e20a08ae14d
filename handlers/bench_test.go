package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/memstore"
)

// BenchmarkInvokeAgencyGet measures the handler's own cost of one HTTP
// invocation (decode the envelope, authorize, read an in-memory store,
// encode the reply), without storage latency.
func BenchmarkInvokeAgencyGet(b *testing.B) {
	store := memstore.New()
	svc := licensing.NewService(licensing.ServiceConfig{Agencies: store, Runs: store, Admins: []string{admin}})
	var a licensing.Agency
	if err := json.Unmarshal([]byte(doaJSON), &a); err != nil {
		b.Fatal(err)
	}
	if _, _, err := svc.PutAgency(context.Background(), &licensing.Principal{Name: admin}, "DOA", a, licensing.Precondition{}); err != nil {
		b.Fatal(err)
	}
	srv := New(Config{Service: svc})
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
