package funchost

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Binding types the harness understands, spelled as in function.json.
const (
	TypeHTTPTrigger  = "httpTrigger"
	TypeHTTP         = "http"
	TypeQueueTrigger = "queueTrigger"
	TypeQueue        = "queue"
	TypeTimerTrigger = "timerTrigger"
)

// Binding directions.
const (
	DirectionIn  = "in"
	DirectionOut = "out"
)

// App is a loaded and validated Functions app directory.
type App struct {
	// Dir is the directory that holds host.json.
	Dir string
	// Host holds the settings read from host.json.
	Host HostSettings
	// Functions are the app's functions, sorted by name.
	Functions []*Function
}

// HostSettings are the parts of host.json the harness uses.
type HostSettings struct {
	// ExecutablePath is customHandler.description.defaultExecutablePath, as written.
	ExecutablePath string
	// WorkingDirectory is customHandler.description.workingDirectory, as written.
	WorkingDirectory string
	// Arguments is customHandler.description.arguments.
	Arguments []string
	// ForwardHTTP is true when enableForwardingHttpRequest or
	// enableProxyingHttpRequest is set.
	ForwardHTTP bool
	// RoutePrefix is extensions.http.routePrefix without slashes ("api" by
	// default; empty means no prefix).
	RoutePrefix string
	// FunctionTimeout is functionTimeout, or 0 when not set.
	FunctionTimeout time.Duration
	// Queues are the extensions.queues settings, defaults filled in.
	Queues QueueSettings
}

// QueueSettings are extensions.queues from host.json.
type QueueSettings struct {
	MaxDequeueCount    int           // default 5
	VisibilityTimeout  time.Duration // delay before a failed message is visible again; default 0
	BatchSize          int           // messages fetched per poll, 1 to 32; default 16
	NewBatchThreshold  int           // read for completeness; the harness fetches a new batch when one is done
	MaxPollingInterval time.Duration // longest wait between polls of an empty queue; default 1 minute
}

// Function is one function.json.
type Function struct {
	// Name is the function's folder name, which is also the path the handler
	// is invoked on.
	Name string
	// File is the path of the function.json it was read from.
	File string
	// Disabled is function.json's "disabled" flag; a disabled function is
	// never invoked.
	Disabled bool
	// Bindings are the bindings in file order, types spelled canonically.
	Bindings []Binding
	// Trigger points at the one trigger binding in Bindings.
	Trigger *Binding
	// Route is the parsed route of an httpTrigger (the function name when the
	// binding gives none), else nil.
	Route *Route
	// Schedule is the parsed schedule of a timerTrigger, or nil when it is
	// written as a %SETTING% (resolved when a Host is built).
	Schedule *Schedule
}

// Binding is one entry of a function.json "bindings" array. Keys are read
// without regard to case, as the host does.
type Binding struct {
	Type      string `json:"type"`
	Direction string `json:"direction"`
	Name      string `json:"name"`
	DataType  string `json:"dataType,omitempty"`

	// httpTrigger
	AuthLevel string   `json:"authLevel,omitempty"`
	Methods   []string `json:"methods,omitempty"`
	Route     string   `json:"route,omitempty"`

	// queueTrigger and queue
	QueueName  string `json:"queueName,omitempty"`
	Connection string `json:"connection,omitempty"`

	// timerTrigger
	Schedule     string `json:"schedule,omitempty"`
	RunOnStartup bool   `json:"runOnStartup,omitempty"`
	UseMonitor   *bool  `json:"useMonitor,omitempty"`
}

// IsTrigger reports whether the binding is a trigger.
func (b Binding) IsTrigger() bool { return strings.HasSuffix(b.Type, "Trigger") }

// HTTPOutput returns the function's http output binding, or nil.
func (f *Function) HTTPOutput() *Binding {
	for i := range f.Bindings {
		if f.Bindings[i].Type == TypeHTTP {
			return &f.Bindings[i]
		}
	}
	return nil
}

// isHTTPInAndOut reports whether the function's only bindings are one
// httpTrigger and one http output: the functions the host forwards raw when
// forwarding is enabled.
func (f *Function) isHTTPInAndOut() bool {
	return len(f.Bindings) == 2 && f.Trigger.Type == TypeHTTPTrigger && f.HTTPOutput() != nil
}

