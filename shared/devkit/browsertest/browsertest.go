// Package browsertest drives a real headless Chromium through the Chrome
// DevTools Protocol (github.com/chromedp/chromedp), for tests that use the
// web pages as a person does: sign in, open pages, fill forms, attach files,
// click, read what is shown, and take screenshots. It also records the
// browser console, so a test can check that no Content Security Policy
// violation happened.
//
// Chromium is found through CHROME_PATH or on PATH (chromium,
// chromium-browser, google-chrome); scripts/chromium.sh installs it. When
// it is missing, Start skips the test, except with BROWSER_REQUIRED=1 or
// CI=true, when it fails it instead: browser tests must never quietly stop
// running where they are expected to run.
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Names Chromium goes by on PATH, in the order they are tried.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Find returns the path of Chromium: CHROME_PATH when set, else the first
// of chromium, chromium-browser and google-chrome on PATH.
func Find() (string, error) {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("CHROME_PATH=%s: %w", p, err)
		}
		return p, nil
	}
	for _, name := range browserNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium on PATH (" + strings.Join(browserNames, ", ") + ") and CHROME_PATH is not set; install it with scripts/chromium.sh")
}

// Required reports whether the environment demands a browser
// (BROWSER_REQUIRED=1 or CI=true), turning a skip into a failure.
func Required() bool {
	return os.Getenv("BROWSER_REQUIRED") == "1" || os.Getenv("CI") == "true"
}

// Browser is a headless Chromium started for one test.
type Browser struct {
	ctx context.Context // the browser's first tab, kept open
	log string          // the browser's standard output and error
}

// Options adjust the browser a test starts.
type Options struct {
	// Width and Height are the window's size (default 1280 × 900).
	Width, Height int
}

// Start finds and starts Chromium headless, with the flags a container
// needs (running as root, a small /dev/shm, no GPU). It skips the test
// when there is no browser, or fails it when Required. The browser stops
// when the test ends.
func Start(t testing.TB, opts Options) *Browser {
	t.Helper()
	path, err := Find()
	if err != nil {
		if Required() {
			t.Fatal(err.Error() + " (required here: BROWSER_REQUIRED=1 or CI=true)")
		}
		t.Skip(err.Error())
	}
	if opts.Width == 0 {
		opts.Width, opts.Height = 1280, 900
	}
	dir := t.TempDir()
	logFile := filepath.Join(dir, "chromium.log")
	out, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	allocOpts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.WindowSize(opts.Width, opts.Height),
		chromedp.CombinedOutput(out),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocOpts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &Browser{ctx: ctx, log: logFile}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first action starts the browser with a context of no deadline:
	// the browser lives as long as the test.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err = <-started:
	case <-time.After(60 * time.Second):
		err = errors.New("Chromium did not start within 60 s")
	}
	if err != nil {
		t.Fatalf("browsertest: starting %s: %v\n%s", path, err, b.output())
	}
	return b
}

// output returns the end of what the browser wrote.
func (b *Browser) output() string {
	raw, err := os.ReadFile(b.log)
	if err != nil {
		return ""
	}
	if len(raw) > 4096 {
		raw = raw[len(raw)-4096:]
	}
	return "Chromium's output (last lines):\n" + string(raw)
}

// Page is one browser tab with cookies of its own (a separate browser
// context, like a private window), so two pages can be two people. Its
// methods fail the test on any error and take at most Timeout each.
type Page struct {
	t    testing.TB
	ctx  context.Context
	base string
	// Timeout bounds each action (default 30 s).
	Timeout time.Duration

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	// last is the response of the page loaded last by Open or ClickAndWait.
	last *network.Response
}

// NewPage opens a tab in a new browser context for a site at base (such as
// http://127.0.0.1:7071); paths given to its methods are relative to base.
func (b *Browser) NewPage(t testing.TB, base string) *Page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	p := &Page{t: t, ctx: ctx, base: strings.TrimRight(base, "/"), Timeout: 30 * time.Second}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browsertest: opening a tab: %v\n%s", err, b.output())
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m)
			p.mu.Unlock()
		}
	}()
	return p
}

