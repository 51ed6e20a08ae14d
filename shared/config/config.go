// Package config reads the app's settings from the environment once, at
// start-up, into a typed and validated Config. Nothing else in the app reads
// the environment. A missing or bad setting stops start-up with one error
// that names every problem, so an administrator fixes them in one pass.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/storageaccount"
)

// Key describes one setting.
type Key struct {
	Name string
	// Owner is "app" for settings the app reads, "host" for settings only
	// the Functions host reads, and "platform" for settings the host sets
	// itself (these stay out of local.settings.json).
	Owner string
	// Default applies when the setting is absent; "" means none.
	Default string
	// Description says what it is for; the README's table repeats it.
	Description string
}

// The settings, in the order the README lists them.
var Keys = []Key{
	{Name: "FUNCTIONS_WORKER_RUNTIME", Owner: "host", Default: "custom", Description: "Always `custom`: the host runs this app as a custom handler."},
	{Name: "FUNCTIONS_CUSTOMHANDLER_PORT", Owner: "platform", Description: "Port the handler listens on; the Functions host sets it. Set it yourself only to run the binary by hand."},
	{Name: "AzureWebJobsStorage", Owner: "app", Description: "Storage account connection string, or `UseDevelopmentStorage=true` for Azurite. Leave empty when using the identity-based settings below."},
	{Name: "AzureWebJobsStorage__accountName", Owner: "app", Description: "Storage account name for an identity-based connection (managed identity; no keys)."},
	{Name: "AzureWebJobsStorage__clientId", Owner: "app", Description: "Client id of the user-assigned managed identity for the identity-based connection; empty for the system-assigned one."},
	{Name: "AzureWebJobsStorage__credential", Owner: "app", Description: "`managedidentity` with the identity-based connection (what the host expects); anything else is refused."},
	{Name: "STORAGE_PREFIX", Owner: "app", Description: "Put before every table and blob container name, to keep several environments (or test runs) apart in one storage account: lower-case letters and digits, starting with a letter."},
	{Name: "ACTIVATION_QUEUE", Owner: "app", Default: "activation-steps", Description: "The queue of the activation workflow; the functions' bindings read it as %ACTIVATION_QUEUE%, so set it in the app settings. Its poison queue is the same name with -poison."},
	{Name: "WORK_QUEUE", Owner: "app", Default: "work-items", Description: "The queue of work split into pieces (a snapshot's segments, a report run's agencies, a provisioning run's agencies), read by the Work function as %WORK_QUEUE%, so set it in the app settings. Its poison queue is the same name with -poison."},
	{Name: "STORAGE_TRY_TIMEOUT", Owner: "app", Default: "10s", Description: "How long one attempt of a storage call may wait on Table, Blob or Queue Storage (for its answer, or for each read of a download) before it is retried."},
	{Name: "STORAGE_OPERATION_TIMEOUT", Owner: "app", Default: "30s", Description: "How long one storage call may take in all, retries included, before it fails as unavailable (HTTP 503 with Retry-After)."},
	{Name: "ADMINS", Owner: "app", Description: "Central IT administrators: user principal names or object ids (GUIDs), comma-separated. An object id matches the caller's object id only, a user principal name the caller's name only."},
	{Name: "AUTH_ALLOW_ANONYMOUS", Owner: "app", Default: "false", Description: "`true` lets requests without an App Service identity act as an admin. Local development only: refused when running in Azure."},
	{Name: "LOG_LEVEL", Owner: "app", Default: "info", Description: "`debug`, `info`, `warn` or `error`: what the handler writes to standard output (invocation logs go to the host either way)."},
	{Name: "GRAPH_MODE", Owner: "app", Default: "live", Description: "`live` reads the tenant through Microsoft Graph; `demo` runs against a synthetic tenant served in-process (local use only)."},
	{Name: "GRAPH_BASE_URL", Owner: "app", Default: "https://graph.microsoft.com/v1.0", Description: "Graph's root URL (another national cloud, or a local fake over loopback)."},
	{Name: "GRAPH_AUTH", Owner: "app", Default: "managed-identity", Description: "`managed-identity` in Azure, `client-secret` for a developer against a real tenant, `none` only for a fake Graph on loopback."},
	{Name: "AZURE_TENANT_ID", Owner: "app", Description: "Entra ID tenant id (needed with `client-secret`)."},
	{Name: "AZURE_CLIENT_ID", Owner: "app", Description: "Client id of the user-assigned managed identity, or of the app registration with `client-secret`."},
	{Name: "AZURE_CLIENT_SECRET", Owner: "app", Description: "The app registration's secret, with `client-secret` only. Never commit it."},
	{Name: "GRAPH_MAX_RETRY_WAIT", Owner: "app", Default: "2m", Description: "How long one Graph request may wait out throttling (429/503) in all, honouring Retry-After, before the run fails cleanly."},
	{Name: "GRAPH_TIMEOUT", Owner: "app", Default: "100s", Description: "How long one Microsoft Graph request may take, its body included, before it counts as Graph being unavailable."},
	{Name: "DEMO_TENANT_USERS", Owner: "app", Default: "2000", Description: "Size of the synthetic tenant with `GRAPH_MODE=demo` (1 to 1000000)."},
	{Name: "DEMO_TENANT_SEED", Owner: "app", Default: "1", Description: "Seed of the synthetic tenant: the same seed and size give the same tenant."},
	{Name: "SKU_CATALOG_URL", Owner: "app", Description: "Where Microsoft's \"Product names and service plan identifiers for licensing\" CSV is read from: an https URL, or `blob:<name>` for a copy uploaded to the `catalog` container. Empty: the built-in table only."},
	{Name: "SKU_CATALOG_MAX_AGE_HOURS", Owner: "app", Default: "168", Description: "How long the cached copy of the SKU list is used before it is downloaded again."},
	{Name: "MAIL_MODE", Owner: "app", Default: "graph", Description: "`graph` sends mail with Graph sendMail from `MAIL_SENDER`; `outbox` writes each message as an .eml file to blob `outbox/{date}/` (local runs, the demo, tests)."},
	{Name: "MAIL_SENDER", Owner: "app", Description: "The mailbox mail is sent from with `MAIL_MODE=graph` (scope the app's Mail.Send to it with Exchange RBAC for Applications)."},
	{Name: "CENTRAL_IT_EMAIL", Owner: "app", Description: "Central IT's addresses, comma-separated: activation routing, failures, summaries."},
	{Name: "APP_URL", Owner: "app", Description: "Public base URL of the app (https://func-licensing.azurewebsites.net), for links in mail."},
	{Name: "MAX_REQUEST_MB", Owner: "app", Default: "20", Description: "Largest accepted request body (a purchase order with its documents), in MB."},
	{Name: "ENTITLEMENT_GRACE_DAYS", Owner: "app", Default: "31", Description: "Days a purchase stays in force after its term end (licenses ending June 30 are re-bought for August 1)."},
	{Name: "FISCAL_YEAR_END", Owner: "app", Default: "06-30", Description: "Month and day (MM-DD) an a-la-carte term ends by default."},
	{Name: "ACTIVATION_CHECK_EVERY", Owner: "app", Default: "6h", Description: "How often the workflow looks for a request's seats in the tenant after routing it for activation."},
	{Name: "EFFECT_LEASE", Owner: "app", Default: "2m", Description: "How long a worker's claim on an outside effect (a mail, a queued step) stands; a claim left by a worker that stopped before confirming lapses after it, and its effect is then reported as unconfirmed instead of repeated."},
	{Name: "DEFAULT_USAGE_LOCATION", Owner: "app", Description: "Two-letter country code (US) given to a member of a delegated group who has no usage location before licensing them; empty: such members are skipped and reported."},
	{Name: "RENEWAL_REMINDER_DAYS", Owner: "app", Default: "90,60,30", Description: "Days before a purchase line's term end (and an annual tenant subscription's next lifecycle date) at which a reminder is mailed, comma-separated."},
	{Name: "PAYROLL_ANCHOR_DATE", Owner: "app", Default: "2026-01-05", Description: "A payroll Monday (2006-01-02); payroll Mondays are every PAYROLL_INTERVAL_DAYS from it."},
	{Name: "PAYROLL_INTERVAL_DAYS", Owner: "app", Default: "14", Description: "Days between payroll Mondays (a multiple of 7)."},
	{Name: "REPORT_TIME_ZONE", Owner: "app", Default: "America/Chicago", Description: "The agencies' time zone (IANA name): which day it is for the payroll calendar and report dates."},
	{Name: "INACTIVE_DAYS", Owner: "app", Default: "90", Description: "Days without a sign-in that flag a licensed user as a candidate to reclaim (when sign-ins can be read)."},
	{Name: "SNAPSHOT_RETENTION", Owner: "app", Default: "8", Description: "How many of the newest usage snapshots keep their files; older ones keep only their counts (13 months, for the true-up), and their payroll workbooks go."},
	{Name: "SNAPSHOT_SEGMENTS", Owner: "app", Default: "16", Description: "How many segments of user principal names a full snapshot or sign-in pass is split into, each read by its own work messages (1 to 99)."},
	{Name: "SNAPSHOT_PAGES_PER_CHUNK", Owner: "app", Default: "150", Description: "How many pages of users one work message of a segment reads before checkpointing and sending the next (1 to 1000)."},
	{Name: "SIGNIN_PASS_DAYS", Owner: "app", Default: "7", Description: "Age in days of the latest sign-in pass after which the daily SignInPass check starts a new one (1 to 90)."},
	{Name: "ACTIVATION_WAIT_DAYS", Owner: "app", Default: "14", Description: "How long it keeps looking before asking central IT to confirm the activation by hand."},
}

