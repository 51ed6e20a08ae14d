package handlers

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/blobstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/funchost"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/tablestore"
	"github.com/shared-tenant/licensetrack/shared/usage"
	"github.com/shared-tenant/licensetrack/shared/xlsx"
)

// azuriteApp returns tables and blobs on Azurite under a name of their own,
// initialised, with the agencies of fakes.Agencies and an authorizer whose
// admins are admin and fakes.Admin.
func azuriteApp(t *testing.T, prefix string, now func() time.Time) (*tablestore.Store, *blobstore.Store, *licensing.Authorizer) {
	t.Helper()
	ctx := context.Background()
	name := azuritetest.Name(t, prefix)
	tables := tablestore.New(azuritetest.TableService(t), tablestore.Options{TablePrefix: name})
	blobs := blobstore.New(azuritetest.BlobService(t), name)
	if err := tables.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := blobs.Init(ctx); err != nil {
		t.Fatal(err)
	}
	auth := licensing.NewAuthorizer(tables, []string{admin, fakes.Admin}, false)
	if err := fakes.PutAgencies(ctx, licensing.NewAgencyAdmin(tables, auth, now), fakes.Agencies()...); err != nil {
		t.Fatal(err)
	}
	return tables, blobs, auth
}

// chargebackHost serves the Chargeback function through the host harness,
// with the usage service on Azurite's tables and blobs. DOA bought 10 E3
// at 240.00 USD a seat and year (in force all November) and 4 Visio at
// 180.00 EUR ending November 15; DET 5 E3 without a price.
func chargebackHost(t *testing.T) *funchost.Host {
	t.Helper()
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC) }
	tables, blobs, auth := azuriteApp(t, "chargeback", now)
	on := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	usd, _ := licensing.ParseAmount("240")
	eur, _ := licensing.ParseAmount("180")
	lines := []licensing.Purchase{
		{ID: "a", Agency: "DOA", SkuID: fakes.SkuE3, PONumber: "PO-1", Quantity: 10, TermStart: licensing.NewDate(2026, 1, 1), TermEnd: licensing.NewDate(2026, 12, 31), UnitPrice: &usd, Currency: "USD", ActivatedAt: &on, Source: licensing.SourceImport},
		{ID: "b", Agency: "DOA", SkuID: fakes.SkuVisio, PONumber: "PO-2", Quantity: 4, TermStart: licensing.NewDate(2025, 11, 16), TermEnd: licensing.NewDate(2026, 11, 15), UnitPrice: &eur, Currency: "EUR", ActivatedAt: &on, Source: licensing.SourceImport},
		{ID: "c", Agency: "DET", SkuID: fakes.SkuE3, PONumber: "PO-3", Quantity: 5, TermStart: licensing.NewDate(2026, 1, 1), TermEnd: licensing.NewDate(2026, 12, 31), ActivatedAt: &on, Source: licensing.SourceImport},
	}
	if _, err := tables.AddPurchases(ctx, lines, "test", "fixture"); err != nil {
		t.Fatal(err)
	}
	svc := usage.NewService(usage.Config{Auth: auth, Agencies: tables, Purchases: tables, Snapshots: tables, Files: blobs, Links: blobs,
		Catalog: fakes.BuiltinCatalog{}, Reports: xlsx.NewReportWriter(), Now: now})
	return behindHost(t, New(Config{Usage: svc, Logger: slog.New(slog.DiscardHandler), Now: now}), now)
}

// TestChargebackAPI sends the host's requests to the Chargeback function:
// an admin gets the month as JSON (amounts as decimal strings, the line
// without a price null and flagged, totals per agency and currency) and
// the workbook through its link; a delegate is refused; a month that
// cannot be read is 400 saying what to send.
func TestChargebackAPI(t *testing.T) {
	host := chargebackHost(t)
	rec := trueUpGet(t, host, "GET", "reports/chargeback?month=2026-11", admin)
	if rec.Code != http.StatusOK {
		t.Fatalf("admin, json: %d %s", rec.Code, rec.Body)
	}
	var got struct {
		Month string
		Rows  []struct {
			Agency, Line, Charged, Flag string
			UnitPrice, Amount           *string
			Currency                    string
		}
		Totals []struct {
			Agency, Currency, Amount string
			Unpriced                 int
		}
		Unpriced int
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("json: %v\n%s", err, rec.Body)
	}
	var rows []string
	for _, r := range got.Rows {
		amount := "null"
		if r.Amount != nil {
			amount = *r.Amount + " " + r.Currency
		}
		rows = append(rows, r.Agency+" "+r.Line+" "+amount+" "+r.Charged+" "+r.Flag)
	}
	wantRows := "DET c null 1 month " + licensing.FlagNoPrice + "; DOA a 200.00 USD 1 month ; DOA b 30.00 EUR 15 of 30 days "
	if got.Month != "2026-11" || strings.Join(rows, "; ") != wantRows || got.Unpriced != 1 {
		t.Errorf("chargeback = %+v\nrows %q\nwant %q", got, strings.Join(rows, "; "), wantRows)
	}
	var totals []string
	for _, tot := range got.Totals {
		totals = append(totals, tot.Agency+"/"+tot.Currency+"/"+tot.Amount)
	}
	if want := "DET//0.00; DOA/EUR/30.00; DOA/USD/200.00; //0.00; /EUR/30.00; /USD/200.00"; strings.Join(totals, "; ") != want {
		t.Errorf("totals = %q, want %q", strings.Join(totals, "; "), want)
	}

	rec = trueUpGet(t, host, "GET", "reports/chargeback?month=2026-11&format=xlsx", admin)
	if rec.Code != http.StatusOK {
		t.Fatalf("admin, xlsx: %d %s", rec.Code, rec.Body)
	}
	var wb struct{ URL, FileName string }
	if err := json.Unmarshal(rec.Body.Bytes(), &wb); err != nil || wb.FileName != "chargeback-2026-11.xlsx" {
		t.Fatalf("workbook answer = %s (%v)", rec.Body, err)
	}
	resp, err := http.Get(wb.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	f, err := excelize.OpenReader(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("the download is not a workbook: %v", err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue("Chargeback", "I7"); v != "200.00 USD" {
		t.Errorf("workbook Chargeback!I7 = %q, want 200.00 USD", v)
	}

	for _, r := range []struct {
		name, path, caller string
		status             int
		says               string
	}{
		{"delegate", "reports/chargeback?month=2026-11", fakes.Delegate, 403, "administrators"},
		{"no month", "reports/chargeback", admin, 400, "month=2026-11"},
		{"bad month", "reports/chargeback?month=2026-13", admin, 400, "not a month like 2026-11"},
		{"bad format", "reports/chargeback?month=2026-11&format=pdf", admin, 400, "must be json"},
	} {
		rec := trueUpGet(t, host, "GET", r.path, r.caller)
		if rec.Code != r.status || !strings.Contains(rec.Body.String(), r.says) {
			t.Errorf("%s: %d %s; want %d saying %q", r.name, rec.Code, rec.Body, r.status, r.says)
		}
	}
}
