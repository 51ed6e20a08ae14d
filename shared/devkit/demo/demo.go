package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shared-tenant/licensetrack/shared/blobstore"
	"github.com/shared-tenant/licensetrack/shared/config"
	"github.com/shared-tenant/licensetrack/shared/devkit/demotenant"
	"github.com/shared-tenant/licensetrack/shared/devkit/funchost"
	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/provisioning"
	"github.com/shared-tenant/licensetrack/shared/renewals"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// Env is what the demo is given by the process that runs it: the settings,
// the storage it prepares, the services it calls directly (a snapshot, the
// payroll run and a provisioning run, as their timers would), the blob
// container it reads mail and reports from, and the synthetic tenant it
// plays central IT and a delegate in.
type Env struct {
	Config      config.Config
	Log         *slog.Logger
	StorageName string
	// InitStorage empties the demo's tables, container and queues and
	// creates them again.
	InitStorage func(context.Context) error
	Tables      []string
	Containers  []string
	Runs        *licensing.Runs
	Usage       *usage.Service
	// Provisioning runs capped group provisioning.
	Provisioning *provisioning.Service
	// Renewals sends the renewal reminders.
	Renewals *renewals.Service
	Blobs    *blobstore.Store
	Tenant   *graphfake.Server
	// Environ is the process environment the handler is started with.
	Environ []string
	// Serve, when set (such as DefaultServeAddr), keeps the handler up
	// after the tour and serves the web pages there with the harness's
	// local sign-in until the context ends (make serve).
	Serve string
}

// Run runs the app locally the way the Functions host would: it starts this
// same executable as the custom handler under the host harness, then drives the flow through
// the HTTP API and prints what it did and where the data is.
func Run(ctx context.Context, a Env, out io.Writer) error {
	cfg, log := a.Config, a.Log
	if cfg.Storage.Account == nil {
		return errors.New("the demo runs against Azurite: set AzureWebJobsStorage=UseDevelopmentStorage=true")
	}
	if a.Tenant == nil {
		return errors.New("the demo runs against the synthetic tenant: set GRAPH_MODE=demo")
	}
	step := func(format string, args ...any) { fmt.Fprintf(out, "==> "+format+"\n", args...) }

	step("emptying and preparing storage in %s (the demo starts afresh, as its synthetic tenant does)", a.StorageName)
	ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := a.InitStorage(ictx)
	cancel()
	if err != nil {
		return fmt.Errorf("storage is not reachable (is Azurite running? make azurite): %w", err)
	}
	run := a.Runs.Start(ctx, "demo", "cli", log)
	finished := false
	// finish records the tour's run and says where its data is, once: after
	// the tour, before the pages are served.
	finish := func(err error) error {
		if finished {
			return err
		}
		finished = true
		rec := run.Finish(ctx, err, false, "")
		if err != nil {
			return err
		}
		step("done in %s", rec.Duration(time.Now()).Round(time.Millisecond))
		fmt.Fprintf(out, `
Where the data is:
  tables      %s  (Table Storage on Azurite, http://127.0.0.1:10002/devstoreaccount1)
  container   %s  (Blob Storage on Azurite, http://127.0.0.1:10000/devstoreaccount1): documents/, snapshots/, outbox/, catalog/
  files       .azurite/data/ (Azurite's own files; open the account with Azure Storage Explorer's "Local emulator")
`, strings.Join(a.Tables, ", "), strings.Join(a.Containers, ", "))
		return nil
	}
	return finish(demoFlow(ctx, cfg, a, out, step, run, finish))
}