// run runs one action with the page's timeout, failing the test with what
// was being done.
func run[T any](p *Page, what string, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.t.Fatalf("browsertest: %s (on %s): %v", what, p.location(), err)
	}
	return v
}

// location is the page's address for messages, without failing.
func (p *Page) location() string {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "an unknown page"
	}
	return u
}

// URL returns the address of a path of the site.
func (p *Page) URL(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	return p.base + "/" + strings.TrimLeft(path, "/")
}

// Open loads path (following redirects) and returns the HTTP status of the
// page it ends on.
func (p *Page) Open(path string) int {
	p.t.Helper()
	resp := run(p, "opening "+path, chromedp.NavigateResponse(p.URL(path)))
	return p.loaded(resp)
}

// loaded keeps the response of a page load and returns its status.
func (p *Page) loaded(resp *network.Response) int {
	p.mu.Lock()
	p.last = resp
	p.mu.Unlock()
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// Header returns a header of the HTTP response of the page loaded last by
// Open or ClickAndWait ("" when absent).
func (p *Page) Header(name string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		return ""
	}
	for k, v := range p.last.Headers {
		if strings.EqualFold(k, name) {
			return fmt.Sprint(v)
		}
	}
	return ""
}

// ClickAndWait clicks the element (a link or a form's button) and waits
// for the page it leads to, returning that page's HTTP status.
func (p *Page) ClickAndWait(sel string) int {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.Timeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		p.t.Fatalf("browsertest: clicking %s and waiting for the next page (on %s): %v", sel, p.location(), err)
	}
	return p.loaded(resp)
}

