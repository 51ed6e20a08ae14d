package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Real SKU ids used in the tests.
const (
	skuE3    = "6fd2c87f-b296-42f0-b197-1e91e994b900"
	skuVisio = "c5928f49-12ba-48f7-ada3-0d743a3601d5"
	groupE3  = "aaaaaaaa-0000-4000-8000-000000000001"
)

// fixture is a fake Graph with a client pointed at it.
type fixture struct {
	tenant *graphfake.Tenant
	server *graphfake.Server
	client *Client
	url    string
}

func newFixture(t testing.TB, mod func(*Config)) *fixture {
	t.Helper()
	tenant := graphfake.NewTenant()
	server := graphfake.NewServer(tenant, nil)
	hs := httptest.NewServer(server)
	t.Cleanup(hs.Close)
	cfg := Config{
		BaseURL:      hs.URL + "/v1.0",
		Auth:         AuthNone,
		MaxRetryWait: 5 * time.Second,
		RetryDelay:   5 * time.Millisecond,
		Logger:       slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{tenant: tenant, server: server, client: c, url: hs.URL}
}

// userID makes a GUID-shaped id for test user n.
func userID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

func testUser(n int) graphfake.User {
	return graphfake.User{
		ID:                userID(n),
		UserPrincipalName: fmt.Sprintf("user%d@doa.example.gov", n),
		DisplayName:       fmt.Sprintf("User %d", n),
		Department:        "Department of Administration",
		AccountEnabled:    true,
		UsageLocation:     "US",
		Created:           time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Licenses:          []graphfake.LicenseState{{SkuID: skuE3}},
	}
}

func addUsers(t *graphfake.Tenant, n int) {
	for i := 1; i <= n; i++ {
		t.PutUser(testUser(i))
	}
}

// readAll reads users into a map by id, applying removals.
func readAll(t *testing.T, c *Client, q licensing.UserQuery, into map[string]licensing.DirectoryUser) licensing.UserReadResult {
	t.Helper()
	res, err := c.ReadUsers(context.Background(), q, func(u licensing.DirectoryUser) error {
		if u.Removed {
			delete(into, u.ID)
			return nil
		}
		into[u.ID] = licensing.MergeUser(into[u.ID], u)
		return nil
	})
	if err != nil {
		t.Fatalf("ReadUsers: %v", err)
	}
	return res
}

func selected(t *testing.T, s *graphfake.Server, endpoint string) []string {
	t.Helper()
	for _, r := range s.Requests() {
		if r.Endpoint == endpoint && r.Query.Get("$select") != "" {
			f := strings.Split(r.Query.Get("$select"), ",")
			sort.Strings(f)
			return f
		}
	}
	t.Fatalf("no request to %s with $select", endpoint)
	return nil
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"none on loopback", Config{BaseURL: "http://127.0.0.1:8080/v1.0", Auth: AuthNone}, ""},
		{"none on localhost", Config{BaseURL: "http://localhost:8080/v1.0", Auth: AuthNone}, ""},
		{"none against Graph", Config{Auth: AuthNone}, "only for a local fake"},
		{"none on a LAN host", Config{BaseURL: "http://10.0.0.5/v1.0", Auth: AuthNone}, "loopback"},
		{"managed identity", Config{Auth: AuthManagedIdentity, ClientID: "11111111-1111-1111-1111-111111111111"}, ""},
		{"client secret", Config{Auth: AuthClientSecret, TenantID: "t", ClientID: "c", ClientSecret: "s"}, ""},
		{"client secret missing", Config{Auth: AuthClientSecret, ClientID: "c"}, "AZURE_TENANT_ID, AZURE_CLIENT_SECRET"},
		{"unknown auth", Config{Auth: "certificate"}, "not one of"},
		{"empty auth", Config{}, "not one of"},
		{"relative base URL", Config{BaseURL: "/v1.0", Auth: AuthNone}, "absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestReadUsersFullPaging(t *testing.T) {
	tests := []struct {
		name      string
		users     int
		wantPages int
	}{
		{"empty tenant", 0, 1},
		{"one user", 1, 1},
		{"exactly one page", 999, 1},
		{"one past a page", 1000, 2},
		{"2500 users", 2500, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			addUsers(f.tenant, tt.users)
			got := map[string]licensing.DirectoryUser{}
			res := readAll(t, f.client, licensing.UserQuery{}, got)
			if len(got) != tt.users || res.Users != tt.users {
				t.Errorf("read %d users (result says %d), want %d", len(got), res.Users, tt.users)
			}
			wantCounts := map[string]int{graphfake.EndpointUsers: tt.wantPages, graphfake.EndpointUsersDelta: 1}
			if diff := cmp.Diff(wantCounts, f.server.Counts()); diff != "" {
				t.Errorf("requests by endpoint (-want +got):\n%s", diff)
			}
			if res.Pages != tt.wantPages || res.Requests != tt.wantPages+1 || !res.Full || res.DeltaLink == "" {
				t.Errorf("result = %+v, want %d pages, %d requests, full, a delta link", res, tt.wantPages, tt.wantPages+1)
			}
			if diff := cmp.Diff(sorted(licensing.UserFields()), selected(t, f.server, graphfake.EndpointUsers)); diff != "" {
				t.Errorf("$select of /users (-want +got):\n%s", diff)
			}
			for _, r := range f.server.Requests() {
				if r.Endpoint == graphfake.EndpointUsers && r.Query.Get("$top") != "999" {
					t.Errorf("/users request with $top=%q, want 999", r.Query.Get("$top"))
				}
			}
		})
	}
}

