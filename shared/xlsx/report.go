package xlsx

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

const opReport = "xlsx.report"

// Sheet names.
const (
	sheetSummary      = "Summary"
	sheetUsers        = "Users"
	sheetPurchases    = "Purchases"
	sheetAgencies     = "Agencies"
	sheetTenant       = "Tenant check"
	sheetUnattributed = "Unattributed"
	sheetConflicts    = "Conflicts"
)

// Explanations shown under the numbers they explain.
const (
	notePurchased = "Purchased counts purchases in force on the report date, including the grace period after a term ends."
	noteAvailable = "Available = Purchased − In use; negative means over (Status Over, in red). Unused (grey): purchased, and nobody holds it."
)

// excelMaxRows is the most rows an Excel sheet holds.
const excelMaxRows = excelize.TotalRows

// ReportWriter writes the license reports as XLSX workbooks with excelize:
// an agency's report (Summary, Users, Purchases, and Provisioning for an
// agency with delegated groups) and central IT's enterprise summary.
// Summaries are ordinary sheets with real number and date cells, a frozen
// header, an Excel table (filter buttons, banded
// rows), totals and the sentences that explain them; user lists are
// streamed, so memory does not grow with the number of users. Text from
// users, agencies and purchases is written so that no spreadsheet
// evaluates it (see safeText). A ReportWriter is safe for concurrent use.
type ReportWriter struct {
	loc        *time.Location
	tmpDir     string
	sampleRows int
	maxRows    int
}

var _ licensing.ReportWriter = (*ReportWriter)(nil)

// ReportOption configures a ReportWriter.
type ReportOption func(*ReportWriter)

// WithLocation sets the time zone in which date-times (the data's
// timestamp, last sign-ins) are shown; Excel cells have no zone, so the
// zone is named in the column header. The default is UTC.
func WithLocation(loc *time.Location) ReportOption {
	return func(rw *ReportWriter) {
		if loc != nil {
			rw.loc = loc
		}
	}
}

// WithTempDir sets the directory where streamed sheets larger than
// excelize.StreamChunkSize are kept until the workbook is written (default:
// os.TempDir).
func WithTempDir(dir string) ReportOption {
	return func(rw *ReportWriter) { rw.tmpDir = dir }
}

// NewReportWriter returns a ReportWriter.
func NewReportWriter(opts ...ReportOption) *ReportWriter {
	rw := &ReportWriter{loc: time.UTC, sampleRows: 200, maxRows: excelMaxRows}
	for _, o := range opts {
		o(rw)
	}
	return rw
}

// WriteAgencyReport writes r to w as a workbook with the sheets Summary
// (products, totals and a chart of purchased against in use), Users
// (streamed from users, which may be nil), Purchases and, when
// r.Provisioning is set, Provisioning. An error from users or w is
// returned as it is; anything else is Internal.
func (rw *ReportWriter) WriteAgencyReport(w io.Writer, r licensing.AgencyReport, users licensing.UserSource) error {
	sheets := []string{sheetSummary, sheetUsers, sheetPurchases}
	if r.Provisioning != nil {
		sheets = append(sheets, sheetProvisioning)
	}
	return rw.write(w, sheets, func(f *excelize.File, st *styles) error {
		if err := rw.summary(f, st, r); err != nil {
			return err
		}
		if err := rw.streamUsers(f, st, userSheet{
			name:    sheetUsers,
			matched: "Matched attribute",
			signIn:  signInHeader(rw.loc, r.SignInKnown),
			none:    "No licensed users are attributed to the agency.",
		}, users); err != nil {
			return err
		}
		if err := rw.purchases(f, st, r.Purchases); err != nil {
			return err
		}
		if r.Provisioning == nil {
			return nil
		}
		return rw.provisioning(f, st, r.Provisioning)
	})
}

