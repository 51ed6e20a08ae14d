package handlers

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/funchost"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/intake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// pagesURL is the site's address (APP_URL) in the request pages' tests.
const pagesURL = "https://licensing.example.gov"

// pagesMaxRequest is the site's MAX_REQUEST_MB, in bytes.
const pagesMaxRequest = 1 << 20

// detDelegate is DET's delegate in the request pages' tests (doaDelegate
// is DOA's).
const detDelegate = "lee@det.example.gov"

// pagesSite is the app behind the host harness (the app's host.json and
// functions/*/function.json), with the intake service on in-memory stores,
// the sample tenant, a mailbox that keeps what it is sent and a step queue
// the test runs by hand. A browser's form token is kept per person.
type pagesSite struct {
	t      *testing.T
	host   *funchost.Host
	store  *memstore.Store
	mail   *fakes.Mailbox
	steps  *fakes.Steps
	intake *intake.Service
	tokens map[string]string
}

func newPagesSite(t *testing.T) *pagesSite {
	t.Helper()
	store, mail, steps := memstore.New(), &fakes.Mailbox{}, &fakes.Steps{}
	now := tickingClock()
	auth := licensing.NewAuthorizer(store, []string{admin}, false)
	agencies := licensing.NewAgencyAdmin(store, auth, now)
	for _, a := range fakes.Agencies() {
		if a.ID == "DET" {
			a.Delegates = []string{detDelegate}
		}
		if _, _, err := agencies.PutAgency(context.Background(), &licensing.Principal{Name: admin}, a.ID, a, licensing.Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	svc := intake.NewService(intake.Config{
		Auth: auth, Agencies: store, Requests: store, Steps: steps, Files: store, Sweeper: store, Purchases: store,
		Directory: fakes.NewDirectory(), Catalog: fakes.BuiltinCatalog{}, Mailer: mail, Effects: licensing.NewEffects(store, now, 0),
		Workflow: intake.Workflow{CentralIT: []string{fakes.CentralIT}, AppURL: pagesURL, CheckEvery: 6 * time.Hour, WaitFor: 48 * time.Hour},
		Now:      now,
	})
	host := behindHost(t, New(Config{Auth: auth, Agencies: agencies, Intake: svc, Logger: slog.New(slog.DiscardHandler), Now: now,
		MaxRequestBytes: pagesMaxRequest}), now)
	return &pagesSite{t: t, host: host, store: store, mail: mail, steps: steps, intake: svc, tokens: map[string]string{}}
}

// behindHost serves handler behind the host harness with the app's
// host.json and functions/*/function.json, on the clock now.
func behindHost(t *testing.T, handler http.Handler, now func() time.Time) *funchost.Host {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	app, err := funchost.Load("..")
	if err != nil {
		t.Fatal(err)
	}
	host, err := app.Target(srv.URL, funchost.Config{Settings: map[string]string{"ACTIVATION_QUEUE": "activation-steps", "WORK_QUEUE": "work-items"}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return host
}

// browse sends a browser's request to the site as who ("" for nobody), with
// the form-token cookie the site gave who, and keeps a new one it gives.
func (s *pagesSite) browse(method, path, who, contentType string, body []byte) *httptest.ResponseRecorder {
	s.t.Helper()
	req := httptest.NewRequest(method, pagesURL+path, bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if who != "" {
		req.Header.Set("X-MS-CLIENT-PRINCIPAL-NAME", who)
		req.Header.Set("X-MS-CLIENT-PRINCIPAL-IDP", "aad")
	}
	if tok := s.tokens[who]; tok != "" {
		req.Header.Set("Cookie", "csrf="+tok)
	}
	rec := httptest.NewRecorder()
	s.host.ServeHTTP(rec, req)
	if c := rec.Header().Get("Set-Cookie"); strings.HasPrefix(c, "csrf=") {
		s.tokens[who], _, _ = strings.Cut(strings.TrimPrefix(c, "csrf="), ";")
	}
	return rec
}

// open GETs a page as who and parses it, failing unless it answers want.
func (s *pagesSite) open(path, who string, want int) *html.Node {
	s.t.Helper()
	rec := s.browse(http.MethodGet, path, who, "", nil)
	if rec.Code != want {
		s.t.Fatalf("GET %s as %s: %d, want %d\n%s", path, who, rec.Code, want, rec.Body)
	}
	return parsePage(s.t, rec)
}

// drive runs the queued workflow steps that are due, and those they queue,
// as the ActivationSteps function does.
func (s *pagesSite) drive() {
	s.t.Helper()
	for steps := s.steps.TakeReady(); len(steps) > 0; steps = s.steps.TakeReady() {
		for _, st := range steps {
			if err := s.intake.RunStep(context.Background(), st, nil); err != nil {
				s.t.Fatalf("step %s of %s: %v", st.Step, st.SR, err)
			}
		}
	}
}

// requests are the service requests stored.
func (s *pagesSite) requests() []licensing.ServiceRequest {
	s.t.Helper()
	list, err := s.store.ListRequests(context.Background(), licensing.RequestFilter{})
	if err != nil {
		s.t.Fatal(err)
	}
	return list
}

// nothingWritten fails when a request or a file was stored.
func (s *pagesSite) nothingWritten(what string) {
	s.t.Helper()
	if n, files := len(s.requests()), s.store.Files(); n != 0 || len(files) != 0 {
		s.t.Errorf("%s: %d requests and files %v stored, want none", what, n, files)
	}
}

// formPart is one part of a multipart form as a browser sends it: a field,
// or a file input (file set) with the chosen file's name and content, or
// none chosen (empty name and content).
type formPart struct {
	name, value string
	file        bool
	content     []byte
}

// omit leaves a field out of browserForm.
const omit = "\x00omit"

// intakeFields are the intake form's fields in the order of the page, with
// the values of a complete purchase order: DOA buys 25 Visio and 10 Office
// 365 E3 à la carte, rows 3 to 5 left empty.
func intakeFields() [][2]string {
	return [][2]string{
		{"agency", "DOA"}, {"poNumber", "4500012345"}, {"reseller", "SHI"}, {"agreement", "a-la-carte"}, {"renewal", "no"},
		{"termStart", "2026-08-01"}, {"termEnd", ""},
		{"sku-1", "VISIOCLIENT"}, {"quantity-1", "25"}, {"sku-2", "ENTERPRISEPACK"}, {"quantity-2", "10"},
		{"sku-3", ""}, {"quantity-3", ""}, {"sku-4", ""}, {"quantity-4", ""}, {"sku-5", ""}, {"quantity-5", ""},
		{"activationScenario", "new-customer"}, {"requesterName", "Pat Doe"}, {"requesterEmail", doaDelegate},
	}
}

// browserForm is the multipart body a browser sends for fields (set
// overrides a value, omit leaves the field out; sku-N and quantity-N are
// sent as sku and quantity), the form token csrf, and the files (nil: no
// file chosen).
func browserForm(t *testing.T, csrf string, fields [][2]string, set map[string]string, files []formPart) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	parts := []formPart{{name: "csrf", value: csrf}}
	for _, f := range fields {
		v, ok := set[f[0]]
		if !ok {
			v = f[1]
		}
		name, _, _ := strings.Cut(f[0], "-")
		parts = append(parts, formPart{name: name, value: v})
	}
	if v, ok := set["csrf"]; ok {
		parts[0].value = v
	}
	for _, p := range append(parts, files...) {
		switch {
		case p.value == omit:
		case p.file:
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.name, p.value))
			h.Set("Content-Type", "application/octet-stream")
			pw, err := w.CreatePart(h)
			if err != nil {
				t.Fatal(err)
			}
			pw.Write(p.content)
		default:
			w.WriteField(p.name, p.value)
		}
	}
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

// bothFiles are the purchase order and the activation email chosen.
func bothFiles() []formPart {
	return []formPart{{name: "purchaseOrder", value: "PO 4500012345.pdf", file: true, content: fakes.PDF},
		{name: "activationEmail", value: "Activate.eml", file: true, content: fakes.EML}}
}

// submit opens the intake form as who and sends it with set and files,
// returning the answer.
func (s *pagesSite) submit(who string, set map[string]string, files []formPart) *httptest.ResponseRecorder {
	s.t.Helper()
	s.open("/requests/new", who, http.StatusOK)
	ct, body := browserForm(s.t, s.tokens[who], intakeFields(), set, files)
	return s.browse(http.MethodPost, "/requests/new", who, ct, body)
}

// submitted sends the intake form and follows its redirect to the new
// request's id.
func (s *pagesSite) submitted(who string, set map[string]string, files []formPart) string {
	s.t.Helper()
	rec := s.submit(who, set, files)
	loc := rec.Header().Get("Location")
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/requests/DOA-") {
		s.t.Fatalf("intake form: %d, Location %q\n%s", rec.Code, loc, rec.Body)
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(loc, "/requests/"), "?")
	return id
}

func parsePage(t *testing.T, rec *httptest.ResponseRecorder) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("not HTML: %v", err)
	}
	return doc
}

