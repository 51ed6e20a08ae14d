package renewals

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// ClosingDays is how many days before its window closes the second true-up
// reminder is due.
const ClosingDays = 7

// Stages of the true-up window reminders.
const (
	stageOpens   = "opens"
	stageClosing = "closing"
)

// xlsxType is the content type of a workbook.
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// trueUpReminders tells central IT, for each enrollment, when its true-up
// window is open (once, from the day it opens) and again from ClosingDays
// before it closes, with the worksheet attached. Nothing is sent before the
// window or after it closes.
func (r *reminderRun) trueUpReminders(ctx context.Context) {
	list, err := r.s.cfg.Enrollments.ListEnrollments(ctx)
	if err != nil {
		r.fail("no true-up reminders: the enrollments could not be read", err)
		return
	}
	for _, e := range list {
		w := licensing.WindowOf(e.Anniversary, r.on)
		if w.State != licensing.WindowOpen {
			continue
		}
		key := func(stage string) string {
			return "mail:true-up." + e.Number + "." + e.Anniversary.String() + "." + stage
		}
		stage, late := stageOpens, r.on.After(w.Opens)
		subject := fmt.Sprintf("True-up window open for enrollment %s: order due by %s", e.Number, w.Closes)
		if !r.on.Before(w.Closes.AddDays(-ClosingDays)) {
			stage, late = stageClosing, false
			subject = fmt.Sprintf("True-up window of enrollment %s closes on %s", e.Number, w.Closes)
		}
		rem := Reminder{Key: key(stage), Kind: KindTrueUp, To: r.s.cfg.CentralIT, Subject: subject, Late: late}
		sent := r.send(ctx, rem, func(ctx context.Context) (licensing.MailMessage, error) {
			return r.trueUpMail(ctx, e, w, stage, late)
		})
		if sent && stage == stageClosing {
			r.passedOver(ctx, KindTrueUp, rem, []earlierReminder{{key: key(stageOpens), due: w.Opens}})
		}
	}
}

// trueUpMail composes a window reminder with the worksheet of the day
// attached. A worksheet that cannot be prepared from what is stored (no
// usage snapshot yet: Invalid) leaves the reminder without it, saying why
// and how to get it; any other failure (storage unavailable) fails the mail,
// which the next run sends.
func (r *reminderRun) trueUpMail(ctx context.Context, e licensing.Enrollment, w licensing.TrueUpWindow, stage string, late bool) (licensing.MailMessage, error) {
	var m licensing.MailMessage
	ws, err := r.s.worksheet(ctx, e, r.on, nil)
	missing := ""
	switch code := licensing.ErrorCode(err); {
	case err == nil && r.s.cfg.Worksheets == nil:
		missing = "no workbook writer is configured"
	case err == nil:
		var buf bytes.Buffer
		if werr := r.s.cfg.Worksheets.WriteTrueUp(&buf, ws); werr != nil {
			missing = "the workbook could not be written (" + licensing.ErrorMessage(werr) + ")"
			break
		}
		content := buf.Bytes()
		m.Attachments = []licensing.Attachment{{
			Name:        licensing.AttachmentName(fmt.Sprintf("true-up-%s-%s.xlsx", e.Number, r.on)),
			ContentType: xlsxType,
			Size:        int64(len(content)),
			Open: func(context.Context) (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(content)), nil
			},
		}}
	case code == licensing.Invalid || code == licensing.NotFound:
		missing = licensing.ErrorMessage(err)
	default:
		return m, err
	}

	var b strings.Builder
	kind := "an Enterprise Agreement true-up"
	if e.Kind == licensing.EnrollmentSubscription {
		kind = "a subscription enrollment's annual order"
	}
	fmt.Fprintf(&b, "The true-up window of enrollment %s (%s) is open from %s to %s, before its anniversary on %s.\n", e.Number, kind, w.Opens, w.Closes, e.Anniversary)
	switch {
	case stage == stageOpens && late:
		fmt.Fprintf(&b, "This reminder was due when the window opened on %s; it is sent late because no run sent it on that day.\n", w.Opens)
	case stage == stageClosing:
		fmt.Fprintf(&b, "The window closes %s (%s): the order, or the signed update statement, must reach Microsoft through the reseller by then.\n", inDays(r.on.DaysUntil(w.Closes)), w.Closes)
	}
	if err == nil {
		trueUpSummary(&b, ws)
	}
	if missing == "" {
		fmt.Fprintf(&b, "\nThe worksheet is attached (%s).\n", m.Attachments[0].Name)
	} else {
		fmt.Fprintf(&b, "\nThe worksheet is not attached: %s\nOnce that is fixed, get it with GET /api/true-up/%s?current=N, where N is the qualified count (the users or devices the platform products cover).\n",
			strings.TrimSuffix(missing, ".")+".", e.Number)
	}
	m.Text = b.String()
	return m, nil
}

// trueUpSummary writes what the worksheet orders, and why.
func trueUpSummary(b *strings.Builder, ws licensing.TrueUpWorksheet) {
	fmt.Fprintf(b, "\nWorksheet of %s: qualified count %d (%s), last reported %d, increment %d.\n", ws.On, ws.Current, ws.CurrentFrom, ws.LastReported, ws.Increment)
	lines := func(title string, list []licensing.OrderLine) {
		if len(list) == 0 {
			return
		}
		fmt.Fprintf(b, "%s:\n", title)
		for _, l := range list {
			fmt.Fprintf(b, "  %-36s %8d  %-17s %s\n", licensing.TruncateTo(l.Product, 36), l.Quantity, l.Kind, l.Reason)
		}
	}
	lines("Order in the window", ws.Order)
	lines("From the anniversary", ws.AfterAnniversary)
	if ws.UpdateStatement {
		b.WriteString("Nothing is ordered: the signed update statement (a zero-usage order) is still due in the window.\n")
	}
	if len(ws.Uncovered) > 0 {
		fmt.Fprintf(b, "%d agency products are used beyond what was bought since the last anniversary; the workbook lists them.\n", len(ws.Uncovered))
	}
	for _, n := range ws.Notes {
		fmt.Fprintf(b, "Note: %s\n", n)
	}
}
