package xlsx

import (
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// pickSheet returns the worksheet to read: the first visible one whose name
// speaks of licenses, tracking, purchases or the ledger, else the first
// visible one; false when none is visible.
func pickSheet(sheets []worksheet) (worksheet, bool) {
	var first *worksheet
	for i, s := range sheets {
		if !s.visible {
			continue
		}
		if first == nil {
			first = &sheets[i]
		}
		lower := strings.ToLower(s.name)
		for _, h := range sheetHints {
			if strings.Contains(lower, h) {
				return s, true
			}
		}
	}
	if first == nil {
		return worksheet{}, false
	}
	return *first, true
}

// lastExcelDay is the serial number of December 31, 9999, the last day a
// spreadsheet shows.
const lastExcelDay = 2958465

// sheetReader streams the cells of one worksheet into a rowSink, row by
// row: the worksheet is never held whole, and a row holds only the columns
// up to its last non-blank cell within the column limit.
type sheetReader struct {
	limits   Limits
	shared   *sharedTexts
	dates    []bool
	date1904 bool
	sink     *rowSink

	row   int      // the number of the row being read (1-based)
	cells []string // its cells so far
	col   int      // the column of the last cell read
	v, is cellBuffer
}

// readSheet reads the worksheet ws into sink.
func (b *book) readSheet(ws worksheet, wb workbook, shared *sharedTexts, dates []bool, sink *rowSink) error {
	what := fmt.Sprintf("the worksheet %q", ws.name)
	f := b.part(ws.part)
	if f == nil {
		return partError(errMissingPart, what, b.limits)
	}
	sr := &sheetReader{limits: b.limits, shared: shared, dates: dates, date1904: wb.date1904, sink: sink}
	return b.elements(f, what, func(p *xmlPart, e xml.StartElement) error {
		if e.Name.Local != "sheetData" {
			return nil
		}
		if err := p.inside(sr.rows(p)); err != nil {
			return err
		}
		// What follows the cells (merged ranges, conditional formats,
		// drawings) is not needed.
		return errDone
	})
}

// rows returns what reads the rows of sheetData: each row's cells into
// the sink.
func (sr *sheetReader) rows(p *xmlPart) func(xml.Token) error {
	return func(tok xml.Token) error {
		e, ok := tok.(xml.StartElement)
		if !ok || e.Name.Local != "row" {
			return nil
		}
		sr.startRow(attr(e, "r"))
		err := p.inside(func(tok xml.Token) error {
			if c, ok := tok.(xml.StartElement); ok && c.Name.Local == "c" {
				return sr.cell(p, c)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return sr.sink.add(sr.cells)
	}
}

// startRow begins the row numbered r, or the one after the last when r is
// missing or not after it; the rows skipped are blank.
func (sr *sheetReader) startRow(r string) {
	n, err := strconv.Atoi(r)
	if err != nil || n <= sr.row {
		n = sr.row + 1
	}
	sr.sink.blanks += n - sr.row - 1
	sr.row = n
	sr.cells = sr.cells[:0]
	sr.col = 0
}

// cell reads the cell whose start e was just read.
func (sr *sheetReader) cell(p *xmlPart, e xml.StartElement) error {
	col := column(attr(e, "r"))
	if col <= 0 {
		col = sr.col + 1
	}
	sr.col = col
	sr.v.reset()
	sr.is.reset()
	inline := false
	err := p.inside(func(tok xml.Token) error {
		t, ok := tok.(xml.StartElement)
		if !ok {
			return nil
		}
		switch t.Name.Local {
		case "v":
			return sr.v.readText(p)
		case "is":
			inline = true
			return sr.is.readRuns(p)
		}
		return p.skip() // f (the formula), extLst
	})
	if err != nil {
		return err
	}
	value, err := sr.value(attr(e, "t"), attr(e, "s"), inline)
	if err != nil {
		return err
	}
	sr.put(col, value)
	return nil
}

// put places value in column col of the row. Blank cells take no room; a
// non-blank one beyond the column limit ends the row at the limit plus one,
// so that the sink refuses the row.
func (sr *sheetReader) put(col int, value string) {
	if value == "" && col > len(sr.cells) {
		return
	}
	if col > sr.limits.MaxColumns {
		if strings.TrimSpace(value) == "" {
			return
		}
		col = sr.limits.MaxColumns + 1
	}
	for len(sr.cells) < col {
		sr.cells = append(sr.cells, "")
	}
	sr.cells[col-1] = value
}

// value is the text of a cell of type t and style s (the cell's v and is
// text are in sr.v and sr.is): strings as they are, numbers as stored,
// numbers in a date format as the day, booleans as TRUE or FALSE,
// formulas as their cached result.
func (sr *sheetReader) value(t, s string, inline bool) (string, error) {
	max := sr.limits.MaxCellChars
	switch t {
	case "s":
		v := strings.TrimSpace(string(sr.v.b))
		if v == "" {
			return "", nil
		}
		i, err := strconv.Atoi(v)
		text, ok := sr.shared.at(i)
		if err != nil || !ok {
			return "", licensing.Errorf(op, licensing.Invalid,
				"The workbook is damaged: row %d refers to text that is not in it; save it again from Excel, or as .csv.", sr.row)
		}
		return text, nil
	case "inlineStr":
		if inline {
			return sr.is.text(max), nil
		}
		return sr.v.raw(max), nil
	case "b":
		switch v := string(sr.v.b); v {
		case "1":
			return "TRUE", nil
		case "0":
			return "FALSE", nil
		default:
			return cut(v, max), nil
		}
	case "d":
		return isoDay(sr.v.raw(max)), nil
	case "", "n":
		return sr.number(sr.v.raw(max), s), nil
	}
	return sr.v.raw(max), nil // str (a formula's text), e (an error such as #N/A)
}

// number returns a stored number as it is, or, in a cell whose style shows
// a date, as the day (the style is the cell's s attribute; style 0, the
// default, is never a date).
func (sr *sheetReader) number(v, s string) string {
	i, err := strconv.Atoi(s)
	if err != nil || i <= 0 || i >= len(sr.dates) || !sr.dates[i] {
		return v
	}
	num, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(num) || num < 0 || num > lastExcelDay {
		return v
	}
	t, err := excelize.ExcelDateToTime(num, sr.date1904)
	if err != nil {
		return v
	}
	return t.Format(time.DateOnly)
}

// isoDay returns the day of an ISO 8601 date cell (type d), or v as it is
// when it is not one.
func isoDay(v string) string {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", time.DateOnly, "20060102T150405Z"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.Format(time.DateOnly)
		}
	}
	return v
}

// column returns the column number of a cell reference ("B7" is 2), or 0
// when ref has no column letters. Numbers beyond the last column a
// spreadsheet has stop there.
func column(ref string) int {
	n := 0
	for i := 0; i < len(ref); i++ {
		c := ref[i] | 0x20 // lower case
		if c < 'a' || c > 'z' {
			break
		}
		n = min(n*26+int(c-'a')+1, excelize.MaxColumns+1)
	}
	return n
}
