package usage

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// PayrollRun runs the payroll report as a job and records the run. With a
// work queue (Config.Work) it holds the run's lease only to take the
// snapshot and send the start piece, and returns: the pieces deliver the
// reports and record the run's progress and end. Without one it runs the
// pieces in this process before returning. With
// date zero it decides from the calendar (the weekly timer: a run on a
// Monday that is not a payroll Monday is recorded as skipped); with a date
// it reports that date (an admin re-running a missed one), which must be a
// payroll Monday unless opts.Force: a date off the calendar is refused as
// Invalid before anything is read, written or mailed.
func (s *Service) PayrollRun(ctx context.Context, trigger string, date licensing.Date, pastDue bool, opts PayrollOptions, log *slog.Logger) (ReportResult, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !date.IsZero() && !opts.Force {
		if err := s.checkPayrollDate(date); err != nil {
			return ReportResult{Date: date}, err
		}
	}
	run := s.cfg.Runs.Start(ctx, "PayrollReport", trigger, log)
	if date.IsZero() {
		d, due, why := s.cfg.Reporting.Calendar.Due(s.now(), pastDue)
		log.Info(why)
		if !due {
			run.Finish(ctx, nil, true, why)
			return ReportResult{Date: d}, nil
		}
		date = d
	}
	release, busy, err := s.cfg.Effects.HoldRun(ctx, "run:PayrollReport:"+date.String(), log)
	if err != nil || busy != "" {
		run.Finish(ctx, err, true, busy)
		return ReportResult{Date: date, Notes: notes(busy)}, err
	}
	if s.cfg.Work != nil {
		// The run goes on in its pieces, which record its progress and
		// its end on run; the lease only keeps two starts apart.
		res := ReportResult{Run: payrollRunName(date), Date: date}
		err := s.startPayroll(ctx, s.cfg.Work, run, date, opts, &res, log)
		release()
		if err != nil {
			run.Finish(ctx, err, false, "")
			return res, err
		}
		run.Progress(ctx, fmt.Sprintf("payroll %s: snapshot %s; planning the agencies' reports", date, res.Snapshot))
		log.Info("payroll run started", "date", date.String(), "snapshot", res.Snapshot)
		return res, nil
	}
	defer release()
	res, err := s.payrollHere(ctx, run, date, opts, log)
	run.Add("agencies reported", res.Agencies)
	run.Add("files written", res.Written)
	run.Add("mails sent", res.Mailed)
	run.Add("already delivered", res.Skipped)
	run.Add("over-consuming agencies", res.Over)
	run.Add("unconfirmed", len(res.Unconfirmed))
	run.Finish(ctx, err, false, "payroll Monday "+date.String()+noteText(res.Notes))
	return res, err
}

// AuditRun runs the usage audit as a job and records the run.
func (s *Service) AuditRun(ctx context.Context, trigger string, log *slog.Logger) (AuditResult, error) {
	run := s.cfg.Runs.Start(ctx, "UsageAudit", trigger, log)
	month := licensing.DateOf(s.now(), s.cfg.Reporting.Calendar.Location).Time().Format("2006-01")
	release, busy, err := s.cfg.Effects.HoldRun(ctx, "run:UsageAudit:"+month, log)
	if err != nil || busy != "" {
		run.Finish(ctx, err, true, busy)
		return AuditResult{Notes: notes(busy)}, err
	}
	defer release()
	res, err := s.UsageAudit(ctx, log)
	over := map[string]bool{}
	for _, o := range res.Over {
		over[o.Agency] = true
	}
	run.Add("over-consuming agencies", len(over))
	run.Add("over products", len(res.Over))
	run.Add("mails sent", res.Mailed)
	run.Finish(ctx, err, false, strings.Join(res.Notes, "; "))
	return res, err
}

// notes returns note as a list, empty when note is.
func notes(note string) []string {
	if note == "" {
		return nil
	}
	return []string{note}
}

// checkPayrollDate refuses a date that is not a payroll Monday, naming the
// payroll Mondays around it.
func (s *Service) checkPayrollDate(date licensing.Date) error {
	cal := s.cfg.Reporting.Calendar
	if cal.IsPayrollDay(date) {
		return nil
	}
	msg := fmt.Sprintf("%s is not a payroll Monday.", date)
	if cal.IntervalDays > 0 {
		back := ((cal.Anchor.DaysUntil(date) % cal.IntervalDays) + cal.IntervalDays) % cal.IntervalDays
		prev := date.AddDays(-back)
		msg = fmt.Sprintf("%s is not a payroll Monday: the payroll Mondays around it are %s and %s.", date, prev, prev.AddDays(cal.IntervalDays))
	}
	return &licensing.Error{Op: "reports.payrollRun", Code: licensing.Invalid, Message: msg,
		Fields: []licensing.FieldError{{Field: "date", Message: "must be a payroll Monday unless the run is forced"}}}
}

func noteText(notes []string) string {
	if len(notes) == 0 {
		return ""
	}
	return "; " + strings.Join(notes, "; ")
}

