package skucatalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// GUIDs unknown to the built-in table.
const (
	guidA = "aaaaaaaa-0000-4000-8000-000000000001"
	guidB = "bbbbbbbb-0000-4000-8000-000000000002"
	guidC = "cccccccc-0000-4000-8000-000000000003"
)

const fullHeader = "Product_Display_Name,String_Id,GUID,Service_Plan_Name,Service_Plan_Id,Service_Plans_Included_Friendly_Names\n"

// listed returns the products of c that its list contributed: those that
// are not exactly a built-in row.
func listed(c *Catalog) []licensing.Product {
	var out []licensing.Product
	for _, p := range c.byID {
		if b, ok := Builtin().byID[p.SkuID]; ok && b == p {
			continue
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SkuID < out[j].SkuID })
	return out
}

func prod(id, part, name string) licensing.Product {
	return licensing.Product{SkuID: id, PartNumber: part, Name: name}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      []licensing.Product
		wantStats Stats
	}{
		{
			name: "trimmed three-column form",
			in: "GUID,String_Id,Product_Display_Name\n" +
				guidA + ",ALPHA,Alpha Plan\n" +
				guidB + ",BRAVO,Bravo Plan\n",
			want:      []licensing.Product{prod(guidA, "ALPHA", "Alpha Plan"), prod(guidB, "BRAVO", "Bravo Plan")},
			wantStats: Stats{Rows: 2, Products: 2},
		},
		{
			name: "full form, one row per service plan",
			in: fullHeader +
				"Alpha Plan,ALPHA," + guidA + ",EXCHANGE_S_STANDARD,9aaf7827-d63c-4b61-89c3-182f06f82e5c,Exchange Online (Plan 1)\n" +
				"Alpha Plan,ALPHA," + guidA + ",SHAREPOINTSTANDARD,c7699d2e-19aa-44de-8edf-1736da088ca1,\"SharePoint (Plan 1), with extras\"\n" +
				"Alpha Plan,ALPHA," + guidA + ",MCOSTANDARD,0feaeb32-d00e-4d66-bd5a-43b5b83db82c,Skype for Business Online (Plan 2)\n" +
				"Bravo Plan,BRAVO," + guidB + ",EXCHANGE_S_FOUNDATION,113feb6c-3fe4-4440-bddc-54d774bf0318,Exchange Foundation\n",
			want:      []licensing.Product{prod(guidA, "ALPHA", "Alpha Plan"), prod(guidB, "BRAVO", "Bravo Plan")},
			wantStats: Stats{Rows: 4, Products: 2},
		},
		{
			name: "a later differing name is ignored and counted",
			in: "GUID,String_Id,Product_Display_Name\n" +
				guidA + ",ALPHA,Alpha Plan\n" +
				guidA + ",ALPHA,Alpha Plan (renamed)\n" +
				guidA + ",ALPHA,Alpha Plan\n",
			want:      []licensing.Product{prod(guidA, "ALPHA", "Alpha Plan")},
			wantStats: Stats{Rows: 3, Products: 1, Conflicts: 1},
		},
		{
			name: "BOM, CRLF, blank lines, spaces around fields and headers",
			in: "\ufeff GUID , String_Id ,Product_Display_Name \r\n" +
				"\r\n" +
				"  " + guidA + "  ,  ALPHA , Alpha Plan  \r\n" +
				"\r\n\r\n" +
				guidB + ",BRAVO,Bravo Plan\r\n",
			want:      []licensing.Product{prod(guidA, "ALPHA", "Alpha Plan"), prod(guidB, "BRAVO", "Bravo Plan")},
			wantStats: Stats{Rows: 2, Products: 2},
		},
		{
			name: "BOM before a quoted header",
			in: "\ufeff\"GUID\",\"String_Id\",\"Product_Display_Name\"\n" +
				"\"" + guidA + "\",\"ALPHA\",\"Alpha Plan\"\n",
			want:      []licensing.Product{prod(guidA, "ALPHA", "Alpha Plan")},
			wantStats: Stats{Rows: 1, Products: 1},
		},
		{
			name: "columns in another order, headers in another case, quoted commas, upper-case GUIDs",
			in: "product_display_name,Extra,guid,STRING_ID\n" +
				"\"Alpha, Government\",x," + strings.ToUpper(guidA) + ",ALPHA_GOV\n" +
				"\"Bravo \"\"Pro\"\"\",y," + guidB + ",BRAVO\n",
			want:      []licensing.Product{prod(guidA, "ALPHA_GOV", "Alpha, Government"), prod(guidB, "BRAVO", `Bravo "Pro"`)},
			wantStats: Stats{Rows: 2, Products: 2},
		},
		{
			name: "bad GUIDs and short rows are skipped and counted",
			in: "GUID,String_Id,Product_Display_Name\n" +
				guidA + ",ALPHA,Alpha Plan\n" +
				"not-a-guid,BAD,Bad Plan\n" +
				"{" + guidB + "},BRACES,Braced Plan\n" +
				"aaaaaaaa-0000-4000-8000-00000000000g,HEX,Not Hex\n" +
				",EMPTY,No GUID\n" +
				guidC + "\n" +
				guidB + ",BRAVO,Bravo Plan\n",
			want:      []licensing.Product{prod(guidA, "ALPHA", "Alpha Plan"), prod(guidB, "BRAVO", "Bravo Plan")},
			wantStats: Stats{Rows: 7, Products: 2, Skipped: 5, SkippedLines: []int{3, 4, 5, 6, 7}},
		},
		{
			name: "a name missing on the first row is taken from a later one",
			in: "GUID,String_Id,Product_Display_Name\n" +
				guidA + ",,\n" +
				guidA + ",ALPHA,\n" +
				guidA + ",ALPHA,Alpha Plan\n" +
				guidB + ",BRAVO,\n" +
				guidC + ",,\n",
			want:      []licensing.Product{prod(guidA, "ALPHA", "Alpha Plan"), prod(guidB, "BRAVO", "BRAVO")},
			wantStats: Stats{Rows: 5, Products: 2, Skipped: 1},
		},
		{
			name: "no String_Id column",
			in: "GUID,Product_Display_Name\n" +
				guidA + ",Alpha Plan\n",
			want:      []licensing.Product{prod(guidA, "", "Alpha Plan")},
			wantStats: Stats{Rows: 1, Products: 1},
		},
		{
			name: "the list overrides a built-in name",
			in: "GUID,String_Id,Product_Display_Name\n" +
				"6FD2C87F-B296-42F0-B197-1E91E994B900,ENTERPRISEPACK,Office 365 E3 (renamed)\n",
			want:      []licensing.Product{prod("6fd2c87f-b296-42f0-b197-1e91e994b900", "ENTERPRISEPACK", "Office 365 E3 (renamed)")},
			wantStats: Stats{Rows: 1, Products: 1},
		},
		{
			name:      "header only",
			in:        "GUID,String_Id,Product_Display_Name\n",
			wantStats: Stats{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, listed(c), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("products (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantStats, c.Stats(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
			if got, want := c.Len(), len(listed(c))+countBuiltinsKept(c); got != want {
				t.Errorf("Len() = %d, want %d", got, want)
			}
			if got := c.Source(); got != "parsed list" {
				t.Errorf("Source() = %q, want %q", got, "parsed list")
			}
		})
	}
}

