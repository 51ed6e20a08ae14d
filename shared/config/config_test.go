package config

import (
	"encoding/json"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// env turns a map into the getenv Load takes.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func sampleValues(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile("../../local.settings.sample.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		IsEncrypted bool
		Values      map[string]string
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("local.settings.sample.json: %v", err)
	}
	return f.Values
}

// TestSampleListsEveryKey keeps local.settings.sample.json and Keys in step:
// every setting the app or host reads is in the sample, nothing unknown is.
func TestSampleListsEveryKey(t *testing.T) {
	values := sampleValues(t)
	var want, got []string
	for _, k := range Keys {
		if k.Owner != "platform" {
			want = append(want, k.Name)
		}
	}
	for k := range values {
		got = append(got, k)
	}
	sort.Strings(want)
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sample keys differ from config.Keys (-Keys +sample):\n%s", diff)
	}
}

// TestReadmeListsEveryKey keeps the README's configuration table complete.
func TestReadmeListsEveryKey(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys {
		if !strings.Contains(string(raw), "`"+k.Name+"`") {
			t.Errorf("README.md does not document `%s`", k.Name)
		}
	}
}

func TestSampleLoads(t *testing.T) {
	cfg, err := Load(env(sampleValues(t)))
	if err != nil {
		t.Fatalf("the sample settings must work as they are: %v", err)
	}
	if cfg.Storage.Account == nil {
		t.Fatal("the sample's UseDevelopmentStorage=true gave no storage account")
	}
	if cfg.InAzure || cfg.AllowAnonymous || cfg.Port != 0 {
		t.Errorf("unexpected: InAzure=%v AllowAnonymous=%v Port=%d", cfg.InAzure, cfg.AllowAnonymous, cfg.Port)
	}
}

