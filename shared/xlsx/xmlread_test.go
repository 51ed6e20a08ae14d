package xlsx

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// TestReadCellKinds reads what other programs than excelize write: rich
// text and phonetic guides, Excel's _xHHHH_ escapes, inline strings,
// formula results, errors, ISO dates, booleans, cells and rows without
// references, and numbers in custom date formats.
func TestReadCellKinds(t *testing.T) {
	styles := `<styleSheet xmlns="` + nsMain + `"><numFmts count="3">` +
		`<numFmt numFmtId="164" formatCode="[$-409]mmmm\ d\,\ yyyy;@"/>` +
		`<numFmt numFmtId="165" formatCode="h:mm AM/PM"/>` +
		`<numFmt numFmtId="166" formatCode="&quot;Day &quot;0"/></numFmts>` +
		`<cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs>` +
		`<cellXfs count="5"><xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="165"/><xf numFmtId="166"/><xf numFmtId="14"/></cellXfs></styleSheet>`
	rows := `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>` +
		`<row r="3"><c t="inlineStr"><is><r><t>in</t></r><r><t xml:space="preserve">line </t></r></is></c>` +
		`<c t="str"><f>A1&amp;"!"</f><v>Agency!</v></c><c t="e"><v>#N/A</v></c><c t="d"><v>2025-08-01T00:00:00Z</v></c>` +
		`<c t="b"><v>1</v></c><c r="G3" t="b"><v>0</v></c></row>` +
		`<row><c s="1"><v>45870</v></c><c s="2"><v>0.5</v></c><c s="3"><v>12</v></c><c s="4"><v>46203</v></c><c s="0"><v>46203</v></c><c><v>4500012345</v></c></row>`
	sst := []string{
		`<si><t>Agency</t></si>`,
		`<si><r><t>Line</t></r><r><rPr><b/></rPr><t>_x000D_</t></r><rPh><t>ruby</t></rPh><t>two</t></si>`,
		`<si><t>_x005F_x0041_ &amp; &lt;ok&gt;</t></si>`,
	}
	content := newHandBook(rows, sst...).set("xl/styles.xml", styles).zip(t)
	got, err := NewReader(Limits{}).ReadRows(context.Background(), content, "book.xlsx", "")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"Agency", "Line\rtwo", "_x0041_ & <ok>"},
		nil,
		{"inline ", "Agency!", "#N/A", "2025-08-01", "TRUE", "", "FALSE"},
		{"2025-08-01", "0.5", "12", "2026-06-30", "46203", "4500012345"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestShowsDate(t *testing.T) {
	for code, want := range map[string]bool{
		"m/d/yyyy": true, "d-mmm-yy": true, "mmm-yy": true, "yyyy-mm-dd hh:mm": true, "mmmm": true,
		`[$-409]dddd\, mmmm d\, yyyy`: true, "[Red]yyyy;0": true,
		"General": false, "0.00E+00": false, "#,##0.00": false, "h:mm AM/PM": false, "mm:ss": false,
		"[h]:mm:ss": false, `"Day "0`: false, `0" days"`: false, "@": false, `0;"yyyy"`: false, `\d0`: false,
	} {
		if got := showsDate(code); got != want {
			t.Errorf("showsDate(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestReadWorkbookStructure(t *testing.T) {
	chart := `<workbook xmlns="` + nsMain + `" xmlns:r="` + nsRel + `"><sheets>` +
		`<sheet name="Chart" sheetId="2" r:id="rId9"/><sheet name="Hidden" sheetId="3" r:id="rId8" state="veryHidden"/>` +
		`<sheet name="Licenses" sheetId="1" r:id="rId1"/></sheets></workbook>`
	rels := `<Relationships xmlns="` + nsPkgRel + `">` +
		`<Relationship Id="rId1" Type="` + nsRel + `/worksheet" Target="/xl/worksheets/sheet1.xml"/>` +
		`<Relationship Id="rId8" Type="` + nsRel + `/worksheet" Target="worksheets/sheet1.xml"/>` +
		`<Relationship Id="rId9" Type="` + nsRel + `/chartsheet" Target="chartsheets/sheet1.xml"/>` +
		`<Relationship Id="rId2" Type="` + nsRel + `/sharedStrings" Target="../xl/strings.xml"/></Relationships>`
	book := newHandBook(`<row><c t="s"><v>0</v></c></row>`).set("xl/workbook.xml", chart).set("xl/_rels/workbook.xml.rels", rels).
		set("XL/Strings.xml", sstHead+`<si><t>found</t></si>`+sstTail)
	delete(book, "xl/sharedStrings.xml")
	got, err := NewReader(Limits{}).ReadRows(context.Background(), book.zip(t), "book.xlsx", "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{{"found"}}, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestReadRefusesDamage(t *testing.T) {
	head := `<?xml version="1.0" encoding="UTF-8"?>`
	tests := []struct {
		name   string
		limits Limits
		book   handBook
		code   licensing.Code
		says   string
	}{
		{"a shared string that is not there", Limits{}, newHandBook(`<row><c t="s"><v>7</v></c></row>`), licensing.Invalid, "row 1 refers to text"},
		{"no worksheet", Limits{}, newHandBook("").set("xl/workbook.xml", `<workbook xmlns="`+nsMain+`"><sheets/></workbook>`), licensing.Invalid, "no visible worksheet"},
		{"the worksheet missing", Limits{}, func() handBook { b := newHandBook(""); delete(b, "xl/worksheets/sheet1.xml"); return b }(), licensing.Invalid, "not a readable .xlsx"},
		{"not well-formed", Limits{}, newHandBook("").set("xl/worksheets/sheet1.xml", sheetHead+`<row><c><v>1</c></row>`+sheetTail), licensing.Invalid, `the worksheet "Licenses" could not be read`},
		{"elements nested too deeply", Limits{}, newHandBook(`<row><c><v>1</v>` + strings.Repeat("<x>", 200) + strings.Repeat("</x>", 200) + `</c></row>`), licensing.Invalid, "could not be read"},
		{"another encoding", Limits{}, newHandBook("").set("xl/worksheets/sheet1.xml", `<?xml version="1.0" encoding="UTF-16"?><worksheet/>`), licensing.Invalid, "not a readable .xlsx"},
		{"a part over the limit", Limits{MaxPartBytes: 1 << 20}, newHandBook("").setRepeated("xl/sharedStrings.xml", head+"<sst>", ' ', 2<<20, "</sst>"), licensing.TooLarge, "expands to more than 1 MB when unzipped (the shared strings)"},
		{"a cell in pieces over the limit", Limits{MaxCellBytes: 1 << 10}, newHandBook(`<row><c t="inlineStr"><is><t>` + strings.Repeat("abc<![CDATA[def]]>", 200) + `</t></is></c></row>`), licensing.TooLarge, "more than 1 KB in a single cell"},
		{"a tag over the limit", Limits{MaxCellBytes: 1 << 10}, newHandBook(`<row><c r="A1" x="` + strings.Repeat("y", 2000) + `"/></row>`), licensing.TooLarge, "more than 1 KB in a single cell or tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := NewReader(tt.limits).ReadRows(context.Background(), tt.book.zip(t), "book.xlsx", "")
			if licensing.ErrorCode(err) != tt.code || !strings.Contains(licensing.ErrorMessage(err), tt.says) {
				t.Fatalf("ReadRows = %q, %v; want %s saying %q", rows, err, tt.code, tt.says)
			}
		})
	}
}

// TestReadStopsWhenCancelled: a request that gave up stops the reading of
// a large part, as unavailable (to be tried again).
func TestReadStopsWhenCancelled(t *testing.T) {
	content := newHandBook(strings.Repeat(`<row><c><v>1</v></c></row>`, 30000)).zip(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rows, err := NewReader(Limits{MaxRows: 50000}).ReadRows(ctx, content, "book.xlsx", "")
	if licensing.ErrorCode(err) != licensing.Unavailable {
		t.Fatalf("ReadRows = %d rows, %v; want Unavailable", len(rows), err)
	}
}
