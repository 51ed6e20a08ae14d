package licensing

import (
	"context"
	"time"
)

// Kinds of split directory reads (SnapJob.Kind).
const (
	// SnapJobSnapshot reads every user in segments and publishes a usage
	// snapshot.
	SnapJobSnapshot = "snapshot"
	// SnapJobSignIn reads every user's last sign-in in segments and
	// publishes a SignInPass.
	SnapJobSignIn = "signin"
)

// States of a SnapJob.
const (
	// SnapReading: segments are being read.
	SnapReading = "reading"
	// SnapMerging: a merge claimed the job at MergeClaimed.
	SnapMerging = "merging"
	// SnapPublished: the snapshot or pass is published.
	SnapPublished = "published"
)

// SnapJob is a full read of the directory split into segments that separate
// invocations read, then merged into one published snapshot (or sign-in
// pass). Its ID is the id of what it publishes.
type SnapJob struct {
	ID      string
	Kind    string
	Started time.Time
	// DeltaLink was taken before any segment was read: following it at the
	// merge brings every change made while the segments were read.
	DeltaLink string
	// Segments is how many segments the read is split into.
	Segments int
	// Then is a work message sent once the job is published; empty for
	// none.
	Then  string
	State string
	// MergeClaimed is when the merge under way claimed the job; a claim
	// older than the merge lease may be taken over.
	MergeClaimed time.Time
	// Published is when the job was published; zero before.
	Published time.Time
	// Note says what the run log should know (sign-in activity refused).
	Note string
	// ETag is the stored version; writes are conditional on it.
	ETag string
}

// SnapSegment is one segment of a SnapJob: a range of user principal names
// and how far its read got.
type SnapSegment struct {
	Job   string
	Index int
	Range UserSegment
	// Chunk is the number of the next chunk to read: chunks 0..Chunk-1 are
	// checkpointed, their users in Parts.
	Chunk int
	// Cursor continues the read at chunk Chunk; empty when Done or before
	// the first chunk.
	Cursor string
	// Parts are the files of chunks 0..Chunk-1, in order.
	Parts []string
	Users int
	Pages int
	Done  bool
	// Restarts counts the reads begun again from the segment's start
	// because the directory no longer accepted the cursor.
	Restarts int
	// Note is the directory's explanation when it refused sign-in activity.
	Note string
	ETag string
}

// SignInPass is a published pass over every user's last sign-in: the file
// holds one line per user, sorted by id.
type SignInPass struct {
	ID string
	// Taken is when the pass started: a sign-in after it may be missing,
	// and a user created after it is not in it.
	Taken time.Time
	File  string
	Users int
	// Available is false when the tenant refused sign-in activity; Note
	// then says why.
	Available bool
	Note      string
}

// SnapJobStore keeps split reads of the directory and the latest sign-in
// pass. Writes with an ETag are conditional on it; a stale ETag is Stale.
type SnapJobStore interface {
	// CreateSnapJob stores a new job with its segments, all or nothing; an
	// existing job with that id is Stale.
	CreateSnapJob(ctx context.Context, job SnapJob, segments []SnapSegment) (SnapJob, error)
	// GetSnapJob returns the job and its segments in order; NotFound if
	// unknown.
	GetSnapJob(ctx context.Context, id string) (SnapJob, []SnapSegment, error)
	// GetSnapSegment returns one segment of job; NotFound if unknown.
	GetSnapSegment(ctx context.Context, job string, index int) (SnapSegment, error)
	// UpdateSnapSegment replaces the segment if its ETag is still seg.ETag
	// and returns it with its new ETag.
	UpdateSnapSegment(ctx context.Context, seg SnapSegment) (SnapSegment, error)
	// UpdateSnapJob replaces the job if its ETag is still job.ETag and
	// returns it with its new ETag.
	UpdateSnapJob(ctx context.Context, job SnapJob) (SnapJob, error)
	// PublishSignInPass makes p the latest pass unless a pass taken later
	// is.
	PublishSignInPass(ctx context.Context, p SignInPass) error
	// LatestSignInPass returns the latest pass; NotFound when none was
	// published.
	LatestSignInPass(ctx context.Context) (SignInPass, error)
}