// Function returns the named function (case-insensitively), or nil.
func (a *App) Function(name string) *Function {
	for _, f := range a.Functions {
		if strings.EqualFold(f.Name, name) {
			return f
		}
	}
	return nil
}

type hostFile struct {
	Version         string `json:"version"`
	FunctionTimeout string `json:"functionTimeout"`
	CustomHandler   *struct {
		Description struct {
			DefaultExecutablePath string   `json:"defaultExecutablePath"`
			WorkingDirectory      string   `json:"workingDirectory"`
			Arguments             []string `json:"arguments"`
		} `json:"description"`
		EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
		EnableProxyingHTTPRequest   bool `json:"enableProxyingHttpRequest"`
	} `json:"customHandler"`
	Extensions struct {
		HTTP struct {
			RoutePrefix *string `json:"routePrefix"`
		} `json:"http"`
		Queues struct {
			MaxDequeueCount    *int   `json:"maxDequeueCount"`
			VisibilityTimeout  string `json:"visibilityTimeout"`
			BatchSize          *int   `json:"batchSize"`
			NewBatchThreshold  *int   `json:"newBatchThreshold"`
			MaxPollingInterval string `json:"maxPollingInterval"`
		} `json:"queues"`
	} `json:"extensions"`
}

type functionFile struct {
	Disabled json.RawMessage `json:"disabled"`
	Bindings []Binding       `json:"bindings"`
}

// Load reads appDir/host.json and the function.json of every function
// folder, either under appDir/functions (the source layout) or directly
// beside host.json (the staged layout the host itself sees), and validates
// them. Errors name the file at fault.
func Load(appDir string) (*App, error) {
	dir, err := filepath.Abs(appDir)
	if err != nil {
		return nil, fmt.Errorf("funchost: load %s: %w", appDir, err)
	}
	app := &App{Dir: dir}
	hostPath := filepath.Join(dir, "host.json")
	if app.Host, err = readHostFile(hostPath); err != nil {
		return nil, fmt.Errorf("funchost: %s: %w", hostPath, err)
	}

	root := filepath.Join(dir, "functions")
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		root = dir
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("funchost: load %s: %w", root, err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		path := filepath.Join(root, e.Name(), "function.json")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			continue
		}
		fn, err := readFunctionFile(e.Name(), path)
		if err != nil {
			return nil, fmt.Errorf("funchost: %s: %w", path, err)
		}
		app.Functions = append(app.Functions, fn)
	}
	if len(app.Functions) == 0 {
		return nil, fmt.Errorf("funchost: load %s: no function folders with a function.json under %s", dir, root)
	}
	sort.Slice(app.Functions, func(i, j int) bool { return app.Functions[i].Name < app.Functions[j].Name })
	return app, nil
}

