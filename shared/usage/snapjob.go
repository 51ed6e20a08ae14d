package usage

// A full read of a large tenant as split work. StartSnapshot takes a delta
// link, then records a job of N segments of user principal names and sends
// one message per segment; each message reads one chunk of its segment
// (SNAPSHOT_PAGES_PER_CHUNK pages) into a part file, checkpoints the
// segment and sends the message of the next chunk; the last segment to end
// sends the merge, which publishes the snapshot.
//
// Why no user is lost or counted twice:
//   - The segments cover every name: the first starts open, the last ends
//     open, and neighbours share their end. A user whose name is a shared
//     end is read by both: the merge keeps the first copy of an id.
//   - A chunk's part is written before its checkpoint, under a name of its
//     own (a random token per attempt), and the checkpoint, conditional on
//     the segment's ETag, records that name. The merge reads only the
//     parts the checkpoints name, so a part written by an attempt that then
//     died, or lost the race to a duplicate of its message, is never read.
//     A retry reads the same chunk again from the same cursor.
//   - A message for a chunk already checkpointed reads nothing; the one for
//     the last checkpointed chunk sends the next chunk's message again (its
//     first sender may have died between checkpoint and send), so a crash
//     there loses nothing, and a duplicate is dropped at the checkpoint.
//   - A start that dies while sending the segments' messages, or a message
//     that ends in the poison queue, leaves a segment without a message:
//     the check the start sent before recording the job sends it again
//     (checkJob).
//   - A user renamed, added or removed while the segments were read may be
//     read twice, once, or not at all; the delta link taken before the
//     first segment was read brings every such change, and the merge
//     applies them by id: changed users are replaced, removed ones dropped,
//     users no part held are added (read again by their new name when the
//     change carries only some properties).

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// The kinds of work message of split reads.
const (
	KindSnapshotSegment = "snapshot.segment"
	KindSnapshotMerge   = "snapshot.merge"
	KindSignInSegment   = "signin.segment"
	KindSignInMerge     = "signin.merge"
)

// Split configures the snapshots and sign-in passes read as split work.
type Split struct {
	// Jobs keeps the jobs and their segments' checkpoints.
	Jobs licensing.SnapJobStore
	// Segments is how many segments a read is split into (default 16).
	Segments int
	// PagesPerChunk is how many pages one message reads (default 150): at
	// about a second a page, a chunk ends well within an invocation.
	PagesPerChunk int
	// SignInPassDays is the age of the latest sign-in pass after which the
	// daily check starts a new one (default 7).
	SignInPassDays int
	// MergeLease is how long a merge's claim on its job stands before
	// another merge may take over (default 15 minutes).
	MergeLease time.Duration
	// StallAfter is how often a job's check looks for segments whose
	// checkpoint did not move, and sends their messages again (default
	// 10 minutes; see checkJob).
	StallAfter time.Duration
}

func (c Split) segments() int {
	if c.Segments < 1 {
		return 16
	}
	return min(c.Segments, 99)
}

func (c Split) pages() int {
	if c.PagesPerChunk < 1 {
		return 150
	}
	return c.PagesPerChunk
}

func (c Split) lease() time.Duration {
	if c.MergeLease <= 0 {
		return 15 * time.Minute
	}
	return c.MergeLease
}

// piece is a work message of a split read.
type piece struct {
	Kind    string `json:"kind"`
	Job     string `json:"job"`
	Segment int    `json:"segment"`
	Chunk   int    `json:"chunk"`
	// Seen is, on a check, each segment's next chunk at the previous
	// check.
	Seen []int `json:"seen,omitempty"`
}

// segmentAlphabet is the characters segment ends spread over.
const segmentAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

// segmentRanges returns n ranges covering every name: the first From and
// the last To are open, and consecutive ranges share an end, spread evenly
// over two characters of 0-9a-z.
func segmentRanges(n int) []licensing.UserSegment {
	const k = len(segmentAlphabet)
	out := make([]licensing.UserSegment, n)
	for i := 1; i < n; i++ {
		p := i * k * k / n
		end := string([]byte{segmentAlphabet[p/k], segmentAlphabet[p%k]})
		out[i-1].To, out[i].From = end, end
	}
	return out
}

