package usage

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// HandleWork runs one piece of the work queue whose kind belongs to usage
// (the Work function hands it over); last is set on the piece's last try
// before the queue gives up on it. Pieces it sends go to Config.Work.
func (s *Service) HandleWork(ctx context.Context, text string, last bool, log *slog.Logger) error {
	return s.handleWork(ctx, s.cfg.Work, text, last, &ReportResult{}, log)
}

// handleWork runs one piece, sending the pieces it makes to q and adding
// what a payroll piece did to res.
func (s *Service) handleWork(ctx context.Context, q licensing.WorkQueue, text string, last bool, res *ReportResult, log *slog.Logger) error {
	const op = "usage.work"
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var head struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal([]byte(text), &head); err != nil {
		return licensing.Wrap(op, licensing.Internal, "The message is not a piece of work.", err)
	}
	switch head.Kind {
	case KindPayrollStart, KindPayrollAgency:
		return s.payrollWork(ctx, q, text, last, res, log)
	case KindSnapshotSegment, KindSignInSegment, KindSnapshotMerge, KindSignInMerge, KindSnapshotCheck, KindSignInCheck:
		return s.snapWork(ctx, q, head.Kind, text, log)
	}
	return licensing.Errorf(op, licensing.Internal, "No usage work of kind %q.", head.Kind)
}

// DrainLocal runs the pieces waiting on q, and those they send, parallel at
// once, in this process: a command-line run or the demo, with q as the
// service's work queue (WithWork). A piece that fails is tried once more,
// its last try.
func (s *Service) DrainLocal(ctx context.Context, q *licensing.LocalQueue, parallel int, log *slog.Logger) error {
	return s.drain(ctx, q, parallel, nil, log)
}

// drain runs q's pieces as DrainLocal does, adding what they did to res
// when not nil.
func (s *Service) drain(ctx context.Context, q *licensing.LocalQueue, parallel int, res *ReportResult, log *slog.Logger) error {
	var (
		mu    sync.Mutex
		tries = map[string]int{}
		waits = map[string]int{}
	)
	return q.Drain(ctx, parallel, func(ctx context.Context, text string) error {
		mu.Lock()
		tries[text]++
		last := tries[text] > 1
		mu.Unlock()
		var part ReportResult
		err := s.handleWork(ctx, q, text, last, &part, log)
		if res != nil {
			mu.Lock()
			res.merge(part)
			mu.Unlock()
		}
		if !errors.Is(err, licensing.ErrInProgress) {
			return err
		}
		// Another piece holds what this one needs (the summary's mail):
		// the piece comes back after a pause without counting a try, as
		// the host shows a failed message again after a while.
		mu.Lock()
		waits[text]++
		wait := waits[text] <= maxWaits
		if wait {
			tries[text]--
		}
		mu.Unlock()
		if !wait {
			return err
		}
		time.Sleep(waitPause)
		return q.Send(ctx, text, waitPause)
	})
}

// A piece of a run in this process that finds its work in another piece's
// hands waits waitPause and comes back, maxWaits times at most.
const (
	waitPause = 50 * time.Millisecond
	maxWaits  = 1200
)

// WithWork returns a Service like s whose pieces of work go to q.
func (s *Service) WithWork(q licensing.WorkQueue) *Service {
	cfg := s.cfg
	cfg.Work = q
	return &Service{cfg: cfg}
}