func demoFlow(ctx context.Context, cfg config.Config, a Env, out io.Writer, step func(string, ...any), run *licensing.RunRecorder, finish func(error) error) error {
	pages, err := listenPages(a.Serve)
	if err != nil {
		return err
	}
	if pages != nil {
		defer pages.Close()
	}
	dir, err := appDir()
	if err != nil {
		return err
	}
	hostApp, err := funchost.Load(dir)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	qsvc, err := cfg.Storage.Account.QueueService()
	if err != nil {
		return err
	}
	var names []string
	for _, f := range hostApp.Functions {
		names = append(names, f.Name)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	front := "http://" + ln.Addr().String()
	// Links in mail lead to the pages when they are served.
	appURL := front
	if pages != nil {
		appURL = "http://" + pages.Addr().String()
	}
	// The handler reads the same synthetic tenant as this process, through
	// its Graph adapter over loopback, so that an "activation" here shows in
	// its subscribedSkus.
	env := append(append([]string(nil), a.Environ...), "GRAPH_MODE=live", "GRAPH_AUTH=none", "GRAPH_BASE_URL="+a.Tenant.BaseURL(),
		"APP_URL="+appURL, "ACTIVATION_CHECK_EVERY=2s")
	step("starting the handler under the host harness (functions: %s)", strings.Join(names, ", "))
	started := time.Now()
	host, err := hostApp.Start(ctx, exe, env, funchost.Config{
		QueueService: qsvc,
		Settings:     map[string]string{"ACTIVATION_QUEUE": cfg.Storage.ActivationQueue, "WORK_QUEUE": cfg.Storage.WorkQueue},
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		ln.Close()
		return err
	}
	defer host.Close()
	step("handler ready in %s", time.Since(started).Round(time.Millisecond))

	srv := &http.Server{Handler: host, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	qctx, stopQueues := context.WithCancel(ctx)
	defer stopQueues()
	go host.RunQueues(qctx)
	api := &demoClient{base: front + "/api"}
	if len(cfg.Admins) > 0 {
		api.caller = cfg.Admins[0]
	}
	step("the API is at %s (as %s); the harness polls activation-steps like the host", api.base, orAnonymous(api.caller))

	gen := demotenant.New(demotenant.Options{Seed: cfg.Graph.DemoSeed, Users: cfg.Graph.DemoUsers})
	for _, da := range gen.Agencies() {
		ag := da.Licensing()
		body, _ := json.Marshal(ag)
		status, resp, err := api.do(ctx, http.MethodPut, "/agencies/"+ag.ID, body)
		if err != nil {
			return err
		}
		switch status {
		case http.StatusCreated:
			run.Add("agencies created", 1)
		case http.StatusOK:
			run.Add("agencies updated", 1)
		default:
			return fmt.Errorf("PUT /api/agencies/%s answered %d: %s", ag.ID, status, resp)
		}
	}

	status, resp, err := api.do(ctx, http.MethodGet, "/agencies", nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET /api/agencies answered %d: %s", status, resp)
	}
	var list struct {
		Agencies []licensing.Agency `json:"agencies"`
		Count    int                `json:"count"`
	}
	if err := json.Unmarshal(resp, &list); err != nil {
		return fmt.Errorf("GET /api/agencies: %w", err)
	}
	step("PUT /api/agencies/{id} for %d demo agencies, then GET /api/agencies -> %d agencies", len(gen.Agencies()), list.Count)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "    ID\tNAME\tATTRIBUTION RULE")
	for _, ag := range list.Agencies {
		rule := ag.Attribution.Attribute + " = " + strings.Join(ag.Attribution.Values, " | ")
		if ag.Attribution.Attribute == licensing.AttrGroup {
			rule = "member of group " + ag.Attribution.GroupID
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\n", ag.ID, licensing.TruncateTo(ag.Name, 40), licensing.TruncateTo(rule, 70))
	}
	tw.Flush()

	// A mistake, to show what an administrator sees.
	status, resp, err = api.do(ctx, http.MethodPut, "/agencies/BAD", []byte(`{"name": "", "contacts": ["not-an-email"], "attribution": {"attribute": "favouriteColour"}}`))
	if err != nil {
		return err
	}
	step("PUT /api/agencies/BAD with mistakes -> %d %s", status, resp)

	if err := demoLedger(ctx, api, gen, out, step); err != nil {
		return err
	}
	if err := demoPurchaseOrders(ctx, api, a, gen, out, step); err != nil {
		return err
	}

	step("taking a usage snapshot of the demo tenant (%d users) through the Graph adapter", cfg.Graph.DemoUsers)
	sum, err := a.Usage.SnapshotRun(ctx, "demo", usage.SnapshotOptions{}, a.Log)
	if err != nil {
		return err
	}
	if err := sum.WriteText(out); err != nil {
		return err
	}
	run.Add("users in snapshot", sum.Snapshot.Users)
	if err := demoPayroll(ctx, cfg, a, host, api, out, step); err != nil {
		return err
	}
	if err := demoChargeback(ctx, api, out, step); err != nil {
		return err
	}
	if err := demoProvisioning(ctx, a, api, gen, out, step); err != nil {
		return err
	}
	if err := demoRenewals(ctx, cfg, a, api, out, step); err != nil {
		return err
	}

	status, resp, err = api.do(ctx, http.MethodGet, "/runs?limit=3", nil)
	if err != nil {
		return err
	}
	step("GET /api/runs?limit=3 -> %d %s", status, licensing.TruncateTo(string(resp), 400))
	if err := finish(nil); err != nil {
		return err
	}
	return demoPages(ctx, cfg, a, gen, hostApp, host, api, pages, out, step)
}

// appDir finds the folder with host.json: the working directory (a clone),
// or the executable's folder (a staged app).
func appDir() (string, error) {
	if _, err := os.Stat("host.json"); err == nil {
		return ".", nil
	}
	exe, err := os.Executable()
	if err == nil {
		dir := filepath.Dir(exe)
		for _, d := range []string{dir, filepath.Dir(dir)} {
			if _, err := os.Stat(filepath.Join(d, "host.json")); err == nil {
				return d, nil
			}
		}
	}
	return "", errors.New("host.json not found: run the demo from the repository root (make demo)")
}

func orAnonymous(s string) string {
	if s == "" {
		return "anonymous"
	}
	return s
}

// demoClient calls the API as a signed-in user would after App Service
// authentication: with the principal headers it adds.
type demoClient struct {
	base   string
	caller string
}

func (c *demoClient) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	ct := ""
	if body != nil {
		ct = "application/json"
	}
	return c.send(ctx, method, path, ct, body)
}

// decode calls the API without a body and decodes its 200 answer into v;
// any other status is an error quoting the answer.
func (c *demoClient) decode(ctx context.Context, method, path string, v any) error {
	status, resp, err := c.do(ctx, method, path, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("%s /api%s answered %d: %s", method, path, status, resp)
	}
	if err := json.Unmarshal(resp, v); err != nil {
		return fmt.Errorf("%s /api%s: %w", method, path, err)
	}
	return nil
}

// as returns a client calling as caller.
func (c *demoClient) as(caller string) *demoClient { return &demoClient{base: c.base, caller: caller} }

func (c *demoClient) send(ctx context.Context, method, path, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.caller != "" {
		req.Header.Set("X-MS-CLIENT-PRINCIPAL-NAME", c.caller)
		req.Header.Set("X-MS-CLIENT-PRINCIPAL-IDP", "aad")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 10<<20))
	return resp.StatusCode, bytes.TrimSpace(raw), err
}
