package queues

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// newQueue returns a Client and a fresh queue, deleted after the test.
func newQueue(t *testing.T) (*Client, *azqueue.ServiceClient, string) {
	t.Helper()
	svc := azuritetest.QueueService(t)
	q := azuritetest.Name(t, "q")
	c := New(svc)
	for i := 0; i < 2; i++ {
		if err := c.Ensure(context.Background(), q); err != nil {
			t.Fatalf("Ensure: %v", err)
		}
	}
	return c, svc, q
}

func TestRoundTripIsBase64OnTheWire(t *testing.T) {
	tests := []struct {
		name, text string
	}{
		{"json step", `{"sr":"4500012345","step":"verify"}`},
		{"word that is also base64", "test"},
		{"unicode and quotes", `Ünïcödé "quoted" 'single' 🚀 <xml>&amp;`},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, svc, q := newQueue(t)
			ctx := context.Background()
			before := time.Now().Add(-time.Minute)
			if err := c.Enqueue(ctx, q, tt.text, 0); err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
			// A plain client sees base64 of the text.
			peek, err := svc.NewQueueClient(q).PeekMessage(ctx, nil)
			if err != nil || len(peek.Messages) != 1 {
				t.Fatalf("PeekMessage = %d messages, %v", len(peek.Messages), err)
			}
			if diff := cmp.Diff(base64.StdEncoding.EncodeToString([]byte(tt.text)), *peek.Messages[0].MessageText); diff != "" {
				t.Errorf("raw message (-want +got):\n%s", diff)
			}
			got, err := c.Receive(ctx, q, 32, time.Minute)
			if err != nil || len(got) != 1 {
				t.Fatalf("Receive = %d messages, %v", len(got), err)
			}
			m := got[0]
			if diff := cmp.Diff(tt.text, m.Text); diff != "" || m.NotBase64 {
				t.Errorf("Receive text (-want +got):\n%s\nNotBase64 = %v", diff, m.NotBase64)
			}
			if m.ID == "" || m.PopReceipt == "" || m.DequeueCount != 1 {
				t.Errorf("Receive id %q, pop receipt %q, dequeue count %d", m.ID, m.PopReceipt, m.DequeueCount)
			}
			if m.InsertionTime.Before(before) || !m.ExpirationTime.After(m.InsertionTime) || !m.NextVisibleTime.After(m.InsertionTime) {
				t.Errorf("times: inserted %v, expires %v, next visible %v", m.InsertionTime, m.ExpirationTime, m.NextVisibleTime)
			}
			if err := c.Delete(ctx, q, m.ID, m.PopReceipt); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if n, err := c.Count(ctx, q); n != 0 || err != nil {
				t.Errorf("Count after Delete = %d, %v", n, err)
			}
		})
	}
}

