// Package renewals reminds people before what they bought runs out, and
// prepares the yearly Enterprise Agreement true-up. Reminders go only where
// action is still possible: purchase lines before their term ends (with the
// fiscal-year wording for a-la-carte terms), tenant subscriptions before
// their next lifecycle date (trials and free SKUs skipped, monthly
// auto-renewals gathered in a monthly digest), and central IT when an
// enrollment's true-up window opens and a week before it closes. Every mail
// is an effect (licensing.Effects) with a key that names what it reminds of,
// so a run that dies half-way and runs again, or a run after missed days,
// mails nothing twice.
package renewals

import (
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Function is the name of the scheduled function and of its run records.
const Function = "RenewalReminders"

// DefaultThresholds are the days before a term end at which purchases are
// reminded of.
var DefaultThresholds = []int{90, 60, 30}

// Config names what reminders and true-up worksheets need. Now defaults to
// the clock.
type Config struct {
	Auth        *licensing.Authorizer
	Runs        *licensing.Runs
	Agencies    licensing.AgencyStore
	Purchases   licensing.PurchaseStore
	Enrollments licensing.EnrollmentStore
	// Snapshots give the peak of licensed users since an anniversary.
	Snapshots licensing.SnapshotStore
	// Directory reads the tenant's subscriptions.
	Directory licensing.Directory
	// Catalog names products in mails and worksheets; optional.
	Catalog licensing.CatalogSource
	// Files keeps the worksheets attached to window reminders.
	Files      licensing.FileStore
	Worksheets licensing.TrueUpWriter
	// Links make the short-lived download links of the true-up workbooks
	// written to Files on request.
	Links  licensing.Linker
	Mailer licensing.Mailer
	// Effects makes each mail happen once and keeps two runs from acting at
	// once.
	Effects *licensing.Effects
	Terms   licensing.Terms
	// Location is the time zone whose date is "today" (UTC when nil).
	Location *time.Location
	// Thresholds are the days before a term end at which a purchase line is
	// reminded of (DefaultThresholds when empty).
	Thresholds []int
	// CentralIT get every reminder, the subscription alerts and digest, and
	// the true-up window reminders.
	CentralIT []string

	Now func() time.Time
}

// Service sends renewal reminders and prepares true-up worksheets.
type Service struct {
	cfg Config
}

// NewService returns a Service using cfg.
func NewService(cfg Config) *Service {
	var newID func() string
	licensing.Defaults(&cfg.Now, &newID, &cfg.Terms)
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if len(cfg.Thresholds) == 0 {
		cfg.Thresholds = DefaultThresholds
	}
	return &Service{cfg: cfg}
}

// today is the date in the configured time zone.
func (s *Service) today() licensing.Date { return licensing.DateOf(s.cfg.Now(), s.cfg.Location) }
