package usage_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

const (
	payrollRun  = "payroll-2026-11-23"
	summaryMail = payrollRun + ".enterprise-summary"
)

var payrollDate = licensing.NewDate(2026, 11, 23)

// countingMail counts the mails sent per message id; hook, when set, runs
// after a mail is recorded (it may panic, as a worker dying after handing
// the mail over).
type countingMail struct {
	*fakes.Mailbox
	mu     sync.Mutex
	byID   map[string]int
	delay  time.Duration
	failID string
	hook   func(id string)
}

func newCountingMail(m *fakes.Mailbox) *countingMail {
	return &countingMail{Mailbox: m, byID: map[string]int{}}
}

func (m *countingMail) Send(ctx context.Context, msg licensing.MailMessage) error {
	time.Sleep(m.delay)
	if msg.ID == m.failID {
		return licensing.Wrap("mail", licensing.Unavailable, "The mail server refused the message.", errors.New("451 try later"))
	}
	if err := m.Mailbox.Send(ctx, msg); err != nil {
		return err
	}
	m.mu.Lock()
	m.byID[msg.ID]++
	hook := m.hook
	m.mu.Unlock()
	if hook != nil {
		hook(msg.ID)
	}
	return nil
}

func (m *countingMail) count(id string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.byID[id]
}

// pieces decodes the waiting messages of q.
func pieces(t *testing.T, q *licensing.LocalQueue) (texts []string, kinds []string) {
	t.Helper()
	for _, text := range q.Take() {
		var p struct{ Kind, Date, Agency string }
		if err := json.Unmarshal([]byte(text), &p); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, text)
		kinds = append(kinds, strings.TrimSuffix(p.Kind+" "+p.Agency, " "))
	}
	return texts, kinds
}

// payrollRecord returns the one PayrollReport run record.
func payrollRecord(t *testing.T, f *fixture) licensing.Run {
	t.Helper()
	runs, err := f.store.ListRuns(context.Background(), licensing.RunFilter{Function: "PayrollReport"})
	if err != nil || len(runs) != 1 {
		t.Fatalf("run records = %+v, %v; want one", runs, err)
	}
	return runs[0]
}

// startFanOut starts the payroll run of November 23 on a queue in the test
// and returns the agency pieces the start piece sends.
func startFanOut(t *testing.T, f *fixture, m licensing.Mailer) (*usage.Service, *licensing.LocalQueue, []string) {
	t.Helper()
	ctx := context.Background()
	q := &licensing.LocalQueue{}
	svc := f.service(m, &textReports{}).WithWork(q)
	res, err := svc.PayrollRun(ctx, "timer", payrollDate, false, usage.PayrollOptions{}, nil)
	if err != nil || res.Snapshot == "" {
		t.Fatalf("start: %+v, %v", res, err)
	}
	start, kinds := pieces(t, q)
	if len(start) != 1 || kinds[0] != usage.KindPayrollStart {
		t.Fatalf("PayrollRun sent %q, want the start piece", kinds)
	}
	if err := svc.HandleWork(ctx, start[0], false, nil); err != nil {
		t.Fatal(err)
	}
	agencies, kinds := pieces(t, q)
	if strings.Join(kinds, ",") != "payroll.agency DET,payroll.agency DOA" {
		t.Fatalf("the start sent %q, want one piece per agency", kinds)
	}
	return svc, q, append(start, agencies...)
}

