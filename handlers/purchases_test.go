package handlers

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/storetest"
	"github.com/shared-tenant/licensetrack/shared/ledger"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

const doaDelegate = "pat.doe@doa.example.gov"

// newLedgerHost returns a host with the agencies DOA (delegate
// pat.doe@doa.example.gov) and DOB, on a clock that stands still.
func newLedgerHost(t *testing.T) *testHost {
	t.Helper()
	store := memstore.New()
	for _, id := range []string{"DOA", "DOB"} {
		if _, _, err := store.PutAgency(context.Background(), storetest.Agency(id, 1), licensing.Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	return startHost(t, store, hostOpts{})
}

const trackingCSV = "Agency,PO Number,License Type,Qty,Term Start,Term End\r\n" +
	"DOA,4500012345,VISIOCLIENT,25,2025-08-01,2026-06-30\r\n" +
	"DOB,4500012346,POWER_BI_PRO,10,8/1/2025,6/30/2026\r\n" +
	"XYZ,4500012347,VISIOCLIENT,5,2025-08-01,2026-06-30\r\n"

func importCall(query map[string]string, ct, body, caller string) call {
	return call{function: "Purchases", method: "POST", path: "purchases/import", params: map[string]string{"action": "import"},
		query: query, headers: map[string]string{"Content-Type": ct}, body: body, caller: caller}
}

type importReply struct {
	Commit          bool
	Imported        int
	AlreadyImported int
	Rejected        int
	Outcomes        []struct {
		Row     int
		Outcome string
		Reason  string
	}
}

func (h *testHost) ledgerLines() int {
	h.t.Helper()
	lines, err := h.store.ListPurchases(context.Background(), licensing.PurchaseFilter{})
	if err != nil {
		h.t.Fatal(err)
	}
	return len(lines)
}

func TestPurchasesImportDryRunThenCommit(t *testing.T) {
	h := newLedgerHost(t)

	dry := h.do(importCall(nil, "text/csv", trackingCSV, admin))
	if dry.hostStatus != 200 || dry.status != http.StatusOK {
		t.Fatalf("dry run: host %d, status %d, body %s", dry.hostStatus, dry.status, dry.body)
	}
	var res importReply
	dry.json(t, &res)
	if res.Commit || res.Imported != 2 || res.Rejected != 1 || res.Outcomes[0].Outcome != ledger.ImportWouldImport {
		t.Errorf("dry run result = %+v", res)
	}
	if res.Outcomes[2].Row != 4 || !strings.Contains(res.Outcomes[2].Reason, `Unknown agency "XYZ"`) {
		t.Errorf("rejected row = %+v", res.Outcomes[2])
	}
	if n := h.ledgerLines(); n != 0 {
		t.Fatalf("a dry run wrote %d lines", n)
	}

	done := h.do(importCall(map[string]string{"commit": "true"}, "text/csv; charset=utf-8", trackingCSV, admin))
	if done.status != http.StatusOK {
		t.Fatalf("commit: status %d, body %s", done.status, done.body)
	}
	done.json(t, &res)
	if !res.Commit || res.Imported != 2 || res.Outcomes[0].Outcome != ledger.ImportImported {
		t.Errorf("commit result = %+v", res)
	}
	again := h.do(importCall(map[string]string{"commit": "true"}, "text/csv", trackingCSV, admin))
	again.json(t, &res)
	if res.Imported != 0 || res.AlreadyImported != 2 || h.ledgerLines() != 2 {
		t.Errorf("second import = %+v with %d lines, want everything already imported", res, h.ledgerLines())
	}

	list := h.do(call{function: "Purchases", method: "GET", path: "purchases", query: map[string]string{"agency": "doa", "on": "2026-07-31"}, caller: doaDelegate})
	if list.status != http.StatusOK {
		t.Fatalf("list: status %d, body %s", list.status, list.body)
	}
	var body struct {
		Purchases    []licensing.Purchase
		Count        int
		On           string
		Entitlements []licensing.Entitlement
	}
	list.json(t, &body)
	if body.Count != 1 || body.On != "2026-07-31" || len(body.Entitlements) != 1 || body.Entitlements[0].Quantity != 25 {
		t.Errorf("list = %+v", body)
	}

	audit := h.do(call{function: "Purchases", method: "GET", path: "purchases/audit", params: map[string]string{"action": "audit"},
		query: map[string]string{"agency": "DOA", "limit": "5"}, caller: admin})
	var entries struct {
		Entries []licensing.AuditEntry
		Count   int
	}
	audit.json(t, &entries)
	if audit.status != http.StatusOK || entries.Count != 1 || entries.Entries[0].Why != "Import of upload" {
		t.Errorf("audit: status %d, %+v", audit.status, entries)
	}
}

func xlsxBook(t *testing.T) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	rows := [][]any{
		{"Agency", "PO", "Product", "Quantity", "Start", "End"},
		{"DOA", 4500012345, "VISIOCLIENT", 25, time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)},
	}
	for i, r := range rows {
		if err := f.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func multipartBody(t *testing.T, field, fileName string, content []byte) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.WriteField("note", "from the form"); err != nil {
		t.Fatal(err)
	}
	part, err := w.CreateFormFile(field, fileName)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(content)
	w.Close()
	return w.FormDataContentType(), base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestPurchasesImportUploads(t *testing.T) {
	book := xlsxBook(t)
	formCT, formBody := multipartBody(t, "file", "tracking.xlsx", book)
	tests := []struct {
		name string
		ct   string
		body string // as the host sends it: base64 for octet-stream and multipart
	}{
		{"XLSX as octet-stream", "application/octet-stream", base64.StdEncoding.EncodeToString(book)},
		{"XLSX with its own type, base64", xlsxType, base64.StdEncoding.EncodeToString(book)},
		{"multipart/form-data", formCT, formBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newLedgerHost(t)
			r := h.do(importCall(map[string]string{"commit": "true"}, tt.ct, tt.body, admin))
			var res importReply
			r.json(t, &res)
			if r.status != http.StatusOK || res.Imported != 1 || h.ledgerLines() != 1 {
				t.Errorf("status %d, result %+v, %d lines; want 200 and one line imported\n%s", r.status, res, h.ledgerLines(), r.body)
			}
		})
	}
}

func TestPurchasesErrors(t *testing.T) {
	noFileCT, noFileBody := multipartBody(t, "attachment", "tracking.csv", []byte(trackingCSV))
	bigCSV := "Agency,PO,Product,Qty,Start\n" + strings.Repeat("x", licensing.MaxImportBytes)
	tests := []struct {
		name   string
		c      call
		status int
		code   licensing.Code
	}{
		{"import by a delegate", importCall(nil, "text/csv", trackingCSV, doaDelegate), http.StatusForbidden, licensing.Forbidden},
		{"import without identity", importCall(nil, "text/csv", trackingCSV, ""), http.StatusUnauthorized, licensing.Unauthenticated},
		{"import without a body", importCall(nil, "text/csv", "", admin), http.StatusBadRequest, licensing.Malformed},
		{"import as JSON", importCall(nil, "application/json", `{"file":"x"}`, admin), http.StatusBadRequest, licensing.Malformed},
		{"multipart without boundary", importCall(nil, "multipart/form-data", base64.StdEncoding.EncodeToString([]byte("x")), admin), http.StatusBadRequest, licensing.Malformed},
		{"multipart without a file part", importCall(nil, noFileCT, noFileBody, admin), http.StatusUnprocessableEntity, licensing.Invalid},
		{"commit not a boolean", importCall(map[string]string{"commit": "maybe"}, "text/csv", trackingCSV, admin), http.StatusUnprocessableEntity, licensing.Invalid},
		{"sheet without a header", importCall(nil, "text/csv", "a,b\n1,2\n", admin), http.StatusUnprocessableEntity, licensing.Invalid},
		{"file too large", importCall(nil, "text/csv", bigCSV, admin), http.StatusRequestEntityTooLarge, licensing.TooLarge},
		{"list another agency", call{function: "Purchases", method: "GET", path: "purchases", query: map[string]string{"agency": "DOB"}, caller: doaDelegate}, http.StatusForbidden, licensing.Forbidden},
		{"list with a bad date", call{function: "Purchases", method: "GET", path: "purchases", query: map[string]string{"on": "31/07/2026"}, caller: admin}, http.StatusUnprocessableEntity, licensing.Invalid},
		{"audit without agency", call{function: "Purchases", method: "GET", path: "purchases/audit", params: map[string]string{"action": "audit"}, caller: admin}, http.StatusUnprocessableEntity, licensing.Invalid},
		{"unknown action", call{function: "Purchases", method: "GET", path: "purchases/nope", params: map[string]string{"action": "nope"}, caller: admin}, http.StatusNotFound, licensing.NotFound},
		{"correction, bad JSON", correctionCall(`{"corrects":`, "k1", admin), http.StatusBadRequest, licensing.Malformed},
		{"correction, zero quantity", correctionCall(`{"corrects":"x","quantity":0,"reason":"r"}`, "k1", admin), http.StatusUnprocessableEntity, licensing.Invalid},
		{"correction, unknown line", correctionCall(`{"corrects":"x","quantity":1,"reason":"r"}`, "k1", admin), http.StatusNotFound, licensing.NotFound},
		{"correction without idempotency key", correctionCall(`{"corrects":"x","quantity":1,"reason":"r"}`, "", admin), http.StatusUnprocessableEntity, licensing.Invalid},
		{"correction with two different keys", correctionCall(`{"corrects":"x","quantity":1,"reason":"r","idempotencyKey":"k2"}`, "k1", admin), http.StatusUnprocessableEntity, licensing.Invalid},
		{"correction by a delegate", correctionCall(`{"corrects":"x","quantity":1,"reason":"r"}`, "k1", doaDelegate), http.StatusForbidden, licensing.Forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newLedgerHost(t)
			r := h.do(tt.c)
			var e errorBody
			r.json(t, &e)
			if r.hostStatus != 200 || r.status != tt.status || e.Error.Code != tt.code {
				t.Errorf("host %d, status %d, code %q; want 200, %d, %q\n%s", r.hostStatus, r.status, e.Error.Code, tt.status, tt.code, r.body)
			}
			if h.ledgerLines() != 0 {
				t.Errorf("a refused request wrote to the ledger")
			}
		})
	}
}

