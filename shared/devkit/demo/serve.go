package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/shared-tenant/licensetrack/shared/config"
	"github.com/shared-tenant/licensetrack/shared/devkit/demotenant"
	"github.com/shared-tenant/licensetrack/shared/devkit/funchost"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// DefaultServeAddr is where make serve serves the pages.
const DefaultServeAddr = "127.0.0.1:7071"

// pageLinks are the demo's example pages: one line per kind of page.
type pageLinks struct {
	base     string
	request  string // a request waiting for activation, or any
	agency   string // the agency whose delegate is suggested
	delegate string
	admin    string
	serving  bool
}

func (l pageLinks) write(out io.Writer) {
	if l.serving {
		fmt.Fprintf(out, "\nThe pages, at %s until Ctrl-C (local sign-in: no password, say who you are):\n", l.base)
	} else {
		fmt.Fprintf(out, "\nThe pages (make serve runs this demo and keeps them up at %s):\n", l.base)
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	rows := [][2]string{
		{"home", "/"},
		{"new request (intake form)", "/requests/new"},
		{"a request", "/requests/" + l.request},
		{"an agency's overview", "/agencies/" + l.agency},
		{"every agency (central IT)", "/agencies"},
		{"sign in", "/.auth/login/aad"},
		{"sign out", "/.auth/logout"},
	}
	for _, r := range rows {
		if r[1] == "/requests/" {
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s%s\n", r[0], l.base, r[1])
	}
	tw.Flush()
	fmt.Fprintf(out, "Sign in as %s (central IT, in ADMINS) or %s (a delegate of %s).\n", orAnonymous(l.admin), l.delegate, l.agency)
}

// listenPages reserves the address the pages will be served at, so a port
// in use stops the demo before the tour rather than after it.
func listenPages(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot serve the pages at %s (is make serve already running?): %w", addr, err)
	}
	return ln, nil
}

// demoPages prints the pages' addresses and, with a listener, serves them
// with the harness's local sign-in until ctx ends: the same handler the
// tour drove, through a second host in front of it that takes identities
// from the sign-in's cookie instead of from headers. A request of the
// suggested agency is left waiting for activation, for central IT to
// confirm on its page.
func demoPages(ctx context.Context, cfg config.Config, a Env, gen *demotenant.Generator, hostApp *funchost.App, host *funchost.Host,
	api *demoClient, ln net.Listener, out io.Writer, step func(string, ...any)) error {
	links := pageLinks{base: "http://" + DefaultServeAddr, agency: "DOA", admin: api.caller}
	if ln != nil {
		links.base, links.serving = "http://"+ln.Addr().String(), true
	}
	for _, ag := range gen.Agencies() {
		if ag.ID == links.agency && len(ag.Delegates) > 0 {
			links.delegate = ag.Delegates[0]
		}
	}
	if ln == nil {
		var list struct {
			ServiceRequests []struct{ ID string } `json:"serviceRequests"`
		}
		if err := api.decode(ctx, http.MethodGet, "/service-requests", &list); err == nil && len(list.ServiceRequests) > 0 {
			links.request = list.ServiceRequests[0].ID
		}
		links.write(out)
		return nil
	}
	defer ln.Close()

	po := demoPO{agency: links.agency, po: fmt.Sprintf("47%08d", time.Now().Unix()%100000000), sku: demotenant.Visio.ID, part: "VISIOCLIENT",
		scenario: "new-customer", quantity: 5, withEmail: true}
	as := api.as(links.delegate)
	status, resp, err := as.send(ctx, http.MethodPost, "/purchase-orders", "application/json", po.body(as.caller))
	if err != nil {
		return err
	}
	var sr struct{ ID string }
	if json.Unmarshal(resp, &sr); status != http.StatusCreated || sr.ID == "" {
		return fmt.Errorf("POST /api/purchase-orders (%s, for the pages) answered %d: %s", links.agency, status, resp)
	}
	if err := waitStatus(ctx, api, sr.ID, licensing.StatusAwaitingActivation); err != nil {
		return err
	}
	links.request = sr.ID
	step("%s's PO %s (%s) waits for activation, for central IT to confirm on its page", links.agency, po.po, sr.ID)

	signedIn, err := hostApp.Target(host.HandlerURL(), funchost.Config{
		Settings:    map[string]string{"ACTIVATION_QUEUE": cfg.Storage.ActivationQueue, "WORK_QUEUE": cfg.Storage.WorkQueue},
		Logger:      slog.New(slog.DiscardHandler),
		LocalSignIn: &funchost.LocalSignIn{Users: signInUsers(cfg, api)},
	})
	if err != nil {
		return err
	}
	links.write(out)
	srv := &http.Server{Handler: signedIn, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving the pages: %w", err)
	case <-ctx.Done():
	}
	step("stopping")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// signInUsers lists, for the sign-in page, the administrators of ADMINS
// and the delegates of the agencies as they are now.
func signInUsers(cfg config.Config, api *demoClient) func(context.Context) []funchost.SignInUser {
	return func(ctx context.Context) []funchost.SignInUser {
		var users []funchost.SignInUser
		for _, a := range cfg.Admins {
			users = append(users, funchost.SignInUser{Name: a, Role: "central IT (ADMINS)"})
		}
		var list struct {
			Agencies []licensing.Agency `json:"agencies"`
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := api.decode(ctx, http.MethodGet, "/agencies", &list); err != nil {
			return users
		}
		sort.Slice(list.Agencies, func(i, j int) bool { return list.Agencies[i].ID < list.Agencies[j].ID })
		for _, ag := range list.Agencies {
			for _, d := range ag.Delegates {
				users = append(users, funchost.SignInUser{Name: d, Role: "delegate of " + ag.ID})
			}
		}
		return users
	}
}
