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

// Inbox receives the messages of one queue; it implements licensing.Inbox.
type Inbox struct {
	c     *Client
	queue string
	// lease is how long a received message stays hidden while handled.
	lease time.Duration
}

var _ licensing.Inbox = (*Inbox)(nil)

// Inbox returns a receiver of the messages of queue.
func (c *Client) Inbox(queue string) *Inbox {
	return &Inbox{c: c, queue: queue, lease: 5 * time.Minute}
}

// Receive receives up to n messages.
func (d *Inbox) Receive(ctx context.Context, n int) ([]licensing.QueuedMessage, error) {
	msgs, err := d.c.Receive(ctx, d.queue, n, d.lease)
	if err != nil {
		return nil, err
	}
	out := make([]licensing.QueuedMessage, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, licensing.QueuedMessage{ID: m.ID, Receipt: m.PopReceipt, Text: m.Text})
	}
	return out, nil
}

// Done deletes a handled message.
func (d *Inbox) Done(ctx context.Context, l licensing.QueuedMessage) error {
	return d.c.Delete(ctx, d.queue, l.ID, l.Receipt)
}

// WorkQueue sends work messages to one queue; it implements
// licensing.WorkQueue.
type WorkQueue struct {
	c     *Client
	queue string
}

var _ licensing.WorkQueue = (*WorkQueue)(nil)

// Work returns a WorkQueue on queue.
func (c *Client) Work(queue string) *WorkQueue { return &WorkQueue{c: c, queue: queue} }

// Send puts text on the queue, visible after after.
func (q *WorkQueue) Send(ctx context.Context, text string, after time.Duration) error {
	return q.c.Enqueue(ctx, q.queue, text, after)
}
