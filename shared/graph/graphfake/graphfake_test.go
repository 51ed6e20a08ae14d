package graphfake_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
)

const skuE3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"

func userID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

func newServer(t *testing.T, users int) (*graphfake.Tenant, *graphfake.Server, string) {
	t.Helper()
	tenant := graphfake.NewTenant()
	for i := 1; i <= users; i++ {
		tenant.PutUser(graphfake.User{
			ID: userID(i), UserPrincipalName: fmt.Sprintf("u%d@doa.example.gov", i), DisplayName: fmt.Sprintf("U %d", i),
			AccountEnabled: true, Licenses: []graphfake.LicenseState{{SkuID: skuE3}},
		})
	}
	s := graphfake.NewServer(tenant, nil)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return tenant, s, hs.URL + "/v1.0"
}

// page is a decoded collection page.
type page struct {
	NextLink  string           `json:"@odata.nextLink"`
	DeltaLink string           `json:"@odata.deltaLink"`
	Value     []map[string]any `json:"value"`
	Error     *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func get(t *testing.T, u string) (int, http.Header, page) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p page
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatalf("GET %s: body is not JSON: %v", u, err)
	}
	return resp.StatusCode, resp.Header, p
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestUsersPagingAndSelect(t *testing.T) {
	_, s, base := newServer(t, 25)
	u := base + "/users?$select=id,displayName,createdDateTime,signInActivity&$top=10"
	var ids []string
	pages := 0
	for u != "" {
		status, _, p := get(t, u)
		if status != 200 {
			t.Fatalf("GET %s: %d %+v", u, status, p.Error)
		}
		pages++
		for _, v := range p.Value {
			if diff := cmp.Diff([]string{"createdDateTime", "displayName", "id", "signInActivity"}, keys(v)); diff != "" {
				t.Fatalf("properties (-want +got):\n%s", diff)
			}
			if v["createdDateTime"] != nil || v["signInActivity"] != nil {
				t.Fatalf("unset date-times must be null, got %v and %v", v["createdDateTime"], v["signInActivity"])
			}
			ids = append(ids, v["id"].(string))
		}
		if p.NextLink != "" {
			nu, err := url.Parse(p.NextLink)
			if err != nil || !nu.IsAbs() || nu.Query().Get("$skiptoken") == "" || nu.Query().Get("$top") != "10" {
				t.Fatalf("nextLink %q is not absolute with $skiptoken and $top", p.NextLink)
			}
		}
		u = p.NextLink
	}
	if pages != 3 || len(ids) != 25 || ids[0] != userID(1) || ids[24] != userID(25) {
		t.Errorf("%d pages, %d users (%v...), want 3 pages, 25 users in order", pages, len(ids), ids[:1])
	}
	if got := s.Count(graphfake.EndpointUsers); got != 3 {
		t.Errorf("counted %d requests, want 3", got)
	}
}

