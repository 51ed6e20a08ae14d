package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/blobstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/graph"
	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/outbox"
	"github.com/shared-tenant/licensetrack/shared/provisioning"
	"github.com/shared-tenant/licensetrack/shared/tablestore"
)

const (
	skuProject = "53818b1b-4a27-454b-8896-0dba576410e6"
	doaGroup   = "6f1c0f55-1b1b-4c4c-9d9d-00000000d0a1"
	doaNested  = "6f1c0f55-1b1b-4c4c-9d9d-00000000d0a2"
	doaDevice  = "6f1c0f55-1b1b-4c4c-9d9d-00000000dede"
	provAdmin  = "admin@it.example.gov"
	doaPat     = "pat@doa.example.gov"
	detLee     = "lee@det.example.gov"
)

// provisionRig is provisioning with real parts: the Graph adapter against the
// fake Graph over HTTP, the tables and the outbox on Azurite, and a clock the
// test moves.
type provisionRig struct {
	t      *testing.T
	tenant *graphfake.Tenant
	server *graphfake.Server
	client *graph.Client
	tables *tablestore.Store
	blobs  *blobstore.Store
	mu     sync.Mutex
	now    time.Time
	// writer and mailer may be wrapped by a test (to stop a run half-way).
	writer licensing.LicenseWriter
	mailer licensing.Mailer
	// location is DEFAULT_USAGE_LOCATION.
	location string
	// directory, when set, reads the tenant in place of client; work
	// receives the pieces of Start.
	directory licensing.Directory
	work      licensing.WorkQueue
}

// userID is the object id of test user n.
func userID(n int) string { return fmt.Sprintf("0000000%d-aaaa-4bbb-8ccc-%012d", n%10, n) }

