package funchost

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"
)

// Azurite's well-known development account (from Azurite's README).
const (
	DevAccountName   = "devstoreaccount1"
	DevAccountKey    = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	DevQueueEndpoint = "http://127.0.0.1:10001/devstoreaccount1"
)

// storageTimeout bounds each storage call the harness makes on its own.
const storageTimeout = 30 * time.Second

// PoisonSuffix is appended to a queue's name to name its poison queue.
const PoisonSuffix = "-poison"

// DevCredential returns the shared-key credential of Azurite's development
// account, for Config.QueueCredential.
func DevCredential() *azqueue.SharedKeyCredential {
	cred, err := azqueue.NewSharedKeyCredential(DevAccountName, DevAccountKey)
	if err != nil {
		panic("funchost: the development account key does not decode: " + err.Error())
	}
	return cred
}

// QueueCounts counts what happened to one queue trigger's messages.
type QueueCounts struct {
	Processed int // invocations that succeeded (the message was deleted)
	Failed    int // invocations that failed, one per attempt
	Poisoned  int // messages moved to the poison queue
}

// QueueCounts returns the counts for a queueTrigger function.
func (h *Host) QueueCounts(function string) QueueCounts {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, c := range h.counts {
		if strings.EqualFold(name, function) {
			return *c
		}
	}
	return QueueCounts{}
}

func (h *Host) count(function string, f func(*QueueCounts)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.counts[function]
	if c == nil {
		c = &QueueCounts{}
		h.counts[function] = c
	}
	f(c)
}

// queueFunctions returns the enabled queueTrigger functions.
func (h *Host) queueFunctions() []*Function {
	var out []*Function
	for _, fn := range h.app.Functions {
		if fn.Trigger.Type == TypeQueueTrigger && !fn.Disabled {
			out = append(out, fn)
		}
	}
	return out
}

// queueClient returns a client for the named queue, creating the queue the
// first time it is used.
func (h *Host) queueClient(ctx context.Context, name string) (*azqueue.QueueClient, error) {
	if h.queues == nil {
		return nil, errors.New("no queue service configured (set Config.QueueService or Config.QueueEndpoint)")
	}
	if _, ok := h.created.Load(name); !ok {
		if _, err := h.queues.CreateQueue(ctx, name, nil); err != nil && !queueerror.HasCode(err, queueerror.QueueAlreadyExists) {
			return nil, fmt.Errorf("create queue %s: %w", name, err)
		}
		h.created.Store(name, struct{}{})
	}
	return h.queues.NewQueueClient(name), nil
}

// Enqueue puts text on the named queue, base64-encoded as the host expects,
// creating the queue if needed.
func (h *Host) Enqueue(ctx context.Context, queue, text string) error {
	return h.enqueue(ctx, queue, []byte(text))
}

func (h *Host) enqueue(ctx context.Context, queue string, msg []byte) error {
	qc, err := h.queueClient(ctx, queue)
	if err != nil {
		return fmt.Errorf("funchost: enqueue to %s: %w", queue, err)
	}
	if _, err := qc.EnqueueMessage(ctx, base64.StdEncoding.EncodeToString(msg), nil); err != nil {
		return fmt.Errorf("funchost: enqueue to %s: %w", queue, err)
	}
	return nil
}

// PeekMessages returns the text of up to 32 visible messages on the named
// queue without taking them, base64-decoded (a message that is not valid
// base64 is returned as it is).
func (h *Host) PeekMessages(ctx context.Context, queue string) ([]string, error) {
	qc, err := h.queueClient(ctx, queue)
	if err != nil {
		return nil, fmt.Errorf("funchost: peek %s: %w", queue, err)
	}
	resp, err := qc.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: ptr(int32(32))})
	if err != nil {
		return nil, fmt.Errorf("funchost: peek %s: %w", queue, err)
	}
	var out []string
	for _, m := range resp.Messages {
		text := deref(m.MessageText)
		if b, err := base64.StdEncoding.DecodeString(text); err == nil {
			text = string(b)
		}
		out = append(out, text)
	}
	return out, nil
}

