// Package xlsx reads the spreadsheets users upload (XLSX with excelize, CSV
// with encoding/csv) into rows of text cells: it implements
// licensing.SheetReader for the import of the legacy tracking spreadsheet.
//
// The format is decided by the content, not by the name: an XLSX file is a
// zip archive ("PK\x03\x04"); a legacy .xls or an encrypted workbook (an OLE
// container) is refused with a request to save as .xlsx or .csv; anything
// else that is text is CSV. Every input is bounded: the file size, the
// number of rows and columns, the length of a cell, and, for XLSX, the
// unzipped size (a zip bomb is refused before it is inflated; worksheets
// over a smaller size are inflated to a temporary file, not to memory).
//
// What a cell becomes:
//
//   - text: as it is, whatever it looks like (text starting with "=" is
//     text, never a formula to evaluate);
//   - a number: its stored value, as Excel's formula bar shows it ("25",
//     "4500012345", "0.5"), not its display format, so that thousands
//     separators, currency signs or exponents ("4.5E+09") never reach the
//     caller;
//   - a number formatted as a date: the day as 2006-01-02, in the workbook's
//     date system (1900 or 1904);
//   - a formula: its cached result, as above; formulas are never evaluated;
//   - a boolean: TRUE or FALSE.
//
// CSV: UTF-8 with or without a byte-order mark, UTF-16 with a byte-order
// mark (Excel's "Unicode text"), or else Windows-1252; the separator is
// whichever of comma, semicolon and tab the header line uses most; quoted
// fields and CRLF line ends as RFC 4180.
package xlsx

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Limits bound what a Reader accepts. Zero fields take the defaults.
type Limits struct {
	// MaxBytes is the largest file (default 20 MiB, the request limit).
	MaxBytes int
	// MaxRows is the most rows up to the last non-blank one, header
	// included (default licensing.MaxImportRows + 10).
	MaxRows int
	// MaxColumns is the most columns up to a row's last non-blank cell
	// (default 100).
	MaxColumns int
	// MaxCellChars cuts longer cells (default 32767, the most a spreadsheet
	// cell holds), so that a hostile cell cannot take memory; the caller
	// sees a cell too long for any of its fields.
	MaxCellChars int
	// UnzipSizeLimit bounds the unzipped size of an XLSX file (default
	// 128 MiB): a larger one is refused as TooLarge.
	UnzipSizeLimit int64
	// UnzipXMLSizeLimit is the size over which a worksheet is inflated to a
	// temporary file instead of memory (default 16 MiB).
	UnzipXMLSizeLimit int64
}

// DefaultLimits returns the limits a Reader uses by default.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:          licensing.MaxImportBytes,
		MaxRows:           licensing.MaxImportRows + 10,
		MaxColumns:        100,
		MaxCellChars:      32767,
		UnzipSizeLimit:    128 << 20,
		UnzipXMLSizeLimit: 16 << 20,
	}
}

// Reader reads uploaded spreadsheets. It is safe for concurrent use.
type Reader struct {
	limits Limits
}

var _ licensing.SheetReader = (*Reader)(nil)

// NewReader returns a Reader with limits l (zero fields: DefaultLimits).
func NewReader(l Limits) *Reader {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxRows <= 0 {
		l.MaxRows = d.MaxRows
	}
	if l.MaxColumns <= 0 {
		l.MaxColumns = d.MaxColumns
	}
	if l.MaxCellChars <= 0 {
		l.MaxCellChars = d.MaxCellChars
	}
	if l.UnzipSizeLimit <= 0 {
		l.UnzipSizeLimit = d.UnzipSizeLimit
	}
	if l.UnzipXMLSizeLimit <= 0 {
		l.UnzipXMLSizeLimit = d.UnzipXMLSizeLimit
	}
	if l.UnzipXMLSizeLimit > l.UnzipSizeLimit {
		l.UnzipXMLSizeLimit = l.UnzipSizeLimit
	}
	return &Reader{limits: l}
}

