package handlers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var (
	pdfBytes = []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
	emlBytes = []byte("From: Microsoft <msvl@microsoft.example>\r\nTo: osm@doa.example.gov\r\nSubject: Activate\r\nDate: Mon, 2 Nov 2026 08:00:00 +0000\r\n\r\nSign Up or Sign In.\r\n")
)

// intakeServer is a Server over in-memory stores with DOA configured, on a
// clock that stands still.
func intakeServer(t testing.TB, maxRequest int64) (*Server, *memstore.Store) {
	t.Helper()
	store := memstore.New()
	steps := &fakes.Steps{}
	cfg := testConfig(store, hostOpts{steps: steps})
	cfg.MaxRequestBytes, cfg.Logger = maxRequest, slog.New(slog.DiscardHandler)
	doa := licensing.Agency{ID: "DOA", Name: "Administration", Contacts: []string{"x@doa.example.gov"}, Delegates: []string{"pat@doa.example.gov"},
		Attribution: licensing.AttributionRule{Attribute: licensing.AttrDepartment, Values: []string{"Administration"}}}
	if _, _, err := cfg.Agencies.PutAgency(context.Background(), &licensing.Principal{Name: admin}, "DOA", doa, licensing.Precondition{}); err != nil {
		t.Fatal(err)
	}
	srv := New(cfg)
	queues[srv] = steps
	return srv, store
}

// queues are the step queues of the servers intakeServer made: the
// services queue a request's next step themselves.
var queues = map[*Server]*fakes.Steps{}

// hostReply is the host's view of one invocation.
type hostReply struct {
	hostStatus int
	status     int
	body       string
	headers    map[string]string
	steps      []licensing.Step
}

// postIntake sends body to a function as the host does: multipart and
// octet-stream bodies as base64, other bodies as text.
func postIntake(t testing.TB, srv *Server, function, path string, params map[string]string, contentType string, body []byte, caller string) hostReply {
	t.Helper()
	r := invokeEnvelope(t, srv, function, postEnvelope(path, params, contentType, body, caller))
	if q := queues[srv]; q != nil {
		r.steps = append(r.steps, q.TakeReady()...)
	}
	return r
}

// postEnvelope is the invocation the host sends for a POST of body.
func postEnvelope(path string, params map[string]string, contentType string, body []byte, caller string) []byte {
	enc := string(body)
	if strings.HasPrefix(contentType, "multipart/") || contentType == "application/octet-stream" {
		enc = base64.StdEncoding.EncodeToString(body)
	}
	headers := map[string][]string{"Content-Type": {contentType}}
	if caller != "" {
		headers["X-MS-CLIENT-PRINCIPAL-NAME"] = []string{caller}
	}
	env, _ := json.Marshal(map[string]any{"Data": map[string]any{"req": map[string]any{
		"Url": "https://func.example.net/api/" + path, "Method": "POST", "Query": map[string]string{}, "Headers": headers, "Params": orEmpty(params), "Body": enc,
	}}, "Metadata": map[string]any{}})
	return env
}

// getFrom sends a GET to a function as the host does; caller "" sends no
// identity.
func getFrom(t testing.TB, srv *Server, function, path string, params, query map[string]string, caller string) hostReply {
	t.Helper()
	headers := map[string][]string{}
	if caller != "" {
		headers["X-MS-CLIENT-PRINCIPAL-NAME"] = []string{caller}
	}
	env, _ := json.Marshal(map[string]any{"Data": map[string]any{"req": map[string]any{
		"Url": "https://func.example.net/api/" + path, "Method": "GET", "Query": orEmpty(query), "Headers": headers, "Params": orEmpty(params),
	}}, "Metadata": map[string]any{}})
	return invokeEnvelope(t, srv, function, env)
}

