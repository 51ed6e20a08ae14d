package renewals_test

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/renewals"
)

// dueEverywhere sets up one reminder of each kind due on 2027-01-05: a
// purchase line 60 days before its end, an annual subscription 30 days
// before its lifecycle date, and an enrollment whose window opened that
// day.
func dueEverywhere(f *reminders) licensing.Date {
	on := day("2027-01-05")
	f.addLines(line("doa-visio", "DOA", fakes.SkuVisio, "VISIOCLIENT", "PO-1", 10, day("2026-07-01"), on.AddDays(60), licensing.AgreementCSP))
	f.dir.Subs = []licensing.TenantSubscription{sub("e3", fakes.SkuE3, "ENTERPRISEPACK", "Enabled", 100, "2026-02-04", "2027-02-04")}
	f.enrollment("EA-1", on.AddDays(60))
	f.snapshot(day("2026-12-01"), 90)
	return on
}

var dueKeys = []string{"renewal.DOA.2027-03-06.60d", "subscription.2027-02-04.30d", "true-up.EA-1.2027-03-06.opens"}

// TestRemindersRunTwiceAtOnce starts the same day's run five times at
// once: each reminder is mailed once, and the copies that found the run
// under way say so and send nothing.
func TestRemindersRunTwiceAtOnce(t *testing.T) {
	f := newReminders(t)
	on := dueEverywhere(f)
	f.setDay(on)
	results := make([]renewals.ReminderResult, 5)
	errs := make([]error, 5)
	fakes.AtOnce(5, func(i int) {
		results[i], errs[i] = f.service().RemindersRun(context.Background(), "timer", licensing.Date{}, nil)
	})
	var sent []string
	busy := 0
	for i, res := range results {
		if errs[i] != nil {
			t.Errorf("run %d: %v", i, errs[i])
		}
		sent = append(sent, keys(res.Sent)...)
		if len(res.Notes) == 1 && strings.Contains(res.Notes[0], "another copy of this run (RenewalReminders:2027-01-05) is under way") {
			busy++
		}
	}
	slices.Sort(sent)
	if diff := cmp.Diff(dueKeys, sent); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	if f.mail.Sends != len(dueKeys) || busy != 4 {
		t.Errorf("mailer sent %d messages, %d runs busy; want %d and 4", f.mail.Sends, busy, len(dueKeys))
	}
}

// deliverThen is a mailer that delivers into the mailbox and then fails
// with after (nil: the process dies, which runtime.Goexit plays).
type deliverThen struct {
	box   *fakes.Mailbox
	after error
}

func (d deliverThen) Send(ctx context.Context, m licensing.MailMessage) error {
	if err := d.box.Send(ctx, m); err != nil {
		return err
	}
	if d.after == nil {
		runtime.Goexit()
	}
	return d.after
}