// upTo lists the user numbers 1 to n.
func upTo(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func upn(n int) string { return fmt.Sprintf("u%02d@doa.example.gov", n) }

func newProvisionRig(t *testing.T, visioUnits int) *provisionRig {
	t.Helper()
	ctx := context.Background()
	name := azuritetest.Name(t, "prov")
	r := &provisionRig{t: t, tenant: graphfake.NewTenant(), now: time.Date(2026, 11, 2, 15, 0, 0, 0, time.UTC),
		tables: tablestore.New(azuritetest.TableService(t), tablestore.Options{TablePrefix: name}),
		blobs:  blobstore.New(azuritetest.BlobService(t), name)}
	if err := r.tables.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.blobs.Init(ctx); err != nil {
		t.Fatal(err)
	}
	r.tenant.PutSku(graphfake.Sku{SkuID: skuVisio, PartNumber: "VISIOCLIENT", CapabilityStatus: "Enabled", Enabled: visioUnits})
	r.tenant.PutSku(graphfake.Sku{SkuID: skuProject, PartNumber: "PROJECTPROFESSIONAL", CapabilityStatus: "Enabled", Enabled: 10})
	for n := 1; n <= 60; n++ {
		r.tenant.PutUser(graphfake.User{ID: userID(n), UserPrincipalName: upn(n), DisplayName: fmt.Sprintf("User %d", n),
			UsageLocation: "US", AccountEnabled: true, Created: r.now.AddDate(-1, 0, 0)})
	}
	r.tenant.PutDevice(graphfake.Device{ID: doaDevice, DisplayName: "DOA kiosk"})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	r.server = graphfake.NewServer(r.tenant, quiet)
	ts := httptest.NewServer(r.server)
	t.Cleanup(ts.Close)
	var err error
	r.client, err = graph.New(graph.Config{BaseURL: ts.URL + "/v1.0", Auth: graph.AuthNone, MaxRetryWait: 10 * time.Second, RetryDelay: 10 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	r.writer = r.client
	r.mailer = outbox.New(r.blobs, "licensing@it.example.gov")
	auth := licensing.NewAuthorizer(r.tables, []string{provAdmin}, false)
	for _, a := range []licensing.Agency{
		{ID: "DOA", Name: "Administration", Contacts: []string{"licensing@doa.example.gov"}, Delegates: []string{doaPat},
			Attribution:     licensing.AttributionRule{Attribute: licensing.AttrUPNDomain, Values: []string{"doa.example.gov"}},
			DelegatedGroups: []licensing.DelegatedGroup{{Product: "VISIOCLIENT", GroupID: doaGroup}}},
		{ID: "DET", Name: "Technology", Contacts: []string{"x@det.example.gov"}, Delegates: []string{detLee},
			Attribution: licensing.AttributionRule{Attribute: licensing.AttrUPNDomain, Values: []string{"det.example.gov"}}},
	} {
		if _, _, err := licensing.NewAgencyAdmin(r.tables, auth, nil).PutAgency(ctx, &licensing.Principal{Name: provAdmin}, a.ID, a, licensing.Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func (r *provisionRig) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func (r *provisionRig) advance(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = r.now.Add(d)
}

func (r *provisionRig) set(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = t
}

// service builds the service as the app does, with the rig's parts.
func (r *provisionRig) service() *provisioning.Service {
	auth := licensing.NewAuthorizer(r.tables, []string{provAdmin}, false)
	var dir licensing.Directory = r.client
	if r.directory != nil {
		dir = r.directory
	}
	return provisioning.NewService(provisioning.Config{
		Auth: auth, Runs: licensing.NewRuns(r.tables, auth, r.clock, nil), Agencies: r.tables, Purchases: r.tables, Seats: r.tables,
		Directory: dir, Licenses: r.writer, Mailer: r.mailer,
		Effects: licensing.NewEffects(r.tables, r.clock, time.Second), Now: r.clock,
		DefaultUsageLocation: r.location, CentralIT: []string{"licensing@it.example.gov"}, Work: r.work,
	})
}

// group makes the DOA group: users members listed directly, and nested
// ones in a nested group, with the kiosk device beside them.
func (r *provisionRig) group(direct []int, nested ...int) {
	ids := []string{doaDevice, doaNested}
	for _, n := range direct {
		ids = append(ids, userID(n))
	}
	var inner []string
	for _, n := range nested {
		inner = append(inner, userID(n))
	}
	r.tenant.PutGroup(graphfake.Group{ID: doaNested, DisplayName: "DOA Visio (contractors)", Members: inner})
	r.tenant.PutGroup(graphfake.Group{ID: doaGroup, DisplayName: "DOA Visio", Members: ids})
}

// buy records a purchase line of DOA in force from start to end.
func (r *provisionRig) buy(id string, qty int, start, end string, replaces ...string) {
	r.t.Helper()
	at := r.clock().AddDate(-2, 0, 0)
	p := licensing.Purchase{ID: id, Agency: "DOA", SkuID: skuVisio, PartNumber: "VISIOCLIENT", Quantity: qty,
		TermStart: mustDate(r.t, start), TermEnd: mustDate(r.t, end), PONumber: "PO-" + id, Source: "test", Replaces: replaces,
		ActivatedAt: &at, Created: at, CreatedBy: provAdmin}
	if _, err := r.tables.AddPurchases(context.Background(), []licensing.Purchase{p}, provAdmin, "test purchase"); err != nil {
		r.t.Fatal(err)
	}
}

func mustDate(t *testing.T, s string) licensing.Date {
	d, err := licensing.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (r *provisionRig) run(dry bool) provisioning.Result {
	r.t.Helper()
	res, err := r.service().Run(context.Background(), provisioning.Options{DryRun: dry, Trigger: "test"}, nil)
	if err != nil {
		r.t.Fatalf("run: %v", err)
	}
	return res
}

// seats returns DOA's remembered members by UPN.
func (r *provisionRig) seats() map[string]licensing.SeatMember {
	r.t.Helper()
	list, err := r.tables.SeatMembers(context.Background(), "DOA", skuVisio)
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]licensing.SeatMember{}
	for _, m := range list {
		out[m.UserPrincipalName] = m
	}
	return out
}

// holders lists the users holding Visio, by user number.
func (r *provisionRig) holders() []int {
	var out []int
	for n := 1; n <= 60; n++ {
		u, _ := r.tenant.User(userID(n))
		for _, l := range u.Licenses {
			if l.SkuID == skuVisio && l.Error == "" {
				out = append(out, n)
			}
		}
	}
	return out
}

// adds counts the assignLicense calls that added Visio, per user number.
func (r *provisionRig) adds() map[int]int {
	out := map[int]int{}
	for _, a := range r.server.Assignments() {
		for n := 1; n <= 60; n++ {
			if a.UserID == userID(n) && contains(a.Add, skuVisio) {
				out[n]++
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// mails lists the outbox's messages whose file names contain part.
func (r *provisionRig) mails(part string) []string {
	r.t.Helper()
	var names []string
	err := r.blobs.List(context.Background(), "outbox/", func(b blobstore.BlobInfo) error {
		if strings.Contains(b.Name, part) {
			names = append(names, b.Name)
		}
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
	sort.Strings(names)
	return names
}

// mailText returns the text of the one outbox message whose name contains part.
func (r *provisionRig) mailText(part string) string {
	r.t.Helper()
	names := r.mails(part)
	if len(names) != 1 {
		r.t.Fatalf("mails %q = %v; want one", part, names)
	}
	rc, err := r.blobs.Open(context.Background(), names[0])
	if err != nil {
		r.t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

func plans(res provisioning.Result) string {
	var out []string
	for _, a := range res.Agencies {
		for _, p := range a.Products {
			for _, l := range p.Plan {
				if l.Kind != provisioning.Elsewhere {
					out = append(out, l.Kind+" "+strings.TrimSuffix(l.UserPrincipalName, "@doa.example.gov"))
				}
			}
		}
	}
	return strings.Join(out, ", ")
}

func product(t *testing.T, res provisioning.Result) provisioning.ProductResult {
	t.Helper()
	if len(res.Agencies) != 1 || len(res.Agencies[0].Products) != 1 {
		t.Fatalf("result = %+v; want one agency with one product", res)
	}
	return res.Agencies[0].Products[0]
}

// TestProvisioningWaitlistLeaversAndLoweredCap walks one group through its
// life: a cap from purchases, a stable order with a waitlist, a rerun that
// changes nothing, a member who leaves and the first in line who gets the
// seat, a lowered cap that takes back the last seat assigned, purchases
// that lapse past grace; a member licensed elsewhere is never touched.
func TestProvisioningWaitlistLeaversAndLoweredCap(t *testing.T) {
	r := newProvisionRig(t, 50)
	r.buy("L1", 3, "2026-07-01", "2027-06-30")
	// u09 holds Visio from an admin's direct assignment: licensed elsewhere.
	r.tenant.UpdateUser(userID(9), func(u *graphfake.User) {
		u.Licenses = append(u.Licenses, graphfake.LicenseState{SkuID: skuVisio})
	})
	r.group([]int{5, 3, 1, 9, 2}, 4, 6)
	t0 := r.clock()

	res := r.run(false)
	if got, want := plans(res), "assign u01, assign u02, assign u03, wait u04, wait u05, wait u06"; got != want {
		t.Fatalf("first run = %s; want %s", got, want)
	}
	p := product(t, res)
	if p.Cap != 3 || p.Assigned != 3 || p.Elsewhere != 1 || p.Waiting != 3 || p.Added != 3 {
		t.Errorf("first run counts = %+v", p)
	}
	if got := fmt.Sprint(r.holders()); got != "[1 2 3 9]" {
		t.Errorf("holders = %s; want u01-u03 and u09", got)
	}
	if s := r.seats()[upn(6)]; s.State != licensing.SeatWaiting || !s.Since.Equal(t0) {
		t.Errorf("u06 = %+v; want waiting since %v", s, t0)
	}
	if n := len(r.mails("waitlist")); n != 1 {
		t.Fatalf("waitlist mails = %d; want 1", n)
	}
	text := r.mailText("waitlist")
	for _, want := range []string{"To: <" + doaPat + ">", "1. u04@doa.example.gov, waiting since 2026-11-02 15:00 UTC", "Got a license: u01@doa.example.gov"} {
		if !strings.Contains(text, want) {
			t.Errorf("waitlist mail lacks %q:\n%s", want, text)
		}
	}

	// A second run with no change writes nothing and mails nothing.
	r.advance(time.Hour)
	r.server.ResetCounts()
	res = r.run(false)
	if n := r.server.Count(graphfake.EndpointBatch); n != 0 || res.Batches != 0 {
		t.Errorf("unchanged run sent %d batches (result %d); want none", n, res.Batches)
	}
	if s := r.seats()[upn(6)]; !s.Since.Equal(t0) {
		t.Errorf("u06 waiting since %v after a rerun; want still %v", s.Since, t0)
	}
	if n := len(r.mails("waitlist")); n != 1 {
		t.Errorf("waitlist mails after an unchanged run = %d; want still 1", n)
	}

	// u02 leaves; u07 joins (last in line); u04, first waiting, gets the seat.
	r.advance(time.Hour)
	r.group([]int{5, 3, 1, 9, 7}, 4, 6)
	res = r.run(false)
	if got, want := plans(res), "assign u04, wait u05, wait u06, wait u07, remove u02"; got != want {
		t.Errorf("after a leaver = %s; want %s", got, want)
	}
	if got := fmt.Sprint(r.holders()); got != "[1 3 4 9]" {
		t.Errorf("holders = %s; want u01, u03, u04, u09", got)
	}
	if n := len(r.mails("waitlist")); n != 2 {
		t.Errorf("waitlist mails = %d; want 2 (the waitlist changed)", n)
	}

	// A correction lowers the cap to 2: the last seat assigned (u04) goes.
	r.advance(time.Hour)
	now := r.clock()
	if _, _, err := r.tables.AddCorrection(context.Background(), licensing.Purchase{ID: "L1-c1", Agency: "DOA", SkuID: skuVisio, Quantity: -1,
		TermStart: mustDate(t, "2026-07-01"), TermEnd: mustDate(t, "2027-06-30"), PONumber: "PO-L1", Corrects: "L1", Source: "correction",
		ActivatedAt: &now, Created: now, CreatedBy: provAdmin}, provAdmin, "one seat returned"); err != nil {
		t.Fatal(err)
	}
	res = r.run(false)
	if got, want := plans(res), "remove u04, wait u05, wait u06, wait u07"; got != want {
		t.Errorf("lowered cap = %s; want %s", got, want)
	}
	if got := fmt.Sprint(r.holders()); got != "[1 3 9]" {
		t.Errorf("holders = %s; want u01, u03, u09", got)
	}

	// Past the term end and its grace the agency holds nothing in force:
	// the app takes back what it assigned, and only that.
	r.set(time.Date(2027, 8, 2, 12, 0, 0, 0, time.UTC))
	res = r.run(false)
	if p := product(t, res); p.Cap != 0 || p.Removed != 2 {
		t.Errorf("lapsed: %+v; want cap 0 and two removals", p)
	}
	if got := fmt.Sprint(r.holders()); got != "[9]" {
		t.Errorf("holders after lapse = %s; want only u09, licensed elsewhere", got)
	}
	for n, c := range r.adds() {
		if c != 1 || n == 9 {
			t.Errorf("u%02d was assigned Visio %d times; want once, and never u09", n, c)
		}
	}
}

// TestProvisioningCapFollowsRenewalHandover: a line ending June 30 and its
// renewal from August 1 keep the seats through July (grace) and do not
// double them once the renewal starts.
func TestProvisioningCapFollowsRenewalHandover(t *testing.T) {
	r := newProvisionRig(t, 50)
	r.buy("FY26", 2, "2025-08-01", "2026-06-30")
	r.buy("FY27", 2, "2026-08-01", "2027-06-30", "FY26")
	r.group([]int{1, 2, 3, 4})
	for _, c := range []struct {
		at   time.Time
		cap  int
		want string
	}{
		{time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC), 2, "assign u01, assign u02, wait u03, wait u04"},
		{time.Date(2026, 8, 2, 12, 0, 0, 0, time.UTC), 2, "wait u03, wait u04"},
		{time.Date(2027, 7, 20, 12, 0, 0, 0, time.UTC), 2, "wait u03, wait u04"},
		{time.Date(2027, 8, 1, 12, 0, 0, 0, time.UTC), 0, "remove u01, remove u02, wait u03, wait u04"},
	} {
		r.set(c.at)
		res := r.run(false)
		if p := product(t, res); p.Cap != c.cap || plans(res) != c.want {
			t.Errorf("%s: cap %d, plan %s; want %d, %s", c.at.Format(time.DateOnly), p.Cap, plans(res), c.cap, c.want)
		}
	}
}

// TestProvisioningTenantSafetyAndRefusals: the tenant's free units bound the
// assignments; a member without a usage location is skipped (or given the
// default when one is configured); a refusal for conflicting plans is
// reported by name to the delegates and central IT once, and does not hold
// a seat.
func TestProvisioningTenantSafetyAndRefusals(t *testing.T) {
	r := newProvisionRig(t, 2)
	r.buy("L1", 10, "2026-07-01", "2027-06-30")
	r.tenant.SetMutuallyExclusive(skuVisio, skuProject)
	r.tenant.UpdateUser(userID(1), func(u *graphfake.User) { u.UsageLocation = "" })
	r.tenant.UpdateUser(userID(2), func(u *graphfake.User) {
		u.Licenses = append(u.Licenses, graphfake.LicenseState{SkuID: skuProject})
	})
	r.group([]int{1, 2, 3, 4})

	res := r.run(false)
	if got, want := plans(res), "skip u01, assign u02, assign u03, wait u04"; got != want {
		t.Fatalf("first run = %s; want %s", got, want)
	}
	if got := fmt.Sprint(r.holders()); got != "[3]" {
		t.Errorf("holders = %s; want u03 only", got)
	}
	seats := r.seats()
	if seats[upn(1)].Error != licensing.ReasonUsageLocation || seats[upn(2)].Error != licensing.ReasonMutuallyExclusive {
		t.Errorf("errors: u01 %q, u02 %q; want %s and %s", seats[upn(1)].Error, seats[upn(2)].Error, licensing.ReasonUsageLocation, licensing.ReasonMutuallyExclusive)
	}
	text := r.mailText("errors")
	for _, want := range []string{"To: <" + doaPat + ">", "Cc: <licensing@it.example.gov>", "u01@doa.example.gov: UsageLocationMissing", "u02@doa.example.gov: MutuallyExclusiveViolation"} {
		if !strings.Contains(text, want) {
			t.Errorf("errors mail lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(fmt.Sprint(product(t, res).Plan), "no free VISIOCLIENT units") {
		t.Errorf("u04 does not wait for free units: %+v", product(t, res).Plan)
	}

	// An hour later: u02's refusal is not retried yet and holds no unit, so
	// u04 gets the tenant's last free one; the errors did not change, so
	// no second errors mail.
	r.advance(time.Hour)
	res = r.run(false)
	if got, want := plans(res), "skip u01, skip u02, assign u04"; got != want {
		t.Errorf("second run = %s; want %s", got, want)
	}
	if n := len(r.mails("errors")); n != 1 {
		t.Errorf("errors mails = %d; want 1", n)
	}

	// With a default usage location, u01 gets it and a license.
	r.tenant.AddSeats(skuVisio, "VISIOCLIENT", 5)
	r.location = "US"
	r.advance(time.Hour)
	res = r.run(false)
	if got := fmt.Sprint(r.holders()); got != "[1 3 4]" {
		t.Errorf("holders = %s; want u01, u03, u04 (plan %s)", got, plans(res))
	}
	if u, _ := r.tenant.User(userID(1)); u.UsageLocation != "US" {
		t.Errorf("u01 usage location = %q; want US", u.UsageLocation)
	}
}

// TestProvisioningThrottledBatch: 45 assignments go in three batches; a
// 429 with Retry-After inside a batch is waited out and only the throttled
// sub-requests are sent again; every member is assigned once.
func TestProvisioningThrottledBatch(t *testing.T) {
	r := newProvisionRig(t, 100)
	r.buy("L1", 45, "2026-07-01", "2027-06-30")
	r.group(upTo(45))
	r.server.Inject(graphfake.Fault{Endpoint: graphfake.EndpointAssignLicense, Status: 429, RetryAfter: "1", Times: 3})
	res := r.run(false)
	if p := product(t, res); p.Added != 45 || res.Batches != 3 {
		t.Errorf("added %d in %d batches; want 45 in 3", p.Added, res.Batches)
	}
	if len(r.holders()) != 45 {
		t.Errorf("%d hold Visio; want 45", len(r.holders()))
	}
	for n, c := range r.adds() {
		if c != 1 {
			t.Errorf("u%02d assigned %d times", n, c)
		}
	}
	if n := r.server.Count(graphfake.EndpointBatch); n != 4 {
		t.Errorf("batch requests = %d; want 4 (three, and one resending the throttled)", n)
	}
}

// stopAfter wraps a LicenseWriter so that the run stops dead (its goroutine
// exits) right after the first batch was made: Graph acted, and nothing
// after it was recorded.
type stopAfter struct{ licensing.LicenseWriter }

func (s stopAfter) ChangeLicenses(ctx context.Context, c []licensing.LicenseChange) ([]licensing.LicenseResult, error) {
	if _, err := s.LicenseWriter.ChangeLicenses(ctx, c); err != nil {
		return nil, err
	}
	runtime.Goexit()
	return nil, nil
}

// stopMailer sends and then stops the run dead, before the send is
// confirmed.
type stopMailer struct{ licensing.Mailer }

func (s stopMailer) Send(ctx context.Context, m licensing.MailMessage) error {
	if err := s.Mailer.Send(ctx, m); err != nil {
		return err
	}
	runtime.Goexit()
	return nil
}

func (r *provisionRig) runDying() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.service().Run(context.Background(), provisioning.Options{Trigger: "test"}, nil)
		r.t.Error("the run was to stop half-way")
	}()
	<-done
}

// TestProvisioningCrashThenRerun: a run that dies right after Graph made a
// batch, and one that dies right after a mail went out, are run again: no
// member is assigned twice, and no mail is sent twice.
func TestProvisioningCrashThenRerun(t *testing.T) {
	r := newProvisionRig(t, 100)
	r.buy("L1", 25, "2026-07-01", "2027-06-30")
	r.group(upTo(30))
	r.writer = stopAfter{r.client}
	r.runDying()
	if got := len(r.holders()); got != 20 {
		t.Fatalf("after the crash %d hold Visio; want the first batch's 20", got)
	}
	// The claims lapse (1 s); the rerun checks them against the users'
	// licenses instead of assigning again.
	r.writer = r.client
	r.mailer = stopMailer{r.mailer}
	r.advance(2 * time.Second)
	if testing.Verbose() {
		res, err := r.service().Run(context.Background(), provisioning.Options{DryRun: true}, nil)
		var b strings.Builder
		res.WriteText(&b)
		t.Logf("before the rerun: %v\n%s", err, b.String())
	}
	r.runDying()
	if got := len(r.holders()); got != 25 {
		t.Fatalf("after the rerun %d hold Visio; want 25", got)
	}
	r.mailer = r.mailer.(stopMailer).Mailer
	r.advance(2 * time.Second)
	res := r.run(false)
	for n, c := range r.adds() {
		if c != 1 {
			t.Errorf("u%02d assigned %d times; want once", n, c)
		}
	}
	if n := len(r.mails("waitlist")); n != 1 {
		t.Errorf("waitlist mails = %d; want 1 (sent before the crash, not again)", n)
	}
	if !strings.Contains(strings.Join(res.Notes, " "), "unconfirmed") {
		t.Errorf("notes = %v; want the mail sent before the crash reported as unconfirmed", res.Notes)
	}
	if p := product(t, res); p.Assigned != 25 || p.Waiting != 5 || p.Added != 0 {
		t.Errorf("final run = %+v; want 25 assigned, 5 waiting, nothing added", p)
	}
}

// TestProvisioningDryRunWritesNothing: a dry run prints the plan with its
// reasons and writes nothing to the tenant, the tables or the outbox.
func TestProvisioningDryRunWritesNothing(t *testing.T) {
	r := newProvisionRig(t, 50)
	r.buy("L1", 2, "2026-07-01", "2027-06-30")
	r.group([]int{1, 2, 3})
	r.server.ResetCounts()
	res := r.run(true)
	var out strings.Builder
	if err := res.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dry run (nothing written)", "cap 2, assigned 2, licensed elsewhere 0, waitlisted 1, added 2",
		"assign    u01@doa.example.gov", "seat 1 of 2", "wait      u03@doa.example.gov", "all 2 VISIOCLIENT seats of the agency are taken"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out.String())
		}
	}
	ctx := context.Background()
	runs, _ := r.tables.ListRuns(ctx, licensing.RunFilter{})
	_, leaseErr := r.tables.GetEffect(ctx, "run:"+provisioning.Function)
	grants, _ := r.tables.Grants(ctx, skuVisio)
	if n := r.server.Count(graphfake.EndpointBatch) + r.server.Count(graphfake.EndpointAssignLicense); n != 0 || len(r.holders()) != 0 ||
		len(r.seats()) != 0 || len(runs) != 0 || licensing.ErrorCode(leaseErr) != licensing.NotFound || len(grants) != 0 || len(r.mails("")) != 0 {
		t.Errorf("dry run wrote: %d Graph writes, holders %v, seats %d, runs %d, lease %v, grants %d, mails %d",
			n, r.holders(), len(r.seats()), len(runs), leaseErr, len(grants), len(r.mails("")))
	}
}

// TestProvisioningStateAccess: delegates read their own agency's state,
// admins any or all, and another agency's delegate is refused.
func TestProvisioningStateAccess(t *testing.T) {
	r := newProvisionRig(t, 50)
	r.buy("L1", 1, "2026-07-01", "2027-06-30")
	r.group([]int{1, 2})
	r.run(false)
	svc := r.service()
	ctx := context.Background()
	st, err := svc.State(ctx, &licensing.Principal{Name: doaPat}, "DOA")
	if err != nil || len(st) != 1 {
		t.Fatalf("delegate's own state = %+v, %v", st, err)
	}
	p := st[0].Products[0]
	if p.Cap != 1 || len(p.Assigned) != 1 || p.Assigned[0].UserPrincipalName != upn(1) || len(p.Waitlist) != 1 || st[0].AsOf.IsZero() {
		t.Errorf("state = %+v", st[0])
	}
	if _, err := svc.State(ctx, &licensing.Principal{Name: detLee}, "DOA"); licensing.ErrorCode(err) != licensing.Forbidden {
		t.Errorf("another agency's delegate: %v; want Forbidden", err)
	}
	if all, err := svc.State(ctx, &licensing.Principal{Name: provAdmin}, ""); err != nil || len(all) != 1 || all[0].Agency != "DOA" {
		t.Errorf("admin's list = %+v, %v; want DOA (the only agency with delegated groups)", all, err)
	}
	if _, err := svc.RunFor(ctx, &licensing.Principal{Name: doaPat}, provisioning.Options{DryRun: true}, nil); licensing.ErrorCode(err) != licensing.Forbidden {
		t.Errorf("a delegate's run on demand: %v; want Forbidden", err)
	}
}

// TestProvisioningTwoRunsAtOnce: two runs started together (the hourly timer
// and an admin's run on demand) assign each member once and mail once: the
// one that finds the run lease held does nothing and says so.
func TestProvisioningTwoRunsAtOnce(t *testing.T) {
	r := newProvisionRig(t, 100)
	r.buy("L1", 25, "2026-07-01", "2027-06-30")
	r.group(upTo(30))
	var wg sync.WaitGroup
	results := make([]provisioning.Result, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.service().Run(context.Background(), provisioning.Options{Trigger: "test"}, nil)
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		}()
	}
	wg.Wait()
	busy := 0
	for _, res := range results {
		if strings.Contains(strings.Join(res.Notes, " "), "under way") {
			busy++
		}
	}
	// One run may also finish before the other starts; then the second
	// finds nothing to do.
	if busy > 1 || len(r.holders()) != 25 {
		t.Errorf("runs that found the other under way: %d (want at most 1); holders %d (want 25)", busy, len(r.holders()))
	}
	for n, c := range r.adds() {
		if c != 1 {
			t.Errorf("u%02d assigned %d times; want once", n, c)
		}
	}
	if n := len(r.mails("waitlist")); n != 1 {
		t.Errorf("waitlist mails = %d; want 1", n)
	}
}
