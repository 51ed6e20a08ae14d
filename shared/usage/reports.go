package usage

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Reporting tunes the reports.
type Reporting struct {
	// Calendar decides the payroll Mondays.
	Calendar licensing.PayrollCalendar
	// InactiveDays without a sign-in make a licensed user a candidate to
	// reclaim (when sign-ins are known).
	InactiveDays int
}

// enterpriseKey is the delivery key of central IT's summary.
const enterpriseKey = "enterprise-summary"

// ReportResult says what a report run did.
type ReportResult struct {
	Run      string         `json:"run"`
	Date     licensing.Date `json:"date"`
	Snapshot string         `json:"snapshot"`
	Agencies int            `json:"agencies"`
	Written  int            `json:"filesWritten"`
	Mailed   int            `json:"mailsSent"`
	Skipped  int            `json:"alreadyDelivered"`
	Over     int            `json:"overConsumingAgencies"`
	Files    []string       `json:"files"`
	// Unconfirmed lists deliveries a previous run was sending when it
	// stopped: they may or may not have gone, and are not sent again.
	Unconfirmed []string `json:"unconfirmed,omitempty"`
	Notes       []string `json:"notes,omitempty"`
}

// PayrollOptions tunes a payroll run.
type PayrollOptions struct {
	// Resend sends these agencies' reports (or enterprise-summary) again
	// even when they were delivered: an admin's explicit choice.
	Resend []string
	// Force lets PayrollRun report a date that is not a payroll Monday.
	Force bool
}

// PayrollReport produces the payroll-Monday reports of date in this
// process: a fresh snapshot (kept for the run, so a resumed run reports the
// same numbers), one workbook per agency and the enterprise summary, mailed
// to the agencies' contacts and to central IT. It runs the same pieces as a
// run split over the work queue (the plan, one piece per agency, the
// summary once every agency finished), localParallel at once, each retried
// once; an agency whose retry fails too is recorded failed and named in the
// summary. Every delivery is recorded, so a rerun finishes the rest and
// mails nobody twice. It returns the first error of a piece that failed.
func (s *Service) PayrollReport(ctx context.Context, date licensing.Date, opts PayrollOptions, log *slog.Logger) (ReportResult, error) {
	const op = "reports.payroll"
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if s.cfg.Reports == nil || s.cfg.Deliveries == nil {
		return ReportResult{}, licensing.Errorf(op, licensing.Internal, "Reports are not configured.")
	}
	return s.payrollHere(ctx, nil, date, opts, log)
}

// payrollHere runs the payroll of date through a queue in this process,
// recording its progress on rec when not nil.
func (s *Service) payrollHere(ctx context.Context, rec *licensing.RunRecorder, date licensing.Date, opts PayrollOptions, log *slog.Logger) (ReportResult, error) {
	res := ReportResult{Run: payrollRunName(date), Date: date}
	q := &licensing.LocalQueue{}
	if err := s.startPayroll(ctx, q, rec, date, opts, &res, log); err != nil {
		return res, err
	}
	err := s.drain(ctx, q, localParallel, &res, log)
	log.Info("payroll reports", "date", date.String(), "agencies", res.Agencies, "written", res.Written, "mailed", res.Mailed,
		"alreadyDelivered", res.Skipped, "over", res.Over, "unconfirmed", len(res.Unconfirmed))
	return res, err
}

// startReportRun reads what a report run (payroll or audit) starts from:
// what it delivered already, its snapshot (kept across attempts), and the
// numbers on date.
func (s *Service) startReportRun(ctx context.Context, run string, date licensing.Date, log *slog.Logger) (map[string]licensing.Delivery, licensing.Snapshot, *reportData, error) {
	done, err := s.deliveries(ctx, run)
	if err != nil {
		return nil, licensing.Snapshot{}, nil, err
	}
	snap, err := s.runSnapshot(ctx, run, done, log)
	if err != nil {
		return nil, licensing.Snapshot{}, nil, err
	}
	rd, err := s.reportData(ctx, snap, date)
	return done, snap, rd, err
}

// deliveries returns a run's delivery records by key.
func (s *Service) deliveries(ctx context.Context, run string) (map[string]licensing.Delivery, error) {
	list, err := s.cfg.Deliveries.ListDeliveries(ctx, run)
	if err != nil {
		return nil, err
	}
	out := map[string]licensing.Delivery{}
	for _, d := range list {
		out[d.Key] = d
	}
	return out, nil
}