// countBuiltinsKept counts the built-in rows c holds unchanged.
func countBuiltinsKept(c *Catalog) int {
	n := 0
	for id, b := range Builtin().byID {
		if c.byID[id] == b {
			n++
		}
	}
	return n
}

func TestParseFillsGapsWithBuiltins(t *testing.T) {
	in := "GUID,String_Id,Product_Display_Name\n" +
		"6fd2c87f-b296-42f0-b197-1e91e994b900,ENTERPRISEPACK,Office 365 E3 (renamed)\n" +
		guidA + ",ALPHA,Alpha Plan\n"
	c, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		lookup string
		want   licensing.Product
	}{
		{"ENTERPRISEPACK", prod("6fd2c87f-b296-42f0-b197-1e91e994b900", "ENTERPRISEPACK", "Office 365 E3 (renamed)")},
		{"visioclient", prod("c5928f49-12ba-48f7-ada3-0d743a3601d5", "VISIOCLIENT", "Visio Plan 2")},
		{guidA, prod(guidA, "ALPHA", "Alpha Plan")},
	}
	for _, tt := range tests {
		got, ok := c.Lookup(tt.lookup)
		if !ok {
			t.Errorf("Lookup(%q) found nothing", tt.lookup)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Lookup(%q) (-want +got):\n%s", tt.lookup, diff)
		}
	}
	if got, want := c.Len(), Builtin().Len()+1; got != want {
		t.Errorf("Len() = %d, want %d (the built-ins plus one new SKU)", got, want)
	}
}