// findAll returns the elements under n for which match is true.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	}
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	return slices.ContainsFunc(n.Attr, func(a html.Attribute) bool { return a.Key == key })
}

// byID returns the element with id, or nil.
func byID(doc *html.Node, id string) *html.Node {
	if list := findAll(doc, func(n *html.Node) bool { return attr(n, "id") == id }); len(list) > 0 {
		return list[0]
	}
	return nil
}

// textOf is the text of n, its white space collapsed.
func textOf(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
			b.WriteByte(' ')
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// checkAccessible checks what every page must be: each input labelled, ids
// unique, nothing inline that the Content-Security-Policy would refuse.
func checkAccessible(t *testing.T, doc *html.Node) {
	t.Helper()
	ids := map[string]bool{}
	for _, n := range findAll(doc, func(n *html.Node) bool { return hasAttr(n, "id") }) {
		if ids[attr(n, "id")] {
			t.Errorf("id %q is used twice", attr(n, "id"))
		}
		ids[attr(n, "id")] = true
		for _, ref := range strings.Fields(attr(n, "aria-describedby")) {
			if byID(doc, ref) == nil {
				t.Errorf("#%s is described by #%s, which is not on the page", attr(n, "id"), ref)
			}
		}
	}
	labels := map[string]bool{}
	for _, l := range findAll(doc, func(n *html.Node) bool { return n.Data == "label" }) {
		labels[attr(l, "for")] = true
	}
	for _, n := range findAll(doc, func(n *html.Node) bool {
		return n.Data == "select" || n.Data == "textarea" || n.Data == "input" && attr(n, "type") != "hidden"
	}) {
		if id := attr(n, "id"); id == "" || !labels[id] {
			t.Errorf("<%s name=%q id=%q> has no label", n.Data, attr(n, "name"), id)
		}
	}
	for _, n := range findAll(doc, func(*html.Node) bool { return true }) {
		for _, a := range n.Attr {
			if a.Key == "style" || strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s %s=%q>: inline style and script are refused by the page's policy", n.Data, a.Key, a.Val)
			}
		}
		if n.Data == "script" && attr(n, "src") == "" || n.Data == "style" {
			t.Errorf("an inline <%s> block", n.Data)
		}
	}
}

