package funchost

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadTestApp(t *testing.T) {
	app, err := Load("testdata/app")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range app.Functions {
		names = append(names, f.Name)
	}
	wantNames := []string{"Agencies", "Hourly", "Items", "LicenseReports", "Nightly", "OtherReports", "PurchaseOrders", "ServiceRequests", "Work"}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("functions (-want +got):\n%s", diff)
	}
	wantHost := HostSettings{
		ExecutablePath:  "handler",
		Arguments:       []string{},
		RoutePrefix:     "api",
		FunctionTimeout: 30 * time.Second,
		Queues: QueueSettings{
			MaxDequeueCount:    2,
			VisibilityTimeout:  0,
			BatchSize:          8,
			NewBatchThreshold:  4,
			MaxPollingInterval: 500 * time.Millisecond,
		},
	}
	if diff := cmp.Diff(wantHost, app.Host); diff != "" {
		t.Errorf("host settings (-want +got):\n%s", diff)
	}
	ag := app.Function("agencies")
	if ag == nil || ag.Trigger.Name != "req" || ag.Route.Template() != "agencies/{id?}" || ag.HTTPOutput().Name != "res" {
		t.Errorf("Agencies = %+v", ag)
	}
	if diff := cmp.Diff([]string{"GET", "PUT"}, ag.Trigger.Methods); diff != "" {
		t.Errorf("methods (-want +got):\n%s", diff)
	}
	if n := app.Function("Nightly"); n.Schedule == nil || n.Schedule.String() != "0 30 9 * * Mon-Fri" {
		t.Errorf("Nightly schedule = %v", n.Schedule)
	}
	if h := app.Function("Hourly"); h.Schedule != nil {
		t.Errorf("Hourly's schedule names a setting and should wait for the Host, got %v", h.Schedule)
	}
}

func TestLoadStagedLayoutAndDefaults(t *testing.T) {
	app, err := Load("testdata/forward")
	if err != nil {
		t.Fatal(err)
	}
	if len(app.Functions) != 2 || app.Function("Download") == nil || app.Function("Intake") == nil {
		t.Fatalf("functions = %v", app.Functions)
	}
	if !app.Host.ForwardHTTP {
		t.Error("enableProxyingHttpRequest should turn forwarding on")
	}
	want := QueueSettings{MaxDequeueCount: 5, BatchSize: 16, NewBatchThreshold: 8, MaxPollingInterval: time.Minute}
	if diff := cmp.Diff(want, app.Host.Queues); diff != "" {
		t.Errorf("queue defaults (-want +got):\n%s", diff)
	}
	if app.Host.RoutePrefix != "api" {
		t.Errorf("default route prefix = %q, want api", app.Host.RoutePrefix)
	}
	if !app.Function("Download").isHTTPInAndOut() || app.Function("Intake").isHTTPInAndOut() {
		t.Error("Download is HTTP in/out only; Intake also has a queue output")
	}
}

func TestLoadTheRealApp(t *testing.T) {
	// The app's own function folders must load too.
	if _, err := os.Stat("../../../host.json"); err != nil {
		t.Skip("no app host.json two levels up")
	}
	if _, err := Load("../../.."); err != nil {
		t.Fatal(err)
	}
}

