package graph

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// budget is the throttling wait one request may still spend, shared by the
// SDK's retry handler and this package's own retries.
type budget struct {
	mu    sync.Mutex
	max   time.Duration
	spent time.Duration
	// last is the Retry-After (or backoff) that did not fit, for the error.
	last time.Duration
}

// take reserves d of the budget, reporting false when it does not fit.
func (b *budget) take(d time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.spent+d > b.max {
		b.last = d
		return false
	}
	b.spent += d
	return true
}

func (b *budget) waited() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.spent
}

type budgetKey struct{}

// sdkShouldRetry lets the SDK's retry handler retry a 429, 503 or 504 only
// when the response says how long to wait (Retry-After) and that wait fits in
// the request's budget. Without Retry-After the SDK would back off 3, 6 and 12
// seconds whatever the budget; those are left to call's own backoff.
func sdkShouldRetry(_ time.Duration, _ int, req *http.Request, resp *http.Response) bool {
	b, ok := req.Context().Value(budgetKey{}).(*budget)
	if !ok {
		return false
	}
	d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now())
	if !ok {
		return false
	}
	// The SDK waits whole seconds: it truncates fractions.
	return b.take(d.Truncate(time.Second))
}

// retryAfter parses a Retry-After value: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 {
			secs = 0
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// call runs one Graph request (fn) with the retry policy: fn gets a context
// carrying a fresh budget; when it fails with throttling, an unavailable
// service or a network error, call waits for Retry-After or a backoff while
// the budget lasts and runs fn again. Any other error is returned at once. The
// error returned is untranslated; errThrottled wraps the last failure when
// the budget ran out.
func (c *Client) call(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	return c.retrying(ctx, what, func(status int, _ string, err error) bool { return transient(status, err) }, fn)
}

// act runs a request that acts on the tenant (sends a mail): it is retried
// only when the service said it did not act (429, or 503 with Retry-After)
// or the connection was never made. Any other failure once the request may
// have reached the service is returned as Ambiguous: sending it again could
// act twice, so the caller records the outcome as unknown instead.
func (c *Client) act(ctx context.Context, op, what string, fn func(ctx context.Context) error) error {
	err := c.retrying(ctx, what, notActed, fn)
	if err == nil {
		return nil
	}
	status, header := apiStatus(err)
	var te *throttledError
	switch {
	case errors.As(err, &te), notActed(status, header, err):
		return err
	case status >= 500, status == 0 && (isNetworkError(err) || errors.Is(err, context.DeadlineExceeded)):
		return licensing.Wrap(op, licensing.Ambiguous, fmt.Sprintf("%s did not answer whether it did %s (%s); it is not sent again, and is reported as unconfirmed.", graphService, what, describeFailure(status, err)), err)
	}
	return err
}

// notActed reports whether a failed request surely did not act: throttled,
// unavailable with a time to come back, or never connected.
func notActed(status int, header string, err error) bool {
	switch status {
	case http.StatusTooManyRequests:
		return true
	case http.StatusServiceUnavailable:
		return header != ""
	case 0:
		var oe *net.OpError
		return errors.As(err, &oe) && oe.Op == "dial"
	}
	return false
}

// describeFailure names a failure briefly for a message.
func describeFailure(status int, err error) string {
	if status != 0 {
		return fmt.Sprintf("HTTP %d", status)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return "connection lost"
}

// retrying runs fn, and again after Retry-After or a backoff while retry
// says the failure may pass and the budget lasts.
func (c *Client) retrying(ctx context.Context, what string, retry func(status int, header string, err error) bool, fn func(ctx context.Context) error) error {
	b := &budget{max: c.cfg.MaxRetryWait}
	ctx = context.WithValue(ctx, budgetKey{}, b)
	backoff := c.cfg.RetryDelay
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		status, header := apiStatus(err)
		if !retry(status, header, err) {
			return err
		}
		wait, ok := retryAfter(header, time.Now())
		if !ok {
			wait = backoff
			backoff = min(backoff*2, c.cfg.MaxRetryWait/4)
		}
		if !b.take(wait) {
			return &throttledError{err: err, waited: b.waited(), next: wait, status: status}
		}
		c.log.WarnContext(ctx, "graph: retrying", "request", what, "status", status, "attempt", attempt+1,
			"wait", wait.String(), "waited", b.waited().String(), "error", err.Error())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// throttledError is a transient failure that outlasted the retry budget.
type throttledError struct {
	err    error
	waited time.Duration
	next   time.Duration
	status int
}

func (e *throttledError) Error() string {
	return "gave up after waiting " + e.waited.String() + " (next wait " + e.next.String() + "): " + e.err.Error()
}

func (e *throttledError) Unwrap() error { return e.err }

// apiStatus returns the HTTP status and Retry-After of a Graph error
// response, or 0 when err is not one.
func apiStatus(err error) (int, string) {
	var ae abstractions.ApiErrorable
	if !errors.As(err, &ae) {
		return 0, ""
	}
	ra := ""
	if h := ae.GetResponseHeaders(); h != nil {
		if v := h.Get("Retry-After"); len(v) > 0 {
			ra = v[0]
		}
	}
	return ae.GetStatusCode(), ra
}

// transient reports whether a failure may pass by itself: throttling, an
// unavailable or timed-out service, or a network error.
func transient(status int, err error) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusBadGateway, http.StatusInternalServerError:
		return true
	case 0:
		return isNetworkError(err)
	}
	return false
}
