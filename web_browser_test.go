package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/browsertest"
	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/funchost"
	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// The other agency of the browser tests and its delegate.
const (
	otherAgency   = "DET"
	otherDelegate = "lee@det.example.gov"
)

// webRig is the workflow rig (the built handler under the host harness, on
// Azurite, with the fake Graph and outbox mail) with a second host in front
// of the same handler that signs browsers in with the harness's local
// sign-in, listening on loopback, and a headless Chromium.
type webRig struct {
	*workflowRig
	url     string
	browser *browsertest.Browser
	files   string // folder with the documents people attach
}

func newWebRig(t *testing.T) *webRig {
	t.Helper()
	// The browser first: without one the test skips before building anything.
	b := browsertest.Start(t, browsertest.Options{})
	r := &webRig{workflowRig: newWorkflowRig(t), browser: b, files: t.TempDir()}
	det := `{"name":"Department of Enterprise Technology","contacts":["licensing@det.example.gov"],"delegates":["` + otherDelegate + `"],` +
		`"attribution":{"attribute":"upnDomain","values":["det.example.gov"]}}`
	if st, body := r.call(http.MethodPut, "/api/agencies/"+otherAgency, testAdmin, "application/json", []byte(det)); st != http.StatusCreated {
		t.Fatalf("PUT agency %s: %d %s", otherAgency, st, body)
	}
	users := []funchost.SignInUser{{Name: testAdmin, Role: "central IT (ADMINS)"}, {Name: delegate, Role: "delegate of DOA"},
		{Name: otherDelegate, Role: "delegate of " + otherAgency}}
	signedIn, err := r.app.Target(r.host.Load().HandlerURL(), funchost.Config{
		Settings:          map[string]string{"ACTIVATION_QUEUE": r.queue, "WORK_QUEUE": r.queue + "-work"},
		InvocationTimeout: 30 * time.Second,
		LocalSignIn:       &funchost.LocalSignIn{Users: func(context.Context) []funchost.SignInUser { return users }},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(signedIn)
	t.Cleanup(srv.Close)
	r.url = srv.URL
	for name, content := range map[string][]byte{"PO-4500012345.pdf": fakes.PDF, "activation.eml": fakes.EML} {
		if err := os.WriteFile(filepath.Join(r.files, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// page opens a tab signed in as user, landing on next.
func (r *webRig) page(t *testing.T, user, next string) *browsertest.Page {
	t.Helper()
	p := r.browser.NewPage(t, r.url)
	if st := p.SignIn(user, next); st != http.StatusOK {
		t.Fatalf("signing in as %s to %s: status %d at %s", user, next, st, p.Path())
	}
	return p
}

func (r *webRig) file(name string) string { return filepath.Join(r.files, name) }

// stored returns the request as stored, failing t (not the rig's test).
func (r *webRig) stored(t *testing.T, id string) licensing.ServiceRequest {
	t.Helper()
	sr, err := r.tables.GetRequest(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return sr
}

// waitStatus polls the stored request until it has status (within 60 s).
func (r *webRig) waitStatus(t *testing.T, id, status string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for sr := r.stored(t, id); sr.Status != status; sr = r.stored(t, id) {
		if time.Now().After(deadline) {
			t.Fatalf("%s is %s after 60 s, want %s; history %+v", id, sr.Status, status, sr.History)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var poSeq atomic.Int64

// newPO returns a PO number no other test run used.
func newPO() string {
	return fmt.Sprintf("45%06d%02d", time.Now().UnixMilli()%1000000, poSeq.Add(1)%100)
}

// fillIntake fills the intake form of DOA for Visio with PO po, choosing
// the purchase order and, withEmail, the activation email.
func (r *webRig) fillIntake(p *browsertest.Page, po string, withEmail bool) {
	p.Fill("#agency", "DOA")
	p.Fill("#poNumber", po)
	p.Fill("#reseller", "SHI")
	p.Click("#agreement-" + licensing.AgreementALaCarte)
	p.Click("#renewal-no")
	p.Fill("#termStart", "2026-08-01")
	p.Click("#activationScenario-" + licensing.ScenarioNewCustomer)
	p.Fill("#sku-1", "VISIOCLIENT")
	p.Fill("#quantity-1", "25")
	p.SetFiles("#purchaseOrder", r.file("PO-4500012345.pdf"))
	if withEmail {
		p.SetFiles("#activationEmail", r.file("activation.eml"))
	}
	p.Fill("#requesterName", "Pat Doe")
	p.Fill("#requesterEmail", delegate)
}

// requestID returns the request a /requests/{id} page shows.
func requestID(t *testing.T, p *browsertest.Page) string {
	t.Helper()
	path := p.Path()
	id, ok := strings.CutPrefix(path, "/requests/")
	id, _, _ = strings.Cut(id, "?")
	if !ok || id == "" || id == "new" || strings.Contains(id, "/") {
		t.Fatalf("at %s (%s), want a request's page", path, p.Title())
	}
	return id
}

// checkPageHeaders checks the headers of the page loaded last.
func checkPageHeaders(t *testing.T, p *browsertest.Page) {
	t.Helper()
	csp := p.Header("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: Content-Security-Policy %q lacks %s", p.Path(), csp, want)
		}
	}
	if cc := p.Header("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("%s: Cache-Control %q, want no-store", p.Path(), cc)
	}
}

// checkConsole fails on any Content Security Policy violation or script
// error the browser reported while the page was used.
func checkConsole(t *testing.T, p *browsertest.Page) {
	t.Helper()
	if v := p.CSPViolations(); len(v) != 0 {
		t.Errorf("the browser reported Content Security Policy violations:\n%s", strings.Join(v, "\n"))
	}
	for _, m := range p.Console() {
		if m.IsException() {
			t.Errorf("script error: %s", m)
		}
	}
}

// TestWebPages walks the pages as the people who use them would, in a real
// browser: a delegate sends a purchase order with its two documents, sends
// one without the activation email and adds it on the request's page,
// central IT confirms an activation, a mistake is shown next to its field
// and in the summary, and another agency's pages are refused. Every page
// carries the Content Security Policy and the browser reports no violation
// of it.
func TestWebPages(t *testing.T) {
	started := time.Now()
	r := newWebRig(t)
	t.Logf("rig ready in %s", time.Since(started).Round(time.Millisecond))
	var complete string // a request sent whole, for central IT to confirm

	t.Run("DelegateSendsPurchaseOrder", func(t *testing.T) {
		p := r.page(t, delegate, "/requests/new")
		if p.Path() != "/requests/new" {
			t.Fatalf("after signing in at %s, want /requests/new", p.Path())
		}
		checkPageHeaders(t, p)
		po := newPO()
		r.fillIntake(p, po, true)
		if st := p.ClickAndWait("#intake-submit"); st != http.StatusOK {
			t.Fatalf("sending the form: status %d at %s: %s", st, p.Path(), p.Text("main"))
		}
		complete = requestID(t, p)
		checkPageHeaders(t, p)
		if h := p.Text("h1"); !strings.Contains(h, complete) {
			t.Errorf("request page heading %q, want the request id %s", h, complete)
		}
		if facts := p.Text("dl.facts"); !strings.Contains(facts, po) || !strings.Contains(facts, "DOA") {
			t.Errorf("request page facts %q lack PO %s or DOA", facts, po)
		}
		docs := p.Texts("#documents li")
		if len(docs) != 2 || !strings.Contains(strings.Join(docs, "\n"), "PO-4500012345.pdf") || !strings.Contains(strings.Join(docs, "\n"), "activation.eml") {
			t.Errorf("documents listed %q, want the PDF and the email", docs)
		}
		if p.Has("#activation-form") {
			t.Errorf("a delegate is offered central IT's activation form")
		}
		sr := r.stored(t, complete)
		if sr.PONumber != po || sr.Agency != "DOA" || len(sr.Documents) != 2 {
			t.Errorf("stored request %s: PO %q agency %s, %d documents", complete, sr.PONumber, sr.Agency, len(sr.Documents))
		}
		checkConsole(t, p)
	})

	t.Run("DelegateAddsMissingEmail", func(t *testing.T) {
		p := r.page(t, delegate, "/requests/new")
		r.fillIntake(p, newPO(), false)
		if st := p.ClickAndWait("#intake-submit"); st != http.StatusOK {
			t.Fatalf("sending the form: status %d at %s", st, p.Path())
		}
		id := requestID(t, p)
		if st := p.Text("#status"); !strings.Contains(strings.ToLower(st), "information") && !strings.Contains(strings.ToLower(st), "missing") {
			t.Errorf("status shown %q, want it to say information is missing", st)
		}
		if got := p.Texts("#documents li"); len(got) != 1 {
			t.Errorf("documents before the upload %q, want the PO only", got)
		}
		p.SetFiles("#activationEmail", r.file("activation.eml"))
		if st := p.ClickAndWait("#documents-submit"); st != http.StatusOK {
			t.Fatalf("adding the email: status %d at %s", st, p.Path())
		}
		if requestID(t, p) != id {
			t.Errorf("after adding the email at %s, want the page of %s", p.Path(), id)
		}
		docs := strings.Join(p.Texts("#documents li"), "\n")
		if !strings.Contains(docs, "activation.eml") {
			t.Errorf("documents after the upload %q lack activation.eml", docs)
		}
		if sr := r.stored(t, id); len(sr.Documents) != 2 || sr.Status == licensing.StatusNeedsInformation {
			t.Errorf("stored request %s: %d documents, status %s; want 2 and no longer %s", id, len(sr.Documents), sr.Status, licensing.StatusNeedsInformation)
		}
		checkConsole(t, p)
	})

	t.Run("AdminConfirmsActivation", func(t *testing.T) {
		if complete == "" {
			t.Skip("no request was sent whole")
		}
		r.waitStatus(t, complete, licensing.StatusAwaitingActivation)
		p := r.page(t, testAdmin, "/requests/"+complete)
		checkPageHeaders(t, p)
		p.Fill("#note", "activated in the admin center")
		if st := p.ClickAndWait("#activation-submit"); st != http.StatusOK {
			t.Fatalf("confirming: status %d at %s", st, p.Path())
		}
		if requestID(t, p) != complete {
			t.Errorf("after confirming at %s, want the page of %s", p.Path(), complete)
		}
		r.waitStatus(t, complete, licensing.StatusClosed)
		p.Open("/requests/" + complete)
		if st := p.Text("#status"); !strings.Contains(strings.ToLower(st), "closed") {
			t.Errorf("status shown after the activation %q, want closed", st)
		}
		if p.Has("#activation-form") {
			t.Errorf("a closed request still offers the activation form")
		}
		if h := strings.Join(p.Texts("#history td"), " "); !strings.Contains(h, testAdmin) {
			t.Errorf("history %q does not name the admin who confirmed", h)
		}
		checkConsole(t, p)
	})

	t.Run("FieldErrorNextToFieldAndInSummary", func(t *testing.T) {
		before := len(r.requests(t))
		p := r.page(t, delegate, "/requests/new")
		r.fillIntake(p, "PO 12#34", true)
		if st := p.ClickAndWait("#intake-submit"); st != http.StatusUnprocessableEntity {
			t.Errorf("a bad PO number: status %d, want 422", st)
		}
		checkPageHeaders(t, p)
		if !p.Has("#error-summary") {
			t.Fatalf("no error summary on %s:\n%s", p.Path(), p.Text("main"))
		}
		if link, ok := p.Attr(`#error-summary a[href="#poNumber"]`, "href"); !ok || link != "#poNumber" {
			t.Errorf("the summary does not link to the PO number field")
		}
		if msg := p.Text("#poNumber-error"); msg == "" {
			t.Errorf("no error next to the PO number field")
		}
		if d, _ := p.Attr("#poNumber", "aria-describedby"); !strings.Contains(d, "poNumber-error") {
			t.Errorf("the PO number field's aria-describedby %q does not name its error", d)
		}
		if v, _ := p.Attr("#poNumber", "aria-invalid"); v != "true" {
			t.Errorf("the PO number field is not marked aria-invalid")
		}
		if v, _ := p.Attr("#reseller", "value"); v != "SHI" {
			t.Errorf("the form came back with reseller %q, want what was typed (SHI)", v)
		}
		if f := p.Focused(); f != "error-summary" {
			t.Errorf("focus on %q after the error, want the error summary", f)
		}
		// The summary's link takes the keyboard to the field.
		p.Click(`#error-summary a[href="#poNumber"]`)
		if f := p.Focused(); f != "poNumber" {
			t.Errorf("focus on %q after following the summary's link, want poNumber", f)
		}
		if after := len(r.requests(t)); after != before {
			t.Errorf("a refused form wrote a request: %d requests before, %d after", before, after)
		}
		checkConsole(t, p)
	})

	t.Run("OtherAgencyForbidden", func(t *testing.T) {
		body, _ := json.Marshal(map[string]any{"agency": otherAgency, "poNumber": newPO(), "reseller": "SHI", "agreement": "a-la-carte",
			"activationScenario": "new-customer", "termStart": "2026-08-01", "requester": map[string]string{"name": "Lee", "email": otherDelegate},
			"lines": []map[string]any{{"sku": "VISIOCLIENT", "quantity": 3}}})
		st, resp := r.call(http.MethodPost, "/api/purchase-orders", otherDelegate, "application/json", body)
		var other struct{ ID string }
		if json.Unmarshal(resp, &other); st != http.StatusCreated || other.ID == "" {
			t.Fatalf("POST a purchase order of %s: %d %s", otherAgency, st, resp)
		}
		p := r.page(t, delegate, "/")
		for _, path := range []string{"/agencies/" + otherAgency, "/requests/" + other.ID} {
			if st := p.Open(path); st != http.StatusForbidden {
				t.Errorf("%s as DOA's delegate: status %d, want 403", path, st)
			}
			checkPageHeaders(t, p)
			if h := p.Text("h1"); !strings.Contains(h, "Not yours") {
				t.Errorf("%s: heading %q, want the 403 page", path, h)
			}
			if text := p.Text("main"); strings.Contains(text, "Department of Enterprise Technology") || strings.Contains(text, otherDelegate) {
				t.Errorf("%s: the 403 page shows the other agency's data: %q", path, text)
			}
		}
		checkConsole(t, p)
	})

	t.Run("SignedOutIsSentToSignIn", func(t *testing.T) {
		p := r.browser.NewPage(t, r.url)
		if st := p.Open("/requests/new"); st != http.StatusOK || !strings.HasPrefix(p.Path(), "/.auth/login/aad?post_login_redirect_uri=") {
			t.Fatalf("a signed-out browser at %s (%d), want the sign-in page", p.Path(), st)
		}
		p.Type("#user", delegate)
		if st := p.ClickAndWait("#sign-in"); st != http.StatusOK || p.Path() != "/requests/new" {
			t.Errorf("after signing in at %s (%d), want back at /requests/new", p.Path(), st)
		}
		p.SignOut()
		p.Open("/requests/new")
		if !strings.HasPrefix(p.Path(), "/.auth/login/aad") {
			t.Errorf("after signing out at %s, want the sign-in page", p.Path())
		}
		checkConsole(t, p)
	})
	t.Logf("browser tests took %s", time.Since(started).Round(time.Millisecond))
}

// TestScreenshots saves a PNG of every page in the folder SCREENSHOTS
// names (make screenshots: out/screenshots): the sign-in, the home page,
// the intake form (empty and with errors), a request as its delegate and
// as central IT, an agency's overview, the overview of every agency and
// the 403 page, at a desktop's width, and the intake form and the agency's
// overview also at a phone's 390 px. It is skipped unless SCREENSHOTS is
// set.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("SCREENSHOTS")
	if dir == "" {
		t.Skip("SCREENSHOTS is not set (make screenshots sets it)")
	}
	r := newWebRig(t)
	// A purchase of DOA recorded (sent whole, confirmed by central IT),
	// then a snapshot, so the overviews compare purchased and used seats.
	_, done := r.submit(newPO(), true)
	r.waitFor(done, licensing.StatusAwaitingActivation)
	if st, body := r.call(http.MethodPost, "/api/service-requests/"+done+"/activation", testAdmin, "application/json", []byte(`{"note":"activated"}`)); st != http.StatusOK {
		t.Fatalf("confirming %s: %d %s", done, st, body)
	}
	r.waitFor(done, licensing.StatusClosed)
	r.snapshot(t)
	shot := func(p *browsertest.Page, name string) {
		t.Helper()
		file := filepath.Join(dir, name+".png")
		p.Screenshot(file)
		t.Logf("%s: %s", file, p.Path())
	}

	anon := r.browser.NewPage(t, r.url)
	anon.Open("/")
	shot(anon, "sign-in")

	// The home page is for people who are neither central IT nor a
	// delegate; the others land on their overview.
	stranger := r.page(t, "someone@dnr.example.gov", "/")
	shot(stranger, "home")

	p := r.page(t, delegate, "/requests/new")
	shot(p, "intake-form")
	r.fillIntake(p, "PO 12#34", false)
	p.Fill("#quantity-1", "lots")
	p.ClickAndWait("#intake-submit")
	shot(p, "intake-form-errors")
	p.Open("/requests/new")
	r.fillIntake(p, newPO(), false)
	p.ClickAndWait("#intake-submit")
	id := requestID(t, p)
	shot(p, "request-delegate")
	p.Open("/agencies/DOA")
	shot(p, "agency-overview")
	p.Open("/agencies/" + otherAgency)
	shot(p, "forbidden")

	p.SetViewport(390, 844, true)
	p.Open("/requests/new")
	shot(p, "intake-form-phone")
	p.Open("/agencies/DOA")
	shot(p, "agency-overview-phone")

	admin := r.page(t, testAdmin, "/agencies")
	shot(admin, "admin-overview")
	st, _ := r.call(http.MethodPost, "/api/service-requests/"+id+"/documents", delegate, "application/json",
		[]byte(`{"documents":[{"kind":"activation-email","fileName":"activation.eml","contentBase64":"`+base64.StdEncoding.EncodeToString(fakes.EML)+`"}]}`))
	if st != http.StatusOK {
		t.Fatalf("adding the activation email: %d", st)
	}
	r.waitStatus(t, id, licensing.StatusAwaitingActivation)
	admin.Open("/requests/" + id)
	shot(admin, "request-admin")
	for _, pg := range []*browsertest.Page{anon, stranger, p, admin} {
		checkConsole(t, pg)
	}
}

// snapshot gives the tenant licensed users of both agencies and takes a
// usage snapshot, so the overviews have numbers.
func (r *webRig) snapshot(t *testing.T) {
	t.Helper()
	r.tenant.PutSku(graphfake.Sku{SkuID: fakes.SkuE3, PartNumber: "ENTERPRISEPACK", CapabilityStatus: "Enabled", Enabled: 40})
	for n := 1; n <= 30; n++ {
		u := graphfake.User{ID: fmt.Sprintf("0000%04d-bbbb-4ccc-8ddd-%012d", n, n), UserPrincipalName: fmt.Sprintf("user%d@doa.example.gov", n),
			Department: "Administration", AccountEnabled: n%9 != 0, UsageLocation: "US", Created: time.Now().AddDate(-1, 0, 0),
			Licenses: []graphfake.LicenseState{{SkuID: skuVisio}}}
		if n > 12 {
			u.UserPrincipalName, u.Department = fmt.Sprintf("user%d@det.example.gov", n), "Technology"
			u.Licenses = []graphfake.LicenseState{{SkuID: fakes.SkuE3}}
		}
		r.tenant.PutUser(u)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"run", "snapshot"}, envLookup(r.env), &out, &errOut); code != 0 {
		t.Fatalf("handler run snapshot: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
}
