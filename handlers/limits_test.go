package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// bigPOJSON is a purchase order as JSON of about size bytes, most of it one
// document's base64.
func bigPOJSON(size int) []byte {
	return poJSON(func(m map[string]any) {
		m["documents"] = []map[string]string{{"kind": "purchase-order", "fileName": "PO.pdf", "contentType": "application/pdf",
			"contentBase64": strings.Repeat("JVBE", size/4)}}
	})
}

// bigPOForm is a purchase order as a multipart form whose purchaseOrder
// file has size bytes.
func bigPOForm(size int) (string, []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("agency", "DOA")
	w.WriteField("poNumber", "PO-BIG")
	fw, _ := w.CreateFormFile("purchaseOrder", "PO.pdf")
	fw.Write(pdfBytes)
	fw.Write(make([]byte, size-len(pdfBytes)))
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

// postOverHTTP sends env to the server's function over a real connection,
// as the host does, and reads the reply.
func postOverHTTP(t *testing.T, url, function string, env []byte) (int, invocationReply) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/"+function, bytes.NewReader(env))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Azure-Functions-InvocationId", "11111111-2222-4333-8444-555555555555")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("the host got no reply: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out invocationReply
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("reply Content-Type %q, the host reads only JSON: %s", resp.Header.Get("Content-Type"), raw)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("reply is not the invocation JSON: %v\n%.300s", err, raw)
	}
	return resp.StatusCode, out
}

// TestOversizedRequestsAnswer413 sends purchase orders over MAX_REQUEST_MB
// (the default 20 MB) as the host sends them: whether the envelope is over
// the handler's invocation limit (45 MB of JSON, 31 MB of multipart, which
// the host sends as base64) or under it, the caller gets 413 with the JSON
// error inside a normal reply, and nothing is stored.
func TestOversizedRequestsAnswer413(t *testing.T) {
	const mb = 1 << 20
	formCT, form31 := bigPOForm(31 * mb)
	formCT21, form21 := bigPOForm(21 * mb)
	tests := []struct {
		name        string
		contentType string
		body        []byte
	}{
		{"45 MB of JSON, over the invocation limit", "application/json", bigPOJSON(45 * mb)},
		{"31 MB multipart, over the invocation limit", formCT, form31},
		{"25 MB of JSON, under the invocation limit", "application/json", bigPOJSON(25 * mb)},
		{"21 MB multipart, under the invocation limit", formCT21, form21},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, store := intakeServer(t, 0)
			ts := httptest.NewServer(srv)
			defer ts.Close()
			env := postEnvelope("purchase-orders", nil, tt.contentType, tt.body, "pat@doa.example.gov")
			t.Logf("body %d bytes, envelope %d bytes (invocation limit %d)", len(tt.body), len(env), srv.maxBytes)
			hostStatus, out := postOverHTTP(t, ts.URL, "PurchaseOrders", env)
			if hostStatus != http.StatusOK || out.Outputs.Res == nil {
				t.Fatalf("host status %d, res %v: an HTTP function answers the host 200 with res", hostStatus, out.Outputs.Res)
			}
			res := out.Outputs.Res
			if res.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("status = %d, want 413: %.300s", res.StatusCode, res.Body)
			}
			var e errorBody
			if err := json.Unmarshal([]byte(res.Body), &e); err != nil || e.Error.Code != licensing.TooLarge || !strings.Contains(e.Error.Message, "20 MB") {
				t.Errorf("body = %s, want the JSON error too-large naming the 20 MB limit", res.Body)
			}
			if !strings.HasPrefix(res.Headers["Content-Type"], "application/json") {
				t.Errorf("Content-Type = %q", res.Headers["Content-Type"])
			}
			list, _ := store.ListRequests(context.Background(), licensing.RequestFilter{})
			if len(list) != 0 || len(store.Files()) != 0 || len(out.Outputs.Steps) != 0 {
				t.Errorf("a refused request wrote %d requests, %d files, %d steps", len(list), len(store.Files()), len(out.Outputs.Steps))
			}
			// The connection is still usable: the handler read the rest of
			// the envelope instead of resetting it.
			if hostStatus, _ := postOverHTTP(t, ts.URL, "PurchaseOrders", postEnvelope("purchase-orders", nil, "application/json", poJSON(nil), "pat@doa.example.gov")); hostStatus != http.StatusOK {
				t.Errorf("next invocation: host status %d", hostStatus)
			}
		})
	}
}

// TestOversizedQueueInvocationFails checks that an envelope over the limit
// still fails a queue invocation, so the host retries and then poisons it.
func TestOversizedQueueInvocationFails(t *testing.T) {
	srv, _ := intakeServer(t, 1<<20)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	msg, _ := json.Marshal(strings.Repeat("x", int(srv.maxBytes)))
	env := []byte(`{"Data":{"msg":` + string(msg) + `},"Metadata":{"DequeueCount":"1"}}`)
	hostStatus, out := postOverHTTP(t, ts.URL, "ActivationSteps", env)
	if hostStatus < 300 || out.Outputs.Res != nil {
		t.Errorf("host status %d, outputs %+v: a queue invocation over the limit must fail", hostStatus, out.Outputs)
	}
}

// TestEnvelopeAtTheLimit checks the limit's edge, with the host's
// Content-Length and without one (chunked): an envelope of exactly
// MaxInvocationBytes is read, one byte more is refused.
func TestEnvelopeAtTheLimit(t *testing.T) {
	env := postEnvelope("purchase-orders", nil, "application/json", poJSON(nil), "pat@doa.example.gov")
	for _, sized := range []bool{true, false} {
		for _, tt := range []struct {
			limit int64
			want  int
		}{{int64(len(env)), http.StatusCreated}, {int64(len(env)) - 1, http.StatusRequestEntityTooLarge}} {
			srv, _ := intakeServer(t, 0)
			srv.maxBytes = tt.limit
			req := httptest.NewRequest(http.MethodPost, "/PurchaseOrders", bytes.NewReader(env))
			if !sized {
				req.ContentLength = -1
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			var out invocationReply
			json.Unmarshal(rec.Body.Bytes(), &out)
			if rec.Code != http.StatusOK || out.Outputs.Res == nil || out.Outputs.Res.StatusCode != tt.want {
				t.Errorf("Content-Length sent %v, limit %d for %d bytes: host %d, want res %d: %.200s", sized, tt.limit, len(env), rec.Code, tt.want, rec.Body.String())
			}
		}
	}
}

// BenchmarkOversizedEnvelope measures what refusing a 45 MB purchase order
// costs the handler: with the host's Content-Length it is refused without
// being held; without one (chunked), it is read up to the limit first.
func BenchmarkOversizedEnvelope(b *testing.B) {
	srv, _ := intakeServer(b, 0)
	env := postEnvelope("purchase-orders", nil, "application/json", bigPOJSON(45<<20), "pat@doa.example.gov")
	for _, sized := range []bool{true, false} {
		name := "content-length"
		if !sized {
			name = "chunked"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(env)))
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/PurchaseOrders", bytes.NewReader(env))
				if !sized {
					req.ContentLength = -1
				}
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"statusCode":413`) {
					b.Fatalf("%d %.200s", rec.Code, rec.Body.String())
				}
			}
		})
	}
}
