// Package queues puts work items on Azure Queue Storage from Go code and
// takes them off again, on azqueue: for the app re-queueing a workflow step
// with a visibility delay (which a Functions output binding cannot do), and
// for tests and the demo.
//
// Message text is base64-encoded on the wire, as the Functions host expects
// of queue messages: azqueue sends text as it is, and the host moves a
// message that is not base64 straight to <queue>-poison. Receive decodes it
// again. Every SDK or network failure is translated at this package's edge
// into a *licensing.Error by package azerr.
package queues

import (
	"context"
	"encoding/base64"
	"math"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Client reaches the queues of one storage account.
type Client struct {
	svc *azqueue.ServiceClient
}

// Message is a message taken off a queue.
type Message struct {
	ID         string
	PopReceipt string
	// Text is the decoded text; the raw text when NotBase64 is set.
	Text string
	// NotBase64 is set when the body on the wire was not base64 (someone
	// enqueued it without encoding); Text then holds it as it was.
	NotBase64       bool
	DequeueCount    int64
	InsertionTime   time.Time
	ExpirationTime  time.Time
	NextVisibleTime time.Time
	// Raw is the body as it is on the wire (base64 unless NotBase64).
	Raw string
}

// Limits of the service.
const (
	maxVisibility = 7 * 24 * time.Hour
	// MaxReceive is the most messages one Receive returns.
	MaxReceive = 32
	// maxMessageBytes is the largest message body (after base64).
	maxMessageBytes = 64 << 10
)

// New returns a Client on the queue service svc.
func New(svc *azqueue.ServiceClient) *Client { return &Client{svc: svc} }

var queueName = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$`)

func check(op, queue string) error {
	if !queueName.MatchString(queue) {
		return licensing.Errorf(op, licensing.Invalid, "A queue name must be 3 to 63 lower-case letters, digits and single dashes, starting and ending with a letter or digit.")
	}
	return nil
}

// seconds converts d to whole seconds for the service, rounding up, within
// 0 and 7 days.
func seconds(op, what string, d time.Duration) (int32, error) {
	if d < 0 || d > maxVisibility {
		return 0, licensing.Errorf(op, licensing.Invalid, "The %s must be between 0 and 7 days.", what)
	}
	return int32(math.Ceil(d.Seconds())), nil
}

// Ensure creates queue when it does not exist yet.
func (c *Client) Ensure(ctx context.Context, queue string) error {
	const op = "queues.ensure"
	if err := check(op, queue); err != nil {
		return err
	}
	_, err := c.svc.CreateQueue(ctx, queue, nil)
	if err != nil && azerr.Classify(err) != licensing.Conflict {
		return azerr.Translate(op, "queue "+queue, err)
	}
	return nil
}

// Enqueue puts text on queue, base64-encoded, to become visible after
// visibleAfter (0: at once; at most 7 days, rounded up to whole seconds).
// The message lives 7 days, the service's default.
func (c *Client) Enqueue(ctx context.Context, queue, text string, visibleAfter time.Duration) error {
	const op = "queues.enqueue"
	if err := check(op, queue); err != nil {
		return err
	}
	vis, err := seconds(op, "visibility delay", visibleAfter)
	if err != nil {
		return err
	}
	body := base64.StdEncoding.EncodeToString([]byte(text))
	if len(body) > maxMessageBytes {
		return licensing.Errorf(op, licensing.Invalid, "The message is too large for a queue: at most 48 KiB of text.")
	}
	_, err = c.svc.NewQueueClient(queue).EnqueueMessage(ctx, body, &azqueue.EnqueueMessageOptions{VisibilityTimeout: &vis})
	return azerr.Translate(op, "queue "+queue, err)
}

// Receive takes up to max (1 to 32) visible messages off queue and hides
// them for visibility (at least 1 s) while the caller works; the caller
// then Deletes or Releases each. An empty queue gives no messages and no
// error.
func (c *Client) Receive(ctx context.Context, queue string, max int, visibility time.Duration) ([]Message, error) {
	const op = "queues.receive"
	if err := check(op, queue); err != nil {
		return nil, err
	}
	if max < 1 || max > MaxReceive {
		return nil, licensing.Errorf(op, licensing.Invalid, "Receive takes 1 to %d messages at a time.", MaxReceive)
	}
	vis, err := seconds(op, "visibility timeout", visibility)
	if err != nil {
		return nil, err
	}
	if vis < 1 {
		vis = 1
	}
	n := int32(max)
	resp, err := c.svc.NewQueueClient(queue).DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &n, VisibilityTimeout: &vis})
	if err != nil {
		return nil, azerr.Translate(op, "queue "+queue, err)
	}
	var out []Message
	for _, m := range resp.Messages {
		if m == nil {
			continue
		}
		msg := Message{
			ID:              deref(m.MessageID),
			PopReceipt:      deref(m.PopReceipt),
			InsertionTime:   derefTime(m.InsertionTime),
			ExpirationTime:  derefTime(m.ExpirationTime),
			NextVisibleTime: derefTime(m.TimeNextVisible),
		}
		if m.DequeueCount != nil {
			msg.DequeueCount = *m.DequeueCount
		}
		msg.Raw = deref(m.MessageText)
		msg.Text, msg.NotBase64 = decode(msg.Raw)
		out = append(out, msg)
	}
	return out, nil
}

// decode returns the text of a base64 body, or the body itself and true when
// it is not base64 (or decodes to bytes that are not UTF-8 text, as a plain
// word that happens to be base64 does).
func decode(raw string) (string, bool) {
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || !utf8.Valid(b) {
		return raw, true
	}
	return string(b), false
}

// Delete removes a received message for good. A pop receipt that is out of
// date (the message became visible again and was received since, or was
// released) is Stale; a message that is gone is NotFound.
func (c *Client) Delete(ctx context.Context, queue, id, popReceipt string) error {
	const op = "queues.delete"
	if err := check(op, queue); err != nil {
		return err
	}
	_, err := c.svc.NewQueueClient(queue).DeleteMessage(ctx, id, popReceipt, nil)
	return azerr.Translate(op, "message "+id+" on queue "+queue, err)
}

// Release makes a received message visible again after visibleAfter (0: at
// once), unchanged, and returns its new pop receipt; its dequeue count
// keeps counting. It takes the Message rather than only its id and pop
// receipt because the service's update rewrites the body: m.Raw is written
// back as it was, or, when empty, m.Text base64-encoded.
func (c *Client) Release(ctx context.Context, queue string, m Message, visibleAfter time.Duration) (newPopReceipt string, err error) {
	const op = "queues.release"
	if err := check(op, queue); err != nil {
		return "", err
	}
	vis, err := seconds(op, "visibility delay", visibleAfter)
	if err != nil {
		return "", err
	}
	body := m.Raw
	if body == "" {
		body = base64.StdEncoding.EncodeToString([]byte(m.Text))
	}
	resp, err := c.svc.NewQueueClient(queue).UpdateMessage(ctx, m.ID, m.PopReceipt, body, &azqueue.UpdateMessageOptions{VisibilityTimeout: &vis})
	if err != nil {
		return "", azerr.Translate(op, "message "+m.ID+" on queue "+queue, err)
	}
	return deref(resp.PopReceipt), nil
}

// Peek returns up to max (1 to 32) visible messages of queue without
// taking them; ID, Text, NotBase64, DequeueCount, InsertionTime and
// ExpirationTime are set.
func (c *Client) Peek(ctx context.Context, queue string, max int) ([]Message, error) {
	const op = "queues.peek"
	if err := check(op, queue); err != nil {
		return nil, err
	}
	if max < 1 || max > MaxReceive {
		return nil, licensing.Errorf(op, licensing.Invalid, "Peek takes 1 to %d messages at a time.", MaxReceive)
	}
	n := int32(max)
	resp, err := c.svc.NewQueueClient(queue).PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: &n})
	if err != nil {
		return nil, azerr.Translate(op, "queue "+queue, err)
	}
	var out []Message
	for _, m := range resp.Messages {
		if m == nil {
			continue
		}
		msg := Message{ID: deref(m.MessageID), InsertionTime: derefTime(m.InsertionTime), ExpirationTime: derefTime(m.ExpirationTime)}
		if m.DequeueCount != nil {
			msg.DequeueCount = *m.DequeueCount
		}
		msg.Raw = deref(m.MessageText)
		msg.Text, msg.NotBase64 = decode(msg.Raw)
		out = append(out, msg)
	}
	return out, nil
}

// Count returns the approximate number of messages on queue, visible or
// not.
func (c *Client) Count(ctx context.Context, queue string) (int, error) {
	const op = "queues.count"
	if err := check(op, queue); err != nil {
		return 0, err
	}
	resp, err := c.svc.NewQueueClient(queue).GetProperties(ctx, nil)
	if err != nil {
		return 0, azerr.Translate(op, "queue "+queue, err)
	}
	if resp.ApproximateMessagesCount == nil {
		return 0, nil
	}
	return int(*resp.ApproximateMessagesCount), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
