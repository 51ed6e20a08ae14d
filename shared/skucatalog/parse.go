package skucatalog

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// MaxSize is the largest list Parse reads, in bytes. Microsoft's full list
// is a few megabytes.
const MaxSize = 32 << 20

// maxSkippedLines bounds Stats.SkippedLines.
const maxSkippedLines = 10

// Stats says what Parse found in a list.
type Stats struct {
	// Rows counts the data rows read: not the header, not blank lines.
	Rows int
	// Products counts the distinct SKUs (GUIDs) of the list.
	Products int
	// Skipped counts the rows left out: a missing or malformed GUID, too
	// few fields, neither a name nor a part number, or bad CSV quoting.
	Skipped int
	// SkippedLines are the line numbers of the first skipped rows.
	SkippedLines []int
	// Conflicts counts rows that repeat a GUID under another name; the
	// first name is kept.
	Conflicts int
}

// Column names, compared after normHeader.
const (
	colGUID = "guid"
	colPart = "stringid"
	colName = "productdisplayname"
)

// normHeader folds a header to compare it: no surrounding spaces, lower
// case, no spaces or underscores ("Product_Display_Name" and "Product
// Display Name" are the same column).
func normHeader(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Map(func(r rune) rune {
		if r == '_' || r == ' ' {
			return -1
		}
		return r
	}, s)
}

// Parse reads Microsoft's CSV "Product names and service plan identifiers
// for licensing", either in full (Product_Display_Name, String_Id, GUID and
// the service plan columns, one row per service plan) or trimmed to GUID,
// String_Id and Product_Display_Name. Columns are found by header, in any
// order and without regard to case; GUID and Product_Display_Name are
// required, String_Id is optional. A SKU repeated on several rows keeps its
// first name. Rows with a bad GUID are skipped and counted in Stats.
//
// The catalog returned holds the list's SKUs and, for GUIDs the list does
// not have, the built-in table's. A list without the required columns is
// Invalid, one over MaxSize is TooLarge; a failure of r keeps its code when
// it is a *licensing.Error and is Unavailable otherwise.
func Parse(r io.Reader) (*Catalog, error) {
	return parse(r, MaxSize)
}

// errTooLarge ends a read past the size limit.
var errTooLarge = errors.New("skucatalog: list over the size limit")

// limitReader reads at most n bytes from r, then fails with errTooLarge if
// r has more to give.
type limitReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var b [1]byte
		n, err := l.r.Read(b[:])
		if n > 0 {
			l.over = true
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// columns are the indexes of the needed fields in a record.
type columns struct {
	guid, part, name int // part is -1 when absent
	need             int // the fewest fields a usable record has
}

func findColumns(op string, header []string) (columns, error) {
	cols := columns{guid: -1, part: -1, name: -1}
	for i, h := range header {
		var idx *int
		switch normHeader(h) {
		case colGUID:
			idx = &cols.guid
		case colPart:
			idx = &cols.part
		case colName:
			idx = &cols.name
		}
		if idx != nil && *idx < 0 {
			*idx = i
		}
	}
	var missing []string
	if cols.guid < 0 {
		missing = append(missing, "GUID")
	}
	if cols.name < 0 {
		missing = append(missing, "Product_Display_Name")
	}
	if len(missing) > 0 {
		return cols, licensing.Errorf(op, licensing.Invalid,
			"The SKU list has no %s column; its first line must name the columns, such as GUID,String_Id,Product_Display_Name.",
			strings.Join(missing, " or "))
	}
	cols.need = max(cols.guid, cols.part, cols.name) + 1
	return cols, nil
}

func parse(r io.Reader, limit int64) (*Catalog, error) {
	const op = "skucatalog.parse"
	lr := &limitReader{r: r, n: limit}
	br := bufio.NewReaderSize(lr, 64<<10)
	// A byte order mark would otherwise stick to the first header.
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.LazyQuotes = true
	cr.TrimLeadingSpace = true

	readErr := func(err error) error {
		if lr.over {
			return licensing.Errorf(op, licensing.TooLarge, "The SKU list is larger than %d MiB.", limit>>20)
		}
		code := licensing.Unavailable
		var le *licensing.Error
		if errors.As(err, &le) && le.Code != "" {
			code = le.Code
		}
		return licensing.Wrap(op, code, "The SKU list could not be read.", err)
	}

	header, err := cr.Read()
	var perr *csv.ParseError
	switch {
	case err == io.EOF:
		return nil, licensing.Errorf(op, licensing.Invalid, "The SKU list is empty.")
	case errors.As(err, &perr):
		return nil, licensing.Wrap(op, licensing.Invalid, "The first line of the SKU list is not CSV.", err)
	case err != nil:
		return nil, readErr(err)
	}
	cols, err := findColumns(op, header)
	if err != nil {
		return nil, err
	}

	var (
		stats    Stats
		products []licensing.Product
		named    []bool // whether products[i] has a name from the list
		index    = map[string]int{}
	)
	skip := func(line int) {
		stats.Skipped++
		if len(stats.SkippedLines) < maxSkippedLines {
			stats.SkippedLines = append(stats.SkippedLines, line)
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.As(err, &perr) && !lr.over {
				stats.Rows++
				skip(perr.StartLine)
				continue
			}
			return nil, readErr(err)
		}
		stats.Rows++
		line, _ := cr.FieldPos(0)
		if len(rec) < cols.need {
			skip(line)
			continue
		}
		id := strings.TrimSpace(rec[cols.guid])
		if !isGUID(id) {
			skip(line)
			continue
		}
		id = strings.ToLower(id)
		name := strings.TrimSpace(rec[cols.name])
		var part string
		if cols.part >= 0 {
			part = strings.TrimSpace(rec[cols.part])
		}
		if i, ok := index[id]; ok {
			p := &products[i]
			switch {
			case name == "" || name == p.Name:
			case !named[i]:
				p.Name, named[i] = strings.Clone(name), true
			default:
				stats.Conflicts++
			}
			if p.PartNumber == "" && part != "" {
				p.PartNumber = strings.Clone(part)
			}
			continue
		}
		// Record fields share one string per line; clone what is kept so
		// that the lines themselves can go.
		id = strings.Clone(id)
		index[id] = len(products)
		products = append(products, licensing.Product{SkuID: id, PartNumber: strings.Clone(part), Name: strings.Clone(name)})
		named = append(named, name != "")
	}

	c := &Catalog{
		byID:   make(map[string]licensing.Product, len(products)+len(builtinRows)),
		byPart: make(map[string]licensing.Product, len(products)+len(builtinRows)),
		source: "parsed list",
	}
	for _, p := range products {
		if p.Name == "" {
			p.Name = p.PartNumber
		}
		if p.Name == "" {
			stats.Skipped++
			continue
		}
		c.add(p)
		stats.Products++
	}
	c.fillFrom(Builtin())
	c.stats = stats
	return c, nil
}

// isGUID reports whether s is a GUID written as 8-4-4-4-12 hex digits, in
// any case.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