// StartOptions tunes StartSnapshot and StartSignInPass.
type StartOptions struct {
	// Then is a work message sent once the job is published (for example
	// the start of a payroll run); empty for none.
	Then string
	// local: every piece runs in this process, which sees them all
	// through; no check message is sent.
	local bool
}

// StartSnapshot starts a snapshot read as split work and returns its job,
// whose ID is the id of the snapshot it will publish. The delta link is
// taken before anything else, so that the merge sees every change made
// while the segments are read.
func (s *Service) StartSnapshot(ctx context.Context, opts StartOptions, log *slog.Logger) (licensing.SnapJob, error) {
	return s.startJob(ctx, licensing.SnapJobSnapshot, opts, log)
}

// StartSignInPass starts a pass over every user's last sign-in as split
// work; its job's ID is the pass's.
func (s *Service) StartSignInPass(ctx context.Context, opts StartOptions, log *slog.Logger) (licensing.SnapJob, error) {
	return s.startJob(ctx, licensing.SnapJobSignIn, opts, log)
}

func (s *Service) startJob(ctx context.Context, kind string, opts StartOptions, log *slog.Logger) (licensing.SnapJob, error) {
	const op = "snapshot.start"
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if s.cfg.Split.Jobs == nil || s.cfg.Work == nil || s.cfg.Directory == nil || s.cfg.Files == nil {
		return licensing.SnapJob{}, licensing.Errorf(op, licensing.Internal, "Split reads need the job store, the work queue, the directory and the file store.")
	}
	start := s.now()
	job := licensing.SnapJob{ID: snapshotID(start, s.newID()), Kind: kind, Started: start.UTC(), Then: opts.Then, State: licensing.SnapReading}
	if kind == licensing.SnapJobSnapshot {
		res, err := s.cfg.Directory.ReadUsers(ctx, licensing.UserQuery{LinkOnly: true}, func(licensing.DirectoryUser) error { return nil })
		if err != nil {
			return licensing.SnapJob{}, err
		}
		job.DeltaLink = res.DeltaLink
	}
	// The segments are cut where the latest snapshot's names split evenly.
	var ends []string
	if latest, err := s.cfg.Snapshots.LatestSnapshot(ctx); err == nil {
		ends = latest.SegmentEnds
	} else if licensing.ErrorCode(err) != licensing.NotFound {
		return licensing.SnapJob{}, err
	}
	ranges := segmentRangesFrom(s.cfg.Split.segments(), ends)
	job.Segments = len(ranges)
	segs := make([]licensing.SnapSegment, len(ranges))
	for i, r := range ranges {
		segs[i] = licensing.SnapSegment{Job: job.ID, Index: i, Range: r}
	}
	// The check goes first: a start that dies after recording the job,
	// before every segment's message is sent, leaves segments that the
	// check sends again.
	if !opts.local {
		if err := s.sendPiece(ctx, s.cfg.Work, piece{Kind: kind + ".check", Job: job.ID}, s.cfg.Split.stallAfter()); err != nil {
			return licensing.SnapJob{}, err
		}
	}
	job, err := s.cfg.Split.Jobs.CreateSnapJob(ctx, job, segs)
	if err != nil {
		return licensing.SnapJob{}, err
	}
	for i := range segs {
		if err := s.sendPiece(ctx, s.cfg.Work, piece{Kind: kind + ".segment", Job: job.ID, Segment: i}, 0); err != nil {
			return job, err
		}
	}
	log.Info("split read started", "kind", kind, "job", job.ID, "segments", job.Segments)
	return job, nil
}

func (s *Service) sendPiece(ctx context.Context, q licensing.WorkQueue, p piece, after time.Duration) error {
	b, err := json.Marshal(p)
	if err != nil {
		return licensing.Wrap("snapshot.send", licensing.Internal, "", err)
	}
	return q.Send(ctx, string(b), after)
}

