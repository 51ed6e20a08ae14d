package handlers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

const admin = "admin@central-it.example.gov"

// testHost plays the Functions host against a Server: it POSTs envelopes
// shaped as the host sends them and reads the replies.
type testHost struct {
	t      *testing.T
	url    string
	stdout *bytes.Buffer
	cfg    Config
	store  *memstore.Store
}

// newTestHost serves a Server over a new in-memory store whose clock ticks
// a second on every read.
func newTestHost(t *testing.T, o hostOpts) *testHost {
	t.Helper()
	if o.now == nil {
		o.now = tickingClock()
	}
	return startHost(t, memstore.New(), o)
}

// startHost serves a Server whose services work on store.
func startHost(t *testing.T, store *memstore.Store, o hostOpts) *testHost {
	t.Helper()
	cfg := testConfig(store, o)
	stdout := &bytes.Buffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(stdout, nil))
	ts := httptest.NewServer(New(cfg))
	t.Cleanup(ts.Close)
	return &testHost{t: t, url: ts.URL, stdout: stdout, cfg: cfg, store: store}
}

// call describes one API request as it reaches the host.
type call struct {
	function string
	method   string
	path     string // after /api/
	params   map[string]string
	query    map[string]string
	headers  map[string]string
	body     string
	caller   string // X-MS-CLIENT-PRINCIPAL-NAME; "" for none
}

// invocationReply is the handler's answer to an HTTP invocation as the host
// reads it: the caller's response, queued steps and the log lines.
type invocationReply struct {
	Outputs struct {
		Res   *hostResponse    `json:"res"`
		Steps []licensing.Step `json:"steps"`
	}
	Logs []string
}

// reply is the host-side view of the handler's answer.
type reply struct {
	hostStatus int
	status     int
	headers    map[string]string
	body       string
	logs       []string
}

func (r reply) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, r.body)
	}
}

func (h *testHost) do(c call) reply {
	h.t.Helper()
	headers := map[string][]string{"Accept": {"application/json"}}
	for k, v := range c.headers {
		headers[k] = []string{v}
	}
	if c.caller != "" {
		headers["X-MS-CLIENT-PRINCIPAL-NAME"] = []string{c.caller}
		headers["X-MS-CLIENT-PRINCIPAL-IDP"] = []string{"aad"}
	}
	if c.body != "" && headers["Content-Type"] == nil {
		headers["Content-Type"] = []string{"application/json"}
	}
	if c.params == nil {
		c.params = map[string]string{}
	}
	if c.query == nil {
		c.query = map[string]string{}
	}
	req := map[string]any{
		"Url":        "http://localhost:7071/api/" + c.path,
		"Method":     c.method,
		"Query":      c.query,
		"Headers":    headers,
		"Params":     c.params,
		"Identities": []any{},
	}
	if c.body != "" {
		req["Body"] = c.body
	}
	meta := map[string]any{"sys": map[string]string{"MethodName": c.function, "UtcNow": "2026-11-23T06:00:00Z", "RandGuid": "00000000-0000-4000-8000-000000000000"}}
	for k, v := range c.params {
		meta[k] = v
	}
	env, _ := json.Marshal(map[string]any{"Data": map[string]any{"req": req}, "Metadata": meta})
	hreq, _ := http.NewRequest(http.MethodPost, h.url+"/"+c.function, bytes.NewReader(env))
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("X-Azure-Functions-InvocationId", "11111111-2222-4333-8444-555555555555")
	hreq.Header.Set("X-Azure-Functions-HostVersion", "4.1040.300.0")
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out invocationReply
	if err := json.Unmarshal(raw, &out); err != nil {
		h.t.Fatalf("reply is not the invocation JSON: %v\n%s", err, raw)
	}
	r := reply{hostStatus: resp.StatusCode, logs: out.Logs}
	if out.Outputs.Res != nil {
		r.status, r.headers, r.body = out.Outputs.Res.StatusCode, out.Outputs.Res.Headers, out.Outputs.Res.Body
	}
	return r
}

