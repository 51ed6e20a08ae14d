package renewals_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/renewals"
	"github.com/shared-tenant/licensetrack/shared/xlsx"
)

// reminders is a renewals Service on in-memory stores, the sample
// agencies, a fake directory and mailbox, and a clock the test moves from
// day to day (noon in Chicago).
type reminders struct {
	t     testing.TB
	store *memstore.Store
	dir   *fakes.Directory
	mail  *fakes.Mailbox
	// mailer replaces mail in the services built after it is set.
	mailer licensing.Mailer
	terms  licensing.Terms

	mu    sync.Mutex
	clock time.Time
}

var chicago = func() *time.Location {
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		panic(err)
	}
	return loc
}()

func newReminders(t testing.TB, agencies ...licensing.Agency) *reminders {
	t.Helper()
	f := &reminders{t: t, store: memstore.New(), dir: &fakes.Directory{}, mail: &fakes.Mailbox{}}
	if len(agencies) == 0 {
		agencies = fakes.Agencies()
	}
	admin := licensing.NewAgencyAdmin(f.store, f.auth(), f.now)
	if err := fakes.PutAgencies(context.Background(), admin, agencies...); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *reminders) auth() *licensing.Authorizer {
	return licensing.NewAuthorizer(f.store, []string{fakes.Admin}, false)
}

func (f *reminders) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clock
}

// setDay moves the clock to noon of day d in Chicago.
func (f *reminders) setDay(d licensing.Date) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = time.Date(d.Time().Year(), d.Time().Month(), d.Time().Day(), 12, 0, 0, 0, chicago)
}

// advance moves the clock by d.
func (f *reminders) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = f.clock.Add(d)
}

func (f *reminders) service() *renewals.Service {
	var m licensing.Mailer = f.mail
	if f.mailer != nil {
		m = f.mailer
	}
	auth := f.auth()
	return renewals.NewService(renewals.Config{
		Auth: auth, Runs: licensing.NewRuns(f.store, auth, f.now, nil),
		Agencies: f.store, Purchases: f.store, Enrollments: f.store, Snapshots: f.store, Files: f.store,
		Directory: f.dir, Catalog: fakes.BuiltinCatalog{}, Worksheets: xlsx.NewReportWriter(),
		Mailer: m, Effects: licensing.NewEffects(f.store, f.now, 0), Terms: f.terms,
		Location: chicago, CentralIT: []string{fakes.CentralIT}, Now: f.now,
	})
}

// run runs the reminders of day d (the clock moved there first).
func (f *reminders) run(d licensing.Date) renewals.ReminderResult {
	f.t.Helper()
	f.setDay(d)
	res, err := f.service().RemindersRun(context.Background(), "test", licensing.Date{}, nil)
	if err != nil {
		f.t.Fatalf("run of %s: %v", d, err)
	}
	if !res.On.Equal(d) {
		f.t.Fatalf("run of %s reminded for %s", d, res.On)
	}
	return res
}

// addLines writes purchase lines to the ledger.
func (f *reminders) addLines(lines ...licensing.Purchase) {
	f.t.Helper()
	if _, err := f.store.AddPurchases(context.Background(), lines, "test", "fixture"); err != nil {
		f.t.Fatal(err)
	}
}

// line is an active purchase line, activated on its term start.
func line(id, agency, sku, part, po string, qty int, start, end licensing.Date, agreement string) licensing.Purchase {
	at := start.Time().Add(15 * time.Hour)
	return licensing.Purchase{ID: id, Agency: agency, SkuID: sku, PartNumber: part, Quantity: qty, TermStart: start, TermEnd: end,
		PONumber: po, Agreement: agreement, Source: licensing.SourceImport, ActivatedAt: &at, Created: at, CreatedBy: "test"}
}

func day(s string) licensing.Date {
	d, err := licensing.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// keys returns the reminders' keys without "mail:", sorted.
func keys(list []renewals.Reminder) []string {
	out := []string{}
	for _, r := range list {
		out = append(out, r.Key[len("mail:"):])
	}
	sort.Strings(out)
	return out
}

// sentMail returns the message sent under id, failing the test when there
// is none.
func (f *reminders) sentMail(id string) licensing.MailMessage {
	f.t.Helper()
	m, ok := f.mail.Sent[id]
	if !ok {
		var ids []string
		for k := range f.mail.Sent {
			ids = append(ids, k)
		}
		slices.Sort(ids)
		f.t.Fatalf("no mail %s; sent: %v", id, ids)
	}
	return m
}

func sub(id, sku, part, status string, total int, created, next string) licensing.TenantSubscription {
	s := licensing.TenantSubscription{ID: id, SkuID: sku, PartNumber: part, Status: status, TotalLicenses: total}
	if created != "" {
		s.Created = day(created).Time().Add(14 * time.Hour)
	}
	if next != "" {
		t := day(next).Time().Add(14 * time.Hour)
		s.NextLifecycle = &t
	}
	return s
}

// enrollment writes an enterprise enrollment with anniversary a.
func (f *reminders) enrollment(number string, a licensing.Date) {
	f.t.Helper()
	e := licensing.Enrollment{Number: number, Anniversary: a, Kind: licensing.EnrollmentEnterprise, LastReported: 80,
		PlatformProducts: []licensing.PlatformProduct{{Name: "Office Professional Plus", CoveredBy: []string{"Office 365 E3"}}}}
	if _, _, err := f.store.PutEnrollment(context.Background(), e, licensing.Precondition{}); err != nil {
		f.t.Fatal(err)
	}
}

// snapshot publishes a usage snapshot taken at noon of day d with n
// licensed users.
func (f *reminders) snapshot(d licensing.Date, n int) {
	f.t.Helper()
	taken := d.Time().Add(17 * time.Hour)
	s := licensing.Snapshot{ID: fmt.Sprintf("snap-%s", d), Taken: taken, Full: true, Users: n + 5, LicensedUsers: n, Agencies: 1,
		AgencyUsers: map[string]int{"DOA": n}}
	usage := []licensing.Usage{{Agency: "DOA", SkuID: fakes.SkuE3, Users: n, Direct: n}}
	if err := f.store.PublishSnapshot(context.Background(), s, usage); err != nil {
		f.t.Fatal(err)
	}
}