// checkFieldError checks that the field with id shows an error containing
// want next to it, described by it, and linked from the error summary.
func checkFieldError(t *testing.T, doc *html.Node, id, want string) {
	t.Helper()
	msg := byID(doc, id+"-error")
	if msg == nil || attr(msg, "class") != "error" || !strings.Contains(textOf(msg), want) {
		t.Errorf("#%s-error = %q, want a message with %q", id, textOf(msg), want)
	}
	if field := byID(doc, id); field == nil || !slices.Contains(strings.Fields(attr(field, "aria-describedby")), id+"-error") {
		t.Errorf("#%s is not described by its error", id)
	}
	summary := byID(doc, "error-summary")
	if summary == nil || attr(summary, "role") != "alert" || attr(summary, "tabindex") != "-1" {
		t.Fatalf("no error summary")
	}
	links := findAll(summary, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "#"+id })
	if len(links) == 0 || !strings.Contains(textOf(links[0]), want) {
		t.Errorf("the error summary does not link to #%s with %q: %s", id, want, textOf(summary))
	}
}

// TestIntakeFormPage opens the intake form as DOA's delegate: DOA is
// chosen, every input is labelled, the products are offered by name, the
// file inputs take what intake takes, and the scenario and the default
// term are said in words.
func TestIntakeFormPage(t *testing.T) {
	s := newPagesSite(t)
	rec := s.browse(http.MethodGet, "/requests/new", doaDelegate, "", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /requests/new: %d\n%s", rec.Code, rec.Body)
	}
	for k, v := range map[string]string{"Cache-Control": "no-store", "Content-Type": "text/html; charset=utf-8"} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "form-action 'self'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	if s.tokens[doaDelegate] == "" {
		t.Fatal("no form token cookie")
	}
	doc := parsePage(t, rec)
	checkAccessible(t, doc)

	form := byID(doc, "intake-form")
	if form == nil || attr(form, "method") != "post" || attr(form, "action") != "/requests/new" || attr(form, "enctype") != "multipart/form-data" {
		t.Fatalf("intake form: %+v", form)
	}
	token := findAll(form, func(n *html.Node) bool { return attr(n, "name") == "csrf" })
	if len(token) != 1 || attr(token[0], "value") != s.tokens[doaDelegate] {
		t.Errorf("the form's csrf field does not hold the cookie's token")
	}
	selected := findAll(byID(doc, "agency"), func(n *html.Node) bool { return n.Data == "option" })
	if len(selected) != 1 || attr(selected[0], "value") != "DOA" || !hasAttr(selected[0], "selected") {
		t.Errorf("agency options: %d, want DOA alone and chosen", len(selected))
	}
	visio := findAll(byID(doc, "sku-1"), func(n *html.Node) bool { return n.Data == "option" && attr(n, "value") == "VISIOCLIENT" })
	if len(visio) != 1 || textOf(visio[0]) != "Visio Plan 2 (VISIOCLIENT)" || attr(visio[0].Parent, "label") != "In the tenant" {
		t.Errorf("the product selects do not offer Visio by name in the tenant's group")
	}
	if other := findAll(byID(doc, "sku-5"), func(n *html.Node) bool { return attr(n, "label") == "Other products" }); len(other) != 1 {
		t.Errorf("row 5 offers no other products")
	}
	for _, id := range []string{"quantity-1", "quantity-5", "poNumber", "reseller", "termStart", "termEnd", "requesterName", "requesterEmail",
		"agreement-a-la-carte", "renewal-no", "renewal-yes", "activationScenario-trial-keep-data"} {
		if byID(doc, id) == nil {
			t.Errorf("no #%s", id)
		}
	}
	if attr(byID(doc, "requesterEmail"), "value") != doaDelegate || !hasAttr(byID(doc, "renewal-no"), "checked") {
		t.Errorf("requester's address or renewal not filled in")
	}
	if po, email := byID(doc, "purchaseOrder"), byID(doc, "activationEmail"); attr(po, "type") != "file" ||
		attr(po, "accept") != intake.AcceptedFiles(licensing.DocPurchaseOrder) || !strings.Contains(attr(email, "accept"), ".msg") || strings.Contains(attr(po, "accept"), ".msg") {
		t.Errorf("file inputs: %q, %q", attr(po, "accept"), attr(email, "accept"))
	}
	scenario := textOf(byID(doc, "activationScenario"))
	for _, want := range []string{"cannot be undone", "Sign Up", "Sign In", "keep its data"} {
		if !strings.Contains(scenario, want) {
			t.Errorf("the activation question does not say %q: %s", want, scenario)
		}
	}
	if hint := textOf(byID(doc, "termEnd-hint")); !strings.Contains(hint, "Leave empty for the default") || !strings.Contains(hint, "June 30 (2027-06-30") {
		t.Errorf("term end hint: %s", hint)
	}

	// An administrator chooses among every agency; nobody gets the sign-in.
	admins := findAll(s.open("/requests/new", admin, http.StatusOK), func(n *html.Node) bool { return n.Data == "option" && attr(n.Parent, "id") == "agency" })
	if len(admins) != 3 || attr(admins[0], "value") != "" || hasAttr(admins[1], "selected") {
		t.Errorf("admin's agency options: %d", len(admins))
	}
	if rec := s.browse(http.MethodGet, "/requests/new", "", "", nil); rec.Code != http.StatusFound || !strings.HasPrefix(rec.Header().Get("Location"), "/.auth/login/aad") {
		t.Errorf("nobody: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if none := s.open("/requests/new", "someone@else.example.gov", http.StatusOK); byID(none, "intake-form") != nil || !strings.Contains(textOf(none), "not a delegate") {
		t.Errorf("a person of no agency gets the form")
	}
}