func TestLoad(t *testing.T) {
	base := map[string]string{
		"AzureWebJobsStorage": "UseDevelopmentStorage=true",
		"ADMINS":              "Admin@Central.example.gov, 0f1e2d3c-aaaa-bbbb-cccc-000000000001",
		"MAIL_MODE":           "outbox",
		"CENTRAL_IT_EMAIL":    "it@central.example.gov",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<unset>" {
				delete(m, kv[i])
				continue
			}
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name     string
		env      map[string]string
		check    func(t *testing.T, c Config)
		problems []string // substrings, one per expected problem, in order
	}{
		{
			name: "defaults",
			env:  with(),
			check: func(t *testing.T, c Config) {
				if diff := cmp.Diff([]string{"admin@central.example.gov", "0f1e2d3c-aaaa-bbbb-cccc-000000000001"}, c.Admins); diff != "" {
					t.Errorf("admins (-want +got):\n%s", diff)
				}
				if c.LogLevel != slog.LevelInfo || c.Port != 0 || c.AllowAnonymous {
					t.Errorf("defaults wrong: %+v", c)
				}
			},
		},
		{
			name: "port and level",
			env:  with("FUNCTIONS_CUSTOMHANDLER_PORT", "7071", "LOG_LEVEL", "DEBUG"),
			check: func(t *testing.T, c Config) {
				if c.Port != 7071 || c.LogLevel != slog.LevelDebug {
					t.Errorf("got port %d level %v", c.Port, c.LogLevel)
				}
			},
		},
		{
			name: "identity-based storage",
			env:  with("AzureWebJobsStorage", "<unset>", "AzureWebJobsStorage__accountName", "stlicensing01", "AzureWebJobsStorage__clientId", "11111111-2222-3333-4444-555555555555", "AzureWebJobsStorage__credential", "managedidentity"),
			check: func(t *testing.T, c Config) {
				if c.Storage.Account != nil || c.Storage.AccountName != "stlicensing01" || c.Storage.ClientID != "11111111-2222-3333-4444-555555555555" {
					t.Errorf("got %+v", c.Storage)
				}
			},
		},
		{
			name: "empty connection string counts as unset",
			env:  with("AzureWebJobsStorage", "", "AzureWebJobsStorage__accountName", "stlicensing01"),
			check: func(t *testing.T, c Config) {
				if c.Storage.AccountName != "stlicensing01" {
					t.Errorf("got %+v", c.Storage)
				}
			},
		},
		{
			name: "anonymous locally needs no admins",
			env:  with("ADMINS", "", "AUTH_ALLOW_ANONYMOUS", "true"),
			check: func(t *testing.T, c Config) {
				if !c.AllowAnonymous {
					t.Error("AllowAnonymous not set")
				}
			},
		},
		{
			name: "every problem at once",
			env: map[string]string{
				"FUNCTIONS_CUSTOMHANDLER_PORT": "http",
				"AUTH_ALLOW_ANONYMOUS":         "sometimes",
				"LOG_LEVEL":                    "loud",
			},
			problems: []string{
				"FUNCTIONS_CUSTOMHANDLER_PORT: \"http\" is not a port number",
				"AzureWebJobsStorage: is not set",
				"AUTH_ALLOW_ANONYMOUS: \"sometimes\" is not true or false",
				"ADMINS: is empty",
				"LOG_LEVEL: \"loud\" is not one of",
				"MAIL_SENDER: is required",
				"CENTRAL_IT_EMAIL: is empty",
			},
		},
		{
			name:     "both storage forms",
			env:      with("AzureWebJobsStorage__accountName", "stlicensing01"),
			problems: []string{"set either the connection string or AzureWebJobsStorage__accountName"},
		},
		{
			name:     "bad connection string",
			env:      with("AzureWebJobsStorage", "AccountName=x"),
			problems: []string{"AzureWebJobsStorage: "},
		},
		{
			name:     "bad account name and credential",
			env:      with("AzureWebJobsStorage", "<unset>", "AzureWebJobsStorage__accountName", "My_Account", "AzureWebJobsStorage__credential", "secret"),
			problems: []string{"AzureWebJobsStorage__accountName: \"My_Account\"", "AzureWebJobsStorage__credential: \"secret\""},
		},
		{
			name:     "anonymous refused in Azure",
			env:      with("AUTH_ALLOW_ANONYMOUS", "true", "WEBSITE_INSTANCE_ID", "abc"),
			problems: []string{"AUTH_ALLOW_ANONYMOUS: must not be true in Azure"},
		},
		{
			name:     "admins with spaces",
			env:      with("ADMINS", "a@b.gov; c@d.gov"),
			problems: []string{"ADMINS: \"a@b.gov; c@d.gov\""},
		},
		{
			name:     "port out of range",
			env:      with("FUNCTIONS_CUSTOMHANDLER_PORT", "70000"),
			problems: []string{"FUNCTIONS_CUSTOMHANDLER_PORT"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(env(tt.env))
			if len(tt.problems) == 0 {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				tt.check(t, cfg)
				return
			}
			cerr, ok := err.(*Error)
			if !ok {
				t.Fatalf("Load error = %v (%T), want *config.Error", err, err)
			}
			if len(cerr.Problems) != len(tt.problems) {
				t.Fatalf("got %d problems, want %d:\n%v", len(cerr.Problems), len(tt.problems), err)
			}
			for i, want := range tt.problems {
				if !strings.Contains(cerr.Problems[i], want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, cerr.Problems[i], want)
				}
			}
			if strings.Contains(err.Error(), "Eby8vdM02x") {
				t.Error("the error must never show an account key")
			}
		})
	}
}

