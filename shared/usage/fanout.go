package usage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// The work kinds of a payroll run split into pieces: the start plans the
// run and sends one agency piece per agency still to deliver; each agency
// piece writes and mails that agency's workbook, and the one that finds
// every agency finished mails central IT's summary.
const (
	KindPayrollStart  = "payroll.start"
	KindPayrollAgency = "payroll.agency"
)

// Delivery keys a payroll run keeps beside its reports.
const (
	// planKey records the agencies the run reports on, fixed when it starts.
	planKey = "plan"
	// runKey names the run record that shows the run's progress.
	runKey = "run"
)

// deliveryFailed is the state of an agency's report whose last try failed:
// the run finishes without it, the summary names it, and a later run of the
// date tries it again.
const deliveryFailed = "failed"

// summaryLease is how long a piece writing a payroll run's summary holds
// it before another piece may take it over.
const summaryLease = 10 * time.Minute

// localParallel is how many pieces a run in one process handles at once.
const localParallel = 4

// payrollPiece is the message of a payroll work piece.
type payrollPiece struct {
	Kind   string `json:"kind"`
	Date   string `json:"date"`
	Agency string `json:"agency,omitempty"`
	// Resend lists, on the start, the reports an administrator asked to
	// mail again; on an agency piece, the agency's own when asked.
	Resend []string `json:"resend,omitempty"`
}

// payrollPlan is the detail of the plan row.
type payrollPlan struct {
	Agencies []string `json:"agencies"`
}

// runRef is the detail of the run row: the record the pieces update.
type runRef struct {
	ID       string    `json:"id"`
	Function string    `json:"function"`
	Trigger  string    `json:"trigger"`
	Started  time.Time `json:"started"`
}

// PayrollProgress is how far a payroll run got, from its delivery records.
type PayrollProgress struct {
	Date licensing.Date
	// Planned counts the agencies of the plan, once the run is planned
	// (Started).
	Planned int
	Started bool
	// Delivered counts the agencies whose report was mailed.
	Delivered int
	// Unconfirmed and Failed name the agencies whose mail may not have
	// gone, and those whose last try failed (with why).
	Unconfirmed []string
	Failed      []string
	// Summary is central IT's summary: pending, mailed or unconfirmed.
	Summary string
}

// Finished counts the agencies no piece works on any more.
func (p PayrollProgress) Finished() int { return p.Delivered + len(p.Unconfirmed) + len(p.Failed) }

// Complete tells whether every agency finished and the summary went.
func (p PayrollProgress) Complete() bool {
	return p.Started && p.Finished() >= p.Planned && p.Summary != summaryPending
}

const summaryPending = "pending"

// String says how far the run got, as the run record and the command line
// show it: "payroll 2026-11-30: 150 of 200 agencies delivered, summary
// pending".
func (p PayrollProgress) String() string {
	if !p.Started {
		return fmt.Sprintf("payroll %s: planning the agencies' reports", p.Date)
	}
	s := fmt.Sprintf("payroll %s: %d of %d agencies delivered", p.Date, p.Delivered, p.Planned)
	if len(p.Unconfirmed) > 0 {
		s += fmt.Sprintf(", %d unconfirmed (%s)", len(p.Unconfirmed), strings.Join(p.Unconfirmed, ", "))
	}
	if len(p.Failed) > 0 {
		s += fmt.Sprintf(", %d failed (%s)", len(p.Failed), strings.Join(p.Failed, ", "))
	}
	return s + ", summary " + p.Summary
}

// progressOf reads a run's progress from its delivery records.
func progressOf(date licensing.Date, done map[string]licensing.Delivery) PayrollProgress {
	p := PayrollProgress{Date: date, Summary: summaryPending}
	plan, ok := planOf(done)
	p.Planned, p.Started = len(plan.Agencies), ok
	for _, id := range plan.Agencies {
		switch d := done[id]; {
		case d.State == licensing.DeliveryMailed:
			p.Delivered++
		case delivered(d):
			p.Unconfirmed = append(p.Unconfirmed, id)
		case d.State == deliveryFailed:
			p.Failed = append(p.Failed, id)
		}
	}
	switch d := done[enterpriseKey]; {
	case d.State == licensing.DeliveryMailed:
		p.Summary = "mailed"
	case delivered(d):
		p.Summary = "unconfirmed"
	}
	return p
}