// failingReader returns data, then err.
type failingReader struct {
	data io.Reader
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.data.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestParseRejects(t *testing.T) {
	good := "GUID,String_Id,Product_Display_Name\n" + guidA + ",ALPHA,Alpha Plan\n"
	tests := []struct {
		name     string
		in       io.Reader
		limit    int64
		wantCode licensing.Code
		wantMsg  string
	}{
		{"empty", strings.NewReader(""), MaxSize, licensing.Invalid, "The SKU list is empty."},
		{"blank lines only", strings.NewReader("\n\r\n\n"), MaxSize, licensing.Invalid, "The SKU list is empty."},
		{"no GUID column", strings.NewReader("String_Id,Product_Display_Name\nALPHA,Alpha\n"), MaxSize, licensing.Invalid, "no GUID column"},
		{"no name column", strings.NewReader("GUID,String_Id\n" + guidA + ",ALPHA\n"), MaxSize, licensing.Invalid, "no Product_Display_Name column"},
		{"neither", strings.NewReader("a,b,c\n1,2,3\n"), MaxSize, licensing.Invalid, "no GUID or Product_Display_Name column"},
		{"an HTML page", strings.NewReader("<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Please sign in</body></html>\n"), MaxSize, licensing.Invalid, "no GUID or Product_Display_Name column"},
		{"over the limit", strings.NewReader(good + strings.Repeat(guidB+",BRAVO,Bravo Plan\n", 100)), int64(len(good)) + 10, licensing.TooLarge, "larger than"},
		{"a read failure", &failingReader{data: strings.NewReader(good), err: errors.New("connection reset")}, MaxSize, licensing.Unavailable, "could not be read"},
		{"a read failure with a code keeps it", &failingReader{data: strings.NewReader(good), err: licensing.Errorf("blobstore.get", licensing.Forbidden, "No access.")}, MaxSize, licensing.Forbidden, "could not be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(tt.in, tt.limit)
			if err == nil {
				t.Fatalf("parse returned %d products and no error", c.Len())
			}
			var le *licensing.Error
			if !errors.As(err, &le) || le.Op != "skucatalog.parse" {
				t.Errorf("error %v is not a *licensing.Error of skucatalog.parse", err)
			}
			if got := licensing.ErrorCode(err); got != tt.wantCode {
				t.Errorf("code = %q, want %q (%v)", got, tt.wantCode, err)
			}
			if msg := licensing.ErrorMessage(err); !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", msg, tt.wantMsg)
			}
		})
	}
}

func TestParseExactlyAtTheLimit(t *testing.T) {
	in := "GUID,String_Id,Product_Display_Name\n" + guidA + ",ALPHA,Alpha Plan\n"
	c, err := parse(strings.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatalf("a list of exactly the limit: %v", err)
	}
	if got := c.Stats().Products; got != 1 {
		t.Errorf("Products = %d, want 1", got)
	}
}

// endless repeats line for ever.
type endless struct {
	line []byte
	off  int
}

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], e.line[e.off:])
		n += c
		e.off = (e.off + c) % len(e.line)
	}
	return n, nil
}

func TestParseStopsAtMaxSize(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 32 MiB")
	}
	r := io.MultiReader(strings.NewReader(fullHeader),
		&endless{line: []byte("Alpha Plan,ALPHA," + guidA + ",EXCHANGE_S_STANDARD,9aaf7827-d63c-4b61-89c3-182f06f82e5c,Exchange Online (Plan 1)\n")})
	_, err := Parse(r)
	if got := licensing.ErrorCode(err); got != licensing.TooLarge {
		t.Fatalf("Parse of an endless list: code %q (%v), want %q", got, err, licensing.TooLarge)
	}
}

// fullList writes a list in the full form: skus SKUs of plans service plans
// each, with quoted friendly names that hold commas.
func fullList(skus, plans int) []byte {
	var b bytes.Buffer
	b.WriteString("\ufeff" + fullHeader)
	for i := range skus {
		for j := range plans {
			fmt.Fprintf(&b, "\"Product %d, Edition %d\",PART_%d,%08x-0000-4000-8000-%012x,PLAN_%d,%08x-1111-4111-8111-%012x,\"Plan %d, friendly\"\r\n",
				i, i%7, i, i, i, j, j, i*plans+j, j)
		}
	}
	return b.Bytes()
}

func BenchmarkParse(b *testing.B) {
	data := fullList(600, 10)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		c, err := Parse(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if c.Stats().Products != 600 {
			b.Fatalf("Products = %d, want 600", c.Stats().Products)
		}
	}
}
