package renewals

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var chicago = func() *time.Location {
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		panic(err)
	}
	return loc
}()

// trueUpFixture is a renewals service on an in-memory store with the sample
// agencies (DOA, DET), DNR and DOT, the built-in catalog, and the clock at
// 15:00 Chicago time on January 12, 2027.
type trueUpFixture struct {
	store *memstore.Store
	svc   *Service
	now   time.Time
}

func newTrueUpFixture(t *testing.T) *trueUpFixture {
	t.Helper()
	ctx := context.Background()
	f := &trueUpFixture{store: memstore.New(), now: time.Date(2027, 1, 12, 15, 0, 0, 0, chicago)}
	auth := licensing.NewAuthorizer(f.store, []string{fakes.Admin}, false)
	agencies := append(fakes.Agencies(),
		licensing.Agency{ID: "DNR", Name: "Natural Resources", Contacts: []string{"x@dnr.example.gov"},
			Attribution: licensing.AttributionRule{Attribute: licensing.AttrUPNDomain, Values: []string{"dnr.example.gov"}}},
		licensing.Agency{ID: "DOT", Name: "Transportation", Contacts: []string{"x@dot.example.gov"},
			Attribution: licensing.AttributionRule{Attribute: licensing.AttrUPNDomain, Values: []string{"dot.example.gov"}}})
	if err := fakes.PutAgencies(ctx, licensing.NewAgencyAdmin(f.store, auth, nil), agencies...); err != nil {
		t.Fatal(err)
	}
	f.svc = NewService(Config{Auth: auth, Agencies: f.store, Purchases: f.store, Enrollments: f.store, Snapshots: f.store,
		Catalog: fakes.BuiltinCatalog{}, Location: chicago, Now: func() time.Time { return f.now }})
	return f
}

// snap publishes snapshot id taken at at, with licensed users in all and
// per agency (nil: not counted per agency), and usage.
func (f *trueUpFixture) snap(t *testing.T, id string, at time.Time, licensed int, agencies map[string]int, usage ...licensing.Usage) {
	t.Helper()
	s := licensing.Snapshot{ID: id, Taken: at, Full: true, LicensedUsers: licensed, AgencyUsers: agencies,
		Tenant: []licensing.TenantSku{{SkuID: fakes.SkuE3, PartNumber: "ENTERPRISEPACK"}, {SkuID: fakes.SkuVisio, PartNumber: "VISIOCLIENT"}}}
	if err := f.store.PublishSnapshot(context.Background(), s, usage); err != nil {
		t.Fatal(err)
	}
}

func (f *trueUpFixture) enroll(t *testing.T, e licensing.Enrollment) {
	t.Helper()
	if err := e.Validate(); err != nil {
		t.Fatalf("fixture enrollment: %v", err)
	}
	if _, _, err := f.store.PutEnrollment(context.Background(), e, licensing.Precondition{}); err != nil {
		t.Fatal(err)
	}
}

func chi(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, chicago) }

var day = licensing.NewDate

// platform is the enrollment platform of the tests: Office Professional
// Plus and Core CAL covered by Microsoft 365 E3 and E5 (Core CAL with a
// bridge), Windows Enterprise Upgrade covered by nothing.
func platform() []licensing.PlatformProduct {
	return []licensing.PlatformProduct{
		{Name: "Office Professional Plus", CoveredBy: []string{"Microsoft 365 E3", "Microsoft 365 E5"}},
		{Name: "Core CAL", CoveredBy: []string{"Microsoft 365 E3", "Microsoft 365 E5"}, Bridge: "Core CAL Bridge for Microsoft 365"},
		{Name: "Windows Enterprise Upgrade"},
	}
}

// enrollment is EA-7700123, anniversary April 1, 2027, last reported 1,200.
func enrollment() licensing.Enrollment {
	return licensing.Enrollment{Number: "EA-7700123", Anniversary: day(2027, 4, 1), Kind: licensing.EnrollmentEnterprise,
		PlatformProducts: platform(), LastReported: 1200}
}

// line is an order line without its reason, for comparing.
type line struct {
	Product  string
	Quantity int
	Kind     string
}

func linesOf(t *testing.T, list []licensing.OrderLine) []line {
	t.Helper()
	out := []line{}
	for _, l := range list {
		out = append(out, line{l.Product, l.Quantity, l.Kind})
		if !strings.HasSuffix(l.Reason, ".") || strings.Count(l.Reason, ". ") > 0 || len(l.Reason) < 30 {
			t.Errorf("%s %d %s: reason %q is not one sentence", l.Product, l.Quantity, l.Kind, l.Reason)
		}
	}
	return out
}

func intp(n int) *int { return &n }