var (
	prefixPattern = regexp.MustCompile(`^[a-z][a-z0-9]{0,19}$`)
	// usageLocationPattern is an ISO 3166-1 alpha-2 code.
	usageLocationPattern = regexp.MustCompile(`^[A-Za-z]{2}$`)
	// queuePattern leaves room for the "-poison" suffix within 63 characters.
	queuePattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,55}$`)
)

// azureMarker is set by App Service and the Functions host in Azure; the app
// reads it only to refuse settings meant for a developer's machine.
const azureMarker = "WEBSITE_INSTANCE_ID"

// Storage says how to reach the storage account.
type Storage struct {
	// Prefix goes before table and container names.
	Prefix string
	// ActivationQueue is the workflow's queue.
	ActivationQueue string
	// WorkQueue carries the pieces of split work.
	WorkQueue string
	// Account is set when a connection string was given.
	Account *storageaccount.Account
	// AccountName and ClientID are set for an identity-based connection.
	AccountName string
	ClientID    string
	// Timeouts bound every storage call.
	Timeouts storageaccount.Timeouts
}

// Config is every setting, typed.
type Config struct {
	// Port is FUNCTIONS_CUSTOMHANDLER_PORT, 0 when unset (only serving needs it).
	Port           int
	Storage        Storage
	Admins         []string
	AllowAnonymous bool
	LogLevel       slog.Level
	// InAzure is true when the process runs in App Service / Functions.
	InAzure   bool
	Graph     Graph
	Catalog   Catalog
	Mail      Mail
	Workflow  Workflow
	Reporting Reporting
}

// Reporting holds the report settings.
type Reporting struct {
	Anchor       time.Time
	IntervalDays int
	Location     *time.Location
	InactiveDays int
	// SnapshotRetention is how many of the newest snapshots keep their
	// files.
	SnapshotRetention int
	// SnapshotSegments is how many segments a split read has.
	SnapshotSegments int
	// SnapshotPagesPerChunk is how many pages one work message reads.
	SnapshotPagesPerChunk int
	// SignInPassDays is the age of the latest sign-in pass after which a
	// new one starts.
	SignInPassDays int
}

// Calendar returns the payroll calendar the settings describe: every
// IntervalDays days from Anchor, in Location.
func (r Reporting) Calendar() licensing.PayrollCalendar {
	return licensing.PayrollCalendar{Anchor: licensing.DateOf(r.Anchor, nil), IntervalDays: r.IntervalDays, Location: r.Location}
}

// Mail modes.
const (
	MailGraph  = "graph"
	MailOutbox = "outbox"
)

// Mail says how mail is sent.
type Mail struct {
	Mode   string
	Sender string
}

// Workflow holds the intake and activation settings.
type Workflow struct {
	CentralIT          []string
	AppURL             string
	MaxRequestBytes    int64
	GraceDays          int
	FiscalYearEndMonth time.Month
	FiscalYearEndDay   int
	CheckEvery         time.Duration
	WaitFor            time.Duration
	EffectLease        time.Duration
	// DefaultUsageLocation is given to group members without one before
	// they are licensed ("" skips them).
	DefaultUsageLocation string
	// RenewalDays are the days before a term end at which reminders go,
	// largest first.
	RenewalDays []int
}

// Graph modes.
const (
	GraphLive = "live"
	GraphDemo = "demo"
)

// Graph says how to reach Microsoft Graph.
type Graph struct {
	Mode         string
	BaseURL      string
	Auth         string
	TenantID     string
	ClientID     string
	ClientSecret string
	MaxRetryWait time.Duration
	// Timeout bounds one Graph request.
	Timeout time.Duration
	// DemoUsers and DemoSeed shape the synthetic tenant of GraphDemo.
	DemoUsers int
	DemoSeed  uint64
}

// Catalog says where SKU names come from.
type Catalog struct {
	URL    string
	MaxAge time.Duration
}

// Error lists every problem found in the settings.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	return fmt.Sprintf("configuration has %d problem(s); fix them in the app settings (local.settings.json locally):\n  - %s",
		len(e.Problems), strings.Join(e.Problems, "\n  - "))
}

// Load reads every setting through getenv (os.LookupEnv in main) and
// validates them all, returning an *Error that lists each problem.
func Load(getenv func(string) (string, bool)) (Config, error) {
	var cfg Config
	var problems []string
	bad := func(key, format string, args ...any) {
		problems = append(problems, key+": "+fmt.Sprintf(format, args...))
	}
	get := func(name string) string {
		v, ok := getenv(name)
		if !ok {
			for _, k := range Keys {
				if k.Name == name {
					return k.Default
				}
			}
		}
		return strings.TrimSpace(v)
	}

	_, cfg.InAzure = getenv(azureMarker)

	if p := get("FUNCTIONS_CUSTOMHANDLER_PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			bad("FUNCTIONS_CUSTOMHANDLER_PORT", "%q is not a port number (1-65535)", p)
		}
		cfg.Port = n
	}

	conn := get("AzureWebJobsStorage")
	name := get("AzureWebJobsStorage__accountName")
	switch {
	case conn != "" && name != "":
		bad("AzureWebJobsStorage", "set either the connection string or AzureWebJobsStorage__accountName, not both")
	case conn != "":
		acct, err := storageaccount.Parse(conn)
		if err != nil {
			bad("AzureWebJobsStorage", "%v", err)
		} else {
			cfg.Storage.Account = &acct
		}
	case name != "":
		if !validAccountName(name) {
			bad("AzureWebJobsStorage__accountName", "%q is not a storage account name (3-24 lower-case letters and digits)", name)
		}
		cfg.Storage.AccountName = name
		cfg.Storage.ClientID = get("AzureWebJobsStorage__clientId")
		if c := get("AzureWebJobsStorage__credential"); c != "" && !strings.EqualFold(c, "managedidentity") {
			bad("AzureWebJobsStorage__credential", "%q is not supported; use managedidentity", c)
		}
	default:
		bad("AzureWebJobsStorage", "is not set: give a connection string, UseDevelopmentStorage=true for Azurite, or AzureWebJobsStorage__accountName for a managed identity")
	}

	cfg.Storage.Prefix = get("STORAGE_PREFIX")
	if p := cfg.Storage.Prefix; p != "" && !prefixPattern.MatchString(p) {
		bad("STORAGE_PREFIX", "%q must be 1 to 20 lower-case letters and digits, starting with a letter", p)
	}
	cfg.Storage.ActivationQueue = get("ACTIVATION_QUEUE")
	cfg.Storage.WorkQueue = get("WORK_QUEUE")
	for _, q := range []struct{ name, value string }{{"ACTIVATION_QUEUE", cfg.Storage.ActivationQueue}, {"WORK_QUEUE", cfg.Storage.WorkQueue}} {
		if !queuePattern.MatchString(q.value) {
			bad(q.name, "%q is not a queue name: 3 to 56 lower-case letters, digits and single dashes", q.value)
		}
	}
	if cfg.Storage.WorkQueue == cfg.Storage.ActivationQueue {
		bad("WORK_QUEUE", "%q is also ACTIVATION_QUEUE: the two functions would take each other's messages", cfg.Storage.WorkQueue)
	}

	loadStorageTimeouts(&cfg, get, bad)

	rawAdmins := get("ADMINS")
	for _, a := range strings.Split(rawAdmins, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if !licensing.ValidPrincipalEntry(a) {
			bad("ADMINS", "%q is neither a user principal name (name@agency.example.gov) nor an object id (a GUID); separate entries with commas", a)
			continue
		}
		cfg.Admins = append(cfg.Admins, strings.ToLower(a))
	}

	anon, err := parseBool(get("AUTH_ALLOW_ANONYMOUS"))
	if err != nil {
		bad("AUTH_ALLOW_ANONYMOUS", "%v", err)
	}
	cfg.AllowAnonymous = anon
	if anon && cfg.InAzure {
		bad("AUTH_ALLOW_ANONYMOUS", "must not be true in Azure: every caller would be an administrator")
	}
	if strings.Trim(rawAdmins, ", ") == "" && !cfg.AllowAnonymous {
		bad("ADMINS", "is empty: list at least one central IT administrator (user principal name or object id)")
	}

	switch lvl := strings.ToLower(get("LOG_LEVEL")); lvl {
	case "debug":
		cfg.LogLevel = slog.LevelDebug
	case "info", "":
		cfg.LogLevel = slog.LevelInfo
	case "warn", "warning":
		cfg.LogLevel = slog.LevelWarn
	case "error":
		cfg.LogLevel = slog.LevelError
	default:
		bad("LOG_LEVEL", "%q is not one of debug, info, warn, error", lvl)
	}

	loadGraph(&cfg, get, bad)

	cfg.Catalog.URL = get("SKU_CATALOG_URL")
	if u := cfg.Catalog.URL; u != "" && !strings.HasPrefix(u, "blob:") {
		pu, err := url.Parse(u)
		if err != nil || pu.Scheme != "https" && !(pu.Scheme == "http" && isLoopback(pu.Hostname())) || pu.Host == "" {
			bad("SKU_CATALOG_URL", "%q is not an https URL or blob:<name>", redactURL(u))
		}
	}
	if h, err := strconv.Atoi(get("SKU_CATALOG_MAX_AGE_HOURS")); err != nil || h < 1 || h > 24*365 {
		bad("SKU_CATALOG_MAX_AGE_HOURS", "must be a whole number of hours from 1 to 8760")
	} else {
		cfg.Catalog.MaxAge = time.Duration(h) * time.Hour
	}

	loadWorkflow(&cfg, get, bad)
	loadReporting(&cfg, get, bad)

	if len(problems) > 0 {
		return cfg, &Error{Problems: problems}
	}
	return cfg, nil
}

// loadStorageTimeouts reads the storage deadlines: an attempt from 100ms to
// 5m, a whole call from 100ms to 10m and no shorter than one attempt.
func loadStorageTimeouts(cfg *Config, get func(string) string, bad func(string, string, ...any)) {
	t := &cfg.Storage.Timeouts
	if d, err := time.ParseDuration(get("STORAGE_TRY_TIMEOUT")); err != nil || d < 100*time.Millisecond || d > 5*time.Minute {
		bad("STORAGE_TRY_TIMEOUT", "must be a duration from 100ms to 5m, such as 10s")
	} else {
		t.Try = d
	}
	if d, err := time.ParseDuration(get("STORAGE_OPERATION_TIMEOUT")); err != nil || d < 100*time.Millisecond || d > 10*time.Minute {
		bad("STORAGE_OPERATION_TIMEOUT", "must be a duration from 100ms to 10m, such as 30s")
	} else {
		t.Operation = d
	}
	if t.Try > 0 && t.Operation > 0 && t.Operation < t.Try {
		bad("STORAGE_OPERATION_TIMEOUT", "%s is shorter than STORAGE_TRY_TIMEOUT (%s): a call must have time for at least one attempt", t.Operation, t.Try)
	}
}

func loadWorkflow(cfg *Config, get func(string) string, bad func(string, string, ...any)) {
	m := &cfg.Mail
	m.Mode = strings.ToLower(get("MAIL_MODE"))
	m.Sender = strings.ToLower(get("MAIL_SENDER"))
	switch m.Mode {
	case MailGraph:
		if m.Sender == "" {
			bad("MAIL_SENDER", "is required with MAIL_MODE=graph: the mailbox to send from")
		} else if !licensing.IsBareAddress(m.Sender) {
			bad("MAIL_SENDER", "%q is not a mailbox address", m.Sender)
		}
	case MailOutbox:
	default:
		bad("MAIL_MODE", "%q is not graph or outbox", m.Mode)
	}
	w := &cfg.Workflow
	for _, a := range strings.Split(get("CENTRAL_IT_EMAIL"), ",") {
		if a = strings.ToLower(strings.TrimSpace(a)); a == "" {
			continue
		}
		if !licensing.IsBareAddress(a) {
			bad("CENTRAL_IT_EMAIL", "%q is not an email address", a)
			continue
		}
		w.CentralIT = append(w.CentralIT, a)
	}
	if len(w.CentralIT) == 0 {
		bad("CENTRAL_IT_EMAIL", "is empty: give central IT's address for activation routing and failures")
	}
	w.AppURL = strings.TrimRight(get("APP_URL"), "/")
	if w.AppURL != "" {
		u, err := url.Parse(w.AppURL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
			bad("APP_URL", "%q is not an https URL", redactURL(w.AppURL))
		}
	}
	if n, err := strconv.Atoi(get("MAX_REQUEST_MB")); err != nil || n < 1 || n > 100 {
		bad("MAX_REQUEST_MB", "must be a whole number of MB from 1 to 100")
	} else {
		w.MaxRequestBytes = int64(n) << 20
	}
	if n, err := strconv.Atoi(get("ENTITLEMENT_GRACE_DAYS")); err != nil || n < 0 || n > 366 {
		bad("ENTITLEMENT_GRACE_DAYS", "must be a whole number of days from 0 to 366")
	} else {
		w.GraceDays = n
	}
	if t, err := time.Parse("01-02", get("FISCAL_YEAR_END")); err != nil {
		bad("FISCAL_YEAR_END", "must be a month and day like 06-30")
	} else {
		w.FiscalYearEndMonth, w.FiscalYearEndDay = t.Month(), t.Day()
	}
	if d, err := time.ParseDuration(get("ACTIVATION_CHECK_EVERY")); err != nil || d < time.Second || d > 7*24*time.Hour {
		bad("ACTIVATION_CHECK_EVERY", "must be a duration from 1s to 168h, such as 6h")
	} else {
		w.CheckEvery = d
	}
	if loc := strings.TrimSpace(get("DEFAULT_USAGE_LOCATION")); loc != "" && !usageLocationPattern.MatchString(loc) {
		bad("DEFAULT_USAGE_LOCATION", "%q is not a two-letter country code such as US", loc)
	} else {
		w.DefaultUsageLocation = strings.ToUpper(loc)
	}
	if days, err := renewalDays(get("RENEWAL_REMINDER_DAYS")); err != nil {
		bad("RENEWAL_REMINDER_DAYS", "%s", err)
	} else {
		w.RenewalDays = days
	}
	if d, err := time.ParseDuration(get("EFFECT_LEASE")); err != nil || d < time.Second || d > time.Hour {
		bad("EFFECT_LEASE", "must be a duration from 1s to 1h, such as 2m")
	} else {
		w.EffectLease = d
	}
	if n, err := strconv.Atoi(get("ACTIVATION_WAIT_DAYS")); err != nil || n < 1 || n > 90 {
		bad("ACTIVATION_WAIT_DAYS", "must be a whole number of days from 1 to 90")
	} else {
		w.WaitFor = time.Duration(n) * 24 * time.Hour
	}
}

// renewalDays reads a comma-separated list of 1 to 10 distinct whole
// numbers of days from 1 to 366, returned largest first.
func renewalDays(v string) ([]int, error) {
	const form = "must be 1 to 10 different whole numbers of days from 1 to 366, comma-separated, such as 90,60,30"
	seen := map[int]bool{}
	var days []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 366 || seen[n] {
			return nil, errors.New(form)
		}
		seen[n] = true
		days = append(days, n)
	}
	if len(days) > 10 {
		return nil, errors.New(form)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(days)))
	return days, nil
}

func loadReporting(cfg *Config, get func(string) string, bad func(string, string, ...any)) {
	r := &cfg.Reporting
	if t, err := time.Parse(time.DateOnly, get("PAYROLL_ANCHOR_DATE")); err != nil {
		bad("PAYROLL_ANCHOR_DATE", "must be a date like 2026-01-05")
	} else if t.Weekday() != time.Monday {
		bad("PAYROLL_ANCHOR_DATE", "%s is a %s; give a payroll Monday", t.Format(time.DateOnly), t.Weekday())
	} else {
		r.Anchor = t
	}
	if n, err := strconv.Atoi(get("PAYROLL_INTERVAL_DAYS")); err != nil || n < 7 || n > 364 || n%7 != 0 {
		bad("PAYROLL_INTERVAL_DAYS", "must be a whole number of weeks in days (7, 14, 28 ...)")
	} else {
		r.IntervalDays = n
	}
	if loc, err := time.LoadLocation(get("REPORT_TIME_ZONE")); err != nil || get("REPORT_TIME_ZONE") == "" {
		bad("REPORT_TIME_ZONE", "%q is not a time zone name like America/Chicago", get("REPORT_TIME_ZONE"))
	} else {
		r.Location = loc
	}
	for _, w := range []struct {
		name, unit string
		lo, hi     int
		into       *int
	}{
		{"INACTIVE_DAYS", "days", 1, 3650, &r.InactiveDays},
		{"SNAPSHOT_RETENTION", "snapshots", 1, 1000, &r.SnapshotRetention},
		{"SNAPSHOT_SEGMENTS", "segments", 1, 99, &r.SnapshotSegments},
		{"SNAPSHOT_PAGES_PER_CHUNK", "pages", 1, 1000, &r.SnapshotPagesPerChunk},
		{"SIGNIN_PASS_DAYS", "days", 1, 90, &r.SignInPassDays},
	} {
		if n, err := strconv.Atoi(get(w.name)); err != nil || n < w.lo || n > w.hi {
			bad(w.name, "must be a whole number of %s from %d to %d", w.unit, w.lo, w.hi)
		} else {
			*w.into = n
		}
	}
}

func loadGraph(cfg *Config, get func(string) string, bad func(string, string, ...any)) {
	g := &cfg.Graph
	g.Mode = strings.ToLower(get("GRAPH_MODE"))
	g.BaseURL = strings.TrimRight(get("GRAPH_BASE_URL"), "/")
	g.Auth = strings.ToLower(get("GRAPH_AUTH"))
	g.TenantID = get("AZURE_TENANT_ID")
	g.ClientID = get("AZURE_CLIENT_ID")
	g.ClientSecret = get("AZURE_CLIENT_SECRET")
	if d, err := time.ParseDuration(get("GRAPH_MAX_RETRY_WAIT")); err != nil || d < 0 || d > time.Hour {
		bad("GRAPH_MAX_RETRY_WAIT", "must be a duration such as 2m or 90s, at most 1h")
	} else {
		g.MaxRetryWait = d
	}
	if d, err := time.ParseDuration(get("GRAPH_TIMEOUT")); err != nil || d < time.Second || d > 10*time.Minute {
		bad("GRAPH_TIMEOUT", "must be a duration from 1s to 10m, such as 100s")
	} else {
		g.Timeout = d
	}
	switch g.Mode {
	case GraphDemo:
		if cfg.InAzure {
			bad("GRAPH_MODE", "demo serves a synthetic tenant and must not be used in Azure")
		}
		n, err := strconv.Atoi(get("DEMO_TENANT_USERS"))
		if err != nil || n < 1 || n > 1_000_000 {
			bad("DEMO_TENANT_USERS", "must be a whole number from 1 to 1000000")
		}
		g.DemoUsers = n
		seed, err := strconv.ParseUint(get("DEMO_TENANT_SEED"), 10, 64)
		if err != nil {
			bad("DEMO_TENANT_SEED", "must be a whole number")
		}
		g.DemoSeed = seed
		return
	case GraphLive:
	default:
		bad("GRAPH_MODE", "%q is not live or demo", g.Mode)
		return
	}
	u, err := url.Parse(g.BaseURL)
	loopback := err == nil && isLoopback(u.Hostname())
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback)):
		bad("GRAPH_BASE_URL", "%q is not an https URL (http is allowed only on loopback)", redactURL(g.BaseURL))
	}
	switch g.Auth {
	case "managed-identity":
	case "client-secret":
		if g.TenantID == "" {
			bad("AZURE_TENANT_ID", "is required with GRAPH_AUTH=client-secret")
		}
		if g.ClientID == "" {
			bad("AZURE_CLIENT_ID", "is required with GRAPH_AUTH=client-secret")
		}
		if g.ClientSecret == "" {
			bad("AZURE_CLIENT_SECRET", "is required with GRAPH_AUTH=client-secret")
		}
	case "none":
		if !loopback {
			bad("GRAPH_AUTH", "none sends no token and is allowed only with a loopback GRAPH_BASE_URL (a local fake)")
		}
	default:
		bad("GRAPH_AUTH", "%q is not managed-identity, client-secret or none", g.Auth)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactURL drops a URL's query (it may hold a SAS token) for messages.
func redactURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "", "false", "0", "no":
		return false, nil
	case "true", "1", "yes":
		return true, nil
	}
	return false, fmt.Errorf("%q is not true or false", s)
}

func validAccountName(s string) bool {
	if len(s) < 3 || len(s) > 24 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