func TestLoadErrors(t *testing.T) {
	const goodHost = `{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "handler"}}}`
	const httpOut = `{"type": "http", "direction": "out", "name": "res"}`
	tests := []struct {
		name     string
		host     string
		function string // bindings JSON array, for function "F"
		want     string // in the error; "F/function.json" or "host.json" is checked too
	}{
		{"two triggers", goodHost, `[{"type": "httpTrigger", "direction": "in", "name": "req"}, {"type": "timerTrigger", "direction": "in", "name": "t", "schedule": "0 0 * * * *"}]`, "two triggers"},
		{"no trigger", goodHost, `[` + httpOut + `]`, "no trigger"},
		{"unknown type", goodHost, `[{"type": "blobTrigger", "direction": "in", "name": "b", "path": "x/{name}"}]`, `binding type "blobTrigger"`},
		{"bad schedule", goodHost, `[{"type": "timerTrigger", "direction": "in", "name": "t", "schedule": "0 0 6 * Mon"}]`, "want 6 fields"},
		{"bad weekday", goodHost, `[{"type": "timerTrigger", "direction": "in", "name": "t", "schedule": "0 0 6 * * Mun"}]`, `"Mun" is not a number or a name`},
		{"bad route", goodHost, `[{"type": "httpTrigger", "direction": "in", "name": "req", "route": "a/{id?}/b"}, ` + httpOut + `]`, "follows an optional parameter"},
		{"bad method", goodHost, `[{"type": "httpTrigger", "direction": "in", "name": "req", "methods": ["fetch"]}, ` + httpOut + `]`, `method "fetch"`},
		{"queue without name", goodHost, `[{"type": "queueTrigger", "direction": "in", "name": "m"}]`, "queueName is empty"},
		{"bad queue name", goodHost, `[{"type": "queueTrigger", "direction": "in", "name": "m", "queueName": "Bad_Name"}]`, `queue name "Bad_Name"`},
		{"queue as input", goodHost, `[{"type": "httpTrigger", "direction": "in", "name": "req"}, {"type": "queue", "direction": "in", "name": "q", "queueName": "abc"}]`, `must have direction "out"`},
		{"trigger as output", goodHost, `[{"type": "httpTrigger", "direction": "out", "name": "req"}]`, `must have direction "in"`},
		{"duplicate names", goodHost, `[{"type": "httpTrigger", "direction": "in", "name": "req"}, {"type": "http", "direction": "out", "name": "REQ"}]`, "appears twice"},
		{"http out without http trigger", goodHost, `[{"type": "timerTrigger", "direction": "in", "name": "t", "schedule": "0 0 * * * *"}, ` + httpOut + `]`, "needs an httpTrigger"},
		{"no name", goodHost, `[{"type": "httpTrigger", "direction": "in"}]`, "no name"},
		{"bad JSON", goodHost, "[\n{\"type\": \"httpTrigger\",\n\"direction\": \"in\" \"name\": \"req\"}]", "line 3"},
		{"not a custom handler", `{"version": "2.0"}`, `[{"type": "httpTrigger", "direction": "in", "name": "req"}]`, "not a custom handler app"},
		{"bad host version", `{"version": "1.0", "customHandler": {"description": {"defaultExecutablePath": "h"}}}`, `[{"type": "httpTrigger", "direction": "in", "name": "req"}]`, `version "1.0"`},
		{"bad timespan", `{"customHandler": {"description": {"defaultExecutablePath": "h"}}, "extensions": {"queues": {"visibilityTimeout": "30s"}}}`, `[{"type": "httpTrigger", "direction": "in", "name": "req"}]`, "visibilityTimeout"},
		{"bad batch size", `{"customHandler": {"description": {"defaultExecutablePath": "h"}}, "extensions": {"queues": {"batchSize": 64}}}`, `[{"type": "httpTrigger", "direction": "in", "name": "req"}]`, "batchSize 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "host.json"), tt.host)
			writeFile(t, filepath.Join(dir, "functions", "F", "function.json"), `{"bindings": `+tt.function+`}`)
			_, err := Load(dir)
			if err == nil {
				t.Fatalf("Load succeeded, want an error containing %q", tt.want)
			}
			file := filepath.Join("F", "function.json")
			if strings.Contains(tt.name, "host") || strings.Contains(tt.name, "custom handler") || strings.Contains(tt.name, "timespan") || strings.Contains(tt.name, "batch") {
				file = "host.json"
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), file) {
				t.Errorf("error %q should contain %q and name %s", err, tt.want, file)
			}
		})
	}
	t.Run("no functions", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "host.json"), goodHost)
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "no function folders") {
			t.Errorf("Load = %v, want 'no function folders'", err)
		}
	})
}

func TestResolveSetting(t *testing.T) {
	settings := map[string]string{"Q": "orders", "ENV": "dev", "SCHEDULE": "0 0 * * * *"}
	tests := []struct{ in, want, err string }{
		{"plain", "plain", ""},
		{"%Q%", "orders", ""},
		{"%Q%-%ENV%", "orders-dev", ""},
		{"%SCHEDULE%", "0 0 * * * *", ""},
		{"%MISSING%", "", "MISSING"},
	}
	for _, tt := range tests {
		got, err := ResolveSetting(tt.in, settings)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ResolveSetting(%q) error = %v, want one naming %s", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ResolveSetting(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseTimeSpan(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"00:00:30", 30 * time.Second},
		{"00:10:00", 10 * time.Minute},
		{"01:02:03", time.Hour + 2*time.Minute + 3*time.Second},
		{"00:00:00.250", 250 * time.Millisecond},
		{"1.00:00:00", 24 * time.Hour},
	}
	for _, tt := range tests {
		got, err := parseTimeSpan(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseTimeSpan(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"30", "00:60:00", "24:00:00", "a:b:c", "00:00"} {
		if _, err := parseTimeSpan(bad); err == nil {
			t.Errorf("parseTimeSpan(%q) succeeded, want an error", bad)
		}
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
