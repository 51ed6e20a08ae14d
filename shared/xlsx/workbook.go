package xlsx

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"path"
	"strconv"
	"strings"
)

// book is an XLSX package opened for reading.
type book struct {
	ctx    context.Context
	files  []*zip.File
	limits Limits
}

// openPackage opens the package zr for reading within l, until ctx is done.
func openPackage(ctx context.Context, zr *zip.Reader, l Limits) *book {
	return &book{ctx: ctx, files: zr.File, limits: l}
}

// part returns the part name, or nil when the package has none. Part names
// compare without case; a leading slash or backslashes in the archive's
// names are tolerated.
func (b *book) part(name string) *zip.File {
	for _, f := range b.files {
		n := strings.TrimPrefix(strings.ReplaceAll(f.Name, `\`, "/"), "/")
		if strings.EqualFold(n, name) {
			return f
		}
	}
	return nil
}

// elements decodes the part f, calling fn with each start element but
// those inside elements fn reads itself (with p.inside or p.skip); fn
// returning errDone ends the part early. what describes the part in errors.
func (b *book) elements(f *zip.File, what string, fn func(p *xmlPart, e xml.StartElement) error) error {
	p, err := openPart(b.ctx, f, b.limits)
	if err != nil {
		return partError(err, what, b.limits)
	}
	defer p.close()
	err = p.each(func(tok xml.Token) error {
		if e, ok := tok.(xml.StartElement); ok {
			return fn(p, e)
		}
		return nil
	})
	if err != nil {
		return partError(err, what, b.limits)
	}
	return nil
}

// relationship is one entry of a relationships part, its target resolved
// to a part name.
type relationship struct {
	typ, target string
}

// relationships reads the relationships of the part source ("" for the
// package), keyed by id; none when the part has no relationships part.
func (b *book) relationships(source string) (map[string]relationship, error) {
	dir, base := path.Split(source)
	f := b.part(dir + "_rels/" + base + ".rels")
	rels := map[string]relationship{}
	if f == nil {
		return rels, nil
	}
	err := b.elements(f, "the relationships of "+orPackage(source), func(_ *xmlPart, e xml.StartElement) error {
		if e.Name.Local != "Relationship" || attr(e, "TargetMode") == "External" {
			return nil
		}
		target := attr(e, "Target")
		if strings.HasPrefix(target, "/") {
			target = strings.TrimPrefix(target, "/")
		} else {
			target = path.Join(dir, target)
		}
		rels[attr(e, "Id")] = relationship{typ: attr(e, "Type"), target: target}
		return nil
	})
	return rels, err
}

func orPackage(source string) string {
	if source == "" {
		return "the package"
	}
	return source
}

// ofType returns the target of the first relationship whose type ends in
// "/"+kind, or "".
func ofType(rels map[string]relationship, kind string) string {
	for _, r := range rels {
		if strings.HasSuffix(r.typ, "/"+kind) {
			return r.target
		}
	}
	return ""
}

// worksheet is a sheet of the workbook that holds cells.
type worksheet struct {
	name    string
	part    string
	visible bool
}

// workbook is what the workbook part says: the worksheets in their order,
// the date system, and where the shared strings and styles are.
type workbook struct {
	sheets         []worksheet
	date1904       bool
	strings, style string
}

// workbook reads the workbook part and its relationships. Chart sheets and
// other sheets without cells are left out.
func (b *book) workbook() (workbook, error) {
	var wb workbook
	pkg, err := b.relationships("")
	if err != nil {
		return wb, err
	}
	name := ofType(pkg, "officeDocument")
	if name == "" {
		name = "xl/workbook.xml"
	}
	f := b.part(name)
	if f == nil {
		return wb, partError(errMissingPart, "the workbook", b.limits)
	}
	type entry struct{ name, id, state string }
	var entries []entry
	err = b.elements(f, "the workbook", func(_ *xmlPart, e xml.StartElement) error {
		switch e.Name.Local {
		case "workbookPr":
			v := attr(e, "date1904")
			wb.date1904 = v == "1" || v == "true"
		case "sheet":
			var id string // r:id, whatever the prefix
			for _, a := range e.Attr {
				if a.Name.Local == "id" && a.Name.Space != "" {
					id = a.Value
				}
			}
			entries = append(entries, entry{name: attr(e, "name"), id: id, state: attr(e, "state")})
		}
		return nil
	})
	if err != nil {
		return wb, err
	}
	rels, err := b.relationships(name)
	if err != nil {
		return wb, err
	}
	for _, e := range entries {
		r, ok := rels[e.id]
		if !ok || !strings.HasSuffix(r.typ, "/worksheet") {
			continue
		}
		wb.sheets = append(wb.sheets, worksheet{name: e.name, part: r.target, visible: e.state != "hidden" && e.state != "veryHidden"})
	}
	wb.strings = ofType(rels, "sharedStrings")
	if wb.strings == "" {
		wb.strings = path.Join(path.Dir(name), "sharedStrings.xml")
	}
	wb.style = ofType(rels, "styles")
	return wb, nil
}

// dateStyles reads the styles part: for each cell format (the s attribute
// of a cell), whether its number format shows a date. A workbook without
// styles has none.
func (b *book) dateStyles(name string) ([]bool, error) {
	f := b.part(name)
	if name == "" || f == nil {
		return nil, nil
	}
	custom := map[int]bool{}
	var dates []bool
	err := b.elements(f, "the styles", func(p *xmlPart, e xml.StartElement) error {
		switch e.Name.Local {
		case "numFmt":
			if id, err := strconv.Atoi(attr(e, "numFmtId")); err == nil {
				custom[id] = showsDate(attr(e, "formatCode"))
			}
		case "cellXfs":
			return p.inside(func(tok xml.Token) error {
				xf, ok := tok.(xml.StartElement)
				if !ok || xf.Name.Local != "xf" {
					return nil
				}
				id, err := strconv.Atoi(attr(xf, "numFmtId"))
				date, ok := custom[id]
				if !ok {
					date = err == nil && builtInDate(id)
				}
				dates = append(dates, date)
				return p.skip()
			})
		}
		return nil
	})
	return dates, err
}

// builtInDate reports whether the built-in number format id shows a date:
// 14 to 17 and 22 (m/d/yyyy, d-mmm-yy, d-mmm, mmm-yy, m/d/yy h:mm), and the
// East Asian date formats 27 to 36 and 50 to 58.
func builtInDate(id int) bool {
	return (id >= 14 && id <= 17) || id == 22 || (id >= 27 && id <= 36) || (id >= 50 && id <= 58)
}

// showsDate reports whether a number format code shows a day, a month or
// a year (in its first section): d or y, or an m that is not minutes (an m
// is minutes in a format with hours or seconds and no day or year).
// Literal text ("..." and \x), colours, conditions and locales ([...]), and
// AM/PM are not format letters.
func showsDate(code string) bool {
	var d, y, m, hs bool
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch c {
		case ';':
			return d || y || (m && !hs)
		case '"':
			if j := strings.IndexByte(code[i+1:], '"'); j >= 0 {
				i += j + 1
			} else {
				i = len(code)
			}
		case '\\', '_', '*':
			i++
		case '[':
			if j := strings.IndexByte(code[i+1:], ']'); j >= 0 {
				i += j + 1
			} else {
				i = len(code)
			}
		case 'A', 'a':
			if rest := strings.ToUpper(code[i:]); strings.HasPrefix(rest, "AM/PM") {
				i += len("AM/PM") - 1
			} else if strings.HasPrefix(rest, "A/P") {
				i += len("A/P") - 1
			}
		case 'd', 'D':
			d = true
		case 'y', 'Y':
			y = true
		case 'm', 'M':
			m = true
		case 'h', 'H', 's', 'S':
			hs = true
		}
	}
	return d || y || (m && !hs)
}

// sharedTexts are the shared strings of a workbook, one after the other
// in one string: a shared string costs its text and four bytes, however
// many there are, and the cells that use it hold a part of that one string,
// never a copy, however many they are.
type sharedTexts struct {
	all  string
	ends []uint32
}

// at returns string i, and whether there is one.
func (s *sharedTexts) at(i int) (string, bool) {
	if s == nil || i < 0 || i >= len(s.ends) {
		return "", false
	}
	start := uint32(0)
	if i > 0 {
		start = s.ends[i-1]
	}
	return s.all[start:s.ends[i]], true
}

// sharedStrings reads the shared strings part, each string cut to
// MaxCellChars; none when the workbook has no such part. A string's text is
// its own, or that of its runs; phonetic guides are left out.
func (b *book) sharedStrings(name string) (*sharedTexts, error) {
	f := b.part(name)
	if f == nil {
		return nil, nil
	}
	var (
		all  strings.Builder
		ends []uint32
		buf  cellBuffer
	)
	err := b.elements(f, "the shared strings", func(p *xmlPart, e xml.StartElement) error {
		if e.Name.Local != "si" {
			return nil
		}
		buf.reset()
		if err := buf.readRuns(p); err != nil {
			return err
		}
		buf.writeText(&all, b.limits.MaxCellChars)
		ends = append(ends, uint32(all.Len()))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &sharedTexts{all: all.String(), ends: ends}, nil
}

// cellBuffer collects the text of one cell or shared string, up to the
// limit of one token: longer text is refused as if it were one token.
type cellBuffer struct {
	b []byte
}

func (c *cellBuffer) reset() { c.b = c.b[:0] }

// readText appends the text of the element whose start was just read (its
// own, not that of elements inside it) and reads past its end.
func (c *cellBuffer) readText(p *xmlPart) error {
	depth := len(p.open)
	return p.inside(func(tok xml.Token) error {
		t, ok := tok.(xml.CharData)
		if !ok || len(p.open) != depth {
			return nil
		}
		if len(c.b)+len(t) > p.g.maxToken {
			return &tokenTooLarge{part: p.name, max: p.g.maxToken}
		}
		c.b = append(c.b, t...)
		return nil
	})
}

// readRuns appends the text of the rich text element whose start was just
// read (a shared string, an inline string): its t elements, its runs' t
// elements, but not its phonetic guides (rPh); and reads past its end.
func (c *cellBuffer) readRuns(p *xmlPart) error {
	return p.inside(func(tok xml.Token) error {
		e, ok := tok.(xml.StartElement)
		switch {
		case !ok:
			return nil
		case e.Name.Local == "t":
			return c.readText(p)
		case e.Name.Local == "rPh":
			return p.skip()
		}
		return nil
	})
}

// text returns the collected text with Excel's escapes (_xHHHH_) decoded,
// cut to maxChars characters.
func (c *cellBuffer) text(maxChars int) string {
	if !bytes.Contains(c.b, []byte("_x")) {
		return c.raw(maxChars)
	}
	return strings.Clone(cut(unescapeExcel(string(c.b)), maxChars))
}

// raw returns the collected text as it is, cut to maxChars characters.
func (c *cellBuffer) raw(maxChars int) string {
	if len(c.b) <= maxChars {
		return string(c.b)
	}
	return strings.Clone(cut(string(c.b), maxChars))
}

// writeText writes what text returns to sb, without making a string when
// there is nothing to decode or cut.
func (c *cellBuffer) writeText(sb *strings.Builder, maxChars int) {
	if len(c.b) <= maxChars && !bytes.Contains(c.b, []byte("_x")) {
		sb.Write(c.b)
		return
	}
	sb.WriteString(c.text(maxChars))
}

// unescapeExcel decodes the escapes Excel writes for characters XML cannot
// carry: _xHHHH_ is the UTF-16 code unit HHHH, and _x005F_ a literal "_"
// (so that "_x005F_x0041_" reads "_x0041_").
func unescapeExcel(s string) string {
	i := strings.Index(s, "_x")
	if i < 0 {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s))
	for i >= 0 {
		sb.WriteString(s[:i])
		s = s[i:]
		if len(s) >= 7 && s[6] == '_' {
			if u, err := strconv.ParseUint(s[2:6], 16, 16); err == nil {
				if u == '_' {
					sb.WriteByte('_')
				} else {
					sb.WriteString(string(utf16Rune(uint16(u))))
				}
				s = s[7:]
				i = strings.Index(s, "_x")
				continue
			}
		}
		sb.WriteString("_x")
		s = s[2:]
		i = strings.Index(s, "_x")
	}
	sb.WriteString(s)
	return sb.String()
}

// utf16Rune returns the character of a UTF-16 code unit; a lone surrogate
// is U+FFFD.
func utf16Rune(u uint16) rune {
	if u >= 0xD800 && u < 0xE000 {
		return '\uFFFD'
	}
	return rune(u)
}