// Click clicks the element without waiting for a navigation.
func (p *Page) Click(sel string) {
	p.t.Helper()
	run(p, "clicking "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// Type types value into the field as keystrokes, after what it holds.
func (p *Page) Type(sel, value string) {
	p.t.Helper()
	run(p, "typing into "+sel, chromedp.SendKeys(chromedp.CSS(sel), value, chromedp.NodeVisible))
}

// Fill replaces the value of a field (a text, date or number input, a
// select or a text area) with value.
// It fires the input and change events a person's typing would.
func (p *Page) Fill(sel, value string) {
	p.t.Helper()
	p.WaitVisible(sel)
	q, _ := json.Marshal(sel)
	v, _ := json.Marshal(value)
	set := run(p, "filling "+sel, chromedp.Evaluate[bool](`(e => {
		e.value = `+string(v)+`;
		e.dispatchEvent(new Event("input", {bubbles: true}));
		e.dispatchEvent(new Event("change", {bubbles: true}));
		return e.value === `+string(v)+`;
	})(document.querySelector(`+string(q)+`))`))
	if !set {
		p.t.Fatalf("browsertest: %s does not take the value %q (on %s): not a field, or not one of its options", sel, value, p.location())
	}
}

// SetFiles chooses files (paths on this machine) in an <input type=file>.
func (p *Page) SetFiles(sel string, paths ...string) {
	p.t.Helper()
	abs := make([]string, len(paths))
	for i, f := range paths {
		a, err := filepath.Abs(f)
		if err != nil {
			p.t.Fatal(err)
		}
		abs[i] = a
	}
	run(p, "choosing files for "+sel, chromedp.SetUploadFiles(chromedp.CSS(sel), abs))
}

// WaitVisible waits until the element is shown.
func (p *Page) WaitVisible(sel string) {
	p.t.Helper()
	run(p, "waiting for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// Text returns the visible text of the first element matching sel,
// waiting for it to exist.
func (p *Page) Text(sel string) string {
	p.t.Helper()
	return run(p, "reading "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// Texts returns the text of every element matching sel, now (none is an
// empty list).
func (p *Page) Texts(sel string) []string {
	p.t.Helper()
	q, _ := json.Marshal(sel)
	return run(p, "reading every "+sel, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(`+string(q)+`), e => e.innerText.trim())`))
}

// Has reports whether an element matches sel now, without waiting.
func (p *Page) Has(sel string) bool {
	p.t.Helper()
	q, _ := json.Marshal(sel)
	return run(p, "looking for "+sel, chromedp.Evaluate[bool](`document.querySelector(`+string(q)+`) !== null`))
}

// Attr returns an attribute of the first element matching sel, now; ok is
// false when there is no such element or attribute.
func (p *Page) Attr(sel, name string) (value string, ok bool) {
	p.t.Helper()
	q, _ := json.Marshal(sel)
	n, _ := json.Marshal(name)
	v := run(p, "reading "+name+" of "+sel, chromedp.Evaluate[*string](`(e => e && e.hasAttribute(`+string(n)+`) ? e.getAttribute(`+string(n)+`) : null)(document.querySelector(`+string(q)+`))`))
	if v == nil {
		return "", false
	}
	return *v, true
}

// Focused returns the id of the element that has the keyboard focus ("" for
// the page itself or an element without an id).
func (p *Page) Focused() string {
	p.t.Helper()
	return run(p, "reading the focus", chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`))
}

// Location returns the page's address.
func (p *Page) Location() string {
	p.t.Helper()
	return run(p, "reading the address", chromedp.Location())
}

// Path returns the page's path and query, relative to the site.
func (p *Page) Path() string {
	p.t.Helper()
	return strings.TrimPrefix(p.Location(), p.base)
}

// Title returns the page's title.
func (p *Page) Title() string {
	p.t.Helper()
	return run(p, "reading the title", chromedp.Title())
}

// HTML returns the page's markup as the browser holds it now.
func (p *Page) HTML() string {
	p.t.Helper()
	return run(p, "reading the page", chromedp.OuterHTML(chromedp.CSS("html")))
}

// SetViewport sets the size of the page's viewport in CSS pixels; mobile
// makes it a phone (the meta viewport applies, touch is on).
func (p *Page) SetViewport(width, height int, mobile bool) {
	p.t.Helper()
	var opts []chromedp.EmulateViewportOption
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	run(p, "setting the viewport", chromedp.EmulateViewport(int64(width), int64(height), opts...))
}

// Screenshot saves a PNG of the whole page (not only what the viewport
// shows) to file, creating its folder.
func (p *Page) Screenshot(file string) {
	p.t.Helper()
	png := run(p, "taking a screenshot", chromedp.FullScreenshot(100))
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(file, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// SignIn signs the page in as user through the site's sign-in page
// (/.auth/login/aad: App Service authentication, or the local sign-in of
// the host harness), typing the name and pressing Sign in, and returns the
// status of the page it lands on (next, or / when empty).
func (p *Page) SignIn(user, next string) int {
	p.t.Helper()
	if next == "" {
		next = "/"
	}
	if st := p.Open("/.auth/login/aad?post_login_redirect_uri=" + url.QueryEscape(next)); st != 200 {
		p.t.Fatalf("browsertest: the sign-in page answered %d", st)
	}
	p.Fill("#user", "")
	p.Type("#user", user)
	return p.ClickAndWait("#sign-in")
}

// SignOut ends the page's session (/.auth/logout).
func (p *Page) SignOut() {
	p.t.Helper()
	p.Open("/.auth/logout")
}

// Console returns the messages written to the browser console so far: the
// page's console calls, uncaught exceptions and the browser's own log
// (refused resources, policy violations).
func (p *Page) Console() []chromedp.ConsoleMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), p.console...)
}

// CSPViolations returns the console messages reporting that the Content
// Security Policy blocked something (an inline script or style, a
// resource of another origin, a form's target).
func (p *Page) CSPViolations() []string {
	// The browser logs the messages as they happen; give the last page's
	// a moment to arrive.
	time.Sleep(200 * time.Millisecond)
	var out []string
	for _, m := range p.Console() {
		if strings.Contains(strings.ToLower(m.Text), "content security policy") {
			out = append(out, m.String())
		}
	}
	return out
}