const op = "xlsx.read"

// Signatures of the formats told apart by content.
var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// ReadRows returns the rows of the spreadsheet in content, the first row
// being the first row of the sheet, with blank rows inside the data kept (as
// empty rows, so that row numbers stay those the user sees) and trailing
// blank rows and cells dropped. For XLSX it reads the first visible sheet
// whose name speaks of licenses, tracking, purchases or the ledger, else the
// first visible sheet. A file over the limits is TooLarge; one that is not
// a readable XLSX or CSV is Invalid.
func (r *Reader) ReadRows(ctx context.Context, content []byte, fileName, contentType string) ([][]string, error) {
	if len(content) > r.limits.MaxBytes {
		return nil, licensing.Errorf(op, licensing.TooLarge, "The file is larger than %d MB; split it into smaller files.", r.limits.MaxBytes>>20)
	}
	if len(content) == 0 {
		return nil, licensing.Errorf(op, licensing.Invalid, "The file is empty.")
	}
	switch {
	case bytes.HasPrefix(content, zipMagic):
		return r.readXLSX(ctx, content)
	case bytes.HasPrefix(content, oleMagic):
		return nil, licensing.Errorf(op, licensing.Invalid, "This is an old-style .xls workbook or a password-protected one: save it as .xlsx (Excel Workbook) without a password, or as .csv, and upload that.")
	}
	name := strings.ToLower(fileName)
	ct := strings.ToLower(contentType)
	if strings.HasSuffix(name, ".xlsx") || strings.Contains(ct, "spreadsheetml") {
		return nil, licensing.Errorf(op, licensing.Invalid, "The file is not a valid .xlsx workbook (it may be damaged or cut short); save it again from Excel, or as .csv.")
	}
	return r.readCSV(ctx, content)
}

// rowSink collects rows within the limits: blank rows are held back until a
// non-blank one follows, trailing blank cells dropped, long cells cut.
type rowSink struct {
	limits Limits
	rows   [][]string
	blanks int
}

func (s *rowSink) add(row []string) error {
	n := len(row)
	for n > 0 && strings.TrimSpace(row[n-1]) == "" {
		n--
	}
	if n == 0 {
		s.blanks++
		return nil
	}
	if n > s.limits.MaxColumns {
		return licensing.Errorf(op, licensing.TooLarge, "Row %d has cells beyond column %d; delete the unused columns (the most read is %d).", len(s.rows)+s.blanks+1, s.limits.MaxColumns, s.limits.MaxColumns)
	}
	if len(s.rows)+s.blanks+1 > s.limits.MaxRows {
		return licensing.Errorf(op, licensing.TooLarge, "The sheet has more than %d rows; split it into smaller files.", s.limits.MaxRows)
	}
	for ; s.blanks > 0; s.blanks-- {
		s.rows = append(s.rows, nil)
	}
	out := make([]string, n)
	for i, c := range row[:n] {
		out[i] = cut(c, s.limits.MaxCellChars)
	}
	s.rows = append(s.rows, out)
	return nil
}

// cut returns s shortened to at most max characters.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	i, n := 0, 0
	for i < len(s) && n < max {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return s[:i]
}

// sheetHints are words in the name of the sheet to read.
var sheetHints = []string{"licens", "licenc", "tracking", "purchase", "ledger"}