// orEmpty returns m, or an empty map for nil.
func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// invokeEnvelope posts an invocation to a function and reads the reply.
func invokeEnvelope(t testing.TB, srv *Server, function string, env []byte) hostReply {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+function, bytes.NewReader(env)))
	var out invocationReply
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("reply: %v: %s", err, rec.Body.String())
	}
	r := hostReply{hostStatus: rec.Code, steps: out.Outputs.Steps}
	if out.Outputs.Res != nil {
		r.status, r.body, r.headers = out.Outputs.Res.StatusCode, out.Outputs.Res.Body, out.Outputs.Res.Headers
	}
	return r
}

func poJSON(mutate func(m map[string]any)) []byte {
	m := map[string]any{
		"agency": "DOA", "poNumber": "4500012345", "reseller": "SHI", "agreement": "a-la-carte", "renewal": false,
		"activationScenario": "new-customer", "termStart": "2026-08-01", "termEnd": "2027-06-30",
		"requester": map[string]string{"name": "Pat Doe", "email": "pat@doa.example.gov"},
		"lines":     []map[string]any{{"sku": "VISIOCLIENT", "quantity": 25}, {"sku": "f8a1db68-be16-40ed-86d5-cb42ce701560", "quantity": "10"}},
		"documents": []map[string]string{
			{"kind": "purchase-order", "fileName": "PO-4500012345.pdf", "contentType": "application/pdf", "contentBase64": base64.StdEncoding.EncodeToString(pdfBytes)},
			{"kind": "activation-email", "fileName": "activation.eml", "contentType": "message/rfc822", "contentBase64": base64.StdEncoding.EncodeToString(emlBytes)},
		},
	}
	if mutate != nil {
		mutate(m)
	}
	b, _ := json.Marshal(m)
	return b
}

