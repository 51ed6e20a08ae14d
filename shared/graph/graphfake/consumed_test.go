package graphfake_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
)

// TestAssignKeepsConsumedWithoutRecount: in a tenant of 20,000 licensed
// users an assignLicense costs what one user's change costs, not a recount
// of every user's licenses (which made a run licensing every member of a
// large tenant quadratic), and the consumed units stay those of a count of
// every user.
func TestAssignKeepsConsumedWithoutRecount(t *testing.T) {
	const users = 20000
	tenant, s, _ := newServer(t, users)
	tenant.PutSku(graphfake.Sku{SkuID: skuE3, PartNumber: "ENTERPRISEPACK", Enabled: users})
	tenant.PutSku(graphfake.Sku{SkuID: skuVisio, PartNumber: "VISIOCLIENT", Enabled: 10})
	for i := 1; i <= 3; i++ {
		tenant.UpdateUser(userID(i), func(u *graphfake.User) { u.UsageLocation = "US" })
	}
	assign := func(user int, add, remove []string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/v1.0/users/"+userID(user)+"/assignLicense", strings.NewReader(assignJSON(add, remove)))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("assignLicense user %d: %d %s", user, rec.Code, rec.Body.String())
		}
	}
	holds := false
	allocs := testing.AllocsPerRun(10, func() {
		if holds {
			assign(1, nil, []string{skuVisio})
		} else {
			assign(1, []string{skuVisio}, nil)
		}
		holds = !holds
	})
	if allocs > users/10 {
		t.Errorf("an assignLicense made %.0f allocations in a tenant of %d users; want far fewer than one per user", allocs, users)
	}

	assign(2, []string{skuVisio}, nil)
	assign(3, []string{skuVisio}, []string{skuE3})
	want := map[string]int{}
	tenant.EachUser(func(u graphfake.User) bool {
		for _, l := range u.Licenses {
			if l.Error == "" {
				want[strings.ToLower(l.SkuID)]++
			}
		}
		return true
	})
	_, got := tenant.Skus()
	for _, sku := range []string{skuE3, skuVisio} {
		if got[sku] != want[sku] {
			t.Errorf("consumed %s = %d; counting the users gives %d", sku, got[sku], want[sku])
		}
	}
}

// countingSource is a generated tenant of n users that counts the users it
// generates; user 1 holds a license through group 1.
type countingSource struct {
	n     int
	calls atomic.Int64
}

func (c *countingSource) Len() int { return c.n }

func (c *countingSource) User(i int) graphfake.User {
	c.calls.Add(1)
	u := graphfake.User{ID: userID(i + 1), UserPrincipalName: fmt.Sprintf("u%d@doa.example.gov", i+1), AccountEnabled: true}
	if i == 0 {
		u.Licenses = []graphfake.LicenseState{{SkuID: skuE3, AssignedByGroup: groupID(1)}}
	}
	return u
}

func (c *countingSource) Lookup(id string) (int, bool) {
	var n int
	if _, err := fmt.Sscanf(id, "00000000-0000-4000-8000-%012d", &n); err != nil || n < 1 || n > c.n {
		return 0, false
	}
	return n - 1, true
}

func groupID(n int) string { return fmt.Sprintf("6f1c0f55-0000-4000-8000-%012d", n) }

// TestGroupReadsScanTheTenantOnce: reading the members of 50 groups of a
// 5,000-user tenant goes through the users for group-based licenses once,
// not once per group (which made reading every delegated group of a large
// tenant quadratic), and still lists the user licensed through a group.
func TestGroupReadsScanTheTenantOnce(t *testing.T) {
	const users, groups = 5000, 50
	src := &countingSource{n: users}
	tenant := graphfake.NewTenant()
	tenant.SetSource(src)
	for g := 1; g <= groups; g++ {
		tenant.PutGroup(graphfake.Group{ID: groupID(g), Members: []string{userID(g*10 + 1), userID(g*10 + 2)}})
	}
	s := graphfake.NewServer(tenant, nil)
	src.calls.Store(0)
	for g := 1; g <= groups; g++ {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1.0/groups/"+groupID(g)+"/transitiveMembers/microsoft.graph.user?$select=id", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("group %d: %d %s", g, rec.Code, rec.Body.String())
		}
		want := []string{userID(g*10 + 1), userID(g*10 + 2)}
		if g == 1 {
			want = append(want, userID(1))
		}
		for _, id := range want {
			if !strings.Contains(rec.Body.String(), id) {
				t.Errorf("group %d lacks %s: %s", g, id, rec.Body.String())
			}
		}
	}
	if n := src.calls.Load(); n > 2*users {
		t.Errorf("reading %d groups generated %d users of %d; want one pass over the tenant", groups, n, users)
	}
}
