package graphfake_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
)

const skuVisio = "c5928f49-12ba-48f7-ada3-0d743a3601d5"

func assignJSON(add, remove []string) string {
	var adds []string
	for _, s := range add {
		adds = append(adds, `{"skuId":"`+s+`","disabledPlans":[]}`)
	}
	rm, _ := json.Marshal(append([]string{}, remove...))
	return `{"addLicenses":[` + strings.Join(adds, ",") + `],"removeLicenses":` + string(rm) + `}`
}

func batchJSON(steps ...string) string {
	return `{"requests":[` + strings.Join(steps, ",") + `]}`
}

func assignStep(id string, user int, add []string) string {
	return fmt.Sprintf(`{"id":%q,"method":"POST","url":"/users/%s/assignLicense","headers":{"Content-Type":"application/json"},"body":%s}`,
		id, userID(user), assignJSON(add, nil))
}

// batchAnswers decodes a $batch answer into status (and Retry-After) by id.
func batchAnswers(t *testing.T, body map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	rs, _ := body["responses"].([]any)
	for _, r := range rs {
		m := r.(map[string]any)
		h, _ := m["headers"].(map[string]any)
		s := fmt.Sprint(m["status"])
		if ra, ok := h["Retry-After"]; ok {
			s += " retry-after " + fmt.Sprint(ra)
		}
		if b, ok := m["body"].(map[string]any); ok && errorCode(b) != "" {
			s += " " + errorCode(b)
		}
		out[fmt.Sprint(m["id"])] = s
	}
	return out
}

func newLicenseServer(t *testing.T, users int) (*graphfake.Tenant, *graphfake.Server, string) {
	t.Helper()
	tenant, s, base := newServer(t, users)
	tenant.PutSku(graphfake.Sku{SkuID: skuVisio, PartNumber: "VISIOCLIENT", Enabled: 2})
	for i := 1; i <= users; i++ {
		tenant.UpdateUser(userID(i), func(u *graphfake.User) { u.UsageLocation = "US" })
	}
	return tenant, s, base
}

func TestBatchDispatchAndCounts(t *testing.T) {
	tenant, s, base := newLicenseServer(t, 3)
	s.Inject(graphfake.Fault{Endpoint: graphfake.EndpointAssignLicense, Status: 429, RetryAfter: "3"})
	body := batchJSON(
		assignStep("c", 99, []string{skuVisio}),
		assignStep("b", 2, []string{skuVisio}),
		assignStep("a", 1, []string{skuVisio}),
		`{"id":"d","method":"GET","url":"/users/`+userID(1)+`?$select=id,usageLocation"}`,
	)
	status, _, out := send(t, http.MethodPost, base+"/$batch", gzipped(body), map[string]string{"Content-Encoding": "gzip", "Content-Type": "application/json"})
	if status != http.StatusOK {
		t.Fatalf("status %d: %v", status, out)
	}
	want := map[string]string{
		"c": "404 Request_ResourceNotFound",
		"b": "200",
		"a": "429 retry-after 3 TooManyRequests",
		"d": "200",
	}
	if diff := cmp.Diff(want, batchAnswers(t, out)); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	wantCounts := map[string]int{graphfake.EndpointBatch: 1, graphfake.EndpointAssignLicense: 3, graphfake.EndpointUser: 1}
	if diff := cmp.Diff(wantCounts, s.Counts()); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if s.Total() != 1 {
		t.Errorf("Total = %d, want 1 HTTP request", s.Total())
	}
	if a := s.Assignments(); len(a) != 1 || a[0].UserID != userID(2) || !a[0].Batch {
		t.Errorf("assignments %+v, want user 2's only", a)
	}
	if u, _ := tenant.User(userID(1)); len(u.Licenses) != 1 {
		t.Errorf("the throttled request changed user 1: %+v", u.Licenses)
	}
}

func TestBatchRefusals(t *testing.T) {
	_, s, base := newLicenseServer(t, 1)
	var many []string
	for i := range graphfake.MaxBatchRequests + 1 {
		many = append(many, assignStep(fmt.Sprint(i), 1, []string{skuVisio}))
	}
	noType := `{"id":"1","method":"POST","url":"/users/` + userID(1) + `/assignLicense","body":` + assignJSON([]string{skuVisio}, nil) + `}`
	tests := []struct {
		name   string
		body   []byte
		header map[string]string
	}{
		{"21 requests", []byte(batchJSON(many...)), nil},
		{"labelled gzip, not gzip", []byte(batchJSON(assignStep("1", 1, []string{skuVisio}))), map[string]string{"Content-Encoding": "gzip"}},
		{"body without Content-Type", []byte(batchJSON(noType)), nil},
		{"duplicate ids", []byte(batchJSON(assignStep("1", 1, nil), assignStep("1", 1, nil))), nil},
		{"not JSON", []byte("requests"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, out := send(t, http.MethodPost, base+"/$batch", tt.body, tt.header)
			if status != http.StatusBadRequest || errorCode(out) == "" {
				t.Errorf("status %d %v, want 400 with an error", status, out)
			}
		})
	}
	if n := len(s.Assignments()); n != 0 {
		t.Errorf("%d assignments applied by refused batches", n)
	}
}