func readHostFile(path string) (HostSettings, error) {
	var hs HostSettings
	var hf hostFile
	if err := readJSON(path, &hf); err != nil {
		return hs, err
	}
	if hf.Version != "" && hf.Version != "2.0" {
		return hs, fmt.Errorf("version %q: the host reads only version 2.0", hf.Version)
	}
	if hf.CustomHandler == nil {
		return hs, errors.New("no customHandler section: not a custom handler app")
	}
	ch := hf.CustomHandler
	hs.ExecutablePath = ch.Description.DefaultExecutablePath
	if hs.ExecutablePath == "" {
		return hs, errors.New("customHandler.description.defaultExecutablePath is empty")
	}
	hs.WorkingDirectory = ch.Description.WorkingDirectory
	hs.Arguments = ch.Description.Arguments
	hs.ForwardHTTP = ch.EnableForwardingHTTPRequest || ch.EnableProxyingHTTPRequest

	hs.RoutePrefix = "api"
	if p := hf.Extensions.HTTP.RoutePrefix; p != nil {
		hs.RoutePrefix = strings.Trim(*p, "/")
	}
	var err error
	if hf.FunctionTimeout != "" {
		if hs.FunctionTimeout, err = parseTimeSpan(hf.FunctionTimeout); err != nil {
			return hs, fmt.Errorf("functionTimeout: %w", err)
		}
	}

	q := hf.Extensions.Queues
	hs.Queues = QueueSettings{MaxDequeueCount: 5, BatchSize: 16, MaxPollingInterval: time.Minute}
	if q.MaxDequeueCount != nil {
		if *q.MaxDequeueCount < 1 {
			return hs, fmt.Errorf("extensions.queues.maxDequeueCount %d: must be at least 1", *q.MaxDequeueCount)
		}
		hs.Queues.MaxDequeueCount = *q.MaxDequeueCount
	}
	if q.BatchSize != nil {
		if *q.BatchSize < 1 || *q.BatchSize > 32 {
			return hs, fmt.Errorf("extensions.queues.batchSize %d: must be 1 to 32", *q.BatchSize)
		}
		hs.Queues.BatchSize = *q.BatchSize
	}
	hs.Queues.NewBatchThreshold = hs.Queues.BatchSize / 2
	if q.NewBatchThreshold != nil {
		hs.Queues.NewBatchThreshold = *q.NewBatchThreshold
	}
	if q.VisibilityTimeout != "" {
		if hs.Queues.VisibilityTimeout, err = parseTimeSpan(q.VisibilityTimeout); err != nil {
			return hs, fmt.Errorf("extensions.queues.visibilityTimeout: %w", err)
		}
	}
	if q.MaxPollingInterval != "" {
		if hs.Queues.MaxPollingInterval, err = parseTimeSpan(q.MaxPollingInterval); err != nil {
			return hs, fmt.Errorf("extensions.queues.maxPollingInterval: %w", err)
		}
		if hs.Queues.MaxPollingInterval < 100*time.Millisecond {
			return hs, fmt.Errorf("extensions.queues.maxPollingInterval %s: must be at least 100ms", q.MaxPollingInterval)
		}
	}
	return hs, nil
}

var (
	functionName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,127}$`)
	httpMethods  = map[string]bool{"GET": true, "POST": true, "PUT": true, "DELETE": true, "PATCH": true, "HEAD": true, "OPTIONS": true, "TRACE": true}
	knownTypes   = []string{TypeHTTPTrigger, TypeHTTP, TypeQueueTrigger, TypeQueue, TypeTimerTrigger}
)

func readFunctionFile(name, path string) (*Function, error) {
	if !functionName.MatchString(name) {
		return nil, fmt.Errorf("function name %q: must start with a letter and hold only letters, digits, _ and -", name)
	}
	var ff functionFile
	if err := readJSON(path, &ff); err != nil {
		return nil, err
	}
	fn := &Function{Name: name, File: path, Bindings: ff.Bindings}
	if len(ff.Disabled) > 0 {
		// The host accepts true/false and the strings "true"/"false".
		s := strings.Trim(string(ff.Disabled), `"`)
		fn.Disabled = strings.EqualFold(s, "true")
	}
	if len(fn.Bindings) == 0 {
		return nil, errors.New("no bindings")
	}
	names := map[string]bool{}
	for i := range fn.Bindings {
		b := &fn.Bindings[i]
		if err := normalizeBinding(b); err != nil {
			return nil, fmt.Errorf("binding %d (%q): %w", i, b.Name, err)
		}
		key := strings.ToLower(b.Name)
		if names[key] {
			return nil, fmt.Errorf("binding name %q appears twice", b.Name)
		}
		names[key] = true
		if b.IsTrigger() {
			if fn.Trigger != nil {
				return nil, fmt.Errorf("two triggers (%q and %q): a function has exactly one", fn.Trigger.Name, b.Name)
			}
			fn.Trigger = b
		}
	}
	if fn.Trigger == nil {
		return nil, errors.New("no trigger binding: a function has exactly one")
	}
	t := fn.Trigger
	switch t.Type {
	case TypeHTTPTrigger:
		tmpl := t.Route
		if tmpl == "" {
			tmpl = name
		}
		r, err := ParseRoute(tmpl)
		if err != nil {
			return nil, fmt.Errorf("binding %q: %w", t.Name, err)
		}
		fn.Route = r
	case TypeTimerTrigger:
		if !strings.Contains(t.Schedule, "%") {
			s, err := ParseSchedule(t.Schedule)
			if err != nil {
				return nil, fmt.Errorf("binding %q: %w", t.Name, err)
			}
			fn.Schedule = s
		}
	}
	for _, b := range fn.Bindings {
		if b.Type == TypeHTTP && t.Type != TypeHTTPTrigger {
			return nil, fmt.Errorf("binding %q: an http output needs an httpTrigger", b.Name)
		}
	}
	return fn, nil
}