// write builds a workbook of sheets with fill and writes it to w.
func (rw *ReportWriter) write(w io.Writer, sheets []string, fill func(*excelize.File, *styles) error) (err error) {
	f := excelize.NewFile(excelize.Options{TmpDir: rw.tmpDir})
	defer func() {
		// Close removes the streamed sheets' temporary files.
		if cerr := f.Close(); cerr != nil && err == nil {
			err = licensing.Wrap(opReport, licensing.Internal, "The report's temporary files could not be removed.", cerr)
		}
	}()
	if err := f.SetSheetName(f.GetSheetName(0), sheets[0]); err != nil {
		return internal(err)
	}
	for _, s := range sheets[1:] {
		if _, err := f.NewSheet(s); err != nil {
			return internal(err)
		}
	}
	for _, s := range sheets {
		if err := printSetup(f, s); err != nil {
			return internal(err)
		}
	}
	st, err := newStyles(f)
	if err != nil {
		return internal(err)
	}
	if err := fill(f, st); err != nil {
		return internal(err)
	}
	// File.Write builds the whole zip archive in a bytes.Buffer before
	// copying it to w. The zip writer below writes to w directly instead,
	// so a large report never sits in memory: WriteToBuffer then hands w
	// an empty buffer.
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(w) })
	if err := f.Write(w); err != nil {
		return internal(err)
	}
	return nil
}

// internal returns err as it is when it already carries a code (the
// caller's user source or writer failed), else as Internal.
func internal(err error) error {
	var e *licensing.Error
	if errors.As(err, &e) {
		return err
	}
	return licensing.Wrap(opReport, licensing.Internal, "The report could not be written.", err)
}

// headRow is a label and its value in a sheet's title block. The value of
// a long row spills over the next columns instead of widening its own.
type headRow struct {
	label string
	value cell
	long  bool
}

// head writes a title block: the title, then a row per label and value.
func (g *grid) head(st *styles, title string, rows []headRow) error {
	if err := g.add(false, text(title, st.title)); err != nil {
		return err
	}
	for _, r := range rows {
		if err := g.add(!r.long, text(r.label, st.label), r.value); err != nil {
			return err
		}
	}
	return nil
}

// notes writes sentences, one per row, below a blank row.
func (g *grid) notes(st *styles, lines ...string) error {
	g.skip()
	for _, l := range lines {
		if err := g.add(false, text(l, st.note)); err != nil {
			return err
		}
	}
	return nil
}

// summary writes the Summary sheet.
func (rw *ReportWriter) summary(f *excelize.File, st *styles, r licensing.AgencyReport) error {
	g := &grid{f: f, name: sheetSummary}
	err := g.head(st, fmt.Sprintf("License report: %s", r.Agency.ID), []headRow{
		{label: "Agency", value: text(r.Agency.ID, 0)},
		{label: "Agency name", value: text(r.Agency.Name, 0), long: true},
		{label: "Report date", value: day(r.Date, st.cell[plain][kindDate])},
		{label: "Data as of (" + rw.loc.String() + ")", value: stamp(r.DataAsOf, rw.loc, st.cell[plain][kindStamp])},
		{label: "Snapshot", value: text(r.SnapshotID, 0), long: true},
		{label: "Licensed users", value: number(r.Users, st.cell[plain][kindInt])},
	})
	if err != nil {
		return err
	}
	g.skip()
	headerRow := g.row + 1
	if err := g.header(st.header, "Product", "Part number", "Purchased", "In use", "Available", "Status", "Disabled holding it", "Inactive holding it"); err != nil {
		return err
	}
	if err := f.SetPanes(sheetSummary, freezeAbove(headerRow+1)); err != nil {
		return err
	}
	if len(r.Products) == 0 {
		if err := g.add(false, text("No licenses are purchased or in use on the report date.", st.note)); err != nil {
			return err
		}
		return g.finish()
	}
	var sum licensing.ProductLine
	for _, p := range r.Products {
		s := &st.cell[statusTone(p.Status)]
		name := p.Name
		if name == "" {
			name = p.PartNumber
		}
		if err := g.add(true,
			text(name, s[kindText]), text(p.PartNumber, s[kindText]),
			number(p.Purchased, s[kindInt]), number(p.InUse, s[kindInt]), number(p.Available, s[kindInt]),
			text(p.Status, s[kindText]),
			number(p.Disabled, s[kindInt]), number(p.Inactive, s[kindInt])); err != nil {
			return err
		}
		sum.Purchased += p.Purchased
		sum.InUse += p.InUse
		sum.Available += p.Available
		sum.Disabled += p.Disabled
		sum.Inactive += p.Inactive
	}
	lastRow := g.row
	s := &st.cell[total]
	if err := g.add(true,
		text("Total", s[kindText]), blank(s[kindText]),
		number(sum.Purchased, s[kindInt]), number(sum.InUse, s[kindInt]), number(sum.Available, s[kindInt]),
		blank(s[kindText]),
		number(sum.Disabled, s[kindInt]), number(sum.Inactive, s[kindInt])); err != nil {
		return err
	}
	inactive := fmt.Sprintf("Disabled and Inactive holding it count users holding the product whose account is disabled, or who have not signed in for %d days: candidates to reclaim (see Users).", r.InactiveDays)
	if !r.SignInKnown {
		inactive = "Disabled holding it counts users holding the product whose account is disabled: candidates to reclaim (see Users). Inactive is not available: sign-in activity needs Entra ID P1."
	}
	if err := g.notes(st, notePurchased, noteAvailable, inactive); err != nil {
		return err
	}
	if err := g.table("Products", headerRow, 8, lastRow); err != nil {
		return err
	}
	if err := g.finish(); err != nil {
		return err
	}
	return purchasedChart(f, sheetSummary, ref(1, g.row+2), headerRow, lastRow, 1, 3, 4)
}