// delivered tells whether a report's mail went or may have gone.
func delivered(d licensing.Delivery) bool {
	return d.State == licensing.DeliveryMailed || d.State == licensing.DeliveryMailing || d.State == licensing.DeliveryUnconfirmed
}

func planOf(done map[string]licensing.Delivery) (payrollPlan, bool) {
	d, ok := done[planKey]
	var p payrollPlan
	if !ok || json.Unmarshal([]byte(d.Detail), &p) != nil {
		return payrollPlan{}, false
	}
	return p, true
}

func runRefOf(done map[string]licensing.Delivery) (runRef, bool) {
	d, ok := done[runKey]
	var r runRef
	if !ok || json.Unmarshal([]byte(d.Detail), &r) != nil || r.ID == "" {
		return runRef{}, false
	}
	return r, true
}

// PayrollProgress returns how far the payroll run of date got.
func (s *Service) PayrollProgress(ctx context.Context, date licensing.Date) (PayrollProgress, error) {
	done, err := s.deliveries(ctx, payrollRunName(date))
	if err != nil {
		return PayrollProgress{}, err
	}
	return progressOf(date, done), nil
}

// startPayroll begins the payroll run of date on q: it names rec as the
// record showing the run's progress (ending the record of an earlier
// start that did not finish), finds or takes the run's snapshot and sends
// the start piece.
func (s *Service) startPayroll(ctx context.Context, q licensing.WorkQueue, rec *licensing.RunRecorder, date licensing.Date, opts PayrollOptions, res *ReportResult, log *slog.Logger) error {
	run := payrollRunName(date)
	done, err := s.deliveries(ctx, run)
	if err != nil {
		return err
	}
	if rec != nil {
		if err := s.takeOverRunRecord(ctx, run, date, done, rec, log); err != nil {
			return err
		}
	}
	start := payrollPiece{Kind: KindPayrollStart, Date: date.String(), Resend: opts.Resend}
	if s.splitSnapshots(q) {
		if id, taken, err := s.startRunSnapshot(ctx, run, done, start, log); err != nil || !taken {
			res.Snapshot = id
			return err
		}
	}
	snap, err := s.runSnapshot(ctx, run, done, log)
	if err != nil {
		return err
	}
	res.Snapshot = snap.ID
	return s.sendPayrollPiece(ctx, q, start)
}

// splitSnapshots tells whether a run sending its pieces to q reads its
// snapshot as split work (StartSnapshot): with the service's own work
// queue and a job store; otherwise the snapshot is read in one go
// (TakeSnapshot).
func (s *Service) splitSnapshots(q licensing.WorkQueue) bool {
	return s.cfg.Split.Jobs != nil && q != nil && q == s.cfg.Work
}

// startRunSnapshot starts the run's snapshot as split work, with the start
// piece as the message sent once it is published, and records it as the
// run's snapshot. When the run already has a published snapshot it starts
// nothing and returns taken.
func (s *Service) startRunSnapshot(ctx context.Context, run string, done map[string]licensing.Delivery, start payrollPiece, log *slog.Logger) (id string, taken bool, err error) {
	if d, ok := done[snapshotKey]; ok {
		if _, err := s.cfg.Snapshots.GetSnapshot(ctx, d.File); err == nil {
			return d.File, true, nil
		} else if licensing.ErrorCode(err) != licensing.NotFound {
			return "", false, err
		}
		// Started and not published yet: a job still under way sends the
		// start itself when it publishes (its check re-sends what stalled),
		// so a second start of the run waits for it rather than reading
		// the tenant again. A job older than the checks' day is given up.
		job, _, err := s.cfg.Split.Jobs.GetSnapJob(ctx, d.File)
		if err == nil && job.State != licensing.SnapPublished && s.now().Sub(job.Started) < 24*time.Hour {
			log.Info("the run's snapshot is still being read; the run starts once it is published", "snapshot", job.ID)
			return job.ID, false, nil
		}
		if err != nil && licensing.ErrorCode(err) != licensing.NotFound {
			return "", false, err
		}
	}
	b, err := json.Marshal(start)
	if err != nil {
		return "", false, licensing.Wrap("reports.payrollStart", licensing.Internal, "", err)
	}
	// A queue in this process (a command-line run, the demo) runs every
	// piece itself and ignores delays: the job's check, due ten minutes
	// later, would come at once and send every segment again.
	_, local := s.cfg.Work.(*licensing.LocalQueue)
	job, err := s.StartSnapshot(ctx, StartOptions{Then: string(b), local: local}, log)
	if err != nil {
		return "", false, err
	}
	log.Info("the payroll run's snapshot is read as split work; the run starts once it is published", "snapshot", job.ID)
	err = s.cfg.Deliveries.PutDelivery(ctx, licensing.Delivery{Run: run, Key: snapshotKey, State: "started", File: job.ID, At: s.now().UTC()})
	return job.ID, false, err
}

