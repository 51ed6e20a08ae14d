package intake_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// mailZone is the time zone the fixture's mails show times in, as the
// reports' REPORT_TIME_ZONE.
func mailZone(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// mailText returns the text of the one mail whose subject starts with prefix.
func (f *intakeFixture) mailText(t *testing.T, prefix string) string {
	t.Helper()
	var found []string
	for _, m := range f.mail.Sent {
		if strings.HasPrefix(m.Subject, prefix) {
			found = append(found, m.Text)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d mails %q…, want 1: %v", len(found), prefix, f.mail.Subjects())
	}
	return found[0]
}

// submitted is a fixture with the complete purchase order submitted, and
// the new request's id.
func submitted(t *testing.T) (*intakeFixture, string) {
	t.Helper()
	f := newIntakeFixture(t)
	res, err := f.svc.SubmitPurchaseOrder(context.Background(), f.doaRep, completePO())
	if err != nil {
		t.Fatal(err)
	}
	f.drive(t, res.Next)
	return f, res.Request.ID
}

// TestActivationNotSeenMailSaysWhenRoutedInReportZone: the mail asking
// central IT to confirm an activation says when the request was routed, in
// the configured time zone with its name, not in UTC.
func TestActivationNotSeenMailSaysWhenRoutedInReportZone(t *testing.T) {
	f, id := submitted(t)
	f.clock = f.clock.Add(72 * time.Hour)
	if err := f.svc.RunStep(context.Background(), licensing.Step{SR: id, Step: licensing.StepVerify, Seq: 2}, nil); err != nil {
		t.Fatal(err)
	}
	var routed time.Time
	for _, h := range f.request(t, id).History {
		if h.To == licensing.StatusAwaitingActivation && h.From != h.To {
			routed = h.At
		}
	}
	// The fixture's day starts at 14:00 UTC: 08:00 in Chicago (CST).
	if routed.Hour() != 14 {
		t.Fatalf("routed at %v", routed)
	}
	want := fmt.Sprintf("since it was routed for activation on 2026-11-23 08:%s CST.", routed.Format("04"))
	if text := f.mailText(t, "Activation not seen"); !strings.Contains(text, want) || strings.Contains(text, "UTC") {
		t.Errorf("mail lacks %q (or shows UTC):\n%s", want, text)
	}
}

// TestFailedMailSaysWhenInReportZone: the failure mail says when the request
// failed, in the configured time zone with its name.
func TestFailedMailSaysWhenInReportZone(t *testing.T) {
	f, id := submitted(t)
	// December: Chicago is on standard time, six hours behind UTC.
	f.clock = time.Date(2026, 12, 1, 1, 45, 0, 0, time.UTC)
	if err := f.svc.FailPoisoned(context.Background(), fmt.Sprintf(`{"sr":%q,"step":"verify"}`, id), nil); err != nil {
		t.Fatal(err)
	}
	want := "Service request " + id + " failed on 2026-11-30 19:45 CST and needs a person."
	if text := f.mailText(t, "Failed:"); !strings.Contains(text, want) {
		t.Errorf("mail lacks %q:\n%s", want, text)
	}
}
