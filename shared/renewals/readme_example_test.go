package renewals

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// TestReadmeWorkedExample is the worked example of the README's true-up
// section, so that the README says what the code does: three snapshots since
// the last anniversary, reservations of one service on two dates, a
// transition, and an agency split of the increment.
func TestReadmeWorkedExample(t *testing.T) {
	f := newTrueUpFixture(t)
	f.enroll(t, licensing.Enrollment{Number: "EA-2468135", Anniversary: day(2027, 5, 1), Kind: licensing.EnrollmentEnterprise,
		PlatformProducts: []licensing.PlatformProduct{
			{Name: "Office Professional Plus", CoveredBy: []string{"Office 365 E3"}},
			{Name: "Core CAL", CoveredBy: []string{"Office 365 E3"}, Bridge: "Core CAL Bridge"},
			{Name: "Windows OS Upgrade"},
		},
		LastReported: 2410,
		Reservations: []licensing.ServiceChange{{Service: "Office 365 E3", Quantity: 35, Date: day(2026, 8, 12)}, {Service: "Office 365 E3", Quantity: 12, Date: day(2026, 10, 3)}},
		Transitions:  []licensing.ServiceChange{{Service: "Office 365 E3", Quantity: 20, Date: day(2026, 6, 15)}},
	})
	f.snap(t, "s1", chi(2026, 6, 8, 6), 2431, map[string]int{"DOA": 1190, "DOT": 820, "DNR": 410, licensing.Unattributed: 11})
	f.snap(t, "s2", chi(2026, 11, 9, 6), 2497, map[string]int{"DOA": 1210, "DOT": 845, "DNR": 430, licensing.Unattributed: 12})
	f.snap(t, "s3", chi(2027, 2, 22, 6), 2488, map[string]int{"DOA": 1205, "DOT": 840, "DNR": 431, licensing.Unattributed: 12})
	f.now = time.Date(2027, 3, 10, 9, 0, 0, 0, chicago)

	ws, err := f.svc.Worksheet(context.Background(), &licensing.Principal{Name: fakes.Admin}, "EA-2468135", TrueUpOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := [...]any{ws.Window, ws.Current, ws.Peak, ws.PeakOn, ws.Latest, ws.Increment}; got != [...]any{
		licensing.TrueUpWindow{Opens: day(2027, 3, 2), Closes: day(2027, 4, 1), State: licensing.WindowOpen}, 2497, 2497, day(2026, 11, 9), 2488, 87} {
		t.Errorf("window, current, peak, peak on, latest, increment = %v", got)
	}
	want := []line{
		{"Office Professional Plus", 40, licensing.LineIncrement},
		{"Core CAL", 40, licensing.LineIncrement},
		{"Windows OS Upgrade", 87, licensing.LineIncrement},
		{"Office 365 E3", 47, licensing.LineReservation},
		{"Core CAL Bridge", 47, licensing.LineBridge},
		{"Office 365 E3", 20, licensing.LineTransitionPeriod},
	}
	if diff := cmp.Diff(want, linesOf(t, ws.Order)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	wantAfter := []line{
		{"Office 365 E3", 20, licensing.LineSubscription},
		{"Office Professional Plus", -20, licensing.LineReduction},
		{"Core CAL Bridge", 20, licensing.LineBridge},
		{"Core CAL", -20, licensing.LineReduction},
	}
	if diff := cmp.Diff(wantAfter, linesOf(t, ws.AfterAnniversary)); diff != "" {
		t.Errorf("after the anniversary (-want +got):\n%s", diff)
	}
	shares := map[string][2]int{}
	for _, a := range ws.Agencies {
		shares[a.Agency] = [2]int{a.Peak, a.Share}
	}
	if diff := cmp.Diff(map[string][2]int{"DOA": {1210, 42}, "DOT": {845, 30}, "DNR": {431, 15}, "DET": {0, 0}, licensing.Unattributed: {12, 0}}, shares); diff != "" {
		t.Errorf("agency split: peak and share (-want +got):\n%s", diff)
	}
	if testing.Verbose() {
		var b bytes.Buffer
		if err := WriteWorksheetText(&b, ws); err != nil {
			t.Fatal(err)
		}
		t.Log("\n" + b.String())
	}
}
