package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/blobstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/devkit/demotenant"
	"github.com/shared-tenant/licensetrack/shared/graph"
	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/tablestore"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// snapshotRig is the snapshot path with real parts: the Graph adapter
// (msgraph-sdk-go) against the fake Graph server over HTTP, and Table and
// Blob Storage on Azurite, in tables and a container of its own.
type snapshotRig struct {
	svc    *usage.Service
	gen    *demotenant.Generator
	tenant *graphfake.Tenant
	server *graphfake.Server
	client *graph.Client
	tables *tablestore.Store
	blobs  *blobstore.Store
}

func newSnapshotRig(t testing.TB, users int, maxWait time.Duration) *snapshotRig {
	t.Helper()
	acct := azuritetest.Account(t)
	ctx := context.Background()
	tsvc, err := acct.TableService()
	if err != nil {
		t.Fatal(err)
	}
	bsvc, err := acct.BlobService()
	if err != nil {
		t.Fatal(err)
	}
	name := azuritetest.Name(t, "snap")
	r := &snapshotRig{
		tenant: graphfake.NewTenant(),
		gen:    demotenant.New(demotenant.Options{Seed: 42, Users: users}),
		tables: tablestore.New(tsvc, tablestore.Options{TablePrefix: name}),
		blobs:  blobstore.New(bsvc, name),
	}
	if err := r.tables.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.blobs.Init(ctx); err != nil {
		t.Fatal(err)
	}
	r.gen.Fill(r.tenant)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	r.server = graphfake.NewServer(r.tenant, quiet)
	ts := httptest.NewServer(r.server)
	t.Cleanup(ts.Close)
	r.client, err = graph.New(graph.Config{BaseURL: ts.URL + "/v1.0", Auth: graph.AuthNone, MaxRetryWait: maxWait, RetryDelay: 10 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	auth := licensing.NewAuthorizer(r.tables, []string{"admin@it.example.gov"}, false)
	r.svc = usage.NewService(usage.Config{
		Auth: auth, Runs: licensing.NewRuns(r.tables, auth, nil, nil),
		Agencies: r.tables, Snapshots: r.tables, Files: r.blobs, Directory: r.client,
	})
	agencies := licensing.NewAgencyAdmin(r.tables, auth, nil)
	admin := &licensing.Principal{Name: "admin@it.example.gov"}
	for _, a := range r.gen.Agencies() {
		if _, _, err := agencies.PutAgency(ctx, admin, a.ID, a.Licensing(), licensing.Precondition{}); err != nil {
			t.Fatalf("agency %s: %v", a.ID, err)
		}
	}
	return r
}

func (r *snapshotRig) take(t testing.TB, opts usage.SnapshotOptions) (licensing.Snapshot, []licensing.Usage) {
	t.Helper()
	snap, err := r.svc.TakeSnapshot(context.Background(), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	counts, err := r.tables.SnapshotUsage(context.Background(), snap.ID)
	if err != nil {
		t.Fatal(err)
	}
	return snap, counts
}

// byAgency turns usage rows into agency -> SKU -> users.
func byAgency(counts []licensing.Usage) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, u := range counts {
		if u.Users == 0 {
			continue
		}
		if out[u.Agency] == nil {
			out[u.Agency] = map[string]int{}
		}
		out[u.Agency][u.SkuID] = u.Users
	}
	return out
}

func TestSnapshotAgainstGraphAndAzurite(t *testing.T) {
	const users = 2500
	r := newSnapshotRig(t, users, 5*time.Second)

	// A full read: every user, attributed as the generator intended, in
	// ceil(users/999) pages of /users plus a constant.
	r.server.ResetCounts()
	first, used := r.take(t, usage.SnapshotOptions{})
	counts := r.server.Counts()
	if counts[graphfake.EndpointUsers] != 3 || counts[graphfake.EndpointUsersDelta] != 1 || counts[graphfake.EndpointSubscribedSkus] != 1 {
		t.Errorf("requests for a full read = %v, want 3 pages of /users, 1 delta link, 1 subscribedSkus", counts)
	}
	if !first.Full || first.Users != users {
		t.Fatalf("first snapshot = %+v", first)
	}
	want := map[string]map[string]int{}
	for _, a := range r.gen.Agencies() {
		if len(a.Used) > 0 {
			want[a.ID] = a.Used
		}
	}
	got := byAgency(used)
	delete(got, licensing.Unattributed)
	delete(got, licensing.Conflicted)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("usage per agency differs from the generator's (-want +got):\n%s", diff)
	}
	// Every consumed unit in the tenant is somewhere: an agency, nobody, or
	// several (numbers that add up).
	total := map[string]int{}
	for _, u := range used {
		total[u.SkuID] += u.Users
	}
	for _, sku := range first.Tenant {
		if total[sku.SkuID] != sku.Consumed {
			t.Errorf("%s: %d users in the snapshot, tenant says %d consumed", sku.PartNumber, total[sku.SkuID], sku.Consumed)
		}
	}
	if first.Unattributed == 0 || first.Conflicts == 0 {
		t.Errorf("the demo tenant has unattributed and conflicting users; snapshot says %d and %d", first.Unattributed, first.Conflicts)
	}

	// Changes between runs: an incremental read costs a request or two
	// and gives what a full read gives.
	changed := 0
	for i := 0; i < 40; i++ {
		id := r.gen.UserID(i * 17)
		r.tenant.UpdateUser(id, func(u *graphfake.User) {
			u.Department, u.CompanyName, u.OfficeLocation = "", "", ""
			u.ExtensionAttributes = [15]string{}
			u.UserPrincipalName = "moved" + u.UserPrincipalName[len(u.UserPrincipalName)-1:] + "@nowhere.example.gov"
		})
		changed++
	}
	r.tenant.RemoveUser(r.gen.UserID(3), true)
	r.tenant.RemoveUser(r.gen.UserID(4), false)
	r.server.ResetCounts()
	second, incUsage := r.take(t, usage.SnapshotOptions{})
	if second.Full || second.Changes != changed+2 || r.server.Count(graphfake.EndpointUsers) != 0 {
		t.Errorf("second snapshot: full=%v changes=%d, /users requests %d; want incremental with %d changes and no /users page",
			second.Full, second.Changes, r.server.Count(graphfake.EndpointUsers), changed+2)
	}
	if n := r.server.Count(graphfake.EndpointUsersDelta); n < 1 || n > 2 {
		t.Errorf("incremental read made %d delta requests", n)
	}
	third, fullUsage := r.take(t, usage.SnapshotOptions{Full: true})
	if diff := cmp.Diff(fullUsage, incUsage); diff != "" {
		t.Errorf("incremental usage differs from a full read (-full +incremental):\n%s", diff)
	}
	if third.Users != users-2 || second.Users != users-2 {
		t.Errorf("users: incremental %d, full %d, want %d", second.Users, third.Users, users-2)
	}

	// The delta link expires (410): the next snapshot reads everything.
	r.tenant.ExpireDeltaTokens()
	fourth, _ := r.take(t, usage.SnapshotOptions{})
	if !fourth.Full || len(fourth.Notes) == 0 {
		t.Errorf("after 410: full=%v notes=%v, want a full read with a note", fourth.Full, fourth.Notes)
	}
}

func TestThrottlingStormPublishesNothing(t *testing.T) {
	r := newSnapshotRig(t, 1500, 300*time.Millisecond)
	ctx := context.Background()
	first, _ := r.take(t, usage.SnapshotOptions{})
	files := func() int {
		n := 0
		if err := r.blobs.List(ctx, "snapshots/", func(blobstore.BlobInfo) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := files()

	// A storm that outlasts the bounded wait, on the second page of a full
	// read: the run fails as unavailable and nothing is published.
	r.server.Inject(graphfake.Fault{Endpoint: graphfake.EndpointUsers, Status: 429, RetryAfter: "1", Times: 1000})
	_, err := r.svc.TakeSnapshot(ctx, usage.SnapshotOptions{Full: true}, nil)
	if licensing.ErrorCode(err) != licensing.Unavailable {
		t.Fatalf("err = %v, want unavailable", err)
	}
	latest, err := r.tables.LatestSnapshot(ctx)
	if err != nil || latest.ID != first.ID {
		t.Errorf("latest = %s (%v), want the first snapshot %s", latest.ID, err, first.ID)
	}
	if n := files(); n != before {
		t.Errorf("%d snapshot files, want %d: a failed run must leave no file", n, before)
	}

	// A short storm with Retry-After is ridden out.
	r.server.ClearFaults()
	r.server.Inject(graphfake.Fault{Endpoint: graphfake.EndpointUsers, Status: 429, RetryAfter: "0", Times: 2})
	r.server.Inject(graphfake.Fault{Endpoint: graphfake.EndpointSubscribedSkus, Status: 503, Times: 2})
	snap, err := r.svc.TakeSnapshot(ctx, usage.SnapshotOptions{Full: true}, nil)
	if err != nil || snap.Users != 1500 {
		t.Fatalf("after a short storm: %v, %d users", err, snap.Users)
	}
}

// BenchmarkSnapshot measures a full snapshot and then an incremental one
// after 1,000 users changed, at the sizes in SNAPSHOT_BENCH_USERS (comma-
// separated; default 10000), against the fake Graph over HTTP and Azurite.
// It reports Graph requests, seconds for each, and the process's peak
// resident memory, which includes the fake Graph server in the same process.
// Run with -benchtime 1x: one iteration is a whole full-plus-incremental run.
func BenchmarkSnapshot(b *testing.B) {
	sizes := []int{10000}
	if v := os.Getenv("SNAPSHOT_BENCH_USERS"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("SNAPSHOT_BENCH_USERS: %q is not a size", f)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			r := newSnapshotRig(b, n, time.Minute)
			ctx := context.Background()
			for b.Loop() {
				r.server.ResetCounts()
				start := time.Now()
				full, err := r.svc.TakeSnapshot(ctx, usage.SnapshotOptions{Full: true}, nil)
				if err != nil {
					b.Fatal(err)
				}
				fullTime, fullReqs := time.Since(start), r.server.Total()
				for i := 0; i < 1000 && i < n; i++ {
					r.tenant.UpdateUser(r.gen.UserID(i*(n/1000+1)%n), func(u *graphfake.User) { u.OfficeLocation = "Moved " + u.OfficeLocation })
				}
				r.server.ResetCounts()
				start = time.Now()
				inc, err := r.svc.TakeSnapshot(ctx, usage.SnapshotOptions{}, nil)
				if err != nil {
					b.Fatal(err)
				}
				if inc.Full || inc.Users != full.Users {
					b.Fatalf("incremental snapshot: full=%v users=%d, want %d", inc.Full, inc.Users, full.Users)
				}
				b.ReportMetric(float64(fullReqs), "full-requests")
				b.ReportMetric(fullTime.Seconds(), "full-s")
				b.ReportMetric(float64(r.server.Total()), "incr-requests")
				b.ReportMetric(time.Since(start).Seconds(), "incr-s")
				b.ReportMetric(float64(inc.Changes), "incr-changes")
			}
			var ru syscall.Rusage
			if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
				b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
			}
		})
	}
}
