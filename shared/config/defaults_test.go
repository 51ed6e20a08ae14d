package config

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/storageaccount"
)

// TestReadmeDefaultsMatch keeps the defaults the README's configuration
// table states equal to those Load applies.
func TestReadmeDefaultsMatch(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Za-z0-9_]+)` \\|([^|]*)\\|")
	stated := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(raw), -1) {
		stated[m[1]] = strings.TrimSpace(m[2])
	}
	for _, k := range Keys {
		cell, ok := stated[k.Name]
		if !ok {
			t.Errorf("README.md has no configuration row for `%s`", k.Name)
			continue
		}
		if k.Default != "" && cell != "`"+k.Default+"`" {
			t.Errorf("README.md gives `%s` the default %s; Load applies `%s`", k.Name, cell, k.Default)
		}
	}
}

// loadWithDefaults loads the minimal valid settings plus kv (name, value,
// name, value ...) and returns the Config and the names of the settings
// with problems, in order.
func loadWithDefaults(kv ...string) (Config, []string) {
	m := map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true", "ADMINS": "a@it.example.gov",
		"MAIL_MODE": "outbox", "CENTRAL_IT_EMAIL": "it@central.example.gov"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	cfg, err := Load(env(m))
	var cerr *Error
	if !errors.As(err, &cerr) {
		return cfg, nil
	}
	var names []string
	for _, p := range cerr.Problems {
		name, _, _ := strings.Cut(p, ":")
		names = append(names, name)
	}
	return cfg, names
}

func TestTimeoutSettings(t *testing.T) {
	tests := []struct {
		name      string
		kv        []string
		want      storageaccount.Timeouts
		wantGraph time.Duration
		problems  []string
	}{
		{name: "defaults", want: storageaccount.Timeouts{Try: 10 * time.Second, Operation: 30 * time.Second}, wantGraph: 100 * time.Second},
		{name: "set", kv: []string{"STORAGE_TRY_TIMEOUT", "250ms", "STORAGE_OPERATION_TIMEOUT", "2s", "GRAPH_TIMEOUT", "45s"},
			want: storageaccount.Timeouts{Try: 250 * time.Millisecond, Operation: 2 * time.Second}, wantGraph: 45 * time.Second},
		{name: "not durations", kv: []string{"STORAGE_TRY_TIMEOUT", "10", "STORAGE_OPERATION_TIMEOUT", "soon", "GRAPH_TIMEOUT", "-1s"},
			problems: []string{"STORAGE_TRY_TIMEOUT", "STORAGE_OPERATION_TIMEOUT", "GRAPH_TIMEOUT"}},
		{name: "out of range", kv: []string{"STORAGE_TRY_TIMEOUT", "1ms", "STORAGE_OPERATION_TIMEOUT", "1h", "GRAPH_TIMEOUT", "0s"},
			problems: []string{"STORAGE_TRY_TIMEOUT", "STORAGE_OPERATION_TIMEOUT", "GRAPH_TIMEOUT"}},
		{name: "a call shorter than one attempt", kv: []string{"STORAGE_TRY_TIMEOUT", "20s", "STORAGE_OPERATION_TIMEOUT", "5s"},
			problems: []string{"STORAGE_OPERATION_TIMEOUT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, problems := loadWithDefaults(tt.kv...)
			if diff := cmp.Diff(tt.problems, problems); diff != "" {
				t.Fatalf("settings with problems (-want +got):\n%s", diff)
			}
			if tt.problems == nil && (cfg.Storage.Timeouts != tt.want || cfg.Graph.Timeout != tt.wantGraph) {
				t.Errorf("storage %+v graph %s, want %+v and %s", cfg.Storage.Timeouts, cfg.Graph.Timeout, tt.want, tt.wantGraph)
			}
		})
	}
}