// takeOverRunRecord makes rec the run's record; an earlier record of the
// date whose run did not finish ends as skipped, pointing to rec.
func (s *Service) takeOverRunRecord(ctx context.Context, run string, date licensing.Date, done map[string]licensing.Delivery, rec *licensing.RunRecorder, log *slog.Logger) error {
	r := rec.Run()
	if old, ok := runRefOf(done); ok && old.ID != r.ID && !progressOf(date, done).Complete() {
		s.cfg.Runs.Resume(licensing.Run{ID: old.ID, Function: old.Function, Trigger: old.Trigger, Started: old.Started}, log).
			Finish(ctx, nil, true, fmt.Sprintf("payroll %s continues in the run started %s", date, r.Started.Format(time.RFC3339)))
	}
	b, _ := json.Marshal(runRef{ID: r.ID, Function: r.Function, Trigger: r.Trigger, Started: r.Started})
	return s.cfg.Deliveries.PutDelivery(ctx, licensing.Delivery{Run: run, Key: runKey, State: "recording", Detail: string(b), At: s.now().UTC()})
}

func (s *Service) sendPayrollPiece(ctx context.Context, q licensing.WorkQueue, p payrollPiece) error {
	if q == nil {
		return licensing.Errorf("reports.payrollPiece", licensing.Internal, "No work queue is configured for the payroll run's pieces.")
	}
	b, err := json.Marshal(p)
	if err != nil {
		return licensing.Wrap("reports.payrollPiece", licensing.Internal, "", err)
	}
	return q.Send(ctx, string(b), 0)
}

// payrollWork handles one payroll piece; what it did adds to res. last is
// set on the piece's last try before the queue gives up on it.
func (s *Service) payrollWork(ctx context.Context, q licensing.WorkQueue, text string, last bool, res *ReportResult, log *slog.Logger) error {
	const op = "reports.payrollWork"
	var p payrollPiece
	if err := json.Unmarshal([]byte(text), &p); err != nil {
		return licensing.Wrap(op, licensing.Internal, "The payroll piece cannot be read.", err)
	}
	date, err := licensing.ParseDate(p.Date)
	if err != nil {
		return licensing.Wrap(op, licensing.Internal, "The payroll piece has no date.", err)
	}
	if s.cfg.Reports == nil || s.cfg.Deliveries == nil {
		return licensing.Errorf(op, licensing.Internal, "Reports are not configured.")
	}
	res.Run, res.Date = payrollRunName(date), date
	switch p.Kind {
	case KindPayrollStart:
		return s.payrollPlanPiece(ctx, q, date, p.Resend, res, log)
	case KindPayrollAgency:
		return s.payrollAgencyPiece(ctx, date, p.Agency, len(p.Resend) > 0, last, res, log)
	}
	return licensing.Errorf(op, licensing.Internal, "No payroll piece of kind %q.", p.Kind)
}

