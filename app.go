package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/shared-tenant/licensetrack/shared/blobstore"
	"github.com/shared-tenant/licensetrack/shared/config"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/queues"
	"github.com/shared-tenant/licensetrack/shared/storageaccount"
	"github.com/shared-tenant/licensetrack/shared/tablestore"
)

// Blob containers and queues the app uses. Table names belong to tablestore.
var (
	containers = []string{"documents", "reports", "outbox"}
	queueNames = []string{}
)

// app is the wiring of one process: configuration, adapters and the
// service, built explicitly here and nowhere else.
type app struct {
	cfg         config.Config
	log         *slog.Logger
	storageName string
	tables      *tablestore.Store
	blobs       map[string]*blobstore.Store
	queues      *queues.Client
	svc         *licensing.Service
}

// newApp builds the adapters and the service from cfg. It makes no network
// calls, so the handler can start listening at once.
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
		tables:      tablestore.New(tsvc, tablestore.Options{}),
		blobs:       map[string]*blobstore.Store{},
		queues:      queues.New(qsvc),
	}
	for _, c := range containers {
		a.blobs[c] = blobstore.New(bsvc, c)
	}
	a.svc = licensing.NewService(licensing.ServiceConfig{
		Agencies:       a.tables,
		Runs:           a.tables,
		Admins:         cfg.Admins,
		AllowAnonymous: cfg.AllowAnonymous,
	})
	return a, nil
}

// storageAccount returns the account from a connection string, or from the
// identity-based settings with a managed identity credential.
func storageAccount(cfg config.Config) (storageaccount.Account, error) {
	if cfg.Storage.Account != nil {
		return *cfg.Storage.Account, nil
	}
	cred, err := storageaccount.ManagedIdentity(cfg.Storage.ClientID)
	if err != nil {
		return storageaccount.Account{}, fmt.Errorf("managed identity for storage: %w", err)
	}
	return storageaccount.FromIdentity(cfg.Storage.AccountName, cfg.Storage.ClientID, cred), nil
}

// initStorage creates every table, container and queue the app uses. It is
// idempotent and cheap when they exist.
func (a *app) initStorage(ctx context.Context) error {
	if err := a.tables.Init(ctx); err != nil {
		return err
	}
	for _, c := range containers {
		if err := a.blobs[c].Init(ctx); err != nil {
			return err
		}
	}
	for _, q := range queueNames {
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

func (a *app) tableNames() []string     { return a.tables.TableNames() }
func (a *app) containerNames() []string { return containers }
func (a *app) queueNames() []string     { return queueNames }
