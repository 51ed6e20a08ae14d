package graphfake_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
)

// upns reads every page of /users with query and returns the user
// principal names served.
func upns(t *testing.T, base, query string) []string {
	t.Helper()
	var out []string
	for u := base + "/users?" + query; u != ""; {
		status, _, p := get(t, u)
		if status != 200 {
			t.Fatalf("GET %s: %d %+v", u, status, p.Error)
		}
		for _, v := range p.Value {
			out = append(out, v["userPrincipalName"].(string))
		}
		u = p.NextLink
	}
	return out
}

func TestUsersFilterByUserPrincipalName(t *testing.T) {
	tenant, _, base := newServer(t, 0)
	for i, upn := range []string{"alice@x.gov", "Bob@x.gov", "carol@x.gov", "o'brien@x.gov", "Zed@x.gov"} {
		tenant.PutUser(graphfake.User{ID: userID(i + 1), UserPrincipalName: upn})
	}
	tests := []struct {
		name, filter string
		want         []string
	}{
		{"both ends, case-insensitive", "userPrincipalName ge 'BOB@x.gov' and userPrincipalName le 'carol@X.GOV'", []string{"Bob@x.gov", "carol@x.gov"}},
		{"from only", "userPrincipalName ge 'o'", []string{"o'brien@x.gov", "Zed@x.gov"}},
		{"to only, a doubled quote", "userPrincipalName le 'o''brien@x.gov'", []string{"alice@x.gov", "Bob@x.gov", "carol@x.gov", "o'brien@x.gov"}},
		{"operators in any case", "userPrincipalName GE 'c' AND userPrincipalName LE 'd'", []string{"carol@x.gov"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := url.Values{"$filter": {tt.filter}, "$select": {"id,userPrincipalName"}, "$top": {"1"}}
			if diff := cmp.Diff(tt.want, upns(t, base, q.Encode())); diff != "" {
				t.Errorf("users (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{"startswith(userPrincipalName,'a')", "displayName ge 'a'", "userPrincipalName eq 'a'",
		"userPrincipalName ge 'a' or userPrincipalName le 'b'", "userPrincipalName ge 'a", "userPrincipalName ge 'a' and userPrincipalName ge 'b'"} {
		status, _, p := get(t, base+"/users?"+url.Values{"$filter": {bad}}.Encode())
		if status != 400 || p.Error == nil || p.Error.Code != "Request_UnsupportedQuery" || !strings.Contains(p.Error.Message, "Unsupported query") {
			t.Errorf("$filter=%s: %d %+v, want 400 Request_UnsupportedQuery", bad, status, p.Error)
		}
	}
	status, _, p := get(t, base+"/users?"+url.Values{"$filter": {"userPrincipalName ge 'a'"}, "$select": {"id,signInActivity"}, "$top": {"501"}}.Encode())
	if status != 400 || p.Error.Code != "Request_BadRequest" {
		t.Errorf("a filter with signInActivity and $top=501: %d %+v, want 400", status, p.Error)
	}
}

// TestUsersChangeDuringRead: BeforeUsersPage renames, adds and removes
// users while a client pages through /users, as a live directory changes.
func TestUsersChangeDuringRead(t *testing.T) {
	tenant, s, base := newServer(t, 6)
	var mu sync.Mutex
	var pages []int
	s.BeforeUsersPage = func(n int) {
		mu.Lock()
		pages = append(pages, n)
		mu.Unlock()
		if n == 2 {
			tenant.UpdateUser(userID(5), func(u *graphfake.User) { u.UserPrincipalName = "z5@doa.example.gov" })
			tenant.RemoveUser(userID(6), true)
			tenant.PutUser(graphfake.User{ID: userID(7), UserPrincipalName: "u7@doa.example.gov"})
		}
	}
	got := upns(t, base, "$select=id,userPrincipalName&$top=3&"+url.Values{"$filter": {"userPrincipalName le 'u9'"}}.Encode())
	if diff := cmp.Diff([]string{"u1@doa.example.gov", "u2@doa.example.gov", "u3@doa.example.gov", "u4@doa.example.gov", "u7@doa.example.gov"}, got); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{1, 2}, pages); diff != "" {
		t.Errorf("BeforeUsersPage calls (-want +got):\n%s", diff)
	}
}

func TestPageLatency(t *testing.T) {
	_, s, base := newServer(t, 3)
	s.PageLatency = 50 * time.Millisecond
	start := time.Now()
	upns(t, base, "$top=1&$select=id,userPrincipalName")
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("3 pages took %v, want at least 3 × 50ms", d)
	}
	// Other endpoints are not delayed: with an hour's page latency the SKUs
	// still answer within the client's timeout.
	_, slow, slowBase := newServer(t, 1)
	slow.PageLatency = time.Hour
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(slowBase + "/subscribedSkus")
	if err != nil {
		t.Fatalf("subscribedSkus with PageLatency set: %v", err)
	}
	resp.Body.Close()
}
