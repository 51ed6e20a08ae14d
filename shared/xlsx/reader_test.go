package xlsx_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/xlsx"
)

func read(t *testing.T, r *xlsx.Reader, content []byte, name, ct string) ([][]string, error) {
	t.Helper()
	return r.ReadRows(context.Background(), content, name, ct)
}

func TestReadCSV(t *testing.T) {
	header := []string{"Agency", "PO", "Product", "Qty"}
	tests := []struct {
		name    string
		content []byte
		want    [][]string
	}{
		{"comma, LF", []byte("Agency,PO,Product,Qty\nDOA,45001,VISIOCLIENT,25\n"),
			[][]string{header, {"DOA", "45001", "VISIOCLIENT", "25"}}},
		{"semicolon, CRLF, BOM", []byte("\xEF\xBB\xBFAgency;PO;Product;Qty\r\nDOA;45001;Visio, Plan 2;1,5\r\n"),
			[][]string{header, {"DOA", "45001", "Visio, Plan 2", "1,5"}}},
		{"tab", []byte("Agency\tPO\tProduct\tQty\nDOA\t45001\tVISIOCLIENT\t25\n"),
			[][]string{header, {"DOA", "45001", "VISIOCLIENT", "25"}}},
		{"quoted separators, quotes and line breaks", []byte("Agency,PO,Product,Qty\n\"DOA\",\"45,001\",\"Visio \"\"Plan\"\" 2\nsecond line\",25\nDOB,1,X,2\n"),
			[][]string{header, {"DOA", "45,001", "Visio \"Plan\" 2\nsecond line", "25"}, {"DOB", "1", "X", "2"}}},
		{"blank rows inside kept, trailing dropped", []byte("Agency,PO,Product,Qty\n\n,,,\nDOA,1,X,2,,,\n\n\n,,\n"),
			[][]string{header, nil, nil, {"DOA", "1", "X", "2"}}},
		{"Windows-1252", []byte("Agency,PO,Product,Qty\nCaf\xe9 \x80,1,X,2\n"),
			[][]string{header, {"Café €", "1", "X", "2"}}},
		{"UTF-16 with BOM (Unicode text)", utf16LE("Agency\tPO\tProduct\tQty\r\nDOA\t1\tVisio Plan 2 – é\t2\r\n"),
			[][]string{header, {"DOA", "1", "Visio Plan 2 – é", "2"}}},
		{"formula-looking text stays text", []byte("Agency,PO,Product,Qty\n=cmd|' /C calc'!A0,@SUM(1),+1,-2\n"),
			[][]string{header, {"=cmd|' /C calc'!A0", "@SUM(1)", "+1", "-2"}}},
	}
	r := xlsx.NewReader(xlsx.Limits{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := read(t, r, tt.content, "tracking.csv", "text/csv")
			if err != nil {
				t.Fatalf("ReadRows: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func utf16LE(s string) []byte {
	b := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// workbook builds an XLSX file: fill writes the cells of the sheets.
func workbook(t *testing.T, fill func(f *excelize.File)) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	fill(f)
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestReadXLSX(t *testing.T) {
	aug1 := time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC)
	content := workbook(t, func(f *excelize.File) {
		must(t, f.SetSheetRow("Sheet1", "A1", &[]any{"Agency", "PO", "Product", "Qty", "Start", "End", "Note", "Active"}))
		must(t, f.SetSheetRow("Sheet1", "A2", &[]any{"DOA", 4500012345, "VISIOCLIENT", 1000, aug1, 46203, "=cmd|' /C calc'!A0", true}))
		// Display formats must not leak: thousands, currency, exponent.
		num, err := f.NewStyle(&excelize.Style{NumFmt: 4}) // #,##0.00
		must(t, err)
		must(t, f.SetCellStyle("Sheet1", "D2", "D2", num))
		sci, err := f.NewStyle(&excelize.Style{NumFmt: 11}) // 0.00E+00
		must(t, err)
		must(t, f.SetCellStyle("Sheet1", "B2", "B2", sci))
		// A date as a custom US format, and one as the built-in short date.
		us := "m/d/yyyy"
		usStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &us})
		must(t, err)
		must(t, f.SetCellStyle("Sheet1", "F2", "F2", usStyle))
		// Row 4 after a blank row 3; a serial without date format stays a number.
		must(t, f.SetSheetRow("Sheet1", "A4", &[]any{"DOB", "PO-7", "Visio Plan 2", "25", 45870, nil, nil, false}))
		short, err := f.NewStyle(&excelize.Style{NumFmt: 14})
		must(t, err)
		must(t, f.SetCellValue("Sheet1", "F4", 46203))
		must(t, f.SetCellStyle("Sheet1", "F4", "F4", short))
		must(t, f.SetCellFormula("Sheet1", "H5", "=1+1"))
	})
	got, err := read(t, xlsx.NewReader(xlsx.Limits{}), content, "upload.bin", "application/octet-stream")
	if err != nil {
		t.Fatalf("ReadRows: %v", err)
	}
	want := [][]string{
		{"Agency", "PO", "Product", "Qty", "Start", "End", "Note", "Active"},
		{"DOA", "4500012345", "VISIOCLIENT", "1000", "2025-08-01", "2026-06-30", "=cmd|' /C calc'!A0", "TRUE"},
		nil,
		{"DOB", "PO-7", "Visio Plan 2", "25", "45870", "2026-06-30", "", "FALSE"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestReadXLSXPicksTheSheet(t *testing.T) {
	tests := []struct {
		name string
		fill func(t *testing.T, f *excelize.File)
		want string
	}{
		{"first sheet", func(t *testing.T, f *excelize.File) {
			must(t, f.SetCellValue("Sheet1", "A1", "first"))
			_, err := f.NewSheet("Other")
			must(t, err)
			must(t, f.SetCellValue("Other", "A1", "other"))
		}, "first"},
		{"a sheet named for licenses", func(t *testing.T, f *excelize.File) {
			must(t, f.SetCellValue("Sheet1", "A1", "notes"))
			_, err := f.NewSheet("O365 License Tracking")
			must(t, err)
			must(t, f.SetCellValue("O365 License Tracking", "A1", "tracking"))
		}, "tracking"},
		{"hidden sheets skipped", func(t *testing.T, f *excelize.File) {
			must(t, f.SetCellValue("Sheet1", "A1", "hidden"))
			_, err := f.NewSheet("Data")
			must(t, err)
			must(t, f.SetCellValue("Data", "A1", "visible"))
			f.SetActiveSheet(1)
			must(t, f.SetSheetVisible("Sheet1", false))
		}, "visible"},
		{"1904 date system", func(t *testing.T, f *excelize.File) {
			yes := true
			must(t, f.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &yes}))
			must(t, f.SetCellValue("Sheet1", "A1", time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)))
		}, "2026-06-30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			content := workbook(t, func(f *excelize.File) { tt.fill(t, f) })
			got, err := read(t, xlsx.NewReader(xlsx.Limits{}), content, "x.xlsx", "")
			if err != nil {
				t.Fatalf("ReadRows: %v", err)
			}
			if len(got) != 1 || len(got[0]) != 1 || got[0][0] != tt.want {
				t.Errorf("rows = %q, want [[%q]]", got, tt.want)
			}
		})
	}
}

func TestReadRefuses(t *testing.T) {
	manyRows := "A,B\n" + strings.Repeat("1,2\n", 20)
	bomb := workbook(t, func(f *excelize.File) {
		big := strings.Repeat("x", 30000)
		for i := 1; i <= 100; i++ {
			must(t, f.SetCellValue("Sheet1", "A"+strconv.Itoa(i), big+strconv.Itoa(i)))
		}
	})
	wide := workbook(t, func(f *excelize.File) {
		must(t, f.SetCellValue("Sheet1", "A1", "a"))
		must(t, f.SetCellValue("Sheet1", "ZZ1", "far away"))
	})
	tests := []struct {
		name    string
		limits  xlsx.Limits
		content []byte
		file    string
		want    licensing.Code
	}{
		{"empty", xlsx.Limits{}, nil, "a.csv", licensing.Invalid},
		{"over the size limit", xlsx.Limits{MaxBytes: 10}, []byte("A,B\n1,2\n3,4\n"), "a.csv", licensing.TooLarge},
		{"too many rows", xlsx.Limits{MaxRows: 10}, []byte(manyRows), "a.csv", licensing.TooLarge},
		{"too many columns", xlsx.Limits{MaxColumns: 3}, []byte("a,b,c,d\n"), "a.csv", licensing.TooLarge},
		{"too many columns in XLSX", xlsx.Limits{}, wide, "a.xlsx", licensing.TooLarge},
		{"unzips beyond the limit", xlsx.Limits{MaxPartBytes: 1 << 20}, bomb, "a.xlsx", licensing.TooLarge},
		{"old .xls", xlsx.Limits{}, append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 100)...), "a.xls", licensing.Invalid},
		{"damaged zip", xlsx.Limits{}, []byte("PK\x03\x04 not really a zip"), "a.xlsx", licensing.Invalid},
		{"named .xlsx but text", xlsx.Limits{}, []byte("A,B\n"), "a.xlsx", licensing.Invalid},
		{"binary", xlsx.Limits{}, []byte{0x89, 'P', 'N', 'G', 0, 0, 0, 1}, "a.png", licensing.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := read(t, xlsx.NewReader(tt.limits), tt.content, tt.file, "")
			if got := licensing.ErrorCode(err); got != tt.want {
				t.Errorf("ReadRows: code %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}

func TestReadCutsLongCells(t *testing.T) {
	long := strings.Repeat("é", 100)
	got, err := read(t, xlsx.NewReader(xlsx.Limits{MaxCellChars: 10}), []byte("A,B\n"+long+",x\n"), "a.csv", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("é", 10); got[1][0] != want {
		t.Errorf("long cell = %q, want %q", got[1][0], want)
	}
}

// TestReadManyRows reads a worksheet of 500 rows, row by row.
func TestReadManyRows(t *testing.T) {
	content := workbook(t, func(f *excelize.File) {
		for i := 1; i <= 500; i++ {
			must(t, f.SetSheetRow("Sheet1", "A"+strconv.Itoa(i), &[]any{"DOA", i, "VISIOCLIENT"}))
		}
	})
	got, err := read(t, xlsx.NewReader(xlsx.Limits{}), content, "a.xlsx", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 500 || got[499][1] != "500" {
		t.Errorf("read %d rows, last %q; want 500 rows ending with 500", len(got), got[len(got)-1])
	}
}