// snapshotKey records which snapshot a run reports on.
const snapshotKey = "snapshot"

// runSnapshot returns the run's snapshot: the one a previous attempt took,
// or a fresh one, read with sign-in activity so that inactive users can be
// flagged (a full read; the directory carries on without sign-ins when the
// tenant does not offer them, and the snapshot says why).
func (s *Service) runSnapshot(ctx context.Context, run string, done map[string]licensing.Delivery, log *slog.Logger) (licensing.Snapshot, error) {
	if d, ok := done[snapshotKey]; ok {
		snap, err := s.cfg.Snapshots.GetSnapshot(ctx, d.File)
		if err == nil {
			log.Info("resuming with the run's snapshot", "snapshot", snap.ID)
			return snap, nil
		}
		if licensing.ErrorCode(err) != licensing.NotFound {
			return licensing.Snapshot{}, err
		}
	}
	snap, err := s.TakeSnapshot(ctx, SnapshotOptions{SignIn: true}, log)
	if err != nil {
		return licensing.Snapshot{}, err
	}
	err = s.cfg.Deliveries.PutDelivery(ctx, licensing.Delivery{Run: run, Key: snapshotKey, State: "taken", File: snap.ID, At: s.now().UTC()})
	return snap, err
}

// needsDelivery decides whether a report goes out now, counting what it
// skips.
func (s *Service) needsDelivery(d licensing.Delivery, resend bool, res *ReportResult) bool {
	switch {
	case resend:
		return true
	case d.State == licensing.DeliveryMailed:
		res.Skipped++
		return false
	case d.State == licensing.DeliveryMailing || d.State == licensing.DeliveryUnconfirmed:
		res.unconfirmed(d.Key)
		return false
	}
	return true
}

// deliver writes a report file (unless a previous attempt did) and mails
// it. The delivery record moves written → mailing → mailed; mailing is
// recorded before the mail goes, so a crash can lose a mail but never send
// one twice.
func (s *Service) deliver(ctx context.Context, run, key, file string, prev licensing.Delivery, res *ReportResult,
	write func(io.Writer) error, mail func() licensing.MailMessage, log *slog.Logger) error {
	d := licensing.Delivery{Run: run, Key: key, File: file, Size: prev.Size}
	resend := prev.State == licensing.DeliveryMailed || prev.State == licensing.DeliveryMailing || prev.State == licensing.DeliveryUnconfirmed
	if prev.State == "" || prev.File != file || resend {
		w, err := s.cfg.Files.Create(ctx, file, xlsxType)
		if err != nil {
			return err
		}
		cw := &countingWriter{w: w}
		if err := write(cw); err != nil {
			w.Abort(err)
			return licensing.Wrap("reports.write", licensing.Internal, "The report could not be written.", err)
		}
		if err := w.Close(); err != nil {
			return err
		}
		res.Written++
		d.State, d.At, d.Size = licensing.DeliveryWritten, s.now().UTC(), cw.n
		if err := s.cfg.Deliveries.PutDelivery(ctx, d); err != nil {
			return err
		}
	}
	res.Files = append(res.Files, file)
	m := mail()
	m.ID = run + "." + key
	m.Date = s.now().UTC()
	m.Attachments = append(m.Attachments, licensing.Attachment{Name: attachmentName(run, key), ContentType: xlsxType, Size: d.Size,
		Open: func(ctx context.Context) (io.ReadCloser, error) { return s.cfg.Files.Open(ctx, file) }})
	if len(m.To) == 0 {
		return licensing.Errorf("reports.mail", licensing.Invalid, "%s has no one to send its report to; add contacts.", key)
	}
	outcome, err := s.mailOnce(ctx, &d, m, resend)
	s.count(res, outcome, key)
	if err != nil {
		return err
	}
	log.Info("report delivered", "report", key, "to", strings.Join(m.To, ","), "outcome", outcome)
	return nil
}

// count adds a mail's outcome to res.
func (s *Service) count(res *ReportResult, outcome licensing.EffectOutcome, key string) {
	if tally(outcome, &res.Mailed, &res.Skipped) {
		res.unconfirmed(key)
	}
}

// tally counts a mail's outcome as sent or already sent, and reports
// whether it is unconfirmed.
func tally(outcome licensing.EffectOutcome, mailed, skipped *int) (unconfirmed bool) {
	switch outcome {
	case licensing.Performed:
		*mailed++
	case licensing.AlreadyDone:
		*skipped++
	}
	return outcome == licensing.Unconfirmed
}

