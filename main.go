// Command handler is the license provisioning and tracking service: an Azure
// Functions custom handler. Without arguments it serves the host's
// invocations; "handler run <job>" runs one job once; "handler demo" seeds
// demo data and walks the whole flow against a local Azurite.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // report time zones must load on hosts without a zoneinfo database

	"github.com/shared-tenant/licensetrack/shared/config"
)

const usageText = `usage:
  handler                 serve the Azure Functions custom-handler protocol on FUNCTIONS_CUSTOMHANDLER_PORT
  handler run <job> [flags]
                          run one job once and print its summary; jobs:
%s
  handler demo [--serve 127.0.0.1:7071]
                          seed demo data and run the whole flow against Azurite (see README);
                          --serve then keeps serving the web pages there, with a local sign-in
  handler help            this text
Settings come from the environment; see local.settings.sample.json and the README.
`

func main() {
	os.Exit(run(os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs explicit, for tests.
func run(args []string, getenv func(string) (string, bool), stdout, stderr io.Writer) int {
	cmd := ""
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "help", "-h", "--help", "-help":
		fmt.Fprintf(stdout, usageText, jobList())
		return 0
	case "", "serve", "run", "demo":
	default:
		fmt.Fprintf(stderr, "handler: unknown command %q\n"+usageText, cmd, jobList())
		return 2
	}

	cfg, err := config.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "handler: %v\n", err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch cmd {
	case "", "serve":
		err = serve(ctx, cfg, log)
	case "run":
		err = runJob(ctx, cfg, log, args[1:], stdout)
	case "demo":
		if runDemo == nil {
			err = errors.New("the demo needs the development kit: run make demo (it builds with -tags devkit)")
		} else {
			err = runDemo(ctx, cfg, log, args[1:], stdout)
		}
	}
	if err != nil {
		var uerr usageError
		if errors.As(err, &uerr) {
			fmt.Fprintf(stderr, "handler: %v\n"+usageText, err, jobList())
			return 2
		}
		fmt.Fprintf(stderr, "handler: %v\n", err)
		return 1
	}
	return 0
}

// runDemo runs the demo tour with the arguments after "demo"; nil in
// builds without the development kit.
var runDemo func(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, out io.Writer) error

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// serve listens on FUNCTIONS_CUSTOMHANDLER_PORT and answers the host until
// it is told to stop. It listens first and prepares storage afterwards, so
// the host's readiness probe is answered within its 30 seconds even when
// storage is slow.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if cfg.Port == 0 {
		return errors.New("FUNCTIONS_CUSTOMHANDLER_PORT is not set: the Functions host sets it; to run the handler by hand, set it to a free port")
	}
	started := time.Now()
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("cannot listen on port %d: %w", cfg.Port, err)
	}
	a, err := newApp(cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer a.close()
	storageDone := make(chan struct{})
	srv := &http.Server{
		Handler:           afterStorage(a.handler(), storageDone),
		ReadHeaderTimeout: 10 * time.Second,
	}
	log.Info("handler listening", "port", cfg.Port, "storage", a.storageName, "ready_ms", time.Since(started).Milliseconds())
	go func() {
		defer close(storageDone)
		ictx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := a.initStorage(ictx); err != nil {
			log.Error("storage is not ready; requests that need it will fail until it is", "error", err)
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("handler stopping")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func jobList() string {
	var names []string
	for n := range jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "                            %-20s %s\n", n, jobs[n].about)
	}
	return strings.TrimRight(b.String(), "\n")
}

func runJob(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usageError{"run needs a job name"}
	}
	j, ok := jobs[args[0]]
	if !ok {
		return usageError{fmt.Sprintf("unknown job %q", args[0])}
	}
	a, err := newApp(cfg, log)
	if err != nil {
		return err
	}
	defer a.close()
	return j.run(ctx, a, args[1:], out)
}

// afterStorage holds invocations until the first preparation of storage has
// ended (the tables, container and queues exist), so that the first
// requests after a cold start do not find a table missing; the readiness
// probe (GET /) is answered at once.
func afterStorage(h http.Handler, done <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			select {
			case <-done:
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
