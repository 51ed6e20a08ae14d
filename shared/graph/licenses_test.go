package graph

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

const skuProject = "beb6439c-caad-48d3-bf46-0c82871e12be"

// newLicenseFixture is a fake tenant with n users (usage location US, E3
// through no group) and 100 Visio units, none in use.
func newLicenseFixture(t *testing.T, n int, mod func(*Config)) *fixture {
	t.Helper()
	f := newFixture(t, mod)
	f.tenant.PutSku(graphfake.Sku{SkuID: skuE3, PartNumber: "ENTERPRISEPACK", Enabled: 1000})
	f.tenant.PutSku(graphfake.Sku{SkuID: skuVisio, PartNumber: "VISIOCLIENT", Enabled: 100})
	f.tenant.PutSku(graphfake.Sku{SkuID: skuProject, PartNumber: "PROJECTPROFESSIONAL", Enabled: 100})
	addUsers(f.tenant, n)
	return f
}

func addVisio(from, to int) []licensing.LicenseChange {
	var out []licensing.LicenseChange
	for i := from; i <= to; i++ {
		out = append(out, licensing.LicenseChange{UserID: userID(i), SkuID: skuVisio})
	}
	return out
}

// outcomes summarises results as "ok" or "code/reason".
func outcomes(rs []licensing.LicenseResult) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = "ok"
		if r.Err != nil {
			out[i] = string(licensing.ErrorCode(r.Err)) + "/" + r.Reason
		}
	}
	return out
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// batchSizes returns how many sub-requests each $batch request carried, and
// whether each came gzipped.
func batchSizes(t *testing.T, s *graphfake.Server) (sizes []int, gzipped []bool) {
	t.Helper()
	for _, r := range s.Requests() {
		if r.Endpoint != graphfake.EndpointBatch {
			continue
		}
		var b struct {
			Requests []json.RawMessage `json:"requests"`
		}
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatalf("batch body %q: %v", r.Body, err)
		}
		sizes = append(sizes, len(b.Requests))
		gzipped = append(gzipped, r.Gzip)
	}
	return sizes, gzipped
}

// assignedOnce checks that every change was applied exactly once.
func assignedOnce(t *testing.T, s *graphfake.Server, want int) {
	t.Helper()
	seen := map[string]int{}
	for _, a := range s.Assignments() {
		seen[a.UserID+" +"+strings.Join(a.Add, ",")+" -"+strings.Join(a.Remove, ",")]++
	}
	n := 0
	for k, v := range seen {
		n += v
		if v != 1 {
			t.Errorf("%s applied %d times", k, v)
		}
	}
	if n != want {
		t.Errorf("%d assignments applied, want %d", n, want)
	}
}

func TestChangeLicensesBatches(t *testing.T) {
	f := newLicenseFixture(t, 45, nil)
	res, err := f.client.ChangeLicenses(context.Background(), addVisio(1, 45))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(repeat("ok", 45), outcomes(res)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	sizes, gzipped := batchSizes(t, f.server)
	if diff := cmp.Diff([]int{20, 20, 5}, sizes); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{true, true, true}, gzipped); diff != "" {
		t.Errorf("gzipped batches (-want +got):\n%s", diff)
	}
	if n := f.server.Count(graphfake.EndpointAssignLicense); n != 45 {
		t.Errorf("%d assignLicense requests, want 45", n)
	}
	if f.server.Total() != 3 || f.client.Requests() != 3 {
		t.Errorf("HTTP requests: server %d, client %d, want 3", f.server.Total(), f.client.Requests())
	}
	assignedOnce(t, f.server, 45)
	for i := 1; i <= 45; i++ {
		u, _ := f.tenant.User(userID(i))
		if !holdsDirect(u, skuVisio) {
			t.Errorf("user %d does not hold Visio: %+v", i, u.Licenses)
		}
	}
}

func holdsDirect(u graphfake.User, sku string) bool {
	for _, l := range u.Licenses {
		if l.SkuID == sku && l.AssignedByGroup == "" && l.Error == "" {
			return true
		}
	}
	return false
}