// unconfirmed records that key's mail may or may not have gone.
func (res *ReportResult) unconfirmed(key string) {
	res.Unconfirmed = append(res.Unconfirmed, key)
	res.Notes = append(res.Notes, fmt.Sprintf("%s: the sending was cut short and the mail may not have gone; check the sender's Sent Items and resend it (--resend %s) if it did not", key, key))
}

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

func attachmentName(run, key string) string {
	return fmt.Sprintf("licenses-%s-%s.xlsx", strings.TrimPrefix(run, "payroll-"), key)
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// mailOnce sends m once, as an effect keyed by its id (a resend asked for
// by an administrator gets a key of its own), and records the outcome on
// d: mailed; unconfirmed when the sending was cut short and the mail may or
// may not have gone (it is not sent again); or back to written when it
// surely did not go, so that a later run tries again.
func (s *Service) mailOnce(ctx context.Context, d *licensing.Delivery, m licensing.MailMessage, resend bool) (licensing.EffectOutcome, error) {
	key := "mail:" + m.ID
	if resend {
		key += ":resend-" + s.now().UTC().Format("20060102T150405.000")
	}
	d.To = m.To
	outcome, err := s.cfg.Effects.Once(ctx, key, nil, func(ctx context.Context) error { return s.cfg.Mailer.Send(ctx, m) })
	switch {
	case outcome == "":
		d.State, d.Detail = licensing.DeliveryWritten, licensing.ErrorMessage(err)
	case outcome == licensing.Unconfirmed:
		d.State, d.Detail = licensing.DeliveryUnconfirmed, "the sending was cut short; the mail may not have gone and is not sent again"
	default:
		d.State, d.Detail = licensing.DeliveryMailed, ""
	}
	d.At = s.now().UTC()
	if perr := s.cfg.Deliveries.PutDelivery(ctx, *d); perr != nil && err == nil {
		err = perr
	}
	return outcome, err
}

// reportData is what every report of one run reads.
type reportData struct {
	agencies []licensing.Agency
	catalog  licensing.Catalog
	usage    map[string]map[string]licensing.Usage // agency → SKU → usage
	ents     map[string]map[string]int             // agency → SKU → entitlement
	lines    []licensing.Purchase
	tenant   []licensing.TenantSku
	terms    licensing.Terms
	inactive map[string]map[string]int // agency → SKU → inactive users holding it
	users    map[string]int            // agency → licensed users
}

func (s *Service) reportData(ctx context.Context, snap licensing.Snapshot, date licensing.Date) (*reportData, error) {
	agencies, err := s.cfg.Agencies.ListAgencies(ctx)
	if err != nil {
		return nil, err
	}
	rd := &reportData{agencies: agencies, usage: map[string]map[string]licensing.Usage{}, ents: map[string]map[string]int{},
		tenant: snap.Tenant, terms: s.cfg.Terms, inactive: map[string]map[string]int{}, users: map[string]int{}}
	if rd.catalog, err = s.catalog(ctx); err != nil {
		return nil, err
	}
	usage, err := s.cfg.Snapshots.SnapshotUsage(ctx, snap.ID)
	if err != nil {
		return nil, err
	}
	for _, u := range usage {
		if rd.usage[u.Agency] == nil {
			rd.usage[u.Agency] = map[string]licensing.Usage{}
		}
		rd.usage[u.Agency][u.SkuID] = u
	}
	if rd.lines, err = s.cfg.Purchases.ListPurchases(ctx, licensing.PurchaseFilter{}); err != nil {
		return nil, err
	}
	for _, e := range licensing.EntitlementsOn(rd.lines, date, s.cfg.Terms) {
		if rd.ents[e.Agency] == nil {
			rd.ents[e.Agency] = map[string]int{}
		}
		rd.ents[e.Agency][e.SkuID] = e.Quantity
	}
	return rd, nil
}

// catalog returns the SKU names, or an empty catalog that falls back to
// part numbers.
func (s *Service) catalog(ctx context.Context) (licensing.Catalog, error) {
	if s.cfg.Catalog == nil {
		return licensing.PartNumbers{}, nil
	}
	c, _, err := s.cfg.Catalog.Refresh(ctx)
	return c, err
}

// productOf names a SKU, using the tenant's part number when the catalog
// does not know it.
func (rd *reportData) productOf(skuID string) licensing.Product {
	part := ""
	for _, t := range rd.tenant {
		if t.SkuID == skuID {
			part = t.PartNumber
		}
	}
	return rd.catalog.Product(skuID, part)
}

// agencyReport assembles an agency's Summary and Purchases.
func (s *Service) agencyReport(a licensing.Agency, rd *reportData, snap licensing.Snapshot, date licensing.Date) licensing.AgencyReport {
	r := licensing.AgencyReport{Agency: a, Date: date, DataAsOf: snap.Taken, SnapshotID: snap.ID,
		InactiveDays: s.cfg.Reporting.InactiveDays, SignInKnown: snap.SignInAvailable, Users: rd.users[a.ID]}
	skus := map[string]bool{}
	for sku := range rd.usage[a.ID] {
		skus[sku] = true
	}
	for sku := range rd.ents[a.ID] {
		skus[sku] = true
	}
	for sku := range skus {
		u := rd.usage[a.ID][sku]
		p := rd.productOf(sku)
		line := licensing.ProductLine{SkuID: sku, PartNumber: p.PartNumber, Name: p.Name, Purchased: rd.ents[a.ID][sku], InUse: u.Users,
			Disabled: u.Disabled, Inactive: rd.inactive[a.ID][sku]}
		line.Tally()
		r.Products = append(r.Products, line)
	}
	setCosts(r.Products, rd.lines, a.ID, date, rd.terms)
	sort.Slice(r.Products, func(i, j int) bool { return r.Products[i].Name < r.Products[j].Name })
	for _, p := range licensing.CountedLines(rd.lines, a.ID, date, rd.terms) {
		prod := rd.productOf(p.SkuID)
		r.Purchases = append(r.Purchases, licensing.PurchaseLine{PONumber: p.PONumber, Reseller: p.Reseller, ProductName: prod.Name, PartNumber: prod.PartNumber,
			Quantity: p.Quantity, TermStart: p.TermStart, TermEnd: p.TermEnd, DaysToEnd: date.DaysUntil(p.TermEnd), InGrace: date.After(p.TermEnd),
			Imported: importedFrom(p), UnitPrice: p.UnitPrice, Currency: p.Currency})
	}
	sort.Slice(r.Purchases, func(i, j int) bool {
		if !r.Purchases[i].TermEnd.Equal(r.Purchases[j].TermEnd) {
			return r.Purchases[i].TermEnd.Before(r.Purchases[j].TermEnd)
		}
		return r.Purchases[i].PONumber < r.Purchases[j].PONumber
	})
	return r
}

// enterpriseSummary assembles central IT's summary.
func (s *Service) enterpriseSummary(rd *reportData, snap licensing.Snapshot, date licensing.Date) licensing.EnterpriseSummary {
	sum := licensing.EnterpriseSummary{Date: date, DataAsOf: snap.Taken, SnapshotID: snap.ID, Unattributed: snap.Unattributed, Conflicts: snap.Conflicts}
	purchased := map[string]int{}
	for _, a := range rd.agencies {
		r := s.agencyReport(a, rd, snap, date)
		for _, p := range r.Products {
			sum.Rows = append(sum.Rows, licensing.EnterpriseRow{Agency: a.ID, AgencyName: a.Name, ProductLine: p})
			purchased[p.SkuID] += p.Purchased
		}
	}
	for _, bucket := range buckets {
		for _, line := range rd.bucketLines(bucket) {
			sum.Rows = append(sum.Rows, licensing.EnterpriseRow{Agency: bucket, AgencyName: bucketName(bucket), ProductLine: line})
		}
	}
	for _, t := range rd.tenant {
		p := rd.productOf(t.SkuID)
		row := licensing.TenantCheckRow{SkuID: t.SkuID, PartNumber: t.PartNumber, Name: p.Name, Purchased: purchased[t.SkuID], Prepaid: t.Enabled, Consumed: t.Consumed}
		row.Difference = row.Prepaid - row.Purchased
		switch {
		case row.Difference > 0:
			row.Note = fmt.Sprintf("%d seats in the tenant are not recorded for any agency", row.Difference)
		case row.Difference < 0:
			row.Note = fmt.Sprintf("the agencies' purchases exceed the tenant's seats by %d: a recording error, or seats not activated yet", -row.Difference)
		}
		sum.Tenant = append(sum.Tenant, row)
		delete(purchased, t.SkuID)
	}
	for sku, n := range purchased {
		if n == 0 {
			continue
		}
		p := rd.productOf(sku)
		sum.Tenant = append(sum.Tenant, licensing.TenantCheckRow{SkuID: sku, PartNumber: p.PartNumber, Name: p.Name, Purchased: n, Difference: -n,
			Note: "bought by agencies but not in the tenant"})
	}
	sort.Slice(sum.Tenant, func(i, j int) bool { return sum.Tenant[i].Name < sum.Tenant[j].Name })
	return sum
}

// userSpool keeps each agency's licensed users in a temporary file, so that
// one pass over the snapshot feeds every report and memory does not grow
// with the number of users.
type userSpool struct {
	dir   string
	files map[string]string
}

// spoolUsers splits the snapshot's licensed users by agency (for the
// agencies in todo, and the unattributed and conflicting users when the
// summary is due), counting inactive users per agency and SKU on the way.
func (s *Service) spoolUsers(ctx context.Context, snap licensing.Snapshot, rd *reportData, todo []licensing.Agency, summary bool) (*userSpool, error) {
	dir, err := os.MkdirTemp("", "license-reports-")
	if err != nil {
		return nil, licensing.Wrap("reports.spool", licensing.Internal, "", err)
	}
	sp := &userSpool{dir: dir, files: map[string]string{}}
	want := map[string]bool{}
	for _, a := range todo {
		want[a.ID] = true
	}
	if summary {
		want[licensing.Unattributed], want[licensing.Conflicted] = true, true
	}
	writers := map[string]*bufio.Writer{}
	var open []*os.File
	closeAll := func() {
		for _, f := range open {
			f.Close()
		}
	}
	cutoff := time.Time{}
	if s.cfg.Reporting.InactiveDays > 0 {
		cutoff = snap.Taken.AddDate(0, 0, -s.cfg.Reporting.InactiveDays)
	}
	read := s.ReadSnapshotUsers
	if len(todo) == 1 && !summary {
		// One agency's piece reads only that agency's users (its own file
		// when the snapshot has one).
		read = func(ctx context.Context, snap licensing.Snapshot, fn func(licensing.SnapshotUser) error) error {
			return s.ReadAgencyUsers(ctx, snap, todo[0].ID, fn)
		}
	}
	err = read(ctx, snap, func(u licensing.SnapshotUser) error {
		if !u.Licensed() {
			return nil
		}
		line := s.userLine(u, rd, snap.SignInAvailable, cutoff)
		rd.users[u.Agency]++
		if line.Reclaim != "" && line.AccountEnabled {
			for _, l := range u.Licenses {
				if l.Error == "" {
					if rd.inactive[u.Agency] == nil {
						rd.inactive[u.Agency] = map[string]int{}
					}
					rd.inactive[u.Agency][l.SkuID]++
				}
			}
		}
		if !want[u.Agency] {
			return nil
		}
		w := writers[u.Agency]
		if w == nil {
			name := filepath.Join(dir, fmt.Sprintf("%d.jsonl", len(writers)))
			f, err := os.Create(name)
			if err != nil {
				return licensing.Wrap("reports.spool", licensing.Internal, "", err)
			}
			open = append(open, f)
			w = bufio.NewWriterSize(f, 32<<10)
			writers[u.Agency] = w
			sp.files[u.Agency] = name
		}
		b, err := json.Marshal(line)
		if err != nil {
			return licensing.Wrap("reports.spool", licensing.Internal, "", err)
		}
		w.Write(b)
		return w.WriteByte('\n')
	})
	for _, w := range writers {
		if ferr := w.Flush(); ferr != nil && err == nil {
			err = licensing.Wrap("reports.spool", licensing.Internal, "", ferr)
		}
	}
	closeAll()
	if err != nil {
		sp.close()
		return nil, err
	}
	return sp, nil
}

// userLine turns a snapshot user into a report row.
func (s *Service) userLine(u licensing.SnapshotUser, rd *reportData, signIn bool, cutoff time.Time) licensing.UserLine {
	line := licensing.UserLine{UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName, Agency: u.Agency, Matched: u.Matched,
		AccountEnabled: u.AccountEnabled, LastSignIn: u.LastSignIn}
	for _, l := range u.Licenses {
		if l.Error != "" {
			continue
		}
		p := rd.productOf(l.SkuID)
		line.Licenses = append(line.Licenses, licensing.UserLicenseLine{Name: p.Name, PartNumber: p.PartNumber, Direct: l.Direct, ByGroup: len(l.Groups) > 0})
	}
	switch {
	case !u.AccountEnabled:
		line.Reclaim = "account disabled"
	case signIn && u.LastSignIn == nil && !u.SignInUnknown:
		line.Reclaim = "never signed in"
	case signIn && !cutoff.IsZero() && u.LastSignIn != nil && u.LastSignIn.Before(cutoff):
		line.Reclaim = fmt.Sprintf("no sign-in for %d days", s.cfg.Reporting.InactiveDays)
	}
	return line
}

// source streams the spooled users of key.
func (sp *userSpool) source(key string) licensing.UserSource {
	return func(fn func(licensing.UserLine) error) error {
		name, ok := sp.files[key]
		if !ok {
			return nil
		}
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		dec := json.NewDecoder(bufio.NewReaderSize(f, 64<<10))
		for {
			var u licensing.UserLine
			if err := dec.Decode(&u); errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return err
			}
			if err := fn(u); err != nil {
				return err
			}
		}
	}
}