// TestIntakeFormSubmit sends the form with both files, as a browser does
// (empty rows, the form token): the request is created through the intake,
// and its page shows it with the notice of what happened.
func TestIntakeFormSubmit(t *testing.T) {
	s := newPagesSite(t)
	id := s.submitted(doaDelegate, nil, bothFiles())
	list := s.requests()
	if len(list) != 1 || list[0].ID != id || list[0].Status != licensing.StatusSubmitted || len(list[0].Lines) != 2 || len(list[0].Documents) != 2 ||
		list[0].TermEnd.String() != "2027-06-30" || list[0].Requester.Name != "Pat Doe" {
		t.Fatalf("stored: %+v", list)
	}
	if q := s.steps.TakeReady(); len(q) != 1 || q[0].Step != licensing.StepValidate {
		t.Errorf("queued %v, want validate", q)
	}
	doc := s.open("/requests/"+id+"?notice=submitted", doaDelegate, http.StatusOK)
	checkAccessible(t, doc)
	if n := textOf(byID(doc, "notice")); !strings.Contains(n, "submitted as request "+id) {
		t.Errorf("notice: %q", n)
	}
	if st := textOf(byID(doc, "status")); st != "Submitted" {
		t.Errorf("status: %q", st)
	}
	page := textOf(doc)
	for _, want := range []string{"4500012345", "Visio Plan 2", "VISIOCLIENT 25", "Office 365 E3", "À la carte", "2026-08-01 to 2027-06-30",
		"PO 4500012345.pdf", "Activate.eml", "Submitted: complete submission", doaDelegate} {
		if !strings.Contains(page, want) {
			t.Errorf("the request's page does not show %q:\n%s", want, page)
		}
	}
	if byID(doc, "documents-form") != nil || byID(doc, "activation-form") != nil {
		t.Error("a submitted request shows a form")
	}

	// The same form again is the same request: nothing new is stored.
	again := s.submit(doaDelegate, nil, bothFiles())
	if loc := again.Header().Get("Location"); again.Code != http.StatusSeeOther || loc != "/requests/"+id+"?notice=received-before" {
		t.Errorf("the same form again: %d %q", again.Code, loc)
	}
	// The same PO with other content is refused on the form, saying why.
	rec := s.submit(doaDelegate, map[string]string{"quantity-1": "26"}, bothFiles())
	doc = parsePage(t, rec)
	if rec.Code != http.StatusConflict || !strings.Contains(textOf(byID(doc, "problem")), "already submitted as service request "+id) {
		t.Errorf("other content: %d %s", rec.Code, textOf(byID(doc, "problem")))
	}
	if attr(byID(doc, "quantity-1"), "value") != "26" {
		t.Error("the values typed are not kept")
	}
	if len(s.requests()) != 1 {
		t.Errorf("%d requests stored, want 1", len(s.requests()))
	}
}