const doaJSON = `{
  "name": "Department of Administration",
  "contacts": ["licensing@doa.example.gov"],
  "delegates": ["Pat.Doe@doa.example.gov"],
  "attribution": {"attribute": "department", "values": ["Administration", " DOA "]},
  "delegatedGroups": [{"product": "VISIOCLIENT", "groupId": "6F1C0F55-1B1B-4C4C-9D9D-000000000001"}]
}`

func putDOA(h *testHost, headers map[string]string) reply {
	return h.do(call{function: "Agencies", method: "PUT", path: "agencies/doa", params: map[string]string{"id": "doa"}, body: doaJSON, caller: admin, headers: headers})
}

func TestReadiness(t *testing.T) {
	h := newTestHost(t, hostOpts{})
	resp, err := http.Get(h.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET / = %d, want 200", resp.StatusCode)
	}
	resp, err = http.Post(h.url+"/NoSuchFunction", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /NoSuchFunction = %d, want 404", resp.StatusCode)
	}
}

func TestAgenciesLifecycle(t *testing.T) {
	h := newTestHost(t, hostOpts{})

	created := putDOA(h, nil)
	if created.hostStatus != 200 || created.status != http.StatusCreated {
		t.Fatalf("PUT new agency: host %d, status %d, body %s", created.hostStatus, created.status, created.body)
	}
	if created.headers["Location"] != "/api/agencies/DOA" || created.headers["ETag"] == "" {
		t.Errorf("headers = %v", created.headers)
	}
	if len(created.logs) == 0 {
		t.Error("no Logs lines for the invocation")
	}
	var a licensing.Agency
	created.json(t, &a)
	want := licensing.Agency{
		ID: "DOA", Name: "Department of Administration",
		Contacts:        []string{"licensing@doa.example.gov"},
		Delegates:       []string{"pat.doe@doa.example.gov"},
		Attribution:     licensing.AttributionRule{Attribute: "department", Values: []string{"Administration", "DOA"}},
		DelegatedGroups: []licensing.DelegatedGroup{{Product: "VISIOCLIENT", GroupID: "6f1c0f55-1b1b-4c4c-9d9d-000000000001"}},
		UpdatedBy:       admin,
		ETag:            created.headers["ETag"],
	}
	if diff := cmp.Diff(want, a, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Updated" }, cmp.Ignore())); diff != "" {
		t.Errorf("stored agency (-want +got):\n%s", diff)
	}

	got := h.do(call{function: "Agencies", method: "GET", path: "agencies/doa", params: map[string]string{"id": "doa"}, caller: admin})
	if got.status != 200 || got.headers["ETag"] != created.headers["ETag"] {
		t.Fatalf("GET: %d %v %s", got.status, got.headers, got.body)
	}

	replaced := putDOA(h, map[string]string{"If-Match": created.headers["ETag"]})
	if replaced.status != http.StatusOK || replaced.headers["ETag"] == created.headers["ETag"] {
		t.Fatalf("PUT with current If-Match: %d %v %s", replaced.status, replaced.headers, replaced.body)
	}

	stale := putDOA(h, map[string]string{"If-Match": created.headers["ETag"]})
	if stale.status != http.StatusPreconditionFailed {
		t.Errorf("PUT with stale If-Match = %d, want 412: %s", stale.status, stale.body)
	}
	exists := putDOA(h, map[string]string{"If-None-Match": "*"})
	if exists.status != http.StatusPreconditionFailed {
		t.Errorf("PUT If-None-Match * on existing = %d, want 412", exists.status)
	}

	list := h.do(call{function: "Agencies", method: "GET", path: "agencies", caller: admin})
	var l struct {
		Agencies []licensing.Agency
		Count    int
	}
	list.json(t, &l)
	if list.status != 200 || l.Count != 1 || l.Agencies[0].ID != "DOA" {
		t.Errorf("list: %d %s", list.status, list.body)
	}
}

