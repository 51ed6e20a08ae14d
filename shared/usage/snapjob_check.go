package usage

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// The kinds of the check message of split reads (see checkJob).
const (
	KindSnapshotCheck = "snapshot.check"
	KindSignInCheck   = "signin.check"
)

// checkGiveUp bounds the checks of a job nobody finishes (a day of them):
// retention deletes the parts of a job never published once two days old.
const checkGiveUp = 24 * time.Hour

func (c Split) stallAfter() time.Duration {
	if c.StallAfter <= 0 {
		return 10 * time.Minute
	}
	return c.StallAfter
}

// checkJob keeps a job going whose messages were lost: the start that died
// half-way through sending the segments' messages, a message that ended in
// the poison queue, a merge message that never came. The start sends the
// first check, StallAfter ahead, before it records the job; each check
// re-sends the message of every segment whose checkpoint did not move
// since the previous check (since the start, for the first), sends the
// merge when every segment is read but the job is not published, and
// sends the next check. A re-sent message for a chunk that is being read
// after all is dropped at the checkpoint. A job that is unknown (the start
// died before recording it) or published ends the checks, and so does a
// day's worth of checks (counted in the check's Chunk).
func (s *Service) checkJob(ctx context.Context, q licensing.WorkQueue, p piece, log *slog.Logger) error {
	job, segs, err := s.cfg.Split.Jobs.GetSnapJob(ctx, p.Job)
	if licensing.ErrorCode(err) == licensing.NotFound {
		log.Info("the job was never recorded; nothing to check")
		return nil
	}
	if err != nil {
		return err
	}
	if job.State == licensing.SnapPublished {
		return nil
	}
	if p.Chunk >= int(checkGiveUp/s.cfg.Split.stallAfter()) {
		log.Warn("split read abandoned: not published after a day of checks", "started", job.Started, "progress", snapProgressOf(job, segs).String())
		return nil
	}
	next := piece{Kind: job.Kind + ".check", Job: job.ID, Chunk: p.Chunk + 1, Seen: make([]int, len(segs))}
	done := 0
	for i, g := range segs {
		next.Seen[i] = g.Chunk
		if g.Done {
			done++
			continue
		}
		seen := 0
		if i < len(p.Seen) {
			seen = p.Seen[i]
		}
		if g.Chunk > seen {
			continue
		}
		log.Warn("segment made no progress since the last check; its message is sent again", "segment", g.Index, "chunk", g.Chunk)
		if err := s.sendPiece(ctx, q, piece{Kind: job.Kind + ".segment", Job: job.ID, Segment: g.Index, Chunk: g.Chunk}, 0); err != nil {
			return err
		}
	}
	if done == len(segs) && job.State == licensing.SnapReading {
		log.Warn("every segment is read but the job is not merged; the merge is sent again")
		if err := s.sendPiece(ctx, q, piece{Kind: job.Kind + ".merge", Job: job.ID}, 0); err != nil {
			return err
		}
	}
	log.Info("split read checked", "progress", snapProgressOf(job, segs).String())
	return s.sendPiece(ctx, q, next, s.cfg.Split.stallAfter())
}

// SnapProgress is how far a split read got.
type SnapProgress struct {
	Job, Kind, State string
	Segments         int
	SegmentsDone     int
	// Users counts the users read so far (a user whose name is the shared
	// end of two segments counts twice).
	Users int
	Pages int
}

// Published tells whether the job published its snapshot or pass.
func (p SnapProgress) Published() bool { return p.State == licensing.SnapPublished }

func (p SnapProgress) String() string {
	what := "snapshot"
	if p.Kind == licensing.SnapJobSignIn {
		what = "sign-in pass"
	}
	return fmt.Sprintf("%s %s: %d of %d segments read, %d users so far (%d pages), %s", what, p.Job, p.SegmentsDone, p.Segments, p.Users, p.Pages, p.State)
}

func snapProgressOf(job licensing.SnapJob, segs []licensing.SnapSegment) SnapProgress {
	p := SnapProgress{Job: job.ID, Kind: job.Kind, State: job.State, Segments: len(segs)}
	for _, g := range segs {
		if g.Done {
			p.SegmentsDone++
		}
		p.Users += g.Users
		p.Pages += g.Pages
	}
	return p
}

// SnapJobProgress returns how far the split read id got.
func (s *Service) SnapJobProgress(ctx context.Context, id string) (SnapProgress, error) {
	if s.cfg.Split.Jobs == nil {
		return SnapProgress{}, licensing.Errorf("snapshot.progress", licensing.Internal, "No job store is configured for split reads.")
	}
	job, segs, err := s.cfg.Split.Jobs.GetSnapJob(ctx, id)
	if err != nil {
		return SnapProgress{}, err
	}
	return snapProgressOf(job, segs), nil
}