// purchasedChart adds a clustered column chart of the Purchased and In use
// columns (purchased, inUse) of rows first+1..last, named by column names,
// at cell at.
func purchasedChart(f *excelize.File, sheet, at string, first, last, names, purchased, inUse int) error {
	series := func(col int) excelize.ChartSeries {
		return excelize.ChartSeries{
			Name:       absRange(sheet, col, first, col, first),
			Categories: absRange(sheet, names, first+1, names, last),
			Values:     absRange(sheet, col, first+1, col, last),
		}
	}
	n := uint(last - first)
	return f.AddChart(sheet, at, &excelize.Chart{
		Type:       excelize.Col,
		VaryColors: ptr(false),
		Series:     []excelize.ChartSeries{series(purchased), series(inUse)},
		Title:      []excelize.RichTextRun{{Text: "Purchased vs in use"}},
		Legend:     excelize.ChartLegend{Position: "bottom"},
		Dimension:  excelize.ChartDimension{Width: min(360+60*n, 1200), Height: 340},
		PlotArea:   excelize.ChartPlotArea{ShowVal: true},
	})
}

// purchases writes the Purchases sheet.
func (rw *ReportWriter) purchases(f *excelize.File, st *styles, lines []licensing.PurchaseLine) error {
	g := &grid{f: f, name: sheetPurchases}
	if err := g.header(st.header, "PO", "Reseller", "Product", "Part number", "Quantity", "Term start", "Term end", "Days to term end", "Note"); err != nil {
		return err
	}
	if err := f.SetPanes(sheetPurchases, freezeAbove(2)); err != nil {
		return err
	}
	if len(lines) == 0 {
		if err := g.add(false, text("No purchases are in force on the report date.", st.note)); err != nil {
			return err
		}
		return g.finish()
	}
	quantity := 0
	for _, p := range lines {
		t, note := plain, ""
		if p.InGrace {
			t, note = flagged, "In grace: the term has ended; still counted as purchased."
		}
		s := &st.cell[t]
		if err := g.add(true,
			text(p.PONumber, s[kindText]), text(p.Reseller, s[kindText]), text(p.ProductName, s[kindText]), text(p.PartNumber, s[kindText]),
			number(p.Quantity, s[kindInt]), day(p.TermStart, s[kindDate]), day(p.TermEnd, s[kindDate]),
			number(p.DaysToEnd, s[kindInt]), text(note, s[kindText])); err != nil {
			return err
		}
		quantity += p.Quantity
	}
	lastRow := g.row
	s := &st.cell[total]
	if err := g.add(true, text("Total", s[kindText]), blank(s[kindText]), blank(s[kindText]), blank(s[kindText]),
		number(quantity, s[kindInt]), blank(s[kindDate]), blank(s[kindDate]), blank(s[kindInt]), blank(s[kindText])); err != nil {
		return err
	}
	if err := g.notes(st,
		"Purchases in force on the report date, including those in the grace period after the term ends.",
		"Days to term end counts from the report date; negative means the term has ended and the purchase is in grace."); err != nil {
		return err
	}
	if err := g.table("Purchases", 1, 9, lastRow); err != nil {
		return err
	}
	return g.finish()
}

// printSetup prints a sheet landscape, one page wide, header row repeated,
// so that a printed or PDF report reads like the screen.
func printSetup(f *excelize.File, sheet string) error {
	landscape, wide, tall, fit := "landscape", 1, 0, true
	if err := f.SetPageLayout(sheet, &excelize.PageLayoutOptions{Orientation: &landscape, FitToWidth: &wide, FitToHeight: &tall}); err != nil {
		return err
	}
	return f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit})
}
