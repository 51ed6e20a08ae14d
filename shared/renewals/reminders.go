package renewals

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Kinds of reminder.
const (
	KindPurchase     = "purchase"
	KindSubscription = "subscription"
	KindDigest       = "subscriptions-digest"
	KindTrueUp       = "true-up"
)

// Reminder is one reminder mail: its effect key, what it reminds of and
// whom it goes to.
type Reminder struct {
	Key     string   `json:"key"`
	Kind    string   `json:"kind"`
	Subject string   `json:"subject"`
	To      []string `json:"to"`
	Cc      []string `json:"cc,omitempty"`
	// Late is set when the reminder was due on an earlier day, when no run
	// sent it.
	Late bool `json:"late,omitempty"`
	// Error says why a failed reminder was not sent.
	Error string `json:"error,omitempty"`
}

// SkippedReminder is something a run did not remind of, and why.
type SkippedReminder struct {
	Kind string `json:"kind"`
	What string `json:"what"`
	Why  string `json:"why"`
}

// ReminderResult says what a reminders run sent and did not send.
type ReminderResult struct {
	// Run is the id of the run record.
	Run string         `json:"run,omitempty"`
	On  licensing.Date `json:"on"`
	// Sent were mailed by this run; AlreadySent by an earlier one.
	Sent        []Reminder `json:"sent"`
	AlreadySent []Reminder `json:"alreadySent"`
	// Unconfirmed may or may not have gone out (a sender that stopped
	// half-way, an answer lost); they are never sent again.
	Unconfirmed []Reminder `json:"unconfirmed"`
	// Failed could not be sent; the next run tries them again.
	Failed  []Reminder        `json:"failed,omitempty"`
	Skipped []SkippedReminder `json:"skipped"`
	Notes   []string          `json:"notes,omitempty"`
}

// RemindersRun sends the reminders due on day on (today when zero) and
// records the run: purchase lines before their term ends, tenant
// subscriptions before their next lifecycle date (and the monthly digest of
// monthly auto-renewals), and the true-up windows of the enrollments. It
// holds the lease run:RenewalReminders:{on}: a second copy started while it
// works sends nothing and says so.
//
// Every mail is an effect whose key names what it reminds of, so a rerun
// (after a crash, or the same day again) mails nobody twice. A mail that
// cannot be sent does not stop the others: one agency's bad address must
// not keep the rest from their reminders. The run goes on, lists it under
// Failed, and returns the errors joined at the end (the run is recorded as
// failed, and the next run tries the failed mails again).
func (s *Service) RemindersRun(ctx context.Context, trigger string, on licensing.Date, log *slog.Logger) (ReminderResult, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if on.IsZero() {
		on = s.today()
	}
	run := s.cfg.Runs.Start(ctx, Function, trigger, log)
	res := ReminderResult{Run: run.ID(), On: on, Sent: []Reminder{}, AlreadySent: []Reminder{}, Unconfirmed: []Reminder{}, Skipped: []SkippedReminder{}}
	release, busy, err := s.cfg.Effects.HoldRun(ctx, "run:"+Function+":"+on.String(), log)
	if err != nil || busy != "" {
		if busy != "" {
			res.Notes = append(res.Notes, busy)
		}
		run.Finish(ctx, err, true, busy)
		return res, err
	}
	defer release()
	r := &reminderRun{s: s, on: on, now: s.cfg.Now().UTC(), res: &res, log: log}
	r.all(ctx)
	run.Add("mails sent", len(res.Sent))
	run.Add("already sent", len(res.AlreadySent))
	run.Add("unconfirmed", len(res.Unconfirmed))
	run.Add("failed", len(res.Failed))
	run.Add("skipped", len(res.Skipped))
	err = errors.Join(r.errs...)
	run.Finish(ctx, err, false, fmt.Sprintf("reminders of %s: %d sent, %d already sent, %d unconfirmed", on, len(res.Sent), len(res.AlreadySent), len(res.Unconfirmed))+noteText(res.Notes))
	log.Info("renewal reminders", "on", on.String(), "sent", len(res.Sent), "alreadySent", len(res.AlreadySent),
		"unconfirmed", len(res.Unconfirmed), "failed", len(res.Failed), "skipped", len(res.Skipped))
	return res, err
}

// reminderRun is one run's state: what it read once and what it found.
type reminderRun struct {
	s   *Service
	on  licensing.Date
	now time.Time
	res *ReminderResult
	log *slog.Logger

	agencies  map[string]licensing.Agency
	purchases []licensing.Purchase
	catalog   licensing.Catalog
	errs      []error
}

// all runs the three kinds of reminder. The agencies and the ledger are
// read once for all of them; what cannot be read stops only the reminders
// that need it.
func (r *reminderRun) all(ctx context.Context) {
	s := r.s
	agencies, agencyErr := s.cfg.Agencies.ListAgencies(ctx)
	if agencyErr != nil {
		r.fail("no purchase reminders: the agencies could not be read", agencyErr)
	}
	r.agencies = map[string]licensing.Agency{}
	for _, a := range agencies {
		r.agencies[a.ID] = a
	}
	purchases, ledgerErr := s.cfg.Purchases.ListPurchases(ctx, licensing.PurchaseFilter{})
	if ledgerErr != nil {
		r.fail("no purchase or subscription reminders: the ledger could not be read", ledgerErr)
	}
	r.purchases = purchases
	var catalogErr error
	if r.catalog, catalogErr = licensing.ProductNames(ctx, s.cfg.Catalog); catalogErr != nil {
		r.note("product names are shown as part numbers: the catalog could not be read (" + licensing.ErrorMessage(catalogErr) + ")")
	}
	if agencyErr == nil && ledgerErr == nil {
		r.purchaseReminders(ctx)
	}
	switch {
	case s.cfg.Directory == nil:
		r.note("no subscription reminders: no directory is configured")
	case ledgerErr == nil:
		r.subscriptionReminders(ctx)
	}
	if s.cfg.Enrollments == nil {
		r.note("no true-up reminders: no enrollment store is configured")
	} else {
		r.trueUpReminders(ctx)
	}
}