// correctionCall posts a correction with key in the Idempotency-Key header
// ("" for none).
func correctionCall(body, key, caller string) call {
	c := call{function: "Purchases", method: "POST", path: "purchases/corrections", params: map[string]string{"action": "corrections"}, body: body, caller: caller}
	if key != "" {
		c.headers = map[string]string{"Idempotency-Key": key}
	}
	return c
}

func TestPurchasesCorrection(t *testing.T) {
	h := newLedgerHost(t)
	r := h.do(importCall(map[string]string{"commit": "true"}, "text/csv", trackingCSV, admin))
	var res struct {
		Outcomes []struct{ Purchase string }
	}
	r.json(t, &res)
	id := res.Outcomes[0].Purchase
	c := h.do(correctionCall(`{"corrects":"`+id+`","quantity":-5,"reason":"PO says 20"}`, "k-20", admin))
	if c.status != http.StatusCreated {
		t.Fatalf("correction: status %d, body %s", c.status, c.body)
	}
	var line licensing.Purchase
	c.json(t, &line)
	if line.Corrects != id || line.Quantity != -5 || line.Source != licensing.SourceCorrection || line.Agency != "DOA" {
		t.Errorf("correction line = %+v", line)
	}
	below := h.do(correctionCall(`{"corrects":"`+id+`","quantity":-21,"reason":"too many"}`, "k-21", admin))
	if below.status != http.StatusUnprocessableEntity {
		t.Errorf("correction below zero: status %d, want 422", below.status)
	}
}