func TestAssignLicenseRules(t *testing.T) {
	tenant, s, base := newLicenseServer(t, 4)
	tenant.SetMutuallyExclusive(skuE3, skuVisio)
	tenant.UpdateUser(userID(2), func(u *graphfake.User) { u.UsageLocation = "" })
	for _, id := range []int{1, 3, 4} {
		tenant.UpdateUser(userID(id), func(u *graphfake.User) { u.Licenses = nil })
	}
	post := func(user int, body string) (int, string) {
		status, _, out := send(t, http.MethodPost, fmt.Sprintf("%s/users/%s/assignLicense", base, userID(user)), []byte(body), nil)
		msg := ""
		if e, ok := out["error"].(map[string]any); ok {
			msg, _ = e["message"].(string)
		}
		return status, msg
	}
	steps := []struct {
		user int
		body string
		want string
	}{
		{1, `{"addLicenses":[]}`, "400 One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: removeLicenses."},
		{2, assignJSON([]string{skuVisio}, nil), "400 License assignment cannot be done for user with invalid usage location."},
		{5, assignJSON([]string{skuVisio}, nil), "404 Resource '" + userID(5) + "' does not exist or one of its queried reference-property objects are not present."},
		{1, assignJSON([]string{skuVisio}, nil), "200 "},
		{1, assignJSON([]string{skuE3}, nil), "400 License assignment failed because service plans " + skuE3 + "," + skuVisio + " are mutually exclusive."},
		{3, assignJSON([]string{skuVisio}, nil), "200 "},
		{4, assignJSON([]string{skuVisio}, nil), "400 Subscription with SKU " + skuVisio + " does not have any available licenses."},
		{4, assignJSON(nil, []string{skuVisio}), "400 User does not have a corresponding license."},
		{3, assignJSON(nil, []string{skuVisio}), "200 "},
		{4, assignJSON([]string{skuVisio}, nil), "200 "},
		{1, assignJSON([]string{skuVisio}, nil), "200 "},
	}
	for i, st := range steps {
		status, msg := post(st.user, st.body)
		if got := fmt.Sprintf("%d %s", status, msg); got != st.want {
			t.Errorf("step %d: got %q, want %q", i, got, st.want)
		}
	}
	if n := len(s.Assignments()); n != 5 {
		t.Errorf("%d assignments recorded, want the 5 answered 200", n)
	}
	skus, consumed := tenant.Skus()
	if len(skus) != 1 || consumed[skuVisio] != 2 {
		t.Errorf("consumed %v, want 2 Visio (user 1 once, user 4)", consumed)
	}
}

func TestUserItem(t *testing.T) {
	tenant, _, base := newLicenseServer(t, 1)
	u := base + "/users/" + userID(1)
	status, _, _ := send(t, http.MethodPatch, u, []byte(`{"usageLocation":"ca"}`), nil)
	if status != http.StatusNoContent {
		t.Errorf("PATCH status %d, want 204", status)
	}
	if got, _ := tenant.User(userID(1)); got.UsageLocation != "CA" {
		t.Errorf("usage location %q, want CA", got.UsageLocation)
	}
	for _, body := range []string{`{"usageLocation":"Canada"}`, `{"department":"x"}`, `{}`} {
		if status, _, out := send(t, http.MethodPatch, u, []byte(body), nil); status != http.StatusBadRequest {
			t.Errorf("PATCH %s: %d %v, want 400", body, status, out)
		}
	}
	status, _, out := send(t, http.MethodGet, u+"?$select=id,usageLocation,assignedLicenses", nil, nil)
	if status != http.StatusOK || out["usageLocation"] != "CA" || out["id"] != userID(1) || len(keys(out)) != 3 {
		t.Errorf("GET: %d %v", status, out)
	}
	if status, _, out := send(t, http.MethodGet, base+"/users/"+userID(2), nil, nil); status != http.StatusNotFound || errorCode(out) != "Request_ResourceNotFound" {
		t.Errorf("GET missing user: %d %v", status, out)
	}
}
