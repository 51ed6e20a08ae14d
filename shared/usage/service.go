package usage

import (
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Config names what usage snapshots and reports need. Now and NewID default
// to the clock and random ids.
type Config struct {
	Auth *licensing.Authorizer
	// Runs records the scheduled runs (payroll, audit).
	Runs      *licensing.Runs
	Agencies  licensing.AgencyStore
	Purchases licensing.PurchaseStore
	// Snapshots and Files keep usage snapshots and report files.
	Snapshots licensing.SnapshotStore
	Files     licensing.FileStore
	// Sweeper lists and deletes the ad-hoc workbooks whose download links
	// have expired (SweepWorkbooks); nil keeps them.
	Sweeper licensing.FileSweeper
	// Retention says which snapshots and report files Retain keeps, and
	// deletes the rest.
	Retention Retention
	// Directory is the tenant (Microsoft Graph).
	Directory licensing.Directory
	Catalog   licensing.CatalogSource
	// Reports renders spreadsheets; Deliveries records what went to whom;
	// Links makes download links for workbooks.
	Reports    licensing.ReportWriter
	Deliveries licensing.Deliveries
	Links      licensing.Linker
	Mailer     licensing.Mailer
	// Effects makes each mail happen once, and keeps two copies of a
	// scheduled run from acting at once.
	Effects *licensing.Effects
	// Work carries the pieces of split work (one payroll agency per
	// message); nil runs a payroll run's pieces in the calling process.
	Work licensing.WorkQueue
	// Split configures snapshots and sign-in passes read as split work
	// (StartSnapshot, StartSignInPass).
	Split Split
	// Provisioning reads where the agencies' delegated groups stand, for
	// the Provisioning sheet of their payroll workbooks; nil leaves the
	// sheet out.
	Provisioning licensing.ProvisioningReader
	Reporting    Reporting
	Terms        licensing.Terms
	// CentralIT are the addresses that get the enterprise summary and the
	// audit.
	CentralIT []string
	// AppURL is the app's public base URL (APP_URL): report and audit
	// mails link to the agencies' overview pages under it. Empty leaves
	// the links out.
	AppURL string

	Now   func() time.Time
	NewID func() string
}

// Service takes usage snapshots and produces the payroll reports, the
// monthly audit and the ad-hoc license reports.
type Service struct {
	cfg Config
}

// NewService returns a Service using cfg.
func NewService(cfg Config) *Service {
	licensing.Defaults(&cfg.Now, &cfg.NewID, &cfg.Terms)
	return &Service{cfg: cfg}
}

func (s *Service) now() time.Time { return s.cfg.Now() }
func (s *Service) newID() string  { return s.cfg.NewID() }