func TestUsersQueryErrors(t *testing.T) {
	tenant, _, base := newServer(t, 3)
	tests := []struct {
		name       string
		forbidden  bool
		query      string
		wantStatus int
		wantCode   string
	}{
		{"top over 999", false, "$top=1000", 400, "Request_BadRequest"},
		{"top 999", false, "$top=999", 200, ""},
		{"sign-in allows 500", false, "$top=500&$select=id,signInActivity", 200, ""},
		{"sign-in refuses 501", false, "$top=501&$select=id,signInActivity", 400, "Request_BadRequest"},
		{"unknown property", false, "$select=id,favouriteColour", 400, "Request_BadRequest"},
		{"no P1", true, "$select=id,signInActivity", 403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant"},
		{"no P1 without sign-in", true, "$select=id,displayName", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenant.SetSignInActivityForbidden(tt.forbidden)
			status, _, p := get(t, base+"/users?"+tt.query)
			code := ""
			if p.Error != nil {
				code = p.Error.Code
			}
			if status != tt.wantStatus || code != tt.wantCode {
				t.Errorf("got %d %q, want %d %q", status, code, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

func TestDelta(t *testing.T) {
	tenant, s, base := newServer(t, 5)
	s.DeltaPageSize = 2

	// An initial round pages through everyone and ends with a delta link.
	u := base + "/users/delta()?$select=id,displayName"
	var ids []string
	var deltaLink string
	for u != "" {
		status, _, p := get(t, u)
		if status != 200 {
			t.Fatalf("%d %+v", status, p.Error)
		}
		for _, v := range p.Value {
			ids = append(ids, v["id"].(string))
		}
		u, deltaLink = p.NextLink, p.DeltaLink
	}
	if len(ids) != 5 || deltaLink == "" {
		t.Fatalf("initial round: %v, delta link %q", ids, deltaLink)
	}

	// Latest gives a link without users.
	status, _, latest := get(t, base+"/users/delta()?$select=id,displayName&$deltatoken=latest")
	if status != 200 || len(latest.Value) != 0 || latest.DeltaLink == "" {
		t.Fatalf("latest: %d %+v", status, latest)
	}

	tenant.UpdateUser(userID(2), func(u *graphfake.User) { u.DisplayName = "Renamed" })
	tenant.RemoveUser(userID(3), false)
	tenant.RemoveUser(userID(4), true)
	tenant.PutUser(graphfake.User{ID: userID(6), DisplayName: "New"})

	var changes []string
	u = deltaLink
	for u != "" {
		_, _, p := get(t, u)
		for _, v := range p.Value {
			if r, ok := v["@removed"].(map[string]any); ok {
				changes = append(changes, fmt.Sprintf("%s removed %s", v["id"], r["reason"]))
				continue
			}
			changes = append(changes, fmt.Sprintf("%s %s", v["id"], v["displayName"]))
		}
		u, deltaLink = p.NextLink, p.DeltaLink
	}
	want := []string{
		userID(2) + " Renamed", userID(3) + " removed changed", userID(4) + " removed deleted", userID(6) + " New",
	}
	if diff := cmp.Diff(want, changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}

	// The latest link taken before the changes sees them too.
	n := 0
	for u := latest.DeltaLink; u != ""; {
		_, _, p := get(t, u)
		n += len(p.Value)
		u = p.NextLink
	}
	if n != 4 {
		t.Errorf("latest link saw %d changes, want 4", n)
	}

	tests := []struct {
		name       string
		url        string
		wantStatus int
	}{
		{"garbled token", base + "/users/delta()?$deltatoken=garbage", 410},
		{"sign-in on delta", base + "/users/delta()?$select=id,signInActivity", 400},
		{"top on delta", base + "/users/delta()?$top=999", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, _, _ := get(t, tt.url); status != tt.wantStatus {
				t.Errorf("status %d, want %d", status, tt.wantStatus)
			}
		})
	}
	tenant.ExpireDeltaTokens()
	if status, _, p := get(t, deltaLink); status != 410 || p.Error == nil || p.Error.Code != "SyncStateNotFound" {
		t.Errorf("expired token: %d %+v, want 410 SyncStateNotFound", status, p.Error)
	}
}

func TestTransitiveMembers(t *testing.T) {
	tenant, _, base := newServer(t, 4)
	g1, g2 := "aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002"
	dev := "dddddddd-0000-4000-8000-000000000001"
	tenant.PutDevice(graphfake.Device{ID: dev, DisplayName: "kiosk"})
	tenant.PutGroup(graphfake.Group{ID: g2, DisplayName: "inner", Members: []string{userID(3)}})
	tenant.PutGroup(graphfake.Group{ID: g1, DisplayName: "outer", Members: []string{userID(1), dev, g2, userID(1)}})
	tenant.UpdateUser(userID(4), func(u *graphfake.User) {
		u.Licenses = []graphfake.LicenseState{{SkuID: skuE3, AssignedByGroup: g2}}
	})

	tests := []struct {
		name string
		path string
		want []string
	}{
		{"all objects", "/groups/" + g1 + "/transitiveMembers?$select=id",
			[]string{"#microsoft.graph.user " + userID(1), "#microsoft.graph.device " + dev, "#microsoft.graph.group " + g2,
				"#microsoft.graph.user " + userID(3), "#microsoft.graph.user " + userID(4)}},
		{"users only", "/groups/" + g1 + "/transitiveMembers/microsoft.graph.user?$select=id,userPrincipalName&$top=2",
			[]string{"#microsoft.graph.user " + userID(1), "#microsoft.graph.user " + userID(3), "#microsoft.graph.user " + userID(4)}},
		{"graph.user alias", "/groups/" + g2 + "/transitiveMembers/graph.user",
			[]string{"#microsoft.graph.user " + userID(3), "#microsoft.graph.user " + userID(4)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for u := base + tt.path; u != ""; {
				status, _, p := get(t, u)
				if status != 200 {
					t.Fatalf("%d %+v", status, p.Error)
				}
				for _, v := range p.Value {
					got = append(got, fmt.Sprintf("%s %s", v["@odata.type"], v["id"]))
				}
				u = p.NextLink
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}
		})
	}
	if status, _, _ := get(t, base+"/groups/aaaaaaaa-0000-4000-8000-0000000000ff/transitiveMembers"); status != 404 {
		t.Errorf("missing group: %d, want 404", status)
	}
}

func TestFaults(t *testing.T) {
	_, s, base := newServer(t, 1)
	s.Inject(graphfake.Fault{Endpoint: graphfake.EndpointUsers, Status: 429, RetryAfter: "7", Times: 2})
	s.Inject(graphfake.Fault{Status: 503, Times: 1})
	var got []string
	for range 4 {
		status, h, _ := get(t, base+"/users")
		got = append(got, fmt.Sprintf("%d %q", status, h.Get("Retry-After")))
	}
	want := []string{`429 "7"`, `429 "7"`, `503 ""`, `200 ""`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("responses (-want +got):\n%s", diff)
	}
	if s.Count(graphfake.EndpointUsers) != 4 || s.Total() != 4 {
		t.Errorf("counts %v", s.Counts())
	}
}

func TestGzipBody(t *testing.T) {
	_, s, base := newServer(t, 0)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	io.WriteString(zw, `{"addLicenses":[],"removeLicenses":[]}`)
	zw.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/users/x/assignLicense", &buf)
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	reqs := s.Requests()
	if len(reqs) != 1 || !reqs[0].Gzip || string(reqs[0].Body) != `{"addLicenses":[],"removeLicenses":[]}` {
		t.Errorf("recorded %+v", reqs)
	}
}

func TestSubscribedSkus(t *testing.T) {
	tenant, _, base := newServer(t, 3)
	tenant.PutSku(graphfake.Sku{SkuID: skuE3, PartNumber: "ENTERPRISEPACK", Enabled: 10})
	_, _, p := get(t, base+"/subscribedSkus")
	if len(p.Value) != 1 || p.Value[0]["consumedUnits"] != float64(3) || p.Value[0]["prepaidUnits"].(map[string]any)["enabled"] != float64(10) {
		t.Errorf("subscribedSkus = %+v", p.Value)
	}
	tenant.PutSubscription(graphfake.Subscription{ID: "s1", SkuID: skuE3})
	_, _, p = get(t, base+"/directory/subscriptions")
	if len(p.Value) != 1 || p.Value[0]["nextLifecycleDateTime"] != nil || p.Value[0]["createdDateTime"] != nil {
		t.Errorf("subscriptions = %+v", p.Value)
	}
}

// source is a lazily generated UserSource of n users.
type source struct{ n int }

func (s source) Len() int { return s.n }
func (s source) User(i int) graphfake.User {
	return graphfake.User{ID: userID(i), DisplayName: fmt.Sprint("Gen ", i), Created: time.Unix(int64(i), 0)}
}
func (s source) Lookup(id string) (int, bool) {
	var i int
	if _, err := fmt.Sscanf(id, "00000000-0000-4000-8000-%012d", &i); err != nil || i >= s.n {
		return 0, false
	}
	return i, true
}

func TestSourceWithChanges(t *testing.T) {
	tenant, _, base := newServer(t, 0)
	tenant.SetSource(source{n: 2500})
	tenant.RemoveUser(userID(10), true)
	tenant.UpdateUser(userID(11), func(u *graphfake.User) { u.DisplayName = "Changed" })
	tenant.PutUser(graphfake.User{ID: "ffffffff-0000-4000-8000-000000000001", DisplayName: "Added"})
	if n := tenant.UserCount(); n != 2500 {
		t.Errorf("UserCount = %d, want 2500", n)
	}
	seen := map[string]string{}
	for u := base + "/users?$top=999&$select=id,displayName"; u != ""; {
		_, _, p := get(t, u)
		for _, v := range p.Value {
			seen[v["id"].(string)] = v["displayName"].(string)
		}
		u = p.NextLink
	}
	if len(seen) != 2500 || seen[userID(11)] != "Changed" || seen["ffffffff-0000-4000-8000-000000000001"] != "Added" {
		t.Errorf("served %d users; user 11 %q", len(seen), seen[userID(11)])
	}
	if _, ok := seen[userID(10)]; ok {
		t.Errorf("removed user served")
	}
}

func TestStartLoopbackOnly(t *testing.T) {
	s := graphfake.NewServer(graphfake.NewTenant(), nil)
	if err := s.Start("0.0.0.0:0"); err == nil {
		s.Close()
		t.Fatal("Start on 0.0.0.0 succeeded, want refusal")
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.BaseURL(), "http://127.0.0.1:") {
		t.Errorf("BaseURL = %q", s.BaseURL())
	}
	if status, _, _ := get(t, s.BaseURL()+"/subscribedSkus"); status != 200 {
		t.Errorf("status %d", status)
	}
}