func poForm(t testing.TB, withEmail bool) (string, []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, kv := range [][2]string{{"agency", "DOA"}, {"poNumber", "PO-77"}, {"agreement", "enterprise-agreement"}, {"renewal", "on"},
		{"activationScenario", "trial-keep-data"}, {"termStart", "2026-08-01"}, {"requesterName", "Pat Doe"}, {"requesterEmail", "pat@doa.example.gov"}} {
		w.WriteField(kv[0], kv[1])
	}
	w.WriteField("sku", "ENTERPRISEPACK")
	w.WriteField("quantity", "40")
	fw, _ := w.CreateFormFile("purchaseOrder", "../../PO 77.pdf")
	fw.Write(pdfBytes)
	if withEmail {
		fw, _ = w.CreateFormFile("activationEmail", "activation.eml")
		fw.Write(emlBytes)
	}
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

func TestPurchaseOrdersJSON(t *testing.T) {
	srv, store := intakeServer(t, 0)
	r := postIntake(t, srv, "PurchaseOrders", "purchase-orders", nil, "application/json", poJSON(nil), "pat@doa.example.gov")
	if r.hostStatus != 200 || r.status != 201 {
		t.Fatalf("host %d, status %d: %s", r.hostStatus, r.status, r.body)
	}
	var body intakeBody
	json.Unmarshal([]byte(r.body), &body)
	if body.Status != "submitted" || r.headers["Location"] != "/api/service-requests/"+body.ID || body.Message == "" {
		t.Errorf("body %+v headers %v", body, r.headers)
	}
	if len(r.steps) != 1 || r.steps[0] != (licensing.Step{SR: body.ID, Step: "validate"}) {
		t.Errorf("queued steps = %+v", r.steps)
	}
	// An identical retry: 200, the same request, nothing queued (the first
	// answer queued its step), nothing new stored.
	files := len(store.Files())
	again := postIntake(t, srv, "PurchaseOrders", "purchase-orders", nil, "application/json", poJSON(nil), "pat@doa.example.gov")
	var body2 intakeBody
	json.Unmarshal([]byte(again.body), &body2)
	if again.status != 200 || body2.ID != body.ID || len(store.Files()) != files || len(again.steps) != 0 {
		t.Errorf("retry: %d %s, files %d→%d, steps %v", again.status, body2.ID, files, len(store.Files()), again.steps)
	}
	// Same PO, other content: 409 and no step.
	other := postIntake(t, srv, "PurchaseOrders", "purchase-orders", nil, "application/json",
		poJSON(func(m map[string]any) { m["reseller"] = "CDW" }), "pat@doa.example.gov")
	if other.status != 409 || len(other.steps) != 0 {
		t.Errorf("conflict: %d, steps %v: %s", other.status, other.steps, other.body)
	}
}

func TestPurchaseOrdersMultipart(t *testing.T) {
	srv, _ := intakeServer(t, 0)
	ct, body := poForm(t, false)
	r := postIntake(t, srv, "PurchaseOrders", "purchase-orders", nil, ct, body, "pat@doa.example.gov")
	var b intakeBody
	json.Unmarshal([]byte(r.body), &b)
	if r.status != 201 || b.Status != "needs-information" || fmt.Sprint(b.Missing) != "[activation-email]" || !strings.Contains(b.Message, "activation email") {
		t.Fatalf("%d %+v", r.status, b)
	}
	if b.Request.Documents[0].FileName != "PO 77.pdf" || !b.Request.Renewal || b.Request.TermEnd.String() != "2029-07-31" {
		t.Errorf("decoded request: %+v", b.Request)
	}
	if len(r.steps) != 1 || r.steps[0].Step != "notify" {
		t.Errorf("steps = %v", r.steps)
	}
	// Add the missing email through the documents endpoint, as a form.
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile("activationEmail", "activation.eml")
	fw.Write(emlBytes)
	w.Close()
	add := postIntake(t, srv, "ServiceRequests", "service-requests/"+b.ID+"/documents", map[string]string{"id": b.ID, "action": "documents"},
		w.FormDataContentType(), buf.Bytes(), "pat@doa.example.gov")
	var added intakeBody
	json.Unmarshal([]byte(add.body), &added)
	if add.status != 200 || added.Status != "submitted" || len(add.steps) != 1 || add.steps[0].Step != "validate" {
		t.Errorf("documents: %d %s steps %v: %s", add.status, added.Status, add.steps, add.body)
	}
}

func TestPurchaseOrdersBadInput(t *testing.T) {
	formCT, form := poForm(t, true)
	tests := []struct {
		name        string
		contentType string
		body        []byte
		caller      string
		want        int
		field       string
	}{
		{"malformed JSON", "application/json", []byte(`{"agency": "DOA",`), "pat@doa.example.gov", 400, ""},
		{"not JSON at all", "application/json", []byte(`PO 4500012345 for 25 Visio`), "pat@doa.example.gov", 400, ""},
		{"unsupported type", "text/plain", []byte(`hello`), "pat@doa.example.gov", 400, ""},
		{"empty body", "application/json", nil, "pat@doa.example.gov", 400, ""},
		{"multipart without boundary", "multipart/form-data", form, "pat@doa.example.gov", 400, ""},
		{"cut-short multipart", formCT, form[:len(form)/2], "pat@doa.example.gov", 400, ""},
		{"form without its closing boundary", formCT, form[:bytes.LastIndex(form, []byte("--"+strings.TrimPrefix(formCT, "multipart/form-data; boundary=")))], "pat@doa.example.gov", 400, ""},
		{"unknown field", "application/json", poJSON(func(m map[string]any) { m["discount"] = 10 }), "pat@doa.example.gov", 422, "discount"},
		{"quantity is a float", "application/json", poJSON(func(m map[string]any) { m["lines"] = []map[string]any{{"sku": "VISIOCLIENT", "quantity": 2.5}} }), "pat@doa.example.gov", 422, "lines[0].quantity"},
		{"quantity is huge", "application/json", poJSON(func(m map[string]any) {
			m["lines"] = []map[string]any{{"sku": "VISIOCLIENT", "quantity": json.Number("1e400")}}
		}), "pat@doa.example.gov", 422, "lines[0].quantity"},
		{"bad base64", "application/json", poJSON(func(m map[string]any) {
			m["documents"] = []map[string]string{{"kind": "purchase-order", "contentBase64": "%%%"}}
		}), "pat@doa.example.gov", 422, "documents[0].contentBase64"},
		{"renewal as text", "application/json", poJSON(func(m map[string]any) { m["renewal"] = "yes" }), "pat@doa.example.gov", 422, "renewal"},
		{"hostile strings", "application/json", poJSON(func(m map[string]any) {
			m["poNumber"] = "<script>alert(1)</script>"
			m["reseller"] = "=cmd|' /C calc'!A0\u0000"
			m["requester"] = map[string]string{"name": "Robert'); DROP TABLE Students;--", "email": "pat@doa.example.gov\r\nBcc: all@x.gov"}
		}), "pat@doa.example.gov", 422, "poNumber"},
		{"no identity", "application/json", poJSON(nil), "", 401, ""},
		{"another agency's delegate", "application/json", poJSON(func(m map[string]any) { m["agency"] = "DOA" }), "lee@det.example.gov", 403, ""},
		{"too large", "application/json", poJSON(func(m map[string]any) {
			m["documents"] = []map[string]string{{"kind": "purchase-order", "contentType": "application/pdf",
				"contentBase64": base64.StdEncoding.EncodeToString(append(append([]byte{}, pdfBytes...), make([]byte, 2<<20)...))}}
		}), "pat@doa.example.gov", 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, store := intakeServer(t, 1<<20)
			ct := tt.contentType
			r := postIntake(t, srv, "PurchaseOrders", "purchase-orders", nil, ct, tt.body, tt.caller)
			if r.hostStatus != 200 || r.status != tt.want {
				t.Fatalf("host %d, status %d, want %d: %s", r.hostStatus, r.status, tt.want, r.body)
			}
			if tt.field != "" && !strings.Contains(r.body, `"field":"`+tt.field+`"`) {
				t.Errorf("no field error for %s: %s", tt.field, r.body)
			}
			if strings.Contains(r.body, "<script>") && !strings.Contains(r.body, `\u003cscript\u003e`) {
				t.Errorf("the error echoes markup unescaped: %s", r.body)
			}
			list, _ := store.ListRequests(context.Background(), licensing.RequestFilter{})
			if len(list) != 0 || len(store.Files()) != 0 || len(r.steps) != 0 {
				t.Errorf("a rejected request wrote %d requests, %d files, %d steps", len(list), len(store.Files()), len(r.steps))
			}
		})
	}
}

