package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/blobstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/graph"
	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/outbox"
	"github.com/shared-tenant/licensetrack/shared/renewals"
	"github.com/shared-tenant/licensetrack/shared/skucatalog"
	"github.com/shared-tenant/licensetrack/shared/tablestore"
	"github.com/shared-tenant/licensetrack/shared/xlsx"
)

const (
	rnAdmin     = "admin@it.example.gov"
	rnCentralIT = "licensing@it.example.gov"
	rnDOA       = "licensing@doa.example.gov"
	rnDET       = "licensing@det.example.gov"
	skuFlowFree = "f30db892-07e9-47e9-837c-80727f46fd3d"

	// The tenant's subscriptions (companySubscription ids).
	subE3Annual     = "a1e30000-0000-4000-8000-000000000001"
	subE3Stays      = "a1e30000-0000-4000-8000-000000000002"
	subVisioMonthly = "a1e30000-0000-4000-8000-000000000003"
	subFlowFree     = "a1e30000-0000-4000-8000-000000000004"
	subBITrial      = "a1e30000-0000-4000-8000-000000000005"
)

// renewalZone is REPORT_TIME_ZONE's default: the day the reminders are for.
var renewalZone = func() *time.Location {
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		panic(err)
	}
	return loc
}()

// renewalRig is the reminders with real parts: Table and Blob Storage on
// Azurite, the Graph adapter against the fake Graph over HTTP (the tenant's
// subscriptions), the outbox mailer writing .eml blobs, and a clock the test
// moves from day to day.
type renewalRig struct {
	t      *testing.T
	tenant *graphfake.Tenant
	client *graph.Client
	tables *tablestore.Store
	blobs  *blobstore.Store
	// sent is the outbox, counting what it wrote; mailer is what the
	// service sends through (sent, or a wrapper of it).
	sent   *countingMailer
	mailer licensing.Mailer
	// now is the clock, in Unix nanoseconds.
	now atomic.Int64
}

// countingMailer counts the messages its Mailer accepted, by message id.
type countingMailer struct {
	licensing.Mailer
	mu   sync.Mutex
	sent map[string]int
}

func (c *countingMailer) Send(ctx context.Context, m licensing.MailMessage) error {
	err := c.Mailer.Send(ctx, m)
	if err == nil {
		c.mu.Lock()
		c.sent[m.ID]++
		c.mu.Unlock()
	}
	return err
}

func (c *countingMailer) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.sent {
		out[k] = v
	}
	return out
}

// dieAfterSend sends and then, for the message id, stops the run dead (its
// goroutine exits) before the send is confirmed.
type dieAfterSend struct {
	licensing.Mailer
	id string
}

func (d dieAfterSend) Send(ctx context.Context, m licensing.MailMessage) error {
	if err := d.Mailer.Send(ctx, m); err != nil {
		return err
	}
	if m.ID == d.id {
		runtime.Goexit()
	}
	return nil
}

