package funchost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"
)

// Trigger kinds recorded in Invocation.Trigger.
const (
	TriggerHTTP  = "http"
	TriggerQueue = "queue"
	TriggerTimer = "timer"
)

// maxBody bounds request and reply bodies the harness reads (the host's own
// request limit is 100 MB).
const maxBody = 100 << 20

// Invocation is the record of one call to the handler.
type Invocation struct {
	ID       string    // X-Azure-Functions-InvocationId
	Function string    // function name
	Trigger  string    // TriggerHTTP, TriggerQueue or TriggerTimer
	Started  time.Time // wall clock, not Config.Now
	Duration time.Duration
	// Forwarded is true for a raw HTTP request proxied to the handler.
	Forwarded bool
	// HandlerStatus is the HTTP status the handler answered with (0 when it
	// did not answer).
	HandlerStatus int
	// Succeeded is what the host concludes: a 2xx answer with a readable
	// reply whose output bindings could be applied.
	Succeeded bool
	// Err says why the invocation failed.
	Err error
	// Logs are the reply's Logs; empty when the handler did not answer 2xx
	// with a readable reply, because the host drops them then.
	Logs []string
	// Outputs are the reply's Outputs by binding name as the handler spelled
	// them; empty when Logs are. They are applied only when Succeeded.
	Outputs map[string]json.RawMessage
	// ReturnValue is the reply's ReturnValue.
	ReturnValue json.RawMessage
	// Payload is the JSON body sent to the handler (nil when forwarded).
	Payload []byte
	// Reply is the handler's raw answer body, kept even when the host would
	// drop it, to help debugging.
	Reply []byte

	response *httpResponse // what an HTTP invocation writes back
}

// invocationRequest is the body the host POSTs to /{FunctionName}.
type invocationRequest struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// sysMetadata is Metadata.sys.
type sysMetadata struct {
	MethodName string `json:"MethodName"`
	UtcNow     string `json:"UtcNow"`
	RandGuid   string `json:"RandGuid"`
}

// invocationReply is the handler's answer. encoding/json matches the keys
// without regard to case, as the host's Newtonsoft reader does.
type invocationReply struct {
	Outputs     map[string]json.RawMessage `json:"Outputs"`
	Logs        []logLine                  `json:"Logs"`
	ReturnValue json.RawMessage            `json:"ReturnValue"`
}

// logLine accepts a string or any other JSON scalar, which the host turns
// into its text.
type logLine string

func (l *logLine) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = logLine(s)
		return nil
	}
	*l = logLine(bytes.TrimSpace(b))
	return nil
}

// dotnetTime is the layout Newtonsoft uses for a UTC DateTime ("Z") and,
// with an offset in place of Z, for a DateTimeOffset.
const (
	dotnetUTC    = "2006-01-02T15:04:05.9999999Z"
	dotnetOffset = "2006-01-02T15:04:05.9999999-07:00"
)

func (h *Host) sys(fn *Function) json.RawMessage {
	return mustJSON(sysMetadata{
		MethodName: fn.Name,
		UtcNow:     h.cfg.Now().UTC().Format(dotnetUTC),
		RandGuid:   h.cfg.NewID(),
	})
}

// invoke sends one payload invocation, logs and records it, and on success
// applies the function's queue output bindings.
func (h *Host) invoke(ctx context.Context, fn *Function, trigger, reason string, data, meta map[string]json.RawMessage) Invocation {
	inv := Invocation{ID: h.cfg.NewID(), Function: fn.Name, Trigger: trigger, Started: time.Now()}
	log := h.log.With("function", fn.Name, "invocationId", inv.ID)
	if meta == nil {
		meta = map[string]json.RawMessage{}
	}
	meta["sys"] = h.sys(fn)
	inv.Payload = mustJSON(invocationRequest{Data: data, Metadata: meta})
	log.Info(fmt.Sprintf("Executing 'Functions.%s' (Reason='%s', Id=%s)", fn.Name, reason, inv.ID))

	inv.Err = h.call(ctx, fn, &inv, log)
	inv.Succeeded = inv.Err == nil
	inv.Duration = time.Since(inv.Started)
	if inv.Succeeded {
		log.Info(fmt.Sprintf("Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%dms)", fn.Name, inv.ID, inv.Duration.Milliseconds()))
	} else {
		log.Error(fmt.Sprintf("Executed 'Functions.%s' (Failed, Id=%s, Duration=%dms)", fn.Name, inv.ID, inv.Duration.Milliseconds()), "err", inv.Err)
	}
	h.record(inv)
	return inv
}

