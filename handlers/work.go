package handlers

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// maxDequeueCount is host.json's extensions.queues.maxDequeueCount: the
// delivery of a message after which the host moves it to the poison queue
// if it fails once more.
const maxDequeueCount = 5

// WorkPiece is one message of the work queue as a workflow receives it.
type WorkPiece struct {
	// Kind is the message's "kind" field, such as "snapshot.segment".
	Kind string
	// Text is the whole message.
	Text string
	// Attempt counts the deliveries of the message, 1 for the first.
	Attempt int
	// Last is set on the last delivery before the host gives up on the
	// message: a workflow that must account for every piece (a fan-in
	// count) records the failure then, instead of waiting for ever.
	Last bool
}

// workFunc handles one piece of split work.
type workFunc func(ctx context.Context, p WorkPiece, log *slog.Logger) error

// registerWork routes the work messages whose kind is prefix or starts
// with prefix and a dot to fn.
func (s *Server) registerWork(prefix string, fn workFunc) {
	if s.workKinds == nil {
		s.workKinds = map[string]workFunc{}
	}
	s.workKinds[prefix] = fn
}

// work runs one message of the work queue: the piece's kind picks the
// workflow. A message that is not a piece of work is retried like any
// unreadable message and so ends in the poison queue for inspection.
func (s *Server) work(ctx context.Context, msg *QueueMessage, log *slog.Logger) (map[string]any, error) {
	const op = "handlers.work"
	var head struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal([]byte(msg.Text), &head); err != nil || head.Kind == "" {
		return nil, licensing.Wrap(op, licensing.Internal, "The message is not a piece of work: it has no kind.", err)
	}
	prefix, _, _ := strings.Cut(head.Kind, ".")
	fn := s.workKinds[prefix]
	if fn == nil {
		return nil, licensing.Errorf(op, licensing.Internal, "No workflow handles work of kind %q.", head.Kind)
	}
	log = log.With("kind", head.Kind)
	attempt := max(msg.DequeueCount, 1)
	return nil, fn(ctx, WorkPiece{Kind: head.Kind, Text: msg.Text, Attempt: attempt, Last: attempt >= maxDequeueCount}, log)
}
