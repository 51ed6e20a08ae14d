package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// invokeRaw POSTs a captured envelope to a server with one extra function.
func invokeRaw(t *testing.T, name string, fn function, file string) (int, InvokeResponse, string) {
	t.Helper()
	stdout := &bytes.Buffer{}
	srv := New(Config{Logger: slog.New(slog.NewTextHandler(stdout, nil))})
	srv.functions[name] = fn
	ts := httptest.NewServer(srv)
	defer ts.Close()
	body, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(ts.URL+"/"+name, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out InvokeResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("reply: %v: %s", err, raw)
	}
	return resp.StatusCode, out, stdout.String()
}

func TestQueuePolicy(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantStdout bool // failing invocations must log to stdout: the host drops their Logs
		wantOutput bool
	}{
		{"success", nil, 200, false, true},
		{"unavailable is retried", licensing.Wrap("graph.read", licensing.Unavailable, "", errors.New("429 throttled")), 503, true, false},
		{"internal is retried", errors.New("nil map"), 500, true, false},
		{"stale is retried", licensing.Errorf("tablestore.put", licensing.Stale, "raced"), 500, true, false},
		{"invalid gives up", licensing.Errorf("sr.validate", licensing.Invalid, "bad SKU"), 200, false, false},
		{"not found gives up", licensing.Errorf("sr.get", licensing.NotFound, "no SR"), 200, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *QueueMessage
			fn := queueFunction("msg", func(ctx context.Context, m *QueueMessage, log *slog.Logger) (map[string]any, error) {
				got = m
				log.Info("working on it", "sr", "4d2c")
				if tt.err != nil {
					return map[string]any{"next": map[string]string{"step": "record"}}, tt.err
				}
				return map[string]any{"next": map[string]string{"step": "record"}}, nil
			})
			status, out, stdout := invokeRaw(t, "ActivationSteps", fn, "queue-double-encoded.json")
			if status != tt.wantStatus {
				t.Errorf("host status = %d, want %d", status, tt.wantStatus)
			}
			if got == nil || got.Text != `{"sr":"4d2c","step":"validate"}` || got.DequeueCount != 2 {
				t.Fatalf("message = %+v", got)
			}
			if (out.Outputs["next"] != nil) != tt.wantOutput {
				t.Errorf("outputs = %v, want output %v", out.Outputs, tt.wantOutput)
			}
			if len(out.Logs) == 0 || !strings.Contains(strings.Join(out.Logs, "\n"), "working on it") {
				t.Errorf("Logs = %v", out.Logs)
			}
			if hasStdout := strings.Contains(stdout, "working on it"); hasStdout != tt.wantStdout {
				t.Errorf("stdout has the log lines = %v, want %v:\n%s", hasStdout, tt.wantStdout, stdout)
			}
		})
	}
}

func TestUnreadableQueueMessageIsRetried(t *testing.T) {
	called := false
	// The function expects a binding named "other"; the payload has "msg".
	fn := queueFunction("other", func(context.Context, *QueueMessage, *slog.Logger) (map[string]any, error) {
		called = true
		return nil, nil
	})
	status, _, stdout := invokeRaw(t, "ActivationSteps", fn, "queue-double-encoded.json")
	if status < 300 || called {
		t.Errorf("status = %d, called = %v; want a failed invocation without calling the function", status, called)
	}
	if !strings.Contains(stdout, "could not be read") {
		t.Errorf("stdout = %s", stdout)
	}
}

func TestTimerPolicy(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
	}{
		{"success", nil, 200},
		{"failure fails the invocation", licensing.Wrap("payroll", licensing.Unavailable, "", errors.New("graph down")), 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *TimerInfo
			fn := timerFunction("timer", func(ctx context.Context, ti *TimerInfo, log *slog.Logger) error {
				got = ti
				return tt.err
			})
			status, out, _ := invokeRaw(t, "PayrollReport", fn, "timer.json")
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			if got == nil || !got.IsPastDue {
				t.Fatalf("timer = %+v", got)
			}
			if tt.err == nil && !strings.Contains(strings.Join(out.Logs, "\n"), "past due") {
				t.Errorf("Logs = %v", out.Logs)
			}
		})
	}
}

func TestMalformedEnvelopeFailsInvocation(t *testing.T) {
	srv := New(Config{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	resp, err := http.Post(ts.URL+"/Agencies", "application/json", strings.NewReader(`{"Data": [`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Errorf("status = %d, want 500", resp.StatusCode)
	}
}

func TestPanicFailsOnlyTheInvocation(t *testing.T) {
	fn := queueFunction("msg", func(context.Context, *QueueMessage, *slog.Logger) (map[string]any, error) {
		var m map[string]int
		m["x"]++ // a bug
		return nil, nil
	})
	status, _, stdout := invokeRaw(t, "ActivationSteps", fn, "queue-double-encoded.json")
	if status != 500 || !strings.Contains(stdout, "panic") {
		t.Errorf("status %d, stdout %s", status, stdout)
	}
}
