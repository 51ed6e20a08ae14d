package handlers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Invocation is the body the Functions host POSTs to /{FunctionName}: the
// trigger and input binding values under Data, trigger metadata under
// Metadata, each keyed by binding or metadata name. The values stay raw until
// the function's typed accessor decodes them, because their shapes differ by
// trigger type and carry the host's quirks (docs/host-protocol.md).
type Invocation struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// InvokeResponse is what the handler replies to the host. Keys are matched by
// the host without case. Outputs holds one value per output binding.
type InvokeResponse struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue,omitempty"`
}

// HTTPRequest is the value of an httpTrigger binding.
type HTTPRequest struct {
	URL        string
	Method     string
	Query      map[string]string
	Headers    map[string][]string
	Params     map[string]string
	Identities json.RawMessage
	// Body is the request body: the text for ordinary requests, the decoded
	// bytes for application/octet-stream and multipart/* (which the host
	// sends as base64). HasBody is false when the host sent none (for
	// example a chunked request without Content-Length).
	Body    []byte
	HasBody bool
}

// Header returns the first value of the named request header, matching the
// name without case.
func (r *HTTPRequest) Header(name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// ContentType returns the media type of the body, lower case, without
// parameters.
func (r *HTTPRequest) ContentType() string {
	ct := r.Header("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// rawHTTPRequest mirrors the host's JSON with field names matched without
// case by encoding/json.
type rawHTTPRequest struct {
	URL        string          `json:"Url"`
	Method     string          `json:"Method"`
	Query      json.RawMessage `json:"Query"`
	Headers    json.RawMessage `json:"Headers"`
	Params     json.RawMessage `json:"Params"`
	Identities json.RawMessage `json:"Identities"`
	Body       json.RawMessage `json:"Body"`
}

// HTTPRequest decodes the httpTrigger binding called name.
func (inv *Invocation) HTTPRequest(name string) (*HTTPRequest, error) {
	raw, ok := lookup(inv.Data, name)
	if !ok {
		return nil, fmt.Errorf("the invocation has no %q binding", name)
	}
	var rr rawHTTPRequest
	if err := json.Unmarshal(raw, &rr); err != nil {
		return nil, fmt.Errorf("binding %q is not an HTTP request: %w", name, err)
	}
	req := &HTTPRequest{URL: rr.URL, Method: strings.ToUpper(rr.Method), Identities: rr.Identities}
	var err error
	if req.Query, err = stringMap(rr.Query); err != nil {
		return nil, fmt.Errorf("Query: %w", err)
	}
	if req.Params, err = stringMap(rr.Params); err != nil {
		return nil, fmt.Errorf("Params: %w", err)
	}
	if req.Headers, err = headerMap(rr.Headers); err != nil {
		return nil, fmt.Errorf("Headers: %w", err)
	}
	if err := req.decodeBody(rr.Body); err != nil {
		return nil, err
	}
	return req, nil
}

// decodeBody takes Body as the host sends it: absent or null (no body), a
// string (text, or base64 for binary and multipart content), or a JSON value
// that some host versions pass parsed for JSON requests.
func (r *HTTPRequest) decodeBody(raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	r.HasBody = true
	if raw[0] != '"' {
		r.Body = append([]byte(nil), raw...)
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("Body: %w", err)
	}
	ct := r.ContentType()
	if ct == "application/octet-stream" || strings.HasPrefix(ct, "multipart/") {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return fmt.Errorf("Body: a %s body must arrive as base64: %w", ct, err)
		}
		r.Body = b
		return nil
	}
	r.Body = []byte(s)
	return nil
}

// stringMap accepts an object of strings, the same object encoded as a JSON
// string (older hosts send Query as "{}"), or null. Non-string values are
// kept in their JSON text.
func stringMap(raw json.RawMessage) (map[string]string, error) {
	raw, err := unquote(raw, 1)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	if len(raw) == 0 || string(raw) == "null" {
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	for k, v := range m {
		out[k] = scalarText(v)
	}
	return out, nil
}

// headerMap accepts header values as arrays of strings (what the host sends)
// or as single strings.
func headerMap(raw json.RawMessage) (map[string][]string, error) {
	raw, err := unquote(raw, 1)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	if len(raw) == 0 || string(raw) == "null" {
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	for k, v := range m {
		var list []string
		if err := json.Unmarshal(v, &list); err == nil {
			out[k] = list
			continue
		}
		out[k] = []string{scalarText(v)}
	}
	return out, nil
}

// scalarText returns a JSON string's value, or the JSON text of anything else.
func scalarText(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(v))
}

// unquote strips up to n layers of JSON string encoding from raw when raw is
// a JSON string whose content is itself JSON, which is how the host passes
// queue messages and their metadata.
func unquote(raw json.RawMessage, n int) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	for i := 0; i < n && len(raw) > 0 && raw[0] == '"'; i++ {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		inner := bytes.TrimSpace([]byte(s))
		if len(inner) == 0 || (inner[0] != '{' && inner[0] != '[' && inner[0] != '"') {
			// A plain string, not JSON: leave it for the caller.
			return raw, nil
		}
		raw = inner
	}
	return raw, nil
}

// QueueMessage is the value and metadata of a queueTrigger binding.
type QueueMessage struct {
	// Text is the message as it was enqueued (after the host's base64
	// decoding and the double JSON encoding are undone).
	Text         string
	ID           string
	PopReceipt   string
	DequeueCount int
	InsertedAt   time.Time
	ExpiresAt    time.Time
	NextVisible  time.Time
}

// QueueMessage decodes the queueTrigger binding called name. The host
// encodes the message text as JSON twice ("hello" arrives as "\"hello\"")
// and metadata strings likewise, with DequeueCount a string; decode leniently
// so a host that stops doing so keeps working.
func (inv *Invocation) QueueMessage(name string) (*QueueMessage, error) {
	raw, ok := lookup(inv.Data, name)
	if !ok {
		return nil, fmt.Errorf("the invocation has no %q binding", name)
	}
	text, err := decodeString(raw)
	if err != nil {
		return nil, fmt.Errorf("binding %q: %w", name, err)
	}
	m := &QueueMessage{Text: text}
	m.ID = inv.metaString("Id")
	m.PopReceipt = inv.metaString("PopReceipt")
	if s := inv.metaString("DequeueCount"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("DequeueCount %q is not a number", s)
		}
		m.DequeueCount = n
	}
	m.InsertedAt = inv.metaTime("InsertionTime")
	m.ExpiresAt = inv.metaTime("ExpirationTime")
	m.NextVisible = inv.metaTime("NextVisibleTime")
	return m, nil
}

// decodeString undoes up to two layers of JSON string encoding. A value that
// is a JSON object or number rather than a string is returned as its text.
func decodeString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", errors.New("no value")
	}
	if raw[0] != '"' {
		return string(raw), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	// A second layer: the text is itself a JSON string literal.
	if t := strings.TrimSpace(s); len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		var inner string
		if json.Unmarshal([]byte(t), &inner) == nil {
			return inner, nil
		}
	}
	return s, nil
}

