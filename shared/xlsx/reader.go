// Package xlsx reads the spreadsheets users upload (XLSX by streaming its
// XML with encoding/xml, CSV with encoding/csv) into rows of text cells: it
// implements licensing.SheetReader for the import of the legacy tracking
// spreadsheet. It also writes the report workbooks, with excelize.
//
// The format is decided by the content, not by the name: an XLSX file is a
// zip archive ("PK\x03\x04"); a legacy .xls or an encrypted workbook (an OLE
// container) is refused with a request to save as .xlsx or .csv; anything
// else that is text is CSV. Every input is bounded: the file size, the
// number of rows and columns, the length of a cell, and, for XLSX, what it
// expands to: only the parts needed are unzipped, each streamed and bounded
// (Limits.MaxPartBytes, Limits.MaxCellBytes), so that the memory a read
// takes does not grow with what a small file unzips to; a workbook that
// declares a document type or entities is refused (see xmlpart.go).
//
// What a cell becomes:
//
//   - text: as it is, whatever it looks like (text starting with "=" is
//     text, never a formula to evaluate);
//   - a number: its stored value, as Excel's formula bar shows it ("25",
//     "4500012345", "0.5"), not its display format, so that thousands
//     separators, currency signs or exponents ("4.5E+09") never reach the
//     caller;
//   - a number in a format that shows a day, a month or a year (built-in or
//     custom; a time of day alone stays a number): the day as 2006-01-02,
//     in the workbook's date system (1900 or 1904);
//   - a formula: its cached result, as above; formulas are never evaluated;
//   - a boolean: TRUE or FALSE; an error value: as Excel shows it ("#N/A").
//
// CSV: UTF-8 with or without a byte-order mark, UTF-16 with a byte-order
// mark (Excel's "Unicode text"), or else Windows-1252; the separator is
// whichever of comma, semicolon and tab the header line uses most; quoted
// fields and CRLF line ends as RFC 4180.
package xlsx

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

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
	// cell holds); the caller sees a cell too long for any of its fields.
	MaxCellChars int
	// MaxPartBytes bounds what each XML part of an XLSX file that is read
	// (the workbook, its relationships and styles, the shared strings, the
	// worksheet) unzips to (default 64 MiB, at most 1 GiB): a larger one is
	// refused as TooLarge, before it is inflated when its declared size
	// says so. The shared strings are held in memory, within this size.
	MaxPartBytes int64
	// MaxCellBytes bounds the XML text of one cell or shared string, and
	// any one XML tag (default 1 MiB; a cell Excel writes takes at most
	// about 230 KB): a longer one is refused as TooLarge as soon as it
	// passes the limit, without being read whole.
	MaxCellBytes int
}

// DefaultLimits returns the limits a Reader uses by default.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:     licensing.MaxImportBytes,
		MaxRows:      licensing.MaxImportRows + 10,
		MaxColumns:   100,
		MaxCellChars: 32767,
		MaxPartBytes: 64 << 20,
		MaxCellBytes: 1 << 20,
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
	if l.MaxPartBytes <= 0 {
		l.MaxPartBytes = d.MaxPartBytes
	}
	l.MaxPartBytes = min(l.MaxPartBytes, 1<<30)
	if l.MaxCellBytes <= 0 {
		l.MaxCellBytes = d.MaxCellBytes
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
	zr, err := zip.NewReader(bytes.NewReader(content), int64(len(content)))
	if err != nil {
		return nil, licensing.Wrap(op, licensing.Invalid, "The file is not a readable .xlsx workbook; save it again from Excel, or as .csv.", err)
	}
	b := openPackage(ctx, zr, r.limits)
	wb, err := b.workbook()
	if err != nil {
		return nil, err
	}
	sheet, ok := pickSheet(wb.sheets)
	if !ok {
		return nil, licensing.Errorf(op, licensing.Invalid, "The workbook has no visible worksheet.")
	}
	dates, err := b.dateStyles(wb.style)
	if err != nil {
		return nil, err
	}
	shared, err := b.sharedStrings(wb.strings)
	if err != nil {
		return nil, err
	}
	sink := &rowSink{limits: r.limits}
	if err := b.readSheet(sheet, wb, shared, dates, sink); err != nil {
		return nil, err
	}
	return sink.rows, nil
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
