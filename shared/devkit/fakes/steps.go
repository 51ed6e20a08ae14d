package fakes

import (
	"context"
	"sync"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.StepQueue = (*Steps)(nil)

// Steps is a step queue that records the steps queued for later, and the
// delay of each, without running them.
type Steps struct {
	mu     sync.Mutex
	Queued []licensing.Step
	After  []time.Duration
}

// EnqueueStep records s and its delay.
func (d *Steps) EnqueueStep(_ context.Context, s licensing.Step, after time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Queued, d.After = append(d.Queued, s), append(d.After, after)
	return nil
}

// TakeReady removes and returns the steps queued without a delay, in order;
// the delayed ones stay.
func (d *Steps) TakeReady() []licensing.Step {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ready, queued []licensing.Step
	var after []time.Duration
	for i, s := range d.Queued {
		if d.After[i] == 0 {
			ready = append(ready, s)
			continue
		}
		queued, after = append(queued, s), append(after, d.After[i])
	}
	d.Queued, d.After = queued, after
	return ready
}
