package usage_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shared-tenant/licensetrack/shared/blobstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/renewals"
	"github.com/shared-tenant/licensetrack/shared/tablestore"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// retentionTables is what retention reads and deletes in tables, and what
// the true-up reads.
type retentionTables interface {
	licensing.SnapshotStore
	licensing.SnapshotPruner
	licensing.Deliveries
	licensing.DeliveryPruner
	licensing.AgencyStore
	licensing.PurchaseStore
	licensing.EnrollmentStore
	licensing.RunStore
}

// retentionFiles is where snapshot and report files live.
type retentionFiles interface {
	licensing.FileStore
	licensing.FileSweeper
}

// retentionStores runs test on the in-memory store and on Table and Blob
// Storage in Azurite.
func retentionStores(t *testing.T, test func(t *testing.T, tables retentionTables, files retentionFiles)) {
	t.Run("memstore", func(t *testing.T) {
		s := memstore.New()
		test(t, s, s)
	})
	t.Run("azurite", func(t *testing.T) {
		ctx := context.Background()
		tables := tablestore.New(azuritetest.TableService(t), tablestore.Options{TablePrefix: azuritetest.Name(t, "rt")})
		if err := tables.Init(ctx); err != nil {
			t.Fatal(err)
		}
		files := blobstore.New(azuritetest.BlobService(t), azuritetest.Name(t, "rb"))
		if err := files.Init(ctx); err != nil {
			t.Fatal(err)
		}
		test(t, tables, files)
	})
}

// retentionWorld is a tenant's storage after twelve snapshots and a few
// report runs.
type retentionWorld struct {
	tables retentionTables
	files  retentionFiles
	now    time.Time
	snaps  []licensing.Snapshot
	// pruner, when set, replaces tables as the SnapshotPruner.
	pruner licensing.SnapshotPruner
}

// sku is the product the snapshots count.
const retentionSku = "c5928f49-12ba-48f7-ada3-0d743a3601d5"

// newRetentionWorld publishes twelve snapshots: s0 taken 14 months ago, and
// s1 to s11 two days apart up to an hour ago, s1 with the most licensed
// users. Each has its users file; s9 also the parts and agency files of a
// segmented job. Report runs: payroll on s2 not mailed to every agency (it
// may resume), payroll on s3 and on s6 mailed whole, audit on s1 mailed
// whole.
func newRetentionWorld(t *testing.T, tables retentionTables, files retentionFiles) *retentionWorld {
	t.Helper()
	ctx := context.Background()
	w := &retentionWorld{tables: tables, files: files, now: time.Now().UTC().Truncate(time.Second)}
	for i := range 12 {
		taken := w.now.Add(-time.Hour).AddDate(0, 0, -2*(11-i))
		if i == 0 {
			taken = w.now.AddDate(0, -14, 0)
		}
		id := fmt.Sprintf("%s-%08d", taken.Format("20060102T150405Z"), i)
		licensed := 100 + i
		if i == 1 {
			licensed = 900
		}
		sn := licensing.Snapshot{ID: id, Taken: taken, Full: true, UsersFile: "snapshots/" + id + "/users.jsonl.gz",
			Users: 1000, LicensedUsers: licensed, Agencies: 1, AgencyUsers: map[string]int{"DOA": licensed}}
		if i == 11 {
			sn.SignInPass = "20261120T000000Z-pass"
		}
		usage := []licensing.Usage{{Agency: "DOA", SkuID: retentionSku, Users: licensed}}
		writeFile(t, files, sn.UsersFile, 1000+i)
		if i == 9 {
			writeFile(t, files, "snapshots/"+id+"/parts/0001.jsonl.gz", 10)
			writeFile(t, files, "snapshots/"+id+"/agencies/DOA.jsonl.gz", 20)
		}
		if err := tables.PublishSnapshot(ctx, sn, usage); err != nil {
			t.Fatal(err)
		}
		w.snaps = append(w.snaps, sn)
	}
	w.reportRun(t, "payroll-2026-10-26", 2, licensing.DeliveryWritten)
	w.reportRun(t, "payroll-2026-11-09", 3, licensing.DeliveryMailed)
	w.reportRun(t, "payroll-2026-11-23", 6, licensing.DeliveryMailed)
	w.put(t, licensing.Delivery{Run: "audit-2026-11", Key: "snapshot", State: "taken", File: w.snaps[1].ID, At: w.snaps[1].Taken})
	w.put(t, licensing.Delivery{Run: "audit-2026-11", Key: "central-it", State: licensing.DeliveryMailed, At: w.snaps[1].Taken})
	return w
}

