package licensing

import (
	"context"
	"log/slog"
	"sort"
	"time"
)

// Run outcomes.
const (
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	RunSkipped   = "skipped"
)

// Run is the record of one execution of a job (a timer or queue function, or
// a command-line run): when it started and ended, how it ended, and what it
// counted. Admins see them through GET /api/runs.
type Run struct {
	ID       string         `json:"id"`
	Function string         `json:"function"`
	Trigger  string         `json:"trigger"`
	Started  time.Time      `json:"started"`
	Ended    *time.Time     `json:"ended,omitempty"`
	Outcome  string         `json:"outcome"`
	Message  string         `json:"message,omitempty"`
	Counts   map[string]int `json:"counts"`
}

// Duration is how long the run took, or has taken so far.
func (r Run) Duration(now time.Time) time.Duration {
	if r.Ended != nil {
		return r.Ended.Sub(r.Started)
	}
	return now.Sub(r.Started)
}

// RunRecorder tracks one run while it is under way. It writes the record when
// the run starts (so a crash leaves a visible "running" record) and again when
// it finishes.
type RunRecorder struct {
	runs *Runs
	run  Run
	log  *slog.Logger
}

// Runs keeps the records of job runs.
type Runs struct {
	store RunStore
	auth  *Authorizer
	now   func() time.Time
	newID func() string
}

// NewRuns returns Runs writing to store; auth decides who may list them.
// now and newID default to the clock and RandomID.
func NewRuns(store RunStore, auth *Authorizer, now func() time.Time, newID func() string) *Runs {
	if now == nil {
		now = time.Now
	}
	if newID == nil {
		newID = RandomID
	}
	return &Runs{store: store, auth: auth, now: now, newID: newID}
}

// Start records that function has started, triggered by trigger (timer,
// queue, cli, demo). A failure to write the record is logged, not returned:
// bookkeeping must not stop the job itself.
func (s *Runs) Start(ctx context.Context, function, trigger string, log *slog.Logger) *RunRecorder {
	rr := &RunRecorder{runs: s, log: log, run: Run{
		ID:       s.newID(),
		Function: function,
		Trigger:  trigger,
		Started:  s.now().UTC(),
		Outcome:  RunRunning,
		Counts:   map[string]int{},
	}}
	rr.save(ctx)
	return rr
}

// ID is the run's id.
func (rr *RunRecorder) ID() string { return rr.run.ID }

// Add adds n to the count called name.
func (rr *RunRecorder) Add(name string, n int) { rr.run.Counts[name] += n }

// Finish records the outcome: failed with err's message when err is not nil,
// else skipped when skipped is set, else succeeded. It returns the record.
func (rr *RunRecorder) Finish(ctx context.Context, err error, skipped bool, message string) Run {
	end := rr.runs.now().UTC()
	rr.run.Ended = &end
	rr.run.Message = message
	switch {
	case err != nil:
		rr.run.Outcome = RunFailed
		rr.run.Message = ErrorMessage(err)
	case skipped:
		rr.run.Outcome = RunSkipped
	default:
		rr.run.Outcome = RunSucceeded
	}
	rr.save(ctx)
	return rr.run
}

func (rr *RunRecorder) save(ctx context.Context) {
	if err := rr.runs.store.PutRun(ctx, rr.run); err != nil && rr.log != nil {
		rr.log.Warn("could not write the run record", "run", rr.run.ID, "function", rr.run.Function, "error", err)
	}
}

// Maximum and default number of runs one listing returns.
const (
	maxRunsListed     = 500
	defaultRunsListed = 50
)

// List returns recent runs, newest first. Admins only.
func (s *Runs) List(ctx context.Context, caller *Principal, f RunFilter) ([]Run, error) {
	const op = "runs.list"
	if _, err := s.auth.RequireAdmin(ctx, op, caller); err != nil {
		return nil, err
	}
	if f.Limit < 0 {
		return nil, &Error{Op: op, Code: Invalid, Message: "The listing has a problem; see fields.", Fields: []FieldError{{Field: "limit", Message: "must be a positive whole number"}}}
	}
	if f.Limit == 0 {
		f.Limit = defaultRunsListed
	}
	if f.Limit > maxRunsListed {
		f.Limit = maxRunsListed
	}
	runs, err := s.store.ListRuns(ctx, f)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Started.After(runs[j].Started) })
	return runs, nil
}