func (sp *userSpool) close() { os.RemoveAll(sp.dir) }

// agencyReportMail is the mail carrying an agency's report; signIn is the
// note saying sign-in activity is missing, or "".
func (s *Service) agencyReportMail(r licensing.AgencyReport, signIn string) licensing.MailMessage {
	var b strings.Builder
	fmt.Fprintf(&b, "License report for %s (%s), payroll Monday %s.\nData as of %s.\n\n", r.Agency.Name, r.Agency.ID, r.Date, s.mailTime(r.DataAsOf))
	b.WriteString(productTable(r.Products))
	if r.Over() {
		b.WriteString("\nYou use more licenses than you bought of the products marked Over: buy the difference, or reclaim\n" +
			"licenses from the users flagged on the Users sheet (disabled or inactive accounts).\n")
	}
	b.WriteString("\nThe attached workbook has the Summary, every licensed user, and the purchases in force.\n")
	if r.Provisioning != nil {
		b.WriteString("Its Provisioning sheet shows where the members of your delegated groups stand: who holds a seat, who waits.\n")
	}
	b.WriteString(s.agencyPageText(r.Agency.ID))
	b.WriteString(signInMailText(signIn))
	return licensing.MailMessage{To: r.Agency.Contacts, Subject: fmt.Sprintf("License report %s: %s", r.Date, r.Agency.ID), Text: b.String()}
}

