package licensing

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
)

// ServiceConfig holds what the Service needs. Stores are required; Now and
// NewID default to the clock and random ids.
type ServiceConfig struct {
	Agencies  AgencyStore
	Runs      RunStore
	Snapshots SnapshotStore
	// Files keeps snapshot user files (and later reports and documents).
	Files FileStore
	// Directory is the tenant's directory (Microsoft Graph).
	Directory Directory
	// Purchases is the ledger.
	Purchases PurchaseStore
	// Mailer sends notifications and reports.
	Mailer Mailer
	// Catalog names SKUs and resolves part numbers.
	Catalog CatalogSource
	// Sheets reads uploaded spreadsheets (the legacy tracking sheet).
	Sheets SheetReader

	// Requests keeps service requests; Steps queues delayed workflow steps.
	Requests    RequestStore
	Steps       StepQueue
	DeadLetters DeadLetters

	// Terms are the rules of license terms.
	Terms Terms
	// Workflow tunes the activation workflow.
	Workflow Workflow

	// Reports renders spreadsheets; Deliveries records what went to whom.
	Reports    ReportWriter
	Deliveries Deliveries
	Reporting  Reporting
	// Links makes download links for workbooks.
	Links Linker

	// Admins are the central IT administrators: user principal names or
	// object ids, compared without case.
	Admins []string
	// AllowAnonymous lets a request without any identity act as an admin.
	// Only for a developer's own machine; configuration refuses it in Azure.
	AllowAnonymous bool

	Now   func() time.Time
	NewID func() string
}

// Terms are the rules that decide when purchases are in force.
type Terms struct {
	// GraceDays keeps a purchase in force this many days after its term end
	// (seed 001: licenses end June 30 and are bought again for the fiscal
	// year starting August 1, so 31 days keeps them through July).
	GraceDays int
	// FiscalYearEndMonth and FiscalYearEndDay end an a-la-carte term by
	// default (June 30).
	FiscalYearEndMonth time.Month
	FiscalYearEndDay   int
	// EnterpriseYears is the length of an Enterprise Agreement term.
	EnterpriseYears int
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

// DefaultTerms are the terms of seed 001.
func DefaultTerms() Terms {
	return Terms{GraceDays: 31, FiscalYearEndMonth: time.June, FiscalYearEndDay: 30, EnterpriseYears: 3}
}

// Service applies the product's rules. Handlers and jobs call it; it calls
// the stores, the directory and the mailer through interfaces.
type Service struct {
	cfg    ServiceConfig
	admins map[string]bool
}

// NewService returns a Service using cfg.
func NewService(cfg ServiceConfig) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = RandomID
	}
	if cfg.Terms == (Terms{}) {
		cfg.Terms = DefaultTerms()
	}
	if cfg.Workflow.CheckEvery <= 0 {
		cfg.Workflow.CheckEvery = 6 * time.Hour
	}
	if cfg.Workflow.WaitFor <= 0 {
		cfg.Workflow.WaitFor = 14 * 24 * time.Hour
	}
	admins := map[string]bool{}
	for _, a := range cfg.Admins {
		if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
			admins[a] = true
		}
	}
	return &Service{cfg: cfg, admins: admins}
}

func (s *Service) now() time.Time { return s.cfg.Now() }
func (s *Service) newID() string  { return s.cfg.NewID() }

// RandomID returns 16 random bytes in hex: unguessable, and safe in table keys
// and blob names.
func RandomID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("licensing: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}
