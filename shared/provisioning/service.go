// Package provisioning licenses the members of each agency's delegated
// groups up to what the agency bought: the cap is the agency's entitlement
// for the product today, members are served in the order the product first
// saw them, the rest wait, and the app removes only licenses it assigned
// itself. Every license change is an effect (licensing.Effects) keyed by
// user, SKU and attempt, so a run that dies half-way and runs again assigns
// nothing twice; the notices to delegates and central IT are mailed once per
// change of what they say.
package provisioning

import (
	"context"
	"log/slog"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Function is the name of the scheduled function and of its run records.
const Function = "ProvisionGroups"

// Config names what provisioning needs. Now and NewID default to the clock
// and random ids.
type Config struct {
	Auth      *licensing.Authorizer
	Runs      *licensing.Runs
	Agencies  licensing.AgencyStore
	Purchases licensing.PurchaseStore
	Seats     licensing.ProvisioningStore
	// Directory reads the groups and the tenant's SKUs; Licenses changes
	// assignments.
	Directory licensing.Directory
	Licenses  licensing.LicenseWriter
	// Catalog names the products in notices and answers; optional.
	Catalog licensing.CatalogSource
	Mailer  licensing.Mailer
	// Effects makes each license change and mail happen once and keeps two
	// runs from acting at once.
	Effects *licensing.Effects
	Terms   licensing.Terms
	// Location is the time zone whose date decides which purchases are in
	// force (UTC when nil).
	Location *time.Location
	// DefaultUsageLocation is given to members without a usage location
	// before they are licensed; empty skips them instead.
	DefaultUsageLocation string
	// CentralIT are told of licensing failures.
	CentralIT []string
	// Work receives a scheduled run's pieces, one per agency (Start); the
	// Work function hands them back to HandleWork.
	Work licensing.WorkQueue

	Now   func() time.Time
	NewID func() string
}

// Service runs capped group provisioning.
type Service struct {
	cfg Config
}

// NewService returns a Service using cfg.
func NewService(cfg Config) *Service {
	licensing.Defaults(&cfg.Now, &cfg.NewID, &cfg.Terms)
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	return &Service{cfg: cfg}
}

// Options say what one run covers.
type Options struct {
	// Agency limits the run to one agency; empty runs every agency with
	// delegated groups.
	Agency string
	// DryRun computes and returns the plan and writes nothing anywhere.
	DryRun bool
	// Trigger names what started the run (timer, cli, http, demo).
	Trigger string
}

// Result is what a run did, or would do in a dry run.
type Result struct {
	RunID  string
	DryRun bool
	AsOf   time.Time
	// Agencies are in id order.
	Agencies []AgencyResult
	// Notes say what else happened (a run already under way, mails not
	// confirmed).
	Notes []string
	// Batches counts the write requests the run made (license changes and
	// usage locations, 20 to a request); Mailed the notices it sent.
	Batches int
	Mailed  int
	// Progress says how many of the agencies planned are done, as the
	// run's record does, once a run in this process has ended.
	Progress string
}

// AgencyResult is one agency's part of a run.
type AgencyResult struct {
	Agency   string
	Products []ProductResult
}

// ProductResult is one delegated group's part of a run.
type ProductResult struct {
	SkuID      string
	PartNumber string
	GroupID    string
	Cap        int
	// Counts after the run (or after the plan, in a dry run).
	Assigned  int
	Elsewhere int
	Waiting   int
	Added     int
	Removed   int
	Errors    int
	// Problem says why the group could not be provisioned at all (an
	// unknown SKU, a group that does not exist); nothing was changed.
	Problem string
	// Plan lists each assign, remove, wait, skip and licensed-elsewhere
	// line with its reason, and after a run its outcome.
	Plan []Action
}

// RunFor runs provisioning on demand for an admin (POST
// /api/provisioning/run): anyone else is Forbidden.
func (s *Service) RunFor(ctx context.Context, caller *licensing.Principal, opts Options, log *slog.Logger) (Result, error) {
	if _, err := s.cfg.Auth.RequireAdmin(ctx, "provisioning.run", caller); err != nil {
		return Result{}, err
	}
	return s.Run(ctx, opts, log)
}
