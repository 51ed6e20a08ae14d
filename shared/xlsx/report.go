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
	noteDates     = "Purchases are counted as in force on the report date, users and their licenses as Microsoft 365 listed them at this time, which is later when the report was made after its date."
	noteOver      = "Seats of different products do not add up: the total row counts the products over instead. Disabled and Inactive totals follow the table's filter."
	// unknownCount stands for a count that could not be taken.
	unknownCount = "unknown"
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
	now        func() time.Time
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

// WithClock sets the clock whose time a workbook records as created and
// modified (default: time.Now).
func WithClock(now func() time.Time) ReportOption {
	return func(rw *ReportWriter) {
		if now != nil {
			rw.now = now
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
	rw := &ReportWriter{loc: time.UTC, now: time.Now, sampleRows: 200, maxRows: excelMaxRows}
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
	about := docAbout{
		title:   fmt.Sprintf("License report: %s, %s", r.Agency.ID, r.Date),
		subject: fmt.Sprintf("Licenses purchased and in use by %s on %s", agencyName(r.Agency), r.Date),
	}
	return rw.write(w, about, sheets, func(f *excelize.File, st *styles) error {
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

// productName names the application in a workbook's properties.
const productName = "License tracking"

// docAbout is what a workbook's properties say it is.
type docAbout struct {
	title, subject string
}

// agencyName returns "Department of Administration (DOA)", or the id alone
// when the agency has no name.
func agencyName(a licensing.Agency) string {
	if a.Name == "" {
		return a.ID
	}
	return a.Name + " (" + a.ID + ")"
}

// write builds a workbook of sheets with fill and writes it to w, with
// properties saying what it is (about), that the application made it, and
// when.
func (rw *ReportWriter) write(w io.Writer, about docAbout, sheets []string, fill func(*excelize.File, *styles) error) (err error) {
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
	at := rw.now().UTC().Format(time.RFC3339)
	if err := f.SetDocProps(&excelize.DocProperties{
		Creator: productName, LastModifiedBy: productName,
		Title: about.title, Subject: about.subject,
		Created: at, Modified: at,
	}); err != nil {
		return internal(err)
	}
	// The totals are SUBTOTAL formulas written with their values; this
	// has a spreadsheet compute them again when it opens the workbook.
	if err := f.SetCalcProps(&excelize.CalcPropsOptions{FullCalcOnLoad: ptr(true)}); err != nil {
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
// a long row spills over the next columns instead of widening its own; a
// note, when set, follows the value and spills over the columns after it.
type headRow struct {
	label string
	value cell
	long  bool
	note  string
}

// head writes a title block: the title, then a row per label and value.
func (g *grid) head(st *styles, title string, rows []headRow) error {
	if err := g.add(false, text(title, st.title)); err != nil {
		return err
	}
	for _, r := range rows {
		cells := []cell{text(r.label, st.label), r.value}
		if r.note != "" {
			n := text(r.note, st.note)
			n.width = 0
			cells = append(cells, n)
		}
		if err := g.add(!r.long, cells...); err != nil {
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

// dateRows are the title block's rows of the report date and the data's
// timestamp, the second with the sentence telling them apart.
func (rw *ReportWriter) dateRows(st *styles, date licensing.Date, asOf time.Time) []headRow {
	return []headRow{
		{label: "Report date", value: day(date, st.cell[plain][kindDate])},
		{label: "Data as of (" + rw.loc.String() + ")", value: stamp(asOf, rw.loc, st.cell[plain][kindStamp]), note: noteDates},
	}
}

// summary writes the Summary sheet.
func (rw *ReportWriter) summary(f *excelize.File, st *styles, r licensing.AgencyReport) error {
	g := &grid{f: f, name: sheetSummary}
	err := g.head(st, fmt.Sprintf("License report: %s", r.Agency.ID), append([]headRow{
		{label: "Agency", value: text(r.Agency.ID, 0)},
		{label: "Agency name", value: text(r.Agency.Name, 0), long: true},
	}, append(rw.dateRows(st, r.Date, r.DataAsOf),
		headRow{label: "Snapshot", value: text(r.SnapshotID, 0), long: true},
		headRow{label: "Licensed users", value: number(r.Users, st.cell[plain][kindInt])},
	)...))
	if err != nil {
		return err
	}
	g.skip()
	headerRow := g.row + 1
	if err := g.header(st, append(cols(3, 4, 5, 7, 8), costCols(9)...), append([]string{"Product", "Part number", "Purchased", "In use", "Available", "Status", "Disabled holding it", "Inactive holding it"}, costHeaders...)...); err != nil {
		return err
	}
	if err := f.SetPanes(sheetSummary, freezeAbove(headerRow+1)); err != nil {
		return err
	}
	if err := printTitles(f, sheetSummary, headerRow); err != nil {
		return err
	}
	if len(r.Products) == 0 {
		if err := g.add(false, text("No licenses are purchased or in use on the report date.", st.note)); err != nil {
			return err
		}
		return g.finish()
	}
	// inactive is the Inactive cell of n users: unknown when sign-ins
	// were not read.
	inactive := func(c cell, style int) cell {
		if r.SignInKnown {
			return c
		}
		return text(unknownCount, style)
	}
	var overCount, disabled, inactives int
	for _, p := range r.Products {
		s := &st.cell[statusTone(p.Status)]
		name := p.Name
		if name == "" {
			name = p.PartNumber
		}
		costs, err := costCells(st, statusTone(p.Status), p.Cost)
		if err != nil {
			return err
		}
		if err := g.add(true, append([]cell{
			text(name, s[kindText]), text(p.PartNumber, s[kindText]),
			number(p.Purchased, s[kindInt]), number(p.InUse, s[kindInt]), number(p.Available, s[kindInt]),
			text(p.Status, s[kindText]),
			number(p.Disabled, s[kindInt]), inactive(number(p.Inactive, s[kindInt]), s[kindInt])}, costs...)...); err != nil {
			return err
		}
		if p.Status == licensing.ProductOver {
			overCount++
		}
		disabled += p.Disabled
		inactives += p.Inactive
	}
	lastRow := g.row
	s := &st.cell[total]
	first := headerRow + 1
	if err := g.add(true,
		text("Products over", s[kindText]), blank(s[kindText]),
		blank(s[kindInt]), blank(s[kindInt]), blank(s[kindInt]),
		number(overCount, s[kindInt]),
		subtotal(7, first, lastRow, disabled, s[kindInt]), inactive(subtotal(8, first, lastRow, inactives, s[kindInt]), s[kindInt]),
		// Costs in different currencies do not add up: their totals follow
		// the table, per currency.
		blank(s[kindText]), blank(s[kindInt]), blank(s[kindInt]), blank(s[kindInt]), blank(s[kindInt])); err != nil {
		return err
	}
	costNotes, err := costTotals(g, st, r.Agency.ID, r.Products)
	if err != nil {
		return err
	}
	inactiveNote := fmt.Sprintf("Disabled and Inactive holding it count users holding the product whose account is disabled, or who have not signed in for %d days: candidates to reclaim (see Users).", r.InactiveDays)
	if !r.SignInKnown {
		inactiveNote = "Disabled holding it counts users holding the product whose account is disabled: candidates to reclaim (see Users). Inactive is unknown: sign-in activity was not read (it needs Entra ID P1)."
	}
	if err := g.notes(st, append([]string{notePurchased, noteAvailable, noteOver, inactiveNote, noteCosts}, costNotes...)...); err != nil {
		return err
	}
	if err := g.table("Products", headerRow, 8+len(costHeaders), lastRow); err != nil {
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
		XAxis:      excelize.ChartAxis{Font: chartFont()},
		YAxis:      excelize.ChartAxis{Font: chartFont(), MajorGridLines: true},
	})
}

// axisColor is the colour of a chart's axis labels: near black, as the
// cells' text (a chart's default is a pale grey).
const axisColor = "262626"

// chartFont is the font of a chart's axis labels.
func chartFont() excelize.Font {
	return *font(excelize.Font{Color: axisColor, Size: 10})
}

// purchases writes the Purchases sheet.
func (rw *ReportWriter) purchases(f *excelize.File, st *styles, lines []licensing.PurchaseLine) error {
	g := &grid{f: f, name: sheetPurchases}
	if err := g.header(st, cols(5, 6, 7, 8, 10), "PO", "Reseller / source", "Product", "Part number", "Quantity", "Term start", "Term end", "Days to term end", "Note",
		"Unit price (seat, year)"); err != nil {
		return err
	}
	if err := f.SetPanes(sheetPurchases, freezeAbove(2)); err != nil {
		return err
	}
	if err := printTitles(f, sheetPurchases, 1); err != nil {
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
		price := blank(s[kindInt])
		if p.UnitPrice != nil {
			money, err := st.moneyStyle(t, p.Currency)
			if err != nil {
				return err
			}
			price = amount(*p.UnitPrice, money)
		}
		if err := g.add(true,
			text(p.PONumber, s[kindText]), text(resellerOrSource(p), s[kindText]), text(p.ProductName, s[kindText]), text(p.PartNumber, s[kindText]),
			number(p.Quantity, s[kindInt]), day(p.TermStart, s[kindDate]), day(p.TermEnd, s[kindDate]),
			number(p.DaysToEnd, s[kindInt]), text(note, s[kindText]), price); err != nil {
			return err
		}
		quantity += p.Quantity
	}
	lastRow := g.row
	s := &st.cell[total]
	if err := g.add(true, text("Total", s[kindText]), blank(s[kindText]), blank(s[kindText]), blank(s[kindText]),
		subtotal(5, 2, lastRow, quantity, s[kindInt]), blank(s[kindDate]), blank(s[kindDate]), blank(s[kindInt]), blank(s[kindText])); err != nil {
		return err
	}
	if err := g.notes(st,
		"Purchases in force on the report date, including those in the grace period after the term ends.",
		"Days to term end counts from the report date; negative means the term has ended and the purchase is in grace.",
		"The total follows the table's filter: filter Product to total the seats of one product.",
		"Unit price is the price of one seat for one year as the purchase order quotes it; blank when it was not recorded."); err != nil {
		return err
	}
	if err := g.table("Purchases", 1, 10, lastRow); err != nil {
		return err
	}
	return g.finish()
}

// resellerOrSource is the Reseller / source cell of a purchase line: the
// reseller of a purchase order's line; for a line imported from the legacy
// tracking sheet, whose PO number may have been made up, the file and row
// it came from (and its reseller, when the sheet named one).
func resellerOrSource(p licensing.PurchaseLine) string {
	if p.Imported == "" {
		return p.Reseller
	}
	if p.Reseller == "" {
		return "Imported: " + p.Imported
	}
	return "Imported: " + p.Imported + " (reseller " + p.Reseller + ")"
}

// printSetup prints a sheet landscape, its columns fitted to the page's
// width and its rows flowing over as many pages as they need (fit to one
// page wide, any number tall), with narrow margins so that the scale stays
// readable, and the sheet's name and the page number in the footer. The
// list sheets repeat their header row on every page (printTitles).
func printSetup(f *excelize.File, sheet string) error {
	landscape, wide, tall, fit := "landscape", 1, 0, true
	if err := f.SetPageLayout(sheet, &excelize.PageLayoutOptions{Orientation: &landscape, FitToWidth: &wide, FitToHeight: &tall}); err != nil {
		return err
	}
	side, edge, band := 0.3, 0.5, 0.25
	if err := f.SetPageMargins(sheet, &excelize.PageLayoutMarginsOptions{Left: &side, Right: &side, Top: &edge, Bottom: &edge, Header: &band, Footer: &band}); err != nil {
		return err
	}
	if err := f.SetHeaderFooter(sheet, &excelize.HeaderFooterOptions{OddFooter: "&L&A&RPage &P of &N"}); err != nil {
		return err
	}
	return f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit})
}
