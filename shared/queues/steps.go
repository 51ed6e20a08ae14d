package queues

import (
	"context"
	"encoding/json"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// StepQueue sends workflow steps to a queue with a delay; it implements
// licensing.StepQueue.
type StepQueue struct {
	c     *Client
	queue string
}

var _ licensing.StepQueue = (*StepQueue)(nil)

// Steps returns a StepQueue on queue.
func (c *Client) Steps(queue string) *StepQueue { return &StepQueue{c: c, queue: queue} }

// EnqueueStep sends s, visible after after.
func (q *StepQueue) EnqueueStep(ctx context.Context, s licensing.Step, after time.Duration) error {
	b, err := json.Marshal(s)
	if err != nil {
		return licensing.Wrap("queues.enqueueStep", licensing.Internal, "", err)
	}
	return q.c.Enqueue(ctx, q.queue, string(b), after)
}

// DeadLetters reads a poison queue; it implements licensing.DeadLetters.
type DeadLetters struct {
	c     *Client
	queue string
	// lease is how long a received message stays hidden while handled.
	lease time.Duration
}

var _ licensing.DeadLetters = (*DeadLetters)(nil)

// DeadLetters returns a reader of the poison queue queue.
func (c *Client) DeadLetters(queue string) *DeadLetters {
	return &DeadLetters{c: c, queue: queue, lease: 5 * time.Minute}
}

// Dead receives up to n poisoned messages.
func (d *DeadLetters) Dead(ctx context.Context, n int) ([]licensing.DeadLetter, error) {
	msgs, err := d.c.Receive(ctx, d.queue, n, d.lease)
	if err != nil {
		return nil, err
	}
	out := make([]licensing.DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, licensing.DeadLetter{ID: m.ID, Receipt: m.PopReceipt, Text: m.Text})
	}
	return out, nil
}

// Done deletes a handled message.
func (d *DeadLetters) Done(ctx context.Context, l licensing.DeadLetter) error {
	return d.c.Delete(ctx, d.queue, l.ID, l.Receipt)
}
