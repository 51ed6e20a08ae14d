package licensing

import (
	"context"
	"sync"
	"time"
)

// LocalQueue is a WorkQueue inside one process, for a run an administrator
// starts from the command line and for tests: messages wait in memory, in
// the order sent, until Drain hands them to a handler. Delays are ignored.
type LocalQueue struct {
	mu   sync.Mutex
	msgs []string
	sent int
}

var _ WorkQueue = (*LocalQueue)(nil)

// Send keeps text for Drain.
func (q *LocalQueue) Send(_ context.Context, text string, _ time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = append(q.msgs, text)
	q.sent++
	return nil
}

// Sent counts every message ever sent.
func (q *LocalQueue) Sent() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.sent
}

// Take removes and returns the messages waiting, oldest first.
func (q *LocalQueue) Take() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.msgs
	q.msgs = nil
	return out
}

// Drain hands every waiting message, and every message sent while it runs,
// to handle, up to parallel at once (at least one), until none is left. A
// message whose handler fails is handed over once more, as the host retries
// a failed invocation; Drain returns the first error of a second failure
// once the queue is empty.
func (q *LocalQueue) Drain(ctx context.Context, parallel int, handle func(ctx context.Context, text string) error) error {
	if parallel < 1 {
		parallel = 1
	}
	var (
		mu       sync.Mutex
		firstErr error
	)
	for {
		batch := q.Take()
		if len(batch) == 0 {
			return firstErr
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		sem := make(chan struct{}, parallel)
		var wg sync.WaitGroup
		for _, text := range batch {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				err := handle(ctx, text)
				if err != nil {
					err = handle(ctx, text)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
}
