package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/shared-tenant/licensetrack/handlers"
	"github.com/shared-tenant/licensetrack/shared/blobstore"
	"github.com/shared-tenant/licensetrack/shared/config"
	"github.com/shared-tenant/licensetrack/shared/graph"
	"github.com/shared-tenant/licensetrack/shared/intake"
	"github.com/shared-tenant/licensetrack/shared/ledger"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/outbox"
	"github.com/shared-tenant/licensetrack/shared/provisioning"
	"github.com/shared-tenant/licensetrack/shared/queues"
	"github.com/shared-tenant/licensetrack/shared/renewals"
	"github.com/shared-tenant/licensetrack/shared/skucatalog"
	"github.com/shared-tenant/licensetrack/shared/storageaccount"
	"github.com/shared-tenant/licensetrack/shared/tablestore"
	"github.com/shared-tenant/licensetrack/shared/usage"
	"github.com/shared-tenant/licensetrack/shared/xlsx"
)

// containerName is the one blob container of the app (after
// STORAGE_PREFIX); files are kept under paths that say what they are:
// documents/ (purchase orders and activation emails), snapshots/,
// catalog/, reports/, outbox/.
const containerName = "licensing"

// app is the wiring of one process: configuration, adapters and services,
// built explicitly here and nowhere else.
type app struct {
	cfg         config.Config
	log         *slog.Logger
	storageName string
	tables      *tablestore.Store
	blobs       *blobstore.Store
	container   string
	queues      *queues.Client
	stepsQueue  string
	// workQueue carries the pieces of split work (the Work function).
	workQueue string
	graph     *graph.Client
	// tenant is the synthetic tenant of GRAPH_MODE=demo, else nil.
	tenant  tenantServer
	catalog *skucatalog.Source

	agencies     *licensing.AgencyAdmin
	runs         *licensing.Runs
	intake       *intake.Service
	ledger       *ledger.Service
	usage        *usage.Service
	provisioning *provisioning.Service
	renewals     *renewals.Service
	auth         *licensing.Authorizer
}

