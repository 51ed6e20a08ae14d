package storageaccount

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Defaults of Timeouts.
const (
	DefaultTryTimeout       = 10 * time.Second
	DefaultOperationTimeout = 30 * time.Second
)

// Timeouts bound the calls the account's clients make, so that a storage
// service that accepts connections and never answers fails a call as
// unavailable instead of holding it forever.
type Timeouts struct {
	// Try bounds one HTTP attempt while it waits on the service: for the
	// response (a body the SDK reads whole included), and for each read of a
	// streamed body such as a blob download. A try that runs out is retried
	// by the SDK's retry policy. DefaultTryTimeout when zero.
	Try time.Duration
	// Operation bounds one SDK call (one entity write, one page of a
	// listing, one block of an upload), its retries and their back-off
	// included, until the response arrives. Reading a streamed body
	// afterwards is bounded by Try alone, so a long download that keeps
	// moving is not cut off. DefaultOperationTimeout when zero.
	Operation time.Duration
}

// orDefaults fills zero fields with the defaults.
func (t Timeouts) orDefaults() Timeouts {
	if t.Try <= 0 {
		t.Try = DefaultTryTimeout
	}
	if t.Operation <= 0 {
		t.Operation = DefaultOperationTimeout
	}
	return t
}

// WithTimeouts returns a copy of a whose clients apply t.
func (a Account) WithTimeouts(t Timeouts) Account {
	a.timeouts = t
	return a
}

// Timeouts returns what the account's clients apply, defaults filled in.
func (a Account) Timeouts() Timeouts { return a.timeouts.orDefaults() }

// clientOptions are the SDK options every client of the account is built
// with: the operation deadline once per call, the try deadline per attempt.
func (a Account) clientOptions() azcore.ClientOptions {
	t := a.Timeouts()
	return azcore.ClientOptions{
		PerCallPolicies:  []policy.Policy{operationDeadline{d: t.Operation}},
		PerRetryPolicies: []policy.Policy{tryDeadline{d: t.Try}},
	}
}

// TimeoutError is the failure of a storage call that ran out of time. It
// matches context.DeadlineExceeded, so callers translating SDK errors treat
// it as the service being unavailable.
type TimeoutError struct {
	// What says which bound ran out: "try" or "operation".
	What  string
	Limit time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("storage %s did not finish within %s", e.What, e.Limit)
}

// Is makes errors.Is(err, context.DeadlineExceeded) true.
func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// operationDeadline cancels a call that has no response after d, retries
// included.
type operationDeadline struct{ d time.Duration }

func (p operationDeadline) Do(req *policy.Request) (*http.Response, error) {
	parent := req.Raw().Context()
	ctx, cancel := context.WithCancel(parent)
	var fired atomic.Bool
	timer := time.AfterFunc(p.d, func() { fired.Store(true); cancel() })
	resp, err := req.Clone(ctx).Next()
	timer.Stop()
	if err != nil || resp == nil || downloaded(resp) {
		cancel()
		if err != nil && fired.Load() && parent.Err() == nil {
			err = fmt.Errorf("%w: %w", &TimeoutError{What: "operation", Limit: p.d}, err)
		}
		return resp, err
	}
	// A streamed body is read after this returns: the call's context must
	// live until it is closed.
	resp.Body = &closeCancels{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// tryDeadline cancels an attempt that waits on the service for longer than
// d: for its response, or for any one read of a streamed body.
type tryDeadline struct{ d time.Duration }

func (p tryDeadline) Do(req *policy.Request) (*http.Response, error) {
	parent := req.Raw().Context()
	ctx, cancel := context.WithCancel(parent)
	w := &watchdog{d: p.d, cancel: cancel}
	w.timer = time.AfterFunc(p.d, w.fire)
	resp, err := req.Clone(ctx).Next()
	w.timer.Stop()
	if err != nil || resp == nil || downloaded(resp) {
		cancel()
		if err != nil && w.fired.Load() && parent.Err() == nil {
			err = fmt.Errorf("%w: %w", &TimeoutError{What: "try", Limit: p.d}, err)
		}
		return resp, err
	}
	resp.Body = &watchedBody{rc: resp.Body, w: w}
	return resp, nil
}

// watchdog cancels an attempt's context when its timer fires.
type watchdog struct {
	d      time.Duration
	timer  *time.Timer
	fired  atomic.Bool
	cancel context.CancelFunc
}

func (w *watchdog) fire() {
	w.fired.Store(true)
	w.cancel()
}

// watchedBody bounds each Read of a streamed body by the try deadline; the
// time between reads, spent by the reader, does not count.
type watchedBody struct {
	rc io.ReadCloser
	w  *watchdog
}

func (b *watchedBody) Read(p []byte) (int, error) {
	if b.w.fired.Load() {
		return 0, &TimeoutError{What: "try", Limit: b.w.d}
	}
	b.w.timer.Reset(b.w.d)
	n, err := b.rc.Read(p)
	b.w.timer.Stop()
	if err != nil && !errors.Is(err, io.EOF) && b.w.fired.Load() {
		err = fmt.Errorf("%w: %w", &TimeoutError{What: "try", Limit: b.w.d}, err)
	}
	return n, err
}

func (b *watchedBody) Close() error {
	b.w.timer.Stop()
	err := b.rc.Close()
	b.w.cancel()
	return err
}

// closeCancels cancels a call's context when its body is closed.
type closeCancels struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *closeCancels) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// downloaded reports whether the SDK has already read resp's body into
// memory (its reader then also offers Bytes), so nothing is read from the
// network after the pipeline returns.
func downloaded(resp *http.Response) bool {
	if resp.Body == nil || resp.Body == http.NoBody {
		return true
	}
	_, ok := resp.Body.(interface {
		io.ReadSeekCloser
		Bytes() []byte
	})
	return ok
}
