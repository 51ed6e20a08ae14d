package usage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// fixture is a usage Service on in-memory stores and the sample tenant,
// with agencies put by an administrator. Its clock ticks a second on every
// read; its ids count up across every service it builds.
type fixture struct {
	svc      *usage.Service
	agencies *licensing.AgencyAdmin
	store    *memstore.Store
	dir      *fakes.Directory
	// directory replaces dir in the services built after it is set.
	directory licensing.Directory
	// deliveries replaces store as the Deliveries of the services built
	// after it is set.
	deliveries licensing.Deliveries
	mail       *fakes.Mailbox
	// provisioning is the Provisioning reader of the services built after
	// it is set.
	provisioning licensing.ProvisioningReader
	// appURL and links are the AppURL and Links of the services built
	// after they are set.
	appURL string
	links  licensing.Linker
	// split makes the services built after it is set read full snapshots
	// as split work (two segments, a page a message).
	split bool
	clock time.Time
	ids   int
}

var admin = &licensing.Principal{Name: fakes.Admin}

func newFixture(t *testing.T, clock time.Time, agencies ...licensing.Agency) *fixture {
	t.Helper()
	f := &fixture{store: memstore.New(), dir: fakes.NewDirectory(), mail: &fakes.Mailbox{}, clock: clock}
	f.agencies = licensing.NewAgencyAdmin(f.store, f.auth(), f.now)
	if err := fakes.PutAgencies(context.Background(), f.agencies, agencies...); err != nil {
		t.Fatal(err)
	}
	f.svc = f.service(f.mail, nil)
	return f
}

func (f *fixture) now() time.Time {
	f.clock = f.clock.Add(time.Second)
	return f.clock
}

func (f *fixture) newID() string {
	f.ids++
	return fmt.Sprintf("%08d", f.ids)
}

func (f *fixture) auth() *licensing.Authorizer {
	return licensing.NewAuthorizer(f.store, []string{fakes.Admin}, false)
}

// service returns a usage Service on f's stores, tenant and clock that mails
// with m and renders reports with reports, on a payroll calendar of every
// other Monday from January 5, 2026 in Chicago.
func (f *fixture) service(m licensing.Mailer, reports licensing.ReportWriter) *usage.Service {
	chicago, _ := time.LoadLocation("America/Chicago")
	auth := f.auth()
	var dir licensing.Directory = f.dir
	if f.directory != nil {
		dir = f.directory
	}
	var deliveries licensing.Deliveries = f.store
	if f.deliveries != nil {
		deliveries = f.deliveries
	}
	var split usage.Split
	if f.split {
		split = usage.Split{Jobs: f.store, Segments: 2, PagesPerChunk: 1}
	}
	return usage.NewService(usage.Config{
		Split: split,
		Auth:  auth, Runs: licensing.NewRuns(f.store, auth, f.now, f.newID),
		Agencies: f.store, Snapshots: f.store, Files: f.store, Directory: dir,
		Purchases: f.store, Mailer: m, Catalog: fakes.BuiltinCatalog{}, Reports: reports, Deliveries: deliveries,
		Reporting:    usage.Reporting{Calendar: licensing.PayrollCalendar{Anchor: licensing.NewDate(2026, 1, 5), IntervalDays: 14, Location: chicago}, InactiveDays: 90},
		CentralIT:    []string{fakes.CentralIT},
		Effects:      licensing.NewEffects(f.store, f.now, 0),
		Provisioning: f.provisioning,
		AppURL:       f.appURL,
		Links:        f.links,
		Now:          f.now,
		NewID:        f.newID,
	})
}
