//go:build devkit

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/config"
	"github.com/shared-tenant/licensetrack/shared/devkit/demo"
	"github.com/shared-tenant/licensetrack/shared/devkit/demotenant"
	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Builds with the development kit (make build, make demo) can run the
// synthetic tenant (GRAPH_MODE=demo) and the demo tour; the shipped binary
// (make stage) links neither.
func init() {
	startDemoTenant = func(cfg config.Config, log *slog.Logger) (tenantServer, error) {
		tenant := graphfake.NewTenant()
		demotenant.New(demotenant.Options{Seed: cfg.Graph.DemoSeed, Users: cfg.Graph.DemoUsers}).Fill(tenant)
		srv := graphfake.NewServer(tenant, log)
		if err := srv.Start("127.0.0.1:0"); err != nil {
			return nil, err
		}
		return srv, nil
	}
	runDemo = func(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, out io.Writer) error {
		flags := flag.NewFlagSet("demo", flag.ContinueOnError)
		flags.SetOutput(io.Discard)
		serveAddr := flags.String("serve", "", "after the tour, serve the web pages at this address (make serve: "+demo.DefaultServeAddr+")")
		if err := flags.Parse(args); err != nil {
			return usageError{"demo: " + err.Error()}
		}
		if flags.NArg() > 0 {
			return usageError{fmt.Sprintf("demo: unexpected argument %q", flags.Arg(0))}
		}
		a, err := newApp(cfg, log)
		if err != nil {
			return err
		}
		defer a.close()
		tenant, _ := a.tenant.(*graphfake.Server)
		return demo.Run(ctx, demo.Env{
			Config:       cfg,
			Log:          log,
			StorageName:  a.storageName,
			InitStorage:  func(ctx context.Context) error { return resetStorage(ctx, a) },
			Tables:       a.tables.TableNames(),
			Containers:   []string{a.container},
			Runs:         a.runs,
			Usage:        a.usage,
			Provisioning: a.provisioning,
			Renewals:     a.renewals,
			Blobs:        a.blobs,
			Tenant:       tenant,
			Environ:      os.Environ(),
			Serve:        *serveAddr,
		}, out)
	}
}

// resetStorage empties what the demo writes (the app's tables, blob
// container and queues, after STORAGE_PREFIX) and creates them again, so
// that every demo starts from the same state as its synthetic tenant, which
// is generated afresh each time: a ledger or license grants left by an
// earlier demo would not match it.
func resetStorage(ctx context.Context, a *app) error {
	acct, err := storageAccount(a.cfg)
	if err != nil {
		return err
	}
	tsvc, err := acct.TableService()
	if err != nil {
		return err
	}
	for _, name := range a.tables.TableNames() {
		if _, err := tsvc.DeleteTable(ctx, name, nil); err != nil && azerr.Classify(err) != licensing.NotFound {
			return fmt.Errorf("emptying table %s: %w", name, err)
		}
	}
	bsvc, err := acct.BlobService()
	if err != nil {
		return err
	}
	if _, err := bsvc.DeleteContainer(ctx, a.container, nil); err != nil && azerr.Classify(err) != licensing.NotFound {
		return fmt.Errorf("emptying container %s: %w", a.container, err)
	}
	qsvc, err := acct.QueueService()
	if err != nil {
		return err
	}
	for _, q := range a.queueNames() {
		for _, name := range []string{q, q + "-poison"} {
			if _, err := qsvc.DeleteQueue(ctx, name, nil); err != nil && azerr.Classify(err) != licensing.NotFound {
				return fmt.Errorf("emptying queue %s: %w", name, err)
			}
		}
	}
	return a.initStorage(ctx)
}