func TestPlainTextMessageIsFlagged(t *testing.T) {
	c, svc, q := newQueue(t)
	ctx := context.Background()
	tests := []struct{ name, raw string }{
		{"not base64 at all", "hello, world!"},
		{"base64 of bytes that are not text", base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe, 0x00})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := svc.NewQueueClient(q).EnqueueMessage(ctx, tt.raw, nil); err != nil {
				t.Fatal(err)
			}
			got, err := c.Receive(ctx, q, 1, time.Minute)
			if err != nil || len(got) != 1 {
				t.Fatalf("Receive = %d, %v", len(got), err)
			}
			if diff := cmp.Diff([]any{tt.raw, true}, []any{got[0].Text, got[0].NotBase64}); diff != "" {
				t.Errorf("text and flag (-want +got):\n%s", diff)
			}
			if err := c.Delete(ctx, q, got[0].ID, got[0].PopReceipt); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestVisibilityDelay(t *testing.T) {
	c, _, q := newQueue(t)
	ctx := context.Background()
	start := time.Now()
	if err := c.Enqueue(ctx, q, "later", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	got, err := c.Receive(ctx, q, 1, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("received %q at once; it should be hidden for 2 s", got[0].Text)
	}
	if n, err := c.Count(ctx, q); n != 1 || err != nil {
		t.Errorf("Count of a hidden message = %d, %v; want 1", n, err)
	}
	for time.Since(start) < 15*time.Second {
		time.Sleep(250 * time.Millisecond)
		got, err = c.Receive(ctx, q, 1, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > 0 {
			break
		}
	}
	elapsed := time.Since(start)
	if len(got) != 1 || got[0].Text != "later" {
		t.Fatalf("message not received within %v", elapsed)
	}
	if elapsed < 1500*time.Millisecond {
		t.Errorf("received after %v; want about 2 s", elapsed)
	}
}

func TestReleaseCountsDequeues(t *testing.T) {
	c, _, q := newQueue(t)
	ctx := context.Background()
	if err := c.Enqueue(ctx, q, `{"step":"verify"}`, 0); err != nil {
		t.Fatal(err)
	}
	var last Message
	for want := int64(1); want <= 3; want++ {
		got, err := c.Receive(ctx, q, 1, time.Minute)
		if err != nil || len(got) != 1 {
			t.Fatalf("Receive %d = %d messages, %v", want, len(got), err)
		}
		m := got[0]
		if diff := cmp.Diff([]any{want, `{"step":"verify"}`}, []any{m.DequeueCount, m.Text}); diff != "" {
			t.Errorf("receive %d: dequeue count and text (-want +got):\n%s", want, diff)
		}
		pop, err := c.Release(ctx, q, m, 0)
		if err != nil || pop == "" || pop == m.PopReceipt {
			t.Fatalf("Release = %q, %v; want a new pop receipt", pop, err)
		}
		// The old pop receipt no longer works.
		if err := c.Delete(ctx, q, m.ID, m.PopReceipt); licensing.ErrorCode(err) != licensing.Stale {
			t.Errorf("Delete with an old pop receipt: code %q (%v), want stale", licensing.ErrorCode(err), err)
		}
		last = m
		last.PopReceipt = pop
	}
	peek, err := c.Peek(ctx, q, 5)
	if err != nil || len(peek) != 1 || peek[0].Text != `{"step":"verify"}` || peek[0].DequeueCount != 3 {
		t.Errorf("Peek = %+v, %v", peek, err)
	}
	if err := c.Delete(ctx, q, last.ID, last.PopReceipt); err != nil {
		t.Errorf("Delete with the released pop receipt: %v", err)
	}
}

func TestReleaseWithDelay(t *testing.T) {
	c, _, q := newQueue(t)
	ctx := context.Background()
	if err := c.Enqueue(ctx, q, "x", 0); err != nil {
		t.Fatal(err)
	}
	got, err := c.Receive(ctx, q, 1, time.Minute)
	if err != nil || len(got) != 1 {
		t.Fatal(len(got), err)
	}
	// A message built from its id, pop receipt and text alone is written
	// back base64-encoded.
	m := Message{ID: got[0].ID, PopReceipt: got[0].PopReceipt, Text: got[0].Text}
	if _, err := c.Release(ctx, q, m, time.Hour); err != nil {
		t.Fatal(err)
	}
	if again, err := c.Receive(ctx, q, 1, time.Minute); err != nil || len(again) != 0 {
		t.Errorf("Receive after Release for an hour = %d messages, %v; want none", len(again), err)
	}
	peek, err := c.Peek(ctx, q, 1)
	if err != nil || len(peek) != 0 {
		t.Errorf("Peek sees %d hidden messages, %v", len(peek), err)
	}
}

func TestErrors(t *testing.T) {
	c, _, q := newQueue(t)
	ctx := context.Background()
	missing := azuritetest.Name(t, "missing")
	_, recvMissing := c.Receive(ctx, missing, 1, time.Second)
	_, countMissing := c.Count(ctx, missing)
	_, recvBadMax := c.Receive(ctx, q, 33, time.Second)
	_, peekBadMax := c.Peek(ctx, q, 0)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name string
		err  error
		want licensing.Code
	}{
		{"enqueue to missing queue", c.Enqueue(ctx, missing, "x", 0), licensing.NotFound},
		{"receive from missing queue", recvMissing, licensing.NotFound},
		{"count of missing queue", countMissing, licensing.NotFound},
		{"delete unknown message", c.Delete(ctx, q, "00000000-0000-0000-0000-000000000000", "AAAA"), licensing.NotFound},
		{"upper-case queue name", c.Enqueue(ctx, "Activation", "x", 0), licensing.Invalid},
		{"queue name with double dash", c.Ensure(ctx, "a--b"), licensing.Invalid},
		{"negative delay", c.Enqueue(ctx, q, "x", -time.Second), licensing.Invalid},
		{"delay over 7 days", c.Enqueue(ctx, q, "x", 8*24*time.Hour), licensing.Invalid},
		{"too large", c.Enqueue(ctx, q, strings.Repeat("x", 50<<10), 0), licensing.Invalid},
		{"receive too many", recvBadMax, licensing.Invalid},
		{"peek none", peekBadMax, licensing.Invalid},
		{"cancelled context", c.Enqueue(cancelled, q, "x", 0), licensing.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, licensing.ErrorCode(tt.err)); diff != "" {
				t.Errorf("code (-want +got):\n%s\nerror: %v", diff, tt.err)
			}
			if msg := licensing.ErrorMessage(tt.err); strings.Contains(msg, "RESPONSE") || strings.Contains(msg, "127.0.0.1") {
				t.Errorf("message %q leaks internals", msg)
			}
		})
	}
}
