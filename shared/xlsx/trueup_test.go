package xlsx

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// trueUpWorksheet is EA-5510042 prepared on March 10, 2027, in its window:
// 131 more users than the 2,400 last reported, four lines to order (one
// named like a formula), two changes at the anniversary, three agency rows
// and one agency short of its use.
func trueUpWorksheet() licensing.TrueUpWorksheet {
	d := licensing.NewDate
	return licensing.TrueUpWorksheet{
		Enrollment: "EA-5510042", Kind: licensing.EnrollmentEnterprise, Anniversary: d(2027, 5, 1), On: d(2027, 3, 10),
		Window:       licensing.TrueUpWindow{Opens: d(2027, 3, 2), Closes: d(2027, 4, 1), State: licensing.WindowOpen},
		LastReported: 2400, Current: 2531, CurrentFrom: licensing.CurrentPeak, Peak: 2531, PeakOn: d(2027, 2, 15),
		Latest: 2519, LatestOn: d(2027, 3, 9), Snapshots: 19, Increment: 131,
		Order: []licensing.OrderLine{
			{Product: "Office Professional Plus", Quantity: 111, Kind: licensing.LineIncrement, Reason: "The qualified count grew by 131, less the 20 reserved users of Microsoft 365 E3."},
			{Product: "Windows Enterprise Upgrade", Quantity: 131, Kind: licensing.LineIncrement, Reason: "The qualified count grew by 131."},
			{Product: "Microsoft 365 E3", Quantity: 20, Kind: licensing.LineReservation, Reason: "20 users were reserved during the year."},
			{Product: "=HYPERLINK(\"http://x\")", Quantity: 9, Kind: licensing.LineTransitionPeriod, Reason: "+9 users moved."},
		},
		AfterAnniversary: []licensing.OrderLine{
			{Product: "=HYPERLINK(\"http://x\")", Quantity: 9, Kind: licensing.LineSubscription, Reason: "The full subscription from the anniversary."},
			{Product: "Office Professional Plus", Quantity: -9, Kind: licensing.LineReduction, Reason: "Nine fewer users need it."},
		},
		Agencies: []licensing.AgencyShare{
			{Agency: "DET", Name: "Technology", Peak: 410, Share: 42},
			{Agency: "DOA", Name: "Administration", Peak: 870, Share: 89},
			{Agency: licensing.Unattributed, Name: "Users no agency's rule matches", Peak: 2, Share: 0},
		},
		Uncovered: []licensing.Uncovered{{Agency: "DOA", SkuID: "6fd2c87f-b296-42f0-b197-1e91e994b900", PartNumber: "ENTERPRISEPACK", Product: "Office 365 E3",
			Peak: 880, PeakOn: d(2027, 2, 15), Purchased: 850, Short: 30}},
		Notes:    []string{"2 usage snapshots were taken before licensed users were counted per agency: left out of the agency split."},
		Prepared: time.Date(2027, 3, 10, 19, 30, 0, 0, time.UTC),
	}
}