// TestPayrollFanOutSendsOnePiecePerAgency: the start records the plan and
// sends one piece per agency; a repeated start keeps the plan and sends
// only the agencies not yet delivered; the run record shows the progress
// and, after the last agency, the summary mailed once.
func TestPayrollFanOutSendsOnePiecePerAgency(t *testing.T) {
	f, _ := payrollFixture(t)
	ctx := context.Background()
	mail := newCountingMail(f.mail)
	svc, q, msgs := startFanOut(t, f, mail)
	start, det, doa := msgs[0], msgs[1], msgs[2]
	plan, err := f.store.GetDelivery(ctx, payrollRun, "plan")
	if err != nil || plan.Size != 2 || !strings.Contains(plan.Detail, `"DET","DOA"`) {
		t.Fatalf("plan = %+v, %v", plan, err)
	}
	if rec := payrollRecord(t, f); rec.Outcome != licensing.RunRunning {
		t.Errorf("record after the start = %+v, want running", rec)
	}

	if err := svc.HandleWork(ctx, doa, false, nil); err != nil {
		t.Fatal(err)
	}
	const half = "payroll 2026-11-23: 1 of 2 agencies delivered, summary pending"
	if p, err := svc.PayrollProgress(ctx, payrollDate); err != nil || p.String() != half {
		t.Errorf("progress = %q, %v; want %q", p, err, half)
	}
	if rec := payrollRecord(t, f); rec.Outcome != licensing.RunRunning || rec.Message != half || rec.Counts["agencies planned"] != 2 || rec.Counts["agencies delivered"] != 1 {
		t.Errorf("record after DOA = %+v", rec)
	}

	// The start again: the same plan, and a piece for DET only.
	if err := svc.HandleWork(ctx, start, false, nil); err != nil {
		t.Fatal(err)
	}
	if again, _ := f.store.GetDelivery(ctx, payrollRun, "plan"); !again.At.Equal(plan.At) || again.Detail != plan.Detail {
		t.Errorf("a repeated start rewrote the plan: %+v", again)
	}
	if _, kinds := pieces(t, q); strings.Join(kinds, ",") != "payroll.agency DET" {
		t.Errorf("a repeated start sent %q, want DET's piece only", kinds)
	}
	if err := svc.HandleWork(ctx, det, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := svc.HandleWork(ctx, doa, false, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{payrollRun + ".DOA", payrollRun + ".DET", summaryMail} {
		if n := mail.count(id); n != 1 {
			t.Errorf("%s mailed %d times, want once", id, n)
		}
	}
	const all = "payroll 2026-11-23: 2 of 2 agencies delivered, summary mailed"
	if rec := payrollRecord(t, f); rec.Outcome != licensing.RunSucceeded || rec.Message != all || rec.Ended == nil {
		t.Errorf("record at the end = %+v, want succeeded: %q", rec, all)
	}
}

// TestPayrollAgencyDyingAfterItsMailIsNotMailedAgain: the piece of DOA
// dies just after handing its mail over; the queue's retry, after the
// mail's claim lapsed, does not send it again: DOA is unconfirmed, the
// run finishes and central IT gets the summary once.
func TestPayrollAgencyDyingAfterItsMailIsNotMailedAgain(t *testing.T) {
	ctx := context.Background()
	f, svc, mail, doa := doaDies(t, payrollRun+".DOA")
	f.clock = f.clock.Add(5 * time.Minute) // the claim lapses
	if err := svc.HandleWork(ctx, doa, false, nil); err != nil {
		t.Fatal(err)
	}
	if n, s := mail.count(payrollRun+".DOA"), mail.count(summaryMail); n != 1 || s != 1 {
		t.Errorf("DOA mailed %d times, the summary %d; want once each", n, s)
	}
	const want = "payroll 2026-11-23: 1 of 2 agencies delivered, 1 unconfirmed (DOA), summary mailed"
	if rec := payrollRecord(t, f); rec.Outcome != licensing.RunSucceeded || rec.Message != want {
		t.Errorf("record = %+v, want %q", rec, want)
	}
}

// doaDies starts the fan-out, delivers DET, and runs DOA's piece, the
// last, until it dies right after mailing id; it returns DOA's piece.
func doaDies(t *testing.T, id string) (*fixture, *usage.Service, *countingMail, string) {
	t.Helper()
	f, _ := payrollFixture(t)
	ctx := context.Background()
	mail := newCountingMail(f.mail)
	svc, _, msgs := startFanOut(t, f, mail)
	det, doa := msgs[1], msgs[2]
	if err := svc.HandleWork(ctx, det, false, nil); err != nil {
		t.Fatal(err)
	}
	dies(t, mail, id, func() { svc.HandleWork(ctx, doa, false, nil) })
	return f, svc, mail, doa
}

// dies runs piece with a mailer that panics right after mailing id, as a
// worker stopping after the mail went and before recording it.
func dies(t *testing.T, mail *countingMail, id string, piece func()) {
	t.Helper()
	mail.hook = func(sent string) {
		if sent == id {
			panic("the worker stops")
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatalf("the piece did not reach the mail of %s", id)
			}
		}()
		piece()
	}()
	mail.hook = nil
}

// TestPayrollSummaryDyingAfterItsMailIsNotMailedAgain: the piece that
// finishes the last agency dies just after handing central IT's summary
// over; its retry does not send the summary again.
func TestPayrollSummaryDyingAfterItsMailIsNotMailedAgain(t *testing.T) {
	ctx := context.Background()
	f, svc, mail, doa := doaDies(t, summaryMail)
	// A retry while the claim stands is told to wait.
	if err := svc.HandleWork(ctx, doa, false, nil); !errors.Is(err, licensing.ErrInProgress) {
		t.Errorf("retry while the summary's claim stands: %v, want in progress", err)
	}
	f.clock = f.clock.Add(5 * time.Minute)
	if err := svc.HandleWork(ctx, doa, true, nil); err != nil {
		t.Fatal(err)
	}
	if n := mail.count(summaryMail); n != 1 {
		t.Errorf("the summary was mailed %d times, want once", n)
	}
	const want = "payroll 2026-11-23: 2 of 2 agencies delivered, summary unconfirmed"
	if rec := payrollRecord(t, f); rec.Outcome != licensing.RunSucceeded || rec.Message != want {
		t.Errorf("record = %+v, want %q", rec, want)
	}
}

// TestPayrollAgencyFailingItsLastTryIsRecordedFailed: DOA's mail fails on
// every try; on the last one DOA is recorded failed, and the summary still
// goes, once, naming it.
func TestPayrollAgencyFailingItsLastTryIsRecordedFailed(t *testing.T) {
	f, _ := payrollFixture(t)
	ctx := context.Background()
	mail := newCountingMail(f.mail)
	mail.failID = payrollRun + ".DOA"
	q := &licensing.LocalQueue{}
	svc := f.service(mail, &textReports{}).WithWork(q)
	if _, err := svc.PayrollRun(ctx, "timer", payrollDate, false, usage.PayrollOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := svc.DrainLocal(ctx, q, 4, nil); licensing.ErrorCode(err) != licensing.Unavailable {
		t.Errorf("drain: %v, want DOA's failure", err)
	}
	d, err := f.store.GetDelivery(ctx, payrollRun, "DOA")
	if err != nil || d.State != "failed" || !strings.Contains(d.Detail, "refused") {
		t.Errorf("DOA's delivery = %+v, %v; want failed with the reason", d, err)
	}
	if n := mail.count(summaryMail); n != 1 {
		t.Fatalf("the summary was mailed %d times, want once", n)
	}
	if text := f.mail.Sent[summaryMail].Text; !strings.Contains(text, "could not be delivered") || !strings.Contains(text, "DOA: The mail server refused") {
		t.Errorf("the summary does not name DOA as failed:\n%s", text)
	}
	const want = "payroll 2026-11-23: 1 of 2 agencies delivered, 1 failed (DOA), summary mailed"
	if rec := payrollRecord(t, f); rec.Outcome != licensing.RunFailed || rec.Message != want {
		t.Errorf("record = %+v, want failed: %q", rec, want)
	}
}

// meetingDeliveries holds back the record of each agency's mail until both
// agencies have one, so that both pieces count the finished agencies at
// the same moment.
type meetingDeliveries struct {
	licensing.Deliveries
	mu     sync.Mutex
	mailed map[string]bool
	both   chan struct{}
}

func (m *meetingDeliveries) PutDelivery(ctx context.Context, d licensing.Delivery) error {
	if err := m.Deliveries.PutDelivery(ctx, d); err != nil || d.State != licensing.DeliveryMailed || (d.Key != "DOA" && d.Key != "DET") {
		return err
	}
	m.mu.Lock()
	m.mailed[d.Key] = true
	if len(m.mailed) == 2 {
		close(m.both)
	}
	m.mu.Unlock()
	select {
	case <-m.both:
	case <-time.After(5 * time.Second):
	}
	return nil
}

// TestPayrollLastTwoAgenciesAtOnceMailTheSummaryOnce: the two last
// agencies finish at the same moment and both find every agency finished;
// central IT gets one summary.
func TestPayrollLastTwoAgenciesAtOnceMailTheSummaryOnce(t *testing.T) {
	f, _ := payrollFixture(t)
	ctx := context.Background()
	meet := &meetingDeliveries{Deliveries: f.store, mailed: map[string]bool{}, both: make(chan struct{})}
	f.deliveries = meet
	mail := newCountingMail(f.mail)
	mail.delay = 20 * time.Millisecond
	svc, _, msgs := startFanOut(t, f, mail)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, text := range msgs[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = svc.HandleWork(ctx, text, false, nil)
		}()
	}
	wg.Wait()
	// A piece that found the summary being sent fails and is retried.
	for i, err := range errs {
		if err != nil {
			if !errors.Is(err, licensing.ErrInProgress) {
				t.Errorf("piece %d: %v", i, err)
			}
			if err := svc.HandleWork(ctx, msgs[1+i], false, nil); err != nil {
				t.Errorf("retry of piece %d: %v", i, err)
			}
		}
	}
	if n := mail.count(summaryMail); n != 1 {
		t.Errorf("the summary was mailed %d times, want once", n)
	}
	if f.mail.Sends != 3 {
		t.Errorf("%d mails, want DOA, DET and the summary once each", f.mail.Sends)
	}
	if rec := payrollRecord(t, f); rec.Outcome != licensing.RunSucceeded {
		t.Errorf("record = %+v", rec)
	}
}
