package xlsx

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Namespaces and relationship types of a hand-made workbook.
const (
	nsMain   = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
	nsRel    = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	nsPkgRel = "http://schemas.openxmlformats.org/package/2006/relationships"

	sheetHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<worksheet xmlns="` + nsMain + `" xmlns:r="` + nsRel + `"><sheetData>`
	sheetTail = `</sheetData></worksheet>`
	sstHead   = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" + `<sst xmlns="` + nsMain + `">`
	sstTail   = `</sst>`
)

// handBook is a workbook made part by part, for content no spreadsheet
// program writes: one worksheet, Licenses, with shared strings and styles.
type handBook map[string]func(w io.Writer) error

// newHandBook returns a workbook whose worksheet's sheetData holds rows
// and whose shared strings are sst (each an <si> element).
func newHandBook(rows string, sst ...string) handBook {
	b := handBook{}
	b.set("[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+"\n"+
		`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">`+
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>`+
		`<Default Extension="xml" ContentType="application/xml"/>`+
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>`+
		`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`+
		`<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>`+
		`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>`+
		`</Types>`)
	b.set("_rels/.rels", `<Relationships xmlns="`+nsPkgRel+`">`+
		`<Relationship Id="rId1" Type="`+nsRel+`/officeDocument" Target="xl/workbook.xml"/></Relationships>`)
	b.set("xl/workbook.xml", `<workbook xmlns="`+nsMain+`" xmlns:r="`+nsRel+`"><sheets>`+
		`<sheet name="Licenses" sheetId="1" r:id="rId1"/></sheets></workbook>`)
	b.set("xl/_rels/workbook.xml.rels", `<Relationships xmlns="`+nsPkgRel+`">`+
		`<Relationship Id="rId1" Type="`+nsRel+`/worksheet" Target="worksheets/sheet1.xml"/>`+
		`<Relationship Id="rId2" Type="`+nsRel+`/sharedStrings" Target="sharedStrings.xml"/>`+
		`<Relationship Id="rId3" Type="`+nsRel+`/styles" Target="styles.xml"/></Relationships>`)
	b.set("xl/styles.xml", `<styleSheet xmlns="`+nsMain+`"><cellXfs count="1"><xf numFmtId="0"/></cellXfs></styleSheet>`)
	b.set("xl/worksheets/sheet1.xml", sheetHead+rows+sheetTail)
	b.set("xl/sharedStrings.xml", sstHead+strings.Join(sst, "")+sstTail)
	return b
}

// set makes name hold xml.
func (b handBook) set(name, xml string) handBook {
	b[name] = func(w io.Writer) error { _, err := io.WriteString(w, xml); return err }
	return b
}

// setRepeated makes name hold head, n times the byte c, then tail, written
// a megabyte at a time.
func (b handBook) setRepeated(name, head string, c byte, n int, tail string) handBook {
	b[name] = func(w io.Writer) error {
		if _, err := io.WriteString(w, head); err != nil {
			return err
		}
		chunk := bytes.Repeat([]byte{c}, 1<<20)
		for left := n; left > 0; left -= len(chunk) {
			if _, err := w.Write(chunk[:min(left, len(chunk))]); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, tail)
		return err
	}
	return b
}

