package funchost

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestQueueTriggerPayload(t *testing.T) {
	requireAzurite(t)
	t.Parallel()
	ctx := testContext(t)
	env := newEnv(t, "testdata/app", nil)
	env.fake.setReply(func(received) reply { return ok(`{"Outputs": {}, "Logs": ["done"]}`) })
	work := env.settings["WORK_QUEUE"]
	for _, text := range []string{"hello", `{"id":1}`} {
		if err := env.host.Enqueue(ctx, work, text); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.host.DrainQueues(ctx); err != nil {
		t.Fatal(err)
	}

	calls := env.fake.calls("Work")
	if len(calls) != 2 {
		t.Fatalf("%d invocations of Work, want 2", len(calls))
	}
	byText := map[string]received{}
	for _, c := range calls {
		byText[unquote(t, unquote2(t, c.Data["msg"]))] = c
	}
	hello, ok1 := byText["hello"]
	obj, ok2 := byText[`{"id":1}`]
	if !ok1 || !ok2 {
		t.Fatalf("messages seen: %v", byText)
	}
	// JSON-encoded twice: the value is a JSON string holding a JSON string.
	if got := string(hello.Data["msg"]); got != `"\"hello\""` {
		t.Errorf("Data.msg for hello = %s, want %s", got, `"\"hello\""`)
	}
	if got := string(obj.Data["msg"]); got != `"\"{\\\"id\\\":1}\""` {
		t.Errorf(`Data.msg for {"id":1} = %s, want %s`, got, `"\"{\\\"id\\\":1}\""`)
	}

	m := hello.Metadata
	if got := string(m["DequeueCount"]); got != `"1"` {
		t.Errorf("Metadata.DequeueCount = %s, want the JSON string \"1\"", got)
	}
	for _, key := range []string{"Id", "PopReceipt", "InsertionTime", "ExpirationTime", "NextVisibleTime"} {
		once := unquote(t, m[key])
		if len(once) < 3 || once[0] != '"' || once[len(once)-1] != '"' {
			t.Errorf("Metadata.%s = %s: want a quoted string inside a string", key, m[key])
			continue
		}
		if inner := unquote(t, json.RawMessage(once)); inner == "" {
			t.Errorf("Metadata.%s is empty", key)
		}
	}
	inserted := unquote(t, unquote2(t, m["InsertionTime"]))
	if _, err := time.Parse(time.RFC3339, inserted); err != nil || !strings.HasSuffix(inserted, "+00:00") {
		t.Errorf("InsertionTime %q: want an ISO time with +00:00 (%v)", inserted, err)
	}
	var sys struct{ MethodName string }
	if err := json.Unmarshal(m["sys"], &sys); err != nil || sys.MethodName != "Work" {
		t.Errorf("Metadata.sys = %s", m["sys"])
	}

	if got, want := env.host.QueueCounts("Work"), (QueueCounts{Processed: 2}); got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	if left, err := env.host.PeekMessages(ctx, work); err != nil || len(left) != 0 {
		t.Errorf("queue after drain: %v, %v; want empty", left, err)
	}
}

func TestQueueRetryThenSuccess(t *testing.T) {
	requireAzurite(t)
	t.Parallel()
	ctx := testContext(t)
	env := newEnv(t, "testdata/app", nil)
	env.fake.setReply(func(r received) reply {
		if string(r.Metadata["DequeueCount"]) == `"1"` {
			return reply{status: 500, body: `{"Logs": ["try again"]}`}
		}
		return ok(`{"Outputs": {}}`)
	})
	if err := env.host.Enqueue(ctx, env.settings["WORK_QUEUE"], `{"step":"assign"}`); err != nil {
		t.Fatal(err)
	}
	if err := env.host.DrainQueues(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := env.host.QueueCounts("Work"), (QueueCounts{Processed: 1, Failed: 1}); got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	var counts []string
	for _, c := range env.fake.calls("Work") {
		counts = append(counts, string(c.Metadata["DequeueCount"]))
	}
	if diff := cmp.Diff([]string{`"1"`, `"2"`}, counts); diff != "" {
		t.Errorf("DequeueCount per attempt (-want +got):\n%s", diff)
	}
	invs := env.host.Invocations("Work")
	if len(invs) != 2 || invs[0].Succeeded || !invs[1].Succeeded || invs[0].HandlerStatus != 500 {
		t.Errorf("invocations %+v", invs)
	}
	if poison, _ := env.host.PeekMessages(ctx, env.settings["WORK_QUEUE"]+PoisonSuffix); len(poison) != 0 {
		t.Errorf("poison queue %v, want empty", poison)
	}
}

func TestQueuePoison(t *testing.T) {
	requireAzurite(t)
	t.Parallel()
	ctx := testContext(t)
	env := newEnv(t, "testdata/app", nil)
	env.fake.setReply(func(received) reply {
		return reply{status: 500, body: `{"Outputs": {"next": {"lost": true}}, "Logs": ["failing"]}`}
	})
	const original = `{"sr":"SR-1","step":"assign","note":"café <&>"}`
	work := env.settings["WORK_QUEUE"]
	if err := env.host.Enqueue(ctx, work, original); err != nil {
		t.Fatal(err)
	}
	if err := env.host.DrainQueues(ctx); err != nil {
		t.Fatal(err)
	}
	// maxDequeueCount is 2 in testdata/app/host.json.
	if got, want := env.host.QueueCounts("Work"), (QueueCounts{Failed: 2, Poisoned: 1}); got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	poison, err := env.host.PeekMessages(ctx, work+PoisonSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{original}, poison); diff != "" {
		t.Errorf("poison queue (-want +got):\n%s", diff)
	}
	if next, _ := env.host.PeekMessages(ctx, env.settings["NEXT_QUEUE"]); len(next) != 0 {
		t.Errorf("outputs of failed invocations were enqueued: %v", next)
	}
	if strings.Contains(env.logs.String(), "failing") {
		t.Error("Logs of failed invocations were logged")
	}
	if !strings.Contains(env.logs.String(), "MaxDequeueCount of 2") {
		t.Errorf("expected the host's poison message in the log:\n%s", env.logs.String())
	}
}

func TestQueueInvalidBase64GoesToPoison(t *testing.T) {
	requireAzurite(t)
	t.Parallel()
	ctx := testContext(t)
	env := newEnv(t, "testdata/app", nil)
	work := env.settings["WORK_QUEUE"]
	qc, err := env.host.queueClient(ctx, work)
	if err != nil {
		t.Fatal(err)
	}
	// Go code that forgets to base64 the text: the host poisons it at once.
	if _, err := qc.EnqueueMessage(ctx, `{"sr":"SR-2"}`, nil); err != nil {
		t.Fatal(err)
	}
	if err := env.host.DrainQueues(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(env.fake.calls("Work")); n != 0 {
		t.Errorf("the function was invoked %d times, want 0", n)
	}
	if got, want := env.host.QueueCounts("Work"), (QueueCounts{Poisoned: 1}); got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	poison, err := env.host.PeekMessages(ctx, work+PoisonSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{`{"sr":"SR-2"}`}, poison); diff != "" {
		t.Errorf("poison queue (-want +got):\n%s", diff)
	}
}

func TestQueueOutputBindings(t *testing.T) {
	requireAzurite(t)
	tests := []struct {
		name    string
		outputs string // the reply's Outputs object
		want    []string
	}{
		{"object", `{"next": {"step": "notify", "n": 1}}`, []string{`{"step":"notify","n":1}`}},
		{"object, name in another case", `{"NEXT": { "step" : "x" }}`, []string{`{"step":"x"}`}},
		{"array: one message per element", `{"next": [{"n": 1}, {"n": 2}, "plain text", 3]}`, []string{`{"n":1}`, `{"n":2}`, "plain text", "3"}},
		{"plain string", `{"next": "hello world"}`, []string{"hello world"}},
		{"base64-looking string is decoded (host quirk)", `{"next": "test"}`, []string{"\xb5\xeb\x2d"}},
		{"32-hex id is decoded too", `{"next": "0123456789abcdef0123456789abcdef"}`, []string{decodedBase64("0123456789abcdef0123456789abcdef")}},
		{"null", `{"next": null}`, nil},
		{"absent", `{}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			env := newEnv(t, "testdata/app", nil)
			env.fake.setReply(func(received) reply { return ok(`{"Outputs": ` + tt.outputs + `}`) })
			if err := env.host.Enqueue(ctx, env.settings["WORK_QUEUE"], "go"); err != nil {
				t.Fatal(err)
			}
			if err := env.host.DrainQueues(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := env.host.PeekMessages(ctx, env.settings["NEXT_QUEUE"])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("messages on the output queue (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("HTTP function with a queue output", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		env := newEnv(t, "testdata/app", nil)
		steps := env.settings["STEPS_QUEUE"]

		env.fake.setReply(func(received) reply {
			return reply{status: 500, body: `{"Outputs": {"res": {"statusCode": 202}, "steps": [{"sr": "lost"}]}}`}
		})
		code := serve(env.host, "POST", "/api/purchase-orders", `{"po": 1}`)
		if got, _ := env.host.PeekMessages(ctx, steps); code != 500 || len(got) != 0 {
			t.Errorf("failed invocation: status %d and messages %v, want 500 and none", code, got)
		}

		env.fake.setReply(func(received) reply {
			return ok(`{"Outputs": {"res": {"statusCode": 202, "body": {"sr": "SR-1"}}, "steps": [{"sr": "SR-1", "step": "a"}, {"sr": "SR-1", "step": "b"}]}}`)
		})
		code = serve(env.host, "POST", "/api/purchase-orders", `{"po": 1}`)
		got, err := env.host.PeekMessages(ctx, steps)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{`{"sr":"SR-1","step":"a"}`, `{"sr":"SR-1","step":"b"}`}, got); code != 202 || diff != "" {
			t.Errorf("status %d (want 202); messages (-want +got):\n%s", code, diff)
		}
	})
}

func TestDrainWaitsForReleasedMessages(t *testing.T) {
	requireAzurite(t)
	t.Parallel()
	ctx := testContext(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "host.json"), `{
		"version": "2.0",
		"customHandler": {"description": {"defaultExecutablePath": "handler"}},
		"extensions": {"queues": {"visibilityTimeout": "00:00:02", "maxDequeueCount": 3}}
	}`)
	writeFile(t, filepath.Join(dir, "functions", "Work", "function.json"),
		`{"bindings": [{"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "%WORK_QUEUE%"}]}`)
	env := newEnv(t, dir, nil)
	env.fake.setReply(func(r received) reply {
		if string(r.Metadata["DequeueCount"]) == `"1"` {
			return reply{status: 503}
		}
		return ok(`{}`)
	})
	if err := env.host.Enqueue(ctx, env.settings["WORK_QUEUE"], "later"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := env.host.DrainQueues(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := env.host.QueueCounts("Work"), (QueueCounts{Processed: 1, Failed: 1}); got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	if d := time.Since(start); d < 1500*time.Millisecond {
		t.Errorf("drained in %s: the retry should have waited for the 2 s visibilityTimeout", d)
	}
}

func TestDrainIsBounded(t *testing.T) {
	requireAzurite(t)
	t.Parallel()
	ctx := testContext(t)
	env := newEnv(t, "testdata/app", nil, func(c *Config) {
		c.Settings["NEXT_QUEUE"] = c.Settings["WORK_QUEUE"] // every message makes another
		c.DrainTimeout = 2 * time.Second
	})
	env.fake.setReply(func(received) reply { return ok(`{"Outputs": {"next": {"again": true}}}`) })
	if err := env.host.Enqueue(ctx, env.settings["WORK_QUEUE"], "start"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := env.host.DrainQueues(ctx)
	if err == nil || !strings.Contains(err.Error(), "not empty after 2s") {
		t.Errorf("DrainQueues = %v, want a 'not empty after 2s' error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("DrainQueues took %s", d)
	}
}

func TestRunQueues(t *testing.T) {
	requireAzurite(t)
	t.Parallel()
	ctx := testContext(t)
	env := newEnv(t, "testdata/app", nil, func(c *Config) { c.PollInterval = 200 * time.Millisecond })
	env.fake.setReply(func(received) reply { return ok(`{}`) })

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- env.host.RunQueues(runCtx) }()
	for i := range 3 {
		if err := env.host.Enqueue(ctx, env.settings["WORK_QUEUE"], strings.Repeat("m", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for env.host.QueueCounts("Work").Processed < 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunQueues = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunQueues did not return after its context ended")
	}
	if got := env.host.QueueCounts("Work").Processed; got != 3 {
		t.Errorf("processed %d, want 3", got)
	}
}

func TestQueuesNeedAService(t *testing.T) {
	env := newEnv(t, "testdata/app", nil, func(c *Config) { c.QueueEndpoint, c.QueueCredential = "", nil })
	err := env.host.DrainQueues(testContext(t))
	if err == nil || !strings.Contains(err.Error(), "no queue service configured") {
		t.Errorf("DrainQueues = %v, want 'no queue service configured'", err)
	}
}

func TestQueueNameSettingMissing(t *testing.T) {
	app, err := Load("testdata/app")
	if err != nil {
		t.Fatal(err)
	}
	_, err = app.Target("http://127.0.0.1:1", Config{Settings: map[string]string{"HOURLY_SCHEDULE": "0 0 * * * *"}})
	if err == nil || !strings.Contains(err.Error(), "WORK_QUEUE") && !strings.Contains(err.Error(), "STEPS_QUEUE") {
		t.Errorf("Target = %v, want an error naming the missing queue setting", err)
	}
}

// decodedBase64 returns the bytes s stands for in base64, as a string.
func decodedBase64(s string) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// serve sends one request through the host and returns the status.
func serve(h *Host, method, path, body string) int {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	return rec.Code
}