func TestAgenciesErrors(t *testing.T) {
	h := newTestHost(t, hostOpts{})
	putDOA(h, nil)
	put := func(id, body string, caller string) call {
		return call{function: "Agencies", method: "PUT", path: "agencies/" + id, params: map[string]string{"id": id}, body: body, caller: caller}
	}
	tests := []errorCase{
		{"malformed JSON", put("DET", `{"name": "x",`, admin), 400, "malformed", nil},
		{"not an object", put("DET", `[1,2]`, admin), 400, "malformed", nil},
		{"two documents", put("DET", `{} {}`, admin), 400, "malformed", nil},
		{"wrong content type", call{function: "Agencies", method: "PUT", path: "agencies/DET", params: map[string]string{"id": "DET"}, body: "name=x", caller: admin, headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 400, "malformed", nil},
		{"no body", call{function: "Agencies", method: "PUT", path: "agencies/DET", params: map[string]string{"id": "DET"}, caller: admin}, 400, "malformed", nil},
		{"wrong type", put("DET", `{"name": 5}`, admin), 422, "invalid", []string{"name"}},
		{"unknown field", put("DET", `{"nmae": "x"}`, admin), 422, "invalid", []string{"nmae"}},
		{"every problem at once", put("DET", `{"name": "", "contacts": ["not-an-email", "ok@det.example.gov"], "delegates": ["<script>@x"], "attribution": {"attribute": "favouriteColour", "values": ["x"]}, "delegatedGroups": [{"product": "VISIO CLIENT", "groupId": "abc"}]}`, admin),
			422, "invalid", []string{"name", "contacts[0]", "delegates[0]", "attribution.attribute", "delegatedGroups[0].product", "delegatedGroups[0].groupId"}},
		{"no contacts", put("DET", `{"name": "Det", "attribution": {"attribute": "upnDomain", "values": ["det.example.gov"]}}`, admin), 422, "invalid", []string{"contacts"}},
		{"group rule needs a group", put("DET", `{"name": "Det", "contacts": ["a@det.example.gov"], "attribution": {"attribute": "group", "values": ["x"]}}`, admin), 422, "invalid", []string{"attribution.groupId", "attribution.values"}},
		{"bad domain", put("DET", `{"name": "Det", "contacts": ["a@det.example.gov"], "attribution": {"attribute": "upnDomain", "values": ["../etc/passwd"]}}`, admin), 422, "invalid", []string{"attribution.values[0]"}},
		{"control characters", put("DET", `{"name": "Det\u0000", "contacts": ["a@det.example.gov"], "attribution": {"attribute": "department", "values": ["a\u0007"]}}`, admin), 422, "invalid", []string{"name", "attribution.values[0]"}},
		{"id in body differs", put("DET", `{"id": "DOA", "name": "Det", "contacts": ["a@det.example.gov"], "attribution": {"attribute": "department", "values": ["Det"]}}`, admin), 422, "invalid", []string{"id"}},
		{"bad id in path", put("a/b", `{"name": "Det", "contacts": ["a@det.example.gov"], "attribution": {"attribute": "department", "values": ["Det"]}}`, admin), 422, "invalid", []string{"id"}},
		{"too large", put("DET", `{"name": "`+strings.Repeat("x", 300<<10)+`"}`, admin), 413, "too-large", nil},
		{"get missing", call{function: "Agencies", method: "GET", path: "agencies/NOPE", params: map[string]string{"id": "NOPE"}, caller: admin}, 404, "not-found", nil},
		{"get hostile id", call{function: "Agencies", method: "GET", path: "agencies/x", params: map[string]string{"id": "' or 1 eq 1 or '"}, caller: admin}, 404, "not-found", nil},
		{"no identity", put("DET", doaJSON, ""), 401, "unauthenticated", nil},
		{"no identity on list", call{function: "Agencies", method: "GET", path: "agencies"}, 401, "unauthenticated", nil},
		{"delegate is not admin", put("DOA", doaJSON, "pat.doe@doa.example.gov"), 403, "forbidden", nil},
		{"stranger lists", call{function: "Agencies", method: "GET", path: "agencies", caller: "someone@else.example.gov"}, 403, "forbidden", nil},
		{"put without id", call{function: "Agencies", method: "PUT", path: "agencies", body: doaJSON, caller: admin}, 422, "invalid", nil},
		{"delete not served", call{function: "Agencies", method: "DELETE", path: "agencies/DOA", params: map[string]string{"id": "DOA"}, caller: admin}, 405, "method-not-allowed", nil},
		{"both preconditions", call{function: "Agencies", method: "PUT", path: "agencies/DOA", params: map[string]string{"id": "DOA"}, body: doaJSON, caller: admin, headers: map[string]string{"If-Match": "*", "If-None-Match": "*"}}, 422, "invalid", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, h.do(tt.call), tt.wantStatus, tt.wantCode, tt.wantFields)
		})
	}
	// Nothing was written by any rejected request: only DOA exists, unchanged.
	list, err := h.store.ListAgencies(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != "DOA" || list[0].Name != "Department of Administration" {
		t.Errorf("store after rejected requests = %+v", list)
	}
}

