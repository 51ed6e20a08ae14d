package handlers

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/shared-tenant/licensetrack/shared/blobstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/funchost"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
	"github.com/shared-tenant/licensetrack/shared/xlsx"
)

// overviewSite is the app behind the host harness (the app's host.json and
// functions/*/function.json) from 06:00 UTC on payroll Monday, November 23,
// 2026 (its clock ticks a second on every read): every service on in-memory tables, report files and their download
// links on Azurite's blobs, the sample tenant, and a mailbox keeping the
// report mails. DOA (over on Office 365 E3, its Visio seats handed out
// through a delegated group with two members waiting) and DET (with a
// delegate of its own) are configured; DOA's E3 line ends in 69 days.
type overviewSite struct {
	t     *testing.T
	host  *funchost.Host
	store *memstore.Store
	cfg   Config
	mail  *fakes.Mailbox
}

// overviewGroup is DOA's delegated Visio group.
const overviewGroup = "6f1c0f55-1b1b-4c4c-9d9d-000000000001"

func newOverviewSite(t *testing.T) *overviewSite {
	t.Helper()
	ctx := context.Background()
	store, now := memstore.New(), tickingClock()
	cfg := testConfig(store, hostOpts{now: now})
	name := azuritetest.Name(t, "overview")
	blobs := blobstore.New(azuritetest.BlobService(t), name)
	if err := blobs.Init(ctx); err != nil {
		t.Fatal(err)
	}
	mail := &fakes.Mailbox{}
	cfg.Usage = usage.NewService(usage.Config{
		Auth: cfg.Auth, Runs: cfg.Runs, Agencies: store, Purchases: store, Snapshots: store, Files: blobs, Sweeper: blobs, Links: blobs,
		Directory: fakes.NewDirectory(), Catalog: fakes.BuiltinCatalog{}, Reports: xlsx.NewReportWriter(), Deliveries: store,
		Mailer: mail, Effects: licensing.NewEffects(store, now, 0), Provisioning: cfg.Provisioning,
		Reporting: usage.Reporting{Calendar: licensing.PayrollCalendar{Anchor: licensing.NewDate(2026, 1, 5), IntervalDays: 14, Location: time.UTC}, InactiveDays: 90},
		CentralIT: []string{fakes.CentralIT}, AppURL: pagesURL, Now: now,
	})
	cfg.Logger = slog.New(slog.DiscardHandler)
	for _, a := range fakes.Agencies() {
		switch a.ID {
		case "DOA":
			a.DelegatedGroups = []licensing.DelegatedGroup{{Product: "VISIOCLIENT", GroupID: overviewGroup}}
		case "DET":
			a.Delegates = []string{detDelegate}
		}
		if _, _, err := cfg.Agencies.PutAgency(ctx, &licensing.Principal{Name: admin}, a.ID, a, licensing.Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	activated := time.Date(2026, 6, 20, 0, 0, 0, 0, time.UTC)
	lines := []licensing.Purchase{
		{ID: "doa-e3", Agency: "DOA", SkuID: fakes.SkuE3, Quantity: 1, TermStart: licensing.NewDate(2026, 2, 1), TermEnd: licensing.NewDate(2027, 1, 31),
			PONumber: "PO-E3", Agreement: licensing.AgreementCSP, Reseller: "Contoso Reseller", ActivatedAt: &activated, Source: licensing.SourceImport},
		{ID: "doa-visio", Agency: "DOA", SkuID: fakes.SkuVisio, Quantity: 5, TermStart: licensing.NewDate(2026, 7, 1), TermEnd: licensing.NewDate(2027, 6, 30),
			PONumber: "PO-VISIO", Agreement: licensing.AgreementALaCarte, ActivatedAt: &activated, Source: licensing.SourceImport},
		{ID: "det-e3", Agency: "DET", SkuID: fakes.SkuE3, Quantity: 2, TermStart: licensing.NewDate(2026, 7, 1), TermEnd: licensing.NewDate(2027, 6, 30),
			PONumber: "PO-DET", ActivatedAt: &activated, Source: licensing.SourceImport},
	}
	if _, err := store.AddPurchases(ctx, lines, "test", "fixture"); err != nil {
		t.Fatal(err)
	}
	seen := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	members := []licensing.SeatMember{
		{UserID: "u01", UserPrincipalName: "a@doa.example.gov", FirstSeen: seen, State: licensing.SeatAssigned, Since: seen},
		{UserID: "u02", UserPrincipalName: "b@doa.example.gov", FirstSeen: seen.Add(time.Minute), State: licensing.SeatAssigned, Since: seen, Disabled: true},
		{UserID: "u20", UserPrincipalName: "waits.first@doa.example.gov", FirstSeen: seen.Add(time.Hour), State: licensing.SeatWaiting, Since: seen.Add(time.Hour)},
		{UserID: "u21", UserPrincipalName: "waits.second@doa.example.gov", FirstSeen: seen.Add(2 * time.Hour), State: licensing.SeatWaiting, Since: seen.Add(2 * time.Hour)},
	}
	if err := store.SaveSeatMembers(ctx, "DOA", fakes.SkuVisio, members, nil); err != nil {
		t.Fatal(err)
	}
	return &overviewSite{t: t, host: behindHost(t, New(cfg), now), store: store, cfg: cfg, mail: mail}
}

// snapshot takes a usage snapshot of the sample tenant.
func (s *overviewSite) snapshot() {
	s.t.Helper()
	if _, err := s.cfg.Usage.TakeSnapshot(context.Background(), usage.SnapshotOptions{}, nil); err != nil {
		s.t.Fatal(err)
	}
}

// get sends GET path to the host as who ("" for nobody), as a browser
// behind App Service authentication does.
func (s *overviewSite) get(path, who string) *httptest.ResponseRecorder {
	s.t.Helper()
	req := httptest.NewRequest(http.MethodGet, pagesURL+path, nil)
	if who != "" {
		req.Header.Set("X-MS-CLIENT-PRINCIPAL-NAME", who)
		req.Header.Set("X-MS-CLIENT-PRINCIPAL-IDP", "aad")
	}
	rec := httptest.NewRecorder()
	s.host.ServeHTTP(rec, req)
	return rec
}

// page GETs path as who, checks it is an HTML page with the page headers
// and nothing inline, and parses it.
func (s *overviewSite) page(path, who string, want int) *html.Node {
	s.t.Helper()
	rec := s.get(path, who)
	if rec.Code != want {
		s.t.Fatalf("GET %s as %s: %d, want %d\n%s", path, who, rec.Code, want, rec.Body)
	}
	for k, v := range map[string]string{"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"} {
		if got := rec.Header().Get(k); got != v {
			s.t.Errorf("GET %s: %s = %q, want %q", path, k, got, v)
		}
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "style-src 'self'") {
		s.t.Errorf("GET %s: Content-Security-Policy = %q", path, csp)
	}
	doc := parsePage(s.t, rec)
	checkAccessible(s.t, doc)
	checkHeadings(s.t, path, doc)
	return doc
}

// checkHeadings checks that a page has one h1, first, and that no heading
// skips a level.
func checkHeadings(t *testing.T, path string, doc *html.Node) {
	t.Helper()
	level := 0
	for _, h := range findAll(doc, func(n *html.Node) bool {
		return len(n.Data) == 2 && n.Data[0] == 'h' && n.Data[1] >= '1' && n.Data[1] <= '6'
	}) {
		l := int(h.Data[1] - '0')
		if (level == 0 && l != 1) || (level > 0 && (l > level+1 || l == 1)) {
			t.Errorf("%s: <%s>%s follows a heading of level %d", path, h.Data, textOf(h), level)
		}
		level = l
	}
	if level == 0 {
		t.Errorf("%s has no heading", path)
	}
}

// rowsOf returns the text of each cell of each body row of the table with
// id.
func rowsOf(doc *html.Node, id string) [][]string {
	table := byID(doc, id)
	if table == nil {
		return nil
	}
	var rows [][]string
	for _, tr := range findAll(table, func(n *html.Node) bool { return n.Data == "tr" && n.Parent.Data == "tbody" }) {
		var cells []string
		for _, c := range findAll(tr, func(n *html.Node) bool { return n.Data == "td" || n.Data == "th" }) {
			cells = append(cells, textOf(c))
		}
		rows = append(rows, cells)
	}
	return rows
}

// hasClass reports whether n has class c.
func hasClass(n *html.Node, c string) bool {
	return slices.Contains(strings.Fields(attr(n, "class")), c)
}

// TestAgencyOverview opens DOA's page as its delegate: the products table
// holds the numbers GET /api/reports/licenses answers for DOA, the chart
// has one pair of bars per product with its title, the over product is
// marked in both, the delegated group shows its waitlist in order and what
// would free seats, and the E3 line ending in 69 days is due.
func TestAgencyOverview(t *testing.T) {
	s := newOverviewSite(t)
	s.snapshot()

	api := s.get("/api/reports/licenses?agency=DOA", doaDelegate)
	if api.Code != http.StatusOK {
		t.Fatalf("the API's report: %d %s", api.Code, api.Body)
	}
	var rep struct {
		Agencies []struct {
			Agency   string
			Users    int `json:"licensedUsers"`
			Products []struct {
				Product                                         string
				Purchased, InUse, Available, Disabled, Inactive int
				Status                                          string
			}
		}
	}
	if err := json.Unmarshal(api.Body.Bytes(), &rep); err != nil || len(rep.Agencies) != 1 {
		t.Fatalf("the API's report: %v\n%s", err, api.Body)
	}
	var want [][]string
	for _, p := range rep.Agencies[0].Products {
		status := p.Status
		if p.Status == licensing.ProductOver {
			status = "Over by " + formatCount(p.InUse-p.Purchased)
		}
		want = append(want, []string{p.Product, formatCount(p.Purchased), formatCount(p.InUse), formatCount(p.Available), status,
			formatCount(p.Disabled), formatCount(p.Inactive)})
	}

	doc := s.page("/agencies/DOA", doaDelegate, http.StatusOK)
	got := rowsOf(doc, "products-table")
	if len(want) != 2 || !slices.EqualFunc(want, got, slices.Equal) {
		t.Errorf("products table = %q\nthe API says %q", got, want)
	}
	if h1 := textOf(byID(doc, "page-title")); h1 != "Administration (DOA)" {
		t.Errorf("h1 = %q", h1)
	}
	if as := textOf(byID(doc, "data-as-of")); !strings.Contains(as, "2026-11-23 06:00 UTC") || !strings.Contains(as, formatCount(rep.Agencies[0].Users)+" licensed users") {
		t.Errorf("as of: %q", as)
	}
	if over := textOf(byID(doc, "over-summary")); !strings.Contains(over, "Over what was bought: Office 365 E3.") {
		t.Errorf("over summary: %q", over)
	}

	chart := byID(doc, "license-chart")
	if chart == nil || chart.Data != "svg" || attr(chart, "role") != "img" || attr(chart, "aria-labelledby") != "license-chart-title license-chart-desc" {
		t.Fatalf("no accessible chart: %v", chart)
	}
	if title := byID(chart, "license-chart-title"); title == nil || title.Data != "title" || textOf(title) != "Seats purchased and in use, per product" {
		t.Errorf("chart title: %q", textOf(title))
	}
	if desc := textOf(byID(chart, "license-chart-desc")); !strings.Contains(desc, "Over what was bought: Office 365 E3.") {
		t.Errorf("chart description: %q", desc)
	}
	pairs := findAll(chart, func(n *html.Node) bool { return n.Data == "g" && hasClass(n, "product") })
	if len(pairs) != len(want) {
		t.Fatalf("chart: %d products, want %d", len(pairs), len(want))
	}
	for i, g := range pairs {
		bought := findAll(g, func(n *html.Node) bool { return n.Data == "rect" && hasClass(n, "purchased") })
		used := findAll(g, func(n *html.Node) bool { return n.Data == "rect" && hasClass(n, "in-use") })
		text := textOf(g)
		if len(bought) != 1 || len(used) != 1 || !strings.HasPrefix(text, want[i][0]+" "+want[i][1]+" purchased "+want[i][2]+" in use") {
			t.Errorf("chart pair %d: %d purchased and %d in-use bars, text %q; want one each for %q", i, len(bought), len(used), text, want[i])
		}
		if isOver := want[i][4] != "OK" && want[i][4] != "Unused"; isOver != hasClass(g, "is-over") || isOver != hasClass(used[0], "is-over") {
			t.Errorf("chart pair %q: over marked %v, want %v", want[i][0], hasClass(g, "is-over"), isOver)
		}
	}

	waiting := byID(doc, "group-visioclient-waitlist")
	var order []string
	for _, li := range findAll(waiting, func(n *html.Node) bool { return n.Data == "li" }) {
		order = append(order, textOf(li))
	}
	wantOrder := []string{"waits.first@doa.example.gov, waiting since 2026-11-02 10:00 UTC", "waits.second@doa.example.gov, waiting since 2026-11-02 11:00 UTC"}
	if waiting == nil || waiting.Data != "ol" || !slices.Equal(order, wantOrder) {
		t.Errorf("waitlist = %q, want %q", order, wantOrder)
	}
	if free := textOf(byID(doc, "group-visioclient-free")); !strings.Contains(free, "b@doa.example.gov holds a seat but the account is disabled") {
		t.Errorf("what would free seats: %q", free)
	}
	renewals := rowsOf(doc, "renewals-table")
	if len(renewals) != 1 || renewals[0][2] != "PO-E3" || renewals[0][3] != "2027-01-31 (in 69 days)" || !strings.Contains(renewals[0][5], "Contoso Reseller") {
		t.Errorf("renewals due = %q, want the E3 line only", renewals)
	}
	if none := textOf(byID(doc, "no-reports")); !strings.Contains(none, "handler run payroll-report") {
		t.Errorf("no reports yet: %q", none)
	}

	// Central IT opens the same page.
	if got := rowsOf(s.page("/agencies/doa", admin, http.StatusOK), "products-table"); !slices.EqualFunc(want, got, slices.Equal) {
		t.Errorf("admin's products table = %q", got)
	}
}

// TestOverviewEmptyStates opens both pages before any snapshot, run or
// report: each says what to do instead of showing numbers.
func TestOverviewEmptyStates(t *testing.T) {
	s := newOverviewSite(t)
	doc := s.page("/agencies/DET", detDelegate, http.StatusOK)
	for id, want := range map[string]string{
		"no-snapshot": "the first snapshot is taken on the next payroll Monday or with handler run snapshot",
		"no-groups":   "no delegated groups",
		"no-renewals": "No purchase line ends within the next 90 days",
		"no-reports":  "No payroll report has been produced",
	} {
		if got := textOf(byID(doc, id)); !strings.Contains(got, want) {
			t.Errorf("#%s = %q, want %q", id, got, want)
		}
	}
	if byID(doc, "license-chart") != nil || byID(doc, "products-table") != nil {
		t.Error("a chart or table without a snapshot")
	}
	doc = s.page("/agencies", admin, http.StatusOK)
	if got := textOf(byID(doc, "no-snapshot")); !strings.Contains(got, "handler run snapshot") {
		t.Errorf("admin, no snapshot: %q", got)
	}
	if got := textOf(byID(doc, "agency-list")); got != "Technology (DET) Administration (DOA)" {
		t.Errorf("agencies without a snapshot: %q", got)
	}
	if got := textOf(byID(doc, "no-runs")); !strings.Contains(got, "No job has run yet") {
		t.Errorf("no runs: %q", got)
	}
}

// TestOverviewAccess: a delegate sees their own agency and gets the 403
// page for another agency's and for every agency's; an unknown agency is
// the 404 page; nobody is sent to sign in.
func TestOverviewAccess(t *testing.T) {
	s := newOverviewSite(t)
	s.snapshot()
	s.page("/agencies/DET", detDelegate, http.StatusOK)
	for _, c := range []struct {
		path, who string
		status    int
		says      string
	}{
		{"/agencies/DOA", detDelegate, http.StatusForbidden, "only your own agency"},
		{"/agencies", doaDelegate, http.StatusForbidden, "Only central IT sees every agency. Your agency's page is /agencies/DOA."},
		{"/agencies/NOPE", admin, http.StatusNotFound, `There is no agency "NOPE"`},
		{"/agencies/DOA", "someone@else.example.gov", http.StatusForbidden, "only your own agency"},
	} {
		doc := s.page(c.path, c.who, c.status)
		if h1 := findAll(doc, func(n *html.Node) bool { return n.Data == "h1" }); len(h1) != 1 || !strings.Contains(textOf(doc), c.says) {
			t.Errorf("%s as %s: %q, want a page saying %q", c.path, c.who, textOf(doc), c.says)
		}
		if strings.Contains(textOf(doc), "Office 365") {
			t.Errorf("%s as %s shows numbers: %q", c.path, c.who, textOf(doc))
		}
	}
	rec := s.get("/agencies/DOA", "")
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "/.auth/login/aad?post_login_redirect_uri=%2Fagencies%2FDOA" {
		t.Errorf("nobody: %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
}

// TestAdminOverview opens every agency's page as central IT after a run
// that failed and the payroll run: the over agency comes first with its
// totals, the unattributed and conflicting users are counted with what to
// do, and the runs are listed newest first with their outcome and message.
func TestAdminOverview(t *testing.T) {
	s := newOverviewSite(t)
	ctx := context.Background()
	failed := s.cfg.Runs.Start(ctx, "UsageAudit", "timer", nil)
	failed.Finish(ctx, licensing.Errorf("test", licensing.Unavailable, "Microsoft Graph did not answer; the next run tries again."), false, "")
	if inv, err := s.host.FireTimer(ctx, "PayrollReport", false); err != nil || !inv.Succeeded {
		t.Fatalf("payroll run: %v %v %s", err, inv.Err, inv.Logs)
	}

	doc := s.page("/agencies", admin, http.StatusOK)
	want := [][]string{
		{"Administration (DOA)", "6", "3", "2", "Over: Office 365 E3 by 1"},
		{"Technology (DET)", "2", "1", "1", "No"},
	}
	if got := rowsOf(doc, "agencies-table"); !slices.EqualFunc(want, got, slices.Equal) {
		t.Errorf("agencies = %q\nwant %q", got, want)
	}
	if row := byID(doc, "agency-DOA"); row == nil || !hasClass(row, "over-row") {
		t.Error("DOA's row is not marked over")
	}
	if got := textOf(byID(doc, "over-count")); got != "1 of 2 agencies use more than they bought; they are listed first." {
		t.Errorf("over count: %q", got)
	}
	for id, n := range map[string]string{"unattributed-count": "2", "conflict-count": "1"} {
		if got := textOf(byID(doc, id)); got != n {
			t.Errorf("#%s = %q, want %s", id, got, n)
		}
	}
	if got := textOf(byID(doc, "attribution")); !strings.Contains(got, "Fix their attributes or an agency's rule") || !strings.Contains(got, "Make the rules exclusive") {
		t.Errorf("what to do about them: %q", got)
	}
	runs := rowsOf(doc, "runs-table")
	if len(runs) != 2 || runs[0][0] != "PayrollReport" || runs[0][2] != "succeeded" || !strings.Contains(runs[0][4], "payroll Monday 2026-11-23") ||
		runs[1][0] != "UsageAudit" || runs[1][2] != "failed" || runs[1][4] != "Microsoft Graph did not answer; the next run tries again." {
		t.Errorf("runs = %q", runs)
	}
}

// TestReportMailLinksOpenPages runs the payroll report and the usage audit
// through their timers, and opens every link of their mails that points at
// the site as the person the mail is for: each answers a page. The
// agency's page then offers the payroll workbook, whose link downloads it.
func TestReportMailLinksOpenPages(t *testing.T) {
	s := newOverviewSite(t)
	ctx := context.Background()
	for _, fn := range []string{"PayrollReport", "UsageAudit"} {
		if inv, err := s.host.FireTimer(ctx, fn, false); err != nil || !inv.Succeeded {
			t.Fatalf("%s: %v %v %s", fn, err, inv.Err, inv.Logs)
		}
	}
	readers := map[string]string{fakes.CentralIT: admin, "licensing@doa.example.gov": doaDelegate, "x@det.example.gov": detDelegate}
	opened := map[string]bool{}
	for id, m := range s.mail.Sent {
		links := mailLink.FindAllString(m.Text, -1)
		if len(links) == 0 {
			t.Errorf("mail %s has no link:\n%s", id, m.Text)
		}
		for _, link := range links {
			link = strings.TrimRight(link, ".,;:)")
			path, ok := strings.CutPrefix(link, pagesURL)
			if !ok {
				continue
			}
			who := readers[m.To[0]]
			doc := s.page(path, who, http.StatusOK)
			if h1 := findAll(doc, func(n *html.Node) bool { return n.Data == "h1" }); len(h1) != 1 {
				t.Errorf("%s (mail %s) as %s: no page", link, id, who)
			}
			opened[id+" "+path] = true
		}
	}
	for _, want := range []string{
		"payroll-2026-11-23.DOA /agencies/DOA", "payroll-2026-11-23.DET /agencies/DET", "payroll-2026-11-23.enterprise-summary /agencies",
		"audit-2026-11.central-it /agencies", "audit-2026-11.DOA /agencies/DOA",
	} {
		if !opened[want] {
			t.Errorf("not opened: %s; opened %v", want, opened)
		}
	}

	doc := s.page("/agencies/DOA", doaDelegate, http.StatusOK)
	links := findAll(byID(doc, "workbooks"), func(n *html.Node) bool { return n.Data == "a" })
	if len(links) != 1 || textOf(links[0]) != "Payroll report of 2026-11-23" {
		t.Fatalf("workbooks: %q", textOf(byID(doc, "workbooks")))
	}
	resp, err := http.Get(attr(links[0], "href"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "PK") {
		t.Errorf("download: %d, %d bytes starting %q", resp.StatusCode, len(body), string(body[:min(len(body), 4)]))
	}
}
