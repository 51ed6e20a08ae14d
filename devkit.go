//go:build devkit

package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/shared-tenant/licensetrack/shared/config"
	"github.com/shared-tenant/licensetrack/shared/devkit/demo"
	"github.com/shared-tenant/licensetrack/shared/devkit/demotenant"
	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
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
	runDemo = func(ctx context.Context, cfg config.Config, log *slog.Logger, out io.Writer) error {
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
			InitStorage:  a.initStorage,
			Tables:       a.tables.TableNames(),
			Containers:   []string{a.container},
			Runs:         a.runs,
			Usage:        a.usage,
			Provisioning: a.provisioning,
			Blobs:        a.blobs,
			Tenant:       tenant,
			Environ:      os.Environ(),
		}, out)
	}
}
