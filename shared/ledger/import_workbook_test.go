package ledger_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// trackingBook returns a tracking workbook of one valid row, with its part
// name (the worksheet, the shared strings) changed by edit.
func trackingBook(t *testing.T, name string, edit func(xml string) string) []byte {
	t.Helper()
	wb := excelize.NewFile()
	defer wb.Close()
	if err := wb.SetSheetRow("Sheet1", "A1", &[]any{"Agency", "PO Number", "Product", "Quantity", "Term Start", "Term End"}); err != nil {
		t.Fatal(err)
	}
	if err := wb.SetSheetRow("Sheet1", "A2", &[]any{"DOA", "PO-1", "Visio Plan 2", 25, "2025-08-01", "2026-06-30"}); err != nil {
		t.Fatal(err)
	}
	var orig bytes.Buffer
	if err := wb.Write(&orig); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(orig.Bytes()), int64(orig.Len()))
	if err != nil {
		t.Fatal(err)
	}
	content, err := fs.ReadFile(zr, name)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		if f.Name != name {
			if err := zw.Copy(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, edit(string(content))); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// afterDeclaration puts s after the XML declaration of a part.
func afterDeclaration(s string) func(string) string {
	return func(xml string) string {
		i := strings.Index(xml, "?>") + len("?>")
		return xml[:i] + s + xml[i:]
	}
}

// TestImportRefusesHostileWorkbooks imports workbooks that are not plain
// spreadsheets, or that expand far beyond their size: each is refused with
// the status that says so and a sentence saying what to do, and nothing is
// written.
func TestImportRefusesHostileWorkbooks(t *testing.T) {
	const laughs = `<!DOCTYPE sst [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>`
	tests := []struct {
		name   string
		book   []byte
		status int
		says   string
	}{
		{"entities in the shared strings", trackingBook(t, "xl/sharedStrings.xml", func(xml string) string {
			return strings.Replace(afterDeclaration(laughs)(xml), "Visio Plan 2", "&lol2;", 1)
		}), http.StatusUnprocessableEntity, "not a plain spreadsheet"},
		{"an external entity in the worksheet", trackingBook(t, "xl/worksheets/sheet1.xml",
			afterDeclaration(`<!DOCTYPE worksheet [<!ENTITY x SYSTEM "file:///etc/passwd">]>`)), http.StatusUnprocessableEntity, "not a plain spreadsheet"},
		{"a cell expanding to 4 MB", trackingBook(t, "xl/sharedStrings.xml", func(xml string) string {
			return strings.Replace(xml, "Visio Plan 2", strings.Repeat("x", 4<<20), 1)
		}), http.StatusRequestEntityTooLarge, "expands to more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLedgerFixture(t)
			withTenant(t, f)
			_, err := f.svc.ImportPurchases(context.Background(), adminCaller, tt.book, "tracking.xlsx", "application/octet-stream", true)
			if got := licensing.PolicyOf(err).HTTPStatus; got != tt.status || !strings.Contains(licensing.ErrorMessage(err), tt.says) {
				t.Fatalf("ImportPurchases: %v (status %d); want status %d saying %q", err, got, tt.status, tt.says)
			}
			if lines, _ := f.store.ListPurchases(context.Background(), licensing.PurchaseFilter{}); len(lines) != 0 {
				t.Errorf("a refused import wrote %d lines", len(lines))
			}
		})
	}
}
