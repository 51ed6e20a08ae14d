package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/blobstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/graph"
	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/outbox"
	"github.com/shared-tenant/licensetrack/shared/provisioning"
	"github.com/shared-tenant/licensetrack/shared/tablestore"
)

// provBenchStore is what the provisioning service keeps its state in.
type provBenchStore interface {
	licensing.AgencyStore
	licensing.RunStore
	licensing.PurchaseStore
	licensing.ProvisioningStore
	licensing.EffectStore
}

// provBenchProducts are the delegated products of every agency.
var provBenchProducts = []struct{ sku, part string }{
	{skuVisio, "VISIOCLIENT"},
	{skuProject, "PROJECTPROFESSIONAL"},
	{"f8a1db68-be16-40ed-86d5-cb42ce701560", "POWER_BI_PRO"},
}

// provBenchCapFactors set each group's cap from its size: the first two
// leave a waitlist, the last two free seats.
var provBenchCapFactors = []float64{0.6, 0.9, 1.2, 1.5}

// provBenchGroup is one agency's delegated group of one product.
type provBenchGroup struct {
	agency  string
	product int
	id      string
	cap     int
	// members are user numbers.
	members []int
}

// provBench is capped group provisioning with real parts: the Graph
// adapter against the fake Graph over HTTP (no latency), and a store (the
// in-memory one, or Table Storage on Azurite) with the outbox for mail.
type provBench struct {
	b      *testing.B
	tenant *graphfake.Tenant
	server *graphfake.Server
	client *graph.Client
	store  provBenchStore
	files  licensing.FileStore
	rng    *rand.Rand
	groups []*provBenchGroup
	users  int
	quiet  *slog.Logger
	// now is the clock, in nanoseconds since 1970.
	now atomic.Int64
}

func provBenchUserID(n int) string { return fmt.Sprintf("b0000000-0000-4000-8000-%012d", n) }

// clock is the benchmark's time, which the runs read from many goroutines.
func (p *provBench) clock() time.Time { return time.Unix(0, p.now.Load()).UTC() }

func (p *provBench) advance(d time.Duration) { p.now.Add(int64(d)) }

// provBenchGroupSizes spreads total members over n groups unevenly (sizes
// falling as rank^-0.8: a few groups of thousands, many of tens), in a
// random order.
func provBenchGroupSizes(n, total int, rng *rand.Rand) []int {
	w := make([]float64, n)
	var sum float64
	for i := range w {
		w[i] = 1 / math.Pow(float64(i+1), 0.8)
		sum += w[i]
	}
	sizes := make([]int, n)
	placed := 0
	for i := range w {
		sizes[i] = max(3, int(float64(total)*w[i]/sum))
		placed += sizes[i]
	}
	sizes[0] += total - placed
	rng.Shuffle(n, func(i, j int) { sizes[i], sizes[j] = sizes[j], sizes[i] })
	return sizes
}