func (r *Reader) readXLSX(ctx context.Context, content []byte) ([][]string, error) {
	f, err := excelize.OpenReader(bytes.NewReader(content), excelize.Options{
		UnzipSizeLimit:    r.limits.UnzipSizeLimit,
		UnzipXMLSizeLimit: r.limits.UnzipXMLSizeLimit,
	})
	if err != nil {
		if strings.Contains(err.Error(), "unzip size exceeds") {
			return nil, licensing.Wrap(op, licensing.TooLarge, fmt.Sprintf("The workbook unpacks to more than %d MB; split it into smaller files.", r.limits.UnzipSizeLimit>>20), err)
		}
		return nil, licensing.Wrap(op, licensing.Invalid, "The file is not a readable .xlsx workbook; save it again from Excel, or as .csv.", err)
	}
	defer f.Close()
	sheet := pickSheet(f)
	if sheet == "" {
		return nil, licensing.Errorf(op, licensing.Invalid, "The workbook has no visible worksheet.")
	}
	date1904 := false
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		date1904 = *props.Date1904
	}
	shown, err := f.Rows(sheet)
	if err != nil {
		return nil, licensing.Wrap(op, licensing.Invalid, "The worksheet could not be read; save the workbook again from Excel, or as .csv.", err)
	}
	defer shown.Close()
	stored, err := f.Rows(sheet)
	if err != nil {
		return nil, licensing.Wrap(op, licensing.Invalid, "The worksheet could not be read; save the workbook again from Excel, or as .csv.", err)
	}
	defer stored.Close()
	sink := &rowSink{limits: r.limits}
	for n := 0; shown.Next() && stored.Next(); n++ {
		if n%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, licensing.Wrap(op, licensing.Unavailable, "Reading the workbook took too long; try again.", err)
			}
		}
		display, err := shown.Columns()
		if err != nil {
			return nil, licensing.Wrap(op, licensing.Invalid, fmt.Sprintf("Row %d of the worksheet could not be read; save the workbook again from Excel, or as .csv.", n+1), err)
		}
		raw, err := stored.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, licensing.Wrap(op, licensing.Invalid, fmt.Sprintf("Row %d of the worksheet could not be read; save the workbook again from Excel, or as .csv.", n+1), err)
		}
		if err := sink.add(cellTexts(display, raw, date1904)); err != nil {
			return nil, err
		}
	}
	if err := errors.Join(shown.Error(), stored.Error()); err != nil {
		return nil, licensing.Wrap(op, licensing.Invalid, "The worksheet could not be read to the end; save the workbook again from Excel, or as .csv.", err)
	}
	return sink.rows, nil
}

// pickSheet returns the sheet to read.
func pickSheet(f *excelize.File) string {
	var first string
	for _, name := range f.GetSheetList() {
		if visible, err := f.GetSheetVisible(name); err == nil && !visible {
			continue
		}
		if first == "" {
			first = name
		}
		lower := strings.ToLower(name)
		for _, h := range sheetHints {
			if strings.Contains(lower, h) {
				return name
			}
		}
	}
	return first
}

// dateShown matches what a date format shows: 2025-08-01, 8/1/2025,
// 08-01-25, 1-Aug-25, Aug 1, 2025, 1.8.2025, with or without a time.
var dateShown = regexp.MustCompile(`(?i)^\s*(\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|\d{1,2}[-/ .]?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)|(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*[-/ .]*\d)`)

// cellTexts merges a row as shown with the row as stored: stored values for
// numbers, days for dates, the shown text for everything else.
func cellTexts(display, raw []string, date1904 bool) []string {
	n := max(len(display), len(raw))
	out := make([]string, n)
	for i := 0; i < n; i++ {
		var d, v string
		if i < len(display) {
			d = display[i]
		}
		if i < len(raw) {
			v = raw[i]
		}
		out[i] = cellText(d, v, date1904)
	}
	return out
}

func cellText(display, raw string, date1904 bool) string {
	if display == raw {
		return raw
	}
	num, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return display
	}
	switch strings.ToUpper(display) {
	case "TRUE", "FALSE":
		if raw == "1" || raw == "0" {
			return strings.ToUpper(display)
		}
	}
	if num >= 0 && dateShown.MatchString(display) {
		if t, err := excelize.ExcelDateToTime(num, date1904); err == nil {
			return t.Format("2006-01-02")
		}
	}
	return raw
}

