package provisioning

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// KindAgency is the work kind of one agency's piece of a provisioning run.
const KindAgency = "provision.agency"

// Outcomes of an agency's piece.
const (
	pieceDone    = "done"
	pieceFailed  = "failed"
	pieceSkipped = "skipped"
)

// noticePiece is the notice kind that records, per agency, the last run
// whose piece finished the agency: Sent is that run's start and Digest the
// pieceRecord as JSON. A later run replaces it, so the records do not grow
// with the runs.
const noticePiece = "piece"

// piece is the message of one agency's piece of a run.
type piece struct {
	Kind   string `json:"kind"`
	Agency string `json:"agency"`
	// Run, Trigger and Started identify the run's record; Date is the
	// run's day (UTC).
	Run     string    `json:"run"`
	Date    string    `json:"date"`
	Trigger string    `json:"trigger,omitempty"`
	Started time.Time `json:"started"`
	// Plan lists every agency of the run, so that any piece can count how
	// many are finished.
	Plan []string `json:"plan"`
}

// pieceRecord is what an agency's piece did.
type pieceRecord struct {
	Run     string `json:"run"`
	Outcome string `json:"outcome"`
	// Detail says why a piece failed or was skipped, or what a done piece
	// noted (a mail not confirmed).
	Detail     string `json:"detail,omitempty"`
	Groups     int    `json:"groups,omitempty"`
	Added      int    `json:"added,omitempty"`
	Removed    int    `json:"removed,omitempty"`
	Waitlisted int    `json:"waitlisted,omitempty"`
	Errors     int    `json:"errors,omitempty"`
	Batches    int    `json:"batches,omitempty"`
	Mailed     int    `json:"mailed,omitempty"`
}

// Start begins the scheduled run: it records the run, lists the agencies
// with delegated groups (or opts.Agency) and sends one piece per agency to
// Config.Work. The pieces provision the agencies (HandleWork); the run's
// record counts the agencies done of those planned and ends when the last
// is finished.
func (s *Service) Start(ctx context.Context, opts Options, log *slog.Logger) (Result, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	res := Result{AsOf: s.cfg.Now().UTC(), Agencies: []AgencyResult{}}
	if s.cfg.Work == nil {
		return res, licensing.Errorf("provisioning.start", licensing.Internal, "No work queue is configured for the provisioning run's pieces.")
	}
	_, err := s.start(ctx, s.cfg.Work, opts, &res, log)
	return res, err
}

// start records the run and sends its pieces to q. It returns the run's
// piece without its agency (the plan and the run).
func (s *Service) start(ctx context.Context, q licensing.WorkQueue, opts Options, res *Result, log *slog.Logger) (piece, error) {
	run := s.cfg.Runs.Start(ctx, Function, opts.Trigger, log)
	res.RunID = run.ID()
	agencies, err := s.agencies(ctx, opts.Agency)
	if err != nil {
		run.Finish(ctx, err, false, "")
		return piece{}, err
	}
	r := run.Run()
	p := piece{Kind: KindAgency, Run: r.ID, Date: r.Started.Format(time.DateOnly), Trigger: r.Trigger, Started: r.Started}
	for _, a := range agencies {
		if len(a.DelegatedGroups) > 0 {
			p.Plan = append(p.Plan, a.ID)
		}
	}
	sort.Strings(p.Plan)
	if len(p.Plan) == 0 {
		run.Finish(ctx, nil, false, "no agency has delegated groups")
		return p, nil
	}
	run.Set("agencies planned", len(p.Plan))
	run.Progress(ctx, progress{planned: len(p.Plan)}.String())
	for i, id := range p.Plan {
		p.Agency = id
		b, err := json.Marshal(p)
		if err == nil {
			err = q.Send(ctx, string(b), 0)
		}
		if err != nil {
			// The agencies not sent are recorded failed, so that the run
			// still ends once the pieces sent are finished.
			log.Error("provisioning: pieces not queued", "agencies", len(p.Plan)-i, "error", err)
			for _, id := range p.Plan[i:] {
				p.Agency = id
				if merr := s.mark(ctx, p, pieceRecord{Outcome: pieceFailed, Detail: "not queued: " + licensing.ErrorMessage(err)}); merr != nil {
					return p, errors.Join(err, merr)
				}
			}
			return p, errors.Join(err, s.fanIn(ctx, p, log))
		}
	}
	p.Agency = ""
	log.Info("provisioning: pieces queued", "run", r.ID, "agencies", len(p.Plan))
	return p, nil
}

