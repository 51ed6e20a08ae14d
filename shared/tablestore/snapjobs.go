package tablestore

// Split directory reads: table {prefix}SnapshotJobs. PartitionKey = job
// id, RowKey "job" (the job) and "seg-{index, 3 digits}" (one segment),
// each a JSON payload of this file's types under "Data" with a Schema
// number; the job and its segments are created in one transaction.
// PartitionKey "signin", RowKey "latest": the latest sign-in pass.

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.SnapJobStore = (*Store)(nil)

const (
	// snapJobsTable is the split reads table's name suffix.
	snapJobsTable = "SnapshotJobs"
	jobRow        = "job"
	passPartition = "signin"
	passRow       = "latest"
	// maxSegments is how many segments one transaction creates with their
	// job (a transaction holds 100 entities).
	maxSegments = MaxBatch - 1
)

func (s *Store) snapJobTable() *aztables.Client { return s.provisioningTable(snapJobsTable) }

func segmentRow(i int) string { return fmt.Sprintf("seg-%03d", i) }

type snapJobPayload struct {
	Kind         string    `json:"kind"`
	Started      time.Time `json:"started"`
	DeltaLink    string    `json:"deltaLink,omitempty"`
	Segments     int       `json:"segments"`
	Then         string    `json:"then,omitempty"`
	State        string    `json:"state"`
	MergeClaimed time.Time `json:"mergeClaimed,omitzero"`
	Published    time.Time `json:"published,omitzero"`
	Note         string    `json:"note,omitempty"`
}

type snapSegmentPayload struct {
	From     string   `json:"from,omitempty"`
	To       string   `json:"to,omitempty"`
	Chunk    int      `json:"chunk"`
	Cursor   string   `json:"cursor,omitempty"`
	Parts    []string `json:"parts,omitempty"`
	Users    int      `json:"users"`
	Pages    int      `json:"pages"`
	Done     bool     `json:"done,omitempty"`
	Restarts int      `json:"restarts,omitempty"`
	Note     string   `json:"note,omitempty"`
}

type signInPassPayload struct {
	ID        string    `json:"id"`
	Taken     time.Time `json:"taken"`
	File      string    `json:"file"`
	Users     int       `json:"users"`
	Available bool      `json:"available"`
	Note      string    `json:"note,omitempty"`
}

// dataEntity returns the row pk/rk holding v as JSON.
func dataEntity(op, pk, rk string, v any) ([]byte, error) {
	props := map[string]any{"PartitionKey": pk, "RowKey": rk}
	setLong(props, "Data", plainJSON(v))
	setSchema(props)
	b, err := json.Marshal(props)
	if err != nil {
		return nil, internal(op, err)
	}
	return b, nil
}

// readData decodes the row raw's payload into v and returns its ETag.
func readData(op, what string, raw []byte, v any) (string, error) {
	props, err := decodeEntity(raw)
	if err != nil {
		return "", internal(op, err)
	}
	if err := checkSchema(props, what); err != nil {
		return "", internal(op, err)
	}
	if err := json.Unmarshal([]byte(getLong(props, "Data")), v); err != nil {
		return "", internal(op, err)
	}
	return etagOf(props), nil
}

func jobPayloadOf(j licensing.SnapJob) snapJobPayload {
	return snapJobPayload{Kind: j.Kind, Started: j.Started, DeltaLink: j.DeltaLink, Segments: j.Segments, Then: j.Then,
		State: j.State, MergeClaimed: j.MergeClaimed, Published: j.Published, Note: j.Note}
}

func (p snapJobPayload) job(id, etag string) licensing.SnapJob {
	return licensing.SnapJob{ID: id, Kind: p.Kind, Started: p.Started, DeltaLink: p.DeltaLink, Segments: p.Segments, Then: p.Then,
		State: p.State, MergeClaimed: p.MergeClaimed, Published: p.Published, Note: p.Note, ETag: etag}
}

func segmentPayloadOf(g licensing.SnapSegment) snapSegmentPayload {
	return snapSegmentPayload{From: g.Range.From, To: g.Range.To, Chunk: g.Chunk, Cursor: g.Cursor, Parts: g.Parts,
		Users: g.Users, Pages: g.Pages, Done: g.Done, Restarts: g.Restarts, Note: g.Note}
}