// TestIntakeFormErrors sends forms with problems: each comes back (422)
// with the values typed, each error next to its field and in the summary,
// and nothing stored.
func TestIntakeFormErrors(t *testing.T) {
	s := newPagesSite(t)
	rec := s.submit(doaDelegate, map[string]string{"termStart": omit, "poNumber": "PO 12!", "sku-3": "VISIOCLIENT", "quantity-3": "", "quantity-4": "7"}, bothFiles())
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("form with problems: %d\n%s", rec.Code, rec.Body)
	}
	doc := parsePage(t, rec)
	checkAccessible(t, doc)
	checkFieldError(t, doc, "termStart", "Term start is required")
	checkFieldError(t, doc, "poNumber", "PO number must be 1 to 40 letters")
	checkFieldError(t, doc, "sku-3", "the same product as line 1")
	checkFieldError(t, doc, "quantity-3", "Line 3, quantity is required")
	checkFieldError(t, doc, "sku-4", "Line 4, product is not chosen")
	var order []string
	for _, a := range findAll(byID(doc, "error-summary"), func(n *html.Node) bool { return n.Data == "a" }) {
		order = append(order, strings.TrimPrefix(attr(a, "href"), "#"))
	}
	if want := []string{"poNumber", "termStart", "sku-3", "quantity-3", "sku-4"}; !slices.Equal(order, want) {
		t.Errorf("summary order %v, want %v (the form's)", order, want)
	}
	if attr(byID(doc, "poNumber"), "value") != "PO 12!" || attr(byID(doc, "quantity-4"), "value") != "7" || !hasAttr(byID(doc, "agreement-a-la-carte"), "checked") ||
		!hasAttr(byID(doc, "activationScenario-new-customer"), "checked") || attr(byID(doc, "requesterName"), "value") != "Pat Doe" {
		t.Error("the values typed are not kept")
	}
	if !strings.Contains(textOf(byID(doc, "files-again")), "choose the purchase order and the activation email again") {
		t.Error("the form does not say to choose the files again")
	}
	s.nothingWritten("form with problems")

	// A file that is not what it says is refused on its own input.
	rec = s.submit(doaDelegate, nil, []formPart{{name: "purchaseOrder", value: "po.pdf", file: true, content: fakes.EML}})
	doc = parsePage(t, rec)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("an email as the PO: %d", rec.Code)
	}
	checkFieldError(t, doc, "purchaseOrder", "Purchase order: a purchase-order must be a PDF or an image")
	s.nothingWritten("an email as the PO")

	// A form larger than MAX_REQUEST_MB comes back saying so (413).
	big := append(bytes.Clone(fakes.PDF), bytes.Repeat([]byte(" "), pagesMaxRequest)...)
	rec = s.submit(doaDelegate, nil, []formPart{{name: "purchaseOrder", value: "scan.pdf", file: true, content: big}})
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a form over the limit: %d", rec.Code)
	}
	doc = parsePage(t, rec)
	checkFieldError(t, doc, "purchaseOrder", "larger than 1 MB")
	if attr(byID(doc, "poNumber"), "value") != "4500012345" || attr(byID(doc, "quantity-2"), "value") != "10" {
		t.Error("the values typed are not kept")
	}
	s.nothingWritten("a form over the limit")
}

