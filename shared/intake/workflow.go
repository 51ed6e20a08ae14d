package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// stepActor names the workflow in histories and the audit log.
const stepActor = "ActivationSteps"

// RunStep runs one step of a request's activation workflow and queues the
// steps that follow, each once.
// Each step is idempotent: it looks at the request's status first; a step
// delivered twice does nothing the second time, and one retried after its
// work was done but before its successor was queued queues the successor.
//
// Errors follow the queue policy: Unavailable (storage or Graph down) and
// Stale (a concurrent change) are retried by the host; a request that does
// not exist is NotFound and is not retried. A request whose data cannot be
// used is moved to failed here and the step succeeds.
func (s *Service) RunStep(ctx context.Context, st licensing.Step, log *slog.Logger) error {
	const op = "workflow.step"
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sr, err := s.cfg.Requests.GetRequest(ctx, st.SR)
	if licensing.ErrorCode(err) == licensing.NotFound {
		return licensing.Wrap(op, licensing.NotFound, fmt.Sprintf("Service request %q does not exist; the message is dropped.", licensing.Truncate(st.SR)), err)
	}
	if err != nil {
		return err
	}
	log = log.With("sr", sr.ID, "step", st.Step, "status", sr.Status)
	status, known := stepStatus[st.Step]
	if !known {
		return licensing.Errorf(op, licensing.Invalid, "Unknown workflow step %q for %s; the message is dropped.", licensing.Truncate(st.Step), sr.ID)
	}
	if sr.Status != status {
		// A duplicate or a retry of a step whose work is done. Its
		// successor is queued only if nobody queued it yet (the step that
		// did the work may have stopped before queueing it).
		next := resumeSteps(sr)
		if st.Step == licensing.StepVerify {
			// A verify for a request that moved on, or a late duplicate.
			next = nil
		}
		log.Info("step already done", "next", licensing.StepNames(next))
		return s.queueOnce(ctx, sr, next, 0)
	}
	moved, err := s.runStep(ctx, st, sr, log)
	if err != nil || moved == nil {
		return err
	}
	return s.queueOnce(ctx, *moved, resumeSteps(*moved), 0)
}

// stepStatus is the status each step acts on.
var stepStatus = map[string]string{
	licensing.StepValidate: licensing.StatusSubmitted, licensing.StepRecord: licensing.StatusValidated, licensing.StepRoute: licensing.StatusRecorded,
	licensing.StepVerify: licensing.StatusAwaitingActivation, licensing.StepClose: licensing.StatusActivated, licensing.StepNotify: licensing.StatusNeedsInformation,
}

// stepKey names the effect of queueing st for sr: the step, and how many
// times sr entered the status the step acts on (verify steps: their
// sequence number). Every copy of a step computes the same key from any
// later state of the request, so a successor is queued once however many
// copies or retries of its predecessor run.
func stepKey(sr licensing.ServiceRequest, st licensing.Step) string {
	if st.Step == licensing.StepVerify {
		return fmt.Sprintf("step:%s:verify:%d", sr.ID, st.Seq)
	}
	n := 0
	for _, t := range sr.History {
		if t.To == stepStatus[st.Step] && t.From != t.To {
			n++
		}
	}
	return fmt.Sprintf("step:%s:%s:%d", sr.ID, st.Step, n)
}

// queueOnce queues steps for sr, each at most once (see stepKey), visible
// after after. A queue message may be sent again harmlessly (a step that
// finds its work done does nothing), so a claim left by a worker that died
// is taken over.
func (s *Service) queueOnce(ctx context.Context, sr licensing.ServiceRequest, steps []licensing.Step, after time.Duration) error {
	_, err := s.queueSteps(ctx, sr, steps, after)
	return err
}

// queueSteps is queueOnce returning the steps it queued now.
func (s *Service) queueSteps(ctx context.Context, sr licensing.ServiceRequest, steps []licensing.Step, after time.Duration) ([]licensing.Step, error) {
	var queued []licensing.Step
	for _, st := range steps {
		outcome, err := s.cfg.Effects.Once(ctx, stepKey(sr, st), licensing.Safe, func(ctx context.Context) error {
			return s.cfg.Steps.EnqueueStep(ctx, st, after)
		})
		if err != nil {
			return queued, err
		}
		if outcome == licensing.Performed {
			queued = append(queued, st)
		}
	}
	return queued, nil
}