// snapWork runs one piece of a split read; the pieces it makes go to q.
func (s *Service) snapWork(ctx context.Context, q licensing.WorkQueue, kind, text string, log *slog.Logger) error {
	var p piece
	if err := json.Unmarshal([]byte(text), &p); err != nil || p.Job == "" {
		return licensing.Wrap("snapshot.work", licensing.Internal, "The message names no job.", err)
	}
	log = log.With("job", p.Job)
	switch kind {
	case KindSnapshotSegment, KindSignInSegment:
		return s.readChunk(ctx, q, p, log)
	case KindSnapshotCheck, KindSignInCheck:
		return s.checkJob(ctx, q, p, log)
	case KindSnapshotMerge:
		return s.mergeJob(ctx, q, p.Job, s.mergeSnapshot, log)
	default:
		return s.mergeJob(ctx, q, p.Job, s.mergeSignIns, log)
	}
}

// jobKind is the job kind of a piece's kind.
func jobKind(kind string) string {
	if kind == KindSignInSegment || kind == KindSignInMerge {
		return licensing.SnapJobSignIn
	}
	return licensing.SnapJobSnapshot
}

// partsDir is where a job's parts are written.
func partsDir(kind, job string) string {
	if kind == licensing.SnapJobSignIn {
		return "signins/" + job + "/parts/"
	}
	return "snapshots/" + job + "/parts/"
}