func TestGraphSettings(t *testing.T) {
	base := map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true", "ADMINS": "a@it.example.gov",
		"MAIL_MODE": "outbox", "CENTRAL_IT_EMAIL": "it@central.example.gov"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name     string
		env      map[string]string
		problems []string
		check    func(t *testing.T, c Config)
	}{
		{name: "defaults: live Graph with a managed identity", env: with(), check: func(t *testing.T, c Config) {
			want := Graph{Mode: "live", BaseURL: "https://graph.microsoft.com/v1.0", Auth: "managed-identity", MaxRetryWait: 2 * time.Minute, Timeout: 100 * time.Second}
			if diff := cmp.Diff(want, c.Graph); diff != "" {
				t.Errorf("graph (-want +got):\n%s", diff)
			}
			if c.Catalog.URL != "" || c.Catalog.MaxAge != 168*time.Hour {
				t.Errorf("catalog = %+v", c.Catalog)
			}
		}},
		{name: "demo", env: with("GRAPH_MODE", "demo", "DEMO_TENANT_USERS", "100000", "DEMO_TENANT_SEED", "7"), check: func(t *testing.T, c Config) {
			if c.Graph.Mode != GraphDemo || c.Graph.DemoUsers != 100000 || c.Graph.DemoSeed != 7 {
				t.Errorf("graph = %+v", c.Graph)
			}
		}},
		{name: "fake on loopback", env: with("GRAPH_AUTH", "none", "GRAPH_BASE_URL", "http://127.0.0.1:8089/v1.0/"), check: func(t *testing.T, c Config) {
			if c.Graph.BaseURL != "http://127.0.0.1:8089/v1.0" {
				t.Errorf("base = %q", c.Graph.BaseURL)
			}
		}},
		{name: "client secret needs its three settings", env: with("GRAPH_AUTH", "client-secret"),
			problems: []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"}},
		{name: "no token only on loopback", env: with("GRAPH_AUTH", "none"), problems: []string{"GRAPH_AUTH: none"}},
		{name: "plain http elsewhere", env: with("GRAPH_BASE_URL", "http://graph.example.com/v1.0"), problems: []string{"GRAPH_BASE_URL"}},
		{name: "demo refused in Azure", env: with("GRAPH_MODE", "demo", "WEBSITE_INSTANCE_ID", "x"), problems: []string{"GRAPH_MODE: demo"}},
		{name: "bad mode and wait", env: with("GRAPH_MODE", "sandbox", "GRAPH_MAX_RETRY_WAIT", "forever"), problems: []string{"GRAPH_MAX_RETRY_WAIT", "GRAPH_MODE"}},
		{name: "demo size", env: with("GRAPH_MODE", "demo", "DEMO_TENANT_USERS", "2000000"), problems: []string{"DEMO_TENANT_USERS"}},
		{name: "catalog URL with a SAS is not echoed", env: with("SKU_CATALOG_URL", "ftp://x.example/list.csv?sig=SECRET"), problems: []string{"SKU_CATALOG_URL"}},
		{name: "catalog age", env: with("SKU_CATALOG_MAX_AGE_HOURS", "0"), problems: []string{"SKU_CATALOG_MAX_AGE_HOURS"}},
		{name: "catalog from a blob", env: with("SKU_CATALOG_URL", "blob:uploads/sku.csv"), check: func(t *testing.T, c Config) {
			if c.Catalog.URL != "blob:uploads/sku.csv" {
				t.Errorf("catalog = %+v", c.Catalog)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(env(tt.env))
			if tt.problems == nil {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, cfg)
				return
			}
			cerr, ok := err.(*Error)
			if !ok || len(cerr.Problems) != len(tt.problems) {
				t.Fatalf("err = %v, want %d problems", err, len(tt.problems))
			}
			for i, p := range tt.problems {
				if !strings.HasPrefix(cerr.Problems[i], p) {
					t.Errorf("problem %d = %q, want it to start with %q", i, cerr.Problems[i], p)
				}
			}
			if strings.Contains(err.Error(), "sig=SECRET") {
				t.Error("the error echoes a secret")
			}
		})
	}
}

