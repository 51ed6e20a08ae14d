package intake_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// runAsTheHost runs st as the queue would: again while it fails with a
// retryable error (a bounded number of times).
func (f *intakeFixture) runAsTheHost(t *testing.T, st licensing.Step) {
	for try := 0; try < 20; try++ {
		err := f.svc.RunStep(context.Background(), st, nil)
		if err == nil {
			return
		}
		if !licensing.Retryable(err) {
			t.Errorf("step %s: %v", st.Step, err)
			return
		}
	}
	t.Errorf("step %s still failing after 20 deliveries", st.Step)
}

// TestConcurrentCopiesOfAStepActOnce delivers every step of a request five
// times at once, as duplicate posts and retries do: each mail goes once and
// each successor is queued once, so one chain of steps runs to the end.
func TestConcurrentCopiesOfAStepActOnce(t *testing.T) {
	f := newIntakeFixture(t)
	res, err := f.svc.SubmitPurchaseOrder(context.Background(), f.doaRep, completePO())
	if err != nil {
		t.Fatal(err)
	}
	steps := f.later.TakeReady()
	for rounds := 0; len(steps) > 0 && rounds < 10; rounds++ {
		if len(steps) != 1 {
			t.Fatalf("round %d queued %d steps, want 1: %v", rounds, len(steps), steps)
		}
		var wg sync.WaitGroup
		for i := 0; i < 5; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); f.runAsTheHost(t, steps[0]) }()
		}
		wg.Wait()
		steps = f.later.TakeReady()
	}
	if st := f.request(t, res.Request.ID).Status; st != licensing.StatusAwaitingActivation {
		t.Fatalf("status = %s, want awaiting-activation", st)
	}
	routed := 0
	for _, m := range f.mail.Sent {
		if strings.HasPrefix(m.Subject, "Ready for activation") {
			routed++
		}
	}
	if routed != 1 || f.mail.Sends != 1 {
		t.Errorf("%d routing mails, %d sends; want 1 and 1", routed, f.mail.Sends)
	}
	if len(f.later.Queued) != 1 || f.later.Queued[0].Step != licensing.StepVerify {
		t.Errorf("delayed steps = %+v, want one verify chain", f.later.Queued)
	}
}

// TestRecordFindsThePOInTheLedger: an import of the same PO and product
// lands between submission and the record step. The step cannot record a
// second line, so the request fails with the ledger's reason, at once,
// instead of being retried until it is poisoned.
func TestRecordFindsThePOInTheLedger(t *testing.T) {
	f := newIntakeFixture(t)
	ctx := context.Background()
	res, err := f.svc.SubmitPurchaseOrder(ctx, f.doaRep, completePO())
	if err != nil {
		t.Fatal(err)
	}
	f.runAsTheHost(t, f.later.TakeReady()[0]) // validate
	imported := licensing.Purchase{ID: "imp-1", Agency: "DOA", SkuID: fakes.SkuVisio, Quantity: 25, PONumber: "4500012345",
		TermStart: licensing.NewDate(2026, 8, 1), TermEnd: licensing.NewDate(2027, 6, 30), Source: licensing.SourceImport}
	if _, err := f.store.AddPurchases(ctx, []licensing.Purchase{imported}, "import", "legacy sheet"); err != nil {
		t.Fatal(err)
	}
	record := f.later.TakeReady()
	if len(record) != 1 || record[0].Step != licensing.StepRecord {
		t.Fatalf("queued after validate: %v", record)
	}
	if err := f.svc.RunStep(ctx, record[0], nil); err != nil {
		t.Fatalf("record: %v, want the request failed and the message done", err)
	}
	sr := f.request(t, res.Request.ID)
	if sr.Status != licensing.StatusFailed || !strings.Contains(sr.Failure, "imp-1") {
		t.Errorf("status %s, failure %q; want failed naming the existing line", sr.Status, sr.Failure)
	}
	if f.mail.Sends != 1 {
		t.Errorf("%d mails, want central IT told once", f.mail.Sends)
	}
}