func (p snapSegmentPayload) segment(job string, index int, etag string) licensing.SnapSegment {
	return licensing.SnapSegment{Job: job, Index: index, Range: licensing.UserSegment{From: p.From, To: p.To}, Chunk: p.Chunk,
		Cursor: p.Cursor, Parts: p.Parts, Users: p.Users, Pages: p.Pages, Done: p.Done, Restarts: p.Restarts, Note: p.Note, ETag: etag}
}

// CreateSnapJob adds the job and its segments in one transaction; an
// existing job is Stale.
func (s *Store) CreateSnapJob(ctx context.Context, job licensing.SnapJob, segments []licensing.SnapSegment) (licensing.SnapJob, error) {
	const op = "tablestore.createSnapJob"
	if err := checkKey(op, "The job id", job.ID); err != nil {
		return licensing.SnapJob{}, err
	}
	if len(segments) > maxSegments {
		return licensing.SnapJob{}, licensing.Errorf(op, licensing.Invalid, "A job has at most %d segments, not %d.", maxSegments, len(segments))
	}
	b, err := dataEntity(op, job.ID, jobRow, jobPayloadOf(job))
	if err != nil {
		return licensing.SnapJob{}, err
	}
	actions := []aztables.TransactionAction{{ActionType: aztables.TransactionTypeAdd, Entity: b}}
	for i, g := range segments {
		b, err := dataEntity(op, job.ID, segmentRow(i), segmentPayloadOf(g))
		if err != nil {
			return licensing.SnapJob{}, err
		}
		actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: b})
	}
	what := "job " + job.ID
	if err := Transact(ctx, s.snapJobTable(), op, what, actions); err != nil {
		if licensing.ErrorCode(err) == licensing.Conflict {
			return licensing.SnapJob{}, stale(op, what, err)
		}
		return licensing.SnapJob{}, err
	}
	got, _, err := s.GetSnapJob(ctx, job.ID)
	return got, err
}

// GetSnapJob returns the job and its segments in order, or NotFound.
func (s *Store) GetSnapJob(ctx context.Context, id string) (licensing.SnapJob, []licensing.SnapSegment, error) {
	const op = "tablestore.getSnapJob"
	what := "job " + id
	if err := checkKey(op, "The job id", id); err != nil {
		return licensing.SnapJob{}, nil, licensing.Errorf(op, licensing.NotFound, "There is no job %q.", id)
	}
	var (
		job   licensing.SnapJob
		found bool
		segs  []licensing.SnapSegment
	)
	err := eachEntity(ctx, s.snapJobTable(), "PartitionKey eq "+quote(id), op, what, func(raw []byte) error {
		props, err := decodeEntity(raw)
		if err != nil {
			return internal(op, err)
		}
		rk := getString(props, "RowKey")
		if rk == jobRow {
			var p snapJobPayload
			etag, err := readData(op, what, raw, &p)
			job, found = p.job(id, etag), true
			return err
		}
		var i int
		if _, err := fmt.Sscanf(rk, "seg-%d", &i); err != nil {
			return nil
		}
		var p snapSegmentPayload
		etag, err := readData(op, what, raw, &p)
		segs = append(segs, p.segment(id, i, etag))
		return err
	})
	if err != nil {
		return licensing.SnapJob{}, nil, err
	}
	if !found {
		return licensing.SnapJob{}, nil, licensing.Errorf(op, licensing.NotFound, "There is no job %q.", id)
	}
	// RowKeys sort seg-000, seg-001, ...: segs are in order.
	return job, segs, nil
}

// GetSnapSegment returns segment index of job, or NotFound.
func (s *Store) GetSnapSegment(ctx context.Context, job string, index int) (licensing.SnapSegment, error) {
	const op = "tablestore.getSnapSegment"
	what := fmt.Sprintf("segment %d of job %s", index, job)
	if err := checkKey(op, "The job id", job); err != nil || index < 0 || index > maxSegments {
		return licensing.SnapSegment{}, licensing.Errorf(op, licensing.NotFound, "There is no %s.", what)
	}
	resp, err := s.snapJobTable().GetEntity(ctx, job, segmentRow(index), nil)
	if err != nil {
		return licensing.SnapSegment{}, azerr.Translate(op, what, err)
	}
	var p snapSegmentPayload
	if _, err := readData(op, what, resp.Value, &p); err != nil {
		return licensing.SnapSegment{}, err
	}
	return p.segment(job, index, string(resp.ETag)), nil
}

