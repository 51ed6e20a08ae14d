package xlsx

import (
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Sheet names of the true-up workbook.
const (
	sheetTrueUp = "True-up"
	sheetSplit  = "Agency split"
)

// Sentences of the true-up workbook.
const (
	noteNothingOrdered = "Nothing is ordered in the window."
	noteNothingAfter   = "Nothing changes at the anniversary."
	noteSplit          = "Each agency's share of the increment is in proportion to its peak of licensed users since the last anniversary; the remainders go to the largest fractions, so the shares add up to the increment exactly. Users no agency's rule matches, and users several agencies' rules match, have rows of their own."
	noteAllCovered     = "Every agency's purchases covered its use of each product at every usage snapshot since the last anniversary."
	noteUncovered      = "Purchased then counts the agency's purchases in force on the day of the snapshot where its use exceeded them the most."
)

var _ licensing.TrueUpWriter = (*ReportWriter)(nil)

// kindLabels explain the enrollment kinds in the header.
var kindLabels = map[string]string{
	licensing.EnrollmentEnterprise:   "Enterprise: a true-up of the growth since the last one",
	licensing.EnrollmentSubscription: "Subscription: an annual order of totals",
}

// WriteTrueUp writes ws to out as a workbook with the sheets True-up (the
// enrollment, its window and counts, the order due in the window with a
// reason per line, the changes at the anniversary, the update statement
// when it is due, and the notes) and Agency split (each agency's peak and
// share, a total equal to the increment, and the agencies whose purchases
// fell short of their use). Numbers and dates are number and date cells. An
// error from out is returned as it is; anything else is Internal.
func (rw *ReportWriter) WriteTrueUp(out io.Writer, ws licensing.TrueUpWorksheet) error {
	about := docAbout{
		title:   "True-up worksheet: " + ws.Enrollment + ", " + ws.On.String(),
		subject: "The order due for enrollment " + ws.Enrollment + " at its anniversary " + ws.Anniversary.String() + ", and each agency's share",
	}
	return rw.write(out, about, []string{sheetTrueUp, sheetSplit}, func(f *excelize.File, st *styles) error {
		if err := rw.trueUpSheet(f, st, ws); err != nil {
			return err
		}
		return splitSheet(f, st, ws)
	})
}

// trueUpSheet writes the True-up sheet.
func (rw *ReportWriter) trueUpSheet(f *excelize.File, st *styles, ws licensing.TrueUpWorksheet) error {
	g := &grid{f: f, name: sheetTrueUp}
	n := func(v int) cell { return number(v, st.cell[plain][kindInt]) }
	d := func(v licensing.Date) cell { return day(v, st.cell[plain][kindDate]) }
	kind := kindLabels[ws.Kind]
	if kind == "" {
		kind = ws.Kind
	}
	from := "Given when the worksheet was prepared"
	if ws.CurrentFrom == licensing.CurrentPeak {
		from = "Peak of licensed users since the last anniversary"
	}
	if err := g.head(st, "True-up worksheet: "+ws.Enrollment, []headRow{
		{label: "Enrollment", value: text(ws.Enrollment, 0)},
		{label: "Kind", value: text(kind, 0), long: true},
		{label: "Anniversary", value: d(ws.Anniversary)},
		{label: "Window opens", value: d(ws.Window.Opens)},
		{label: "Window closes", value: d(ws.Window.Closes)},
		{label: "Prepared for", value: d(ws.On)},
		{label: "Window on that day", value: text(ws.Window.State, 0)},
		{label: "Last reported", value: n(ws.LastReported)},
		{label: "Current", value: n(ws.Current)},
		{label: "Current from", value: text(from, 0), long: true},
		{label: "Peak of licensed users", value: n(ws.Peak)},
		{label: "Peak on", value: d(ws.PeakOn)},
		{label: "Latest snapshot's licensed users", value: n(ws.Latest)},
		{label: "Latest snapshot on", value: d(ws.LatestOn)},
		{label: "Usage snapshots", value: n(ws.Snapshots)},
		{label: "Increment", value: n(ws.Increment)},
		{label: "Prepared (" + rw.loc.String() + ")", value: stamp(ws.Prepared, rw.loc, st.cell[plain][kindStamp])},
	}); err != nil {
		return err
	}
	if err := f.SetPanes(sheetTrueUp, freezeAbove(2)); err != nil {
		return err
	}
	if err := orderTable(g, st, "Order due in the window", "Order", ws.Order, noteNothingOrdered); err != nil {
		return err
	}
	if err := orderTable(g, st, "After the anniversary", "AfterAnniversary", ws.AfterAnniversary, noteNothingAfter); err != nil {
		return err
	}
	if ws.UpdateStatement {
		g.skip()
		if err := g.add(false, text(fmt.Sprintf("Update statement: nothing is ordered, and the signed update statement (a zero-usage order) is due by %s.", ws.Window.Closes), st.label)); err != nil {
			return err
		}
	}
	if len(ws.Notes) > 0 {
		if err := g.notes(st, ws.Notes...); err != nil {
			return err
		}
	}
	return g.finish()
}

// orderTable writes a heading and order lines as an Excel table called
// table, or the sentence none when there are no lines.
func orderTable(g *grid, st *styles, heading, table string, lines []licensing.OrderLine, none string) error {
	g.skip()
	if err := g.add(false, text(heading, st.label)); err != nil {
		return err
	}
	if len(lines) == 0 {
		return g.add(false, text(none, st.note))
	}
	headerRow := g.row + 1
	if err := g.header(st, cols(2), "Product", "Quantity", "Kind", "Reasoning"); err != nil {
		return err
	}
	s := &st.cell[plain]
	for _, l := range lines {
		if err := g.add(true, text(l.Product, s[kindText]), number(l.Quantity, s[kindInt]), text(l.Kind, s[kindText]), text(l.Reason, s[kindText])); err != nil {
			return err
		}
	}
	return g.table(table, headerRow, 4, g.row)
}

// splitSheet writes the Agency split sheet.
func splitSheet(f *excelize.File, st *styles, ws licensing.TrueUpWorksheet) error {
	g := &grid{f: f, name: sheetSplit}
	if err := g.head(st, "Agency split: "+ws.Enrollment, []headRow{
		{label: "Increment", value: number(ws.Increment, st.cell[plain][kindInt])},
	}); err != nil {
		return err
	}
	g.skip()
	headerRow := g.row + 1
	if err := f.SetPanes(sheetSplit, freezeAbove(headerRow+1)); err != nil {
		return err
	}
	if err := g.header(st, cols(3, 4), "Agency", "Name", "Peak", "Share"); err != nil {
		return err
	}
	if len(ws.Agencies) == 0 {
		if err := g.add(false, text("The increment is not split: no usage snapshot counts licensed users per agency (see the notes on the True-up sheet).", st.note)); err != nil {
			return err
		}
	} else {
		s, shares := &st.cell[plain], 0
		for _, a := range ws.Agencies {
			if err := g.add(true, text(a.Agency, s[kindText]), text(a.Name, s[kindText]), number(a.Peak, s[kindInt]), number(a.Share, s[kindInt])); err != nil {
				return err
			}
			shares += a.Share
		}
		if err := g.table("AgencySplit", headerRow, 4, g.row); err != nil {
			return err
		}
		t := &st.cell[total]
		if err := g.add(true, text("Total", t[kindText]), blank(t[kindText]), blank(t[kindInt]), number(shares, t[kindInt])); err != nil {
			return err
		}
		if err := g.notes(st, noteSplit); err != nil {
			return err
		}
	}
	if err := uncoveredTable(g, st, ws.Uncovered); err != nil {
		return err
	}
	return g.finish()
}

// uncoveredTable lists the agencies whose purchases of a product were below
// their use, in red.
func uncoveredTable(g *grid, st *styles, list []licensing.Uncovered) error {
	g.skip()
	if err := g.add(false, text("Agencies whose purchases did not cover their peak use", st.label)); err != nil {
		return err
	}
	if len(list) == 0 {
		return g.add(false, text(noteAllCovered, st.note))
	}
	headerRow := g.row + 1
	if err := g.header(st, cols(4, 5, 6, 7), "Agency", "Product", "Part number", "Peak", "Peak on", "Purchased then", "Short"); err != nil {
		return err
	}
	s := &st.cell[over]
	for _, u := range list {
		if err := g.add(true, text(u.Agency, s[kindText]), text(u.Product, s[kindText]), text(u.PartNumber, s[kindText]),
			number(u.Peak, s[kindInt]), day(u.PeakOn, s[kindDate]), number(u.Purchased, s[kindInt]), number(u.Short, s[kindInt])); err != nil {
			return err
		}
	}
	if err := g.table("Uncovered", headerRow, 7, g.row); err != nil {
		return err
	}
	return g.notes(st, noteUncovered)
}