// TestOrderLines checks the lines of an order for each kind of enrollment:
// increments less the reserved users of the covering services (summed per
// service without case), each reservation followed by its bridges,
// transitions in both periods, reductions, and a subscription's totals.
func TestOrderLines(t *testing.T) {
	reserved := []licensing.ServiceChange{
		{Service: "Microsoft 365 E3", Quantity: 30, Date: day(2026, 5, 4)},
		{Service: "Power BI Pro", Quantity: 8, Date: day(2026, 6, 1)},
		{Service: " microsoft 365 e3 ", Quantity: 15, Date: day(2026, 9, 14)},
	}
	transitioned := []licensing.ServiceChange{
		{Service: "Microsoft 365 E5", Quantity: 25, Date: day(2026, 6, 1)},
		{Service: "MICROSOFT 365 E5", Quantity: 5, Date: day(2026, 8, 3)},
	}
	const (
		opp, cal, win = "Office Professional Plus", "Core CAL", "Windows Enterprise Upgrade"
		bridge        = "Core CAL Bridge for Microsoft 365"
		e3, e5, bi    = "Microsoft 365 E3", "Microsoft 365 E5", "Power BI Pro"
	)
	tests := []struct {
		name         string
		change       func(e *licensing.Enrollment)
		current, inc int
		order, after []line
	}{
		{
			name:    "reservations below the growth",
			change:  func(e *licensing.Enrollment) { e.Reservations = reserved },
			current: 1375, inc: 175,
			order: []line{{opp, 130, licensing.LineIncrement}, {cal, 130, licensing.LineIncrement}, {win, 175, licensing.LineIncrement},
				{e3, 45, licensing.LineReservation}, {bridge, 45, licensing.LineBridge}, {bi, 8, licensing.LineReservation}},
		},
		{
			name:    "reservations above the growth: only what they do not cover",
			change:  func(e *licensing.Enrollment) { e.Reservations = reserved },
			current: 1220, inc: 20,
			order: []line{{win, 20, licensing.LineIncrement}, {e3, 45, licensing.LineReservation}, {bridge, 45, licensing.LineBridge}, {bi, 8, licensing.LineReservation}},
		},
		{
			name:    "a fall below the last count orders no growth",
			current: 1100, inc: 0,
			order: []line{},
		},
		{
			name: "transitions and a reduction",
			change: func(e *licensing.Enrollment) {
				e.Transitions = transitioned
				e.Reductions = []licensing.Reduction{{Product: win, Quantity: 12, Date: day(2026, 12, 1)}}
			},
			current: 1290, inc: 90,
			order: []line{{opp, 90, licensing.LineIncrement}, {cal, 90, licensing.LineIncrement}, {win, 90, licensing.LineIncrement},
				{e5, 30, licensing.LineTransitionPeriod}},
			after: []line{{e5, 30, licensing.LineSubscription}, {opp, -30, licensing.LineReduction},
				{bridge, 30, licensing.LineBridge}, {cal, -30, licensing.LineReduction}, {win, -12, licensing.LineReduction}},
		},
		{
			name: "subscription: annual totals, whatever was reported last",
			change: func(e *licensing.Enrollment) {
				e.Kind, e.LastReported = licensing.EnrollmentSubscription, 700
				e.Reservations = reserved[:1]
			},
			current: 640, inc: 640,
			order: []line{{opp, 610, licensing.LineAnnual}, {cal, 610, licensing.LineAnnual}, {win, 640, licensing.LineAnnual},
				{e3, 30, licensing.LineReservation}, {bridge, 30, licensing.LineBridge}},
		},
	}
	for _, tt := range tests {
		e := enrollment()
		if tt.change != nil {
			tt.change(&e)
		}
		inc, order, after := orderOf(e, tt.current)
		if tt.after == nil {
			tt.after = []line{}
		}
		type result struct {
			Inc          int
			Order, After []line
		}
		if diff := cmp.Diff(result{tt.inc, tt.order, tt.after}, result{inc, linesOf(t, order), linesOf(t, after)}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// TestOrderReasons checks that each line says why in terms of its numbers.
func TestOrderReasons(t *testing.T) {
	e := enrollment()
	e.Reservations = []licensing.ServiceChange{{Service: "Microsoft 365 E3", Quantity: 30, Date: day(2026, 5, 4)}, {Service: "microsoft 365 e3", Quantity: 15, Date: day(2026, 9, 14)}}
	e.Transitions = []licensing.ServiceChange{{Service: "Microsoft 365 E5", Quantity: 6, Date: day(2026, 6, 1)}}
	_, order, after := orderOf(e, 1375)
	e.Kind = licensing.EnrollmentSubscription
	_, annual, _ := orderOf(e, 1375)
	for _, c := range []struct {
		line licensing.OrderLine
		says []string
	}{
		{order[0], []string{"grew by 175", "from 1200 to 1375", "less the 45 reserved users of Microsoft 365 E3, which covers Office Professional Plus"}},
		{order[2], []string{"grew by 175 since the last true-up (from 1200 to 1375)."}},
		{order[3], []string{"45 users were reserved", "on 2026-05-04 and 2026-09-14"}},
		{order[4], []string{"45 reserved users of Microsoft 365 E3 need Core CAL Bridge for Microsoft 365", "part of Core CAL"}},
		{order[5], []string{"6 users moved", "Microsoft 365 E5", "on 2026-06-01", "until the anniversary on 2027-04-01"}},
		{after[0], []string{"From the anniversary on 2027-04-01", "full Microsoft 365 E5 subscription"}},
		{after[1], []string{"6 fewer users need Office Professional Plus"}},
		{annual[0], []string{"every qualified user (1375), less the 45 reserved users"}},
	} {
		for _, s := range c.says {
			if !strings.Contains(c.line.Reason, s) {
				t.Errorf("%s %s: reason %q does not say %q", c.line.Kind, c.line.Product, c.line.Reason, s)
			}
		}
	}
}

func TestWorksheetZeroUsage(t *testing.T) {
	f := newTrueUpFixture(t)
	e := enrollment()
	e.LastReported = 900
	for _, current := range []int{900, 870} {
		ws, err := f.svc.worksheet(context.Background(), e, day(2027, 2, 1), intp(current))
		if err != nil {
			t.Fatal(err)
		}
		if ws.Increment != 0 || len(ws.Order) != 0 || ws.Order == nil || !ws.UpdateStatement {
			t.Errorf("current %d: increment %d, order %v, update statement %v; want 0, [] and true", current, ws.Increment, ws.Order, ws.UpdateStatement)
		}
		if !slices.ContainsFunc(ws.Notes, func(n string) bool {
			return strings.Contains(n, "update statement") && strings.Contains(n, "2027-03-02")
		}) {
			t.Errorf("current %d: notes %q do not say the update statement is due by the window's close", current, ws.Notes)
		}
	}
	// A transition is something to order: no update statement.
	e.Transitions = []licensing.ServiceChange{{Service: "Microsoft 365 E5", Quantity: 3, Date: day(2026, 6, 1)}}
	ws, err := f.svc.worksheet(context.Background(), e, day(2027, 2, 1), intp(900))
	if err != nil {
		t.Fatal(err)
	}
	if ws.UpdateStatement || len(ws.Order) != 1 {
		t.Errorf("with a transition: update statement %v, order %v", ws.UpdateStatement, ws.Order)
	}
	// A subscription enrollment never sends one.
	e.Transitions, e.Kind = nil, licensing.EnrollmentSubscription
	if ws, err = f.svc.worksheet(context.Background(), e, day(2027, 2, 1), intp(0)); err != nil || ws.UpdateStatement {
		t.Errorf("subscription with 0 users: update statement %v (%v)", ws.UpdateStatement, err)
	}
}

func TestWorksheetWindow(t *testing.T) {
	f := newTrueUpFixture(t)
	tests := []struct {
		anniversary, opens, closes licensing.Date
	}{
		{day(2028, 3, 1), day(2028, 1, 1), day(2028, 1, 31)},
		{day(2028, 2, 29), day(2027, 12, 31), day(2028, 1, 30)},
		{day(2027, 3, 31), day(2027, 1, 30), day(2027, 3, 1)},
	}
	for _, tt := range tests {
		e := enrollment()
		e.Anniversary = tt.anniversary
		for _, c := range []struct {
			on    licensing.Date
			state string
		}{
			{tt.opens.AddDays(-1), licensing.WindowBefore},
			{tt.opens, licensing.WindowOpen},
			{tt.opens.AddDays(1), licensing.WindowOpen},
			{tt.closes.AddDays(-1), licensing.WindowOpen},
			{tt.closes, licensing.WindowOpen},
			{tt.closes.AddDays(1), licensing.WindowClosed},
		} {
			ws, err := f.svc.worksheet(context.Background(), e, c.on, intp(1250))
			if err != nil {
				t.Fatal(err)
			}
			want := licensing.TrueUpWindow{Opens: tt.opens, Closes: tt.closes, State: c.state}
			if ws.Window != want {
				t.Errorf("anniversary %s on %s: window %+v, want %+v", tt.anniversary, c.on, ws.Window, want)
			}
		}
		passed := func(on licensing.Date) bool {
			ws, err := f.svc.worksheet(context.Background(), e, on, intp(1250))
			if err != nil {
				t.Fatal(err)
			}
			return slices.ContainsFunc(ws.Notes, func(n string) bool {
				return strings.Contains(n, "has passed") && strings.Contains(n, "lastReported 1250") && strings.Contains(n, tt.anniversary.AddYears(1).String())
			})
		}
		if passed(tt.anniversary) || !passed(tt.anniversary.AddDays(1)) {
			t.Errorf("anniversary %s: the note that it has passed is on the day itself (%v) or missing the day after (%v)",
				tt.anniversary, passed(tt.anniversary), passed(tt.anniversary.AddDays(1)))
		}
	}
}

func TestWorksheetPeakFromSnapshots(t *testing.T) {
	f := newTrueUpFixture(t)
	e := enrollment() // last anniversary 2026-04-01
	f.snap(t, "before", chi(2026, 3, 31, 23), 5000, nil)
	f.snap(t, "first", chi(2026, 4, 1, 0), 1210, nil)
	// 22:00 on November 2 in Chicago is November 3 in UTC.
	f.snap(t, "peak", chi(2026, 11, 2, 22), 1333, nil)
	f.snap(t, "again", chi(2026, 12, 7, 9), 1333, nil)
	f.snap(t, "latest", chi(2027, 1, 12, 23), 1301, nil)
	f.snap(t, "after", chi(2027, 1, 13, 0), 9000, nil)
	ws, err := f.svc.worksheet(context.Background(), e, day(2027, 1, 12), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("current %d from %s; peak %d on %s; latest %d on %s; %d snapshots; increment %d",
		ws.Current, ws.CurrentFrom, ws.Peak, ws.PeakOn, ws.Latest, ws.LatestOn, ws.Snapshots, ws.Increment)
	want := "current 1333 from peak; peak 1333 on 2026-11-02; latest 1301 on 2027-01-12; 4 snapshots; increment 133"
	if got != want {
		t.Errorf("worksheet:\n got %s\nwant %s", got, want)
	}

	// A given count replaces the peak, which is still shown.
	ws, err = f.svc.worksheet(context.Background(), e, day(2027, 1, 12), intp(1260))
	if err != nil {
		t.Fatal(err)
	}
	if ws.Current != 1260 || ws.CurrentFrom != licensing.CurrentGiven || ws.Increment != 60 || ws.Peak != 1333 || ws.Latest != 1301 {
		t.Errorf("given 1260: current %d from %s, increment %d, peak %d, latest %d", ws.Current, ws.CurrentFrom, ws.Increment, ws.Peak, ws.Latest)
	}
}

func TestWorksheetNeedsSnapshotsOrCurrent(t *testing.T) {
	f := newTrueUpFixture(t)
	f.snap(t, "old", chi(2026, 3, 2, 12), 1500, nil)
	_, err := f.svc.worksheet(context.Background(), enrollment(), day(2027, 1, 12), nil)
	var le *licensing.Error
	if !errors.As(err, &le) || le.Code != licensing.Invalid || len(le.Fields) != 1 || le.Fields[0].Field != "current" ||
		!strings.Contains(le.Message, "from 2026-04-01 to 2027-01-12") || !strings.Contains(le.Message, "current=N") {
		t.Fatalf("no snapshot in range: %v (%+v), want Invalid on current naming the range and current=N", err, le)
	}
	ws, err := f.svc.worksheet(context.Background(), enrollment(), day(2027, 1, 12), intp(1250))
	if err != nil || ws.Snapshots != 0 || ws.Peak != 0 || !ws.PeakOn.IsZero() || ws.Increment != 50 {
		t.Errorf("given, no snapshot: %+v (%v)", ws, err)
	}
	if _, err := f.svc.worksheet(context.Background(), enrollment(), day(2026, 3, 31), intp(1250)); licensing.ErrorCode(err) != licensing.Invalid || !strings.Contains(fmt.Sprint(licensing.ErrorFields(err)), "on") {
		t.Errorf("a day before the year accounted for: %v, want Invalid on on", err)
	}
}

func TestWorksheetAgencySplit(t *testing.T) {
	f := newTrueUpFixture(t)
	e := enrollment()
	e.LastReported = 1000
	// Agency peaks: DOA 5, DET 3, DNR 3, unattributed 2, conflict 1 (14 in
	// all), each at a different snapshot; DOT, without users, gets a row of
	// zeros.
	f.snap(t, "s1", chi(2026, 5, 4, 8), 1002, map[string]int{"DOA": 5, "DET": 1, licensing.Unattributed: 2})
	f.snap(t, "s2", chi(2026, 6, 4, 8), 1003, map[string]int{"DOA": 4, "DET": 3, "DNR": 3, licensing.Conflicted: 1})
	f.snap(t, "s3", chi(2026, 7, 4, 8), 1007, nil)
	ws, err := f.svc.worksheet(context.Background(), e, day(2027, 1, 12), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ws.Increment != 7 {
		t.Fatalf("increment = %d, want 7", ws.Increment)
	}
	// Quotas of 7: DOA 2.5, DET 1.5, DNR 1.5, unattributed 1, conflict 0.5;
	// the two seats left go to the equal remainders by agency id:
	// "(conflict)" and DET.
	want := []licensing.AgencyShare{
		{Agency: "DET", Name: "Technology", Peak: 3, Share: 2},
		{Agency: "DNR", Name: "Natural Resources", Peak: 3, Share: 1},
		{Agency: "DOA", Name: "Administration", Peak: 5, Share: 2},
		{Agency: "DOT", Name: "Transportation"},
		{Agency: licensing.Unattributed, Name: "Users no agency's rule matches", Peak: 2, Share: 1},
		{Agency: licensing.Conflicted, Name: "Users several agencies' rules match", Peak: 1, Share: 1},
	}
	if diff := cmp.Diff(want, ws.Agencies); diff != "" {
		t.Errorf("split (-want +got):\n%s", diff)
	}
	if !slices.ContainsFunc(ws.Notes, func(n string) bool { return strings.HasPrefix(n, "1 usage snapshot was taken before") }) {
		t.Errorf("notes %q do not say 1 snapshot was left out of the split", ws.Notes)
	}

	// Only snapshots without agency counts: no split, and a note.
	g := newTrueUpFixture(t)
	g.snap(t, "s3", chi(2026, 7, 4, 8), 1007, nil)
	ws, err = g.svc.worksheet(context.Background(), e, day(2027, 1, 12), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws.Agencies) != 0 || !slices.ContainsFunc(ws.Notes, func(n string) bool { return strings.Contains(n, "not split") }) {
		t.Errorf("no agency counts: agencies %v, notes %q", ws.Agencies, ws.Notes)
	}
}

// TestLargestRemainderAddsUp checks on many awkward cases that the shares
// add up to the increment exactly and stay within one of their quotas.
func TestLargestRemainderAddsUp(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for range 2000 {
		n := r.IntN(5000)
		if r.IntN(4) == 0 {
			n = licensing.MaxQualifiedCount - r.IntN(3)
		}
		rows := make([]licensing.AgencyShare, 1+r.IntN(40))
		total := 0
		for i := range rows {
			rows[i] = licensing.AgencyShare{Agency: fmt.Sprintf("A%02d", i), Peak: r.IntN(3) * r.IntN(licensing.MaxQualifiedCount/40)}
			total += rows[i].Peak
		}
		if total == 0 {
			continue
		}
		sum := 0
		for _, row := range largestRemainder(n, total, rows) {
			quota := float64(n) * float64(row.Peak) / float64(total)
			if float64(row.Share) < quota-1 || float64(row.Share) > quota+1 {
				t.Fatalf("n %d: %s share %d, quota %.2f", n, row.Agency, row.Share, quota)
			}
			sum += row.Share
		}
		if sum != n {
			t.Fatalf("shares add up to %d, want %d (%v)", sum, n, rows)
		}
	}
}

func TestWorksheetUncovered(t *testing.T) {
	f := newTrueUpFixture(t)
	activated := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lines := []licensing.Purchase{
		{ID: "p1", Agency: "DOA", SkuID: fakes.SkuE3, PartNumber: "ENTERPRISEPACK", Quantity: 10, TermStart: day(2026, 1, 1), TermEnd: day(2027, 6, 30), PONumber: "PO-71", ActivatedAt: &activated, Source: licensing.SourceImport},
		{ID: "p2", Agency: "DOA", SkuID: fakes.SkuE3, PartNumber: "ENTERPRISEPACK", Quantity: 10, TermStart: day(2026, 10, 1), TermEnd: day(2027, 6, 30), PONumber: "PO-72", ActivatedAt: &activated, Source: licensing.SourceImport},
		{ID: "p3", Agency: "DET", SkuID: fakes.SkuE3, Quantity: 40, TermStart: day(2026, 1, 1), TermEnd: day(2027, 6, 30), PONumber: "PO-73", ActivatedAt: &activated, Source: licensing.SourceImport},
	}
	if _, err := f.store.AddPurchases(context.Background(), lines, "test", "fixture"); err != nil {
		t.Fatal(err)
	}
	use := func(agency, sku string, n int) licensing.Usage {
		return licensing.Usage{Agency: agency, SkuID: sku, Users: n}
	}
	// DOA's E3: short 2, then 5 (the worst), then covered by the second
	// line from October. DET's Visio: nothing bought, 3 at most. The
	// unattributed users are nobody's purchases.
	f.snap(t, "s1", chi(2026, 5, 4, 8), 1210, nil, use("DOA", fakes.SkuE3, 12), use("DET", fakes.SkuE3, 40), use(licensing.Unattributed, fakes.SkuE3, 9))
	f.snap(t, "s2", chi(2026, 8, 3, 20), 1215, nil, use("DOA", fakes.SkuE3, 15), use("DET", fakes.SkuVisio, 3), use("DET", fakes.SkuE3, 39))
	f.snap(t, "s3", chi(2026, 11, 2, 8), 1220, nil, use("DOA", fakes.SkuE3, 18), use("DET", fakes.SkuVisio, 1))
	ws, err := f.svc.worksheet(context.Background(), enrollment(), day(2027, 1, 12), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []licensing.Uncovered{
		{Agency: "DET", SkuID: fakes.SkuVisio, PartNumber: "VISIOCLIENT", Product: "Visio Plan 2", Peak: 3, PeakOn: day(2026, 8, 3), Purchased: 0, Short: 3},
		{Agency: "DOA", SkuID: fakes.SkuE3, PartNumber: "ENTERPRISEPACK", Product: "Office 365 E3", Peak: 15, PeakOn: day(2026, 8, 3), Purchased: 10, Short: 5},
	}
	if diff := cmp.Diff(want, ws.Uncovered); diff != "" {
		t.Errorf("uncovered (-want +got):\n%s", diff)
	}

	// Without a catalog, products are named by part number.
	f.svc.cfg.Catalog = nil
	if ws, err = f.svc.worksheet(context.Background(), enrollment(), day(2027, 1, 12), nil); err != nil || len(ws.Uncovered) != 2 || ws.Uncovered[0].Product != "VISIOCLIENT" {
		t.Errorf("no catalog: %+v (%v)", ws.Uncovered, err)
	}
}

// TestEntitlementsByStretch checks the worked-out-once entitlements against
// licensing.EntitlementsOn on every day of three years, for a ledger with
// renewals, corrections, pending lines and the grace period.
func TestEntitlementsByStretch(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	activated := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var lines []licensing.Purchase
	for i := range 300 {
		start := day(2025, time.Month(1+r.IntN(12)), 1+r.IntN(28)).AddDays(r.IntN(400))
		p := licensing.Purchase{ID: fmt.Sprintf("p%03d", i), Agency: []string{"DOA", "DET", "DNR"}[r.IntN(3)],
			SkuID: []string{fakes.SkuE3, strings.ToUpper(fakes.SkuVisio)}[r.IntN(2)], Quantity: 1 + r.IntN(50),
			TermStart: start, TermEnd: start.AddDays(30 + r.IntN(500)), ActivatedAt: &activated}
		switch k := r.IntN(10); {
		case k == 0:
			p.ActivatedAt = nil
		case k < 3 && i > 0:
			old := lines[r.IntN(len(lines))]
			p.Agency, p.SkuID, p.Replaces = old.Agency, old.SkuID, []string{old.ID}
		case k < 5 && i > 0:
			old := lines[r.IntN(len(lines))]
			p.Agency, p.SkuID, p.Corrects, p.Quantity = old.Agency, old.SkuID, old.ID, -r.IntN(5)
			p.TermStart, p.TermEnd = licensing.Date{}, licensing.Date{}
		}
		lines = append(lines, p)
	}
	terms := licensing.DefaultTerms()
	ents := newEntitlements(lines, terms)
	for d := day(2025, 1, 1); d.Before(day(2028, 1, 1)); d = d.AddDays(1) {
		want := map[[2]string]int{}
		for _, e := range licensing.EntitlementsOn(lines, d, terms) {
			want[[2]string{e.Agency, strings.ToLower(e.SkuID)}] = e.Quantity
		}
		if diff := cmp.Diff(want, ents.on(d)); diff != "" {
			t.Fatalf("%s (-want +got):\n%s", d, diff)
		}
	}
	if len(ents.by) > len(ents.bounds)+1 || len(ents.by) < 100 {
		t.Errorf("%d stretches worked out for %d bounds", len(ents.by), len(ents.bounds))
	}
}

func TestWorksheetAPI(t *testing.T) {
	f := newTrueUpFixture(t)
	e := enrollment()
	f.enroll(t, e)
	f.snap(t, "s1", chi(2026, 12, 1, 8), 1240, map[string]int{"DOA": 30, "DET": 10})
	admin := &licensing.Principal{Name: fakes.Admin}
	ctx := context.Background()

	ws, err := f.svc.Worksheet(ctx, admin, " EA-7700123 ", TrueUpOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ws.On != day(2027, 1, 12) || ws.Current != 1240 || ws.Increment != 40 || !ws.Prepared.Equal(f.now) || ws.Window.State != licensing.WindowBefore {
		t.Errorf("today's worksheet: on %s, current %d, increment %d, prepared %v, window %s", ws.On, ws.Current, ws.Increment, ws.Prepared, ws.Window.State)
	}
	if ws, err = f.svc.Worksheet(ctx, admin, "EA-7700123", TrueUpOptions{On: day(2027, 2, 10), Current: intp(1300)}); err != nil || ws.On != day(2027, 2, 10) || ws.Increment != 100 || ws.Window.State != licensing.WindowOpen {
		t.Errorf("on and current given: %+v (%v)", ws, err)
	}

	if ws, err := f.svc.PrepareWorksheet(ctx, "EA-7700123", TrueUpOptions{}); err != nil || ws.Increment != 40 {
		t.Errorf("command line, no caller: %+v (%v)", ws, err)
	}

	refused := []struct {
		name   string
		caller *licensing.Principal
		number string
		opts   TrueUpOptions
		code   licensing.Code
		field  string
	}{
		{"delegate", &licensing.Principal{Name: fakes.Delegate}, "EA-7700123", TrueUpOptions{}, licensing.Forbidden, ""},
		{"nobody", nil, "EA-7700123", TrueUpOptions{}, licensing.Unauthenticated, ""},
		{"unknown", admin, "EA-0000001", TrueUpOptions{}, licensing.NotFound, ""},
		{"not a number", admin, "EA 1/2", TrueUpOptions{}, licensing.NotFound, ""},
		{"negative current", admin, "EA-7700123", TrueUpOptions{Current: intp(-1)}, licensing.Invalid, "current"},
		{"huge current", admin, "EA-7700123", TrueUpOptions{Current: intp(licensing.MaxQualifiedCount + 1)}, licensing.Invalid, "current"},
	}
	for _, r := range refused {
		_, err := f.svc.Worksheet(ctx, r.caller, r.number, r.opts)
		fields := licensing.ErrorFields(err)
		if licensing.ErrorCode(err) != r.code || (r.field != "" && (len(fields) != 1 || fields[0].Field != r.field)) {
			t.Errorf("%s: %v (fields %v), want %s %s", r.name, err, fields, r.code, r.field)
		}
	}
}

func TestWriteWorksheet(t *testing.T) {
	f := newTrueUpFixture(t)
	ws := licensing.TrueUpWorksheet{Enrollment: "EA-7700123"}
	if err := f.svc.WriteWorksheet(&bytes.Buffer{}, ws); licensing.ErrorCode(err) != licensing.Internal {
		t.Errorf("without a workbook writer: %v, want Internal", err)
	}
	w := &recordingWriter{}
	f.svc.cfg.Worksheets = w
	if err := f.svc.WriteWorksheet(&bytes.Buffer{}, ws); err != nil || w.got.Enrollment != "EA-7700123" {
		t.Errorf("WriteWorksheet: %v, writer got %+v", err, w.got)
	}
}

// TestWorksheetWorkbook writes the workbook to the files under a name that
// carries the link's expiry and the download name, and links it; a
// workbook that fails half-way leaves no file.
func TestWorksheetWorkbook(t *testing.T) {
	f := newTrueUpFixture(t)
	f.enroll(t, enrollment())
	admin := &licensing.Principal{Name: fakes.Admin}
	ctx := context.Background()
	opts := TrueUpOptions{Current: intp(1300)}
	if _, _, _, err := f.svc.WorksheetWorkbook(ctx, admin, "EA-7700123", opts, 15*time.Minute); licensing.ErrorCode(err) != licensing.Internal {
		t.Errorf("not configured: %v, want Internal", err)
	}
	f.svc.cfg.Files, f.svc.cfg.Links, f.svc.cfg.Worksheets = f.store, prefixLinker("https://files.example/"), &recordingWriter{}
	if _, _, _, err := f.svc.WorksheetWorkbook(ctx, &licensing.Principal{Name: fakes.Delegate}, "EA-7700123", opts, 15*time.Minute); licensing.ErrorCode(err) != licensing.Forbidden {
		t.Errorf("delegate: %v, want Forbidden", err)
	}
	link, file, ws, err := f.svc.WorksheetWorkbook(ctx, admin, "EA-7700123", opts, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	pattern := regexp.MustCompile(`^reports/adhoc/20270112T211500Z/[0-9a-f]{12}/true-up-EA-7700123-2027-01-12\.xlsx$`)
	if !pattern.MatchString(file) || link != "https://files.example/"+file || ws.Increment != 100 {
		t.Errorf("workbook %q, link %q, increment %d", file, link, ws.Increment)
	}
	rc, err := f.store.Open(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	if string(body) != "PK" {
		t.Errorf("file holds %q", body)
	}

	f.svc.cfg.Worksheets = failingWorksheets{}
	if _, _, _, err := f.svc.WorksheetWorkbook(ctx, admin, "EA-7700123", opts, 15*time.Minute); licensing.ErrorCode(err) != licensing.Internal {
		t.Errorf("failed workbook: %v, want Internal", err)
	}
	var files []string
	if err := f.store.ListFiles(ctx, "reports/", func(fi licensing.FileInfo) error { files = append(files, fi.Name); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0] != file {
		t.Errorf("files = %q, want only the first workbook", files)
	}
}

// prefixLinker links a file by putting its name after the prefix.
type prefixLinker string

func (p prefixLinker) Link(_ context.Context, name string, _ time.Duration) (string, error) {
	return string(p) + name, nil
}

// failingWorksheets writes half a workbook, then fails.
type failingWorksheets struct{}

func (failingWorksheets) WriteTrueUp(w io.Writer, _ licensing.TrueUpWorksheet) error {
	w.Write([]byte("PK\x03\x04"))
	return errors.New("out of memory")
}

type recordingWriter struct{ got licensing.TrueUpWorksheet }

func (r *recordingWriter) WriteTrueUp(w io.Writer, ws licensing.TrueUpWorksheet) error {
	r.got = ws
	_, err := w.Write([]byte("PK"))
	return err
}

func TestWriteWorksheetText(t *testing.T) {
	f := newTrueUpFixture(t)
	e := enrollment()
	e.Reservations = []licensing.ServiceChange{{Service: "Microsoft 365 E3", Quantity: 12, Date: day(2026, 5, 4)}}
	e.PlatformProducts = e.PlatformProducts[1:2]
	f.snap(t, "s1", chi(2026, 12, 1, 8), 1250, map[string]int{"DOA": 30, "DET": 10}, licensing.Usage{Agency: "DET", SkuID: fakes.SkuVisio, Users: 2})
	f.snap(t, "s2", chi(2027, 2, 1, 8), 1244, nil)
	ws, err := f.svc.worksheet(context.Background(), e, day(2027, 2, 3), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Short reasons keep the table narrow; a tab or a line break stays
	// inside its cell.
	ws.Order[0].Product, ws.Order[0].Reason = "Core\tCAL", "Grew by 50,\nless 12."
	ws.Order[1].Reason, ws.Order[2].Reason = "Reserved.", "Bridge."
	want := `True-up worksheet: EA-7700123 (enterprise), prepared for 2027-02-03
Anniversary    2027-04-01
Window         2027-01-31 to 2027-03-02 (open on 2027-02-03)
Last reported  1200
Current        1250 (peak of licensed users since the last anniversary)
Peak           1250 on 2026-12-01
Latest         1244 on 2027-02-01
Snapshots      2
Increment      50

Order (due in the window)
  Product                            Quantity  Kind         Reason
  Core CAL                           38        increment    Grew by 50, less 12.
  Microsoft 365 E3                   12        reservation  Reserved.
  Core CAL Bridge for Microsoft 365  12        bridge       Bridge.

After the anniversary
  (none)

Agency split of the increment
  Agency  Name               Peak  Share
  DET     Technology         10    13
  DNR     Natural Resources  0     0
  DOA     Administration     30    37
  DOT     Transportation     0     0
  Total                            50

Agencies whose purchases did not cover their peak use
  Agency  Product       Peak  On          Purchased  Short
  DET     Visio Plan 2  2     2026-12-01  0          2

Notes
  - 1 usage snapshot was taken before licensed users were counted per agency: left out of the agency split.
`
	var b strings.Builder
	if err := WriteWorksheetText(&b, ws); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}

	ws.Order, ws.Agencies, ws.Uncovered, ws.Notes, ws.UpdateStatement, ws.CurrentFrom, ws.Snapshots = nil, nil, nil, nil, true, licensing.CurrentGiven, 0
	b.Reset()
	if err := WriteWorksheetText(&b, ws); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Current        1250 (given)\nSnapshots      0\n", "sign and send the update statement (a zero-usage order) by 2027-03-02."} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("text does not say %q:\n%s", s, b.String())
		}
	}
	if err := WriteWorksheetText(failingWriter{}, ws); err == nil {
		t.Error("a failing writer gave no error")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// BenchmarkWorksheet prepares a worksheet over a year of daily snapshots
// (365), each with 200 agencies using 5 products, against a ledger of 2,000
// lines, on the in-memory store: the cost of the peak, the split and the
// uncovered agencies without storage latency.
func BenchmarkWorksheet(b *testing.B) {
	ctx := context.Background()
	store := memstore.New()
	auth := licensing.NewAuthorizer(store, []string{fakes.Admin}, false)
	skus := []string{fakes.SkuE3, fakes.SkuVisio, fakes.SkuPowerBIPro, "53818b1b-4a27-454b-8896-0dba576410e6", "a403ebcc-fae0-4ca2-8c8c-7a907fd6c235"}
	activated := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var lines []licensing.Purchase
	for a := range 200 {
		for i, sku := range skus {
			for n := range 2 {
				lines = append(lines, licensing.Purchase{ID: fmt.Sprintf("p-%03d-%d-%d", a, i, n), Agency: fmt.Sprintf("A%03d", a), SkuID: sku, Quantity: 20,
					TermStart: day(2026, time.Month(1+6*n), 1), TermEnd: day(2027, 6, 30), PONumber: fmt.Sprintf("PO-%03d-%d-%d", a, i, n), ActivatedAt: &activated, Source: licensing.SourceImport})
			}
		}
	}
	if _, err := store.AddPurchases(ctx, lines, "bench", "bench"); err != nil {
		b.Fatal(err)
	}
	for d := range 365 {
		per := map[string]int{}
		var usage []licensing.Usage
		for a := range 200 {
			id := fmt.Sprintf("A%03d", a)
			per[id] = 30 + (a*7+d)%25
			for _, sku := range skus {
				usage = append(usage, licensing.Usage{Agency: id, SkuID: sku, Users: 15 + (a+d)%30})
			}
		}
		s := licensing.Snapshot{ID: fmt.Sprintf("s%03d", d), Taken: chi(2026, 4, 1+d, 6), Full: true, LicensedUsers: 6000 + d%97, AgencyUsers: per}
		if err := store.PublishSnapshot(ctx, s, usage); err != nil {
			b.Fatal(err)
		}
	}
	svc := NewService(Config{Auth: auth, Agencies: store, Purchases: store, Enrollments: store, Snapshots: store, Location: chicago,
		Now: func() time.Time { return chi(2027, 3, 1, 12) }})
	e := enrollment()
	e.LastReported = 5900
	b.ReportAllocs()
	for b.Loop() {
		ws, err := svc.worksheet(ctx, e, day(2027, 3, 1), nil)
		if err != nil || ws.Snapshots != 335 || len(ws.Agencies) != 200 {
			b.Fatalf("%d snapshots, %d agencies (%v)", ws.Snapshots, len(ws.Agencies), err)
		}
	}
}