func (r *Reader) readCSV(ctx context.Context, content []byte) ([][]string, error) {
	text, err := decodeText(content)
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma = separator(text)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	sink := &rowSink{limits: r.limits}
	line, lastLine := 0, 0
	for {
		if line%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, licensing.Wrap(op, licensing.Unavailable, "Reading the file took too long; try again.", err)
			}
		}
		line++
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, licensing.Wrap(op, licensing.Invalid, fmt.Sprintf("The CSV file could not be read (%s); save it again from Excel as CSV.", csvProblem(err)), err)
		}
		// encoding/csv skips empty lines, which a spreadsheet shows as empty
		// rows: count them, so that row numbers are those the user sees.
		if start, _ := cr.FieldPos(0); start > lastLine+1 {
			sink.blanks += start - lastLine - 1
		}
		last := len(rec) - 1
		end, _ := cr.FieldPos(last)
		lastLine = end + strings.Count(rec[last], "\n")
		if err := sink.add(rec); err != nil {
			return nil, err
		}
	}
	return sink.rows, nil
}

// csvProblem describes a CSV parse error without the parser's internals.
func csvProblem(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d: %s", pe.StartLine, pe.Err)
	}
	return "not CSV"
}

// decodeText returns content as UTF-8 text: UTF-8 (a byte-order mark
// dropped), UTF-16 with a byte-order mark, or Windows-1252. Content with NUL
// bytes is not text.
func decodeText(content []byte) (string, error) {
	switch {
	case bytes.HasPrefix(content, []byte{0xEF, 0xBB, 0xBF}):
		content = content[3:]
	case bytes.HasPrefix(content, []byte{0xFF, 0xFE}), bytes.HasPrefix(content, []byte{0xFE, 0xFF}):
		return decodeUTF16(content)
	}
	if bytes.IndexByte(content, 0) >= 0 {
		return "", licensing.Errorf(op, licensing.Invalid, "The file is neither an .xlsx workbook nor a CSV text file.")
	}
	if utf8.Valid(content) {
		return string(content), nil
	}
	return decodeWindows1252(content), nil
}

func decodeUTF16(content []byte) (string, error) {
	big := content[0] == 0xFE
	content = content[2:]
	if len(content)%2 != 0 {
		return "", licensing.Errorf(op, licensing.Invalid, "The file is cut short: UTF-16 text has an odd number of bytes.")
	}
	units := make([]uint16, len(content)/2)
	for i := range units {
		a, b := uint16(content[2*i]), uint16(content[2*i+1])
		if big {
			units[i] = a<<8 | b
		} else {
			units[i] = b<<8 | a
		}
	}
	s := string(utf16.Decode(units))
	if strings.IndexByte(s, 0) >= 0 {
		return "", licensing.Errorf(op, licensing.Invalid, "The file is neither an .xlsx workbook nor a CSV text file.")
	}
	return s, nil
}

// windows1252 maps the bytes 0x80 to 0x9F, where Windows-1252 differs from
// Latin-1; undefined ones become U+FFFD.
var windows1252 = [32]rune{
	'€', '\uFFFD', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\uFFFD', 'Ž', '\uFFFD',
	'\uFFFD', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\uFFFD', 'ž', 'Ÿ',
}

func decodeWindows1252(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/8)
	for _, c := range b {
		switch {
		case c < 0x80:
			sb.WriteByte(c)
		case c < 0xA0:
			sb.WriteRune(windows1252[c-0x80])
		default:
			sb.WriteRune(rune(c))
		}
	}
	return sb.String()
}

// separator returns the field separator the first non-empty line uses
// most, outside quotes: comma, semicolon (Excel in many locales) or tab.
func separator(text string) rune {
	counts := map[rune]int{}
	inQuotes, seen := false, false
scan:
	for _, c := range text {
		switch {
		case c == '"':
			inQuotes = !inQuotes
		case inQuotes:
		case c == '\n' || c == '\r':
			if seen {
				break scan
			}
		case c == ',' || c == ';' || c == '\t':
			counts[c]++
			seen = true
		case c != ' ':
			seen = true
		}
	}
	best := ','
	for _, c := range []rune{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}
