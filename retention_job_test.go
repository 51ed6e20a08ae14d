package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/tablestore"
)

// TestRetentionJob runs `handler run retention` on Azurite after three
// snapshots with SNAPSHOT_RETENTION=1: the dry run lists the two older
// snapshots' files and deletes nothing, writing no run record; the run
// deletes them, keeps their counts (pruned), and records the run; a second
// run deletes nothing.
func TestRetentionJob(t *testing.T) {
	acct := azuritetest.Account(t)
	name := azuritetest.Name(t, "rj")
	gs := httptest.NewServer(graphfake.NewServer(graphfake.NewTenant(), slog.New(slog.DiscardHandler)))
	defer gs.Close()
	env := envOf(map[string]string{
		"AzureWebJobsStorage": "UseDevelopmentStorage=true", "STORAGE_PREFIX": name, "ACTIVATION_QUEUE": name + "-steps", "WORK_QUEUE": name + "-work",
		"ADMINS": "admin@it.example.gov", "MAIL_MODE": "outbox", "CENTRAL_IT_EMAIL": "licensing@it.example.gov", "LOG_LEVEL": "error",
		"GRAPH_MODE": "live", "GRAPH_AUTH": "none", "GRAPH_BASE_URL": gs.URL + "/v1.0", "SNAPSHOT_RETENTION": "1",
	})
	tsvc, err := acct.TableService()
	if err != nil {
		t.Fatal(err)
	}
	tables := tablestore.New(tsvc, tablestore.Options{TablePrefix: name})
	runJob := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"run"}, args...), env, &stdout, &stderr); code != 0 {
			t.Fatalf("handler run %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	for range 3 {
		runJob("snapshot", "--full")
		time.Sleep(10 * time.Millisecond)
	}
	records := func() []licensing.Run {
		list, err := tables.ListRuns(context.Background(), licensing.RunFilter{Function: "Retention"})
		if err != nil {
			t.Fatal(err)
		}
		return list
	}

	out := runJob("retention", "--dry-run")
	if strings.Count(out, "files would be deleted, counts kept") != 2 || !strings.Contains(out, "would delete 2 file(s)") || strings.Count(out, "/users.jsonl.gz\n") != 2 {
		t.Errorf("dry run printed:\n%s\nwant the two older snapshots and their files", out)
	}
	if list, _ := tables.ListSnapshots(context.Background(), time.Time{}, time.Time{}); len(list) != 3 || !list[0].Pruned.IsZero() || len(records()) != 0 {
		t.Errorf("after the dry run: snapshots %+v, runs %+v; want 3 unpruned and no run record", list, records())
	}

	out = runJob("retention")
	if !strings.Contains(out, "1 snapshot(s) kept, 2 pruned") || !strings.Contains(out, "deleted 2 file(s)") {
		t.Errorf("run printed:\n%s", out)
	}
	list, err := tables.ListSnapshots(context.Background(), time.Time{}, time.Time{})
	if err != nil || len(list) != 3 || list[0].Pruned.IsZero() || list[1].Pruned.IsZero() || !list[2].Pruned.IsZero() {
		t.Errorf("after the run: snapshots %+v, %v; want the two older pruned, the latest whole", list, err)
	}
	if r := records(); len(r) != 1 || r[0].Outcome != licensing.RunSucceeded || r[0].Counts["snapshots pruned"] != 2 {
		t.Errorf("run records %+v, want one succeeded with 2 snapshots pruned", r)
	}
	if out := runJob("retention"); !strings.Contains(out, "deleted 0 file(s)") {
		t.Errorf("second run printed:\n%s\nwant nothing deleted", out)
	}
}
