package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var snapJobOpts = cmp.Options{cmpopts.IgnoreFields(licensing.SnapJob{}, "ETag"), cmpopts.IgnoreFields(licensing.SnapSegment{}, "ETag"), cmpopts.EquateEmpty()}

// snapJob returns a job of three segments, as created.
func snapJob(id string) (licensing.SnapJob, []licensing.SnapSegment) {
	job := licensing.SnapJob{ID: id, Kind: licensing.SnapJobSnapshot, Started: base, DeltaLink: "https://graph/delta?$deltatoken=a'b", Segments: 3,
		Then: `{"kind":"payroll.start"}`, State: licensing.SnapReading}
	segs := []licensing.SnapSegment{
		{Range: licensing.UserSegment{To: "c"}}, {Range: licensing.UserSegment{From: "c", To: "m"}}, {Range: licensing.UserSegment{From: "m"}},
	}
	for i := range segs {
		segs[i].Job, segs[i].Index = id, i
	}
	return job, segs
}

// TestSnapJobStore runs the conformance tests of the split directory reads'
// store; newStore returns an empty store for each.
func TestSnapJobStore(t *testing.T, newStore func(t *testing.T) licensing.SnapJobStore) {
	runCases(t, []storeCase[licensing.SnapJobStore]{
		{"create, read, checkpoint on ETags", func(t *testing.T, ctx context.Context, s licensing.SnapJobStore) {
			job, segs := snapJob("20261123T063000Z-ab12cd34")
			created, err := s.CreateSnapJob(ctx, job, segs)
			if err != nil {
				t.Fatalf("CreateSnapJob: %v", err)
			}
			if created.ETag == "" {
				t.Error("created job has no ETag")
			}
			_, err = s.CreateSnapJob(ctx, job, segs)
			wantCode(t, "CreateSnapJob again", err, licensing.Stale)
			gotJob, gotSegs, err := s.GetSnapJob(ctx, job.ID)
			if err != nil {
				t.Fatalf("GetSnapJob: %v", err)
			}
			if diff := cmp.Diff(job, gotJob, snapJobOpts); diff != "" {
				t.Errorf("job (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(segs, gotSegs, snapJobOpts); diff != "" {
				t.Errorf("segments (-want +got):\n%s", diff)
			}
			seg, err := s.GetSnapSegment(ctx, job.ID, 1)
			if err != nil {
				t.Fatalf("GetSnapSegment: %v", err)
			}
			next := seg
			next.Chunk, next.Cursor, next.Users, next.Pages = 1, "cursor|1", 999, 1
			next.Parts = []string{"snapshots/x/parts/001-00000-a.jsonl.gz"}
			stored, err := s.UpdateSnapSegment(ctx, next)
			if err != nil {
				t.Fatalf("UpdateSnapSegment: %v", err)
			}
			_, err = s.UpdateSnapSegment(ctx, next)
			wantCode(t, "UpdateSnapSegment on the old ETag", err, licensing.Stale)
			if got, err := s.GetSnapSegment(ctx, job.ID, 1); err != nil || got.ETag != stored.ETag || got.Cursor != "cursor|1" || len(got.Parts) != 1 {
				t.Errorf("segment after checkpoint = %+v, %v", got, err)
			}
			_, err = s.GetSnapSegment(ctx, job.ID, 3)
			wantCode(t, "GetSnapSegment past the last", err, licensing.NotFound)
			_, _, err = s.GetSnapJob(ctx, "20261123T063000Z-missing")
			wantCode(t, "GetSnapJob of an unknown job", err, licensing.NotFound)

			gotJob.State, gotJob.MergeClaimed = licensing.SnapMerging, base.Add(time.Minute)
			claimed, err := s.UpdateSnapJob(ctx, gotJob)
			if err != nil {
				t.Fatalf("UpdateSnapJob: %v", err)
			}
			_, err = s.UpdateSnapJob(ctx, gotJob)
			wantCode(t, "UpdateSnapJob on the old ETag", err, licensing.Stale)
			if again, _, err := s.GetSnapJob(ctx, job.ID); err != nil || again.ETag != claimed.ETag || !again.MergeClaimed.Equal(claimed.MergeClaimed) {
				t.Errorf("job after claim = %+v, %v", again, err)
			}
		}},
		{"one of two checkpoints at once wins", func(t *testing.T, ctx context.Context, s licensing.SnapJobStore) {
			job, segs := snapJob("20261123T063000Z-race")
			if _, err := s.CreateSnapJob(ctx, job, segs); err != nil {
				t.Fatalf("CreateSnapJob: %v", err)
			}
			seg, err := s.GetSnapSegment(ctx, job.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					next := seg
					next.Chunk = i + 1
					_, errs[i] = s.UpdateSnapSegment(ctx, next)
				}()
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				if err == nil {
					won++
				} else {
					wantCode(t, "losing checkpoint", err, licensing.Stale)
				}
			}
			if won != 1 {
				t.Errorf("%d checkpoints won, want 1", won)
			}
		}},
		{"latest sign-in pass", func(t *testing.T, ctx context.Context, s licensing.SnapJobStore) {
			_, err := s.LatestSignInPass(ctx)
			wantCode(t, "LatestSignInPass before any", err, licensing.NotFound)
			p1 := licensing.SignInPass{ID: "p1", Taken: base, File: "signins/p1.gz", Users: 10, Available: true}
			p2 := licensing.SignInPass{ID: "p2", Taken: base.Add(time.Hour), File: "signins/p2.gz", Users: 0, Note: "not available"}
			for _, p := range []licensing.SignInPass{p2, p1} {
				if err := s.PublishSignInPass(ctx, p); err != nil {
					t.Fatalf("PublishSignInPass(%s): %v", p.ID, err)
				}
			}
			got, err := s.LatestSignInPass(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(p2, got, cmpopts.EquateApproxTime(0)); diff != "" {
				t.Errorf("latest pass (-want +got):\n%s", diff)
			}
		}},
	}, newStore)
}
