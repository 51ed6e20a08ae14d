package renewals

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// currentSource says where a worksheet's current count comes from.
func currentSource(ws licensing.TrueUpWorksheet) string {
	if ws.CurrentFrom == licensing.CurrentGiven {
		return "given"
	}
	return "peak of licensed users since the last anniversary"
}

// WriteWorksheetText writes ws as plain text for the command line: the
// header, the order, the changes at the anniversary, the agency split, the
// agencies whose purchases fell short, and the notes.
func WriteWorksheetText(w io.Writer, ws licensing.TrueUpWorksheet) error {
	sw := &stickyWriter{w: w}
	tw := tabwriter.NewWriter(sw, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format+"\n", args...) }
	p("True-up worksheet: %s (%s), prepared for %s", ws.Enrollment, ws.Kind, ws.On)
	p("Anniversary\t%s", ws.Anniversary)
	p("Window\t%s to %s (%s on %s)", ws.Window.Opens, ws.Window.Closes, ws.Window.State, ws.On)
	p("Last reported\t%d", ws.LastReported)
	p("Current\t%d (%s)", ws.Current, currentSource(ws))
	if ws.Snapshots > 0 {
		p("Peak\t%d on %s", ws.Peak, ws.PeakOn)
		p("Latest\t%d on %s", ws.Latest, ws.LatestOn)
	}
	p("Snapshots\t%d", ws.Snapshots)
	p("Increment\t%d", ws.Increment)
	lines := func(title string, list []licensing.OrderLine) {
		p("\n%s", title)
		if len(list) == 0 {
			p("  (none)")
			return
		}
		p("  Product\tQuantity\tKind\tReason")
		for _, l := range list {
			p("  %s\t%d\t%s\t%s", oneLine(l.Product), l.Quantity, l.Kind, oneLine(l.Reason))
		}
	}
	lines("Order (due in the window)", ws.Order)
	lines("After the anniversary", ws.AfterAnniversary)
	if ws.UpdateStatement {
		p("\nNothing is ordered: sign and send the update statement (a zero-usage order) by %s.", ws.Window.Closes)
	}
	if len(ws.Agencies) > 0 {
		p("\nAgency split of the increment")
		p("  Agency\tName\tPeak\tShare")
		total := 0
		for _, a := range ws.Agencies {
			p("  %s\t%s\t%d\t%d", oneLine(a.Agency), oneLine(a.Name), a.Peak, a.Share)
			total += a.Share
		}
		p("  Total\t\t\t%d", total)
	}
	if len(ws.Uncovered) > 0 {
		p("\nAgencies whose purchases did not cover their peak use")
		p("  Agency\tProduct\tPeak\tOn\tPurchased\tShort")
		for _, u := range ws.Uncovered {
			p("  %s\t%s\t%d\t%s\t%d\t%d", oneLine(u.Agency), oneLine(u.Product), u.Peak, u.PeakOn, u.Purchased, u.Short)
		}
	}
	if len(ws.Notes) > 0 {
		p("\nNotes")
		for _, n := range ws.Notes {
			p("  - %s", oneLine(n))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return sw.err
}

// stickyWriter remembers the first error of w and writes nothing after it.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.err = err
	return n, err
}

// oneLine keeps a value on its line and out of the table's columns.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' {
			return ' '
		}
		return r
	}, s)
}
