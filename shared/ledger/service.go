package ledger

import (
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Config names what the ledger needs: the purchase lines, who may read and
// correct them, and for imports the agencies, a spreadsheet reader and the
// SKU catalog. Snapshots is optional: the latest snapshot's tenant SKUs help
// resolve product names in imports. Now and NewID default to the clock and
// random ids.
type Config struct {
	Auth      *licensing.Authorizer
	Agencies  licensing.AgencyStore
	Purchases licensing.PurchaseStore
	Snapshots licensing.SnapshotStore
	Sheets    licensing.SheetReader
	Catalog   licensing.CatalogSource
	Terms     licensing.Terms

	Now   func() time.Time
	NewID func() string
}

// Service keeps the ledger: purchase lines, entitlements, corrections and
// the import of the legacy tracking sheet.
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
