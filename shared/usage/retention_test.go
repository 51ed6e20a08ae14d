package usage_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// linkTo makes download links that name the file and their lifetime.
type linkTo struct{}

func (linkTo) Link(_ context.Context, name string, ttl time.Duration) (string, error) {
	return "https://files.example/" + name + "?ttl=" + ttl.String(), nil
}

// downSweeper is a file store whose listing fails.
type downSweeper struct{ licensing.FileSweeper }

func (downSweeper) ListFiles(context.Context, string, func(licensing.FileInfo) error) error {
	return licensing.Errorf("test.listFiles", licensing.Unavailable, "The storage is not answering.")
}

// workbookService returns the payroll fixture, with a snapshot taken, and
// a usage Service on its stores and clock (now, when not nil) that writes
// ad-hoc workbooks and sweeps them with sweeper (the store when nil).
func workbookService(t *testing.T, sweeper licensing.FileSweeper, now func() time.Time) (*fixture, *usage.Service) {
	t.Helper()
	f, reports := payrollFixture(t)
	if _, err := f.svc.TakeSnapshot(context.Background(), usage.SnapshotOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if sweeper == nil {
		sweeper = f.store
	}
	if now == nil {
		now = f.now
	}
	return f, usage.NewService(usage.Config{Auth: f.auth(), Agencies: f.store, Purchases: f.store, Snapshots: f.store,
		Files: f.store, Sweeper: sweeper, Catalog: fakes.BuiltinCatalog{}, Reports: reports, Links: linkTo{},
		Reporting: usage.Reporting{Calendar: licensing.PayrollCalendar{Location: time.UTC}}, Now: now, NewID: f.newID})
}

// put writes the file name to the store.
func put(t *testing.T, f *fixture, name string) {
	t.Helper()
	w, err := f.store.Create(context.Background(), name, "application/octet-stream")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("PK")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// reportFiles returns the names of the stored files under reports/, in
// name order.
func reportFiles(t *testing.T, f *fixture) []string {
	t.Helper()
	var out []string
	err := f.store.ListFiles(context.Background(), "reports/", func(fi licensing.FileInfo) error {
		out = append(out, fi.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWorkbooksDeletedAfterTheirLinksExpire asks for workbooks over time:
// each request deletes the workbooks whose links have expired (five minutes
// after, for downloads under way), and the sweep deletes the rest; a
// workbook written before names carried the expiry goes a day after it was
// written. Each deletion is logged; payroll reports are not touched.
func TestWorkbooksDeletedAfterTheirLinksExpire(t *testing.T) {
	f, svc := workbookService(t, nil, nil)
	ctx := context.Background()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	f.store.SetClock(func() time.Time { return f.clock.Add(-25 * time.Hour) })
	put(t, f, "reports/adhoc/2026-11-22/DOA-00legacy.xlsx")
	f.store.SetClock(func() time.Time { return f.clock })
	put(t, f, "reports/adhoc/2026-11-23/DOA-01legacy.xlsx")
	put(t, f, "reports/payroll/2026-11-23/DOA.xlsx")

	request := func() string {
		t.Helper()
		link, file, err := svc.LicenseWorkbook(ctx, admin, "DOA", 15*time.Minute, log)
		if err != nil {
			t.Fatal(err)
		}
		if link != "https://files.example/"+file+"?ttl=15m0s" {
			t.Errorf("link = %q for %s", link, file)
		}
		return file
	}
	first := request() // at 14:00
	if !regexp.MustCompile(`^reports/adhoc/20261123T1415\d\dZ/DOA-\d{8}\.xlsx$`).MatchString(first) {
		t.Errorf("workbook %q, want its link's expiry, 14:15 UTC, in its name", first)
	}
	if diff := cmp.Diff([]string{"reports/adhoc/2026-11-23/DOA-01legacy.xlsx", first, "reports/payroll/2026-11-23/DOA.xlsx"}, reportFiles(t, f)); diff != "" {
		t.Errorf("after the first request (-want +got):\n%s", diff)
	}
	f.clock = f.clock.Add(18 * time.Minute) // 14:18: the first link has expired, not its grace
	second := request()
	f.clock = f.clock.Add(3 * time.Minute) // 14:21
	third := request()
	if diff := cmp.Diff([]string{"reports/adhoc/2026-11-23/DOA-01legacy.xlsx", second, third, "reports/payroll/2026-11-23/DOA.xlsx"}, reportFiles(t, f)); diff != "" {
		t.Errorf("after the third request (-want +got):\n%s", diff)
	}

	f.clock = f.clock.Add(25 * time.Hour)
	res, err := svc.SweepWorkbooks(ctx, log)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"reports/adhoc/2026-11-23/DOA-01legacy.xlsx", second, third}, res.Deleted); diff != "" {
		t.Errorf("swept (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"reports/payroll/2026-11-23/DOA.xlsx"}, reportFiles(t, f)); diff != "" {
		t.Errorf("after the sweep (-want +got):\n%s", diff)
	}
	for _, name := range []string{"reports/adhoc/2026-11-22/DOA-00legacy.xlsx", first, second, third, "reports/adhoc/2026-11-23/DOA-01legacy.xlsx"} {
		if n := strings.Count(logs.String(), `msg="expired workbook deleted" file=`+name+" "); n != 1 {
			t.Errorf("%s logged deleted %d times, want once:\n%s", name, n, logs.String())
		}
	}
}

// expiredWorkbooks writes n workbooks whose links expired at 13:00.
func expiredWorkbooks(t *testing.T, f *fixture, n int) []string {
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("reports/adhoc/20261123T130000Z/DOA-%08d.xlsx", i))
		put(t, f, names[i])
	}
	return names
}

// TestWorkbookSweepsAtOnce runs two sweeps at once: every expired workbook
// is deleted by exactly one of them, and neither fails.
func TestWorkbookSweepsAtOnce(t *testing.T) {
	fixed := time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)
	f, svc := workbookService(t, nil, func() time.Time { return fixed })
	want := expiredWorkbooks(t, f, 30)
	var wg sync.WaitGroup
	results := make([]usage.WorkbookSweep, 2)
	errs := make([]error, 2)
	for i := range results {
		wg.Go(func() { results[i], errs[i] = svc.SweepWorkbooks(context.Background(), nil) })
	}
	wg.Wait()
	got := slices.Concat(results[0].Deleted, results[1].Deleted)
	slices.Sort(got)
	if errs[0] != nil || errs[1] != nil || !slices.Equal(want, got) {
		t.Errorf("sweeps at once: errors %v, deleted %q; want each of %q once", errs, got, want)
	}
}

// TestWorkbookRequestSweepIsBounded: a request deletes at most 20 expired
// workbooks, the sweep the rest; a request whose sweep fails still answers,
// and logs why nothing was deleted.
func TestWorkbookRequestSweepIsBounded(t *testing.T) {
	ctx := context.Background()
	f, svc := workbookService(t, nil, nil)
	expiredWorkbooks(t, f, 25)
	if _, _, err := svc.LicenseWorkbook(ctx, admin, "DOA", time.Minute, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(reportFiles(t, f)); n != 6 {
		t.Errorf("after a request, %d workbooks, want 5 expired and the new one", n)
	}
	if res, err := svc.SweepWorkbooks(ctx, nil); err != nil || len(res.Deleted) != 5 {
		t.Errorf("sweep deleted %q (%v), want the 5 expired left", res.Deleted, err)
	}

	f, svc = workbookService(t, downSweeper{}, nil)
	var logs bytes.Buffer
	link, _, err := svc.LicenseWorkbook(ctx, admin, "DOA", time.Minute, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil || link == "" || !strings.Contains(logs.String(), "expired workbooks not deleted") {
		t.Errorf("with the sweep failing: link %q, %v, log %q; want the link, and the failure logged", link, err, logs.String())
	}
}