// reportRun records a payroll run on snapshot i: its workbooks, DOA's in
// state doa, the summary mailed.
func (w *retentionWorld) reportRun(t *testing.T, run string, i int, doa string) {
	t.Helper()
	date := strings.TrimPrefix(run, "payroll-")
	at := w.snaps[i].Taken
	w.put(t, licensing.Delivery{Run: run, Key: "snapshot", State: "taken", File: w.snaps[i].ID, At: at})
	for key, state := range map[string]string{"DOA": doa, "enterprise-summary": licensing.DeliveryMailed} {
		file := "reports/payroll/" + date + "/" + key + ".xlsx"
		writeFile(t, w.files, file, 300)
		w.put(t, licensing.Delivery{Run: run, Key: key, State: state, File: file, Size: 300, At: at})
	}
}

func (w *retentionWorld) put(t *testing.T, d licensing.Delivery) {
	t.Helper()
	if err := w.tables.PutDelivery(context.Background(), d); err != nil {
		t.Fatal(err)
	}
}

// writeFile stores size bytes as name.
func writeFile(t *testing.T, files licensing.FileStore, name string, size int) {
	t.Helper()
	fw, err := files.Create(context.Background(), name, "application/octet-stream")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(bytes.Repeat([]byte("x"), size)); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
}

// service returns a usage Service retaining w's storage at now.
func (w *retentionWorld) service(now time.Time) *usage.Service {
	auth := licensing.NewAuthorizer(w.tables, []string{"admin@example.gov"}, false)
	var pruner licensing.SnapshotPruner = w.tables
	if w.pruner != nil {
		pruner = w.pruner
	}
	return usage.NewService(usage.Config{Auth: auth, Runs: licensing.NewRuns(w.tables, auth, nil, nil),
		Snapshots: w.tables, Files: w.files, Sweeper: w.files, Deliveries: w.tables,
		Retention: usage.Retention{Snapshots: pruner, Deliveries: w.tables},
		Now:       func() time.Time { return now }})
}

