package xlsx

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// runAt is the time of the report run in the formatting tests.
var runAt = time.Date(2026, 8, 3, 12, 15, 0, 0, time.UTC)

// formattedReport writes the agency report with sign-ins known or not and
// reads it back.
func formattedReport(t *testing.T, signInKnown bool) (*excelize.File, map[string]string) {
	t.Helper()
	r := agencyReport()
	r.SignInKnown = signInKnown
	var buf bytes.Buffer
	rw := NewReportWriter(WithLocation(chicago), WithClock(func() time.Time { return runAt }))
	if err := rw.WriteAgencyReport(&buf, r, sourceOf(agencyUsers())); err != nil {
		t.Fatal(err)
	}
	return openBook(t, buf.Bytes()), zipParts(t, buf.Bytes())
}

func alignmentOf(t *testing.T, f *excelize.File, sheet, cell string) excelize.Alignment {
	t.Helper()
	id, err := f.GetCellStyle(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	if s.Alignment == nil {
		return excelize.Alignment{}
	}
	return *s.Alignment
}

// TestHeadersAlignWithTheirValues: numeric headers are right-aligned over
// right-aligned numbers; text is indented so that a number never runs into
// it.
func TestHeadersAlignWithTheirValues(t *testing.T) {
	f, _ := formattedReport(t, true)
	for _, c := range []struct {
		at    string
		horiz string
	}{
		{"Summary!A9", "left"}, {"Summary!C9", "right"}, {"Summary!E9", "right"}, {"Summary!F9", "left"}, {"Summary!H9", "right"},
		{"Summary!C10", "right"}, {"Summary!H10", "right"},
		{"Purchases!E1", "right"}, {"Purchases!F1", "right"}, {"Purchases!I1", "left"}, {"Purchases!E2", "right"},
		{"Users!F1", "right"}, {"Users!A1", "left"},
	} {
		sheet, cell := split(c.at)
		if got := alignmentOf(t, f, sheet, cell).Horizontal; got != c.horiz {
			t.Errorf("%s aligned %q, want %q", c.at, got, c.horiz)
		}
	}
	// The text right of a number (Status after Available) starts indented.
	for _, at := range []string{"Summary!F10", "Purchases!I2", "Users!D2"} {
		sheet, cell := split(at)
		if a := alignmentOf(t, f, sheet, cell); a.Indent < 1 {
			t.Errorf("%s indent = %d, want at least 1", at, a.Indent)
		}
	}
}

// TestOneFontFamily: every font of the styles part names Calibri.
func TestOneFontFamily(t *testing.T) {
	_, parts := formattedReport(t, true)
	styles := parts["xl/styles.xml"]
	fonts := regexp.MustCompile(`(?s)<font>.*?</font>`).FindAllString(styles, -1)
	if len(fonts) < 5 {
		t.Fatalf("%d fonts in the styles part, want the default and the report's", len(fonts))
	}
	for _, fn := range fonts {
		if !strings.Contains(fn, `<name val="`+fontFamily+`"`) {
			t.Errorf("font without the name %s: %s", fontFamily, fn)
		}
	}
}

// TestChartAxesReadable: both axes' labels are near black.
func TestChartAxesReadable(t *testing.T) {
	_, parts := formattedReport(t, true)
	chart := parts["xl/charts/chart1.xml"]
	for _, ax := range []string{"catAx", "valAx"} {
		m := regexp.MustCompile(`(?s)<(?:c:)?` + ax + `>.*?</(?:c:)?` + ax + `>`).FindString(chart)
		if !strings.Contains(m, `<a:srgbClr val="`+axisColor+`"`) {
			t.Errorf("%s labels are not coloured %s: %s", ax, axisColor, m)
		}
	}
}

// TestPrintSetup: the list sheets repeat their header row on every page;
// every sheet prints landscape, one page wide, as many pages tall as its
// rows need.
func TestPrintSetup(t *testing.T) {
	f, _ := formattedReport(t, true)
	titles := map[string]string{}
	for _, d := range f.GetDefinedName() {
		if d.Name == "_xlnm.Print_Titles" {
			titles[d.Scope] = d.RefersTo
		}
	}
	for sheet, want := range map[string]string{"Summary": "'Summary'!$9:$9", "Users": "'Users'!$1:$1", "Purchases": "'Purchases'!$1:$1"} {
		if titles[sheet] != want {
			t.Errorf("%s print titles = %q, want %q", sheet, titles[sheet], want)
		}
	}
	for _, sheet := range f.GetSheetList() {
		l, err := f.GetPageLayout(sheet)
		if err != nil {
			t.Fatal(err)
		}
		if l.Orientation == nil || *l.Orientation != "landscape" || l.FitToWidth == nil || *l.FitToWidth != 1 || l.FitToHeight == nil || *l.FitToHeight != 0 {
			t.Errorf("%s page layout = %+v, want landscape, 1 wide, 0 (any) tall", sheet, l)
		}
	}
	// The Users sheet fits the page's width at a readable scale: its
	// columns add up to at most 180 character widths (about 80% on a
	// landscape letter page).
	total := 0.0
	for c := 1; c <= numUserColumns; c++ {
		w, err := f.GetColWidth("Users", colName(c))
		if err != nil {
			t.Fatal(err)
		}
		total += w
	}
	if total > 180 {
		t.Errorf("Users columns are %.0f wide, want at most 180", total)
	}
}

// TestDocumentProperties: the product's name, what the workbook is, and
// the run's time.
func TestDocumentProperties(t *testing.T) {
	f, _ := formattedReport(t, true)
	p, err := f.GetDocProps()
	if err != nil {
		t.Fatal(err)
	}
	at := runAt.Format(time.RFC3339)
	if p.Creator != productName || p.LastModifiedBy != productName || p.Created != at || p.Modified != at {
		t.Errorf("properties = %+v, want creator %q, created and modified %s", p, productName, at)
	}
	if p.Title != "License report: DOA, 2026-08-03" || !strings.Contains(p.Subject, "Department of Administration (DOA)") || !strings.Contains(p.Subject, "2026-08-03") {
		t.Errorf("title %q, subject %q", p.Title, p.Subject)
	}
}

// TestSummaryTotalCountsProductsOver: the total row counts the products
// over instead of adding seats of different products; the counts a filter
// changes are SUBTOTAL(109, …); Inactive is unknown without sign-ins.
func TestSummaryTotalCountsProductsOver(t *testing.T) {
	f, _ := formattedReport(t, true)
	want := map[string]string{"A13": "Products over", "C13": "", "D13": "", "E13": "", "F13": "1", "G13": "4", "H13": "2"}
	for cell, v := range want {
		if got, _ := f.GetCellValue("Summary", cell); got != v {
			t.Errorf("Summary!%s = %q, want %q", cell, got, v)
		}
	}
	for cell, fx := range map[string]string{"G13": "SUBTOTAL(109,G10:G12)", "H13": "SUBTOTAL(109,H10:H12)", "F13": ""} {
		if got, _ := f.GetCellFormula("Summary", cell); got != fx {
			t.Errorf("Summary!%s formula = %q, want %q", cell, got, fx)
		}
	}
	if got, _ := f.GetCellFormula("Purchases", "E4"); got != "SUBTOTAL(109,E2:E3)" {
		t.Errorf("Purchases!E4 formula = %q", got)
	}

	f, _ = formattedReport(t, false)
	for _, cell := range []string{"H10", "H11", "H12", "H13"} {
		if got, _ := f.GetCellValue("Summary", cell); got != unknownCount {
			t.Errorf("Summary!%s = %q without sign-ins, want %q", cell, got, unknownCount)
		}
	}
}

// TestHeaderExplainsDates: the sentence beside Data as of tells it from the
// report date.
func TestHeaderExplainsDates(t *testing.T) {
	f, _ := formattedReport(t, true)
	if got, _ := f.GetCellValue("Summary", "C5"); got != noteDates {
		t.Errorf("Summary!C5 = %q, want the sentence on the two dates", got)
	}
}