// TestChangeLicensesSameUserApart checks that two changes of one user never
// share a batch, and that the results keep the input order.
func TestChangeLicensesSameUserApart(t *testing.T) {
	f := newLicenseFixture(t, 3, nil)
	changes := []licensing.LicenseChange{
		{UserID: userID(1), SkuID: skuVisio},
		{UserID: userID(1), SkuID: skuProject},
		{UserID: userID(2), SkuID: skuVisio},
		{UserID: userID(1), SkuID: skuVisio, Remove: true},
		{UserID: userID(3), SkuID: skuVisio},
	}
	res, err := f.client.ChangeLicenses(context.Background(), changes)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(repeat("ok", 5), outcomes(res)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	sizes, _ := batchSizes(t, f.server)
	if diff := cmp.Diff([]int{3, 1, 1}, sizes); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	u, _ := f.tenant.User(userID(1))
	if holdsDirect(u, skuVisio) || !holdsDirect(u, skuProject) {
		t.Errorf("user 1 holds %+v, want Project and not Visio", u.Licenses)
	}
}

// TestChangeLicensesThrottledInBatch checks that a 429 answering one request
// of a batch makes only that request go again, after its Retry-After.
func TestChangeLicensesThrottledInBatch(t *testing.T) {
	f := newLicenseFixture(t, 5, nil)
	f.server.Inject(graphfake.Fault{Endpoint: graphfake.EndpointAssignLicense, Status: 429, RetryAfter: "1"})
	start := time.Now()
	res, err := f.client.ChangeLicenses(context.Background(), addVisio(1, 5))
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("took %v, want at least the Retry-After of 1s", el)
	}
	if diff := cmp.Diff(repeat("ok", 5), outcomes(res)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	sizes, _ := batchSizes(t, f.server)
	if diff := cmp.Diff([]int{5, 1}, sizes); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	if n := f.server.Count(graphfake.EndpointAssignLicense); n != 6 {
		t.Errorf("%d assignLicense requests, want 6 (5 and the throttled one again)", n)
	}
	assignedOnce(t, f.server, 5)
}

// TestChangeLicensesThrottledBeyondBudget checks that requests throttled for
// longer than MaxRetryWait are Unavailable, and later batches are not sent.
func TestChangeLicensesThrottledBeyondBudget(t *testing.T) {
	f := newLicenseFixture(t, 25, func(c *Config) { c.MaxRetryWait = time.Second })
	f.server.Inject(graphfake.Fault{Endpoint: graphfake.EndpointAssignLicense, Status: 429, RetryAfter: "30"})
	res, err := f.client.ChangeLicenses(context.Background(), addVisio(1, 25))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, o := range outcomes(res) {
		got[o]++
	}
	if diff := cmp.Diff(map[string]int{"ok": 19, "unavailable/": 6}, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if n := f.server.Count(graphfake.EndpointBatch); n != 1 {
		t.Errorf("%d batches sent, want 1", n)
	}
	assignedOnce(t, f.server, 19)
}

func TestChangeLicensesRefusals(t *testing.T) {
	f := newLicenseFixture(t, 6, nil)
	f.tenant.PutSku(graphfake.Sku{SkuID: skuProject, PartNumber: "PROJECTPROFESSIONAL", Enabled: 1})
	f.tenant.UpdateUser(userID(1), func(u *graphfake.User) {
		u.Licenses = append(u.Licenses, graphfake.LicenseState{SkuID: skuProject})
	})
	f.tenant.UpdateUser(userID(3), func(u *graphfake.User) { u.UsageLocation = "" })
	f.tenant.SetMutuallyExclusive(skuE3, skuVisio)
	changes := []licensing.LicenseChange{
		{UserID: userID(2), SkuID: skuProject}, // the only unit is user 1's
		{UserID: userID(3), SkuID: skuProject}, // no usage location
		{UserID: userID(4), SkuID: skuVisio},   // user 4 holds E3
		{UserID: userID(99), SkuID: skuVisio},  // no such user
		{UserID: userID(5), SkuID: skuE3},      // already held: fine
		{UserID: userID(6), SkuID: skuE3, Remove: true},
	}
	res, err := f.client.ChangeLicenses(context.Background(), changes)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"invalid/" + licensing.ReasonCountViolation,
		"invalid/" + licensing.ReasonUsageLocation,
		"invalid/" + licensing.ReasonMutuallyExclusive,
		"not-found/" + licensing.ReasonUserNotFound,
		"ok", "ok",
	}
	if diff := cmp.Diff(want, outcomes(res)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if msg := licensing.ErrorMessage(res[0].Err); !strings.Contains(msg, "does not have any available licenses") || !strings.Contains(msg, userID(2)) {
		t.Errorf("message %q should carry Graph's words and the user", msg)
	}
	if n := len(f.server.Assignments()); n != 2 {
		t.Errorf("%d assignments applied, want 2 (the refused ones change nothing)", n)
	}
}

func TestLicenseReason(t *testing.T) {
	tests := []struct {
		code, message string
		want          string
	}{
		{"Request_BadRequest", "Subscription with SKU c5928f49-12ba-48f7-ada3-0d743a3601d5 does not have any available licenses.", licensing.ReasonCountViolation},
		{"Request_BadRequest", "License assignment cannot be done for user with invalid usage location.", licensing.ReasonUsageLocation},
		{"Request_BadRequest", "License assignment failed because service plans 4fa4026d-ce74-4962-a151-8e96d57ea8e4,57ff2da0-773e-42df-b2af-ffb7a2317929 are mutually exclusive.", licensing.ReasonMutuallyExclusive},
		{"Request_BadRequest", "License assignment failed because service plan fe71d6c3-a2ea-4499-9778-da042bf08063 depends on the service plan(s) 5dbe027f-2339-4123-9542-606e4d348a72", licensing.ReasonDependency},
		{"ProhibitedInUsageLocationViolation", "License assignment failed.", licensing.ReasonProhibitedLocation},
		{"Request_BadRequest", "User license is inherited from a group membership and it cannot be removed directly from the user.", "Request_BadRequest"},
		{"", "", "HTTP 400"},
	}
	for _, tt := range tests {
		var e graphError
		e.Error.Code, e.Error.Message = tt.code, tt.message
		if got := licenseReason(e, 400); got != tt.want {
			t.Errorf("licenseReason(%q, %q) = %q, want %q", tt.code, tt.message, got, tt.want)
		}
	}
}

func TestChangeLicensesRemovals(t *testing.T) {
	f := newLicenseFixture(t, 3, nil)
	f.tenant.PutGroup(graphfake.Group{ID: groupE3})
	f.tenant.UpdateUser(userID(3), func(u *graphfake.User) {
		u.Licenses = []graphfake.LicenseState{{SkuID: skuE3, AssignedByGroup: groupE3}}
	})
	changes := []licensing.LicenseChange{
		{UserID: userID(1), SkuID: skuVisio, Remove: true}, // not held: already true
		{UserID: userID(2), SkuID: skuE3, Remove: true},
		{UserID: userID(3), SkuID: skuE3, Remove: true}, // through a group only
	}
	res, err := f.client.ChangeLicenses(context.Background(), changes)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ok", "ok", "invalid/Request_BadRequest"}, outcomes(res)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if u, _ := f.tenant.User(userID(2)); len(u.Licenses) != 0 {
		t.Errorf("user 2 still holds %+v", u.Licenses)
	}
}

// TestChangeLicensesLostAnswers checks that a change whose answer was lost
// is Ambiguous and never sent again.
func TestChangeLicensesLostAnswers(t *testing.T) {
	tests := []struct {
		name    string
		fault   graphfake.Fault
		latency time.Duration
		want    []string
		applied int
		// served is how many assignLicense requests the fake saw.
		served int
	}{
		{"one request answered 500 after acting", graphfake.Fault{Endpoint: graphfake.EndpointAssignLicense, Status: 500, After: true},
			0, []string{"ok", "ok", "ambiguous/"}, 3, 3},
		{"one request answered 500", graphfake.Fault{Endpoint: graphfake.EndpointAssignLicense, Status: 500},
			0, []string{"ok", "ok", "ambiguous/"}, 2, 3},
		{"one request answered 503 without Retry-After", graphfake.Fault{Endpoint: graphfake.EndpointAssignLicense, Status: 503},
			0, []string{"ok", "ok", "ambiguous/"}, 2, 3},
		{"the batch answered 502 after acting", graphfake.Fault{Endpoint: graphfake.EndpointBatch, Status: 502, After: true},
			0, repeat("ambiguous/", 3), 3, 3},
		{"the batch answered 500", graphfake.Fault{Endpoint: graphfake.EndpointBatch, Status: 500},
			0, repeat("ambiguous/", 3), 0, 0},
		{"the batch timed out", graphfake.Fault{}, time.Second, repeat("ambiguous/", 3), 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLicenseFixture(t, 3, func(c *Config) { c.Timeout = 300 * time.Millisecond })
			if tt.fault.Status != 0 {
				f.server.Inject(tt.fault)
			}
			f.server.Latency = tt.latency
			res, err := f.client.ChangeLicenses(context.Background(), addVisio(1, 3))
			if err != nil {
				t.Fatal(err)
			}
			got := outcomes(res)
			// The fake answers a batch's requests last first: the fault
			// lands on the last change.
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			if f.client.Requests() != 1 {
				t.Errorf("%d HTTP requests, want 1: nothing is sent again", f.client.Requests())
			}
			if n := f.server.Count(graphfake.EndpointAssignLicense); n != tt.served {
				t.Errorf("%d assignLicense requests, want %d", n, tt.served)
			}
			assignedOnce(t, f.server, tt.applied)
		})
	}
}

