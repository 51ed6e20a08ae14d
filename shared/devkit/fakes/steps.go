package fakes

import (
	"context"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.StepQueue = (*Steps)(nil)

// Steps is a step queue that records the steps queued for later, and the
// delay of each, without running them.
type Steps struct {
	Queued []licensing.Step
	After  []time.Duration
}

// EnqueueStep records s and its delay.
func (d *Steps) EnqueueStep(_ context.Context, s licensing.Step, after time.Duration) error {
	d.Queued, d.After = append(d.Queued, s), append(d.After, after)
	return nil
}
