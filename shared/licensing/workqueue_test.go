package licensing

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
)

func TestLocalQueueDrainsFollowUps(t *testing.T) {
	var q LocalQueue
	ctx := context.Background()
	_ = q.Send(ctx, "3", 0)
	var handled atomic.Int64
	err := q.Drain(ctx, 4, func(ctx context.Context, text string) error {
		handled.Add(1)
		var n int
		fmt.Sscan(text, &n)
		if n > 0 {
			return q.Send(ctx, fmt.Sprint(n-1), 0)
		}
		return nil
	})
	if err != nil || handled.Load() != 4 || q.Sent() != 4 {
		t.Fatalf("err %v, handled %d, sent %d; want nil, 4, 4", err, handled.Load(), q.Sent())
	}
}

func TestLocalQueueRetriesOnce(t *testing.T) {
	var q LocalQueue
	ctx := context.Background()
	_ = q.Send(ctx, "flaky", 0)
	_ = q.Send(ctx, "broken", 0)
	var flaky atomic.Int64
	broken := errors.New("broken")
	err := q.Drain(ctx, 1, func(_ context.Context, text string) error {
		if text == "broken" {
			return broken
		}
		if flaky.Add(1) == 1 {
			return errors.New("first attempt")
		}
		return nil
	})
	if !errors.Is(err, broken) || flaky.Load() != 2 {
		t.Fatalf("err %v, flaky attempts %d; want broken, 2", err, flaky.Load())
	}
}