// DrainQueues processes messages on every queue trigger's queue until all of
// them are empty, messages made invisible by a failed attempt included. It
// gives up with an error after Config.DrainTimeout (60 s by default), so a
// release delay (host.json visibilityTimeout) times the retries must fit in
// it. Poison queues and output-only queues are not drained.
func (h *Host) DrainQueues(ctx context.Context) error {
	fns := h.queueFunctions()
	if len(fns) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.DrainTimeout)
	defer cancel()
	for {
		got := 0
		var errs []error
		for _, fn := range fns {
			n, err := h.pollQueue(ctx, fn)
			got += n
			if err != nil {
				errs = append(errs, err)
			}
		}
		if ctx.Err() != nil {
			return h.drainError(ctx, fns)
		}
		if len(errs) > 0 {
			return fmt.Errorf("funchost: drain: %w", errors.Join(errs...))
		}
		if got > 0 {
			continue
		}
		left, err := h.pending(ctx, fns)
		if err != nil {
			if ctx.Err() != nil {
				return h.drainError(ctx, fns)
			}
			return fmt.Errorf("funchost: drain: %w", err)
		}
		if len(left) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return h.drainError(ctx, fns)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (h *Host) drainError(ctx context.Context, fns []*Function) error {
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("funchost: drain: %w", ctx.Err())
	}
	check, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	left, err := h.pending(check, fns)
	if err != nil {
		return fmt.Errorf("funchost: drain: not done after %s (and counting what is left failed: %v)", h.cfg.DrainTimeout, err)
	}
	var parts []string
	for q, n := range left {
		parts = append(parts, fmt.Sprintf("%s: %d", q, n))
	}
	sort.Strings(parts)
	return fmt.Errorf("funchost: drain: queues not empty after %s (%s); a handler keeps failing or re-enqueueing, or the release delay is too long for Config.DrainTimeout", h.cfg.DrainTimeout, strings.Join(parts, ", "))
}

// pending returns the approximate message count, invisible messages
// included, of each trigger queue that is not empty.
func (h *Host) pending(ctx context.Context, fns []*Function) (map[string]int, error) {
	ctx, cancel := context.WithTimeout(ctx, storageTimeout)
	defer cancel()
	left := map[string]int{}
	for _, fn := range fns {
		name := h.queueNames[fn.Name]
		qc, err := h.queueClient(ctx, name)
		if err != nil {
			return nil, err
		}
		props, err := qc.GetProperties(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("count messages in %s: %w", name, err)
		}
		if n := props.ApproximateMessagesCount; n != nil && *n > 0 {
			left[name] = int(*n)
		}
	}
	return left, nil
}

// RunQueues polls every queue trigger's queue until ctx ends, as the host
// does: at once again after a poll that found messages, otherwise after a
// pause that doubles up to maxPollingInterval (or Config.PollInterval).
// Storage errors are logged and retried. It returns nil when ctx ends, or at
// once when the app has no queue triggers.
func (h *Host) RunQueues(ctx context.Context) error {
	maxPoll := h.app.Host.Queues.MaxPollingInterval
	if h.cfg.PollInterval > 0 {
		maxPoll = h.cfg.PollInterval
	}
	minPoll := min(100*time.Millisecond, maxPoll)
	var wg sync.WaitGroup
	for _, fn := range h.queueFunctions() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			delay := minPoll
			for ctx.Err() == nil {
				n, err := h.pollQueue(ctx, fn)
				if err != nil && ctx.Err() == nil {
					h.log.Warn("queue poll failed", "function", fn.Name, "queue", h.queueNames[fn.Name], "err", err)
				}
				if n > 0 && err == nil {
					delay = minPoll
					continue
				}
				select {
				case <-ctx.Done():
				case <-time.After(delay):
				}
				delay = min(2*delay, maxPoll)
			}
		}()
	}
	wg.Wait()
	return nil
}

