package fakes

import (
	"context"
	"sync"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.WorkQueue = (*Work)(nil)

// Work is a work queue in memory: it keeps the messages sent, in order,
// until a test takes them.
type Work struct {
	mu   sync.Mutex
	msgs []string
	// Sent counts every message ever sent.
	Sent int
}

// Send keeps text; the delay is ignored.
func (w *Work) Send(_ context.Context, text string, _ time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
	w.Sent++
	return nil
}

// Take removes and returns the messages waiting, oldest first.
func (w *Work) Take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}