// FuzzIntake sends arbitrary bodies, as JSON or as a multipart form, to the
// intake: it must never panic, always answer the host 200 with a status,
// and never store anything for a request it refuses.
func FuzzIntake(f *testing.F) {
	formCT, form := poForm(f, true)
	boundary := strings.TrimPrefix(formCT, "multipart/form-data; boundary=")
	f.Add(false, poJSON(nil))
	f.Add(false, poJSON(func(m map[string]any) { m["lines"] = "VISIOCLIENT" }))
	f.Add(false, []byte(`{"documents":[{"kind":"purchase-order","contentBase64":"JVBERi0="}]}`))
	f.Add(false, []byte(`[]`))
	f.Add(true, form)
	f.Add(true, []byte("--"+boundary+"\r\nContent-Disposition: form-data; name=\"agency\"\r\n\r\nDOA\r\n--"+boundary+"--\r\n"))
	f.Fuzz(func(t *testing.T, multipartBody bool, body []byte) {
		srv, store := intakeServer(t, 1<<20)
		ct := "application/json"
		if multipartBody {
			ct = "multipart/form-data; boundary=" + boundary
		}
		r := postIntake(t, srv, "PurchaseOrders", "purchase-orders", nil, ct, body, "pat@doa.example.gov")
		if r.hostStatus != 200 || r.status == 0 {
			t.Fatalf("host %d status %d", r.hostStatus, r.status)
		}
		if r.status >= 400 {
			list, _ := store.ListRequests(context.Background(), licensing.RequestFilter{})
			if len(list) != 0 || len(store.Files()) != 0 || len(r.steps) != 0 {
				t.Fatalf("refused with %d but stored %d requests, %d files, %d steps", r.status, len(list), len(store.Files()), len(r.steps))
			}
			if r.status >= 500 {
				t.Fatalf("server error %d: %s", r.status, r.body)
			}
		}
	})
}
