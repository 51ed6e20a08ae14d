package funchost

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHTTPRouting(t *testing.T) {
	env := newEnv(t, "testdata/app", nil)
	tests := []struct {
		method, path string
		status       int
		function     string // "" when the handler must not be invoked
		params       map[string]string
	}{
		{"GET", "/api/agencies", 200, "Agencies", map[string]string{}},
		{"GET", "/api/agencies/", 200, "Agencies", map[string]string{}},
		{"GET", "/api/agencies/42", 200, "Agencies", map[string]string{"id": "42"}},
		{"PUT", "/api/agencies/DOJ", 200, "Agencies", map[string]string{"id": "DOJ"}},
		{"GET", "/API/Agencies/7", 200, "Agencies", map[string]string{"id": "7"}},
		{"POST", "/api/agencies/42", 404, "", nil}, // method not listed: the host answers 404
		{"DELETE", "/api/agencies", 404, "", nil},
		{"GET", "/api/agencies/42/extra", 404, "", nil},
		{"GET", "/agencies/42", 404, "", nil}, // no route prefix
		{"GET", "/api", 404, "", nil},
		{"GET", "/api/service-requests", 200, "ServiceRequests", map[string]string{}},
		{"DELETE", "/api/service-requests/SR-1", 200, "ServiceRequests", map[string]string{"id": "SR-1"}}, // no methods: all allowed
		{"POST", "/api/service-requests/SR-1/confirm", 200, "ServiceRequests", map[string]string{"id": "SR-1", "action": "confirm"}},
		{"GET", "/api/service-requests/SR%2F1/confirm", 200, "ServiceRequests", map[string]string{"id": "SR/1", "action": "confirm"}},
		{"GET", "/api/items/12", 200, "Items", map[string]string{"id": "12"}},
		{"GET", "/api/items/abc", 404, "", nil}, // {id:int}
		{"GET", "/api/reports/licenses", 200, "LicenseReports", map[string]string{}},
		{"GET", "/api/reports/usage", 200, "OtherReports", map[string]string{"kind": "usage"}},
		{"GET", "/api/reports/2026", 404, "", nil}, // {kind:alpha}
		{"POST", "/api/purchase-orders", 200, "PurchaseOrders", map[string]string{}},
		{"GET", "/api/nothing", 404, "", nil},
		{"GET", "/api/Work", 404, "", nil}, // a queue function has no route
	}
	for _, tt := range tests {
		before := len(env.fake.calls(""))
		rec := httptest.NewRecorder()
		env.host.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, rec.Code, tt.status)
			continue
		}
		calls := env.fake.calls("")
		if tt.function == "" {
			if len(calls) != before {
				t.Errorf("%s %s: the handler was invoked (%s), want no invocation", tt.method, tt.path, calls[len(calls)-1].Function)
			}
			continue
		}
		if len(calls) != before+1 {
			t.Errorf("%s %s: %d invocations, want 1", tt.method, tt.path, len(calls)-before)
			continue
		}
		got := calls[len(calls)-1]
		if got.Function != tt.function {
			t.Errorf("%s %s: invoked %s, want %s", tt.method, tt.path, got.Function, tt.function)
		}
		var req struct{ Params map[string]string }
		if err := json.Unmarshal(got.Data["req"], &req); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.params, req.Params); diff != "" {
			t.Errorf("%s %s: Params (-want +got):\n%s", tt.method, tt.path, diff)
		}
	}

	rec := httptest.NewRecorder()
	env.host.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 {
		t.Errorf("GET /: %d, want the host's 200 home page", rec.Code)
	}
}

// httpReq is Data.req as a handler decodes it.
type httpReq struct {
	URL        string `json:"Url"`
	Method     string
	Query      map[string]string
	Headers    map[string][]string
	Params     map[string]string
	Identities []struct {
		AuthenticationType string
		IsAuthenticated    bool
		Name               *string
		Claims             []struct{ Type, Value string }
	}
	Body *string
}

var guidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestHTTPPayload(t *testing.T) {
	env := newEnv(t, "testdata/app", nil)
	srv := httptest.NewServer(env.host)
	defer srv.Close()

	principal := base64.StdEncoding.EncodeToString([]byte(`{"auth_typ":"aad","name_typ":"name","role_typ":"roles","claims":[{"typ":"name","val":"Ada"},{"typ":"roles","val":"admin"}]}`))
	body := `{"note":"hi"}`
	req, _ := http.NewRequest("POST", srv.URL+"/api/service-requests/SR-9/documents?agency=DOJ&tag=a&tag=b", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	req.Header.Set("X-MS-CLIENT-PRINCIPAL", principal)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}

	got := env.fake.last(t)
	inv, _ := env.host.LastInvocation("ServiceRequests")
	if got.Function != "ServiceRequests" {
		t.Fatalf("invoked %s", got.Function)
	}
	t.Run("headers", func(t *testing.T) {
		id := got.Header.Get("X-Azure-Functions-InvocationId")
		if !guidPattern.MatchString(id) || id != inv.ID {
			t.Errorf("InvocationId header %q: want a GUID equal to the recorded id %q", id, inv.ID)
		}
		if v := got.Header.Get("X-Azure-Functions-HostVersion"); v != DefaultHostVersion {
			t.Errorf("HostVersion header %q", v)
		}
	})
	t.Run("Data.req", func(t *testing.T) {
		raw := got.Data["req"]
		var shape map[string]json.RawMessage
		if err := json.Unmarshal(raw, &shape); err != nil {
			t.Fatal(err)
		}
		if q := shape["Query"]; len(q) == 0 || q[0] != '{' {
			t.Errorf("Query should be a JSON object, got %s", q)
		}
		var r httpReq
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		if want := srv.URL + "/api/service-requests/SR-9/documents?agency=DOJ&tag=a&tag=b"; r.URL != want {
			t.Errorf("Url %q, want %q", r.URL, want)
		}
		if r.Method != "POST" {
			t.Errorf("Method %q", r.Method)
		}
		if diff := cmp.Diff(map[string]string{"agency": "DOJ", "tag": "a,b"}, r.Query); diff != "" {
			t.Errorf("Query (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"one", "two"}, r.Headers["X-Multi"]); diff != "" {
			t.Errorf("Headers[X-Multi] (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"application/json"}, r.Headers["Content-Type"]); diff != "" {
			t.Errorf("Headers[Content-Type] (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]string{"id": "SR-9", "action": "documents"}, r.Params); diff != "" {
			t.Errorf("Params (-want +got):\n%s", diff)
		}
		if r.Body == nil || *r.Body != body {
			t.Errorf("Body %v, want %q", r.Body, body)
		}
		if len(r.Identities) != 1 || r.Identities[0].AuthenticationType != "aad" || r.Identities[0].Name == nil || *r.Identities[0].Name != "Ada" || len(r.Identities[0].Claims) != 2 {
			t.Errorf("Identities %+v, want one aad identity named Ada with 2 claims", r.Identities)
		}
	})
	t.Run("Metadata", func(t *testing.T) {
		m := got.Metadata
		// Route values are strings, which the host serialises once more.
		if s := unquote(t, m["id"]); s != `"SR-9"` {
			t.Errorf("Metadata.id decodes to %s, want the quoted string \"SR-9\"", s)
		}
		if s := unquote(t, unquote2(t, m["action"])); s != "documents" {
			t.Errorf("Metadata.action unquoted twice = %q", s)
		}
		var q map[string]string
		if err := json.Unmarshal(m["Query"], &q); err != nil || q["agency"] != "DOJ" {
			t.Errorf("Metadata.Query %s should be an object with agency DOJ", m["Query"])
		}
		var h map[string]string
		if err := json.Unmarshal(m["Headers"], &h); err != nil || h["X-Multi"] != "one,two" {
			t.Errorf("Metadata.Headers %s should be an object of joined strings", m["Headers"])
		}
		var sys struct{ MethodName, UtcNow, RandGuid string }
		if err := json.Unmarshal(m["sys"], &sys); err != nil {
			t.Fatal(err)
		}
		if sys.MethodName != "ServiceRequests" || sys.UtcNow != "2026-11-23T09:00:00Z" || !guidPattern.MatchString(sys.RandGuid) {
			t.Errorf("sys = %+v", sys)
		}
	})

	bodyCases := []struct {
		name        string
		contentType string
		body        []byte
		chunked     bool
		want        *string
		wantTE      bool
	}{
		{name: "text", contentType: "text/plain", body: []byte("hello"), want: ptr("hello")},
		{name: "octet-stream is base64", contentType: "application/octet-stream", body: []byte{0, 1, 2, 255}, want: ptr("AAEC/w==")},
		{name: "empty body is omitted", contentType: "application/json", body: nil, want: nil},
		{name: "chunked body is omitted", contentType: "application/json", body: []byte(`{"a":1}`), chunked: true, want: nil, wantTE: true},
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("file", "po.pdf")
	_, _ = fw.Write([]byte("%PDF-1.4 \x00\x01"))
	mw.Close()
	bodyCases = append(bodyCases, struct {
		name        string
		contentType string
		body        []byte
		chunked     bool
		want        *string
		wantTE      bool
	}{name: "multipart is base64", contentType: mw.FormDataContentType(), body: mp.Bytes(), want: ptr(base64.StdEncoding.EncodeToString(mp.Bytes()))})

	for _, bc := range bodyCases {
		t.Run("Body/"+bc.name, func(t *testing.T) {
			var rd io.Reader = bytes.NewReader(bc.body)
			if bc.chunked {
				rd = io.MultiReader(rd) // hides the length: the client sends it chunked
			}
			req, _ := http.NewRequest("POST", srv.URL+"/api/purchase-orders", rd)
			if bc.body == nil {
				req.Body, req.ContentLength = nil, 0
			}
			req.Header.Set("Content-Type", bc.contentType)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var r httpReq
			if err := json.Unmarshal(env.fake.last(t).Data["req"], &r); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(bc.want, r.Body); diff != "" {
				t.Errorf("Body (-want +got):\n%s", diff)
			}
			if _, te := r.Headers["Transfer-Encoding"]; te != bc.wantTE {
				t.Errorf("Transfer-Encoding header present = %v, want %v", te, bc.wantTE)
			}
		})
	}
}

// unquote2 decodes a JSON string whose content is itself JSON, returning
// the inner JSON text.
func unquote2(t *testing.T, raw json.RawMessage) json.RawMessage {
	t.Helper()
	return json.RawMessage(unquote(t, raw))
}

func TestHTTPResponse(t *testing.T) {
	tests := []struct {
		name        string
		reply       reply
		status      int
		body        string
		contentType string
		header      [2]string // name, value
	}{
		{
			name:   "object body, numeric status, headers",
			reply:  ok(`{"Outputs": {"res": {"statusCode": 201, "body": {"id": "A1", "n": 2}, "headers": {"Location": "/api/agencies/A1"}}}}`),
			status: 201, body: `{"id":"A1","n":2}`, contentType: "application/json; charset=utf-8", header: [2]string{"Location", "/api/agencies/A1"},
		},
		{
			name:   "string status and string body",
			reply:  ok(`{"Outputs": {"res": {"statusCode": "404", "body": "no such agency"}}}`),
			status: 404, body: "no such agency", contentType: "text/plain; charset=utf-8",
		},
		{
			name:   "capitalised keys and a content type",
			reply:  ok(`{"outputs": {"Res": {"StatusCode": "202", "Body": "a,b\n1,2\n", "Headers": {"Content-Type": "text/csv"}}}, "logs": []}`),
			status: 202, body: "a,b\n1,2\n", contentType: "text/csv",
		},
		{
			name:   "status instead of statusCode",
			reply:  ok(`{"Outputs": {"res": {"status": 409, "body": "conflict"}}}`),
			status: 409, body: "conflict", contentType: "text/plain; charset=utf-8",
		},
		{
			name:   "res written as a JSON string holding an object",
			reply:  ok(`{"Outputs": {"res": "{\"statusCode\": 200, \"body\": \"fine\"}"}}`),
			status: 200, body: "fine", contentType: "text/plain; charset=utf-8",
		},
		{name: "no res: 200, empty", reply: ok(`{"Outputs": {}}`), status: 200},
		{name: "handler 500: host 500, empty", reply: reply{status: 500, body: `{"Outputs": {"res": {"statusCode": 200, "body": "lost"}}, "Logs": ["lost log"]}`}, status: 500},
		{name: "handler 400: host 500", reply: reply{status: 400, body: `{"Outputs": {"res": {"statusCode": 400, "body": "bad"}}}`}, status: 500},
		{name: "res not an object", reply: ok(`{"Outputs": {"res": "hello"}}`), status: 500},
		{name: "res with a bad status", reply: ok(`{"Outputs": {"res": {"statusCode": "teapot"}}}`), status: 500},
		{name: "reply not JSON-typed (host issue #6462)", reply: reply{status: 200, contentType: "text/plain; charset=utf-8", body: `{"Outputs": {"res": {"statusCode": 200}}}`}, status: 500},
		{name: "empty 2xx reply", reply: ok(""), status: 500},
		{name: "reply not JSON", reply: ok("<html>"), status: 500},
	}
	env := newEnv(t, "testdata/app", nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.fake.setReply(func(received) reply { return tt.reply })
			rec := httptest.NewRecorder()
			env.host.ServeHTTP(rec, httptest.NewRequest("GET", "/api/agencies/A1", nil))
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Body.String(); got != tt.body {
				t.Errorf("body %q, want %q", got, tt.body)
			}
			if got := rec.Header().Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if tt.header[0] != "" && rec.Header().Get(tt.header[0]) != tt.header[1] {
				t.Errorf("header %s = %q, want %q", tt.header[0], rec.Header().Get(tt.header[0]), tt.header[1])
			}
			inv, _ := env.host.LastInvocation("Agencies")
			if inv.Succeeded != (tt.status != 500) {
				t.Errorf("Succeeded = %v (err %v)", inv.Succeeded, inv.Err)
			}
			if tt.reply.status >= 300 && (len(inv.Logs) > 0 || len(inv.Outputs) > 0) {
				t.Errorf("a non-2xx reply's Logs and Outputs must be dropped, got %v %v", inv.Logs, inv.Outputs)
			}
		})
	}
}

func TestHTTPLogs(t *testing.T) {
	env := newEnv(t, "testdata/app", nil)
	env.fake.setReply(func(r received) reply {
		return ok(`{"Outputs": {"res": {"statusCode": 200}}, "Logs": ["first line", "second line", 42]}`)
	})
	rec := httptest.NewRecorder()
	env.host.ServeHTTP(rec, httptest.NewRequest("GET", "/api/agencies", nil))
	inv, _ := env.host.LastInvocation("Agencies")
	if diff := cmp.Diff([]string{"first line", "second line", "42"}, inv.Logs); diff != "" {
		t.Errorf("Logs (-want +got):\n%s", diff)
	}
	var found int
	for _, line := range strings.Split(env.logs.String(), "\n") {
		if strings.Contains(line, "level=INFO") && strings.Contains(line, "function=Agencies") && strings.Contains(line, "invocationId="+inv.ID) &&
			(strings.Contains(line, `msg="first line"`) || strings.Contains(line, `msg="second line"`) || strings.Contains(line, "msg=42")) {
			found++
		}
	}
	if found != 3 {
		t.Errorf("found %d of 3 log entries at INFO with function and invocation id in:\n%s", found, env.logs.String())
	}

	env.fake.setReply(func(r received) reply {
		return reply{status: 500, body: `{"Logs": ["must not appear"]}`}
	})
	env.host.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/agencies", nil))
	if strings.Contains(env.logs.String(), "must not appear") {
		t.Error("the Logs of a failed invocation were logged; the host drops them")
	}
	if !strings.Contains(env.logs.String(), "Failed") {
		t.Error("the failure itself should be logged")
	}
}

func TestForwarding(t *testing.T) {
	type seen struct {
		method, path, query, invocationID, body string
	}
	var got seen
	fake := &fakeHandler{}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/download/{name}", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("X-Azure-Functions-InvocationId"), string(b)}
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		w.Header().Set("Content-Disposition", `attachment; filename="`+r.PathValue("name")+`"`)
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte{'P', 'K', 3, 4, 0, 0xff})
	})
	mux.Handle("/", fake)
	env := newEnv(t, "testdata/forward", mux)

	rec := httptest.NewRecorder()
	env.host.ServeHTTP(rec, httptest.NewRequest("GET", "/api/download/report.xlsx?agency=DOJ", nil))
	if rec.Code != http.StatusAccepted || !bytes.Equal(rec.Body.Bytes(), []byte{'P', 'K', 3, 4, 0, 0xff}) {
		t.Errorf("forwarded response %d %q, want 202 and the bytes verbatim", rec.Code, rec.Body.Bytes())
	}
	if cd := rec.Header().Get("Content-Disposition"); cd != `attachment; filename="report.xlsx"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	inv, _ := env.host.LastInvocation("Download")
	if got.method != "GET" || got.path != "/api/download/report.xlsx" || got.query != "agency=DOJ" || got.invocationID != inv.ID || !inv.Forwarded {
		t.Errorf("the handler saw %+v (invocation %+v), want the raw request at its /api path", got, inv)
	}

	// A function with another binding keeps the payload protocol.
	rec = httptest.NewRecorder()
	env.host.ServeHTTP(rec, httptest.NewRequest("POST", "/api/intake", strings.NewReader("x")))
	if rec.Code != 200 || rec.Body.String() != "Intake" {
		t.Errorf("Intake: %d %q, want the payload protocol's 200 Intake", rec.Code, rec.Body.String())
	}
	if c := fake.calls("Intake"); len(c) != 1 || c[0].Data["req"] == nil {
		t.Errorf("Intake should arrive as a payload at /Intake, got %v", c)
	}
}