// TestIntakeFormToken sends the form without its token, with another
// browser's, and without the cookie: each is refused with the 403 page and
// nothing is stored.
func TestIntakeFormToken(t *testing.T) {
	s := newPagesSite(t)
	s.open("/requests/new", doaDelegate, http.StatusOK)
	for name, c := range map[string]struct {
		set      map[string]string
		noCookie bool
	}{
		"no token":      {set: map[string]string{"csrf": omit}},
		"another token": {set: map[string]string{"csrf": strings.Repeat("ab", 16)}},
		"no cookie":     {noCookie: true},
	} {
		ct, body := browserForm(t, s.tokens[doaDelegate], intakeFields(), c.set, bothFiles())
		who := doaDelegate
		if c.noCookie {
			who = "pat.doe@DOA.example.gov" // the same person in a browser the site gave no token
		}
		rec := s.browse(http.MethodPost, "/requests/new", who, ct, body)
		doc := parsePage(t, rec)
		if rec.Code != http.StatusForbidden || !strings.Contains(textOf(doc), "The form has expired") {
			t.Errorf("%s: %d %s", name, rec.Code, textOf(doc))
		}
		s.nothingWritten(name)
	}
}

// TestRequestPageDocuments sends a purchase order without its activation
// email: the page says what is missing and offers the upload, and the
// upload completes the request through the same service call as the API.
func TestRequestPageDocuments(t *testing.T) {
	s := newPagesSite(t)
	// A browser sends the file input left empty as a part without a name
	// or content: no activation email.
	id := s.submitted(doaDelegate, nil, append(bothFiles()[:1], formPart{name: "activationEmail", file: true}))
	doc := s.open("/requests/"+id+"?notice=needs-information", doaDelegate, http.StatusOK)
	checkAccessible(t, doc)
	if st, m := textOf(byID(doc, "status")), textOf(byID(doc, "missing")); st != "Needs information" || !strings.Contains(m, "Microsoft's activation email") {
		t.Errorf("status %q, missing %q", st, m)
	}
	if n := textOf(byID(doc, "notice")); !strings.Contains(n, "on hold until we have Microsoft's activation email") {
		t.Errorf("notice: %q", n)
	}
	form := byID(doc, "documents-form")
	if form == nil || attr(form, "action") != "/requests/"+id+"/documents" || byID(doc, "activationEmail") == nil || byID(doc, "purchaseOrder") != nil {
		t.Fatalf("upload form: %v", form)
	}
	post := func(files []formPart) *httptest.ResponseRecorder {
		ct, body := browserForm(t, s.tokens[doaDelegate], nil, nil, files)
		return s.browse(http.MethodPost, "/requests/"+id+"/documents", doaDelegate, ct, body)
	}
	// Sending it with no file chosen says what to send.
	rec := post([]formPart{{name: "activationEmail", file: true}})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("no file: %d", rec.Code)
	}
	checkFieldError(t, parsePage(t, rec), "activationEmail", "send at least one document")

	rec = post(bothFiles()[1:])
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || loc != "/requests/"+id+"?notice=added" {
		t.Fatalf("upload: %d %q\n%s", rec.Code, loc, rec.Body)
	}
	doc = s.open("/requests/"+id+"?notice=added", doaDelegate, http.StatusOK)
	if st, n := textOf(byID(doc, "status")), textOf(byID(doc, "notice")); st != "Submitted" || !strings.Contains(n, "complete") {
		t.Errorf("after the upload: status %q, notice %q", st, n)
	}
	if docs := textOf(byID(doc, "documents")); !strings.Contains(docs, "Activation email: Activate.eml") {
		t.Errorf("documents: %s", docs)
	}
	// The same upload again (a second click) finds it done.
	rec = post(bothFiles()[1:])
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || loc != "/requests/"+id+"?notice=added" {
		t.Errorf("the same upload again: %d %q", rec.Code, loc)
	}
	// Once complete, the request takes nothing more.
	rec = post([]formPart{{name: "activationEmail", value: "other.png", file: true, content: fakes.PNG}})
	if rec.Code != http.StatusConflict || !strings.Contains(textOf(byID(parsePage(t, rec), "problem")), "only while it needs information") {
		t.Errorf("another upload to a submitted request: %d", rec.Code)
	}
	if sr := s.requests()[0]; len(sr.Documents) != 2 {
		t.Errorf("documents: %d, want 2", len(sr.Documents))
	}
}