// fileNames lists the stored files under prefix.
func (w *retentionWorld) fileNames(t *testing.T, prefix string) []string {
	t.Helper()
	var names []string
	if err := w.files.ListFiles(context.Background(), prefix, func(f licensing.FileInfo) error {
		names = append(names, f.Name)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

// runs lists the report runs with delivery records.
func (w *retentionWorld) runs(t *testing.T) []string {
	t.Helper()
	runs, err := w.tables.ListDeliveryRuns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// ids returns the ids of w's snapshots i.
func (w *retentionWorld) ids(i ...int) []string {
	var out []string
	for _, n := range i {
		out = append(out, w.snaps[n].ID)
	}
	return out
}

// wantRetained checks w after retention: s4 to s11 keep their files, as
// does s2, which the unfinished payroll run reports on; s1 and s3 are
// pruned, with their counts and usage; s0 is gone; the runs on s1 and s3
// are gone with their workbooks.
func (w *retentionWorld) wantRetained(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	var wantFiles []string
	for _, i := range []int{2, 4, 5, 6, 7, 8, 9, 10, 11} {
		wantFiles = append(wantFiles, w.snaps[i].UsersFile)
		if i == 9 {
			wantFiles = append(wantFiles, "snapshots/"+w.snaps[9].ID+"/agencies/DOA.jsonl.gz", "snapshots/"+w.snaps[9].ID+"/parts/0001.jsonl.gz")
		}
	}
	slices.Sort(wantFiles)
	if diff := cmp.Diff(wantFiles, w.fileNames(t, "snapshots/")); diff != "" {
		t.Errorf("snapshot files (-want +got):\n%s", diff)
	}
	want := []string{"reports/payroll/2026-10-26/DOA.xlsx", "reports/payroll/2026-10-26/enterprise-summary.xlsx",
		"reports/payroll/2026-11-23/DOA.xlsx", "reports/payroll/2026-11-23/enterprise-summary.xlsx"}
	if diff := cmp.Diff(want, w.fileNames(t, "reports/")); diff != "" {
		t.Errorf("report files (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"payroll-2026-10-26", "payroll-2026-11-23"}, w.runs(t)); diff != "" {
		t.Errorf("report runs (-want +got):\n%s", diff)
	}
	list, err := w.tables.ListSnapshots(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var pruned, kept []string
	for _, sn := range list {
		if sn.Pruned.IsZero() {
			kept = append(kept, sn.ID)
		} else {
			pruned = append(pruned, sn.ID)
		}
	}
	if diff := cmp.Diff(w.ids(1, 3), pruned); diff != "" {
		t.Errorf("pruned snapshots (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(w.ids(2, 4, 5, 6, 7, 8, 9, 10, 11), kept); diff != "" {
		t.Errorf("snapshots kept whole (-want +got):\n%s", diff)
	}
	if u, err := w.tables.SnapshotUsage(ctx, w.snaps[1].ID); err != nil || len(u) != 1 || u[0].Users != 900 {
		t.Errorf("usage of pruned s1 = %v, %v; want DOA's 900 kept", u, err)
	}
	if u, err := w.tables.SnapshotUsage(ctx, w.snaps[0].ID); err != nil || len(u) != 0 {
		t.Errorf("usage of s0, older than 13 months = %v, %v; want none", u, err)
	}
}

// TestRetentionKeepsNewestAndResumable retains twelve snapshots, keeping
// eight: the newest eight keep their files, and so does the one a payroll
// run that has not mailed every report refers to; the others lose their
// files but keep their counts, which still give the true-up its peak and
// its agencies over their purchases; the one older than 13 months goes
// whole; finished runs on pruned snapshots go with their workbooks. Each
// pruned snapshot is logged with the bytes freed, and a summary line ends
// the run. A second run deletes nothing more.
func TestRetentionKeepsNewestAndResumable(t *testing.T) {
	retentionStores(t, func(t *testing.T, tables retentionTables, files retentionFiles) {
		ctx := context.Background()
		w := newRetentionWorld(t, tables, files)
		var logs bytes.Buffer
		res, err := w.service(w.now).Retain(ctx, usage.RetentionOptions{}, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		w.wantRetained(t)
		if diff := cmp.Diff(w.ids(1, 3), res.Pruned); diff != "" {
			t.Errorf("result's pruned (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(w.ids(0), res.Deleted); diff != "" {
			t.Errorf("result's deleted (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"audit-2026-11", "payroll-2026-11-09"}, res.Runs); diff != "" {
			t.Errorf("result's runs (-want +got):\n%s", diff)
		}
		// The files of s0, s1 and s3, and the two workbooks of the run on s3.
		if wantBytes := int64(1000 + 1001 + 1003 + 2*300); res.Bytes != wantBytes || len(res.Files) != 5 {
			t.Errorf("freed %d bytes in %d files (%q), want %d in 5", res.Bytes, len(res.Files), res.Files, wantBytes)
		}
		for _, want := range []string{
			`msg="snapshot pruned" snapshot=` + w.snaps[1].ID + ` `,
			`msg="snapshot pruned" snapshot=` + w.snaps[3].ID + ` `,
			`msg="snapshot deleted" snapshot=` + w.snaps[0].ID + ` `,
			`msg="retention done" dryRun=false kept=9 pruned=2 deleted=1 runs=2 abandoned=0 files=5 bytesFreed=3604`,
		} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, logs.String())
			}
		}
		if !strings.Contains(logs.String(), `snapshot=`+w.snaps[1].ID+` taken=`) || !strings.Contains(logs.String(), "files=1 bytesFreed=1001") {
			t.Errorf("the pruning of s1 is not logged with its bytes:\n%s", logs.String())
		}

		// The true-up still finds its peak on the pruned s1, and DOA's use
		// beyond its (absent) purchases there.
		e := licensing.Enrollment{Number: "EA-1234567", Anniversary: licensing.DateOf(w.now.AddDate(0, 2, 0), time.UTC), Kind: licensing.EnrollmentEnterprise,
			PlatformProducts: []licensing.PlatformProduct{{Name: "Windows OS Upgrade"}}, LastReported: 100, UpdatedBy: "admin@example.gov", Updated: w.now}
		if _, _, err := tables.PutEnrollment(ctx, e, licensing.Precondition{}); err != nil {
			t.Fatal(err)
		}
		ru := renewals.NewService(renewals.Config{Agencies: tables, Purchases: tables, Enrollments: tables, Snapshots: tables,
			Location: time.UTC, Now: func() time.Time { return w.now }})
		ws, err := ru.PrepareWorksheet(ctx, e.Number, renewals.TrueUpOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s1 := licensing.DateOf(w.snaps[1].Taken, time.UTC)
		if ws.Peak != 900 || ws.PeakOn != s1 || ws.Snapshots != 11 {
			t.Errorf("true-up peak %d on %s from %d snapshots, want 900 on %s (pruned s1) from 11", ws.Peak, ws.PeakOn, ws.Snapshots, s1)
		}
		if len(ws.Uncovered) != 1 || ws.Uncovered[0].Peak != 900 || ws.Uncovered[0].PeakOn != s1 {
			t.Errorf("true-up uncovered = %+v, want DOA's 900 on %s", ws.Uncovered, s1)
		}

		again, err := w.service(w.now).Retain(ctx, usage.RetentionOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(again.Files) != 0 || len(again.Pruned) != 0 || len(again.Deleted) != 0 || len(again.Runs) != 0 || again.Bytes != 0 {
			t.Errorf("second run deleted %+v, want nothing", again)
		}
		w.wantRetained(t)
	})
}

// TestRetentionDryRun lists what would go, the same as a real run then
// deletes, and deletes nothing.
func TestRetentionDryRun(t *testing.T) {
	retentionStores(t, func(t *testing.T, tables retentionTables, files retentionFiles) {
		ctx := context.Background()
		w := newRetentionWorld(t, tables, files)
		before := w.fileNames(t, "")
		dry, err := w.service(w.now).Retain(ctx, usage.RetentionOptions{DryRun: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before, w.fileNames(t, "")); diff != "" {
			t.Errorf("a dry run changed the files (-before +after):\n%s", diff)
		}
		if list, _ := tables.ListSnapshots(ctx, time.Time{}, time.Time{}); len(list) != 12 || !list[1].Pruned.IsZero() {
			t.Errorf("after a dry run, %d snapshots (s1 pruned %v), want all 12, none pruned", len(list), list[1].Pruned)
		}
		if len(w.runs(t)) != 4 {
			t.Errorf("after a dry run, runs %q, want all 4", w.runs(t))
		}
		var text bytes.Buffer
		if err := dry.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"snapshot " + w.snaps[1].ID + ": files would be deleted, counts kept", "report run payroll-2026-11-09: files and delivery records would be deleted",
			"    reports/payroll/2026-11-09/DOA.xlsx", "would delete 5 file(s), 3.5 KiB"} {
			if !strings.Contains(text.String(), want) {
				t.Errorf("dry run's text lacks %q:\n%s", want, text.String())
			}
		}
		res, err := w.service(w.now).Retain(ctx, usage.RetentionOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		dry.DryRun = false
		if diff := cmp.Diff(dry, res, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("the dry run's list and the run's deletions differ (-dry +run):\n%s", diff)
		}
	})
}

// crashingPruner dies before any row of a snapshot is changed.
type crashingPruner struct{ licensing.SnapshotPruner }

func (crashingPruner) MarkSnapshotPruned(context.Context, string, time.Time) error {
	return licensing.Errorf("test.crash", licensing.Unavailable, "The process died.")
}

func (crashingPruner) DeleteSnapshot(context.Context, string) error {
	return licensing.Errorf("test.crash", licensing.Unavailable, "The process died.")
}

// TestRetentionFinishesAfterACrash: a run dies after deleting a snapshot's
// files and before its rows; the next run finishes, and the storage ends as
// one whole run leaves it.
func TestRetentionFinishesAfterACrash(t *testing.T) {
	retentionStores(t, func(t *testing.T, tables retentionTables, files retentionFiles) {
		ctx := context.Background()
		w := newRetentionWorld(t, tables, files)
		w.pruner = crashingPruner{tables}
		if _, err := w.service(w.now).Retain(ctx, usage.RetentionOptions{}, nil); licensing.ErrorCode(err) != licensing.Unavailable {
			t.Fatalf("crashing run: %v, want unavailable", err)
		}
		if got := w.fileNames(t, "snapshots/"+w.snaps[0].ID); len(got) != 0 {
			t.Errorf("files of s0 after the crash: %q, want deleted", got)
		}
		if _, err := tables.GetSnapshot(ctx, w.snaps[0].ID); err != nil {
			t.Errorf("s0's row after the crash: %v, want it still there", err)
		}
		w.pruner = nil
		if _, err := w.service(w.now).Retain(ctx, usage.RetentionOptions{}, nil); err != nil {
			t.Fatal(err)
		}
		w.wantRetained(t)
	})
}

// TestRetentionTwiceAtOnce: two runs at once delete each thing once between
// them, and neither fails.
func TestRetentionTwiceAtOnce(t *testing.T) {
	retentionStores(t, func(t *testing.T, tables retentionTables, files retentionFiles) {
		w := newRetentionWorld(t, tables, files)
		var wg sync.WaitGroup
		results := make([]usage.RetentionResult, 2)
		errs := make([]error, 2)
		for i := range results {
			wg.Go(func() {
				results[i], errs[i] = w.service(w.now).Retain(context.Background(), usage.RetentionOptions{}, nil)
			})
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("runs at once: %v", errs)
		}
		got := slices.Concat(results[0].Files, results[1].Files)
		slices.Sort(got)
		if len(got) != 5 || len(slices.Compact(slices.Clone(got))) != 5 {
			t.Errorf("files deleted by the two runs: %q, want 5, each once", got)
		}
		w.wantRetained(t)
	})
}

// TestRetentionAbandonedAndSignIns: the files of a snapshot that was never
// published, and the parts of a sign-in pass, stay while a job may still be
// writing them and go once they are two days old; of the sign-in passes the
// newest two stay, and the one a kept snapshot took its sign-ins from.
func TestRetentionAbandonedAndSignIns(t *testing.T) {
	retentionStores(t, func(t *testing.T, tables retentionTables, files retentionFiles) {
		ctx := context.Background()
		w := newRetentionWorld(t, tables, files)
		dead := "snapshots/20261101T000000Z-deadbeef/"
		writeFile(t, files, dead+"parts/0001.jsonl.gz", 50)
		writeFile(t, files, dead+"parts/0002.jsonl.gz", 60)
		writeFile(t, files, "signins/20261101T000000Z-pass/parts/0001.gz", 5)
		for i := range 4 {
			writeFile(t, files, fmt.Sprintf("signins/2026112%dT000000Z-pass.gz", i), 10)
			if _, inMemory := files.(*memstore.Store); !inMemory {
				time.Sleep(1100 * time.Millisecond) // Blob Storage dates files to the second.
			}
		}
		res, err := w.service(w.now).Retain(ctx, usage.RetentionOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Abandoned) != 0 || len(w.fileNames(t, dead)) != 2 {
			t.Errorf("fresh unpublished files: abandoned %q, left %q; want both kept", res.Abandoned, w.fileNames(t, dead))
		}
		if diff := cmp.Diff([]string{"signins/20261101T000000Z-pass/parts/0001.gz", "signins/20261120T000000Z-pass.gz", "signins/20261122T000000Z-pass.gz", "signins/20261123T000000Z-pass.gz"}, w.fileNames(t, "signins/")); diff != "" {
			t.Errorf("sign-in passes left (-want +got):\n%s", diff)
		}
		later := w.now.Add(49 * time.Hour)
		res, err = w.service(later).Retain(ctx, usage.RetentionOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"snapshots/20261101T000000Z-deadbeef", "signins/20261101T000000Z-pass"}, res.Abandoned); diff != "" || len(w.fileNames(t, dead)) != 0 {
			t.Errorf("two days on: abandoned (-want +got):\n%s\nleft %q", diff, w.fileNames(t, dead))
		}
		if len(w.fileNames(t, "signins/")) != 3 {
			t.Errorf("sign-in passes left: %q, want the newest two and the latest snapshot's", w.fileNames(t, "signins/"))
		}
	})
}