// UpdateSnapSegment replaces the segment on its ETag; Stale when it changed.
func (s *Store) UpdateSnapSegment(ctx context.Context, seg licensing.SnapSegment) (licensing.SnapSegment, error) {
	const op = "tablestore.updateSnapSegment"
	what := fmt.Sprintf("segment %d of job %s", seg.Index, seg.Job)
	if err := checkKey(op, "The job id", seg.Job); err != nil {
		return licensing.SnapSegment{}, err
	}
	b, err := dataEntity(op, seg.Job, segmentRow(seg.Index), segmentPayloadOf(seg))
	if err != nil {
		return licensing.SnapSegment{}, err
	}
	etag, err := putRow(ctx, s.snapJobTable(), op, what, b, licensing.Precondition{IfMatch: ifMatch(seg.ETag)})
	if err != nil {
		return licensing.SnapSegment{}, err
	}
	seg.ETag = etag
	return seg, nil
}

// UpdateSnapJob replaces the job on its ETag; Stale when it changed.
func (s *Store) UpdateSnapJob(ctx context.Context, job licensing.SnapJob) (licensing.SnapJob, error) {
	const op = "tablestore.updateSnapJob"
	what := "job " + job.ID
	if err := checkKey(op, "The job id", job.ID); err != nil {
		return licensing.SnapJob{}, err
	}
	b, err := dataEntity(op, job.ID, jobRow, jobPayloadOf(job))
	if err != nil {
		return licensing.SnapJob{}, err
	}
	etag, err := putRow(ctx, s.snapJobTable(), op, what, b, licensing.Precondition{IfMatch: ifMatch(job.ETag)})
	if err != nil {
		return licensing.SnapJob{}, err
	}
	job.ETag = etag
	return job, nil
}

// ifMatch is etag, or a value no row carries when etag is empty (an
// unconditional write is never meant here).
func ifMatch(etag string) string {
	if etag == "" {
		return "none"
	}
	return etag
}

// PublishSignInPass replaces the latest pass with p unless the stored one
// was taken later, conditionally on what it read.
func (s *Store) PublishSignInPass(ctx context.Context, p licensing.SignInPass) error {
	const op = "tablestore.publishSignInPass"
	b, err := dataEntity(op, passPartition, passRow, signInPassPayload(p))
	if err != nil {
		return err
	}
	for attempt := 0; attempt < 5; attempt++ {
		cur, etag, err := s.latestPass(ctx, op)
		pre := licensing.Precondition{IfMatch: etag}
		switch licensing.ErrorCode(err) {
		case licensing.NotFound:
			pre = licensing.Precondition{IfNoneMatch: true}
		case "":
			if cur.Taken.After(p.Taken) {
				return nil
			}
		default:
			return err
		}
		_, err = putRow(ctx, s.snapJobTable(), op, "the latest sign-in pass", b, pre)
		if licensing.ErrorCode(err) != licensing.Stale {
			return err
		}
	}
	return licensing.Errorf(op, licensing.Stale, "Another run kept replacing the latest sign-in pass; try again.")
}

// LatestSignInPass returns the latest pass, or NotFound.
func (s *Store) LatestSignInPass(ctx context.Context) (licensing.SignInPass, error) {
	p, _, err := s.latestPass(ctx, "tablestore.latestSignInPass")
	return p, err
}

func (s *Store) latestPass(ctx context.Context, op string) (licensing.SignInPass, string, error) {
	resp, err := s.snapJobTable().GetEntity(ctx, passPartition, passRow, nil)
	if err != nil {
		if azerr.Classify(err) == licensing.NotFound {
			return licensing.SignInPass{}, "", licensing.Errorf(op, licensing.NotFound, "No sign-in pass has been published yet.")
		}
		return licensing.SignInPass{}, "", azerr.Translate(op, "the latest sign-in pass", err)
	}
	var p signInPassPayload
	if _, err := readData(op, "the latest sign-in pass", resp.Value, &p); err != nil {
		return licensing.SignInPass{}, "", err
	}
	return licensing.SignInPass(p), string(resp.ETag), nil
}