// newProvBench builds a tenant of agencies × 3 products with members spread
// over the groups, each group's cap bought as one purchase line, and the
// tenant's units enough for every cap.
func newProvBench(b *testing.B, store provBenchStore, files licensing.FileStore, agencies, members int) *provBench {
	b.Helper()
	ctx := context.Background()
	p := &provBench{b: b, tenant: graphfake.NewTenant(), store: store, files: files,
		rng: rand.New(rand.NewPCG(7, 11))}
	p.now.Store(time.Date(2026, 11, 2, 15, 0, 0, 0, time.UTC).UnixNano())
	quiet := slog.New(slog.DiscardHandler)
	p.quiet = quiet
	p.server = graphfake.NewServer(p.tenant, quiet)
	ts := httptest.NewServer(p.server)
	b.Cleanup(ts.Close)
	var err error
	p.client, err = graph.New(graph.Config{BaseURL: ts.URL + "/v1.0", Auth: graph.AuthNone, MaxRetryWait: time.Minute, RetryDelay: 10 * time.Millisecond, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	auth := licensing.NewAuthorizer(store, []string{provAdmin}, false)
	admin := licensing.NewAgencyAdmin(store, auth, nil)
	sizes := provBenchGroupSizes(agencies*len(provBenchProducts), members, p.rng)
	units := make([]int, len(provBenchProducts))
	var lines []licensing.Purchase
	at := p.clock().AddDate(0, -4, 0)
	termStart, termEnd := licensing.DateOf(at, time.UTC), licensing.DateOf(at.AddDate(1, 0, 0), time.UTC)
	for a := range agencies {
		id := fmt.Sprintf("AG%03d", a)
		domain := strings.ToLower(id) + ".example.gov"
		ag := licensing.Agency{ID: id, Name: "Agency " + id, Contacts: []string{"licensing@" + domain}, Delegates: []string{"delegate@" + domain},
			Attribution: licensing.AttributionRule{Attribute: licensing.AttrUPNDomain, Values: []string{domain}}}
		for k, prod := range provBenchProducts {
			i := a*len(provBenchProducts) + k
			g := &provBenchGroup{agency: id, product: k, id: fmt.Sprintf("6f1c0f55-0000-4000-8000-%06d%06d", a, k),
				cap: max(1, int(float64(sizes[i])*provBenchCapFactors[i%len(provBenchCapFactors)]))}
			for range sizes[i] {
				g.members = append(g.members, p.newUser(g))
			}
			p.groups = append(p.groups, g)
			units[k] += g.cap + sizes[i]
			ag.DelegatedGroups = append(ag.DelegatedGroups, licensing.DelegatedGroup{Product: prod.part, GroupID: g.id})
			lines = append(lines, licensing.Purchase{ID: id + "-" + prod.part, Agency: id, SkuID: prod.sku, PartNumber: prod.part, Quantity: g.cap,
				TermStart: termStart, TermEnd: termEnd, PONumber: "PO-" + id + "-" + strconv.Itoa(k),
				Source: "bench", ActivatedAt: &at, Created: at, CreatedBy: provAdmin})
		}
		if _, _, err := admin.PutAgency(ctx, &licensing.Principal{Name: provAdmin}, id, ag, licensing.Precondition{}); err != nil {
			b.Fatalf("agency %s: %v", id, err)
		}
	}
	if _, err := store.AddPurchases(ctx, lines, provAdmin, "benchmark purchases"); err != nil {
		b.Fatal(err)
	}
	for k, prod := range provBenchProducts {
		p.tenant.PutSku(graphfake.Sku{SkuID: prod.sku, PartNumber: prod.part, CapabilityStatus: "Enabled", Enabled: units[k]})
	}
	for _, g := range p.groups {
		p.putGroup(g)
	}
	return p
}

// newUser adds a user to the tenant for group g and returns its number:
// every 50th has no usage location (the default is set first), every 40th
// is disabled, every 100th holds g's product from a direct assignment
// (licensed elsewhere, never touched).
func (p *provBench) newUser(g *provBenchGroup) int {
	p.users++
	n := p.users
	u := graphfake.User{ID: provBenchUserID(n), UserPrincipalName: fmt.Sprintf("user%06d@%s.example.gov", n, strings.ToLower(g.agency)),
		DisplayName: fmt.Sprintf("User %d", n), UsageLocation: "US", AccountEnabled: n%40 != 0, Created: p.clock().AddDate(-1, 0, 0)}
	if n%50 == 0 {
		u.UsageLocation = ""
	}
	if n%100 == 7 {
		u.Licenses = []graphfake.LicenseState{{SkuID: provBenchProducts[g.product].sku}}
	}
	p.tenant.PutUser(u)
	return n
}

func (p *provBench) putGroup(g *provBenchGroup) {
	ids := make([]string, len(g.members))
	for i, n := range g.members {
		ids[i] = provBenchUserID(n)
	}
	p.tenant.PutGroup(graphfake.Group{ID: g.id, DisplayName: g.agency + " " + provBenchProducts[g.product].part, Members: ids})
}

// churn changes share of the memberships: half of the changes are members
// leaving their group (one in ten of them deleted from the tenant), half
// new users joining a group picked in proportion to its size. It returns
// how many leavers held a seat (held: the users assigned so far).
func (p *provBench) churn(share float64, held map[string]bool) (leavers, seatHolders, joiners int) {
	total := 0
	for _, g := range p.groups {
		total += len(g.members)
	}
	changes := int(float64(total) * share)
	changed := map[*provBenchGroup]bool{}
	// pick returns a group in proportion to its size.
	pick := func() *provBenchGroup {
		i := p.rng.IntN(total)
		for _, g := range p.groups {
			if i < len(g.members) {
				return g
			}
			i -= len(g.members)
		}
		return p.groups[len(p.groups)-1]
	}
	for leavers < changes/2 {
		g := pick()
		if len(g.members) <= 1 {
			continue
		}
		i := p.rng.IntN(len(g.members))
		n := g.members[i]
		g.members[i] = g.members[len(g.members)-1]
		g.members = g.members[:len(g.members)-1]
		total--
		if held[provBenchUserID(n)] {
			seatHolders++
		}
		if leavers%10 == 0 {
			p.tenant.RemoveUser(provBenchUserID(n), true)
		}
		changed[g] = true
		leavers++
	}
	for ; joiners < changes-changes/2; joiners++ {
		g := pick()
		g.members = append(g.members, p.newUser(g))
		total++
		changed[g] = true
	}
	for g := range changed {
		p.putGroup(g)
	}
	return leavers, seatHolders, joiners
}

func (p *provBench) service() *provisioning.Service {
	auth := licensing.NewAuthorizer(p.store, []string{provAdmin}, false)
	return provisioning.NewService(provisioning.Config{
		Auth: auth, Runs: licensing.NewRuns(p.store, auth, p.clock, nil), Agencies: p.store, Purchases: p.store, Seats: p.store,
		Directory: p.client, Licenses: p.client, Mailer: outbox.New(p.files, "licensing@it.example.gov", outbox.WithLogger(p.quiet)),
		Effects: licensing.NewEffects(p.store, p.clock, time.Minute), Now: p.clock,
		DefaultUsageLocation: "US", CentralIT: []string{"licensing@it.example.gov"},
	})
}

// provBenchRun is what one run did and cost.
type provBenchRun struct {
	name                  string
	adds, removes, waits  int
	locations             int // assignments that set the usage location first
	writes, reads         int
	members               int // transitive member pages read
	elapsed               time.Duration
	heapBefore, heapPeak  uint64
	allocated             uint64
	peakRSS               float64
	mailed, resultBatches int
	// target is the most write requests the run may make: each agency's
	// changes 20 to a request, plus its usage locations 20 to a request
	// (an agency is one piece of the run, and batches its own groups).
	target int
}

func (r provBenchRun) changes() int { return r.adds + r.removes }

// budget is the most write requests the run may make (target).
func (r provBenchRun) budget() int { return r.target }

// run makes one provisioning run, measuring its time, Graph requests and
// memory: the peak of the heap in use (objects and their spans' free
// space, sampled every millisecond), what it allocated, and the process's
// peak resident set during the run (since the start of the process where
// the peak cannot be reset).
func (p *provBench) run(name string, held map[string]bool) provBenchRun {
	p.b.Helper()
	svc := p.service()
	p.server.ResetCounts()
	runtime.GC()
	resetPeakRSSProv()
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(samples)
	r := provBenchRun{name: name, heapBefore: samples[0].Value.Uint64() + samples[1].Value.Uint64()}
	allocBefore := samples[2].Value.Uint64()
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		s := samples[:2:2]
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			r.heapPeak = max(r.heapPeak, s[0].Value.Uint64()+s[1].Value.Uint64())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	start := time.Now()
	res, err := svc.Run(context.Background(), provisioning.Options{Trigger: "bench"}, nil)
	r.elapsed = time.Since(start)
	close(stop)
	<-done
	if err != nil {
		p.b.Fatalf("%s: %v", name, err)
	}
	metrics.Read(samples)
	r.allocated = samples[2].Value.Uint64() - allocBefore
	r.peakRSS = peakRSSProv()
	for _, a := range res.Agencies {
		changes, locations := 0, 0
		for _, pr := range a.Products {
			if pr.Problem != "" {
				p.b.Fatalf("%s: %s %s: %s", name, a.Agency, pr.PartNumber, pr.Problem)
			}
			r.adds += pr.Added
			r.removes += pr.Removed
			r.waits += pr.Waiting
			changes += pr.Added + pr.Removed
			for _, l := range pr.Plan {
				if l.Kind == provisioning.Assign && l.SetLocation {
					r.locations++
					locations++
				}
				if l.Kind == provisioning.Assign && l.Outcome == "done" {
					held[l.UserID] = true
				}
				if l.Kind == provisioning.Remove && l.Outcome == "done" {
					delete(held, l.UserID)
				}
			}
		}
		r.target += (changes+19)/20 + (locations+19)/20
	}
	r.writes = p.server.Count(graphfake.EndpointBatch)
	r.reads = p.server.Total() - r.writes
	r.members = p.server.Count(graphfake.EndpointTransitiveMembers)
	r.mailed, r.resultBatches = res.Mailed, res.Batches
	return r
}

// BenchmarkProvisioning runs capped group provisioning three times over a
// tenant of 200 agencies × 3 products with 100,000 members spread unevenly
// over the 600 groups, caps leaving some groups a waitlist and others free
// seats: run 1 licenses everyone (cold), then a fifth of the memberships
// change (leavers, seat holders among them, and newcomers) and run 2
// settles it, and run 3 follows no change. It prints per run the changes
// made, the write requests ($batch) against the sum over the agencies of
// ceil(changes/20) (each agency is a piece of its own), the read
// requests, the time and the memory. The store is the in-memory one, so
// the figures are the workflow's and Graph's; the Azurite variant (20
// agencies, 10,000 members) adds Table Storage's cost. Figures are never
// asserted; a run 3 that writes anything, or a run whose write requests
// exceed each agency's changes 20 to a request (plus its usage locations
// set, 20 to a request), fails the benchmark. Run with -benchtime 1x: one iteration
// is a whole three-run scenario, set-up included.
func BenchmarkProvisioning(b *testing.B) {
	b.Run("memstore/agencies=200/members=100000", func(b *testing.B) {
		for b.Loop() {
			m := memstore.New()
			provBenchScenario(b, newProvBench(b, m, m, 200, 100000))
		}
	})
	b.Run("azurite/agencies=20/members=10000", func(b *testing.B) {
		tsvc, bsvc := azuritetest.TableService(b), azuritetest.BlobService(b)
		for b.Loop() {
			name := azuritetest.Name(b, "pbench")
			tables, blobs := tablestore.New(tsvc, tablestore.Options{TablePrefix: name}), blobstore.New(bsvc, name)
			if err := tables.Init(context.Background()); err != nil {
				b.Fatal(err)
			}
			if err := blobs.Init(context.Background()); err != nil {
				b.Fatal(err)
			}
			provBenchScenario(b, newProvBench(b, tables, blobs, 20, 10000))
		}
	})
}

func provBenchScenario(b *testing.B, p *provBench) {
	held := map[string]bool{}
	var runs []provBenchRun
	runs = append(runs, p.run("run1-cold", held))
	p.advance(time.Hour)
	leavers, holders, joiners := p.churn(0.2, held)
	runs = append(runs, p.run("run2-churn", held))
	p.advance(time.Hour)
	runs = append(runs, p.run("run3-nochange", held))

	var out strings.Builder
	fmt.Fprintf(&out, "%s: %d groups, %d users; between runs 1 and 2: %d left (%d holding a seat), %d joined\n",
		b.Name(), len(p.groups), p.users, leavers, holders, joiners)
	fmt.Fprintf(&out, "%-14s %7s %7s %8s %6s %7s %7s %6s %7s %6s %9s %9s %9s %9s %9s %6s\n", "run", "adds", "removes", "changes",
		"locs", "writes", "target", "reads", "pages", "waits", "seconds", "heap0-MiB", "peak-MiB", "alloc-MiB", "RSS-MiB", "mailed")
	for _, r := range runs {
		fmt.Fprintf(&out, "%-14s %7d %7d %8d %6d %7d %7d %6d %7d %6d %9.2f %9.1f %9.1f %9.1f %9.1f %6d\n", r.name, r.adds, r.removes, r.changes(),
			r.locations, r.writes, r.budget(), r.reads, r.members, r.waits, r.elapsed.Seconds(), mib(r.heapBefore), mib(r.heapPeak), mib(r.allocated), r.peakRSS, r.mailed)
		prefix := strings.SplitN(r.name, "-", 2)[0] + "-"
		b.ReportMetric(float64(r.changes()), prefix+"changes")
		b.ReportMetric(float64(r.writes), prefix+"writes")
		b.ReportMetric(float64(r.reads), prefix+"reads")
		b.ReportMetric(r.elapsed.Seconds(), prefix+"s")
		b.ReportMetric(mib(r.heapPeak), prefix+"peak-heap-MiB")
		b.ReportMetric(mib(r.allocated), prefix+"alloc-MiB")
	}
	b.ReportMetric(runs[len(runs)-1].peakRSS, "peak-RSS-MiB")
	fmt.Print(out.String())

	for _, r := range runs {
		if r.writes != r.resultBatches {
			b.Errorf("%s: the fake Graph counted %d write requests, the run's result %d", r.name, r.writes, r.resultBatches)
		}
		if r.writes > r.budget() {
			b.Errorf("%s: %d write requests for %d changes and %d usage locations; want at most %d (20 to a request)",
				r.name, r.writes, r.changes(), r.locations, r.budget())
		}
	}
	if last := runs[len(runs)-1]; last.writes != 0 || last.changes() != 0 {
		b.Errorf("%s: %d write requests and %d changes after no change; want none", last.name, last.writes, last.changes())
	}
	if runs[0].adds == 0 || runs[1].adds == 0 || runs[1].removes == 0 {
		b.Errorf("the scenario changed too little: run 1 added %d, run 2 added %d and removed %d", runs[0].adds, runs[1].adds, runs[1].removes)
	}
	if b.Failed() {
		b.FailNow()
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// resetPeakRSSProv sets the process's resident-set high-water mark back to
// its current resident set where Linux allows it (clear_refs 5); elsewhere
// the peak runs from the start of the process.
func resetPeakRSSProv() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSProv returns the peak resident set in MiB: VmHWM on Linux (since
// the last reset), else the process's maxrss.
func peakRSSProv() float64 {
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range bytes.Split(status, []byte("\n")) {
			if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
				if kb, err := strconv.ParseFloat(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))), 64); err == nil {
					return kb / 1024
				}
			}
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		return float64(ru.Maxrss) / 1024
	}
	return 0
}
