package memstore

import (
	"context"
	"slices"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.SnapJobStore = (*Store)(nil)

// snapJobState holds the split reads by id and the latest sign-in pass.
type snapJobState struct {
	jobs     map[string]licensing.SnapJob
	segments map[string][]licensing.SnapSegment
	pass     *licensing.SignInPass
}

// jobState returns the state, made on first use; s.mu is held.
func (s *Store) jobState() *snapJobState {
	if s.snapJobs == nil {
		s.snapJobs = &snapJobState{jobs: map[string]licensing.SnapJob{}, segments: map[string][]licensing.SnapSegment{}}
	}
	return s.snapJobs
}

func copySegment(g licensing.SnapSegment) licensing.SnapSegment {
	g.Parts = slices.Clone(g.Parts)
	return g
}

// CreateSnapJob stores job and its segments; an existing job is Stale.
func (s *Store) CreateSnapJob(ctx context.Context, job licensing.SnapJob, segments []licensing.SnapSegment) (licensing.SnapJob, error) {
	const op = "memstore.createSnapJob"
	if err := ctx.Err(); err != nil {
		return licensing.SnapJob{}, unavailable(op, err)
	}
	if badKey(job.ID) {
		return licensing.SnapJob{}, licensing.Errorf(op, licensing.Invalid, "The job id %q cannot be a key.", job.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.jobState()
	if _, ok := st.jobs[job.ID]; ok {
		return licensing.SnapJob{}, licensing.Errorf(op, licensing.Stale, "Job %s exists already.", job.ID)
	}
	job.ETag = s.nextETag()
	st.jobs[job.ID] = job
	list := make([]licensing.SnapSegment, len(segments))
	for i, g := range segments {
		g.Job, g.Index, g.ETag = job.ID, i, s.nextETag()
		list[i] = copySegment(g)
	}
	st.segments[job.ID] = list
	return job, nil
}

// GetSnapJob returns job id and its segments, or NotFound.
func (s *Store) GetSnapJob(ctx context.Context, id string) (licensing.SnapJob, []licensing.SnapSegment, error) {
	const op = "memstore.getSnapJob"
	if err := ctx.Err(); err != nil {
		return licensing.SnapJob{}, nil, unavailable(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.jobState()
	job, ok := st.jobs[id]
	if !ok {
		return licensing.SnapJob{}, nil, licensing.Errorf(op, licensing.NotFound, "There is no job %q.", id)
	}
	out := make([]licensing.SnapSegment, len(st.segments[id]))
	for i, g := range st.segments[id] {
		out[i] = copySegment(g)
	}
	return job, out, nil
}

// GetSnapSegment returns segment index of job, or NotFound.
func (s *Store) GetSnapSegment(ctx context.Context, job string, index int) (licensing.SnapSegment, error) {
	const op = "memstore.getSnapSegment"
	if err := ctx.Err(); err != nil {
		return licensing.SnapSegment{}, unavailable(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.jobState().segments[job]
	if index < 0 || index >= len(list) {
		return licensing.SnapSegment{}, licensing.Errorf(op, licensing.NotFound, "Job %q has no segment %d.", job, index)
	}
	return copySegment(list[index]), nil
}

// UpdateSnapSegment replaces the segment if its ETag matches, else Stale.
func (s *Store) UpdateSnapSegment(ctx context.Context, seg licensing.SnapSegment) (licensing.SnapSegment, error) {
	const op = "memstore.updateSnapSegment"
	if err := ctx.Err(); err != nil {
		return licensing.SnapSegment{}, unavailable(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.jobState().segments[seg.Job]
	if seg.Index < 0 || seg.Index >= len(list) || list[seg.Index].ETag != seg.ETag {
		return licensing.SnapSegment{}, licensing.Errorf(op, licensing.Stale, "Segment %d of job %s changed since it was read.", seg.Index, seg.Job)
	}
	seg.ETag = s.nextETag()
	list[seg.Index] = copySegment(seg)
	return seg, nil
}

// UpdateSnapJob replaces the job if its ETag matches, else Stale.
func (s *Store) UpdateSnapJob(ctx context.Context, job licensing.SnapJob) (licensing.SnapJob, error) {
	const op = "memstore.updateSnapJob"
	if err := ctx.Err(); err != nil {
		return licensing.SnapJob{}, unavailable(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.jobState()
	cur, ok := st.jobs[job.ID]
	if !ok || cur.ETag != job.ETag {
		return licensing.SnapJob{}, licensing.Errorf(op, licensing.Stale, "Job %s changed since it was read.", job.ID)
	}
	job.ETag = s.nextETag()
	st.jobs[job.ID] = job
	return job, nil
}

// PublishSignInPass makes p the latest pass unless a later one is.
func (s *Store) PublishSignInPass(ctx context.Context, p licensing.SignInPass) error {
	if err := ctx.Err(); err != nil {
		return unavailable("memstore.publishSignInPass", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.jobState()
	if st.pass == nil || !st.pass.Taken.After(p.Taken) {
		st.pass = &p
	}
	return nil
}

// LatestSignInPass returns the latest pass, or NotFound.
func (s *Store) LatestSignInPass(ctx context.Context) (licensing.SignInPass, error) {
	const op = "memstore.latestSignInPass"
	if err := ctx.Err(); err != nil {
		return licensing.SignInPass{}, unavailable(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.jobState().pass; p != nil {
		return *p, nil
	}
	return licensing.SignInPass{}, licensing.Errorf(op, licensing.NotFound, "No sign-in pass has been published yet.")
}
