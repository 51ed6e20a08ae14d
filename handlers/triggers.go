package handlers

import (
	"context"
	"log/slog"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// queueFunc handles one queue message. It returns the output binding values
// to send (nil for none) and an error when the message was not handled.
type queueFunc func(ctx context.Context, msg *QueueMessage, log *slog.Logger) (map[string]any, error)

// queueFunction adapts a queueFunc to the invocation protocol with the
// queue policy of the app:
//   - success: 200, the host deletes the message and applies the outputs;
//   - a retryable error (licensing.Retryable: unavailable, internal, stale):
//     non-2xx, so the host delivers the message again and, after
//     maxDequeueCount deliveries, moves it to <queue>-poison;
//   - a permanent error (invalid input, not found, forbidden): 200 without
//     outputs, because delivering it again cannot help; the function has
//     recorded the failure where people will see it.
//
// A message that cannot even be decoded is retried like a transient
// failure: it ends in the poison queue, where it is kept for inspection.
func queueFunction(binding string, fn queueFunc) function {
	return func(ctx context.Context, inv *Invocation, log *slog.Logger) (map[string]any, error) {
		msg, err := inv.QueueMessage(binding)
		if err != nil {
			return nil, licensing.Wrap("handlers.queue", licensing.Internal, "The queue message could not be read.", err)
		}
		log.Info("message received", "id", msg.ID, "dequeueCount", msg.DequeueCount)
		outputs, err := fn(ctx, msg, log)
		switch {
		case err == nil:
			return outputs, nil
		case licensing.Retryable(err):
			log.Warn("will be retried", "dequeueCount", msg.DequeueCount, "error", err)
			return nil, err
		default:
			log.Error("gave up on the message: retrying cannot help", "code", licensing.ErrorCode(err), "error", err)
			return map[string]any{}, nil
		}
	}
}

// timerFunc runs one scheduled job.
type timerFunc func(ctx context.Context, t *TimerInfo, log *slog.Logger) error

// timerFunction adapts a timerFunc: any error fails the invocation so that
// the portal shows the run as failed.
func timerFunction(binding string, fn timerFunc) function {
	return func(ctx context.Context, inv *Invocation, log *slog.Logger) (map[string]any, error) {
		t, err := inv.Timer(binding)
		if err != nil {
			return nil, licensing.Wrap("handlers.timer", licensing.Internal, "The timer information could not be read.", err)
		}
		if t.IsPastDue {
			log.Info("timer is past due: running the missed schedule now")
		}
		if err := fn(ctx, t, log); err != nil {
			return nil, err
		}
		return map[string]any{}, nil
	}
}
