package graph

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// collect reads q and returns the users passed, in order.
func collect(t *testing.T, c *Client, q licensing.UserQuery) ([]licensing.DirectoryUser, licensing.UserReadResult, error) {
	t.Helper()
	var got []licensing.DirectoryUser
	res, err := c.ReadUsers(context.Background(), q, func(u licensing.DirectoryUser) error {
		got = append(got, u)
		return nil
	})
	return got, res, err
}

func TestReadUsersSegment(t *testing.T) {
	f := newFixture(t, nil)
	for i, upn := range []string{"alice@doa.example.gov", "Bob@doa.example.gov", "carol@doa.example.gov", "o'brien@doa.example.gov", "zed@doa.example.gov"} {
		u := testUser(i + 1)
		u.UserPrincipalName = upn
		f.tenant.PutUser(u)
	}
	seg := licensing.UserSegment{From: "b", To: "o'brien@doa.example.gov"}
	got, res, err := collect(t, f.client, licensing.UserQuery{Segment: seg, NoDeltaLink: true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range got {
		names = append(names, u.UserPrincipalName)
	}
	if diff := cmp.Diff([]string{"Bob@doa.example.gov", "carol@doa.example.gov", "o'brien@doa.example.gov"}, names); diff != "" {
		t.Errorf("segment users (-want +got):\n%s", diff)
	}
	if got[0].Licenses == nil || got[0].Department == "" {
		t.Errorf("a segment user lacks its properties: %+v", got[0])
	}
	if res.Full || res.DeltaLink != "" || res.Cursor != "" || res.Users != 3 || res.Pages != 1 || res.Requests != 1 {
		t.Errorf("result = %+v, want 3 users in one request, not full, no link", res)
	}
	if diff := cmp.Diff(map[string]int{graphfake.EndpointUsers: 1}, f.server.Counts()); diff != "" {
		t.Errorf("requests by endpoint (-want +got):\n%s", diff)
	}
	r := f.server.Requests()[0]
	if want := "userPrincipalName ge 'b' and userPrincipalName le 'o''brien@doa.example.gov'"; r.Query.Get("$filter") != want || r.Query.Get("$top") != "999" {
		t.Errorf("$filter=%q $top=%q, want %q and 999", r.Query.Get("$filter"), r.Query.Get("$top"), want)
	}

	// Without NoDeltaLink the segment's read takes a link first; an end
	// alone is an open segment.
	got, res, err = collect(t, f.client, licensing.UserQuery{Segment: licensing.UserSegment{From: "p"}})
	if err != nil || len(got) != 1 || got[0].UserPrincipalName != "zed@doa.example.gov" || res.DeltaLink == "" || res.Full {
		t.Errorf("open segment: %d users, %+v, %v", len(got), res, err)
	}
}

// TestReadUsersCursorContinuation reads 1500 users in two calls of one page
// each while the directory changes between them: every user is read
// exactly once, the one added during the read included.
func TestReadUsersCursorContinuation(t *testing.T) {
	f := newFixture(t, nil)
	addUsers(f.tenant, 1500)
	seen := map[string]int{}
	q := licensing.UserQuery{MaxPages: 1}
	first, res, err := collect(t, f.client, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 999 || res.Pages != 1 || res.Cursor == "" || res.DeltaLink == "" || res.Full || res.Requests != 2 {
		t.Fatalf("first call: %d users, %+v; want 999 users, a cursor and a delta link", len(first), res)
	}
	for _, u := range first {
		seen[u.ID]++
	}
	// Between the calls: a user already read is renamed and one is added.
	f.tenant.UpdateUser(userID(1), func(u *graphfake.User) { u.UserPrincipalName = "zz-renamed@doa.example.gov" })
	f.tenant.PutUser(testUser(1501))
	q.Cursor = res.Cursor
	rest, res2, err := collect(t, f.client, q)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Cursor != "" || res2.DeltaLink != "" || res2.Pages != 1 || res2.Requests != 1 || res2.Full {
		t.Errorf("second call: %+v; want the last page, no link, not full", res2)
	}
	for _, u := range rest {
		seen[u.ID]++
		if u.Licenses == nil {
			t.Fatalf("continued user without its properties: %+v", u)
		}
	}
	if len(seen) != 1501 {
		t.Errorf("read %d distinct users, want 1501", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("user %s read %d times", id, n)
		}
	}
	if f.server.Count(graphfake.EndpointUsersDelta) != 1 {
		t.Errorf("delta link taken %d times, want once (first call only)", f.server.Count(graphfake.EndpointUsersDelta))
	}
}

func TestReadUsersSignInOnly(t *testing.T) {
	f := newFixture(t, nil)
	addUsers(f.tenant, 600)
	signed := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	f.tenant.UpdateUser(userID(2), func(u *graphfake.User) { u.LastNonInteractiveSignIn = &signed })
	got, res, err := collect(t, f.client, licensing.UserQuery{SignInOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 600 || !res.SignInAvailable || res.SignInNote != "" || res.DeltaLink != "" || res.Full || res.Pages != 2 {
		t.Fatalf("sign-in pass: %d users, %+v", len(got), res)
	}
	want := licensing.DirectoryUser{ID: userID(2), LastSignIn: &signed}
	if diff := cmp.Diff(want, got[1]); diff != "" {
		t.Errorf("user 2 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(licensing.DirectoryUser{ID: userID(1)}, got[0]); diff != "" {
		t.Errorf("user 1, never signed in (-want +got):\n%s", diff)
	}
	for _, r := range f.server.Requests() {
		if r.Endpoint != graphfake.EndpointUsers || r.Query.Get("$top") != "500" || r.Query.Get("$select") != "id,signInActivity" {
			t.Errorf("request %s %v; want /users with $select=id,signInActivity and $top=500", r.Endpoint, r.Query)
		}
	}

	f.tenant.SetSignInActivityForbidden(true)
	f.server.ResetCounts()
	got, res, err = collect(t, f.client, licensing.UserQuery{SignInOnly: true, Segment: licensing.UserSegment{From: "user1"}})
	if err != nil || len(got) != 0 || res.SignInAvailable || !strings.Contains(res.SignInNote, "Entra ID P1") {
		t.Errorf("refused sign-in pass: %d users, %+v, %v; want none, a note, no error", len(got), res, err)
	}
	if diff := cmp.Diff(map[string]int{graphfake.EndpointUsers: 1}, f.server.Counts()); diff != "" {
		t.Errorf("requests by endpoint (-want +got):\n%s", diff)
	}
}

func TestReadUsersLinkOnly(t *testing.T) {
	f := newFixture(t, nil)
	addUsers(f.tenant, 5)
	got, res, err := collect(t, f.client, licensing.UserQuery{LinkOnly: true})
	if err != nil || len(got) != 0 || res.DeltaLink == "" || res.Requests != 1 || res.Full {
		t.Fatalf("LinkOnly: %d users, %+v, %v", len(got), res, err)
	}
	if diff := cmp.Diff(map[string]int{graphfake.EndpointUsersDelta: 1}, f.server.Counts()); diff != "" {
		t.Errorf("requests by endpoint (-want +got):\n%s", diff)
	}
	// A segmented read without a link of its own, with a change made during
	// it; the link then brings the change.
	f.tenant.UpdateUser(userID(3), func(u *graphfake.User) { u.Department = "Technology" })
	if _, _, err := collect(t, f.client, licensing.UserQuery{Segment: licensing.UserSegment{To: "user3"}, NoDeltaLink: true}); err != nil {
		t.Fatal(err)
	}
	changes, delta, err := collect(t, f.client, licensing.UserQuery{DeltaLink: res.DeltaLink, Strict: true})
	if err != nil || len(changes) != 1 || changes[0].ID != userID(3) || changes[0].Department != "Technology" || delta.Full {
		t.Errorf("changes since the link: %+v, %+v, %v", changes, delta, err)
	}
	if f.server.Count(graphfake.EndpointUsersDelta) != 2 {
		t.Errorf("%d delta requests, want 2 (the link, then following it)", f.server.Count(graphfake.EndpointUsersDelta))
	}
}

func TestReadUsersRefusesForeignCursor(t *testing.T) {
	f := newFixture(t, nil)
	addUsers(f.tenant, 3)
	for _, cursor := range []string{
		"https://evil.example.com/v1.0/users?$skiptoken=x",
		strings.Replace(f.url, "http://", "https://", 1) + "/v1.0/users?$skiptoken=x",
		f.url + "/v1.0/groups/" + groupE3 + "/members?$skiptoken=x",
		"users?$skiptoken=x",
	} {
		_, res, err := collect(t, f.client, licensing.UserQuery{Cursor: cursor, MaxPages: 1})
		if licensing.ErrorCode(err) != licensing.Stale || res.Users != 0 {
			t.Errorf("cursor %s: %d users, error %v; want stale", cursor, res.Users, err)
		}
	}
	if f.server.Total() != 0 {
		t.Errorf("the server saw %d requests, want none", f.server.Total())
	}
}

func TestReadUsersExpiredSkiptokenIsStale(t *testing.T) {
	f := newFixture(t, nil)
	addUsers(f.tenant, 1200)
	_, res, err := collect(t, f.client, licensing.UserQuery{MaxPages: 1, NoDeltaLink: true})
	if err != nil || res.Cursor == "" {
		t.Fatalf("first call: %+v, %v", res, err)
	}
	// The fake answers a skiptoken it cannot read with 400
	// Directory_ExpiredPageToken, as Graph answers an expired one.
	u, _ := url.Parse(res.Cursor)
	qv := u.Query()
	qv.Set("$skiptoken", "expired")
	u.RawQuery = qv.Encode()
	_, _, err = collect(t, f.client, licensing.UserQuery{Cursor: u.String()})
	if licensing.ErrorCode(err) != licensing.Stale || !strings.Contains(licensing.ErrorMessage(err), "again from its start") {
		t.Errorf("expired skiptoken (400): %v; want stale, saying to read the segment again", err)
	}
	// 410 Gone on a next link within one call.
	f.server.Inject(graphfake.Fault{Endpoint: graphfake.EndpointUsers, Status: 410})
	_, _, err = collect(t, f.client, licensing.UserQuery{Cursor: res.Cursor})
	if licensing.ErrorCode(err) != licensing.Stale {
		t.Errorf("410 on a next link: %v; want stale", err)
	}
	// A 400 on the first page of a read is no expired position.
	f.server.Inject(graphfake.Fault{Endpoint: graphfake.EndpointUsers, Status: 400})
	_, _, err = collect(t, f.client, licensing.UserQuery{NoDeltaLink: true})
	if licensing.ErrorCode(err) != licensing.Internal {
		t.Errorf("400 on the first page: %v; want internal", err)
	}
}

func TestReadUsersRefusesContradictoryQueries(t *testing.T) {
	f := newFixture(t, nil)
	addUsers(f.tenant, 3)
	for name, q := range map[string]licensing.UserQuery{
		"delta link and segment":  {DeltaLink: f.url + "/v1.0/users/delta()?$deltatoken=x", Segment: licensing.UserSegment{From: "a"}},
		"delta link and MaxPages": {DeltaLink: f.url + "/v1.0/users/delta()?$deltatoken=x", MaxPages: 1},
		"segment inside out":      {Segment: licensing.UserSegment{From: "N", To: "b"}},
		"negative MaxPages":       {MaxPages: -1},
		"LinkOnly and a cursor":   {LinkOnly: true, Cursor: f.url + "/v1.0/users?$skiptoken=x"},
	} {
		_, _, err := collect(t, f.client, q)
		if licensing.ErrorCode(err) != licensing.Invalid || licensing.ErrorMessage(err) == "" {
			t.Errorf("%s: %v; want invalid", name, err)
		}
	}
	if f.server.Total() != 0 {
		t.Errorf("the server saw %d requests, want none", f.server.Total())
	}
}

func TestReadUsersLogsProgress(t *testing.T) {
	var buf bytes.Buffer
	f := newFixture(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&buf, nil)) })
	addUsers(f.tenant, 2500)
	defer func(n int) { progressPages = n }(progressPages)
	progressPages = 2
	if _, _, err := collect(t, f.client, licensing.UserQuery{Segment: licensing.UserSegment{From: "user"}, NoDeltaLink: true}); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.Contains(l, "graph: reading users") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "level=INFO") || !strings.Contains(lines[0], "pages=2 users=1998") ||
		!strings.Contains(lines[0], "segment=\"[user, ]\"") || !strings.Contains(lines[0], "elapsed=") {
		t.Errorf("progress lines:\n%s", strings.Join(lines, "\n"))
	}
}

// TestReadUsersUnreadablePage: a page of users that is not Graph's JSON is
// Internal, and is not asked for again.
func TestReadUsersUnreadablePage(t *testing.T) {
	for name, body := range map[string]string{
		"truncated":     `{"value":[{"id":"x","userPrincipalName":`,
		"bad date-time": `{"value":[{"id":"x","createdDateTime":"yesterday"}]}`,
		"empty":         ``,
	} {
		t.Run(name, func(t *testing.T) {
			requests := 0
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests++
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, body)
			}))
			defer hs.Close()
			c, err := New(Config{BaseURL: hs.URL + "/v1.0", Auth: AuthNone, MaxRetryWait: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = collect(t, c, licensing.UserQuery{NoDeltaLink: true})
			if licensing.ErrorCode(err) != licensing.Internal || requests != 1 {
				t.Errorf("error %v after %d requests; want internal after 1", err, requests)
			}
		})
	}
}