// errorCase is a request that must be refused, and how.
type errorCase struct {
	name       string
	call       call
	wantStatus int
	wantCode   string
	wantFields []string
}

// wantError checks that r is the error answer wantStatus with code
// wantCode, a message, and (unless wantFields is nil) exactly wantFields,
// each with a message.
func wantError(t *testing.T, r reply, wantStatus int, wantCode string, wantFields []string) {
	t.Helper()
	if r.hostStatus != 200 {
		t.Errorf("host status = %d: an HTTP function always answers the host 200", r.hostStatus)
	}
	if r.status != wantStatus {
		t.Fatalf("status = %d, want %d; body %s", r.status, wantStatus, r.body)
	}
	var e errorBody
	r.json(t, &e)
	if string(e.Error.Code) != wantCode || e.Error.Message == "" {
		t.Errorf("error = %+v, want code %q and a message", e.Error, wantCode)
	}
	var fields []string
	for _, f := range e.Error.Fields {
		fields = append(fields, f.Field)
		if len(f.Message) < 10 {
			t.Errorf("field %s: message %q says too little", f.Field, f.Message)
		}
	}
	if wantFields != nil {
		if diff := cmp.Diff(wantFields, fields); diff != "" {
			t.Errorf("fields (-want +got):\n%s\nbody: %s", diff, r.body)
		}
	}
}

func TestPrincipalHeader(t *testing.T) {
	h := newTestHost(t, hostOpts{})
	claims := map[string]any{
		"auth_typ": "aad",
		"name_typ": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
		"role_typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
		"claims": []map[string]string{
			{"typ": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", "val": admin},
			{"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier", "val": "0f1e2d3c-aaaa-bbbb-cccc-000000000001"},
		},
	}
	raw, _ := json.Marshal(claims)
	enc := base64.StdEncoding.EncodeToString(raw)
	tests := []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"client principal only", map[string]string{"X-MS-CLIENT-PRINCIPAL": enc}, 200},
		{"garbage principal", map[string]string{"X-MS-CLIENT-PRINCIPAL": "%%%"}, 401},
		{"principal of a non-admin", map[string]string{"X-MS-CLIENT-PRINCIPAL-NAME": "x@y.example.gov"}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(call{function: "Agencies", method: "GET", path: "agencies", headers: tt.headers})
			if r.status != tt.want {
				t.Errorf("status = %d, want %d: %s", r.status, tt.want, r.body)
			}
		})
	}
}

func TestAnonymousWhenAllowed(t *testing.T) {
	h := newTestHost(t, hostOpts{allowAnonymous: true})
	r := h.do(call{function: "Agencies", method: "PUT", path: "agencies/doa", params: map[string]string{"id": "doa"}, body: doaJSON})
	if r.status != http.StatusCreated {
		t.Fatalf("anonymous PUT with AUTH_ALLOW_ANONYMOUS = %d: %s", r.status, r.body)
	}
	var a licensing.Agency
	r.json(t, &a)
	if !strings.Contains(a.UpdatedBy, "anonymous") {
		t.Errorf("UpdatedBy = %q, want the anonymous caller named", a.UpdatedBy)
	}
}

// failingAgencies is a store whose every call fails with err.
type failingAgencies struct{ err error }

func (f failingAgencies) GetAgency(context.Context, string) (licensing.Agency, error) {
	return licensing.Agency{}, f.err
}
func (f failingAgencies) ListAgencies(context.Context) ([]licensing.Agency, error) {
	return nil, f.err
}
func (f failingAgencies) PutAgency(context.Context, licensing.Agency, licensing.Precondition) (licensing.Agency, bool, error) {
	return licensing.Agency{}, false, f.err
}

