package graphfake_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
)

// namedSource generates n users named s{n-1-i}@x.gov (zero-padded to width
// digits), so that the principal-name order is the reverse of the position
// order, and counts the users it generates.
type namedSource struct {
	n, width int
	calls    *atomic.Int64
}

func (s namedSource) Len() int { return s.n }
func (s namedSource) User(i int) graphfake.User {
	s.calls.Add(1)
	return graphfake.User{ID: userID(i), UserPrincipalName: fmt.Sprintf("s%0*d@x.gov", s.width, s.n-1-i)}
}
func (s namedSource) Lookup(id string) (int, bool) { return source{n: s.n}.Lookup(id) }

// rangeQuery is a /users query for the principal names from..to, top a page.
func rangeQuery(from, to string, top int) string {
	return url.Values{
		"$filter": {"userPrincipalName ge '" + from + "' and userPrincipalName le '" + to + "'"},
		"$select": {"id,userPrincipalName"}, "$top": {fmt.Sprint(top)},
	}.Encode()
}

// TestUsersRangePageCost: once the tenant's order is built, reading a
// principal-name range costs the fake the users of the range (and a binary
// search per page), not a walk over the tenant, as Graph's index does.
func TestUsersRangePageCost(t *testing.T) {
	tenant, _, base := newServer(t, 0)
	var calls atomic.Int64
	tenant.SetSource(namedSource{n: 20000, width: 6, calls: &calls})
	upns(t, base, rangeQuery("s000000", "s000001", 1)) // builds the order

	calls.Store(0)
	got := upns(t, base, rangeQuery("s010000", "s010009@x.gov", 5))
	var want []string
	for i := 10000; i <= 10009; i++ {
		want = append(want, fmt.Sprintf("s%06d@x.gov", i))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	if n := calls.Load(); n > 200 {
		t.Errorf("reading 10 users of 20000 in 2 pages generated %d users, want at most 200", n)
	}
}

// TestUsersRangeReadsALiveOrder: while a client pages through a range, users
// are renamed, added and removed, among the source's users and those put
// since. The read follows the principal-name order from its last user: a
// user renamed to a name after it is served under the new name (once more
// if it was served already), one renamed to a name before it is not, and
// users put since merge into the source's order.
func TestUsersRangeReadsALiveOrder(t *testing.T) {
	tenant, s, base := newServer(t, 0)
	var calls atomic.Int64
	src := namedSource{n: 30, width: 2, calls: &calls}
	tenant.SetSource(src)
	id := func(name int) string { return userID(src.n - 1 - name) } // the id of s{name}
	rename := func(name int, upn string) {
		if !tenant.UpdateUser(id(name), func(u *graphfake.User) { u.UserPrincipalName = upn }) {
			t.Fatalf("no user s%02d", name)
		}
	}
	tenant.PutUser(graphfake.User{ID: "ffffffff-0000-4000-8000-000000000001", UserPrincipalName: "S09B@x.gov"})
	s.BeforeUsersPage = func(n int) {
		if n != 2 { // s00..s03 served
			return
		}
		rename(20, "s05a@x.gov") // ahead: served under its new name
		rename(25, "s01a@x.gov") // behind: not served
		rename(1, "s07a@x.gov")  // served, moved ahead: served again
		rename(2, "s00a@x.gov")  // served, moved behind: not again
		tenant.RemoveUser(id(6), true)
		tenant.PutUser(graphfake.User{ID: "ffffffff-0000-4000-8000-000000000002", UserPrincipalName: "s04a@x.gov"})
		tenant.PutUser(graphfake.User{ID: "ffffffff-0000-4000-8000-000000000003", UserPrincipalName: "t0@x.gov"}) // past the range
		tenant.RemoveUser("ffffffff-0000-4000-8000-000000000001", true)
		tenant.PutUser(graphfake.User{ID: "ffffffff-0000-4000-8000-000000000001", UserPrincipalName: "S09C@x.gov"})
	}
	got := upns(t, base, rangeQuery("s", "t", 4))
	want := []string{"s00@x.gov", "s01@x.gov", "s02@x.gov", "s03@x.gov",
		"s04@x.gov", "s04a@x.gov", "s05@x.gov", "s05a@x.gov", "s07@x.gov", "s07a@x.gov", "s08@x.gov", "s09@x.gov", "S09C@x.gov"}
	for name := 10; name < 30; name++ {
		if name != 20 && name != 25 {
			want = append(want, fmt.Sprintf("s%02d@x.gov", name))
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	// A read that starts now sees the tenant as it is.
	got = upns(t, base, rangeQuery("s00", "s01z", 2))
	if diff := cmp.Diff([]string{"s00@x.gov", "s00a@x.gov", "s01a@x.gov"}, got); diff != "" {
		t.Errorf("a new read (-want +got):\n%s", diff)
	}
}

// BenchmarkUsersRangePage reads one 999-user page of a principal-name range
// from a tenant of a million generated users. The first read, which builds
// the order, is not timed; what the order keeps (order-MB, the heap it holds
// after a collection) and what its build allocated (build-alloc-MB) are
// reported.
func BenchmarkUsersRangePage(b *testing.B) {
	tenant := graphfake.NewTenant()
	var calls atomic.Int64
	tenant.SetSource(namedSource{n: 1_000_000, width: 7, calls: &calls})
	s := graphfake.NewServer(tenant, nil)
	get := func(query string) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1.0/users?"+query, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	get(rangeQuery("s0000000", "s0000001", 1))
	runtime.GC()
	runtime.ReadMemStats(&after)
	for b.Loop() {
		get(rangeQuery("s0500000", "s0600000", 999))
	}
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/1e6, "order-MB")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/1e6, "build-alloc-MB")
}