// SnapshotSummary is what a snapshot run reports to the administrator who
// started it: the snapshot, what it cost in Graph requests and time, and per
// tenant SKU what is prepaid, consumed and attributed to agencies.
type SnapshotSummary struct {
	Snapshot licensing.Snapshot
	// Requests counts every Graph request of the run, when the directory
	// counts them (else only the requests that read users).
	Requests int
	Took     time.Duration
	// CatalogSource says where the product names came from.
	CatalogSource string
	// Products are the tenant's SKUs, most consumed first.
	Products []SnapshotProduct
}

// SnapshotProduct is one tenant SKU in a SnapshotSummary.
type SnapshotProduct struct {
	Name, PartNumber              string
	Prepaid, Consumed, Attributed int
}

// requestCounter is a Directory that counts the requests it sends.
type requestCounter interface{ Requests() int }

// SnapshotRun takes a snapshot as a job, records the run and summarizes it.
func (s *Service) SnapshotRun(ctx context.Context, trigger string, opts SnapshotOptions, log *slog.Logger) (SnapshotSummary, error) {
	return s.snapshotRun(ctx, trigger, opts, func(ctx context.Context, _ *licensing.RunRecorder) (licensing.Snapshot, error) {
		return s.TakeSnapshot(ctx, opts, log)
	}, log)
}

// snapshotRun records the run of take, which publishes a snapshot (and may
// record its progress on the run), and summarizes it.
func (s *Service) snapshotRun(ctx context.Context, trigger string, opts SnapshotOptions, take func(context.Context, *licensing.RunRecorder) (licensing.Snapshot, error), log *slog.Logger) (SnapshotSummary, error) {
	run := s.cfg.Runs.Start(ctx, "snapshot", trigger, log)
	counter, counts := s.cfg.Directory.(requestCounter)
	before := 0
	if counts {
		before = counter.Requests()
	}
	started := time.Now()
	snap, err := take(ctx, run)
	sum := SnapshotSummary{Snapshot: snap, Requests: snap.Requests, Took: time.Since(started)}
	if counts {
		sum.Requests = counter.Requests() - before
	}
	if err == nil {
		run.Add("users", snap.Users)
		run.Add("licensed users", snap.LicensedUsers)
		run.Add("unattributed", snap.Unattributed)
		run.Add("conflicts", snap.Conflicts)
		run.Add("graph requests", sum.Requests)
	}
	message := ""
	if err == nil && opts.SignIn {
		message = signInNote(snap)
	}
	run.Finish(ctx, err, false, message)
	if err != nil {
		return sum, err
	}
	catalog, where, err := s.cfg.Catalog.Refresh(ctx)
	if err != nil {
		return sum, err
	}
	sum.CatalogSource = where
	usage, err := s.cfg.Snapshots.SnapshotUsage(ctx, snap.ID)
	if err != nil {
		return sum, err
	}
	attributed := map[string]int{}
	for _, u := range usage {
		if u.Agency != licensing.Unattributed && u.Agency != licensing.Conflicted {
			attributed[u.SkuID] += u.Users
		}
	}
	tenant := append([]licensing.TenantSku(nil), snap.Tenant...)
	sort.SliceStable(tenant, func(i, j int) bool { return tenant[i].Consumed > tenant[j].Consumed })
	for _, t := range tenant {
		p := catalog.Product(t.SkuID, t.PartNumber)
		sum.Products = append(sum.Products, SnapshotProduct{Name: p.Name, PartNumber: t.PartNumber, Prepaid: t.Enabled, Consumed: t.Consumed, Attributed: attributed[t.SkuID]})
	}
	return sum, nil
}

// WriteText prints the summary as the command line and the demo show it.
func (sum SnapshotSummary) WriteText(out io.Writer) error {
	snap := sum.Snapshot
	kind := "full read"
	if !snap.Full {
		kind = fmt.Sprintf("incremental: %d changes merged into %s", snap.Changes, snap.Base)
	}
	signIn := "read"
	if !snap.SignInAvailable {
		signIn = "not read"
	}
	fmt.Fprintf(out, "snapshot %s published (%s)\n", snap.ID, kind)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  users read\t%d (%d licensed)\n", snap.Users, snap.LicensedUsers)
	fmt.Fprintf(tw, "  Graph requests\t%d (%d to read users)\n", sum.Requests, snap.Requests)
	fmt.Fprintf(tw, "  agencies\t%d\n", snap.Agencies)
	fmt.Fprintf(tw, "  unattributed\t%d licensed users match no agency\n", snap.Unattributed)
	fmt.Fprintf(tw, "  conflicts\t%d licensed users match several agencies\n", snap.Conflicts)
	fmt.Fprintf(tw, "  last sign-in\t%s\n", signIn)
	fmt.Fprintf(tw, "  duration\t%s\n", sum.Took.Round(time.Millisecond))
	tw.Flush()
	for _, n := range snap.Notes {
		fmt.Fprintf(out, "  note: %s\n", n)
	}
	fmt.Fprintf(out, "\n  %s\n", sum.CatalogSource)
	tw = tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  PRODUCT\tPART NUMBER\tPREPAID\tCONSUMED\tATTRIBUTED")
	for _, p := range sum.Products {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\n", p.Name, p.PartNumber, p.Prepaid, p.Consumed, p.Attributed)
	}
	return tw.Flush()
}