// payrollPlanPiece records the run's plan (once: a repeated start keeps the
// first) and sends a piece for every agency still to deliver. When none is
// left, it finishes the run itself: the summary may still be due.
func (s *Service) payrollPlanPiece(ctx context.Context, q licensing.WorkQueue, date licensing.Date, resend []string, res *ReportResult, log *slog.Logger) error {
	run := payrollRunName(date)
	done, err := s.deliveries(ctx, run)
	if err != nil {
		return err
	}
	snap, err := s.runSnapshot(ctx, run, done, log)
	if err != nil {
		return err
	}
	res.Snapshot = snap.ID
	if note := signInNote(snap); note != "" {
		res.Notes = append(res.Notes, note)
	}
	plan, ok := planOf(done)
	if !ok {
		agencies, err := s.cfg.Agencies.ListAgencies(ctx)
		if err != nil {
			return err
		}
		for _, a := range agencies {
			plan.Agencies = append(plan.Agencies, a.ID)
		}
		sort.Strings(plan.Agencies)
		b, _ := json.Marshal(plan)
		if err := s.cfg.Deliveries.PutDelivery(ctx, licensing.Delivery{Run: run, Key: planKey, State: "planned", File: snap.ID,
			Size: int64(len(plan.Agencies)), Detail: string(b), At: s.now().UTC()}); err != nil {
			return err
		}
		done[planKey] = licensing.Delivery{Key: planKey, Detail: string(b)}
		log.Info("payroll run planned", "date", date.String(), "agencies", len(plan.Agencies), "snapshot", snap.ID)
	}
	res.Agencies = len(plan.Agencies)
	if err := s.countOver(ctx, snap, date, plan, res); err != nil {
		return err
	}
	again := map[string]bool{}
	for _, r := range resend {
		again[strings.ToUpper(strings.TrimSpace(r))] = true
	}
	sent := 0
	for _, id := range plan.Agencies {
		if !again[id] && !s.needsDelivery(done[id], false, res) {
			continue
		}
		piece := payrollPiece{Kind: KindPayrollAgency, Date: date.String(), Agency: id}
		if again[id] {
			piece.Resend = []string{id}
		}
		if err := s.sendPayrollPiece(ctx, q, piece); err != nil {
			return err
		}
		sent++
	}
	log.Info("payroll pieces sent", "date", date.String(), "agencies", sent, "of", len(plan.Agencies))
	if !again[strings.ToUpper(enterpriseKey)] && delivered(done[enterpriseKey]) {
		s.needsDelivery(done[enterpriseKey], false, res)
	} else if again[strings.ToUpper(enterpriseKey)] {
		return s.deliverSummary(ctx, date, done, true, res, log)
	}
	if sent == 0 {
		return s.payrollFanIn(ctx, date, res, log)
	}
	return nil
}

// countOver counts the planned agencies using more than they bought.
func (s *Service) countOver(ctx context.Context, snap licensing.Snapshot, date licensing.Date, plan payrollPlan, res *ReportResult) error {
	rd, err := s.reportData(ctx, snap, date)
	if err != nil {
		return err
	}
	for _, a := range rd.agencies {
		if slices.Contains(plan.Agencies, a.ID) && s.agencyReport(a, rd, snap, date).Over() {
			res.Over++
		}
	}
	return nil
}

// payrollAgencyPiece writes and mails one agency's workbook, unless it went
// already, and then counts the run's finished agencies (payrollFanIn). On
// its last try a failure is recorded on the agency, so that the run still
// finishes.
func (s *Service) payrollAgencyPiece(ctx context.Context, date licensing.Date, id string, resend, last bool, res *ReportResult, log *slog.Logger) error {
	run := payrollRunName(date)
	log = log.With("date", date.String(), "agency", id)
	done, err := s.deliveries(ctx, run)
	if err != nil {
		return err
	}
	prev := done[id]
	if !resend && delivered(prev) {
		// A duplicate, or a piece back after waiting for the summary:
		// what happened to the agency was counted when it happened.
		return s.payrollFanIn(ctx, date, res, log)
	}
	err = s.deliverAgency(ctx, date, id, done, res, log)
	if err == nil {
		return s.payrollFanIn(ctx, date, res, log)
	}
	if !last || errors.Is(err, licensing.ErrInProgress) {
		return err
	}
	// The queue gives up on the piece after this try: the agency is
	// recorded failed, unless another try delivered it meanwhile.
	if cur, gerr := s.cfg.Deliveries.GetDelivery(ctx, run, id); gerr == nil && delivered(cur) {
		return s.payrollFanIn(ctx, date, res, log)
	}
	log.Error("payroll report failed its last try; the run goes on without it", "error", err)
	res.Notes = append(res.Notes, id+": "+licensing.ErrorMessage(err))
	failed := licensing.Delivery{Run: run, Key: id, State: deliveryFailed, File: prev.File, Size: prev.Size, At: s.now().UTC(), Detail: licensing.ErrorMessage(err)}
	if perr := s.cfg.Deliveries.PutDelivery(ctx, failed); perr != nil {
		return perr
	}
	if ferr := s.payrollFanIn(ctx, date, res, log); ferr != nil {
		log.Error("payroll fan-in failed", "error", ferr)
	}
	return err
}