// HandleWork runs one piece of a provisioning run from the work queue;
// last is set on its last delivery before the queue gives up on it, when a
// failure is recorded on the agency so that the run still ends.
func (s *Service) HandleWork(ctx context.Context, text string, last bool, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p, err := readPiece(text)
	if err != nil {
		return err
	}
	return s.agencyPiece(ctx, p, last, &Result{}, log)
}

func readPiece(text string) (piece, error) {
	const op = "provisioning.work"
	var p piece
	if err := json.Unmarshal([]byte(text), &p); err != nil {
		return p, licensing.Wrap(op, licensing.Internal, "The provisioning piece cannot be read.", err)
	}
	if p.Kind != KindAgency || p.Agency == "" || p.Run == "" {
		return p, licensing.Errorf(op, licensing.Internal, "The provisioning piece of kind %q names no agency or run.", p.Kind)
	}
	return p, nil
}

// agencyPiece provisions one agency for the run of p, unless a piece of the
// run (or of a later run) finished it already, and then counts the run's
// finished agencies. The agency's lease keeps two pieces from working on
// it at once: a piece that finds it held is tried again later, and on its
// last delivery recorded as skipped.
func (s *Service) agencyPiece(ctx context.Context, p piece, last bool, res *Result, log *slog.Logger) error {
	const op = "provisioning.work"
	log = log.With("run", p.Run, "agency", p.Agency)
	if done, err := s.finished(ctx, p); err != nil || done {
		if done {
			log.Info("provisioning: the agency is finished for this run already; nothing to do")
			err = s.fanIn(ctx, p, log)
		}
		return err
	}
	release, busy, err := s.cfg.Effects.HoldRun(ctx, "run:"+Function+":"+p.Agency, log)
	switch {
	case err != nil:
		return s.pieceFailed(ctx, p, last, err, log)
	case busy != "" && !last:
		return &licensing.Error{Op: op, Code: licensing.Unavailable, RetryAfter: time.Minute, Err: licensing.ErrInProgress, Message: busy}
	case busy != "":
		res.Notes = append(res.Notes, busy)
		if err := s.mark(ctx, p, pieceRecord{Outcome: pieceSkipped, Detail: busy}); err != nil {
			return err
		}
		return s.fanIn(ctx, p, log)
	}
	defer release()
	// A copy of this piece may have finished between the check and the
	// lease.
	if done, err := s.finished(ctx, p); err != nil || done {
		if done {
			err = s.fanIn(ctx, p, log)
		}
		return err
	}
	one := Result{RunID: p.Run, AsOf: s.cfg.Now().UTC(), Agencies: []AgencyResult{}}
	rec, err := s.provisionAgency(ctx, p.Agency, &one, log)
	res.merge(one)
	if err != nil {
		return s.pieceFailed(ctx, p, last, err, log)
	}
	rec.Outcome = pieceDone
	if err := s.mark(ctx, p, rec); err != nil {
		return err
	}
	return s.fanIn(ctx, p, log)
}

// pieceFailed returns err; on the last delivery it first records the
// agency failed for the run and counts the finished agencies.
func (s *Service) pieceFailed(ctx context.Context, p piece, last bool, err error, log *slog.Logger) error {
	if !last {
		return err
	}
	log.Error("provisioning: the agency failed its last try; the run goes on without it", "error", err)
	if merr := s.mark(ctx, p, pieceRecord{Outcome: pieceFailed, Detail: licensing.ErrorMessage(err)}); merr != nil {
		return errors.Join(err, merr)
	}
	if ferr := s.fanIn(ctx, p, log); ferr != nil {
		log.Error("provisioning: the run's progress not recorded", "error", ferr)
	}
	return err
}