func normalizeBinding(b *Binding) error {
	canonical := ""
	for _, k := range knownTypes {
		if strings.EqualFold(b.Type, k) {
			canonical = k
		}
	}
	if canonical == "" {
		return fmt.Errorf("binding type %q is not one the harness knows (%s)", b.Type, strings.Join(knownTypes, ", "))
	}
	b.Type = canonical
	b.Direction = strings.ToLower(b.Direction)
	if b.Name == "" {
		return errors.New("binding has no name")
	}
	want := DirectionOut
	if b.IsTrigger() {
		want = DirectionIn
	}
	if b.Direction != want {
		return fmt.Errorf("%s binding must have direction %q, not %q", b.Type, want, b.Direction)
	}
	switch b.Type {
	case TypeHTTPTrigger:
		for i, m := range b.Methods {
			up := strings.ToUpper(m)
			if !httpMethods[up] {
				return fmt.Errorf("method %q is not an HTTP method", m)
			}
			b.Methods[i] = up
		}
	case TypeQueueTrigger, TypeQueue:
		if b.QueueName == "" {
			return errors.New("queueName is empty")
		}
		if !strings.Contains(b.QueueName, "%") {
			if err := checkQueueName(b.QueueName); err != nil {
				return err
			}
		}
	case TypeTimerTrigger:
		if b.Schedule == "" {
			return errors.New("schedule is empty")
		}
	}
	return nil
}

var queueNameForm = regexp.MustCompile(`^[a-z0-9]([a-z0-9]|-[a-z0-9])*$`)

// checkQueueName applies Azure's queue naming rules; the poison queue adds
// "-poison", which must fit too.
func checkQueueName(name string) error {
	if len(name) < 3 || len(name)+len("-poison") > 63 || !queueNameForm.MatchString(name) {
		return fmt.Errorf("queue name %q: use 3 to 56 lowercase letters, digits and single hyphens (the poison queue adds \"-poison\")", name)
	}
	return nil
}

var settingRef = regexp.MustCompile(`%([^%]+)%`)

// ResolveSetting replaces every %NAME% in value with settings[NAME], as the
// host does for binding properties such as queueName and schedule. A
// reference to a setting that is missing is an error.
func ResolveSetting(value string, settings map[string]string) (string, error) {
	var missing []string
	out := settingRef.ReplaceAllStringFunc(value, func(ref string) string {
		name := ref[1 : len(ref)-1]
		v, ok := settings[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("%q refers to setting(s) %s, which are not set", value, strings.Join(missing, ", "))
	}
	return out, nil
}

// parseTimeSpan parses a .NET TimeSpan as host.json writes it:
// [d.]hh:mm:ss[.fffffff].
func parseTimeSpan(s string) (time.Duration, error) {
	text := strings.TrimSpace(s)
	var days int
	if i := strings.IndexByte(text, '.'); i >= 0 && i < strings.IndexByte(text, ':') {
		d, err := strconv.Atoi(text[:i])
		if err != nil {
			return 0, fmt.Errorf("timespan %q: bad days", s)
		}
		days, text = d, text[i+1:]
	}
	parts := strings.Split(text, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("timespan %q: want hh:mm:ss", s)
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil || h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec >= 60 {
		return 0, fmt.Errorf("timespan %q: want hh:mm:ss with hours 0-23, minutes and seconds 0-59", s)
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
	return d + time.Duration(sec*float64(time.Second)), nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + strings.Count(string(data[:se.Offset]), "\n")
			return fmt.Errorf("invalid JSON at line %d: %w", line, err)
		}
		return fmt.Errorf("invalid JSON: %w", err)
	}
	return nil
}