// TestChangeLicensesBatchRetryStaysGzip checks that a throttled $batch is
// sent again as a whole new request: the fake refuses a body labelled gzip
// that is not gzip, which is what the SDK's retry handler would send.
func TestChangeLicensesBatchRetryStaysGzip(t *testing.T) {
	for _, fault := range []graphfake.Fault{
		{Endpoint: graphfake.EndpointBatch, Status: 429, RetryAfter: "0"},
		{Endpoint: graphfake.EndpointBatch, Status: 503, RetryAfter: "1"},
	} {
		t.Run(fault.RetryAfter, func(t *testing.T) {
			f := newLicenseFixture(t, 3, nil)
			f.server.Inject(fault)
			res, err := f.client.ChangeLicenses(context.Background(), addVisio(1, 3))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(repeat("ok", 3), outcomes(res)); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			var statuses []int
			for _, r := range f.server.Requests() {
				if r.Endpoint == graphfake.EndpointBatch {
					statuses = append(statuses, r.Status)
					if !r.Gzip {
						t.Errorf("a batch went out uncompressed")
					}
				}
			}
			if diff := cmp.Diff([]int{fault.Status, 200}, statuses); diff != "" {
				t.Errorf("batch statuses (-want +got):\n%s", diff)
			}
			assignedOnce(t, f.server, 3)
		})
	}
}