// TestRequestPageActivation takes a request to awaiting activation: an
// administrator sees the confirmation form and confirms, a delegate sees no
// form and a forged confirmation of theirs is refused.
func TestRequestPageActivation(t *testing.T) {
	s := newPagesSite(t)
	id := s.submitted(doaDelegate, nil, bothFiles())
	s.drive()
	if sr := s.requests()[0]; sr.Status != licensing.StatusAwaitingActivation {
		t.Fatalf("status %s, want awaiting-activation", sr.Status)
	}
	delegatePage := s.open("/requests/"+id, doaDelegate, http.StatusOK)
	if byID(delegatePage, "activation-form") != nil || textOf(byID(delegatePage, "status")) != "Waiting for activation" {
		t.Errorf("the delegate's page: %s", textOf(delegatePage))
	}
	confirm := func(who string) *httptest.ResponseRecorder {
		body := url.Values{"csrf": {s.tokens[who]}, "note": {"seen in the admin center"}}.Encode()
		return s.browse(http.MethodPost, "/requests/"+id+"/activation", who, "application/x-www-form-urlencoded", []byte(body))
	}
	if rec := confirm(doaDelegate); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "Only central IT administrators") {
		t.Errorf("a delegate's confirmation: %d %s", rec.Code, rec.Body)
	}
	if sr := s.requests()[0]; sr.Status != licensing.StatusAwaitingActivation {
		t.Fatalf("after the delegate's confirmation: %s", sr.Status)
	}

	doc := s.open("/requests/"+id, admin, http.StatusOK)
	checkAccessible(t, doc)
	form := byID(doc, "activation-form")
	if form == nil || attr(form, "action") != "/requests/"+id+"/activation" || byID(doc, "note") == nil {
		t.Fatalf("no activation form for the admin")
	}
	rec := confirm(admin)
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || loc != "/requests/"+id+"?notice=activated" {
		t.Fatalf("admin's confirmation: %d %q\n%s", rec.Code, loc, rec.Body)
	}
	s.drive()
	doc = s.open("/requests/"+id+"?notice=activated", admin, http.StatusOK)
	if st := textOf(byID(doc, "status")); st != "Closed" || byID(doc, "activation-form") != nil {
		t.Errorf("after the confirmation: %q", st)
	}
	if h := textOf(byID(doc, "history")); !strings.Contains(h, "Activated: activation confirmed by "+admin+": seen in the admin center") {
		t.Errorf("history: %s", h)
	}
	// Confirming a closed request again changes nothing.
	if rec := confirm(admin); rec.Code != http.StatusSeeOther {
		t.Errorf("confirming again: %d", rec.Code)
	}
}

