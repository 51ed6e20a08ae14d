package handlers

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/funchost"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/renewals"
	"github.com/shared-tenant/licensetrack/shared/xlsx"
)

// trueUpHost serves the TrueUp function through the host harness (the
// app's host.json and functions/*/function.json), with the renewals service
// on Azurite's tables and blobs. It is 15:00 in Chicago on January 12,
// 2027; enrollment EA-4400981 (anniversary March 1, 2027, 3,000 last
// reported) has two snapshots since its last anniversary, peaking at 3,077
// licensed users, and DET used 4 Visio seats it never bought.
func trueUpHost(t *testing.T) *funchost.Host {
	t.Helper()
	ctx := context.Background()
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2027, 1, 12, 15, 0, 0, 0, chicago) }
	tables, blobs, auth := azuriteApp(t, "trueup", now)
	e := licensing.Enrollment{Number: "EA-4400981", Anniversary: licensing.NewDate(2027, 3, 1), Kind: licensing.EnrollmentEnterprise, LastReported: 3000,
		PlatformProducts: []licensing.PlatformProduct{
			{Name: "Office Professional Plus", CoveredBy: []string{"Office 365 E3"}},
			{Name: "Core CAL", CoveredBy: []string{"Office 365 E3"}, Bridge: "Core CAL Bridge for Office 365"},
		},
		Reservations: []licensing.ServiceChange{{Service: "Office 365 E3", Quantity: 17, Date: licensing.NewDate(2026, 10, 5)}},
	}
	if _, _, err := tables.PutEnrollment(ctx, e, licensing.Precondition{}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		id       string
		at       time.Time
		licensed int
		agencies map[string]int
		usage    []licensing.Usage
	}{
		{"s-0601", time.Date(2026, 6, 1, 8, 0, 0, 0, chicago), 3077, map[string]int{"DOA": 2051, "DET": 1020, licensing.Unattributed: 6},
			[]licensing.Usage{{Agency: "DET", SkuID: fakes.SkuVisio, Users: 4}}},
		{"s-1207", time.Date(2026, 12, 7, 8, 0, 0, 0, chicago), 3050, map[string]int{"DOA": 2040, "DET": 1010}, nil},
	} {
		snap := licensing.Snapshot{ID: s.id, Taken: s.at, Full: true, LicensedUsers: s.licensed, AgencyUsers: s.agencies,
			Tenant: []licensing.TenantSku{{SkuID: fakes.SkuVisio, PartNumber: "VISIOCLIENT"}}}
		if err := tables.PublishSnapshot(ctx, snap, s.usage); err != nil {
			t.Fatal(err)
		}
	}
	svc := renewals.NewService(renewals.Config{Auth: auth, Agencies: tables, Purchases: tables, Enrollments: tables, Snapshots: tables,
		Catalog: fakes.BuiltinCatalog{}, Files: blobs, Links: blobs, Worksheets: xlsx.NewReportWriter(xlsx.WithLocation(chicago)),
		Location: chicago, Now: now})
	return behindHost(t, New(Config{Renewals: svc, Logger: slog.New(slog.DiscardHandler), Now: now}), now)
}

// trueUpGet sends GET /api/{path} to the host as caller.
func trueUpGet(t *testing.T, host *funchost.Host, method, path, caller string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, "/api/"+path, nil)
	if caller != "" {
		req.Header.Set("X-MS-CLIENT-PRINCIPAL-NAME", caller)
		req.Header.Set("X-MS-CLIENT-PRINCIPAL-IDP", "aad")
	}
	rec := httptest.NewRecorder()
	host.ServeHTTP(rec, req)
	return rec
}

