package intake

import (
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Config names what purchase-order intake and the activation workflow need.
// Stores, queues, the mailer and Auth are required; Now and NewID default to
// the clock and random ids.
type Config struct {
	Auth     *licensing.Authorizer
	Agencies licensing.AgencyStore
	// Requests keeps service requests; Steps queues delayed workflow steps;
	// DeadLetters holds the steps that failed every retry.
	Requests    licensing.RequestStore
	Steps       licensing.StepQueue
	DeadLetters licensing.Inbox
	// Files keeps the uploaded documents.
	Files licensing.FileStore
	// Sweeper lists and removes the stored documents for SweepOrphans
	// (usually the same store as Files); without it documents that no
	// request refers to are left.
	Sweeper licensing.FileSweeper
	// Purchases is the ledger the record step writes to.
	Purchases licensing.PurchaseStore
	// Directory is the tenant (Microsoft Graph), where verify looks for the
	// seats.
	Directory licensing.Directory
	// Catalog resolves part numbers and names SKUs.
	Catalog licensing.CatalogSource
	// Mailer sends the workflow's notifications; Effects makes each mail and
	// each queued step happen once.
	Mailer  licensing.Mailer
	Effects *licensing.Effects
	// Terms are the rules of license terms.
	Terms licensing.Terms
	// Workflow tunes the activation workflow.
	Workflow Workflow
	// Location is the time zone in which mail shows times (the reports'
	// time zone); UTC when nil.
	Location *time.Location

	Now   func() time.Time
	NewID func() string
}

// Workflow tunes the activation workflow and its notifications.
type Workflow struct {
	// CentralIT are the addresses of central IT (activation routing,
	// failures, summaries).
	CentralIT []string
	// AppURL is the public base URL of the API, for links in mail.
	AppURL string
	// CheckEvery is how long verify waits between looks at the tenant;
	// WaitFor how long it keeps looking before asking central IT.
	CheckEvery time.Duration
	WaitFor    time.Duration
}

// Service takes purchase orders and walks each service request through
// validation, recording, routing, activation and closing.
type Service struct {
	cfg Config
}

// NewService returns a Service using cfg.
func NewService(cfg Config) *Service {
	licensing.Defaults(&cfg.Now, &cfg.NewID, &cfg.Terms)
	if cfg.Workflow.CheckEvery <= 0 {
		cfg.Workflow.CheckEvery = 6 * time.Hour
	}
	if cfg.Workflow.WaitFor <= 0 {
		cfg.Workflow.WaitFor = 14 * 24 * time.Hour
	}
	return &Service{cfg: cfg}
}

func (s *Service) now() time.Time { return s.cfg.Now() }
func (s *Service) newID() string  { return s.cfg.NewID() }