// deliverAgency writes agency id's workbook from the run's snapshot and
// mails it once.
func (s *Service) deliverAgency(ctx context.Context, date licensing.Date, id string, done map[string]licensing.Delivery, res *ReportResult, log *slog.Logger) error {
	run := payrollRunName(date)
	snap, err := s.runSnapshot(ctx, run, done, log)
	if err != nil {
		return err
	}
	a, err := s.cfg.Agencies.GetAgency(ctx, id)
	if err != nil {
		return err
	}
	rd, err := s.reportData(ctx, snap, date)
	if err != nil {
		return err
	}
	spool, err := s.spoolUsers(ctx, snap, rd, []licensing.Agency{a}, false)
	if err != nil {
		return err
	}
	defer spool.close()
	r := s.agencyReport(a, rd, snap, date)
	file := fmt.Sprintf("reports/payroll/%s/%s.xlsx", date, a.ID)
	return s.deliver(ctx, run, a.ID, file, done[a.ID], res, func(w io.Writer) error {
		var missing string
		if r.Provisioning, missing = s.provisioningOf(ctx, a, log); missing != "" {
			res.Notes = append(res.Notes, missing)
		}
		return s.cfg.Reports.WriteAgencyReport(w, r, spool.source(a.ID))
	}, func() licensing.MailMessage { return s.agencyReportMail(r, signInNote(snap)) }, log)
}

// payrollFanIn counts the run's finished agencies and records the progress
// on the run record; when every agency is finished it mails central IT's
// summary, once: the summary's delivery record and its mail effect keep two
// pieces finishing at the same moment from sending it twice.
func (s *Service) payrollFanIn(ctx context.Context, date licensing.Date, res *ReportResult, log *slog.Logger) error {
	run := payrollRunName(date)
	done, err := s.deliveries(ctx, run)
	if err != nil {
		return err
	}
	p := progressOf(date, done)
	var sumErr error
	if p.Started && p.Finished() >= p.Planned && p.Summary == summaryPending {
		sumErr = s.deliverSummary(ctx, date, done, false, res, log)
		if done, err = s.deliveries(ctx, run); err != nil {
			return err
		}
	}
	// A piece that read the records earlier may write its older progress
	// after this one: read again until what was written is what is read,
	// so that the last write shows the latest progress.
	p = progressOf(date, done)
	for range p.Planned + 2 {
		s.recordPayrollProgress(ctx, done, p, log)
		if done, err = s.deliveries(ctx, run); err != nil {
			break
		}
		next := progressOf(date, done)
		if next.String() == p.String() {
			break
		}
		p = next
	}
	if n := p.Finished(); n > 0 && (n%10 == 0 || n == p.Planned) {
		log.Info("payroll progress", "date", date.String(), "progress", p.String())
	}
	return sumErr
}