// TestTrueUpAPI sends the host's requests to the TrueUp function: an admin
// gets the worksheet as JSON and the workbook through its link, a delegate
// is refused, an unknown enrollment is 404, and a query that cannot be read
// is 400 saying what to send.
func TestTrueUpAPI(t *testing.T) {
	host := trueUpHost(t)

	rec := trueUpGet(t, host, "GET", "true-up/EA-4400981", admin)
	if rec.Code != http.StatusOK {
		t.Fatalf("admin, json: %d %s", rec.Code, rec.Body)
	}
	var ws struct {
		Enrollment, CurrentFrom, PeakOn string
		Current, Increment              int
		Window                          struct{ Opens, Closes, State string }
		Order                           []struct {
			Product, Kind, Reason string
			Quantity              int
		}
		Agencies []struct {
			Agency      string
			Peak, Share int
		}
		Uncovered []struct {
			Agency, Product string
			Short           int
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &ws); err != nil {
		t.Fatalf("json: %v\n%s", err, rec.Body)
	}
	var order []string
	for _, l := range ws.Order {
		order = append(order, l.Product+" "+l.Kind+" "+strconv.Itoa(l.Quantity))
	}
	shares := 0
	for _, a := range ws.Agencies {
		shares += a.Share
	}
	wantOrder := "Office Professional Plus increment 60; Core CAL increment 60; Office 365 E3 reservation 17; Core CAL Bridge for Office 365 bridge 17"
	if ws.Enrollment != "EA-4400981" || ws.Current != 3077 || ws.CurrentFrom != "peak" || ws.PeakOn != "2026-06-01" || ws.Increment != 77 ||
		ws.Window.Opens != "2026-12-31" || ws.Window.Closes != "2027-01-30" || ws.Window.State != "open" || strings.Join(order, "; ") != wantOrder ||
		shares != 77 || len(ws.Agencies) != 3 || len(ws.Uncovered) != 1 || ws.Uncovered[0].Product != "Visio Plan 2" || ws.Uncovered[0].Short != 4 {
		t.Errorf("worksheet = %+v\norder %q", ws, order)
	}

	rec = trueUpGet(t, host, "GET", "true-up/EA-4400981?format=XLSX&current=3100&on=2027-01-20", admin)
	if rec.Code != http.StatusOK {
		t.Fatalf("admin, xlsx: %d %s", rec.Code, rec.Body)
	}
	var wb struct{ URL, Expires, Message, FileName string }
	if err := json.Unmarshal(rec.Body.Bytes(), &wb); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(wb.URL)
	if err != nil || wb.FileName != "true-up-EA-4400981-2027-01-20.xlsx" || !strings.HasSuffix(u.Path, "/"+wb.FileName) || !strings.Contains(wb.Message, "15 minutes") {
		t.Fatalf("workbook answer = %+v (%v)", wb, err)
	}
	resp, err := http.Get(wb.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download: %d %s", resp.StatusCode, body)
	}
	f, err := excelize.OpenReader(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("the download is not a workbook: %v", err)
	}
	defer f.Close()
	for cell, want := range map[string]string{"True-up!B7": "2027-01-20", "True-up!B10": "3,100", "True-up!B17": "100", "Agency split!D8": "100"} {
		sheet, ref, _ := strings.Cut(cell, "!")
		if got, _ := f.GetCellValue(sheet, ref); got != want {
			t.Errorf("workbook %s = %q, want %q", cell, got, want)
		}
	}

	refused := []struct {
		name, method, path, caller string
		status                     int
		says                       string
	}{
		{"delegate", "GET", "true-up/EA-4400981", fakes.Delegate, 403, "administrators"},
		{"nobody", "GET", "true-up/EA-4400981", "", 401, "Sign in"},
		{"unknown enrollment", "GET", "true-up/EA-0000404", admin, 404, "EA-0000404"},
		{"no enrollment", "GET", "true-up", admin, 400, "name the enrollment"},
		{"bad format", "GET", "true-up/EA-4400981?format=pdf", admin, 400, "must be json"},
		{"bad current", "GET", "true-up/EA-4400981?current=12.5", admin, 400, "whole number"},
		{"bad on", "GET", "true-up/EA-4400981?on=2027-13-01", admin, 400, "a date like 2027-01-15"},
		{"current out of range", "GET", "true-up/EA-4400981?current=-3", admin, 422, "current"},
		{"POST", "POST", "true-up/EA-4400981", admin, 404, ""},
	}
	for _, r := range refused {
		rec := trueUpGet(t, host, r.method, r.path, r.caller)
		if rec.Code != r.status || !strings.Contains(rec.Body.String(), r.says) {
			t.Errorf("%s: %d %s; want %d saying %q", r.name, rec.Code, rec.Body, r.status, r.says)
		}
	}
}