func randomToken() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// readChunk reads chunk p.Chunk of segment p.Segment, when it is the
// segment's next one, into a part, and checkpoints the segment.
func (s *Service) readChunk(ctx context.Context, q licensing.WorkQueue, p piece, log *slog.Logger) error {
	kind := jobKind(p.Kind)
	seg, err := s.cfg.Split.Jobs.GetSnapSegment(ctx, p.Job, p.Segment)
	if licensing.ErrorCode(err) == licensing.NotFound {
		log.Warn("no such segment; message dropped", "segment", p.Segment)
		return nil
	}
	if err != nil {
		return err
	}
	if seg.Done || p.Chunk != seg.Chunk {
		if p.Chunk == seg.Chunk-1 {
			// The sender of the next message may have died after the
			// checkpoint: send it again (a duplicate is dropped).
			return s.afterCheckpoint(ctx, q, kind, seg, log)
		}
		log.Debug("chunk already read", "segment", p.Segment, "chunk", p.Chunk)
		return nil
	}
	started := time.Now()
	part := fmt.Sprintf("%s%03d-%05d-%s.jsonl.gz", partsDir(kind, p.Job), seg.Index, seg.Chunk, randomToken())
	w, err := s.cfg.Files.Create(ctx, part, "application/x-ndjson+gzip")
	if err != nil {
		return err
	}
	pw := newLineWriter(w)
	q2 := licensing.UserQuery{Segment: seg.Range, Cursor: seg.Cursor, MaxPages: s.cfg.Split.pages(), NoDeltaLink: true, SignInOnly: kind == licensing.SnapJobSignIn}
	res, err := s.cfg.Directory.ReadUsers(ctx, q2, func(u licensing.DirectoryUser) error {
		if u.Removed {
			return nil
		}
		if q2.SignInOnly {
			return pw.put(signInLine{ID: u.ID, SignIn: u.LastSignIn})
		}
		return pw.put(snapshotUser(u, licensing.Attribution{}))
	})
	if err == nil {
		err = pw.close()
	}
	if err != nil {
		w.Abort(err)
		if licensing.ErrorCode(err) == licensing.Stale && seg.Cursor != "" {
			return s.restartSegment(ctx, q, kind, seg, log)
		}
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	seg.Parts = append(seg.Parts, part)
	seg.Chunk++
	seg.Cursor = res.Cursor
	seg.Users += res.Users
	seg.Pages += res.Pages
	seg.Done = res.Cursor == ""
	if q2.SignInOnly && !res.SignInAvailable {
		seg.Note, seg.Done, seg.Cursor = signInUnavailableNote(res.SignInNote), true, ""
	}
	seg, err = s.cfg.Split.Jobs.UpdateSnapSegment(ctx, seg)
	if licensing.ErrorCode(err) == licensing.Stale {
		log.Info("chunk read by another copy of its message; this read is dropped", "segment", p.Segment, "chunk", p.Chunk)
		s.deleteFile(ctx, part)
		return nil
	}
	if err != nil {
		return err
	}
	log.Info("chunk read", "segment", seg.Index, "chunk", p.Chunk, "users", res.Users, "pages", res.Pages,
		"segment users", seg.Users, "done", seg.Done, "elapsed", time.Since(started).Round(time.Millisecond).String())
	return s.afterCheckpoint(ctx, q, kind, seg, log)
}

// afterCheckpoint sends the segment's next chunk, or the merge when every
// segment is done.
func (s *Service) afterCheckpoint(ctx context.Context, q licensing.WorkQueue, kind string, seg licensing.SnapSegment, log *slog.Logger) error {
	if !seg.Done {
		return s.sendPiece(ctx, q, piece{Kind: kind + ".segment", Job: seg.Job, Segment: seg.Index, Chunk: seg.Chunk}, 0)
	}
	job, segs, err := s.cfg.Split.Jobs.GetSnapJob(ctx, seg.Job)
	if err != nil {
		return err
	}
	p := snapProgressOf(job, segs)
	log.Info("segment read", "segment", seg.Index, "segments done", p.SegmentsDone, "segments", p.Segments, "users so far", p.Users)
	for _, g := range segs {
		if !g.Done {
			return nil
		}
	}
	// Segments ending at once may both send it: a merge claims the job.
	return s.sendPiece(ctx, q, piece{Kind: kind + ".merge", Job: seg.Job}, 0)
}

// restartSegment begins the segment again from its start: the directory
// no longer accepts its cursor.
func (s *Service) restartSegment(ctx context.Context, q licensing.WorkQueue, kind string, seg licensing.SnapSegment, log *slog.Logger) error {
	old := seg.Parts
	seg.Chunk, seg.Cursor, seg.Parts, seg.Users, seg.Pages, seg.Done = 0, "", nil, 0, 0, false
	seg.Restarts++
	seg, err := s.cfg.Split.Jobs.UpdateSnapSegment(ctx, seg)
	if licensing.ErrorCode(err) == licensing.Stale {
		return nil
	}
	if err != nil {
		return err
	}
	log.Warn("the directory no longer accepts the segment's cursor; reading it again from its start", "segment", seg.Index, "restarts", seg.Restarts)
	for _, name := range old {
		s.deleteFile(ctx, name)
	}
	return s.sendPiece(ctx, q, piece{Kind: kind + ".segment", Job: seg.Job, Segment: seg.Index}, 0)
}

// deleteFile removes name when a sweeper is configured; a failure leaves
// a file nothing refers to, which the job's clean-up removes.
func (s *Service) deleteFile(ctx context.Context, name string) {
	if s.cfg.Sweeper != nil {
		s.cfg.Sweeper.DeleteFile(ctx, name, "")
	}
}

// mergeJob claims the job and runs merge, then publishes: see
// mergeSnapshot. A job already published only gets its continuation sent
// (once) and its parts deleted; one that another merge claimed within the
// lease gets this message again once the claim would lapse, so a merge
// that dies is taken over.
func (s *Service) mergeJob(ctx context.Context, q licensing.WorkQueue, id string, merge func(context.Context, licensing.SnapJob, []licensing.SnapSegment, *slog.Logger) error, log *slog.Logger) error {
	jobs := s.cfg.Split.Jobs
	job, segs, err := jobs.GetSnapJob(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case job.State == licensing.SnapPublished:
		return s.finishJob(ctx, q, job, log)
	case job.State == licensing.SnapMerging && s.now().Sub(job.MergeClaimed) < s.cfg.Split.lease():
		wait := s.cfg.Split.lease() - s.now().Sub(job.MergeClaimed) + time.Second
		log.Info("merge under way elsewhere; checking again when its claim would lapse", "after", wait.Round(time.Second).String())
		return s.sendPiece(ctx, q, piece{Kind: job.Kind + ".merge", Job: id}, wait)
	}
	for _, g := range segs {
		if !g.Done {
			log.Info("merge before every segment is read; the last segment sends it again", "segment", g.Index)
			return nil
		}
	}
	job.State, job.MergeClaimed = licensing.SnapMerging, s.now().UTC()
	job, err = jobs.UpdateSnapJob(ctx, job)
	if licensing.ErrorCode(err) == licensing.Stale {
		log.Info("another merge claimed the job first")
		return nil
	}
	if err != nil {
		return err
	}
	if err := merge(ctx, job, segs, log); err != nil {
		return err
	}
	// Only the merge whose claim still stands marks the job published and
	// so sends the continuation; one whose claim was taken over published
	// the same snapshot (same id, same parts) and stops here.
	job.State, job.Published = licensing.SnapPublished, s.now().UTC()
	job, err = jobs.UpdateSnapJob(ctx, job)
	if licensing.ErrorCode(err) == licensing.Stale {
		log.Warn("the merge's claim was taken over while it ran; the other merge finishes the job")
		return nil
	}
	if err != nil {
		return err
	}
	return s.finishJob(ctx, q, job, log)
}

// finishJob sends the job's continuation, at most once (an effect keyed by
// the job: a sender that died after claiming it leaves it unconfirmed
// rather than sent twice), then deletes the job's parts.
func (s *Service) finishJob(ctx context.Context, q licensing.WorkQueue, job licensing.SnapJob, log *slog.Logger) error {
	if job.Then != "" {
		send := func(ctx context.Context) error { return q.Send(ctx, job.Then, 0) }
		if s.cfg.Effects == nil {
			if err := send(ctx); err != nil {
				return err
			}
		} else {
			outcome, err := s.cfg.Effects.Once(ctx, "queue:"+job.Kind+"-then:"+job.ID, nil, send)
			if err != nil {
				return err
			}
			log.Info("continuation", "outcome", string(outcome))
		}
	}
	if s.cfg.Sweeper != nil {
		var names []string
		err := s.cfg.Sweeper.ListFiles(ctx, partsDir(job.Kind, job.ID), func(f licensing.FileInfo) error {
			names = append(names, f.Name)
			return nil
		})
		if err != nil {
			log.Warn("parts not listed for deletion", "error", err)
		}
		for _, n := range names {
			s.deleteFile(ctx, n)
		}
	}
	return nil
}

// signInLine is one user of a sign-in part or pass file.
type signInLine struct {
	ID     string     `json:"id"`
	SignIn *time.Time `json:"signIn,omitempty"`
}

// lineWriter writes gzip JSON lines.
type lineWriter struct {
	bw  *bufio.Writer
	zw  *gzip.Writer
	enc *json.Encoder
}

func newLineWriter(w io.Writer) *lineWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	zw, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	return &lineWriter{bw: bw, zw: zw, enc: json.NewEncoder(zw)}
}

func (l *lineWriter) put(v any) error {
	if err := l.enc.Encode(v); err != nil {
		return licensing.Wrap("snapshot.write", licensing.Unavailable, "", err)
	}
	return nil
}

func (l *lineWriter) close() error {
	if err := l.zw.Close(); err != nil {
		return licensing.Wrap("snapshot.write", licensing.Unavailable, "", err)
	}
	if err := l.bw.Flush(); err != nil {
		return licensing.Wrap("snapshot.write", licensing.Unavailable, "", err)
	}
	return nil
}

// readLines passes each JSON line of the gzip file name to fn, decoded
// into a fresh T.
func readLines[T any](ctx context.Context, files licensing.FileStore, name string, fn func(T) error) error {
	const op = "snapshot.readPart"
	rc, err := files.Open(ctx, name)
	if err != nil {
		return err
	}
	defer rc.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(rc, 64<<10))
	if err != nil {
		return licensing.Wrap(op, licensing.Internal, "File "+name+" is damaged.", err)
	}
	dec := json.NewDecoder(zr)
	for {
		var v T
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if licensing.ErrorCode(err) == licensing.Unavailable {
				return err
			}
			return licensing.Wrap(op, licensing.Internal, "File "+name+" is damaged.", err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
}