func TestWorkflowSettings(t *testing.T) {
	base := map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true", "ADMINS": "a@it.example.gov"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cfg, err := Load(env(with("MAIL_SENDER", "Licensing@Central.example.gov", "CENTRAL_IT_EMAIL", "a@it.example.gov, b@it.example.gov",
		"APP_URL", "https://func.example.net/", "FISCAL_YEAR_END", "09-30", "ACTIVATION_CHECK_EVERY", "30m", "DEFAULT_USAGE_LOCATION", "us",
		"RENEWAL_REMINDER_DAYS", "30, 120,7")))
	if err != nil {
		t.Fatal(err)
	}
	want := Workflow{CentralIT: []string{"a@it.example.gov", "b@it.example.gov"}, AppURL: "https://func.example.net", MaxRequestBytes: 20 << 20,
		GraceDays: 31, FiscalYearEndMonth: time.September, FiscalYearEndDay: 30, CheckEvery: 30 * time.Minute, WaitFor: 14 * 24 * time.Hour, EffectLease: 2 * time.Minute,
		DefaultUsageLocation: "US", RenewalDays: []int{120, 30, 7}}
	if diff := cmp.Diff(want, cfg.Workflow); diff != "" {
		t.Errorf("workflow (-want +got):\n%s", diff)
	}
	if cfg.Mail != (Mail{Mode: MailGraph, Sender: "licensing@central.example.gov"}) {
		t.Errorf("mail = %+v", cfg.Mail)
	}
	_, err = Load(env(with("MAIL_MODE", "smtp", "CENTRAL_IT_EMAIL", "x; y", "APP_URL", "http://func.example.net", "MAX_REQUEST_MB", "500",
		"ENTITLEMENT_GRACE_DAYS", "-1", "FISCAL_YEAR_END", "June 30", "ACTIVATION_CHECK_EVERY", "500ms", "ACTIVATION_WAIT_DAYS", "0",
		"DEFAULT_USAGE_LOCATION", "USA", "RENEWAL_REMINDER_DAYS", "90,90")))
	cerr, ok := err.(*Error)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	var keys []string
	for _, p := range cerr.Problems {
		keys = append(keys, p[:strings.IndexByte(p, ':')])
	}
	wantKeys := []string{"MAIL_MODE", "CENTRAL_IT_EMAIL", "CENTRAL_IT_EMAIL", "APP_URL", "MAX_REQUEST_MB", "ENTITLEMENT_GRACE_DAYS", "FISCAL_YEAR_END", "ACTIVATION_CHECK_EVERY", "DEFAULT_USAGE_LOCATION", "RENEWAL_REMINDER_DAYS", "ACTIVATION_WAIT_DAYS"}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("problems (-want +got):\n%s\n%v", diff, err)
	}
}

func TestReportingSettings(t *testing.T) {
	base := map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true", "ADMINS": "a@it.example.gov", "MAIL_MODE": "outbox", "CENTRAL_IT_EMAIL": "it@x.example.gov"}
	cfg, err := Load(env(base))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Reporting
	if r.Anchor.Format(time.DateOnly) != "2026-01-05" || r.IntervalDays != 14 || r.Location.String() != "America/Chicago" || r.InactiveDays != 90 {
		t.Errorf("defaults = %+v", r)
	}
	cal := r.Calendar()
	if cal.Anchor != licensing.NewDate(2026, 1, 5) || cal.IntervalDays != 14 || cal.Location != r.Location {
		t.Errorf("calendar = %+v", cal)
	}
	if !cal.IsPayrollDay(licensing.NewDate(2026, 1, 19)) || cal.IsPayrollDay(licensing.NewDate(2026, 1, 12)) {
		t.Errorf("calendar %+v: payroll Mondays are every other Monday from 2026-01-05", cal)
	}
	bad := map[string]string{}
	for k, v := range base {
		bad[k] = v
	}
	bad["PAYROLL_ANCHOR_DATE"], bad["PAYROLL_INTERVAL_DAYS"], bad["REPORT_TIME_ZONE"], bad["INACTIVE_DAYS"] = "2026-01-06", "10", "Mars/Olympus", "0"
	_, err = Load(env(bad))
	cerr, ok := err.(*Error)
	if !ok || len(cerr.Problems) != 4 || !strings.Contains(cerr.Problems[0], "Tuesday") {
		t.Errorf("err = %v", err)
	}
}