// readRecord returns agency's piece record and the notice holding it; ok
// is false when the agency has none.
func (s *Service) readRecord(ctx context.Context, agency string) (licensing.ProvisioningNotice, pieceRecord, bool, error) {
	n, err := s.cfg.Seats.GetNotice(ctx, agency, noticePiece)
	if licensing.ErrorCode(err) == licensing.NotFound {
		return n, pieceRecord{}, false, nil
	}
	if err != nil {
		return n, pieceRecord{}, false, err
	}
	var rec pieceRecord
	if err := json.Unmarshal([]byte(n.Digest), &rec); err != nil {
		// Unreadable: as if no piece had finished the agency.
		return n, pieceRecord{}, false, nil
	}
	return n, rec, true, nil
}

// finishedFor tells whether a record finishes the agency for the run of p:
// the run's own, or a later run's.
func finishedFor(p piece, n licensing.ProvisioningNotice, rec pieceRecord) bool {
	return rec.Run == p.Run || n.Sent.After(p.Started)
}

func (s *Service) finished(ctx context.Context, p piece) (bool, error) {
	n, rec, ok, err := s.readRecord(ctx, p.Agency)
	return ok && finishedFor(p, n, rec), err
}

// mark records what the piece of p did. A done piece replaces a failed or
// skipped record of its run; nothing replaces a done one, nor a later
// run's record.
func (s *Service) mark(ctx context.Context, p piece, rec pieceRecord) error {
	rec.Run = p.Run
	b, err := json.Marshal(rec)
	if err != nil {
		return licensing.Wrap("provisioning.mark", licensing.Internal, "", err)
	}
	for attempt := 0; ; attempt++ {
		cur, old, ok, err := s.readRecord(ctx, p.Agency)
		if err != nil {
			return err
		}
		pre := licensing.Precondition{IfNoneMatch: true}
		if cur.ETag != "" {
			pre = licensing.Precondition{IfMatch: cur.ETag}
		}
		if ok && (cur.Sent.After(p.Started) || (old.Run == p.Run && (old.Outcome == pieceDone || rec.Outcome != pieceDone))) {
			return nil
		}
		_, err = s.cfg.Seats.PutNotice(ctx, licensing.ProvisioningNotice{Agency: p.Agency, Kind: noticePiece, Digest: string(b), Sent: p.Started}, pre)
		if licensing.ErrorCode(err) != licensing.Stale || attempt >= markAttempts {
			return err
		}
	}
}

// markAttempts bounds how often mark reads again a record another piece
// changed meanwhile.
const markAttempts = 10

// progress is how far a run got, from its agencies' piece records.
type progress struct {
	planned         int
	done            int
	failed, skipped []string
	// notes are the done agencies' notes, by agency.
	notes []string
	sum   pieceRecord
}

func (p progress) finished() int { return p.done + len(p.failed) + len(p.skipped) }

func (p progress) complete() bool { return p.finished() >= p.planned }

// String says how far the run got, as its record shows it:
// "provisioning: 3 of 5 agencies done, 1 failed (DOA: ...)".
func (p progress) String() string {
	s := fmt.Sprintf("provisioning: %d of %d agencies done", p.done, p.planned)
	if len(p.failed) > 0 {
		s += fmt.Sprintf(", %d failed (%s)", len(p.failed), strings.Join(p.failed, "; "))
	}
	if len(p.skipped) > 0 {
		s += fmt.Sprintf(", %d skipped (%s)", len(p.skipped), strings.Join(p.skipped, "; "))
	}
	if len(p.notes) > 0 {
		s += "; " + strings.Join(p.notes, "; ")
	}
	return s
}

// progressOf reads the piece records of every agency of p's run.
func (s *Service) progressOf(ctx context.Context, p piece) (progress, error) {
	type found struct {
		n   licensing.ProvisioningNotice
		rec pieceRecord
		ok  bool
	}
	all := make([]found, len(p.Plan))
	err := parallel(len(p.Plan), func(i int) error {
		n, rec, ok, err := s.readRecord(ctx, p.Plan[i])
		all[i] = found{n, rec, ok}
		return err
	})
	if err != nil {
		return progress{}, err
	}
	pr := progress{planned: len(p.Plan)}
	for i, f := range all {
		id := p.Plan[i]
		switch {
		case !f.ok || !finishedFor(p, f.n, f.rec):
		case f.rec.Run != p.Run || f.rec.Outcome == pieceDone:
			// Or a later run's record: that run took the agency on.
			pr.done++
			if f.rec.Run == p.Run {
				pr.sum.add(f.rec)
				if f.rec.Detail != "" {
					pr.notes = append(pr.notes, id+": "+f.rec.Detail)
				}
			}
		case f.rec.Outcome == pieceFailed:
			pr.failed = append(pr.failed, id+": "+f.rec.Detail)
		default:
			pr.skipped = append(pr.skipped, id+": "+f.rec.Detail)
		}
	}
	return pr, nil
}