// pollQueue takes one batch from the function's queue and processes its
// messages in parallel, as the host does. It returns how many it took.
func (h *Host) pollQueue(ctx context.Context, fn *Function) (int, error) {
	name := h.queueNames[fn.Name]
	sctx, cancel := context.WithTimeout(ctx, storageTimeout)
	defer cancel()
	qc, err := h.queueClient(sctx, name)
	if err != nil {
		return 0, err
	}
	resp, err := qc.DequeueMessages(sctx, &azqueue.DequeueMessagesOptions{
		NumberOfMessages:  ptr(int32(h.app.Host.Queues.BatchSize)),
		VisibilityTimeout: ptr(h.leaseSeconds()),
	})
	if err != nil {
		return 0, fmt.Errorf("receive from %s: %w", name, err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, m := range resp.Messages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.processMessage(ctx, fn, qc, name, m); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return len(resp.Messages), errors.Join(errs...)
}

// leaseSeconds is how long a received message stays invisible while it is
// processed: longer than one invocation may take.
func (h *Host) leaseSeconds() int32 {
	s := int64((h.cfg.InvocationTimeout + 30*time.Second + time.Second - 1) / time.Second)
	return int32(min(s, 7*24*3600))
}

// processMessage invokes the function with one message and then deletes,
// releases or poisons it as the host does.
func (h *Host) processMessage(ctx context.Context, fn *Function, qc *azqueue.QueueClient, queue string, m *azqueue.DequeuedMessage) error {
	id, pop, text := deref(m.MessageID), deref(m.PopReceipt), deref(m.MessageText)
	dequeues := int64(0)
	if m.DequeueCount != nil {
		dequeues = *m.DequeueCount
	}
	log := h.log.With("function", fn.Name, "queue", queue, "messageId", id)
	maxCount := int64(h.app.Host.Queues.MaxDequeueCount)

	raw, decodeErr := base64.StdEncoding.DecodeString(text)
	switch {
	case decodeErr != nil:
		// The host cannot decode the message, so it never invokes the
		// function: the message goes to the poison queue as it is.
		log.Warn(fmt.Sprintf("Message is not valid base64; moving it to queue '%s%s' without invoking the function.", queue, PoisonSuffix))
		return h.poison(ctx, fn, qc, queue, id, pop, text)
	case dequeues > maxCount:
		// A message that was received more often than allowed (the process
		// died while it ran) is poisoned before it is tried again.
		log.Warn(fmt.Sprintf("Message has been dequeued %d times, more than MaxDequeueCount %d. Moving message to queue '%s%s'.", dequeues, maxCount, queue, PoisonSuffix))
		return h.poison(ctx, fn, qc, queue, id, pop, text)
	}

	binding := fn.Trigger.Name
	data := map[string]json.RawMessage{binding: quoteTwice(string(raw))}
	meta := map[string]json.RawMessage{
		"DequeueCount":    mustJSON(strconv.FormatInt(dequeues, 10)),
		"Id":              quoteTwice(id),
		"PopReceipt":      quoteTwice(pop),
		"ExpirationTime":  quoteTwice(timeText(m.ExpirationTime)),
		"InsertionTime":   quoteTwice(timeText(m.InsertionTime)),
		"NextVisibleTime": quoteTwice(timeText(m.TimeNextVisible)),
	}
	inv := h.invoke(ctx, fn, TriggerQueue, fmt.Sprintf("New queue message detected on '%s'.", queue), data, meta)

	// Settle the message even when ctx has ended, so a stop does not leave
	// a finished message to run again.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storageTimeout)
	defer cancel()
	if inv.Succeeded {
		h.count(fn.Name, func(c *QueueCounts) { c.Processed++ })
		if _, err := qc.DeleteMessage(sctx, id, pop, nil); err != nil && !queueerror.HasCode(err, queueerror.MessageNotFound) {
			return fmt.Errorf("delete message %s from %s: %w", id, queue, err)
		}
		return nil
	}
	h.count(fn.Name, func(c *QueueCounts) { c.Failed++ })
	if dequeues >= maxCount {
		log.Warn(fmt.Sprintf("Message has reached MaxDequeueCount of %d. Moving message to queue '%s%s'.", maxCount, queue, PoisonSuffix))
		return h.poison(sctx, fn, qc, queue, id, pop, base64.StdEncoding.EncodeToString(raw))
	}
	visible := int32(h.app.Host.Queues.VisibilityTimeout / time.Second)
	if _, err := qc.UpdateMessage(sctx, id, pop, text, &azqueue.UpdateMessageOptions{VisibilityTimeout: &visible}); err != nil {
		return fmt.Errorf("release message %s on %s: %w", id, queue, err)
	}
	return nil
}

// poison copies wire (the message text as stored) to the poison queue and
// deletes the original.
func (h *Host) poison(ctx context.Context, fn *Function, qc *azqueue.QueueClient, queue, id, pop, wire string) error {
	pq, err := h.queueClient(ctx, queue+PoisonSuffix)
	if err != nil {
		return err
	}
	if _, err := pq.EnqueueMessage(ctx, wire, nil); err != nil {
		return fmt.Errorf("copy message %s to %s%s: %w", id, queue, PoisonSuffix, err)
	}
	h.count(fn.Name, func(c *QueueCounts) { c.Poisoned++ })
	if _, err := qc.DeleteMessage(ctx, id, pop, nil); err != nil && !queueerror.HasCode(err, queueerror.MessageNotFound) {
		return fmt.Errorf("delete poisoned message %s from %s: %w", id, queue, err)
	}
	return nil
}

// applyQueueOutputs enqueues the values of the function's queue output
// bindings, as the host does after a successful invocation.
func (h *Host) applyQueueOutputs(ctx context.Context, fn *Function, outputs map[string]json.RawMessage) error {
	for _, b := range fn.Bindings {
		if b.Type != TypeQueue {
			continue
		}
		v, ok := output(outputs, b.Name)
		if !ok {
			continue
		}
		msgs, err := queueMessages(v)
		if err != nil {
			return fmt.Errorf("output binding %q: %w", b.Name, err)
		}
		q := h.outQueues[fn.Name+"/"+b.Name]
		for _, m := range msgs {
			if err := h.enqueue(ctx, q, m); err != nil {
				return fmt.Errorf("output binding %q: %w", b.Name, err)
			}
		}
	}
	return nil
}

// queueMessages turns one queue output value into message bodies: an
// object is one message (its JSON), an array one message per element, a
// string one message with its text, except that a string that is valid
// base64 is decoded into bytes first (the host guesses so); null is none.
func queueMessages(v json.RawMessage) ([][]byte, error) {
	t := strings.TrimSpace(string(v))
	switch {
	case t == "" || t == "null":
		return nil, nil
	case t[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil {
			return nil, err
		}
		var out [][]byte
		for _, it := range items {
			if s := strings.TrimSpace(string(it)); s == "null" {
				continue
			}
			var s string
			if err := json.Unmarshal(it, &s); err == nil {
				out = append(out, []byte(s))
				continue
			}
			out = append(out, compactJSON(it))
		}
		return out, nil
	case t[0] == '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, err
		}
		if b, ok := dotnetBase64(s); ok {
			return [][]byte{b}, nil
		}
		return [][]byte{[]byte(s)}, nil
	default:
		return [][]byte{compactJSON(v)}, nil
	}
}

// dotnetBase64 decodes s as .NET's Convert.FromBase64String does: white
// space is ignored, padding is required.
func dotnetBase64(s string) ([]byte, bool) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.DecodeString(clean)
	return b, err == nil
}

func compactJSON(v json.RawMessage) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		return bytes.TrimSpace(v)
	}
	return buf.Bytes()
}

func timeText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(dotnetOffset)
}

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
