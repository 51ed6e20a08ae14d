package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/funchost"
	"github.com/shared-tenant/licensetrack/shared/devkit/stalled"
)

// TestStalledStorageAnswers503 runs the staged handler under the host
// harness with every storage endpoint on a server that accepts connections
// and never answers. API requests that need storage must come back 503 with
// Retry-After once the storage deadline runs out, instead of hanging.
func TestStalledStorageAnswers503(t *testing.T) {
	srv := stalled.Start(t)
	const operation = 2 * time.Second
	front := serveUnderHost(t, "AzureWebJobsStorage="+srv.StorageConnectionString(),
		"STORAGE_TRY_TIMEOUT=500ms", "STORAGE_OPERATION_TIMEOUT="+operation.String(),
		"GRAPH_MODE=live", "GRAPH_AUTH=none", "GRAPH_BASE_URL=http://127.0.0.1:9/v1.0")

	agency := `{"name":"Test Agency","contacts":["t@test.example.gov"],"attribution":{"attribute":"department","values":["Test"]}}`
	tests := []struct {
		name, method, path, body string
	}{
		{"read an agency", http.MethodGet, "/api/agencies/DOA", ""},
		{"write an agency", http.MethodPut, "/api/agencies/TEST", agency},
		{"list service requests", http.MethodGet, "/api/service-requests?agency=DOA", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, front+tt.path, strings.NewReader(tt.body))
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			req.Header.Set("X-MS-CLIENT-PRINCIPAL-NAME", testAdmin)
			client := &http.Client{Timeout: 3 * operation}
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("no answer within %s (storage operation deadline %s): %v", 3*operation, operation, err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Logf("answered %d after %s", resp.StatusCode, time.Since(start).Round(time.Millisecond))
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("status = %d, want 503: %s", resp.StatusCode, raw)
			}
			if ra := resp.Header.Get("Retry-After"); ra == "" || strings.Trim(ra, "0123456789") != "" {
				t.Errorf("Retry-After = %q, want a number of seconds", ra)
			}
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(raw, &e); err != nil || e.Error.Code != "unavailable" || e.Error.Message == "" {
				t.Errorf("body = %s, want the JSON error with code unavailable", raw)
			}
		})
	}
}

// serveUnderHost starts the staged handler under the host harness, with
// the settings every test needs and then env, until the test ends. It
// returns the URL of the harness's front end, where clients call /api/....
func serveUnderHost(t *testing.T, env ...string) string {
	t.Helper()
	bin := sharedHandler(t)
	app, err := funchost.Load(testAppDir(t))
	if err != nil {
		t.Fatal(err)
	}
	env = append(append(os.Environ(), "ADMINS="+testAdmin, "MAIL_MODE=outbox",
		"CENTRAL_IT_EMAIL=licensing@central-it.example.gov", "LOG_LEVEL=error"), env...)
	host, err := app.Start(context.Background(), bin, env, funchost.Config{Settings: map[string]string{"ACTIVATION_QUEUE": "activation-steps", "WORK_QUEUE": "work-items"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })
	front := httptest.NewServer(host)
	t.Cleanup(front.Close)
	return front.URL
}