// newRenewalRig configures DOA and DET, records their purchase lines and
// gives the tenant its subscriptions:
//   - DOA: Visio a la carte (10 seats) to the fiscal year end 2026-06-30;
//     Power BI Pro to the same day, already renewed by a line from
//     2026-08-01;
//   - DET: Office 365 E3 on an Enterprise Agreement (40 seats) to
//     2026-05-31;
//   - subscriptions: an annual E3 one renewing 2026-06-15, another E3 one
//     that stays, a monthly Visio one (its next renewal is set on each run's
//     day), and Power Automate Free changing on 2026-06-15 as well.
func newRenewalRig(t *testing.T) *renewalRig {
	t.Helper()
	ctx := context.Background()
	name := azuritetest.Name(t, "renew")
	r := &renewalRig{t: t, tenant: graphfake.NewTenant(),
		tables: tablestore.New(azuritetest.TableService(t), tablestore.Options{TablePrefix: name}),
		blobs:  blobstore.New(azuritetest.BlobService(t), name)}
	for _, store := range []interface{ Init(context.Context) error }{r.tables, r.blobs} {
		if err := store.Init(ctx); err != nil {
			t.Fatal(err)
		}
	}
	quiet := slog.New(slog.DiscardHandler)
	ts := httptest.NewServer(graphfake.NewServer(r.tenant, quiet))
	t.Cleanup(ts.Close)
	var err error
	r.client, err = graph.New(graph.Config{BaseURL: ts.URL + "/v1.0", Auth: graph.AuthNone, MaxRetryWait: 10 * time.Second, RetryDelay: 10 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	r.sent = &countingMailer{Mailer: outbox.New(r.blobs, rnCentralIT, outbox.WithLogger(quiet)), sent: map[string]int{}}
	r.mailer = r.sent

	admin := licensing.NewAgencyAdmin(r.tables, licensing.NewAuthorizer(r.tables, []string{rnAdmin}, false), nil)
	for _, a := range []licensing.Agency{
		{ID: "DOA", Name: "Department of Administration", Contacts: []string{rnDOA},
			Attribution: licensing.AttributionRule{Attribute: licensing.AttrUPNDomain, Values: []string{"doa.example.gov"}}},
		{ID: "DET", Name: "Department of Enterprise Technology", Contacts: []string{rnDET},
			Attribution: licensing.AttributionRule{Attribute: licensing.AttrUPNDomain, Values: []string{"det.example.gov"}}},
	} {
		if _, _, err := admin.PutAgency(ctx, &licensing.Principal{Name: rnAdmin}, a.ID, a, licensing.Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	line := func(id, agency, sku, part, po string, qty int, start, end, agreement, activated string, replaces ...string) licensing.Purchase {
		at := mustDate(t, activated).Time().Add(15 * time.Hour)
		return licensing.Purchase{ID: id, Agency: agency, SkuID: sku, PartNumber: part, Quantity: qty, TermStart: mustDate(t, start), TermEnd: mustDate(t, end),
			PONumber: po, Agreement: agreement, Source: licensing.SourceImport, Replaces: replaces, ActivatedAt: &at, Created: at, CreatedBy: rnAdmin}
	}
	for _, p := range []licensing.Purchase{
		line("doa-visio-fy26", "DOA", fakes.SkuVisio, "VISIOCLIENT", "PO-VISIO-26", 10, "2025-08-01", "2026-06-30", licensing.AgreementALaCarte, "2025-08-01"),
		line("doa-bi-fy26", "DOA", fakes.SkuPowerBIPro, "POWER_BI_PRO", "PO-BI-26", 5, "2025-08-01", "2026-06-30", licensing.AgreementALaCarte, "2025-08-01"),
		line("det-e3-ea", "DET", fakes.SkuE3, "ENTERPRISEPACK", "PO-EA-23", 40, "2023-06-01", "2026-05-31", licensing.AgreementEnterprise, "2023-06-01"),
		line("doa-bi-fy27", "DOA", fakes.SkuPowerBIPro, "POWER_BI_PRO", "PO-BI-27", 5, "2026-08-01", "2027-06-30", licensing.AgreementALaCarte, "2026-02-15", "doa-bi-fy26"),
	} {
		if _, err := r.tables.AddPurchases(ctx, []licensing.Purchase{p}, rnAdmin, "test purchase"); err != nil {
			t.Fatalf("purchase %s: %v", p.ID, err)
		}
	}
	r.subscription(subE3Annual, fakes.SkuE3, "ENTERPRISEPACK", 100, false, "2025-06-15", "2026-06-15")
	r.subscription(subE3Stays, fakes.SkuE3, "ENTERPRISEPACK", 25, false, "2026-01-20", "2027-01-20")
	r.subscription(subFlowFree, skuFlowFree, "FLOW_FREE", 10000, false, "2025-06-15", "2026-06-15")
	return r
}

// subscription puts an enabled subscription created and next changing at
// 14:00 UTC of the days given.
func (r *renewalRig) subscription(id, sku, part string, total int, trial bool, created, next string) {
	n := mustDate(r.t, next).Time().Add(14 * time.Hour)
	r.tenant.PutSubscription(graphfake.Subscription{ID: id, SkuID: sku, PartNumber: part, Status: "Enabled", TotalLicenses: total,
		IsTrial: trial, Created: mustDate(r.t, created).Time().Add(14 * time.Hour), NextLifecycle: &n})
}

func (r *renewalRig) clock() time.Time { return time.Unix(0, r.now.Load()).UTC() }

func (r *renewalRig) advance(d time.Duration) { r.now.Add(int64(d)) }

// toDay moves the clock to noon of day in Chicago, and the monthly Visio
// subscription's next renewal to the first 10th of a month on or after it,
// as the directory reports it after each renewal.
func (r *renewalRig) toDay(day string) {
	d := mustDate(r.t, day).Time()
	r.now.Store(time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, renewalZone).UnixNano())
	next := time.Date(d.Year(), d.Month(), 10, 0, 0, 0, 0, time.UTC)
	if d.Day() > 10 {
		next = next.AddDate(0, 1, 0)
	}
	r.subscription(subVisioMonthly, fakes.SkuVisio, "VISIOCLIENT", 10, false, "2025-01-10", next.Format(time.DateOnly))
}

// service builds the renewals service as the app does, with the rig's parts
// and EFFECT_LEASE's default.
func (r *renewalRig) service() *renewals.Service {
	r.t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	catalog, err := skucatalog.NewSource(skucatalog.Config{Cache: catalogCache{r.blobs}, Logger: quiet})
	if err != nil {
		r.t.Fatal(err)
	}
	auth := licensing.NewAuthorizer(r.tables, []string{rnAdmin}, false)
	return renewals.NewService(renewals.Config{
		Auth: auth, Runs: licensing.NewRuns(r.tables, auth, r.clock, nil),
		Agencies: r.tables, Purchases: r.tables, Enrollments: r.tables, Snapshots: r.tables,
		Directory: r.client, Catalog: catalog, Files: r.blobs, Links: r.blobs,
		Worksheets: xlsx.NewReportWriter(xlsx.WithLocation(renewalZone)), Mailer: r.mailer,
		Effects: licensing.NewEffects(r.tables, r.clock, licensing.DefaultEffectLease), Terms: licensing.DefaultTerms(),
		Location: renewalZone, CentralIT: []string{rnCentralIT}, Now: r.clock,
	})
}

// run runs the reminders of the clock's day.
func (r *renewalRig) run() renewals.ReminderResult {
	r.t.Helper()
	res, err := r.service().RemindersRun(context.Background(), "test", licensing.Date{}, nil)
	if err != nil {
		r.t.Fatalf("run at %s: %v", r.clock(), err)
	}
	if want := licensing.DateOf(r.clock(), renewalZone); !res.On.Equal(want) {
		r.t.Fatalf("run at %s reminded for %s; want %s", r.clock(), res.On, want)
	}
	return res
}

// runDying runs the reminders of the clock's day in a goroutine the mailer
// stops dead.
func (r *renewalRig) runDying() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.service().RemindersRun(context.Background(), "test", licensing.Date{}, nil)
		r.t.Error("the run was to stop half-way")
	}()
	<-done
}

// rnKeys returns the reminders' keys without "mail:", sorted.
func rnKeys(list []renewals.Reminder) []string {
	out := []string{}
	for _, m := range list {
		out = append(out, strings.TrimPrefix(m.Key, "mail:"))
	}
	sort.Strings(out)
	return out
}

// eml is one message of the outbox, parsed as a mail client would.
type eml struct {
	file   string
	header mail.Header
	text   string
	// attachments are decoded, by file name.
	attachments map[string][]byte
}

// readOutbox parses every message under outbox/, by message id (the file
// name without .eml). A message id written on two days fails the test.
func readOutbox(t *testing.T, blobs *blobstore.Store) map[string]eml {
	t.Helper()
	ctx := context.Background()
	var names []string
	if err := blobs.List(ctx, outbox.Prefix, func(b blobstore.BlobInfo) error {
		names = append(names, b.Name)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out := map[string]eml{}
	for _, name := range names {
		rc, err := blobs.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		m := parseEML(t, name, raw)
		id := strings.TrimSuffix(name[strings.LastIndexByte(name, '/')+1:], ".eml")
		if prev, ok := out[id]; ok {
			t.Errorf("message %s is in the outbox twice: %s and %s", id, prev.file, name)
		}
		out[id] = m
	}
	return out
}

func parseEML(t *testing.T, name string, raw []byte) eml {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	m := eml{file: name, header: msg.Header, attachments: map[string][]byte{}}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("%s: content type: %v", name, err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		if err != nil {
			t.Fatalf("%s: body: %v", name, err)
		}
		m.text = string(b)
		return m
	}
	m.readParts(t, name, msg.Body, params["boundary"])
	return m
}

// readParts reads the parts of a multipart body into m: the text/plain
// ones (not their HTML alternative) into text, the attachments by name.
func (m *eml) readParts(t *testing.T, name string, r io.Reader, boundary string) {
	t.Helper()
	// NextPart decodes quoted-printable parts; attachments are base64.
	mr := multipart.NewReader(r, boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("%s: part: %v", name, err)
		}
		pt, pp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if strings.HasPrefix(pt, "multipart/") {
			m.readParts(t, name, p, pp["boundary"])
			continue
		}
		if pt == "text/html" && p.FileName() == "" {
			continue
		}
		var body io.Reader = p
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			body = base64.NewDecoder(base64.StdEncoding, p)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatalf("%s: part %q: %v", name, p.FileName(), err)
		}
		if p.FileName() != "" {
			m.attachments[p.FileName()] = b
		} else {
			m.text += string(b)
		}
	}
}

// addresses returns the addresses of header field of m.
func (m eml) addresses(field string) []string {
	list, err := m.header.AddressList(field)
	if err != nil {
		return nil
	}
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.Address
	}
	return out
}