func TestReadUsersConversion(t *testing.T) {
	f := newFixture(t, nil)
	signIn := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	silent := time.Date(2026, 3, 5, 9, 30, 0, 0, time.UTC)
	full := graphfake.User{
		ID:                       "AAAAAAAA-1111-4111-8111-111111111111",
		UserPrincipalName:        "pat.doe@doa.example.gov",
		DisplayName:              "Pat \"PD\" Doe",
		Mail:                     "pat.doe@doa.example.gov",
		Department:               " department of administration ",
		CompanyName:              "State of Example",
		OfficeLocation:           "Capitol 101",
		UsageLocation:            "US",
		AccountEnabled:           false,
		Created:                  time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC),
		LastSignIn:               &signIn,
		LastNonInteractiveSignIn: &silent,
		Licenses: []graphfake.LicenseState{
			{SkuID: skuE3},
			{SkuID: skuE3, AssignedByGroup: groupE3},
			{SkuID: skuVisio, AssignedByGroup: groupE3, Error: "CountViolation"},
		},
	}
	full.ExtensionAttributes[0] = "DOA"
	full.ExtensionAttributes[14] = "x15"
	f.tenant.PutUser(full)
	f.tenant.PutUser(graphfake.User{ID: userID(2), UserPrincipalName: "bare@example.gov"})

	tests := []struct {
		name string
		q    licensing.UserQuery
		want []licensing.DirectoryUser
	}{
		{
			name: "without sign-in",
			want: []licensing.DirectoryUser{
				{
					ID: "aaaaaaaa-1111-4111-8111-111111111111", UserPrincipalName: "pat.doe@doa.example.gov",
					DisplayName: "Pat \"PD\" Doe", Mail: "pat.doe@doa.example.gov",
					Department: " department of administration ", CompanyName: "State of Example",
					OfficeLocation: "Capitol 101", UsageLocation: "US",
					ExtensionAttributes: [15]string{0: "DOA", 14: "x15"},
					CreatedDateTime:     time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC),
					Licenses: []licensing.UserLicense{
						{SkuID: skuE3, Direct: true, Groups: []string{groupE3}},
						{SkuID: skuVisio, Groups: []string{groupE3}, Error: "CountViolation"},
					},
				},
				{ID: userID(2), UserPrincipalName: "bare@example.gov"},
			},
		},
		{
			name: "with sign-in",
			q:    licensing.UserQuery{SignIn: true},
			want: []licensing.DirectoryUser{
				{
					ID: "aaaaaaaa-1111-4111-8111-111111111111", UserPrincipalName: "pat.doe@doa.example.gov",
					DisplayName: "Pat \"PD\" Doe", Mail: "pat.doe@doa.example.gov",
					Department: " department of administration ", CompanyName: "State of Example",
					OfficeLocation: "Capitol 101", UsageLocation: "US",
					ExtensionAttributes: [15]string{0: "DOA", 14: "x15"},
					CreatedDateTime:     time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC),
					LastSignIn:          &silent,
					Licenses: []licensing.UserLicense{
						{SkuID: skuE3, Direct: true, Groups: []string{groupE3}},
						{SkuID: skuVisio, Groups: []string{groupE3}, Error: "CountViolation"},
					},
				},
				{ID: userID(2), UserPrincipalName: "bare@example.gov"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []licensing.DirectoryUser
			_, err := f.client.ReadUsers(context.Background(), tt.q, func(u licensing.DirectoryUser) error {
				got = append(got, u)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("users (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadUsersSignIn(t *testing.T) {
	tests := []struct {
		name       string
		forbidden  bool
		deltaFirst bool
		wantAvail  bool
		wantFull   bool
		wantNote   string
		wantCounts map[string]int
	}{
		{
			name: "premium tenant", wantAvail: true, wantFull: true,
			wantCounts: map[string]int{graphfake.EndpointUsers: 3, graphfake.EndpointUsersDelta: 1},
		},
		{
			name: "no P1: carries on without", forbidden: true, wantFull: true, wantNote: "Entra ID P1",
			wantCounts: map[string]int{graphfake.EndpointUsers: 1 + 2, graphfake.EndpointUsersDelta: 1},
		},
		{
			name: "no P1 with a delta link: incremental", forbidden: true, deltaFirst: true, wantNote: "Entra ID P1",
			wantCounts: map[string]int{graphfake.EndpointUsers: 1, graphfake.EndpointUsersDelta: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			addUsers(f.tenant, 1200)
			f.tenant.SetSignInActivityForbidden(tt.forbidden)
			got := map[string]licensing.DirectoryUser{}
			q := licensing.UserQuery{SignIn: true}
			if tt.deltaFirst {
				q.DeltaLink = readAll(t, f.client, licensing.UserQuery{}, got).DeltaLink
				f.server.ResetCounts()
			}
			res := readAll(t, f.client, q, got)
			if res.SignInAvailable != tt.wantAvail || res.Full != tt.wantFull || !strings.Contains(res.SignInNote, tt.wantNote) {
				t.Errorf("result = %+v, want signIn %v, full %v, note containing %q", res, tt.wantAvail, tt.wantFull, tt.wantNote)
			}
			if len(got) != 1200 {
				t.Errorf("have %d users, want 1200", len(got))
			}
			if diff := cmp.Diff(tt.wantCounts, f.server.Counts()); diff != "" {
				t.Errorf("requests by endpoint (-want +got):\n%s", diff)
			}
			if tt.wantAvail {
				if diff := cmp.Diff(sorted(append(licensing.UserFields(), "signInActivity")), selected(t, f.server, graphfake.EndpointUsers)); diff != "" {
					t.Errorf("$select (-want +got):\n%s", diff)
				}
				for _, r := range f.server.Requests() {
					if r.Endpoint == graphfake.EndpointUsers && r.Query.Get("$top") != "500" {
						t.Errorf("/users with signInActivity asked $top=%q, want 500", r.Query.Get("$top"))
					}
				}
			}
		})
	}
}

func TestReadUsersDelta(t *testing.T) {
	f := newFixture(t, nil)
	addUsers(f.tenant, 1500)
	state := map[string]licensing.DirectoryUser{}
	first := readAll(t, f.client, licensing.UserQuery{}, state)
	if !first.Full || first.DeltaLink == "" {
		t.Fatalf("first read = %+v, want a full read with a delta link", first)
	}

	// Between runs: one user added, one changed, one soft-deleted, one
	// deleted for good.
	added := testUser(5000)
	f.tenant.PutUser(added)
	f.tenant.UpdateUser(userID(7), func(u *graphfake.User) {
		u.Department = "Department of Revenue"
		u.Licenses = append(u.Licenses, graphfake.LicenseState{SkuID: skuVisio})
	})
	f.tenant.RemoveUser(userID(8), false)
	f.tenant.RemoveUser(userID(9), true)
	f.server.ResetCounts()

	var seen []string
	res, err := f.client.ReadUsers(context.Background(), licensing.UserQuery{DeltaLink: first.DeltaLink}, func(u licensing.DirectoryUser) error {
		seen = append(seen, fmt.Sprintf("%s removed=%v", u.ID, u.Removed))
		if u.Removed {
			delete(state, u.ID)
			return nil
		}
		if u.Partial {
			t.Errorf("a delta change carries every selected property; got a partial one: %v", u.Fields)
		}
		state[u.ID] = licensing.MergeUser(state[u.ID], u)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantSeen := []string{
		userID(5000) + " removed=false", userID(7) + " removed=false",
		userID(8) + " removed=true", userID(9) + " removed=true",
	}
	if diff := cmp.Diff(wantSeen, seen); diff != "" {
		t.Errorf("delta changes (-want +got):\n%s", diff)
	}
	if res.Full || res.DeltaLink == "" || res.DeltaLink == first.DeltaLink || res.Requests != 1 {
		t.Errorf("incremental result = %+v, want not full, a new delta link, 1 request", res)
	}
	if got := state[userID(7)]; got.Department != "Department of Revenue" || len(got.Licenses) != 2 {
		t.Errorf("changed user = %+v", got)
	}
	if len(state) != 1500+1-2 {
		t.Errorf("have %d users, want %d", len(state), 1500+1-2)
	}

	// Nothing changed: one request, nothing reported.
	f.server.ResetCounts()
	quiet := readAll(t, f.client, licensing.UserQuery{DeltaLink: res.DeltaLink}, state)
	if quiet.Users != 0 || quiet.Requests != 1 || quiet.Full {
		t.Errorf("quiet delta = %+v, want 0 users, 1 request", quiet)
	}

	// The token expires: 410 Gone. A strict caller hears it as Stale before
	// any user; anyone else gets a full read instead.
	f.tenant.ExpireDeltaTokens()
	called := false
	_, err = f.client.ReadUsers(context.Background(), licensing.UserQuery{DeltaLink: quiet.DeltaLink, Strict: true}, func(licensing.DirectoryUser) error {
		called = true
		return nil
	})
	if licensing.ErrorCode(err) != licensing.Stale || called {
		t.Errorf("strict read of an expired link: err %v, callback called %v; want Stale and no call", err, called)
	}
	f.server.ResetCounts()
	fresh := map[string]licensing.DirectoryUser{}
	fallback := readAll(t, f.client, licensing.UserQuery{DeltaLink: quiet.DeltaLink}, fresh)
	if !fallback.Full || !strings.Contains(fallback.Note, "410") || fallback.DeltaLink == "" {
		t.Errorf("fallback = %+v, want a full read noting the 410", fallback)
	}
	wantCounts := map[string]int{graphfake.EndpointUsersDelta: 2, graphfake.EndpointUsers: 2}
	if diff := cmp.Diff(wantCounts, f.server.Counts()); diff != "" {
		t.Errorf("requests by endpoint (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(state, fresh); diff != "" {
		t.Errorf("state after delta differs from a full read (-delta +full):\n%s", diff)
	}

	// The new link works.
	f.tenant.RemoveUser(userID(1), true)
	after := map[string]licensing.DirectoryUser{}
	res2 := readAll(t, f.client, licensing.UserQuery{DeltaLink: fallback.DeltaLink}, after)
	if res2.Full || res2.Users != 1 {
		t.Errorf("delta after fallback = %+v, want 1 change", res2)
	}
}

func TestReadUsersDeltaPaging(t *testing.T) {
	f := newFixture(t, nil)
	f.server.DeltaPageSize = 10
	addUsers(f.tenant, 30)
	first := readAll(t, f.client, licensing.UserQuery{}, map[string]licensing.DirectoryUser{})
	for i := 1; i <= 25; i++ {
		f.tenant.UpdateUser(userID(i), func(u *graphfake.User) { u.OfficeLocation = "moved" })
	}
	f.server.ResetCounts()
	got := map[string]licensing.DirectoryUser{}
	res := readAll(t, f.client, licensing.UserQuery{DeltaLink: first.DeltaLink}, got)
	if res.Users != 25 || res.Pages != 3 || res.Requests != 3 {
		t.Errorf("result = %+v, want 25 users on 3 pages in 3 requests", res)
	}
}

func TestReadUsersCallbackError(t *testing.T) {
	f := newFixture(t, nil)
	addUsers(f.tenant, 10)
	stop := errors.New("stop here")
	n := 0
	_, err := f.client.ReadUsers(context.Background(), licensing.UserQuery{}, func(licensing.DirectoryUser) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("err = %v after %d users, want the callback's error after 3", err, n)
	}
}

func TestThrottling(t *testing.T) {
	tests := []struct {
		name         string
		faults       []graphfake.Fault
		maxWait      time.Duration
		wantCode     licensing.Code
		wantRequests int
		maxElapsed   time.Duration
		minElapsed   time.Duration
	}{
		{
			name:   "429 twice with Retry-After: the SDK retries",
			faults: []graphfake.Fault{{Endpoint: graphfake.EndpointUsers, Status: 429, RetryAfter: "0", Times: 2}},
			// 1 delta + 2 throttled + 1 page
			wantRequests: 4, maxElapsed: 2 * time.Second,
		},
		{
			name:         "429 storm of 6 with Retry-After: SDK then adapter",
			faults:       []graphfake.Fault{{Endpoint: graphfake.EndpointUsers, Status: 429, RetryAfter: "0", Times: 6}},
			wantRequests: 8, maxElapsed: 2 * time.Second,
		},
		{
			name:         "503 storm without Retry-After: adapter backoff",
			faults:       []graphfake.Fault{{Endpoint: graphfake.EndpointUsers, Status: 503, Times: 5}},
			wantRequests: 7, maxElapsed: 2 * time.Second,
		},
		{
			name:         "503 with Retry-After",
			faults:       []graphfake.Fault{{Endpoint: graphfake.EndpointUsers, Status: 503, RetryAfter: "0", Times: 3}},
			wantRequests: 5, maxElapsed: 2 * time.Second,
		},
		{
			name:         "504 once",
			faults:       []graphfake.Fault{{Endpoint: graphfake.EndpointUsers, Status: 504, Times: 1}},
			wantRequests: 3, maxElapsed: 2 * time.Second,
		},
		{
			name:         "Retry-After is honoured",
			faults:       []graphfake.Fault{{Endpoint: graphfake.EndpointUsers, Status: 429, RetryAfter: "1", Times: 1}},
			wantRequests: 3, minElapsed: time.Second, maxElapsed: 4 * time.Second,
		},
		{
			name:     "storm outlasts the bound",
			faults:   []graphfake.Fault{{Endpoint: graphfake.EndpointUsers, Status: 429, RetryAfter: "1", Times: 100}},
			maxWait:  1500 * time.Millisecond,
			wantCode: licensing.Unavailable,
			// 1 delta + first try + one SDK retry; the next 1 s does not fit.
			wantRequests: 3, minElapsed: time.Second, maxElapsed: 4 * time.Second,
		},
		{
			name:     "Retry-After longer than the bound fails at once",
			faults:   []graphfake.Fault{{Endpoint: graphfake.EndpointUsers, Status: 429, RetryAfter: "120", Times: 1}},
			maxWait:  time.Second,
			wantCode: licensing.Unavailable, wantRequests: 2, maxElapsed: time.Second,
		},
		{
			name:     "503 without Retry-After forever",
			faults:   []graphfake.Fault{{Endpoint: graphfake.EndpointUsers, Status: 503, Times: 1000}},
			maxWait:  200 * time.Millisecond,
			wantCode: licensing.Unavailable, maxElapsed: 2 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) {
				if tt.maxWait > 0 {
					c.MaxRetryWait = tt.maxWait
				}
			})
			addUsers(f.tenant, 20)
			for _, fault := range tt.faults {
				f.server.Inject(fault)
			}
			start := time.Now()
			got := map[string]licensing.DirectoryUser{}
			res, err := f.client.ReadUsers(context.Background(), licensing.UserQuery{}, func(u licensing.DirectoryUser) error {
				got[u.ID] = u
				return nil
			})
			elapsed := time.Since(start)
			if code := licensing.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("error = %v (code %q), want code %q", err, code, tt.wantCode)
			}
			if tt.wantCode == "" && len(got) != 20 {
				t.Errorf("read %d users, want 20", len(got))
			}
			if tt.wantRequests > 0 && (res.Requests != tt.wantRequests || f.server.Total() != tt.wantRequests) {
				t.Errorf("requests: client %d, server %d, want %d", res.Requests, f.server.Total(), tt.wantRequests)
			}
			if res.Requests != f.server.Total() {
				t.Errorf("client counted %d requests, server saw %d", res.Requests, f.server.Total())
			}
			if elapsed > tt.maxElapsed || elapsed < tt.minElapsed {
				t.Errorf("took %v, want between %v and %v", elapsed, tt.minElapsed, tt.maxElapsed)
			}
			if err != nil && !strings.Contains(licensing.ErrorMessage(err), "try again later") {
				t.Errorf("message %q does not tell the caller to try again later", licensing.ErrorMessage(err))
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		fault    graphfake.Fault
		call     func(*Client) error
		wantCode licensing.Code
		wantMsg  string
	}{
		{
			name:     "users 403",
			fault:    graphfake.Fault{Endpoint: graphfake.EndpointUsersDelta, Status: 403},
			call:     readUsers,
			wantCode: licensing.Forbidden, wantMsg: "User.Read.All",
		},
		{
			name:     "users 401",
			fault:    graphfake.Fault{Status: 401},
			call:     readUsers,
			wantCode: licensing.Forbidden, wantMsg: "credentials",
		},
		{
			name:     "skus 403",
			fault:    graphfake.Fault{Status: 403},
			call:     func(c *Client) error { _, err := c.SubscribedSkus(context.Background()); return err },
			wantCode: licensing.Forbidden, wantMsg: "Organization.Read.All",
		},
		{
			name:     "subscriptions 403",
			fault:    graphfake.Fault{Status: 403},
			call:     func(c *Client) error { _, err := c.Subscriptions(context.Background()); return err },
			wantCode: licensing.Forbidden, wantMsg: "Organization.Read.All",
		},
		{
			name:  "group members 403",
			fault: graphfake.Fault{Status: 403},
			call: func(c *Client) error {
				return c.GroupUserMembers(context.Background(), groupE3, func(licensing.GroupMember) error { return nil })
			},
			wantCode: licensing.Forbidden, wantMsg: "GroupMember.Read.All",
		},
		{
			name:     "400 is a bug here",
			fault:    graphfake.Fault{Status: 400, Code: "Request_BadRequest", Message: "bad query"},
			call:     readUsers,
			wantCode: licensing.Internal,
		},
		{
			name:     "500 persistently",
			fault:    graphfake.Fault{Status: 500, Times: 1000},
			call:     readUsers,
			wantCode: licensing.Unavailable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.MaxRetryWait = 100 * time.Millisecond })
			f.tenant.PutGroup(graphfake.Group{ID: groupE3})
			f.server.Inject(tt.fault)
			err := tt.call(f.client)
			if code := licensing.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("error = %v (code %q), want %q", err, code, tt.wantCode)
			}
			var le *licensing.Error
			if !errors.As(err, &le) || le.Op == "" {
				t.Errorf("error %v has no Op", err)
			}
			if !strings.Contains(licensing.ErrorMessage(err), tt.wantMsg) {
				t.Errorf("message %q does not contain %q", licensing.ErrorMessage(err), tt.wantMsg)
			}
		})
	}
}

func readUsers(c *Client) error {
	_, err := c.ReadUsers(context.Background(), licensing.UserQuery{}, func(licensing.DirectoryUser) error { return nil })
	return err
}

// TestBadPayload serves something that is not Graph's JSON.
func TestBadPayload(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		wantCode licensing.Code
	}{
		{"not JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"value": [ {"skuId": `)
		}, licensing.Internal},
		{"empty date-time", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"value":[{"id":"x","createdDateTime":"","nextLifecycleDateTime":""}]}`)
		}, licensing.Internal},
		{"next link elsewhere", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"@odata.nextLink":"https://evil.example.com/v1.0/directory/subscriptions?$skiptoken=x","value":[]}`)
		}, licensing.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := httptest.NewServer(tt.handler)
			defer hs.Close()
			c, err := New(Config{BaseURL: hs.URL + "/v1.0", Auth: AuthNone, MaxRetryWait: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Subscriptions(context.Background())
			if code := licensing.ErrorCode(err); code != tt.wantCode {
				t.Errorf("error = %v (code %q), want %q", err, code, tt.wantCode)
			}
		})
	}
}