// TestWriteTrueUp writes a worksheet and reads the workbook back: the
// header with its dates as date cells, the order and the changes at the
// anniversary with number cells, the agency split whose total is the
// increment, the agencies short of their use in red, text that would be a
// formula made inert, and the notes.
func TestWriteTrueUp(t *testing.T) {
	ws := trueUpWorksheet()
	var buf bytes.Buffer
	if err := NewReportWriter(WithLocation(chicago)).WriteTrueUp(&buf, ws); err != nil {
		t.Fatal(err)
	}
	orderHeader := []string{"Product", "Quantity", "Kind", "Reasoning"}
	date := func(y int, m time.Month, d int) stampWant {
		return stampWant{time.Date(y, m, d, 0, 0, 0, 0, time.UTC), dateFormat}
	}
	f := checkBook(t, buf.Bytes(), bookWant{
		sheets: []string{"True-up", "Agency split"},
		rows: map[string][][]string{
			"True-up": {
				{"True-up worksheet: EA-5510042"},
				{"Enrollment", "EA-5510042"},
				{"Kind", "Enterprise: a true-up of the growth since the last one"},
				{"Anniversary", "2027-05-01"},
				{"Window opens", "2027-03-02"},
				{"Window closes", "2027-04-01"},
				{"Prepared for", "2027-03-10"},
				{"Window on that day", "open"},
				{"Last reported", "2,400"},
				{"Current", "2,531"},
				{"Current from", "Peak of licensed users since the last anniversary"},
				{"Peak of licensed users", "2,531"},
				{"Peak on", "2027-02-15"},
				{"Latest snapshot's licensed users", "2,519"},
				{"Latest snapshot on", "2027-03-09"},
				{"Usage snapshots", "19"},
				{"Increment", "131"},
				{"Prepared (America/Chicago)", "2027-03-10 14:30"},
				nil,
				{"Order due in the window"},
				orderHeader,
				{"Office Professional Plus", "111", "increment", "The qualified count grew by 131, less the 20 reserved users of Microsoft 365 E3."},
				{"Windows Enterprise Upgrade", "131", "increment", "The qualified count grew by 131."},
				{"Microsoft 365 E3", "20", "reservation", "20 users were reserved during the year."},
				{"'=HYPERLINK(\"http://x\")", "9", "transition-period", "'+9 users moved."},
				nil,
				{"After the anniversary"},
				orderHeader,
				{"'=HYPERLINK(\"http://x\")", "9", "subscription", "The full subscription from the anniversary."},
				{"Office Professional Plus", "-9", "reduction", "Nine fewer users need it."},
				nil,
				{"2 usage snapshots were taken before licensed users were counted per agency: left out of the agency split."},
			},
			"Agency split": {
				{"Agency split: EA-5510042"},
				{"Increment", "131"},
				nil,
				{"Agency", "Name", "Peak", "Share"},
				{"DET", "Technology", "410", "42"},
				{"DOA", "Administration", "870", "89"},
				{"(unattributed)", "Users no agency's rule matches", "2", "0"},
				{"Total", "", "", "131"},
				nil,
				{noteSplit},
				nil,
				{"Agencies whose purchases did not cover their peak use"},
				{"Agency", "Product", "Part number", "Peak", "Peak on", "Purchased then", "Short"},
				{"DOA", "Office 365 E3", "ENTERPRISEPACK", "880", "2027-02-15", "850", "30"},
				nil,
				{noteUncovered},
			},
		},
		tables: map[string][]string{"True-up": {"A21:D25", "A28:D30"}, "Agency split": {"A4:D7", "A13:G14"}},
		panes:  map[string]string{"True-up": "A2", "Agency split": "A5"},
		fills:  map[string]string{"Agency split!G14": overFill, "Agency split!D8": "", "True-up!B30": ""},
		stamps: map[string]stampWant{
			"True-up!B4": date(2027, 5, 1), "True-up!B5": date(2027, 3, 2), "True-up!B6": date(2027, 4, 1),
			"True-up!B7": date(2027, 3, 10), "True-up!B13": date(2027, 2, 15), "True-up!B15": date(2027, 3, 9),
			"True-up!B18":      {time.Date(2027, 3, 10, 14, 30, 0, 0, time.UTC), stampFormat},
			"Agency split!E14": date(2027, 2, 15),
		},
		minWidths: map[string]float64{"True-up!A": float64(len("Latest snapshot's licensed users")), "True-up!D": 40},
	})
	// Quantities and shares are numbers a spreadsheet can add up.
	num := func(sheet, cell string) int {
		t.Helper()
		raw, err := f.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(raw)
		if ct, _ := f.GetCellType(sheet, cell); err != nil || (ct != excelize.CellTypeUnset && ct != excelize.CellTypeNumber) {
			t.Errorf("%s!%s = %q (type %v), want a number cell", sheet, cell, raw, ct)
		}
		return n
	}
	var quantities []int
	for _, c := range []string{"B22", "B23", "B24", "B25", "B29", "B30"} {
		quantities = append(quantities, num("True-up", c))
	}
	if want := []int{111, 131, 20, 9, 9, -9}; !slices.Equal(quantities, want) {
		t.Errorf("quantities = %v, want %v", quantities, want)
	}
	shares := num("Agency split", "D5") + num("Agency split", "D6") + num("Agency split", "D7")
	if total, inc := num("Agency split", "D8"), num("True-up", "B17"); shares != ws.Increment || total != ws.Increment || inc != ws.Increment || num("Agency split", "B2") != ws.Increment {
		t.Errorf("shares add up to %d, total row %d, increment %d; want %d", shares, total, inc, ws.Increment)
	}
}

// TestWriteTrueUpNothingOrdered covers a zero-usage true-up given by hand:
// no order, the update statement, no split and every agency covered.
func TestWriteTrueUpNothingOrdered(t *testing.T) {
	ws := trueUpWorksheet()
	ws.CurrentFrom, ws.Current, ws.Increment, ws.UpdateStatement = licensing.CurrentGiven, 2400, 0, true
	ws.Snapshots, ws.Peak, ws.PeakOn, ws.Latest, ws.LatestOn = 0, 0, licensing.Date{}, 0, licensing.Date{}
	ws.Order, ws.AfterAnniversary, ws.Agencies, ws.Uncovered, ws.Notes = nil, nil, nil, nil, nil
	var buf bytes.Buffer
	if err := NewReportWriter().WriteTrueUp(&buf, ws); err != nil {
		t.Fatal(err)
	}
	f := openBook(t, buf.Bytes())
	rows, err := f.GetRows("True-up")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"Current from", "Given when the worksheet was prepared"},
		{"Peak on"}, {noteNothingOrdered}, {noteNothingAfter},
		{"Update statement: nothing is ordered, and the signed update statement (a zero-usage order) is due by 2027-04-01."},
	}
	for _, w := range want {
		if !slices.ContainsFunc(rows, func(r []string) bool { return slices.Equal(r, w) }) {
			t.Errorf("True-up has no row %q:\n%q", w, rows)
		}
	}
	split, err := f.GetRows("Agency split")
	if err != nil {
		t.Fatal(err)
	}
	if len(split) != 8 || !strings.HasPrefix(split[4][0], "The increment is not split") || split[7][0] != noteAllCovered {
		t.Errorf("Agency split = %q", split)
	}
	if tables, _ := f.GetTables("True-up"); len(tables) != 0 {
		t.Errorf("tables without rows: %v", tables)
	}
}