// newApp builds the adapters and the services from cfg. Apart from starting
// the demo tenant's loopback server, it makes no network calls, so the
// handler can start listening at once.
func newApp(cfg config.Config, log *slog.Logger) (*app, error) {
	acct, err := storageAccount(cfg)
	if err != nil {
		return nil, err
	}
	tsvc, err := acct.TableService()
	if err != nil {
		return nil, fmt.Errorf("table storage: %w", err)
	}
	bsvc, err := acct.BlobService()
	if err != nil {
		return nil, fmt.Errorf("blob storage: %w", err)
	}
	qsvc, err := acct.QueueService()
	if err != nil {
		return nil, fmt.Errorf("queue storage: %w", err)
	}
	a := &app{
		cfg:         cfg,
		log:         log,
		storageName: acct.Redacted(),
		tables:      tablestore.New(tsvc, tablestore.Options{TablePrefix: cfg.Storage.Prefix}),
		container:   cfg.Storage.Prefix + containerName,
		stepsQueue:  cfg.Storage.ActivationQueue,
		workQueue:   cfg.Storage.WorkQueue,
		queues:      queues.New(qsvc),
	}
	a.blobs = blobstore.New(bsvc, a.container)
	if err := a.connectGraph(); err != nil {
		return nil, err
	}
	a.catalog, err = skucatalog.NewSource(skucatalog.Config{
		URL:    cfg.Catalog.URL,
		Cache:  catalogCache{a.blobs},
		MaxAge: cfg.Catalog.MaxAge,
		Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("SKU catalog: %w", err)
	}
	w := cfg.Workflow
	terms := licensing.Terms{GraceDays: w.GraceDays, FiscalYearEndMonth: w.FiscalYearEndMonth, FiscalYearEndDay: w.FiscalYearEndDay,
		EnterpriseYears: licensing.DefaultTerms().EnterpriseYears}
	mailer := a.mailer()
	auth := licensing.NewAuthorizer(a.tables, cfg.Admins, cfg.AllowAnonymous)
	a.auth = auth
	effects := licensing.NewEffects(a.tables, nil, cfg.Workflow.EffectLease)
	a.agencies = licensing.NewAgencyAdmin(a.tables, auth, nil)
	a.runs = licensing.NewRuns(a.tables, auth, nil, nil)
	a.intake = intake.NewService(intake.Config{
		Auth:        auth,
		Agencies:    a.tables,
		Requests:    a.tables,
		Steps:       a.queues.Steps(a.stepsQueue),
		DeadLetters: a.queues.Inbox(a.stepsQueue + "-poison"),
		Files:       a.blobs,
		Sweeper:     a.blobs,
		Purchases:   a.tables,
		Directory:   a.graph,
		Catalog:     a.catalog,
		Mailer:      mailer,
		Effects:     effects,
		Terms:       terms,
		Workflow:    intake.Workflow{CentralIT: w.CentralIT, AppURL: w.AppURL, CheckEvery: w.CheckEvery, WaitFor: w.WaitFor},
		Location:    cfg.Reporting.Location,
	})
	a.ledger = ledger.NewService(ledger.Config{
		Auth:      auth,
		Agencies:  a.tables,
		Purchases: a.tables,
		Snapshots: a.tables,
		Sheets:    xlsx.NewReader(xlsx.DefaultLimits()),
		Catalog:   a.catalog,
		Terms:     terms,
	})
	a.provisioning = provisioning.NewService(provisioning.Config{
		Auth:                 auth,
		Runs:                 a.runs,
		Agencies:             a.tables,
		Purchases:            a.tables,
		Seats:                a.tables,
		Directory:            a.graph,
		Licenses:             a.graph,
		Catalog:              a.catalog,
		Mailer:               mailer,
		Effects:              effects,
		Terms:                terms,
		Location:             cfg.Reporting.Location,
		DefaultUsageLocation: w.DefaultUsageLocation,
		CentralIT:            w.CentralIT,
		Work:                 a.queues.Work(a.workQueue),
	})
	// Full snapshots and sign-in passes are read as split work, their
	// jobs in Table Storage.
	split := usage.Split{Jobs: a.tables, Segments: cfg.Reporting.SnapshotSegments,
		PagesPerChunk: cfg.Reporting.SnapshotPagesPerChunk, SignInPassDays: cfg.Reporting.SignInPassDays}
	a.usage = usage.NewService(usage.Config{
		Auth:       auth,
		Runs:       a.runs,
		Agencies:   a.tables,
		Purchases:  a.tables,
		Snapshots:  a.tables,
		Files:      a.blobs,
		Sweeper:    a.blobs,
		Retention:  usage.Retention{Keep: cfg.Reporting.SnapshotRetention, Snapshots: a.tables, Deliveries: a.tables},
		Directory:  a.graph,
		Catalog:    a.catalog,
		Reports:    xlsx.NewReportWriter(xlsx.WithLocation(cfg.Reporting.Location)),
		Deliveries: a.tables,
		Links:      a.blobs,
		Mailer:     mailer,
		Reporting: usage.Reporting{
			Calendar:     cfg.Reporting.Calendar(),
			InactiveDays: cfg.Reporting.InactiveDays,
		},
		Terms:        terms,
		CentralIT:    w.CentralIT,
		AppURL:       w.AppURL,
		Effects:      effects,
		Work:         a.queues.Work(a.workQueue),
		Split:        split,
		Provisioning: a.provisioning,
	})
	a.renewals = renewals.NewService(renewals.Config{
		Auth:        auth,
		Runs:        a.runs,
		Agencies:    a.tables,
		Purchases:   a.tables,
		Enrollments: a.tables,
		Snapshots:   a.tables,
		Directory:   a.graph,
		Catalog:     a.catalog,
		Files:       a.blobs,
		Links:       a.blobs,
		Worksheets:  xlsx.NewReportWriter(xlsx.WithLocation(cfg.Reporting.Location)),
		Mailer:      mailer,
		Effects:     effects,
		Terms:       terms,
		Location:    cfg.Reporting.Location,
		Thresholds:  w.RenewalDays,
		CentralIT:   w.CentralIT,
	})
	return a, nil
}

// handler is the custom handler serving the host's invocations.
func (a *app) handler() *handlers.Server {
	return handlers.New(handlers.Config{Agencies: a.agencies, Runs: a.runs, Intake: a.intake, Ledger: a.ledger, Usage: a.usage, Provisioning: a.provisioning,
		Renewals: a.renewals, Auth: a.auth, Logger: a.log, MaxRequestBytes: a.cfg.Workflow.MaxRequestBytes})
}

// mailer sends through Graph, or to the outbox in Blob Storage.
func (a *app) mailer() licensing.Mailer {
	if a.cfg.Mail.Mode == config.MailOutbox {
		sender := a.cfg.Mail.Sender
		if sender == "" {
			sender = "licensing@localhost.localdomain"
		}
		return outbox.New(a.blobs, sender, outbox.WithLogger(a.log))
	}
	return a.graph.Mailer(a.cfg.Mail.Sender)
}

// connectGraph builds the Graph client; with GRAPH_MODE=demo it first starts
// the synthetic tenant on loopback (in builds with the development kit), so
// the same adapter code runs.
func (a *app) connectGraph() error {
	g := a.cfg.Graph
	gc := graph.Config{BaseURL: g.BaseURL, Auth: g.Auth, TenantID: g.TenantID, ClientID: g.ClientID,
		ClientSecret: g.ClientSecret, MaxRetryWait: g.MaxRetryWait, Timeout: g.Timeout, Logger: a.log}
	if g.Mode == config.GraphDemo {
		if startDemoTenant == nil {
			return errors.New("GRAPH_MODE=demo needs the development kit: build with make build (go build -tags devkit)")
		}
		t, err := startDemoTenant(a.cfg, a.log)
		if err != nil {
			return fmt.Errorf("demo tenant: %w", err)
		}
		a.tenant, gc.BaseURL, gc.Auth = t, t.BaseURL(), graph.AuthNone
	}
	c, err := graph.New(gc)
	if err != nil {
		return fmt.Errorf("Microsoft Graph: %w", err)
	}
	a.graph = c
	return nil
}

// tenantServer is a Graph server on loopback: the synthetic tenant.
type tenantServer interface {
	BaseURL() string
	Close() error
}

// startDemoTenant starts the synthetic tenant; nil in builds without the
// development kit.
var startDemoTenant func(cfg config.Config, log *slog.Logger) (tenantServer, error)

// close releases what newApp started.
func (a *app) close() {
	if a.tenant != nil {
		a.tenant.Close()
	}
}

// storageAccount returns the account from a connection string, or from the
// identity-based settings with a managed identity credential, with the
// configured deadlines on every call.
func storageAccount(cfg config.Config) (storageaccount.Account, error) {
	if cfg.Storage.Account != nil {
		return cfg.Storage.Account.WithTimeouts(cfg.Storage.Timeouts), nil
	}
	cred, err := storageaccount.ManagedIdentity(cfg.Storage.ClientID)
	if err != nil {
		return storageaccount.Account{}, fmt.Errorf("managed identity for storage: %w", err)
	}
	return storageaccount.FromIdentity(cfg.Storage.AccountName, cfg.Storage.ClientID, cred).WithTimeouts(cfg.Storage.Timeouts), nil
}

// initStorage creates every table, container and queue the app uses. It is
// idempotent and cheap when they exist.
func (a *app) initStorage(ctx context.Context) error {
	if err := a.tables.Init(ctx); err != nil {
		return err
	}
	if err := a.blobs.Init(ctx); err != nil {
		return err
	}
	for _, q := range a.queueNames() {
		if err := a.queues.Ensure(ctx, q); err != nil {
			return err
		}
		if err := a.queues.Ensure(ctx, q+"-poison"); err != nil {
			return err
		}
	}
	a.log.Debug("storage ready", "account", a.storageName)
	return nil
}

func (a *app) queueNames() []string { return []string{a.stepsQueue, a.workQueue} }

// catalogCache keeps the SKU list in the app's blob container.
type catalogCache struct{ s *blobstore.Store }

func (c catalogCache) Get(ctx context.Context, name string) (io.ReadCloser, time.Time, error) {
	rc, info, err := c.s.Get(ctx, name)
	return rc, info.LastModified, err
}

func (c catalogCache) Put(ctx context.Context, name string, r io.Reader) error {
	_, err := c.s.Put(ctx, name, r, blobstore.PutOptions{ContentType: "text/csv; charset=utf-8"})
	return err
}
