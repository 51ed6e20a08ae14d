package handlers

import (
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/intake"
	"github.com/shared-tenant/licensetrack/shared/ledger"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/provisioning"
	"github.com/shared-tenant/licensetrack/shared/renewals"
	"github.com/shared-tenant/licensetrack/shared/usage"
	"github.com/shared-tenant/licensetrack/shared/xlsx"
)

// testClock is the time the tests' services run at: Monday, November 23,
// 2026, 06:00 UTC.
var testClock = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)

// fixedClock always returns testClock.
func fixedClock() time.Time { return testClock }

// tickingClock returns a clock that starts at testClock and moves a second
// on every read.
func tickingClock() func() time.Time {
	clock := testClock
	return func() time.Time { clock = clock.Add(time.Second); return clock }
}

// hostOpts tunes the services of a test Server.
type hostOpts struct {
	// allowAnonymous lets a request without identity act as an admin.
	allowAnonymous bool
	// agencies replaces the in-memory store's agencies when set.
	agencies licensing.AgencyStore
	// now is the services' clock; nil is fixedClock.
	now func() time.Time
	// steps receives the workflow steps the services queue; nil is a
	// queue nobody reads.
	steps *fakes.Steps
	// enrollments replaces the in-memory store's enrollments when set.
	enrollments licensing.EnrollmentStore
}

// testConfig returns the Config of a Server whose services keep everything
// in store, with admin as the only administrator, the built-in SKU catalog,
// the sample tenant as directory and a mailbox that keeps what it is sent.
// The caller sets Logger and the limits.
func testConfig(store *memstore.Store, o hostOpts) Config {
	var agencies licensing.AgencyStore = store
	if o.agencies != nil {
		agencies = o.agencies
	}
	now := o.now
	if now == nil {
		now = fixedClock
	}
	if o.steps == nil {
		o.steps = &fakes.Steps{}
	}
	var enrollments licensing.EnrollmentStore = store
	if o.enrollments != nil {
		enrollments = o.enrollments
	}
	auth := licensing.NewAuthorizer(agencies, []string{admin}, o.allowAnonymous)
	runs := licensing.NewRuns(store, auth, now, nil)
	dir, mail, catalog := fakes.NewDirectory(), &fakes.Mailbox{}, fakes.BuiltinCatalog{}
	return Config{
		Auth:     auth,
		Agencies: licensing.NewAgencyAdmin(agencies, auth, now),
		Runs:     runs,
		Intake: intake.NewService(intake.Config{
			Auth: auth, Agencies: agencies, Requests: store, Steps: o.steps, Files: store, Purchases: store,
			Directory: dir, Catalog: catalog, Mailer: mail, Effects: licensing.NewEffects(store, now, 0), Now: now,
		}),
		Ledger: ledger.NewService(ledger.Config{
			Auth: auth, Agencies: agencies, Purchases: store, Snapshots: store,
			Sheets: xlsx.NewReader(xlsx.Limits{}), Catalog: catalog, Now: now,
		}),
		Usage: usage.NewService(usage.Config{
			Auth: auth, Runs: runs, Agencies: agencies, Purchases: store, Snapshots: store, Files: store,
			Directory: dir, Catalog: catalog, Deliveries: store, Mailer: mail, Effects: licensing.NewEffects(store, now, 0), Now: now,
		}),
		// Dry runs and state only: the sample directory cannot change
		// licenses.
		Provisioning: provisioning.NewService(provisioning.Config{
			Auth: auth, Runs: runs, Agencies: agencies, Purchases: store, Seats: store, Directory: dir, Catalog: catalog,
			Mailer: mail, Effects: licensing.NewEffects(store, now, 0), Now: now,
		}),
		Renewals: renewals.NewService(renewals.Config{
			Auth: auth, Runs: runs, Agencies: agencies, Purchases: store, Enrollments: enrollments, Snapshots: store, Directory: dir,
			Catalog: catalog, Files: store, Mailer: mail, Effects: licensing.NewEffects(store, now, 0), Now: now,
		}),
	}
}