// queueNext queues the step that continues sr from its current status,
// once, and returns it when this call queued it.
func (s *Service) queueNext(ctx context.Context, sr licensing.ServiceRequest) ([]licensing.Step, error) {
	return s.queueSteps(ctx, sr, resumeSteps(sr), 0)
}

// runStep runs the step st of sr, which is in the status st acts on, and
// returns the request as stored when the step moved it on (nil when it did
// not): the steps that follow come from its new status.
func (s *Service) runStep(ctx context.Context, st licensing.Step, sr licensing.ServiceRequest, log *slog.Logger) (*licensing.ServiceRequest, error) {
	switch st.Step {
	case licensing.StepValidate:
		return s.validateStep(ctx, sr, log)
	case licensing.StepRecord:
		return s.recordStep(ctx, sr, log)
	case licensing.StepRoute:
		return s.routeStep(ctx, sr, log)
	case licensing.StepVerify:
		return s.verifyStep(ctx, sr, st.Seq, log)
	case licensing.StepClose:
		return s.closeStep(ctx, sr, log)
	default:
		return s.notifyStep(ctx, sr, log)
	}
}

// validateStep checks that the documents are there and intact and that every
// line names a SKU the tenant or the catalog knows.
func (s *Service) validateStep(ctx context.Context, sr licensing.ServiceRequest, log *slog.Logger) (*licensing.ServiceRequest, error) {
	var problems []string
	for _, d := range sr.Documents {
		ok, err := s.documentIntact(ctx, d)
		if err != nil {
			return nil, err
		}
		if !ok {
			problems = append(problems, fmt.Sprintf("the %s %q could not be read back intact; send it again", d.Kind, d.FileName))
		}
	}
	tenant, err := s.cfg.Directory.SubscribedSkus(ctx)
	if err != nil {
		return nil, err
	}
	inTenant := map[string]bool{}
	for _, t := range tenant {
		inTenant[t.SkuID] = true
	}
	var catalog licensing.Catalog
	if s.cfg.Catalog != nil {
		if catalog, _, err = s.cfg.Catalog.Refresh(ctx); err != nil {
			return nil, err
		}
	}
	for _, l := range sr.Lines {
		known := inTenant[l.SkuID]
		if !known && catalog != nil {
			_, known = catalog.Lookup(l.SkuID)
		}
		if !known {
			problems = append(problems, fmt.Sprintf("product %s is neither in the tenant nor in Microsoft's list; check the SKU", l.SKU))
		}
	}
	now := s.now()
	if len(problems) > 0 {
		sr.Missing = append(sr.StillMissing(), "corrections")
		sr.Move(now, licensing.StatusNeedsInformation, stepActor, strings.Join(problems, "; "))
		stored, err := s.cfg.Requests.UpdateRequest(ctx, sr)
		if err != nil {
			return nil, err
		}
		log.Info("request needs information", "why", strings.Join(problems, "; "))
		return &stored, nil
	}
	sr.Move(now, licensing.StatusValidated, stepActor, "documents intact and products known")
	stored, err := s.cfg.Requests.UpdateRequest(ctx, sr)
	if err != nil {
		return nil, err
	}
	log.Info("request validated")
	return &stored, nil
}

// documentIntact reads a stored document back and compares its hash.
func (s *Service) documentIntact(ctx context.Context, d licensing.Document) (bool, error) {
	rc, err := s.cfg.Files.Open(ctx, d.Blob)
	if licensing.ErrorCode(err) == licensing.NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return false, licensing.Wrap("workflow.validate", licensing.Unavailable, "", err)
	}
	return n == d.Size && hex.EncodeToString(h.Sum(nil)) == d.SHA256, nil
}