func TestNetworkDown(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	url := hs.URL
	hs.Close()
	c, err := New(Config{BaseURL: url + "/v1.0", Auth: AuthNone, MaxRetryWait: 100 * time.Millisecond, RetryDelay: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SubscribedSkus(context.Background())
	if code := licensing.ErrorCode(err); code != licensing.Unavailable {
		t.Errorf("error = %v (code %q), want unavailable", err, code)
	}
}

func TestGroupUserMembers(t *testing.T) {
	f := newFixture(t, nil)
	addUsers(f.tenant, 5)
	// user 5 holds E3 through the group without being listed.
	f.tenant.UpdateUser(userID(5), func(u *graphfake.User) {
		u.Licenses = []graphfake.LicenseState{{SkuID: skuE3, AssignedByGroup: groupE3}}
	})
	nested := "aaaaaaaa-0000-4000-8000-000000000002"
	f.tenant.PutDevice(graphfake.Device{ID: "dddddddd-0000-4000-8000-000000000001", DisplayName: "kiosk"})
	f.tenant.PutDevice(graphfake.Device{ID: "dddddddd-0000-4000-8000-000000000002", DisplayName: "Vendor", Type: "orgContact"})
	f.tenant.PutDevice(graphfake.Device{ID: "dddddddd-0000-4000-8000-000000000003", DisplayName: "Sync app", Type: "servicePrincipal"})
	f.tenant.PutGroup(graphfake.Group{ID: nested, DisplayName: "nested", Members: []string{userID(2), userID(3), groupE3,
		"dddddddd-0000-4000-8000-000000000002", "dddddddd-0000-4000-8000-000000000003"}})
	f.tenant.PutGroup(graphfake.Group{ID: groupE3, DisplayName: "E3 users", Members: []string{
		userID(1), nested, "dddddddd-0000-4000-8000-000000000001", userID(2),
	}})

	tests := []struct {
		name     string
		group    string
		want     []string
		wantCode licensing.Code
	}{
		{"nested, devices, contacts and service principals skipped, each user once", groupE3, []string{userID(1), userID(2), userID(3), userID(5)}, ""},
		{"nested group alone", nested, []string{userID(2), userID(3), userID(1), userID(5)}, ""},
		{"missing group", "aaaaaaaa-0000-4000-8000-0000000000ff", nil, licensing.NotFound},
		{"not a GUID", "E3 users", nil, licensing.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := f.client.GroupUserMembers(context.Background(), tt.group, func(m licensing.GroupMember) error {
				got = append(got, m.ID)
				return nil
			})
			if code := licensing.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("error = %v (code %q), want %q", err, code, tt.wantCode)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}
		})
	}
	wantSelect := sorted(memberFields)
	if diff := cmp.Diff(wantSelect, selected(t, f.server, graphfake.EndpointTransitiveMembers)); diff != "" {
		t.Errorf("$select (-want +got):\n%s", diff)
	}
}