// zip returns the workbook as a file, each part deflated at the best
// compression.
func (b handBook) zip(tb testing.TB) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	names := make([]string, 0, len(b))
	for name := range b {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		w, err := zw.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		if err := b[name](w); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// bombBytes is what the one cell of the bomb expands to: 120 MiB, under
// the 128 MiB the whole workbook was once allowed to unzip to.
const bombBytes = 120 << 20

// bombBook returns a workbook of about 0.12 MB whose one cell, A1, unzips
// to n bytes of text: a shared string, or an inline string in the
// worksheet.
func bombBook(tb testing.TB, n int, shared bool) []byte {
	if shared {
		return newHandBook(`<row r="1"><c r="A1" t="s"><v>0</v></c></row>`).
			setRepeated("xl/sharedStrings.xml", sstHead+"<si><t>", 'x', n, "</t></si>"+sstTail).zip(tb)
	}
	return newHandBook("").setRepeated("xl/worksheets/sheet1.xml",
		sheetHead+`<row r="1"><c r="A1" t="inlineStr"><is><t>`, 'x', n, `</t></is></c></row>`+sheetTail).zip(tb)
}

func TestReadRefusesExpansion(t *testing.T) {
	tests := []struct {
		name    string
		content []byte
	}{
		{"a shared string of 120 MiB", bombBook(t, bombBytes, true)},
		{"an inline string of 120 MiB", bombBook(t, bombBytes, false)},
		{"a shared string of 4 MiB", bombBook(t, 4<<20, true)},
		{"an inline string of 4 MiB", bombBook(t, 4<<20, false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := NewReader(Limits{}).ReadRows(context.Background(), tt.content, "bomb.xlsx", "")
			if licensing.ErrorCode(err) != licensing.TooLarge || !strings.Contains(licensing.ErrorMessage(err), "expands to more than") {
				t.Fatalf("ReadRows = %d rows, %v; want TooLarge saying what the file expands to", len(rows), err)
			}
			t.Logf("%d bytes: %s", len(tt.content), licensing.ErrorMessage(err))
		})
	}
}

func TestReadRefusesDocumentTypes(t *testing.T) {
	const laughs = `<!DOCTYPE worksheet [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>`
	head := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"
	cell := `<row r="1"><c r="A1" t="inlineStr"><is><t>Agency</t></is></c></row>`
	tests := []struct {
		name string
		book handBook
	}{
		{"entities in the worksheet", newHandBook("").set("xl/worksheets/sheet1.xml",
			head+laughs+`<worksheet xmlns="`+nsMain+`"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>`)},
		{"a document type without entities", newHandBook("").set("xl/worksheets/sheet1.xml",
			head+`<!DOCTYPE worksheet SYSTEM "http://example.com/x.dtd">`+sheetHead[len(head):]+cell+sheetTail)},
		{"an entity declared in the shared strings", newHandBook(`<row r="1"><c r="A1" t="s"><v>0</v></c></row>`).set("xl/sharedStrings.xml",
			head+`<!ENTITY x SYSTEM "file:///etc/passwd"><sst xmlns="`+nsMain+`"><si><t>Agency</t></si></sst>`)},
		{"a document type in the workbook", newHandBook(cell).set("xl/workbook.xml",
			head+laughs+`<workbook xmlns="`+nsMain+`" xmlns:r="`+nsRel+`"><sheets><sheet name="Licenses" sheetId="1" r:id="rId1"/></sheets></workbook>`)},
		{"a document type in the styles", newHandBook(cell).set("xl/styles.xml",
			head+laughs+`<styleSheet xmlns="`+nsMain+`"/>`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := NewReader(Limits{}).ReadRows(context.Background(), tt.book.zip(t), "dtd.xlsx", "")
			if licensing.ErrorCode(err) != licensing.Invalid || !strings.Contains(licensing.ErrorMessage(err), "not a plain spreadsheet") {
				t.Fatalf("ReadRows = %q, %v; want Invalid saying the file is not a plain spreadsheet", rows, err)
			}
		})
	}
}

// BenchmarkReadBomb reads a workbook of about 0.12 MB whose one cell
// unzips to 120 MiB of text (over the part limit), or to 60 MiB (under it:
// the cell limit refuses it), in the shared strings or inline in the
// worksheet, once and three times at once. It reports the peak heap and
// resident set while doing so, and the share of the reads refused.
func BenchmarkReadBomb(b *testing.B) {
	for _, size := range []int{bombBytes, bombBytes / 2} {
		for _, where := range []string{"shared", "inline"} {
			content := bombBook(b, size, where == "shared")
			for _, n := range []int{1, 3} {
				b.Run(fmt.Sprintf("%s-%dMiB/%d-at-once", where, size>>20, n), func(b *testing.B) {
					readAtOnce(b, content, n)
				})
			}
		}
	}
}

// BenchmarkReadLargestAccepted reads workbooks within every limit that
// take the most memory to read. inline: shared strings of nearly
// MaxPartBytes (millions of one-letter strings) and a worksheet of nearly
// MaxPartBytes filling every row allowed with 20 cells of inline text.
// shared: every cell of every row and column allowed refers to a shared
// string of its own. Once and three times at once, as BenchmarkReadBomb.
func BenchmarkReadLargestAccepted(b *testing.B) {
	l := NewReader(Limits{}).limits
	budget := int(l.MaxPartBytes) - 1<<20
	const si = "<si><t>x</t></si>"
	const columns = 20
	text := strings.Repeat("x", budget/(l.MaxRows*columns)-len(`<c t="inlineStr"><is><t></t></is></c>`)-len("<row></row>")/columns)
	inline := newHandBook("")
	inline["xl/sharedStrings.xml"] = func(w io.Writer) error {
		_, err := io.WriteString(w, sstHead+strings.Repeat(si, budget/len(si))+sstTail)
		return err
	}
	inline["xl/worksheets/sheet1.xml"] = func(w io.Writer) error {
		row := "<row>" + strings.Repeat(`<c t="inlineStr"><is><t>`+text+`</t></is></c>`, columns) + "</row>"
		_, err := io.WriteString(w, sheetHead+strings.Repeat(row, l.MaxRows)+sheetTail)
		return err
	}
	cells := l.MaxRows * l.MaxColumns
	shared := newHandBook("")
	shared["xl/sharedStrings.xml"] = func(w io.Writer) error {
		_, err := io.WriteString(w, sstHead+strings.Repeat(si, cells)+sstTail)
		return err
	}
	shared["xl/worksheets/sheet1.xml"] = func(w io.Writer) error {
		var sb strings.Builder
		sb.WriteString(sheetHead)
		for i := range cells {
			if i%l.MaxColumns == 0 {
				sb.WriteString("<row>")
			}
			sb.WriteString(`<c t="s"><v>` + strconv.Itoa(i) + `</v></c>`)
			if i%l.MaxColumns == l.MaxColumns-1 {
				sb.WriteString("</row>")
			}
		}
		sb.WriteString(sheetTail)
		_, err := io.WriteString(w, sb.String())
		return err
	}
	for _, shape := range []struct {
		name string
		book handBook
	}{{"inline", inline}, {"shared", shared}} {
		content := shape.book.zip(b)
		for _, n := range []int{1, 3} {
			b.Run(fmt.Sprintf("%s/%d-at-once", shape.name, n), func(b *testing.B) {
				readAtOnce(b, content, n)
			})
		}
	}
}

// readAtOnce reads content n times at once per iteration, with the default
// limits, and reports the peaks, the file's size and the share of reads
// refused as TooLarge.
func readAtOnce(b *testing.B, content []byte, n int) {
	r := NewReader(Limits{})
	var mu sync.Mutex
	refused, reads := 0, 0
	probe := startMemProbe()
	for b.Loop() {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				_, err := r.ReadRows(context.Background(), content, "book.xlsx", "")
				if err != nil && licensing.ErrorCode(err) != licensing.TooLarge {
					b.Error(err)
				}
				mu.Lock()
				defer mu.Unlock()
				reads++
				if err != nil {
					refused++
				}
			})
		}
		wg.Wait()
	}
	probe.report(b)
	b.ReportMetric(float64(len(content))/1e6, "file-MB")
	b.ReportMetric(float64(refused)/float64(reads), "refused/read")
}

