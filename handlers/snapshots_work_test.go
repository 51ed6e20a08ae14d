package handlers

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// TestSplitReadsThroughTheWorkFunction runs the SignInPass timer, then a
// snapshot started as split work, delivering every work message to the Work
// function in the envelopes the host sends, until the queue is empty.
func TestSplitReadsThroughTheWorkFunction(t *testing.T) {
	store := memstore.New()
	now := tickingClock()
	auth := licensing.NewAuthorizer(store, []string{admin}, false)
	runs := licensing.NewRuns(store, auth, now, nil)
	q := &licensing.LocalQueue{}
	dir := fakes.NewDirectory()
	svc := usage.NewService(usage.Config{
		Auth: auth, Runs: runs, Agencies: store, Snapshots: store, Files: store, Sweeper: store, Directory: dir,
		Catalog: fakes.BuiltinCatalog{}, Effects: licensing.NewEffects(store, now, 0), Now: now, Work: q,
		Split: usage.Split{Jobs: store, Segments: 3, PagesPerChunk: 1},
	})
	srv := New(Config{Usage: svc, Runs: runs, Auth: auth, Now: now})
	ctx := context.Background()

	timer, err := os.ReadFile(filepath.Join("testdata", "timer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r := invokeEnvelope(t, srv, "SignInPass", timer); r.hostStatus != 200 {
		t.Fatalf("SignInPass timer: host status %d", r.hostStatus)
	}
	deliver := func() {
		for sent := 0; ; sent++ {
			msgs := q.Take()
			if len(msgs) == 0 {
				return
			}
			if sent > 1000 {
				t.Fatal("the work does not end")
			}
			for _, m := range msgs {
				text, _ := json.Marshal(m)
				env := []byte(`{"Data":{"msg":` + string(text) + `},"Metadata":{"DequeueCount":"1"}}`)
				if r := invokeEnvelope(t, srv, "Work", env); r.hostStatus != 200 {
					t.Fatalf("Work %s: host status %d", m, r.hostStatus)
				}
			}
		}
	}
	deliver()
	pass, err := store.LatestSignInPass(ctx)
	if err != nil || pass.Users != len(dir.Users) {
		t.Fatalf("sign-in pass = %+v, %v; want one of the directory's %d users", pass, err, len(dir.Users))
	}
	// A second check the same day finds the pass recent enough.
	if r := invokeEnvelope(t, srv, "SignInPass", timer); r.hostStatus != 200 || len(q.Take()) != 0 {
		t.Fatalf("second SignInPass: host status %d, or it started another pass", r.hostStatus)
	}

	job, err := svc.StartSnapshot(ctx, usage.StartOptions{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	deliver()
	snap, err := store.LatestSnapshot(ctx)
	if err != nil || snap.ID != job.ID || snap.Users != len(dir.Users) || snap.SignInPass != pass.ID {
		t.Fatalf("snapshot = %+v, %v; want %s with the directory's %d users and pass %s", snap, err, job.ID, len(dir.Users), pass.ID)
	}
}
