package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/devkit/funchost"
	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout string
		wantStderr []string
	}{
		{"help", []string{"help"}, nil, 0, "handler run <job>", nil},
		{"unknown command", []string{"serv"}, nil, 2, "", []string{`unknown command "serv"`, "usage:"}},
		{"every bad setting named", nil, map[string]string{"LOG_LEVEL": "loud"}, 1, "", []string{"AzureWebJobsStorage", "ADMINS", "LOG_LEVEL", "CENTRAL_IT_EMAIL"}},
		{"serve needs the port", nil, map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true", "ADMINS": "a@b.example.gov", "MAIL_MODE": "outbox", "CENTRAL_IT_EMAIL": "it@b.example.gov"}, 1, "", []string{"FUNCTIONS_CUSTOMHANDLER_PORT is not set"}},
		{"run needs a job", []string{"run"}, map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true", "ADMINS": "a@b.example.gov", "MAIL_MODE": "outbox", "CENTRAL_IT_EMAIL": "it@b.example.gov"}, 2, "", []string{"run needs a job name", "init-storage"}},
		{"unknown job", []string{"run", "payrol"}, map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true", "ADMINS": "a@b.example.gov", "MAIL_MODE": "outbox", "CENTRAL_IT_EMAIL": "it@b.example.gov"}, 2, "", []string{`unknown job "payrol"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, envOf(tt.env), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstderr: %s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout.String(), tt.wantStdout)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr = %q, want it to contain %q", stderr.String(), w)
				}
			}
		})
	}
}

// buildHandler builds the handler as `make stage` does (static, linux) into
// a temporary folder.
func buildHandler(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the staged handler is a linux binary")
	}
	return sharedHandler(t)
}

// TestStagedBinaryUnderHost starts the real binary the way the Functions host
// does (FUNCTIONS_CUSTOMHANDLER_PORT, readiness probe on GET /) and sends it
// an Agencies invocation as the host sends it, then goes through the
// harness's /api front end like a client would.
func TestStagedBinaryUnderHost(t *testing.T) {
	acct := azuritetest.Account(t)
	bin := buildHandler(t)
	app, err := funchost.Load(".")
	if err != nil {
		t.Fatal(err)
	}
	// The shipped binary has no synthetic tenant of its own: it reads a fake
	// Graph tenant served by the test, as it would read Microsoft Graph.
	gs := httptest.NewServer(graphfake.NewServer(graphfake.NewTenant(), slog.New(slog.DiscardHandler)))
	defer gs.Close()
	env := append(os.Environ(),
		"AzureWebJobsStorage=UseDevelopmentStorage=true",
		"ADMINS=admin@central-it.example.gov",
		"AUTH_ALLOW_ANONYMOUS=false",
		"LOG_LEVEL=info",
		"MAIL_MODE=outbox",
		"CENTRAL_IT_EMAIL=licensing@central-it.example.gov",
		"GRAPH_MODE=live", "GRAPH_AUTH=none", "GRAPH_BASE_URL="+gs.URL+"/v1.0",
	)
	qsvc, err := acct.QueueService()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	queue := azuritetest.Name(t, "steps")
	env = append(env, "ACTIVATION_QUEUE="+queue, "WORK_QUEUE="+queue+"-work")
	host, err := app.Start(ctx, bin, env, funchost.Config{QueueService: qsvc, Settings: map[string]string{"ACTIVATION_QUEUE": queue, "WORK_QUEUE": queue + "-work"}})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()

	// The readiness probe.
	resp, err := http.Get(host.HandlerURL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET / = %d", resp.StatusCode)
	}

	// An invocation exactly as the host POSTs it: a list of agencies by an
	// unknown caller is refused inside a 200 reply.
	envelope := `{"Data":{"req":{"Url":"https://func.example.net/api/agencies","Method":"GET","Query":{},` +
		`"Headers":{"X-MS-CLIENT-PRINCIPAL-NAME":["someone@else.example.gov"]},"Params":{},"Identities":[]}},` +
		`"Metadata":{"Query":"{}","Headers":"{}","sys":{"MethodName":"Agencies","UtcNow":"2026-11-23T06:00:00Z","RandGuid":"b7c1c4de-5d5a-4c25-9d41-2f4fb1e0a6a1"}}}`
	req, _ := http.NewRequest(http.MethodPost, host.HandlerURL()+"/Agencies", strings.NewReader(envelope))
	req.Header.Set("X-Azure-Functions-InvocationId", "8a0c5e9e-0b89-4f9b-9d7a-2d2b6c9f0c01")
	req.Header.Set("X-Azure-Functions-HostVersion", "4.1040.300.0")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var reply struct {
		Outputs struct{ Res struct{ StatusCode int } }
		Logs    []string
	}
	if err := json.Unmarshal(raw, &reply); err != nil {
		t.Fatalf("reply: %v: %s", err, raw)
	}
	if resp.StatusCode != 200 || reply.Outputs.Res.StatusCode != 403 || len(reply.Logs) == 0 {
		t.Errorf("host status %d, res %d, logs %v; want 200, 403 and logs", resp.StatusCode, reply.Outputs.Res.StatusCode, reply.Logs)
	}

	// Through the harness's front end, as a client calls /api/...
	front := httptest.NewServer(host)
	defer front.Close()
	// A conditional write on an agency that does not exist writes nothing
	// and comes back 412 with the ETag rules applied by the real store.
	body := `{"name":"Test Agency","contacts":["t@test.example.gov"],"attribution":{"attribute":"department","values":["Test"]}}`
	put, _ := http.NewRequest(http.MethodPut, front.URL+"/api/agencies/ZZTEST-NEVER", strings.NewReader(body))
	put.Header.Set("Content-Type", "application/json")
	put.Header.Set("If-Match", `W/"datetime'2000-01-01T00%3A00%3A00Z'"`)
	put.Header.Set("X-MS-CLIENT-PRINCIPAL-NAME", "admin@central-it.example.gov")
	resp, err = http.DefaultClient.Do(put)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPreconditionFailed || !strings.Contains(string(raw), `"stale"`) {
		t.Fatalf("PUT through the front end = %d %s, want 412 stale", resp.StatusCode, raw)
	}
}

// BenchmarkStartToReady measures how long the staged handler takes from
// exec to answering the host's readiness probe (the host allows 30 s),
// polling every millisecond as a stand-in for the host's probe.
func BenchmarkStartToReady(b *testing.B) {
	bin := sharedHandler(b)
	client := &http.Client{Timeout: time.Second}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		port := 20000 + i%20000
		p := exec.Command(bin)
		p.Env = append(os.Environ(), "AzureWebJobsStorage=UseDevelopmentStorage=true", "ADMINS=admin@central-it.example.gov",
			"MAIL_MODE=outbox", "CENTRAL_IT_EMAIL=licensing@central-it.example.gov",
			"LOG_LEVEL=error", "FUNCTIONS_CUSTOMHANDLER_PORT="+strconv.Itoa(port))
		if err := p.Start(); err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := client.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				b.Fatal("the handler did not answer within 30 s")
			}
			time.Sleep(time.Millisecond)
		}
		b.StopTimer()
		p.Process.Signal(syscall.SIGTERM)
		p.Wait()
		b.StartTimer()
	}
	if fi, err := os.Stat(bin); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "MiB-binary")
	}
}