// TestRemindersExactlyOnceAfterCrash: a mail delivered when its sender
// then died (its claim left behind), or whose answer was lost (Ambiguous),
// is never sent again: the reruns report it unconfirmed.
func TestRemindersExactlyOnceAfterCrash(t *testing.T) {
	t.Run("answer lost", func(t *testing.T) {
		f := newReminders(t)
		on := dueEverywhere(f)
		f.mailer = deliverThen{box: f.mail, after: licensing.Errorf("graph.sendMail", licensing.Ambiguous, "The answer of sendMail was lost.")}
		first := f.run(on)
		if diff := cmp.Diff(dueKeys, keys(first.Unconfirmed)); diff != "" || len(first.Sent) != 0 {
			t.Errorf("first run: sent %v, unconfirmed (-want +got):\n%s", keys(first.Sent), diff)
		}
		f.mailer = nil
		for _, d := range []licensing.Date{on, on.AddDays(1)} {
			res := f.run(d)
			if diff := cmp.Diff(dueKeys, keys(res.Unconfirmed)); diff != "" || len(res.Sent) != 0 {
				t.Errorf("rerun on %s: sent %v, unconfirmed (-want +got):\n%s", d, keys(res.Sent), diff)
			}
		}
		if f.mail.Sends != len(dueKeys) {
			t.Errorf("mailer sent %d messages, want %d", f.mail.Sends, len(dueKeys))
		}
	})
	t.Run("process died", func(t *testing.T) {
		f := newReminders(t)
		on := dueEverywhere(f)
		f.mailer = deliverThen{box: f.mail}
		f.setDay(on)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.service().RemindersRun(context.Background(), "timer", licensing.Date{}, nil)
			t.Error("the run went on after its process died")
		}()
		wg.Wait()
		if f.mail.Sends != 1 {
			t.Fatalf("the dying run sent %d messages", f.mail.Sends)
		}
		f.mailer = nil
		// The rerun comes after the run's lease and the mail's claim lapsed.
		f.advance(licensing.RunLease + time.Minute)
		res, err := f.service().RemindersRun(context.Background(), "timer", licensing.Date{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(dueKeys[:1], keys(res.Unconfirmed)); diff != "" {
			t.Errorf("unconfirmed (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(dueKeys[1:], keys(res.Sent)); diff != "" {
			t.Errorf("sent (-want +got):\n%s", diff)
		}
		if f.mail.Sends != len(dueKeys) {
			t.Errorf("mailer sent %d messages, want %d", f.mail.Sends, len(dueKeys))
		}
	})
}

// failFor is a mailer that refuses messages to one address.
type failFor struct {
	box     *fakes.Mailbox
	address string
}

func (m failFor) Send(ctx context.Context, msg licensing.MailMessage) error {
	if slices.Contains(msg.To, m.address) {
		return licensing.Errorf("graph.sendMail", licensing.Unavailable, "Graph is unavailable.")
	}
	return m.box.Send(ctx, msg)
}

// TestFailedReminderDoesNotBlockOthers: a mail that cannot be sent is
// listed as failed and fails the run, while the other reminders go; the
// next run sends it.
func TestFailedReminderDoesNotBlockOthers(t *testing.T) {
	f := newReminders(t)
	on := dueEverywhere(f)
	f.addLines(line("det-visio", "DET", fakes.SkuVisio, "VISIOCLIENT", "PO-2", 3, day("2026-07-01"), on.AddDays(60), licensing.AgreementCSP))
	f.mailer = failFor{box: f.mail, address: "licensing@doa.example.gov"}
	f.setDay(on)
	res, err := f.service().RemindersRun(context.Background(), "timer", licensing.Date{}, nil)
	if err == nil || !strings.Contains(err.Error(), "renewal.DOA.2027-03-06.60d") {
		t.Errorf("run error %v, want one naming the failed reminder", err)
	}
	if diff := cmp.Diff([]string{"renewal.DOA.2027-03-06.60d"}, keys(res.Failed)); diff != "" {
		t.Errorf("failed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"renewal.DET.2027-03-06.60d", "subscription.2027-02-04.30d", "true-up.EA-1.2027-03-06.opens"}, keys(res.Sent)); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	runs, err := f.store.ListRuns(context.Background(), licensing.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Outcome != licensing.RunFailed || runs[0].Function != renewals.Function || runs[0].Counts["mails sent"] != 3 || runs[0].Counts["failed"] != 1 {
		t.Errorf("run records %+v", runs)
	}
	f.mailer = nil
	next := f.run(on)
	if diff := cmp.Diff([]string{"renewal.DOA.2027-03-06.60d"}, keys(next.Sent)); diff != "" {
		t.Errorf("next run sent (-want +got):\n%s", diff)
	}
}

// TestReminderBeingSentElsewhere: a reminder another worker holds a live
// claim on is left to it: a note, not an error, and not sent.
func TestReminderBeingSentElsewhere(t *testing.T) {
	f := newReminders(t)
	on := dueEverywhere(f)
	f.setDay(on)
	claim, _, err := licensing.NewEffects(f.store, f.now, 0).Begin(context.Background(), "mail:"+dueKeys[1], nil)
	if err != nil || claim == nil {
		t.Fatalf("claim: %v", err)
	}
	res := f.run(on)
	if diff := cmp.Diff([]string{dueKeys[0], dueKeys[2]}, keys(res.Sent)); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	if !slices.Contains(res.Notes, "mail:"+dueKeys[1]+" is being sent by another run") {
		t.Errorf("notes %q", res.Notes)
	}
	if len(res.Failed)+len(res.Unconfirmed)+len(res.AlreadySent) != 0 {
		t.Errorf("failed %v, unconfirmed %v, already sent %v", res.Failed, res.Unconfirmed, res.AlreadySent)
	}
}
