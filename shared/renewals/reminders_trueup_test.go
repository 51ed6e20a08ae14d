package renewals_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// TestTrueUpWindowReminders runs every day from before an enrollment's
// window opens to after it closes: one mail when it opens and one a week
// before it closes, each with the worksheet attached and readable; none
// before the window or after it.
func TestTrueUpWindowReminders(t *testing.T) {
	f := newReminders(t)
	anniversary := day("2027-03-01")
	f.enrollment("EA-1234567", anniversary)
	f.snapshot(day("2026-11-02"), 95)
	opens, closes := anniversary.AddDays(-60), anniversary.AddDays(-30)
	sentOn := map[string]licensing.Date{}
	for d := anniversary.AddDays(-75); d.Before(anniversary); d = d.AddDays(1) {
		for _, r := range f.run(d).Sent {
			sentOn[r.Key[len("mail:"):]] = d
		}
	}
	want := map[string]licensing.Date{
		"true-up.EA-1234567.2027-03-01.opens":   opens,
		"true-up.EA-1234567.2027-03-01.closing": closes.AddDays(-7),
	}
	if diff := cmp.Diff(want, sentOn, cmp.Comparer(func(a, b licensing.Date) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("sent on (-want +got):\n%s", diff)
	}
	if f.mail.Sends != 2 {
		t.Errorf("mailer sent %d messages, want 2", f.mail.Sends)
	}
	for id, on := range sentOn {
		m := f.sentMail(id)
		if diff := cmp.Diff([]string{"licensing@it.example.gov"}, m.To); diff != "" {
			t.Errorf("%s to (-want +got):\n%s", id, diff)
		}
		for _, s := range []string{"is open from 2026-12-31 to 2027-01-30", "qualified count 95 (peak), last reported 80, increment 15", "Office Professional Plus"} {
			if !strings.Contains(m.Text, s) {
				t.Errorf("%s lacks %q:\n%s", id, s, m.Text)
			}
		}
		if len(m.Attachments) != 1 {
			t.Fatalf("%s has %d attachments", id, len(m.Attachments))
		}
		a := m.Attachments[0]
		if wantName := "true-up-EA-1234567-" + on.String() + ".xlsx"; a.Name != wantName || a.ContentType != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
			t.Errorf("attachment %q (%s), want %q", a.Name, a.ContentType, wantName)
		}
		content := attachmentBytes(t, a)
		if int64(len(content)) != a.Size || a.Size == 0 {
			t.Errorf("%s: attachment of %d bytes says %d", id, len(content), a.Size)
		}
		wb, err := excelize.OpenReader(bytes.NewReader(content))
		if err != nil {
			t.Fatalf("%s: the attachment is not a workbook: %v", id, err)
		}
		if len(wb.GetSheetList()) == 0 {
			t.Errorf("%s: the workbook has no sheet", id)
		}
		wb.Close()
	}
	closing := f.sentMail("true-up.EA-1234567.2027-03-01.closing")
	if !strings.Contains(closing.Text, "The window closes in 7 days (2027-01-30)") {
		t.Errorf("closing reminder:\n%s", closing.Text)
	}
}

// TestTrueUpReminderWithoutWorksheet: with no usage snapshot the worksheet
// cannot be prepared; the reminder goes without it, saying why and how to
// get it. A first run after the window opened sends it late; a first run
// in the last week sends only the closing one and records the other as
// passed over.
func TestTrueUpReminderWithoutWorksheet(t *testing.T) {
	f := newReminders(t)
	f.enrollment("EA-1", day("2027-03-01"))
	f.enrollment("EA-2", day("2027-02-10"))
	res := f.run(day("2027-01-05"))
	if diff := cmp.Diff([]string{"true-up.EA-1.2027-03-01.opens", "true-up.EA-2.2027-02-10.closing"}, keys(res.Sent)); diff != "" {
		t.Fatalf("sent (-want +got):\n%s", diff)
	}
	opens := f.sentMail("true-up.EA-1.2027-03-01.opens")
	if len(opens.Attachments) != 0 {
		t.Errorf("attachment without a worksheet: %+v", opens.Attachments)
	}
	for _, s := range []string{"due when the window opened on 2026-12-31; it is sent late", "The worksheet is not attached: No usage snapshot was taken",
		"GET /api/true-up/EA-1?current=N"} {
		if !strings.Contains(opens.Text, s) {
			t.Errorf("reminder lacks %q:\n%s", s, opens.Text)
		}
	}
	if len(res.Skipped) != 1 || res.Skipped[0].What != "true-up.EA-2.2027-02-10.opens" || !strings.Contains(res.Skipped[0].Why, "passed over") {
		t.Errorf("skipped %+v", res.Skipped)
	}
	if res := f.run(day("2027-01-06")); len(res.Sent) != 0 {
		t.Errorf("next day sent %v", keys(res.Sent))
	}
}

// attachmentBytes reads an attachment whole.
func attachmentBytes(t *testing.T, a licensing.Attachment) []byte {
	t.Helper()
	rc, err := a.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