// recordPayrollProgress writes p on the run's record: running until the
// run is complete, then succeeded (failed when an agency failed).
func (s *Service) recordPayrollProgress(ctx context.Context, done map[string]licensing.Delivery, p PayrollProgress, log *slog.Logger) {
	ref, ok := runRefOf(done)
	if !ok || s.cfg.Runs == nil {
		return
	}
	rr := s.cfg.Runs.Resume(licensing.Run{ID: ref.ID, Function: ref.Function, Trigger: ref.Trigger, Started: ref.Started}, log)
	rr.Set("agencies planned", p.Planned)
	rr.Set("agencies delivered", p.Delivered)
	rr.Set("unconfirmed", len(p.Unconfirmed))
	rr.Set("failed", len(p.Failed))
	if !p.Complete() {
		rr.Progress(ctx, p.String())
		return
	}
	var err error
	if len(p.Failed) > 0 {
		err = licensing.Errorf("reports.payroll", licensing.Internal, "%s", p.String())
	}
	rr.Finish(ctx, err, false, p.String())
}

// deliverSummary writes and mails central IT's summary; the mail names the
// agencies whose report failed.
func (s *Service) deliverSummary(ctx context.Context, date licensing.Date, done map[string]licensing.Delivery, resend bool, res *ReportResult, log *slog.Logger) error {
	run := payrollRunName(date)
	if !resend && !s.needsDelivery(done[enterpriseKey], false, res) {
		return nil
	}
	// One piece writes the summary at a time: the others come back later
	// and find it delivered.
	held, end, err := s.cfg.Effects.Lease(ctx, "run:PayrollSummary:"+date.String(), summaryLease)
	if err != nil {
		return err
	}
	if !held {
		return &licensing.Error{Op: "reports.payrollSummary", Code: licensing.Unavailable, RetryAfter: time.Minute, Err: licensing.ErrInProgress,
			Message: fmt.Sprintf("Another piece is delivering the summary of payroll %s; try again shortly.", date)}
	}
	defer func() {
		if err := end(context.WithoutCancel(ctx)); err != nil {
			log.Warn("could not end the summary's lease; it lapses by itself", "error", err)
		}
	}()
	if done, err = s.deliveries(ctx, run); err != nil {
		return err
	}
	if !resend && !s.needsDelivery(done[enterpriseKey], false, &ReportResult{}) {
		return nil
	}
	snap, err := s.runSnapshot(ctx, run, done, log)
	if err != nil {
		return err
	}
	rd, err := s.reportData(ctx, snap, date)
	if err != nil {
		return err
	}
	spool, err := s.spoolUsers(ctx, snap, rd, nil, true)
	if err != nil {
		return err
	}
	defer spool.close()
	failed := progressOf(date, done).Failed
	sum := s.enterpriseSummary(rd, snap, date)
	file := fmt.Sprintf("reports/payroll/%s/%s.xlsx", date, enterpriseKey)
	return s.deliver(ctx, run, enterpriseKey, file, done[enterpriseKey], res, func(w io.Writer) error {
		return s.cfg.Reports.WriteEnterpriseSummary(w, sum, spool.source(licensing.Unattributed), spool.source(licensing.Conflicted))
	}, func() licensing.MailMessage {
		m := s.summaryMail(sum, signInNote(snap))
		m.Text += failedText(date, failed, done)
		return m
	}, log)
}

// failedText is the summary mail's paragraph on the agencies whose report
// failed, or "".
func failedText(date licensing.Date, failed []string, done map[string]licensing.Delivery) string {
	if len(failed) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nReports that could not be delivered (run the payroll report of %s again to retry them):\n", date)
	for _, id := range failed {
		fmt.Fprintf(&b, "  %s: %s\n", id, done[id].Detail)
	}
	return b.String()
}

// merge adds what a piece did to res.
func (res *ReportResult) merge(p ReportResult) {
	if p.Snapshot != "" {
		res.Snapshot = p.Snapshot
	}
	res.Agencies = max(res.Agencies, p.Agencies)
	res.Written += p.Written
	res.Mailed += p.Mailed
	res.Skipped += p.Skipped
	res.Over += p.Over
	res.Files = appendNew(res.Files, p.Files)
	res.Unconfirmed = appendNew(res.Unconfirmed, p.Unconfirmed)
	res.Notes = appendNew(res.Notes, p.Notes)
	sort.Strings(res.Files)
}

// appendNew appends to list the items of more it does not hold yet.
func appendNew(list, more []string) []string {
	for _, m := range more {
		if !slices.Contains(list, m) {
			list = append(list, m)
		}
	}
	return list
}
