package funchost

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// received is one invocation as the fake handler saw it.
type received struct {
	Function string
	Header   http.Header
	Data     map[string]json.RawMessage
	Metadata map[string]json.RawMessage
}

// reply is what the fake handler answers.
type reply struct {
	status      int    // default 200
	contentType string // default application/json
	body        string
}

func ok(body string) reply { return reply{status: http.StatusOK, body: body} }

// fakeHandler is a tiny custom handler: it records every invocation payload
// and answers with reply (by default, res 200 with the function's name).
type fakeHandler struct {
	mu    sync.Mutex
	got   []received
	reply func(received) reply
}

func (f *fakeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.NotFound(w, r) // the host's GET / readiness probe gets a 404, which is fine
		return
	}
	var p struct {
		Data     map[string]json.RawMessage
		Metadata map[string]json.RawMessage
	}
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rec := received{Function: strings.TrimPrefix(r.URL.Path, "/"), Header: r.Header.Clone(), Data: p.Data, Metadata: p.Metadata}
	f.mu.Lock()
	f.got = append(f.got, rec)
	answer := f.reply
	f.mu.Unlock()
	rep := ok(`{"Outputs": {"res": {"statusCode": 200, "body": "` + rec.Function + `"}}, "Logs": ["ran ` + rec.Function + `"]}`)
	if answer != nil {
		rep = answer(rec)
	}
	if rep.status == 0 {
		rep.status = http.StatusOK
	}
	if rep.contentType == "" {
		rep.contentType = "application/json"
	}
	w.Header().Set("Content-Type", rep.contentType)
	w.WriteHeader(rep.status)
	_, _ = w.Write([]byte(rep.body))
}

func (f *fakeHandler) setReply(fn func(received) reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reply = fn
}

// calls returns the invocations of function (all when empty).
func (f *fakeHandler) calls(function string) []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []received
	for _, r := range f.got {
		if function == "" || r.Function == function {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeHandler) last(t *testing.T) received {
	t.Helper()
	all := f.calls("")
	if len(all) == 0 {
		t.Fatal("the handler was not invoked")
	}
	return all[len(all)-1]
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// clock is an adjustable Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

var testNow = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) // a Monday

// testEnv is a Host targeting an in-process handler, with queue names of
// its own so that tests run in parallel and again and again.
type testEnv struct {
	host     *Host
	fake     *fakeHandler // nil when the test brought its own handler
	settings map[string]string
	logs     *syncBuffer
	clock    *clock
}

type envOption func(*Config)

func newEnv(t *testing.T, dir string, handler http.Handler, opts ...envOption) *testEnv {
	t.Helper()
	app, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{logs: &syncBuffer{}, clock: &clock{now: testNow}}
	if handler == nil {
		env.fake = &fakeHandler{}
		handler = env.fake
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	prefix := uniquePrefix(t)
	env.settings = map[string]string{
		"WORK_QUEUE":      prefix + "-work",
		"NEXT_QUEUE":      prefix + "-next",
		"STEPS_QUEUE":     prefix + "-steps",
		"OUT_QUEUE":       prefix + "-out",
		"HOURLY_SCHEDULE": "0 0 * * * *",
	}
	cfg := Config{
		QueueEndpoint:     DevQueueEndpoint,
		QueueCredential:   DevCredential(),
		Settings:          env.settings,
		Logger:            slog.New(slog.NewTextHandler(env.logs, nil)),
		Now:               env.clock.Now,
		InvocationTimeout: 10 * time.Second,
		DrainTimeout:      30 * time.Second,
	}
	for _, o := range opts {
		o(&cfg)
	}
	env.host, err = app.Target(srv.URL, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.deleteQueues() })
	return env
}

// deleteQueues removes the queues the test may have created, best effort.
func (e *testEnv) deleteQueues() {
	if e.host.queues == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.host.created.Range(func(k, _ any) bool {
		_, _ = e.host.queues.DeleteQueue(ctx, k.(string), nil)
		return true
	})
}

func uniquePrefix(t *testing.T) string {
	t.Helper()
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "fh" + hex.EncodeToString(b[:])
}

// requireAzurite skips the test when Azurite does not answer, or fails it
// when CI=true or AZURITE_REQUIRED=1.
func requireAzurite(t *testing.T) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", "127.0.0.1:10001", time.Second)
	if err == nil {
		conn.Close()
		return
	}
	msg := "Azurite's queue service does not answer on 127.0.0.1:10001; run `make azurite` (" + err.Error() + ")"
	if os.Getenv("CI") == "true" || os.Getenv("AZURITE_REQUIRED") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// unquote decodes a JSON string value.
func unquote(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s is not a JSON string: %v", raw, err)
	}
	return s
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