// TestRequestPageOtherAgency: DET's delegate gets the 403 page for DOA's
// request, whether it exists or not, and cannot add to it; DOA's delegate
// gets 404 for a request of DOA that does not exist.
func TestRequestPageOtherAgency(t *testing.T) {
	s := newPagesSite(t)
	id := s.submitted(doaDelegate, nil, bothFiles()[:1])
	for _, path := range []string{"/requests/" + id, "/requests/DOA-00000000ff"} {
		rec := s.browse(http.MethodGet, path, detDelegate, "", nil)
		if doc := parsePage(t, rec); rec.Code != http.StatusForbidden || !strings.Contains(textOf(doc), "one of DOA's") {
			t.Errorf("GET %s as DET's delegate: %d %s", path, rec.Code, textOf(doc))
		}
	}
	s.open("/requests/new", detDelegate, http.StatusOK)
	ct, body := browserForm(t, s.tokens[detDelegate], nil, nil, bothFiles()[1:])
	if rec := s.browse(http.MethodPost, "/requests/"+id+"/documents", detDelegate, ct, body); rec.Code != http.StatusForbidden {
		t.Errorf("DET's delegate adds to DOA's request: %d", rec.Code)
	}
	if sr := s.requests()[0]; len(sr.Documents) != 1 {
		t.Errorf("documents after DET's post: %d", len(sr.Documents))
	}
	s.open("/requests/DOA-00000000ff", doaDelegate, http.StatusNotFound)
}

// mailLink finds the links of a mail.
var mailLink = regexp.MustCompile(`https?://[^\s<>"]+`)

// TestWorkflowMailLinksOpenPages runs the workflow through its mails (the
// needs-information mail to the requester, the routing mail to central IT,
// the closed mail to the agency, and a failure to central IT) and opens
// every link in them, as the person the mail goes to: each is a page.
func TestWorkflowMailLinksOpenPages(t *testing.T) {
	s := newPagesSite(t)
	// Needs information, then completed from its page.
	id := s.submitted(doaDelegate, nil, bothFiles()[:1])
	s.drive()
	ct, body := browserForm(t, s.tokens[doaDelegate], nil, nil, bothFiles()[1:])
	if rec := s.browse(http.MethodPost, "/requests/"+id+"/documents", doaDelegate, ct, body); rec.Code != http.StatusSeeOther {
		t.Fatalf("upload: %d", rec.Code)
	}
	s.drive() // validated, recorded, routed: awaiting activation
	s.open("/requests/"+id, admin, http.StatusOK)
	confirm := url.Values{"csrf": {s.tokens[admin]}}.Encode()
	if rec := s.browse(http.MethodPost, "/requests/"+id+"/activation", admin, "application/x-www-form-urlencoded", []byte(confirm)); rec.Code != http.StatusSeeOther {
		t.Fatalf("confirmation: %d", rec.Code)
	}
	s.drive() // closed
	// A second request fails.
	failed := s.submitted(doaDelegate, map[string]string{"poNumber": "4500099999"}, bothFiles())
	if err := s.intake.FailPoisoned(context.Background(), `{"sr":"`+failed+`","step":"validate"}`, nil); err != nil {
		t.Fatal(err)
	}

	readers := map[string]string{"Information needed": doaDelegate, "Ready for activation": admin, "Licenses available": doaDelegate, "Failed": admin}
	seen := map[string]bool{}
	for _, m := range s.mail.Sent {
		kind, _, _ := strings.Cut(m.Subject, ":")
		who, ok := readers[kind]
		if !ok {
			continue
		}
		seen[kind] = true
		links := mailLink.FindAllString(m.Text, -1)
		if len(links) == 0 {
			t.Errorf("%q has no link:\n%s", m.Subject, m.Text)
		}
		for _, link := range links {
			link = strings.TrimRight(link, ".,;:)")
			path, ok := strings.CutPrefix(link, pagesURL)
			if !ok {
				t.Errorf("%q links outside the site: %s", m.Subject, link)
				continue
			}
			rec := s.browse(http.MethodGet, path, who, "", nil)
			doc := parsePage(t, rec)
			h1 := findAll(doc, func(n *html.Node) bool { return n.Data == "h1" })
			if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || len(h1) != 1 {
				t.Errorf("%q: %s as %s: %d %s", m.Subject, link, who, rec.Code, textOf(doc))
			}
		}
		if strings.Contains(m.Text, pagesURL+"/api/") {
			t.Errorf("%q links to the API:\n%s", m.Subject, m.Text)
		}
	}
	for kind := range readers {
		if !seen[kind] {
			t.Errorf("no %q mail was sent; sent: %v", kind, s.mail.Subjects())
		}
	}
}