func TestChangeLicensesForbidden(t *testing.T) {
	f := newLicenseFixture(t, 25, nil)
	f.server.Inject(graphfake.Fault{Endpoint: graphfake.EndpointBatch, Status: 403})
	res, err := f.client.ChangeLicenses(context.Background(), addVisio(1, 25))
	if licensing.ErrorCode(err) != licensing.Forbidden || !strings.Contains(licensing.ErrorMessage(err), permLicenseWrite) {
		t.Fatalf("err = %v, want forbidden naming %s", err, permLicenseWrite)
	}
	if diff := cmp.Diff(repeat("unavailable/", 25), outcomes(res)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if n := f.server.Count(graphfake.EndpointBatch); n != 1 {
		t.Errorf("%d batches sent, want 1", n)
	}
}

func TestLicenseWriterInvalidInput(t *testing.T) {
	f := newLicenseFixture(t, 1, nil)
	ctx := context.Background()
	_, err := f.client.ChangeLicenses(ctx, []licensing.LicenseChange{
		{UserID: userID(1), SkuID: "VISIOCLIENT"},
		{UserID: "", SkuID: skuVisio},
	})
	fields := licensing.ErrorFields(err)
	if licensing.ErrorCode(err) != licensing.Invalid || len(fields) != 2 ||
		fields[0].Field != "changes[0].skuId" || fields[1].Field != "changes[1].userId" {
		t.Errorf("ChangeLicenses = %v, want invalid naming changes[0].skuId and changes[1].userId", err)
	}
	for _, loc := range []string{"USA", "", "1A", "é"} {
		if _, err := f.client.SetUsageLocations(ctx, []string{userID(1)}, loc); licensing.ErrorCode(err) != licensing.Invalid {
			t.Errorf("SetUsageLocations(%q) = %v, want invalid", loc, err)
		}
	}
	if _, err := f.client.UserLicenses(ctx, "a/b"); licensing.ErrorCode(err) != licensing.Invalid {
		t.Errorf("UserLicenses(a/b) = %v, want invalid", err)
	}
	if res, err := f.client.ChangeLicenses(ctx, nil); err != nil || len(res) != 0 {
		t.Errorf("ChangeLicenses(nil) = %v, %v", res, err)
	}
	if n := f.server.Total(); n != 0 {
		t.Errorf("%d requests sent for bad input, want 0", n)
	}
}

func TestSetUsageLocations(t *testing.T) {
	f := newLicenseFixture(t, 25, nil)
	for i := 1; i <= 25; i++ {
		f.tenant.UpdateUser(userID(i), func(u *graphfake.User) { u.UsageLocation = "" })
	}
	// One PATCH loses its answer once: PATCH is idempotent, so it is sent
	// again and succeeds.
	f.server.Inject(graphfake.Fault{Endpoint: graphfake.EndpointUser, Status: 500, After: true})
	ids := []string{}
	for i := 1; i <= 25; i++ {
		ids = append(ids, userID(i))
	}
	ids = append(ids, userID(99))
	res, err := f.client.SetUsageLocations(context.Background(), ids, "us")
	if err != nil {
		t.Fatal(err)
	}
	want := append(repeat("ok", 25), "not-found/"+licensing.ReasonUserNotFound)
	if diff := cmp.Diff(want, outcomes(res)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	for i := 1; i <= 25; i++ {
		if u, _ := f.tenant.User(userID(i)); u.UsageLocation != "US" {
			t.Errorf("user %d usage location %q, want US", i, u.UsageLocation)
		}
	}
	sizes, _ := batchSizes(t, f.server)
	if diff := cmp.Diff([]int{20, 1, 6}, sizes); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	// Assigning now works: the usage location is what assignLicense needs.
	res, err = f.client.ChangeLicenses(context.Background(), addVisio(1, 1))
	if err != nil || res[0].Err != nil {
		t.Errorf("ChangeLicenses after the usage location = %v, %v", res, err)
	}
}

func TestSetUsageLocationsLostTwice(t *testing.T) {
	f := newLicenseFixture(t, 1, nil)
	f.server.Inject(graphfake.Fault{Endpoint: graphfake.EndpointUser, Status: 500, Times: 2})
	res, err := f.client.SetUsageLocations(context.Background(), []string{userID(1)}, "CA")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ambiguous/"}, outcomes(res)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if n := f.server.Count(graphfake.EndpointUser); n != 2 {
		t.Errorf("%d PATCH requests, want 2: a lost PATCH is sent once more, not again", n)
	}
}

func TestUserLicenses(t *testing.T) {
	f := newLicenseFixture(t, 1, nil)
	f.tenant.PutGroup(graphfake.Group{ID: groupE3})
	f.tenant.UpdateUser(userID(1), func(u *graphfake.User) {
		u.Licenses = []graphfake.LicenseState{
			{SkuID: skuE3, AssignedByGroup: groupE3},
			{SkuID: skuE3},
			{SkuID: skuVisio, Error: "CountViolation"},
		}
	})
	got, err := f.client.UserLicenses(context.Background(), strings.ToUpper(userID(1)))
	if err != nil {
		t.Fatal(err)
	}
	want := []licensing.UserLicense{
		{SkuID: skuE3, Direct: true, Groups: []string{groupE3}},
		{SkuID: skuVisio, Direct: true, Error: "CountViolation"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("licenses (-want +got):\n%s", diff)
	}
	r := f.server.Requests()
	if len(r) != 1 || r[0].Query.Get("$select") != "id,assignedLicenses,licenseAssignmentStates" {
		t.Errorf("requests %+v, want one GET with $select", r)
	}
	if _, err := f.client.UserLicenses(context.Background(), userID(2)); licensing.ErrorCode(err) != licensing.NotFound {
		t.Errorf("UserLicenses(missing) = %v, want not-found", err)
	}
}