func (r *pieceRecord) add(o pieceRecord) {
	r.Groups += o.Groups
	r.Added += o.Added
	r.Removed += o.Removed
	r.Waitlisted += o.Waitlisted
	r.Errors += o.Errors
	r.Batches += o.Batches
	r.Mailed += o.Mailed
}

// fanIn counts the run's finished agencies and writes the run's record:
// running until every agency is finished, then succeeded (failed when an
// agency failed, skipped when every agency was skipped). A piece that read
// the records earlier may write its older count after this one: the
// records are read again until what was written is what is read, so that
// the last write shows the latest count.
func (s *Service) fanIn(ctx context.Context, p piece, log *slog.Logger) error {
	written := ""
	for range len(p.Plan) + 2 {
		pr, err := s.progressOf(ctx, p)
		if err != nil {
			return err
		}
		if pr.String() == written {
			break
		}
		s.recordProgress(ctx, p, pr, log)
		written = pr.String()
		if n := pr.finished(); n%10 == 0 || pr.complete() {
			log.Info("provisioning progress", "progress", written)
		}
	}
	return nil
}

// recordProgress writes pr on the run's record.
func (s *Service) recordProgress(ctx context.Context, p piece, pr progress, log *slog.Logger) {
	rr := s.cfg.Runs.Resume(licensing.Run{ID: p.Run, Function: Function, Trigger: p.Trigger, Started: p.Started}, log)
	rr.Set("agencies planned", pr.planned)
	rr.Set("agencies done", pr.done)
	rr.Set("agencies failed", len(pr.failed))
	rr.Set("agencies skipped", len(pr.skipped))
	rr.Set("groups", pr.sum.Groups)
	rr.Set("added", pr.sum.Added)
	rr.Set("removed", pr.sum.Removed)
	rr.Set("waitlisted", pr.sum.Waitlisted)
	rr.Set("errors", pr.sum.Errors)
	rr.Set("write batches", pr.sum.Batches)
	rr.Set("mails sent", pr.sum.Mailed)
	if !pr.complete() {
		rr.Progress(ctx, pr.String())
		return
	}
	var err error
	if len(pr.failed) > 0 {
		err = licensing.Errorf("provisioning.run", licensing.Internal, "%s", pr.String())
	}
	rr.Finish(ctx, err, len(pr.skipped) == pr.planned, pr.String())
}

// drainLocal runs the pieces waiting on q in this process, one after the
// other on the caller's goroutine (each piece reads the tenant's free units
// after the one before it used some), adding what each did to res (its last
// try's). A piece that fails is tried once more, its last try; the first error of a last
// try is returned once the queue is empty.
func (s *Service) drainLocal(ctx context.Context, q *licensing.LocalQueue, res *Result, log *slog.Logger) error {
	var first error
	for batch := q.Take(); len(batch) > 0; batch = q.Take() {
		for _, text := range batch {
			if err := ctx.Err(); err != nil {
				return err
			}
			p, err := readPiece(text)
			if err == nil {
				var part Result
				if err = s.agencyPiece(ctx, p, false, &part, log); err != nil {
					part = Result{}
					err = s.agencyPiece(ctx, p, true, &part, log)
				}
				res.merge(part)
			}
			if err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// merge adds what a piece did to res.
func (res *Result) merge(p Result) {
	res.Agencies = append(res.Agencies, p.Agencies...)
	res.Batches += p.Batches
	res.Mailed += p.Mailed
	for _, n := range p.Notes {
		if !slices.Contains(res.Notes, n) {
			res.Notes = append(res.Notes, n)
		}
	}
}