// BenchmarkReadWorkbook reads a tracking sheet of 5,000 rows written by
// excelize: the ordinary case.
func BenchmarkReadWorkbook(b *testing.B) {
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	if err := sw.SetRow("A1", []any{"Agency", "PO Number", "Product", "Quantity", "Term Start", "Term End", "Reseller"}); err != nil {
		b.Fatal(err)
	}
	date, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		b.Fatal(err)
	}
	for i := 2; i <= 5001; i++ {
		row := []any{"DOA", 4500000000 + i, "Visio Plan 2", i % 50,
			excelize.Cell{StyleID: date, Value: 45870}, excelize.Cell{StyleID: date, Value: 46203}, "Reseller " + strconv.Itoa(i%7)}
		if err := sw.SetRow("A"+strconv.Itoa(i), row); err != nil {
			b.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		b.Fatal(err)
	}
	r := NewReader(Limits{})
	b.ReportAllocs()
	probe := startMemProbe()
	for b.Loop() {
		rows, err := r.ReadRows(context.Background(), buf.Bytes(), "tracking.xlsx", "")
		if err != nil || len(rows) != 5001 || rows[5000][4] != "2025-08-01" {
			b.Fatalf("ReadRows = %d rows, %v", len(rows), err)
		}
	}
	probe.report(b)
}