func TestGroupUserMembersPaging(t *testing.T) {
	f := newFixture(t, nil)
	var ids []string
	for i := 1; i <= 2100; i++ {
		u := testUser(i)
		f.tenant.PutUser(u)
		ids = append(ids, u.ID)
	}
	f.tenant.PutGroup(graphfake.Group{ID: groupE3, Members: ids})
	n := 0
	err := f.client.GroupUserMembers(context.Background(), groupE3, func(m licensing.GroupMember) error {
		n++
		return nil
	})
	if err != nil || n != 2100 {
		t.Fatalf("read %d members, err %v; want 2100", n, err)
	}
	if got := f.server.Count(graphfake.EndpointTransitiveMembers); got != 3 {
		t.Errorf("%d requests, want 3", got)
	}
}

func TestSubscribedSkusAndSubscriptions(t *testing.T) {
	f := newFixture(t, nil)
	addUsers(f.tenant, 3) // 3 E3 users
	f.tenant.UpdateUser(userID(3), func(u *graphfake.User) {
		u.Licenses = append(u.Licenses, graphfake.LicenseState{SkuID: skuVisio, Error: "CountViolation"})
	})
	f.tenant.PutSku(graphfake.Sku{SkuID: skuE3, PartNumber: "ENTERPRISEPACK", Enabled: 10, Warning: 2})
	f.tenant.PutSku(graphfake.Sku{SkuID: skuVisio, PartNumber: "VISIOCLIENT", CapabilityStatus: "Suspended", Suspended: 5})
	next := time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)
	f.tenant.PutSubscription(graphfake.Subscription{ID: "sub-1", SkuID: skuE3, PartNumber: "ENTERPRISEPACK", TotalLicenses: 10,
		Created: time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), NextLifecycle: &next})
	f.tenant.PutSubscription(graphfake.Subscription{ID: "sub-2", SkuID: skuVisio, PartNumber: "VISIOCLIENT", TotalLicenses: 5, IsTrial: true, Status: "Warning"})

	skus, err := f.client.SubscribedSkus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantSkus := []licensing.TenantSku{
		{SkuID: skuE3, PartNumber: "ENTERPRISEPACK", CapabilityStatus: "Enabled", Enabled: 10, Warning: 2, Consumed: 3},
		{SkuID: skuVisio, PartNumber: "VISIOCLIENT", CapabilityStatus: "Suspended", Suspended: 5},
	}
	if diff := cmp.Diff(wantSkus, skus); diff != "" {
		t.Errorf("skus (-want +got):\n%s", diff)
	}
	subs, err := f.client.Subscriptions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantSubs := []licensing.TenantSubscription{
		{ID: "sub-1", SkuID: skuE3, PartNumber: "ENTERPRISEPACK", Status: "Enabled", TotalLicenses: 10,
			Created: time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), NextLifecycle: &next},
		{ID: "sub-2", SkuID: skuVisio, PartNumber: "VISIOCLIENT", Status: "Warning", TotalLicenses: 5, IsTrial: true},
	}
	if diff := cmp.Diff(wantSubs, subs); diff != "" {
		t.Errorf("subscriptions (-want +got):\n%s", diff)
	}
}
