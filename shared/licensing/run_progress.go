package licensing

import (
	"context"
	"log/slog"
	"maps"
)

// Resume returns the recorder of a run recorded earlier (its ID, Function,
// Trigger and Started as Start wrote them), so that a run split into pieces
// records its progress and its end from whichever invocation gets there.
func (s *Runs) Resume(r Run, log *slog.Logger) *RunRecorder {
	r.Counts = maps.Clone(r.Counts)
	if r.Counts == nil {
		r.Counts = map[string]int{}
	}
	return &RunRecorder{runs: s, log: log, run: r}
}

// Run returns the record as it stands.
func (rr *RunRecorder) Run() Run {
	r := rr.run
	r.Counts = maps.Clone(r.Counts)
	return r
}

// Set sets the count called name to n.
func (rr *RunRecorder) Set(name string, n int) { rr.run.Counts[name] = n }

// Progress records that the run is still under way, with message saying how
// far it got. Like Start, a failure to write is logged, not returned.
func (rr *RunRecorder) Progress(ctx context.Context, message string) {
	rr.run.Outcome, rr.run.Ended, rr.run.Message = RunRunning, nil, message
	rr.save(ctx)
}