// checkText reports the parts of want missing from the text of message id,
// and the parts of unwanted it holds.
func checkText(t *testing.T, mails map[string]eml, id string, want, unwanted []string) {
	t.Helper()
	m, ok := mails[id]
	if !ok {
		t.Errorf("no message %s in the outbox", id)
		return
	}
	for _, s := range want {
		if !strings.Contains(m.text, s) {
			t.Errorf("%s lacks %q:\n%s", id, s, m.text)
		}
	}
	for _, s := range unwanted {
		if strings.Contains(m.text, s) {
			t.Errorf("%s holds %q:\n%s", id, s, m.text)
		}
	}
}

// TestRenewalRemindersEndToEnd runs the daily reminders on Azurite and the
// fake Graph from March to June, with seven weeks in which no run happened:
// each reminder is mailed once, to the agency with central IT in copy or to
// central IT; the catch-up run sends the tightest threshold reached, saying
// it is late, and passes over the ones it missed; a-la-carte lines get the
// fiscal-year wording, Enterprise Agreement lines theirs; a renewed line,
// a trial and a free product get nothing.
func TestRenewalRemindersEndToEnd(t *testing.T) {
	started := time.Now()
	r := newRenewalRig(t)
	steps := []struct {
		day  string
		sent []string
	}{
		{"2026-03-01", []string{"subscriptions-digest.2026-03"}},
		{"2026-03-02", []string{"renewal.DET.2026-05-31.90d"}},
		{"2026-03-03", nil},
		{"2026-03-17", []string{"subscription.2026-06-15.90d"}},
		{"2026-03-18", nil},
		// No run from 2026-03-19 to 2026-05-05: the 90- and 60-day
		// reminders of DOA, DET's 60- and 30-day ones, the subscription's
		// 60-day one and April's digest were due meanwhile.
		{"2026-05-06", []string{"renewal.DET.2026-05-31.30d", "renewal.DOA.2026-06-30.60d", "subscription.2026-06-15.60d", "subscriptions-digest.2026-05"}},
		{"2026-05-07", nil},
		{"2026-05-16", []string{"subscription.2026-06-15.30d"}},
		{"2026-05-31", []string{"renewal.DOA.2026-06-30.30d"}},
		{"2026-06-01", []string{"subscriptions-digest.2026-06"}},
	}
	late := map[string]bool{"renewal.DET.2026-05-31.30d": true, "renewal.DOA.2026-06-30.60d": true, "subscription.2026-06-15.60d": true}
	var all []string
	sentOn := map[string]string{}
	for _, s := range steps {
		if s.day == "2026-05-06" {
			// A Power BI Pro trial started during the gap; it would look
			// monthly if it were paid.
			r.subscription(subBITrial, fakes.SkuPowerBIPro, "POWER_BI_PRO", 25, true, "2026-04-20", "2026-05-20")
		}
		r.toDay(s.day)
		res := r.run()
		want := append([]string{}, s.sent...)
		sort.Strings(want)
		if diff := cmp.Diff(want, rnKeys(res.Sent)); diff != "" {
			t.Errorf("%s: sent (-want +got):\n%s", s.day, diff)
		}
		if got := rnKeys(res.AlreadySent); len(got) > len(all) {
			t.Errorf("%s: already sent %v; more than was sent before (%v)", s.day, got, all)
		}
		all = append(all, s.sent...)
		for _, id := range s.sent {
			sentOn[id] = s.day
		}
		for _, m := range res.Sent {
			if k := strings.TrimPrefix(m.Key, "mail:"); m.Late != late[k] {
				t.Errorf("%s: %s late = %v; want %v", s.day, k, m.Late, late[k])
			}
		}
		if len(res.Failed)+len(res.Unconfirmed)+len(res.Notes) > 0 {
			t.Errorf("%s: failed %v, unconfirmed %v, notes %v", s.day, res.Failed, res.Unconfirmed, res.Notes)
		}
		skipped := map[string]string{}
		for _, k := range res.Skipped {
			skipped[k.What] = k.Why
		}
		wantSkipped := map[string]string{
			"Microsoft Power Automate Free (FLOW_FREE), subscription " + subFlowFree: "a free product: there is nothing to renew",
		}
		if s.day >= "2026-05-06" {
			wantSkipped["Power BI Pro (POWER_BI_PRO), subscription "+subBITrial] = "a trial: there is nothing to renew"
		}
		// Only the catch-up run passes reminders over. A later reminder
		// passes over none: the one before it went.
		if s.day == "2026-05-06" {
			wantSkipped["renewal.DOA.2026-06-30.90d"] = "passed over: it was due on 2026-04-01 and no run sent it; the later reminder renewal.DOA.2026-06-30.60d went instead"
			wantSkipped["renewal.DET.2026-05-31.60d"] = "passed over: it was due on 2026-04-01 and no run sent it; the later reminder renewal.DET.2026-05-31.30d went instead"
		}
		if diff := cmp.Diff(wantSkipped, skipped); diff != "" {
			t.Errorf("%s: skipped (-want +got):\n%s", s.day, diff)
		}
	}

	// Exactly the expected mails, each written once.
	sort.Strings(all)
	mails := readOutbox(t, r.blobs)
	var ids []string
	for id := range mails {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if diff := cmp.Diff(all, ids); diff != "" {
		t.Errorf("outbox (-want +got):\n%s", diff)
	}
	for id, n := range r.sent.counts() {
		if n != 1 {
			t.Errorf("%s was written %d times; want once", id, n)
		}
	}
	for id, m := range mails {
		if want := outbox.Prefix + sentOn[id] + "/" + id + ".eml"; m.file != want || m.header.Get("Message-ID") != "<"+id+"@"+outbox.DefaultDomain+">" {
			t.Errorf("%s: file %s, Message-ID %s; want %s, written on its day", id, m.file, m.header.Get("Message-ID"), want)
		}
	}

	// Recipients: an agency's reminders go to its contacts with central IT
	// in copy; subscriptions to central IT.
	for id, want := range map[string][2][]string{
		"renewal.DOA.2026-06-30.60d":   {{rnDOA}, {rnCentralIT}},
		"renewal.DOA.2026-06-30.30d":   {{rnDOA}, {rnCentralIT}},
		"renewal.DET.2026-05-31.90d":   {{rnDET}, {rnCentralIT}},
		"renewal.DET.2026-05-31.30d":   {{rnDET}, {rnCentralIT}},
		"subscription.2026-06-15.60d":  {{rnCentralIT}, nil},
		"subscriptions-digest.2026-05": {{rnCentralIT}, nil},
	} {
		m := mails[id]
		if diff := cmp.Diff(want, [2][]string{m.addresses("To"), m.addresses("Cc")}, cmpNilEmpty); diff != "" {
			t.Errorf("%s: to, cc (-want +got):\n%s", id, diff)
		}
	}
	if got := mails["renewal.DOA.2026-06-30.60d"].header.Get("Subject"); got != "DOA: licenses end on 2026-06-30 (60-day renewal reminder)" {
		t.Errorf("subject = %q", got)
	}

	// The catch-up mails say they are late and when they were due; the
	// mails sent on their day do not.
	fiscal := []string{
		"A-la-carte lines: the licenses end on 2026-06-30 and must be bought again, with a new purchase order, for fiscal year 2027, which starts on 2026-08-01 (2026-08-01 to 2027-06-30).",
		"The grace period keeps the seats through 2026-07-31, so a purchase recorded by then leaves no gap.",
	}
	renewed := []string{"Power BI", "PO-BI-26", "PO-BI-27", "Enterprise Agreement lines"}
	checkText(t, mails, "renewal.DOA.2026-06-30.60d", append([]string{
		"Licenses of Department of Administration (DOA) end on 2026-06-30, in 55 days.",
		"This is the 60-day reminder, due on 2026-05-01; it is sent late because no run sent it on that day.",
		"Visio Plan 2", "PO-VISIO-26", "2025-08-01 to 2026-06-30", "a la carte",
	}, fiscal...), renewed)
	checkText(t, mails, "renewal.DOA.2026-06-30.30d", append([]string{"end on 2026-06-30, in 30 days."}, fiscal...), append([]string{"late"}, renewed...))
	ea := []string{"Office 365 E3", "PO-EA-23", "2023-06-01 to 2026-05-31", "Enterprise Agreement",
		"Enterprise Agreement lines: renew through your reseller or the Microsoft account team before 2026-05-31. Microsoft sends its own reminder about 90 days before the end"}
	checkText(t, mails, "renewal.DET.2026-05-31.90d", append([]string{"Department of Enterprise Technology (DET) end on 2026-05-31, in 90 days."}, ea...),
		[]string{"late", "A-la-carte", "fiscal year"})
	checkText(t, mails, "renewal.DET.2026-05-31.30d", append([]string{"in 25 days.",
		"This is the 30-day reminder, due on 2026-05-01; it is sent late because no run sent it on that day."}, ea...), []string{"A-la-carte"})

	// The subscription alerts: the annual E3 subscription, the agency whose
	// purchases use it, and that the one staying does not hold them; never
	// the free product changing the same day.
	e3 := []string{
		"Office 365 E3 (ENTERPRISEPACK), subscription " + subE3Annual + ", Enabled, 100 licenses",
		"On 2026-06-15 it expires into the grace state (its licenses still work for a while) unless it is renewed.",
		"Agencies whose purchases of this product are in force on 2026-06-15: DET 40 (40 in all).",
		"Without it, the tenant's other subscriptions of this product that stay hold 25 units for the 40 seats bought: short by 15.",
	}
	notListed := []string{subFlowFree, "FLOW_FREE", "Power Automate", subBITrial, subE3Stays + ",", subVisioMonthly}
	checkText(t, mails, "subscription.2026-06-15.90d", append([]string{"1 subscription(s) of the tenant change on 2026-06-15, in 90 days"}, e3...), append([]string{"late"}, notListed...))
	checkText(t, mails, "subscription.2026-06-15.60d", append([]string{"in 40 days",
		"This is the 60-day reminder, due on 2026-04-16; it is sent late because no run sent it on that day."}, e3...), notListed)
	checkText(t, mails, "subscription.2026-06-15.30d", append([]string{"in 30 days"}, e3...), append([]string{"late"}, notListed...))

	// The digests: the monthly Visio subscription and who uses it; not the
	// trial, though it renews on the day of the month it started.
	for id, on := range map[string]string{"subscriptions-digest.2026-03": "2026-03-10", "subscriptions-digest.2026-05": "2026-05-10", "subscriptions-digest.2026-06": "2026-06-10"} {
		checkText(t, mails, id, []string{
			"1 subscription(s) of the tenant renew every month by themselves.",
			"Visio Plan 2 (VISIOCLIENT), subscription " + subVisioMonthly + ", Enabled, 10 licenses",
			"On " + on + " it renews by itself for another month",
			"Agencies whose purchases of this product are in force on " + on + ": DOA 10 (10 in all).",
			"This digest is sent once a month",
		}, []string{subBITrial, "Power BI", subFlowFree, subE3Annual})
	}
	if got := mails["subscriptions-digest.2026-05"].header.Get("Subject"); got != "Monthly auto-renewing subscriptions, 2026-05" {
		t.Errorf("digest subject = %q", got)
	}

	runs, err := r.tables.ListRuns(context.Background(), licensing.RunFilter{Function: renewals.Function})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != len(steps) {
		t.Errorf("%d run records; want %d", len(runs), len(steps))
	}
	for _, run := range runs {
		if run.Outcome != licensing.RunSucceeded {
			t.Errorf("run %s: %s %s", run.ID, run.Outcome, run.Message)
		}
	}
	t.Logf("%d runs in %s", len(steps), time.Since(started).Round(time.Millisecond))
}

// cmpNilEmpty compares a nil slice equal to an empty one.
var cmpNilEmpty = cmp.Comparer(func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") })

// TestRenewalRemindersCrashThenRerun: the first run after missed days dies
// right after the outbox took DOA's reminder, before the run could confirm
// it. The host's retry a minute later sends the rest and leaves DOA's alone
// (its claim is live); once the claim lapsed (EFFECT_LEASE), a rerun reports
// DOA's reminder unconfirmed instead of sending it again; a last run that
// day sends nothing new. The outbox holds each message once.
func TestRenewalRemindersCrashThenRerun(t *testing.T) {
	started := time.Now()
	r := newRenewalRig(t)
	const doa, det = "renewal.DOA.2026-06-30.60d", "renewal.DET.2026-05-31.30d"
	rest := []string{"subscription.2026-06-15.60d", "subscriptions-digest.2026-05"}
	r.toDay("2026-05-06")
	r.mailer = dieAfterSend{Mailer: r.sent, id: doa}
	r.runDying()
	if diff := cmp.Diff(map[string]int{det: 1, doa: 1}, r.sent.counts()); diff != "" {
		t.Fatalf("written before the crash (-want +got):\n%s", diff)
	}
	if e, err := r.tables.GetEffect(context.Background(), "mail:"+doa); err != nil || e.State != licensing.EffectClaimed {
		t.Fatalf("DOA's reminder after the crash: %+v, %v; want claimed", e, err)
	}

	r.mailer = r.sent
	r.advance(time.Minute)
	res := r.run()
	if diff := cmp.Diff(rest, rnKeys(res.Sent)); diff != "" {
		t.Errorf("retry within the lease: sent (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{det}, rnKeys(res.AlreadySent)); diff != "" {
		t.Errorf("retry within the lease: already sent (-want +got):\n%s", diff)
	}
	if len(res.Unconfirmed) != 0 || !strings.Contains(strings.Join(res.Notes, "; "), "mail:"+doa+" is being sent by another run") {
		t.Errorf("retry within the lease: unconfirmed %v, notes %v; want DOA's noted as being sent", rnKeys(res.Unconfirmed), res.Notes)
	}

	r.advance(licensing.DefaultEffectLease)
	for i, label := range []string{"rerun past the lease", "another rerun that day"} {
		res = r.run()
		if len(res.Sent) != 0 {
			t.Errorf("%s sent %v", label, rnKeys(res.Sent))
		}
		if diff := cmp.Diff([]string{doa}, rnKeys(res.Unconfirmed)); diff != "" {
			t.Errorf("%s: unconfirmed (-want +got):\n%s", label, diff)
		}
		if diff := cmp.Diff(append([]string{det}, rest...), rnKeys(res.AlreadySent)); diff != "" {
			t.Errorf("%s: already sent (-want +got):\n%s", label, diff)
		}
		if i == 0 {
			r.advance(3 * time.Hour)
		}
	}
	if e, err := r.tables.GetEffect(context.Background(), "mail:"+doa); err != nil || e.State != licensing.EffectUnconfirmed {
		t.Errorf("DOA's reminder: %+v, %v; want unconfirmed", e, err)
	}
	var text bytes.Buffer
	if err := res.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(strings.Split(text.String(), "\n"), func(l string) bool {
		return strings.HasPrefix(strings.Join(strings.Fields(l), " "), "unconfirmed purchase "+doa+" "+rnDOA)
	}) {
		t.Errorf("the result's text does not list DOA's reminder as unconfirmed:\n%s", text.String())
	}

	want := map[string]int{det: 1, doa: 1, rest[0]: 1, rest[1]: 1}
	if diff := cmp.Diff(want, r.sent.counts()); diff != "" {
		t.Errorf("written (-want +got):\n%s", diff)
	}
	mails := readOutbox(t, r.blobs)
	if len(mails) != len(want) {
		t.Errorf("outbox holds %d messages; want %d", len(mails), len(want))
	}
	checkText(t, mails, doa, []string{"sent late"}, nil)
	t.Logf("took %s", time.Since(started).Round(time.Millisecond))
}

// envLookup reads a setting from an environment list, the last entry
// winning as in a process's environment.
func envLookup(env []string) func(string) (string, bool) {
	return func(key string) (string, bool) {
		for i := len(env) - 1; i >= 0; i-- {
			if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
				return v, true
			}
		}
		return "", false
	}
}

// trueUpOrder is the order of a true-up worksheet as GET /api/true-up
// answers it.
type trueUpOrder struct {
	Window struct {
		Opens, Closes, State string
	} `json:"window"`
	Current     int    `json:"current"`
	CurrentFrom string `json:"currentFrom"`
	Increment   int    `json:"increment"`
	Order       []struct {
		Product  string `json:"product"`
		Quantity int    `json:"quantity"`
		Kind     string `json:"kind"`
	} `json:"order"`
	Agencies []struct {
		Agency string `json:"agency"`
		Peak   int    `json:"peak"`
		Share  int    `json:"share"`
	} `json:"agencies"`
	Uncovered []struct {
		Agency string `json:"agency"`
		Short  int    `json:"short"`
	} `json:"uncovered"`
}

// workbookOrder reads the order lines (product, quantity, kind) of the
// True-up sheet of a true-up workbook.
func workbookOrder(t *testing.T, content []byte) []string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(content))
	if err != nil {
		t.Fatalf("the workbook does not open: %v", err)
	}
	defer f.Close()
	rows, err := f.GetRows("True-up")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in := false
	for _, row := range rows {
		switch {
		case len(row) > 0 && row[0] == "Order due in the window":
			in = true
		case len(row) > 0 && row[0] == "After the anniversary":
			in = false
		case in && len(row) >= 3 && row[0] != "Product":
			out = append(out, strings.Join(row[:3], " "))
		}
	}
	return out
}