// productTable lays out product lines as text for a mail.
func productTable(lines []licensing.ProductLine) string {
	if len(lines) == 0 {
		return "  No licenses are recorded or in use for the agency.\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  %-40s %9s %7s %9s  %s\n", "Product", "Purchased", "In use", "Available", "Status")
	for _, p := range lines {
		fmt.Fprintf(&b, "  %-40s %9d %7d %9d  %s\n", licensing.TruncateTo(p.Name, 40), p.Purchased, p.InUse, p.Available, p.Status)
	}
	return b.String()
}

// summaryMail is the mail carrying central IT's summary; signIn is the note
// saying sign-in activity is missing, or "".
func (s *Service) summaryMail(sum licensing.EnterpriseSummary, signIn string) licensing.MailMessage {
	over := map[string]bool{}
	for _, r := range sum.Rows {
		if r.Status == licensing.ProductOver && r.Agency != licensing.Unattributed && r.Agency != licensing.Conflicted {
			over[r.Agency] = true
		}
	}
	var agencies []string
	for a := range over {
		agencies = append(agencies, a)
	}
	sort.Strings(agencies)
	var diff []string
	for _, t := range sum.Tenant {
		if t.Difference != 0 {
			diff = append(diff, fmt.Sprintf("  %s: %s", t.Name, t.Note))
		}
	}
	text := fmt.Sprintf("Enterprise license summary, payroll Monday %s (data as of %s).\n\nAgencies using more than they bought: %s\n"+
		"Licensed users matching no agency: %d; matching several: %d.\n\nTenant check (the agencies' purchases against the tenant's seats):\n%s\n",
		sum.Date, s.mailTime(sum.DataAsOf), orNone(strings.Join(agencies, ", ")), sum.Unattributed, sum.Conflicts, orNone(strings.Join(diff, "\n"))) + s.overviewPageText() + signInMailText(signIn)
	return licensing.MailMessage{To: s.cfg.CentralIT, Subject: fmt.Sprintf("Enterprise license summary %s", sum.Date), Text: text}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