func (h *Host) call(ctx context.Context, fn *Function, inv *Invocation, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.InvocationTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/"+fn.Name, bytes.NewReader(inv.Payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	h.addInvocationHeaders(req.Header, inv.ID)
	resp, err := h.client.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("the handler did not answer within %s: %w", h.cfg.InvocationTimeout, err)
		}
		return fmt.Errorf("call the handler: %w", err)
	}
	defer resp.Body.Close()
	inv.HandlerStatus = resp.StatusCode
	inv.Reply, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("read the handler's answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the handler answered %d: the host fails the invocation and drops its Outputs and Logs", resp.StatusCode)
	}
	if len(bytes.TrimSpace(inv.Reply)) == 0 {
		return fmt.Errorf("the handler answered %d with an empty body: the host reads no result and the invocation never completes", resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" && mt != "text/json" {
		return fmt.Errorf("the handler answered with Content-Type %q: the host reads the reply only as application/json (host issue #6462)", resp.Header.Get("Content-Type"))
	}
	var reply invocationReply
	if err := json.Unmarshal(inv.Reply, &reply); err != nil {
		return fmt.Errorf("the handler's answer is not a valid reply: %w", err)
	}
	inv.Outputs, inv.ReturnValue = reply.Outputs, reply.ReturnValue
	for _, l := range reply.Logs {
		inv.Logs = append(inv.Logs, string(l))
		log.Info(string(l))
	}
	if fn.Trigger.Type == TypeHTTPTrigger {
		// The host converts the http output before it runs the other output
		// bindings: a malformed one fails the whole invocation.
		resp, err := httpResponseFor(fn, reply.Outputs, reply.ReturnValue)
		if err != nil {
			return err
		}
		inv.response = resp
	}
	return h.applyQueueOutputs(ctx, fn, reply.Outputs)
}

func (h *Host) addInvocationHeaders(hd http.Header, id string) {
	hd.Set("X-Azure-Functions-InvocationId", id)
	hd.Set("X-Azure-Functions-HostVersion", h.cfg.HostVersion)
	hd.Set("User-Agent", "Azure-Functions-Host/"+h.cfg.HostVersion)
}

func (h *Host) record(inv Invocation) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.invocations = append(h.invocations, inv)
	if over := len(h.invocations) - h.cfg.KeepInvocations; over > 0 {
		h.invocations = append([]Invocation(nil), h.invocations[over:]...)
	}
}

// Invocations returns the recent invocations, oldest first. When function is
// not empty, only that function's.
func (h *Host) Invocations(function string) []Invocation {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Invocation
	for _, inv := range h.invocations {
		if function == "" || strings.EqualFold(inv.Function, function) {
			out = append(out, inv)
		}
	}
	return out
}

// LastInvocation returns the most recent invocation of function.
func (h *Host) LastInvocation(function string) (Invocation, bool) {
	all := h.Invocations(function)
	if len(all) == 0 {
		return Invocation{}, false
	}
	return all[len(all)-1], true
}

// output returns outputs[name], matching the name without regard to case.
func output(outputs map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if v, ok := outputs[name]; ok {
		return v, true
	}
	for k, v := range outputs {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// quoteTwice JSON-encodes s, then JSON-encodes that text again: how the host
// passes strings in the custom-handler payload.
func quoteTwice(s string) json.RawMessage { return mustJSON(string(mustJSON(s))) }

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("funchost: marshal %T: %v", v, err)) // only called with plain structs, maps and strings
	}
	return b
}