func (inv *Invocation) metaString(name string) string {
	raw, ok := lookup(inv.Metadata, name)
	if !ok {
		return ""
	}
	s, err := decodeString(raw)
	if err != nil {
		return ""
	}
	return s
}

func (inv *Invocation) metaTime(name string) time.Time {
	s := inv.metaString(name)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999Z07:00", time.RFC1123} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// TimerInfo is the value of a timerTrigger binding.
type TimerInfo struct {
	IsPastDue      bool
	ScheduleStatus *ScheduleStatus
}

// ScheduleStatus is the host's record of the timer's last and next run.
type ScheduleStatus struct {
	Last        time.Time
	Next        time.Time
	LastUpdated time.Time
}

// Timer decodes the timerTrigger binding called name.
func (inv *Invocation) Timer(name string) (*TimerInfo, error) {
	raw, ok := lookup(inv.Data, name)
	if !ok {
		return nil, fmt.Errorf("the invocation has no %q binding", name)
	}
	raw, err := unquote(raw, 2)
	if err != nil {
		return nil, fmt.Errorf("binding %q: %w", name, err)
	}
	var t struct {
		IsPastDue      bool `json:"IsPastDue"`
		ScheduleStatus *struct {
			Last        string `json:"Last"`
			Next        string `json:"Next"`
			LastUpdated string `json:"LastUpdated"`
		} `json:"ScheduleStatus"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("binding %q is not timer information: %w", name, err)
	}
	info := &TimerInfo{IsPastDue: t.IsPastDue}
	if s := t.ScheduleStatus; s != nil {
		info.ScheduleStatus = &ScheduleStatus{Last: parseHostTime(s.Last), Next: parseHostTime(s.Next), LastUpdated: parseHostTime(s.LastUpdated)}
	}
	return info, nil
}

// parseHostTime parses the host's timestamps, which come with or without a
// zone ("2026-11-23T06:00:00+00:00", "2026-11-23T06:00:00Z",
// "0001-01-01T00:00:00"). Without a zone they are UTC.
func parseHostTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// lookup finds a binding or metadata value by name without case, as the host
// matches names.
func lookup(m map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}