// TestRenewalRemindersTimerThroughHost runs the handler under the host
// harness: an enrollment PUT through /api/enrollments whose true-up window
// opens today, and a usage snapshot taken by `handler run snapshot` from the
// fake tenant. The RenewalReminders timer fires twice: one window mail in
// the outbox, with the workbook attached and the order in it. Then
// GET /api/true-up/{number} answers the same order, and format=xlsx a link
// that downloads the workbook.
func TestRenewalRemindersTimerThroughHost(t *testing.T) {
	started := time.Now()
	r := newWorkflowRig(t)
	ctx := context.Background()
	// Seven licensed users: six of DOA, one no agency's rule matches.
	for n := 1; n <= 7; n++ {
		dept := "Administration"
		if n == 7 {
			dept = "Parks"
		}
		r.tenant.PutUser(graphfake.User{ID: fmt.Sprintf("0000000%d-bbbb-4ccc-8ddd-%012d", n, n), UserPrincipalName: fmt.Sprintf("user%d@state.example.gov", n),
			Department: dept, AccountEnabled: true, UsageLocation: "US", Created: time.Now().AddDate(-1, 0, 0),
			Licenses: []graphfake.LicenseState{{SkuID: skuVisio}}})
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"run", "snapshot"}, envLookup(r.env), &out, &errOut); code != 0 {
		t.Fatalf("handler run snapshot: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}

	today := licensing.DateOf(time.Now(), renewalZone)
	anniversary := today.AddDays(licensing.WindowOpensDays)
	const number = "EA-7654321"
	enrollment, _ := json.Marshal(map[string]any{
		"anniversary": anniversary.String(), "kind": "enterprise", "lastReported": 2,
		"platformProducts": []map[string]any{
			{"name": "Office Professional Plus", "coveredBy": []string{"Office 365 E3"}},
			{"name": "Core CAL", "coveredBy": []string{"Office 365 E3"}, "bridge": "Core CAL Bridge for Office 365"},
		},
		"reservations": []map[string]any{{"service": "Office 365 E3", "quantity": 3, "date": today.AddDays(-20).String()}},
	})
	if st, body := r.call(http.MethodPut, "/api/enrollments/"+number, testAdmin, "application/json", enrollment); st != http.StatusCreated {
		t.Fatalf("PUT enrollment: %d %s", st, body)
	}

	for i := 0; i < 2; i++ {
		inv, err := r.host.Load().FireTimer(ctx, "RenewalReminders", false)
		if err != nil || !inv.Succeeded {
			t.Fatalf("timer %d: %v %+v", i+1, err, inv)
		}
	}
	wantOrder := []string{
		"Office Professional Plus 2 increment",
		"Core CAL 2 increment",
		"Office 365 E3 3 reservation",
		"Core CAL Bridge for Office 365 3 bridge",
	}
	mails := readOutbox(t, r.blobs)
	id := "true-up." + number + "." + anniversary.String() + ".opens"
	if len(mails) != 1 {
		t.Fatalf("outbox holds %d messages; want the one window mail %s", len(mails), id)
	}
	m, ok := mails[id]
	if !ok {
		t.Fatalf("outbox holds %v; want %s", mails, id)
	}
	if got := m.addresses("To"); len(got) != 1 || got[0] != "licensing@central-it.example.gov" {
		t.Errorf("window mail to %v", got)
	}
	checkText(t, mails, id, []string{
		fmt.Sprintf("The true-up window of enrollment %s (an Enterprise Agreement true-up) is open from %s to %s", number, today, today.AddDays(30)),
		"qualified count 7 (peak), last reported 2, increment 5.",
		"The worksheet is attached (true-up-" + number + "-" + today.String() + ".xlsx).",
	}, []string{"late"})
	attached, ok := m.attachments["true-up-"+number+"-"+today.String()+".xlsx"]
	if !ok {
		t.Fatalf("window mail attachments: %d, none named for the day", len(m.attachments))
	}
	if diff := cmp.Diff(wantOrder, workbookOrder(t, attached)); diff != "" {
		t.Errorf("attached workbook's order (-want +got):\n%s", diff)
	}
	runs, err := r.tables.ListRuns(ctx, licensing.RunFilter{Function: renewals.Function})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, run := range runs {
		msgs = append(msgs, run.Outcome+": "+run.Message)
	}
	sort.Strings(msgs)
	want := []string{
		licensing.RunSucceeded + ": reminders of " + today.String() + ": 0 sent, 1 already sent, 0 unconfirmed",
		licensing.RunSucceeded + ": reminders of " + today.String() + ": 1 sent, 0 already sent, 0 unconfirmed",
	}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("run records (-want +got):\n%s", diff)
	}

	st, body := r.call(http.MethodGet, "/api/true-up/"+number, testAdmin, "", nil)
	if st != http.StatusOK {
		t.Fatalf("GET true-up: %d %s", st, body)
	}
	var ws trueUpOrder
	if err := json.Unmarshal(body, &ws); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, l := range ws.Order {
		order = append(order, fmt.Sprintf("%s %d %s", l.Product, l.Quantity, l.Kind))
	}
	if diff := cmp.Diff(wantOrder, order); diff != "" {
		t.Errorf("GET true-up order (-want +got):\n%s", diff)
	}
	if ws.Window.State != licensing.WindowOpen || ws.Window.Opens != today.String() || ws.Current != 7 || ws.CurrentFrom != licensing.CurrentPeak || ws.Increment != 5 {
		t.Errorf("GET true-up: window %+v, current %d (%s), increment %d", ws.Window, ws.Current, ws.CurrentFrom, ws.Increment)
	}
	split := map[string][2]int{}
	for _, a := range ws.Agencies {
		split[a.Agency] = [2]int{a.Peak, a.Share}
	}
	if diff := cmp.Diff(map[string][2]int{"DOA": {6, 4}, licensing.Unattributed: {1, 1}}, split); diff != "" {
		t.Errorf("agency split: peak, share (-want +got):\n%s", diff)
	}
	if len(ws.Uncovered) != 1 || ws.Uncovered[0].Agency != "DOA" || ws.Uncovered[0].Short != 6 {
		t.Errorf("uncovered = %+v; want DOA short by 6 (no purchase)", ws.Uncovered)
	}

	st, body = r.call(http.MethodGet, "/api/true-up/"+number+"?format=xlsx", testAdmin, "", nil)
	var link struct{ URL, FileName string }
	if st != http.StatusOK || json.Unmarshal(body, &link) != nil || link.URL == "" {
		t.Fatalf("GET true-up xlsx: %d %s", st, body)
	}
	if link.FileName != "true-up-"+number+"-"+today.String()+".xlsx" {
		t.Errorf("file name = %q", link.FileName)
	}
	resp, err := http.Get(link.URL)
	if err != nil {
		t.Fatal(err)
	}
	downloaded, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("download: %d %v", resp.StatusCode, err)
	}
	if diff := cmp.Diff(wantOrder, workbookOrder(t, downloaded)); diff != "" {
		t.Errorf("downloaded workbook's order (-want +got):\n%s", diff)
	}
	t.Logf("took %s", time.Since(started).Round(time.Millisecond))
}
