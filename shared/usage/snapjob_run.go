package usage

import (
	"context"
	"log/slog"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// maxLocalParallel bounds the pieces of a split read run at once in one
// process.
const maxLocalParallel = 16

// SnapshotRunHere takes a snapshot as a recorded run, as SnapshotRun does,
// in this process: an incremental snapshot (a delta link to follow, and
// neither opts.Full nor opts.SignIn) reads only the changes in one go
// (TakeSnapshot); a full one is read as split work (StartSnapshot) whose
// pieces run here, as many at once as there are segments (16 at most),
// and merged. With opts.SignIn a sign-in pass is read first the same way,
// and the snapshot takes its sign-ins from it. progress, when not nil, is
// called about once a second while a split read goes on, and once it is
// read; the run's record says how far it got too.
func (s *Service) SnapshotRunHere(ctx context.Context, trigger string, opts SnapshotOptions, progress func(SnapProgress), log *slog.Logger) (SnapshotSummary, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if s.cfg.Split.Jobs == nil || s.cfg.Files == nil {
		return s.SnapshotRun(ctx, trigger, opts, log)
	}
	if !opts.Full && !opts.SignIn {
		prev, err := s.cfg.Snapshots.LatestSnapshot(ctx)
		if err == nil && prev.DeltaLink != "" {
			return s.SnapshotRun(ctx, trigger, opts, log)
		}
		if err != nil && licensing.ErrorCode(err) != licensing.NotFound {
			return SnapshotSummary{}, err
		}
	}
	return s.snapshotRun(ctx, trigger, opts, func(ctx context.Context, run *licensing.RunRecorder) (licensing.Snapshot, error) {
		if opts.SignIn {
			if _, err := s.readHere(ctx, licensing.SnapJobSignIn, run, progress, log); err != nil {
				return licensing.Snapshot{}, err
			}
		}
		id, err := s.readHere(ctx, licensing.SnapJobSnapshot, run, progress, log)
		if err != nil {
			return licensing.Snapshot{}, err
		}
		return s.cfg.Snapshots.GetSnapshot(ctx, id)
	}, log)
}

// readHere runs a split read of kind in this process to its end and
// returns its job's id.
func (s *Service) readHere(ctx context.Context, kind string, run *licensing.RunRecorder, progress func(SnapProgress), log *slog.Logger) (string, error) {
	q := &licensing.LocalQueue{}
	svc := s.WithWork(q)
	job, err := svc.startJob(ctx, kind, StartOptions{local: true}, log)
	if err != nil {
		return "", err
	}
	report := func(p SnapProgress) {
		run.Set(p.Kind+" segments", p.Segments)
		run.Set(p.Kind+" segments read", p.SegmentsDone)
		run.Progress(ctx, p.String())
		if progress != nil {
			progress(p)
		}
		log.Info("split read progress", "job", p.Job, "kind", p.Kind, "segments done", p.SegmentsDone, "segments", p.Segments, "users so far", p.Users, "state", p.State)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var last SnapProgress
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
			if p, err := svc.SnapJobProgress(ctx, job.ID); err == nil && p != last {
				last = p
				report(p)
			}
		}
	}()
	err = svc.DrainLocal(ctx, q, min(job.Segments, maxLocalParallel), log)
	close(stop)
	<-done
	p, perr := svc.SnapJobProgress(ctx, job.ID)
	if err == nil {
		err = perr
	}
	if err != nil {
		return job.ID, err
	}
	report(p)
	if !p.Published() {
		return job.ID, licensing.Errorf("snapshot.readHere", licensing.Unavailable, "The split read %s stopped before it was published: %s.", job.ID, p)
	}
	return job.ID, nil
}