// recordStep captures the tenant's prepaid units as the baseline and writes
// the request's pending ledger lines.
func (s *Service) recordStep(ctx context.Context, sr licensing.ServiceRequest, log *slog.Logger) (*licensing.ServiceRequest, error) {
	tenant, err := s.cfg.Directory.SubscribedSkus(ctx)
	if err != nil {
		return nil, err
	}
	enabled := map[string]int{}
	for _, t := range tenant {
		enabled[t.SkuID] = t.Enabled
	}
	var existing []licensing.Purchase
	if sr.Renewal {
		if existing, err = s.cfg.Purchases.ListPurchases(ctx, licensing.PurchaseFilter{Agency: sr.Agency}); err != nil {
			return nil, err
		}
	}
	now := s.now().UTC()
	sr.Baseline = map[string]int{}
	var lines []licensing.Purchase
	for i, l := range sr.Lines {
		sr.Baseline[l.SkuID] = enabled[l.SkuID]
		p := licensing.Purchase{
			ID: fmt.Sprintf("%s-L%d", sr.ID, i+1), Agency: sr.Agency, SkuID: l.SkuID, PartNumber: l.PartNumber,
			Quantity: l.Quantity, TermStart: sr.TermStart, TermEnd: sr.TermEnd, PONumber: sr.PONumber,
			Reseller: sr.Reseller, Agreement: sr.Agreement, UnitPrice: l.UnitPrice, Currency: l.Currency, SRID: sr.ID, Source: licensing.SourceServiceRequest,
			Created: now, CreatedBy: stepActor, Reason: fmt.Sprintf("PO %s, service request %s", sr.PONumber, sr.ID),
		}
		if sr.Renewal {
			p.Replaces = licensing.RenewedLines(existing, sr.Agency, l.SkuID, sr.TermStart, s.cfg.Terms)
		}
		lines = append(lines, p)
	}
	added, err := s.cfg.Purchases.AddPurchases(ctx, lines, stepActor, "recorded from service request "+sr.ID)
	if licensing.ErrorCode(err) == licensing.Conflict {
		// The ledger holds this PO and product already (an import landed
		// after the request was submitted): retrying cannot help.
		sr.Failure = licensing.ErrorMessage(err)
		sr.Move(now, licensing.StatusFailed, stepActor, sr.Failure)
		if err := s.notify(ctx, &sr, "failed", s.failedMail); err != nil {
			return nil, err
		}
		if _, err := s.cfg.Requests.UpdateRequest(ctx, sr); err != nil {
			return nil, err
		}
		log.Warn("request failed: its lines are in the ledger already", "reason", sr.Failure)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sr.Purchases = nil
	for _, p := range lines {
		sr.Purchases = append(sr.Purchases, p.ID)
	}
	sr.Move(now, licensing.StatusRecorded, stepActor, fmt.Sprintf("%d pending ledger line(s); baseline %s", len(lines), baselineText(sr)))
	stored, err := s.cfg.Requests.UpdateRequest(ctx, sr)
	if err != nil {
		return nil, err
	}
	log.Info("request recorded", "lines", len(lines), "new lines", len(added))
	return &stored, nil
}

func baselineText(sr licensing.ServiceRequest) string {
	var parts []string
	for _, l := range sr.Lines {
		parts = append(parts, fmt.Sprintf("%s %d", l.PartNumberOrSKU(), sr.Baseline[l.SkuID]))
	}
	return strings.Join(parts, ", ")
}

// routeStep tells central IT the request is ready for activation.
func (s *Service) routeStep(ctx context.Context, sr licensing.ServiceRequest, log *slog.Logger) (*licensing.ServiceRequest, error) {
	if err := s.notify(ctx, &sr, licensing.StepRoute, s.routeMail); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	until := now.Add(s.cfg.Workflow.WaitFor)
	sr.VerifyUntil = &until
	sr.Move(now, licensing.StatusAwaitingActivation, stepActor, "routed to central IT for activation")
	stored, err := s.cfg.Requests.UpdateRequest(ctx, sr)
	if err != nil {
		return nil, err
	}
	log.Info("request routed for activation")
	return &stored, nil
}

// verifyStep looks for the seats in the tenant. Until they appear it queues
// itself again after Workflow.CheckEvery, and once Workflow.WaitFor has
// passed it asks central IT to confirm by hand.
func (s *Service) verifyStep(ctx context.Context, sr licensing.ServiceRequest, seq int, log *slog.Logger) (*licensing.ServiceRequest, error) {
	if seq <= sr.VerifySeq {
		log.Info("verification already done", "seq", seq)
		return nil, nil
	}
	tenant, err := s.cfg.Directory.SubscribedSkus(ctx)
	if err != nil {
		return nil, err
	}
	enabled := map[string]int{}
	for _, t := range tenant {
		enabled[t.SkuID] = t.Enabled
	}
	want := map[string]int{}
	for _, l := range sr.Lines {
		want[l.SkuID] += l.Quantity
	}
	var short []string
	for sku, q := range want {
		if enabled[sku] < sr.Baseline[sku]+q {
			short = append(short, fmt.Sprintf("%s: %d of %d", sku, enabled[sku], sr.Baseline[sku]+q))
		}
	}
	sort.Strings(short)
	now := s.now().UTC()
	if len(short) == 0 {
		log.Info("seats appeared in the tenant")
		return s.activate(ctx, sr, stepActor, "the seats appeared in the tenant")
	}
	sr.VerifySeq = seq
	if sr.VerifyUntil != nil && !now.Before(*sr.VerifyUntil) {
		if err := s.notify(ctx, &sr, "verify-timeout", s.timeoutMail); err != nil {
			return nil, err
		}
		sr.History = append(sr.History, licensing.Transition{At: now, From: sr.Status, To: sr.Status, By: stepActor,
			Why: "activation not seen in the tenant in time; central IT asked to confirm (" + strings.Join(short, "; ") + ")"})
		if _, err := s.cfg.Requests.UpdateRequest(ctx, sr); err != nil {
			return nil, err
		}
		log.Warn("activation not seen in time; central IT asked to confirm", "short", strings.Join(short, "; "))
		return nil, nil
	}
	// Queue the next look before recording this one, once per sequence
	// number: a crash in between leaves the next look queued, and copies of
	// this look queue no second one.
	if err := s.queueOnce(ctx, sr, []licensing.Step{{SR: sr.ID, Step: licensing.StepVerify, Seq: seq + 1}}, s.cfg.Workflow.CheckEvery); err != nil {
		return nil, err
	}
	if _, err := s.cfg.Requests.UpdateRequest(ctx, sr); err != nil {
		return nil, err
	}
	log.Info("seats not there yet; will look again", "after", s.cfg.Workflow.CheckEvery, "short", strings.Join(short, "; "))
	return nil, nil
}

// activate puts the request's ledger lines in force and moves it to
// activated.
func (s *Service) activate(ctx context.Context, sr licensing.ServiceRequest, who, why string) (*licensing.ServiceRequest, error) {
	now := s.now().UTC()
	if err := s.cfg.Purchases.ActivatePurchases(ctx, sr.Agency, sr.Purchases, now, who, why+" ("+sr.ID+")"); err != nil {
		return nil, err
	}
	sr.Move(now, licensing.StatusActivated, who, why)
	stored, err := s.cfg.Requests.UpdateRequest(ctx, sr)
	if err != nil {
		return nil, err
	}
	return &stored, nil
}

// closeStep tells the agency its licenses are available and closes the
// request.
func (s *Service) closeStep(ctx context.Context, sr licensing.ServiceRequest, log *slog.Logger) (*licensing.ServiceRequest, error) {
	if err := s.notify(ctx, &sr, licensing.StepClose, s.closedMail); err != nil {
		return nil, err
	}
	sr.Move(s.now(), licensing.StatusClosed, stepActor, "agency told its licenses are available")
	if _, err := s.cfg.Requests.UpdateRequest(ctx, sr); err != nil {
		return nil, err
	}
	log.Info("request closed")
	return nil, nil
}

// notifyStep tells the requester what an incomplete request needs.
func (s *Service) notifyStep(ctx context.Context, sr licensing.ServiceRequest, log *slog.Logger) (*licensing.ServiceRequest, error) {
	if err := s.notify(ctx, &sr, licensing.StepNotify, s.needsInformationMail); err != nil {
		return nil, err
	}
	if _, err := s.cfg.Requests.UpdateRequest(ctx, sr); err != nil {
		return nil, err
	}
	log.Info("requester told what is missing", "missing", strings.Join(sr.Missing, ","))
	return nil, nil
}

// notify sends the notification of event for sr unless it went already, and
// marks it sent on sr (the caller stores sr). The message's ID and date come
// from the request's last transition, so a retry sends the same message.
func (s *Service) notify(ctx context.Context, sr *licensing.ServiceRequest, event string, build func(context.Context, licensing.ServiceRequest) (licensing.MailMessage, error)) error {
	key := notifyKey(event, *sr)
	if sr.WasNotified(key) {
		return nil
	}
	m, err := build(ctx, *sr)
	if err != nil {
		return err
	}
	m.ID = sr.ID + "." + key
	m.Date = sr.Updated
	if len(sr.History) > 0 {
		m.Date = sr.History[len(sr.History)-1].At
	}
	if len(m.To) == 0 {
		return licensing.Errorf("workflow.notify", licensing.Invalid, "Nobody to tell about %s of %s: configure CENTRAL_IT_EMAIL and the agency's contacts.", event, sr.ID)
	}
	// The mail is an effect: claimed before it is sent, so that duplicate
	// or retried steps, and a crash between sending and recording, never
	// send it twice.
	outcome, err := s.cfg.Effects.Once(ctx, "mail:"+m.ID, nil, func(ctx context.Context) error { return s.cfg.Mailer.Send(ctx, m) })
	if err != nil {
		return err
	}
	if outcome == licensing.Unconfirmed {
		sr.History = append(sr.History, licensing.Transition{At: s.now().UTC(), From: sr.Status, To: sr.Status, By: stepActor,
			Why: fmt.Sprintf("the %q mail may not have been sent (its sending was cut short); it is not sent again", m.Subject)})
	}
	sr.Notified = append(sr.Notified, key)
	return nil
}

// notifyKey names one notification of a request: the event, and for
// needs-information what was missing, so a request still missing
// something else after an update is told again.
func notifyKey(event string, sr licensing.ServiceRequest) string {
	if event != licensing.StepNotify {
		return event
	}
	m := append([]string(nil), sr.Missing...)
	sort.Strings(m)
	b, _ := json.Marshal(m)
	sum := sha256.Sum256(b)
	return "needs-information-" + hex.EncodeToString(sum[:4])
}

// ConfirmActivation is an admin confirming that the licenses were
// activated (the tenant check did not see them, or cannot). It returns the
// request and the step it queued (each step is queued once). Confirming an activated or closed
// request again changes nothing.
func (s *Service) ConfirmActivation(ctx context.Context, caller *licensing.Principal, id, note string) (licensing.ServiceRequest, []licensing.Step, error) {
	const op = "workflow.confirm"
	acc, err := s.cfg.Auth.RequireAdmin(ctx, op, caller)
	if err != nil {
		return licensing.ServiceRequest{}, nil, err
	}
	why := "activation confirmed by " + acc.Who
	if note = strings.TrimSpace(note); note != "" {
		why += ": " + licensing.Truncate(note)
	}
	// The workflow's own steps write the request too (a verify step
	// counting its looks): a confirmation that loses that race reads the
	// request again and confirms it on the new version.
	for attempt := 1; ; attempt++ {
		sr, err := s.getRequest(ctx, op, id)
		if err != nil {
			return licensing.ServiceRequest{}, nil, err
		}
		switch sr.Status {
		case licensing.StatusActivated, licensing.StatusClosed:
			next, err := s.queueNext(ctx, sr)
			return sr, next, err
		case licensing.StatusRecorded, licensing.StatusAwaitingActivation:
		default:
			return licensing.ServiceRequest{}, nil, licensing.Errorf(op, licensing.Conflict, "Service request %s is %s; it can be confirmed once it is recorded (its ledger lines exist).", sr.ID, sr.Status)
		}
		stored, err := s.activate(ctx, sr, acc.Who, why)
		if licensing.ErrorCode(err) == licensing.Stale && attempt < confirmAttempts {
			continue
		}
		if err != nil {
			return licensing.ServiceRequest{}, nil, err
		}
		next, err := s.queueNext(ctx, *stored)
		return *stored, next, err
	}
}

// confirmAttempts is how many times a confirmation tries when the request
// changes under it.
const confirmAttempts = 3

// FailPoisoned handles a step message that the host gave up on after its
// retries (it reached activation-steps-poison): the request is marked
// failed with the reason and central IT is told. A message that names no
// request is only reported.
func (s *Service) FailPoisoned(ctx context.Context, text string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var st licensing.Step
	if err := json.Unmarshal([]byte(text), &st); err != nil || st.SR == "" {
		log.Error("a poisoned activation message names no service request; dropped", "message", licensing.Truncate(text))
		return nil
	}
	sr, err := s.cfg.Requests.GetRequest(ctx, st.SR)
	if licensing.ErrorCode(err) == licensing.NotFound {
		log.Error("a poisoned activation message names an unknown service request; dropped", "sr", licensing.Truncate(st.SR))
		return nil
	}
	if err != nil {
		return err
	}
	if sr.Status == licensing.StatusClosed || sr.Status == licensing.StatusFailed {
		return nil
	}
	sr.Failure = fmt.Sprintf("The %s step failed on every retry; its log is in the ActivationSteps invocations. Fix the cause and re-submit, or record the purchase by hand.", st.Step)
	sr.Move(s.now(), licensing.StatusFailed, stepActor, sr.Failure)
	if err := s.notify(ctx, &sr, "failed", s.failedMail); err != nil {
		return err
	}
	if _, err := s.cfg.Requests.UpdateRequest(ctx, sr); err != nil {
		return err
	}
	log.Warn("service request failed after retries", "sr", sr.ID, "step", st.Step)
	return nil
}

// SweepPoisoned handles every message in the poison queue: each request is
// marked failed and central IT told (FailPoisoned), then the message is
// removed. It returns how many messages it handled.
func (s *Service) SweepPoisoned(ctx context.Context, log *slog.Logger) (int, error) {
	if s.cfg.DeadLetters == nil {
		return 0, nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	handled := 0
	for round := 0; round < 100; round++ {
		batch, err := s.cfg.DeadLetters.Receive(ctx, 32)
		if err != nil {
			return handled, err
		}
		if len(batch) == 0 {
			return handled, nil
		}
		for _, d := range batch {
			if err := s.FailPoisoned(ctx, d.Text, log); err != nil {
				return handled, err
			}
			if err := s.cfg.DeadLetters.Done(ctx, d); err != nil {
				return handled, err
			}
			handled++
		}
	}
	return handled, nil
}

// QueuedStepsRun says what RunQueuedSteps did: a line per message, and how
// many steps ran and how many were left for a retry.
type QueuedStepsRun struct {
	Lines []string
	Done  int
	Left  int
}

// RunQueuedSteps runs the activation steps waiting in inbox in this process,
// as the host would: each message's step, then its successors queued, then
// the message removed. A step that fails with a retryable error
// (licensing.Retryable, the policy the queue function follows) is left for
// a retry; one that fails for good is dropped with its reason. With drain it
// goes on until the queue is empty, else it handles one batch.
func (s *Service) RunQueuedSteps(ctx context.Context, inbox licensing.Inbox, drain bool, log *slog.Logger) (QueuedStepsRun, error) {
	var res QueuedStepsRun
	for {
		msgs, err := inbox.Receive(ctx, 16)
		if err != nil || len(msgs) == 0 {
			return res, err
		}
		for _, m := range msgs {
			var st licensing.Step
			if err := json.Unmarshal([]byte(m.Text), &st); err != nil {
				res.Lines = append(res.Lines, fmt.Sprintf("skipped a message that is not a step: %.80q", m.Text))
				res.Left++
				continue
			}
			err := s.RunStep(ctx, st, log)
			if err != nil && licensing.Retryable(err) {
				res.Lines = append(res.Lines, fmt.Sprintf("%s %s: %v (left for a retry)", st.SR, st.Step, licensing.ErrorMessage(err)))
				res.Left++
				continue
			}
			if err := inbox.Done(ctx, m); err != nil {
				return res, err
			}
			if err != nil {
				res.Lines = append(res.Lines, fmt.Sprintf("%s %s: %s (dropped)", st.SR, st.Step, licensing.ErrorMessage(err)))
			} else {
				res.Lines = append(res.Lines, fmt.Sprintf("%s %s done", st.SR, st.Step))
			}
			res.Done++
		}
		if !drain {
			return res, nil
		}
	}
}
