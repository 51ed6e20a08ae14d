package graph

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/stalled"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// TestStalledGraphTimesOut points the real SDK client at a server that
// accepts connections and never answers: with Timeout set, the request comes
// back as Unavailable instead of waiting for DefaultTimeout.
func TestStalledGraphTimesOut(t *testing.T) {
	srv := stalled.Start(t)
	const timeout = 300 * time.Millisecond
	c, err := New(Config{BaseURL: srv.URL() + "/v1.0", Auth: AuthNone, Timeout: timeout,
		MaxRetryWait: 100 * time.Millisecond, RetryDelay: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := c.SubscribedSkus(context.Background())
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(10 * timeout):
		t.Fatalf("no answer after %s (request timeout %s)", time.Since(start), timeout)
	}
	t.Logf("gave up after %s, %d requests: %v", time.Since(start).Round(time.Millisecond), srv.Connections(), err)
	if code := licensing.ErrorCode(err); code != licensing.Unavailable {
		t.Errorf("error = %v (code %q), want unavailable", err, code)
	}
	if p := licensing.PolicyOf(err); p.HTTPStatus != 503 {
		t.Errorf("HTTP status = %d, want 503", p.HTTPStatus)
	}
}