func TestStoreFailuresDoNotLeak(t *testing.T) {
	secret := "AccountKey=Eby8vdM02xNOcqFl table Agencies at 10.0.0.7"
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantHeader string
	}{
		{"unavailable", licensing.Wrap("tablestore.getAgency", licensing.Unavailable, "", errors.New(secret)), 503, "Retry-After"},
		{"internal", errors.New(secret), 500, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHost(t, hostOpts{agencies: failingAgencies{tt.err}})
			r := h.do(call{function: "Agencies", method: "GET", path: "agencies/DOA", params: map[string]string{"id": "DOA"}, caller: admin})
			if r.hostStatus != 200 || r.status != tt.wantStatus {
				t.Fatalf("host %d status %d, want 200 and %d", r.hostStatus, r.status, tt.wantStatus)
			}
			if strings.Contains(r.body, "Eby8") || strings.Contains(r.body, "10.0.0.7") {
				t.Errorf("the caller sees internals: %s", r.body)
			}
			if tt.wantHeader != "" && r.headers[tt.wantHeader] == "" {
				t.Errorf("no %s header: %v", tt.wantHeader, r.headers)
			}
			if !strings.Contains(strings.Join(r.logs, "\n"), "10.0.0.7") {
				t.Errorf("the invocation log should keep the detail for admins: %v", r.logs)
			}
		})
	}
}

func TestRuns(t *testing.T) {
	h := newTestHost(t, hostOpts{})
	ctx := context.Background()
	for _, fn := range []string{"PayrollReport", "UsageAudit", "PayrollReport"} {
		rr := h.cfg.Runs.Start(ctx, fn, "timer", nil)
		rr.Add("agencies", 3)
		rr.Finish(ctx, nil, false, "")
	}
	tests := []struct {
		name      string
		query     map[string]string
		caller    string
		wantCode  int
		wantCount int
	}{
		{"all", nil, admin, 200, 3},
		{"one function", map[string]string{"function": "PayrollReport"}, admin, 200, 2},
		{"limit", map[string]string{"limit": "1"}, admin, 200, 1},
		{"since tomorrow", map[string]string{"since": "2026-11-24"}, admin, 200, 0},
		{"bad limit", map[string]string{"limit": "ten"}, admin, 422, 0},
		{"negative limit", map[string]string{"limit": "-1"}, admin, 422, 0},
		{"bad since", map[string]string{"since": "last week"}, admin, 422, 0},
		{"not an admin", nil, "pat@doa.example.gov", 403, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(call{function: "Runs", method: "GET", path: "runs", query: tt.query, caller: tt.caller})
			if r.status != tt.wantCode {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.wantCode, r.body)
			}
			if tt.wantCode != 200 {
				return
			}
			var got struct {
				Runs  []licensing.Run
				Count int
			}
			r.json(t, &got)
			if got.Count != tt.wantCount || len(got.Runs) != tt.wantCount {
				t.Fatalf("count = %d, want %d", got.Count, tt.wantCount)
			}
			for i := 1; i < len(got.Runs); i++ {
				if got.Runs[i].Started.After(got.Runs[i-1].Started) {
					t.Error("runs are not newest first")
				}
			}
			if len(got.Runs) > 0 && (got.Runs[0].Outcome != licensing.RunSucceeded || got.Runs[0].Counts["agencies"] != 3 || got.Runs[0].Ended == nil) {
				t.Errorf("run = %+v", got.Runs[0])
			}
		})
	}
}

func TestAgencyRulesMustNotOverlap(t *testing.T) {
	h := newTestHost(t, hostOpts{})
	putDOA(h, nil)
	body := `{"name": "Shared", "contacts": ["a@x.example.gov"], "attribution": {"attribute": "department", "values": ["Finance", "  administration "]}}`
	r := h.do(call{function: "Agencies", method: "PUT", path: "agencies/DET", params: map[string]string{"id": "DET"}, body: body, caller: admin})
	if r.status != 422 || !strings.Contains(r.body, `attribution.values[1]`) || !strings.Contains(r.body, "DOA") {
		t.Errorf("overlapping rule: %d %s", r.status, r.body)
	}
	// Replacing an agency with its own values is fine.
	if r := putDOA(h, nil); r.status != 200 {
		t.Errorf("re-saving DOA: %d %s", r.status, r.body)
	}
}