// send mails the reminder rem once: build composes the message (body and
// attachments; To, Cc and Subject come from rem) only when it is to be
// sent. It reports whether the mail went out now.
func (r *reminderRun) send(ctx context.Context, rem Reminder, build func(ctx context.Context) (licensing.MailMessage, error)) bool {
	s := r.s
	outcome, err := s.cfg.Effects.Once(ctx, rem.Key, nil, func(ctx context.Context) error {
		m, err := build(ctx)
		if err != nil {
			return err
		}
		m.ID, m.Date = strings.TrimPrefix(rem.Key, "mail:"), r.now
		m.To, m.Cc, m.Subject = rem.To, rem.Cc, rem.Subject
		return s.cfg.Mailer.Send(ctx, m)
	})
	switch {
	case outcome == licensing.Performed:
		r.res.Sent = append(r.res.Sent, rem)
		if err != nil {
			r.note(rem.Key + " was sent but could not be recorded; it will not be sent again (" + licensing.ErrorMessage(err) + ")")
		}
		return true
	case errors.Is(err, licensing.ErrInProgress):
		r.note(rem.Key + " is being sent by another run")
	case err != nil:
		rem.Error = licensing.ErrorMessage(err)
		r.res.Failed = append(r.res.Failed, rem)
		r.errs = append(r.errs, fmt.Errorf("%s: %w", rem.Key, err))
		r.log.Warn("a reminder could not be sent; the next run tries again", "key", rem.Key, "error", err)
	case outcome == licensing.AlreadyDone:
		r.res.AlreadySent = append(r.res.AlreadySent, rem)
	case outcome == licensing.Unconfirmed:
		r.res.Unconfirmed = append(r.res.Unconfirmed, rem)
	}
	return false
}

// passedOver records as skipped the reminders that were due before the one
// just sent, since the closest earlier one that has a record: a run after
// missed days sends only the tightest threshold reached, and the reminders
// before a recorded one were reported when that one went. earlier is in the
// order the reminders fall due; it is walked from the closest back.
func (r *reminderRun) passedOver(ctx context.Context, kind string, sent Reminder, earlier []earlierReminder) {
	for i := len(earlier) - 1; i >= 0; i-- {
		e := earlier[i]
		_, found, err := r.s.cfg.Effects.Lookup(ctx, e.key)
		if err != nil {
			r.note("could not tell whether " + e.key + " was sent: " + licensing.ErrorMessage(err))
			continue
		}
		if found {
			return
		}
		r.skip(kind, strings.TrimPrefix(e.key, "mail:"), fmt.Sprintf("passed over: it was due on %s and no run sent it; the later reminder %s went instead", e.due, strings.TrimPrefix(sent.Key, "mail:")))
	}
}

// earlierReminder is a reminder due before the one being sent.
type earlierReminder struct {
	key string
	due licensing.Date
}

func (r *reminderRun) skip(kind, what, why string) {
	r.res.Skipped = append(r.res.Skipped, SkippedReminder{Kind: kind, What: what, Why: why})
}

func (r *reminderRun) note(n string) { r.res.Notes = append(r.res.Notes, n) }

// fail records an error that kept a part of the run from being done.
func (r *reminderRun) fail(what string, err error) {
	r.note(what + ": " + licensing.ErrorMessage(err))
	r.errs = append(r.errs, err)
	r.log.Warn(what, "error", err)
}

// dueThreshold returns the threshold a reminder is due at with days left:
// the smallest t with days <= t; false when days exceeds every threshold.
func dueThreshold(thresholds []int, days int) (int, bool) {
	best, ok := 0, false
	for _, t := range thresholds {
		if t >= days && (!ok || t < best) {
			best, ok = t, true
		}
	}
	return best, ok
}

// earlierThresholds returns the thresholds above due, largest first: the
// reminders due before it.
func earlierThresholds(thresholds []int, due int) []int {
	var out []int
	for _, t := range thresholds {
		if t > due && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(out)))
	return out
}

// noteText appends notes to a run message.
func noteText(notes []string) string {
	if len(notes) == 0 {
		return ""
	}
	return "; " + strings.Join(notes, "; ")
}

// WriteText prints the result as a table, for the command line and the
// demo.
func (r ReminderResult) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "renewal reminders of %s: %d sent, %d already sent, %d unconfirmed, %d failed, %d skipped\n",
		r.On, len(r.Sent), len(r.AlreadySent), len(r.Unconfirmed), len(r.Failed), len(r.Skipped))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	if len(r.Sent)+len(r.AlreadySent)+len(r.Unconfirmed)+len(r.Failed) > 0 {
		fmt.Fprintln(tw, "  STATE\tKIND\tREMINDER\tTO\tSUBJECT")
	}
	rows := func(state string, list []Reminder) {
		for _, m := range list {
			subject := m.Subject
			if m.Late {
				subject += " (late)"
			}
			if m.Error != "" {
				subject += ": " + m.Error
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", state, m.Kind, strings.TrimPrefix(m.Key, "mail:"), strings.Join(m.To, ", "), subject)
		}
	}
	rows("sent", r.Sent)
	rows("already sent", r.AlreadySent)
	rows("unconfirmed", r.Unconfirmed)
	rows("failed", r.Failed)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintln(w, "\n  skipped:")
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		for _, k := range r.Skipped {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", k.Kind, k.What, k.Why)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	return nil
}
