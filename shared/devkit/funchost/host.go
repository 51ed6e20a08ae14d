package funchost

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// DefaultHostVersion is sent in X-Azure-Functions-HostVersion unless
// Config.HostVersion says otherwise.
const DefaultHostVersion = "4.1040.300.0"

// Config is what a Host needs beyond the App. The zero value works for HTTP
// functions; queue triggers and queue outputs need a queue service.
type Config struct {
	// QueueService is the queue account. When nil, one is built from
	// QueueEndpoint and QueueCredential when those are set.
	QueueService *azqueue.ServiceClient
	// QueueEndpoint is the queue service URL, such as DevQueueEndpoint.
	QueueEndpoint string
	// QueueCredential signs requests to QueueEndpoint (see DevCredential).
	QueueCredential *azqueue.SharedKeyCredential

	// Settings are the app settings that %NAME% references in bindings
	// resolve against.
	Settings map[string]string

	// Logger receives the host's own log and each invocation's Logs (at
	// Information level, as the host does). Default: discard.
	Logger *slog.Logger
	// HandlerOutput receives the started handler's stdout and stderr.
	// Default: each line logged through Logger.
	HandlerOutput io.Writer

	// Now is the clock for sys.UtcNow and timer schedules. Default time.Now.
	Now func() time.Time
	// NewID returns invocation ids and sys.RandGuid. Default: random GUIDs.
	NewID func() string
	// HostVersion is sent in X-Azure-Functions-HostVersion.
	HostVersion string

	// InvocationTimeout bounds one call to the handler. Default: host.json's
	// functionTimeout, else 5 minutes.
	InvocationTimeout time.Duration
	// StartTimeout bounds how long Start waits for the handler to answer.
	// Default 30 s, as the host.
	StartTimeout time.Duration
	// DrainTimeout bounds DrainQueues, including the wait for messages made
	// invisible by a release delay. Default 60 s.
	DrainTimeout time.Duration
	// PollInterval overrides the longest pause between polls of an empty
	// queue (host.json's maxPollingInterval).
	PollInterval time.Duration
	// KeepInvocations is how many recent invocations Invocations returns.
	// Default 200.
	KeepInvocations int
	// HTTPClient calls the handler. Default: a client with no overall timeout
	// (InvocationTimeout bounds each call).
	HTTPClient *http.Client

	// LocalSignIn, when set, makes the host play App Service authentication
	// for browsers: it serves /.auth/* and takes every request's identity
	// from its session cookie, ignoring identity headers a client sends (see
	// LocalSignIn). Off by default: tests send X-MS-CLIENT-PRINCIPAL-NAME.
	LocalSignIn *LocalSignIn
}

// Host plays the Functions host for one App and one running handler. It is
// an http.Handler for the app's HTTP functions. Its methods are safe for
// concurrent use.
type Host struct {
	app      *App
	cfg      Config
	base     string // handler base URL, no trailing slash
	log      *slog.Logger
	client   *http.Client
	queues   *azqueue.ServiceClient
	queueErr error

	queueNames map[string]string    // function name -> resolved trigger queue
	outQueues  map[string]string    // "function/binding" -> resolved output queue
	schedules  map[string]*Schedule // timer function name -> schedule
	created    sync.Map             // queue name -> struct{}, queues known to exist

	mu          sync.Mutex
	invocations []Invocation
	counts      map[string]*QueueCounts
	timerLast   map[string]time.Time

	proc *process // nil for Target

	signIn *signIn // nil unless Config.LocalSignIn
}

// Target builds a Host for a handler already listening at baseURL (for
// example an httptest.Server around the app's http.Handler).
func (a *App) Target(baseURL string, cfg Config) (*Host, error) {
	if baseURL == "" {
		return nil, errors.New("funchost: target: empty base URL")
	}
	return a.newHost(strings.TrimRight(baseURL, "/"), cfg)
}

func (a *App) newHost(base string, cfg Config) (*Host, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = newGUID
	}
	if cfg.HostVersion == "" {
		cfg.HostVersion = DefaultHostVersion
	}
	if cfg.InvocationTimeout <= 0 {
		cfg.InvocationTimeout = a.Host.FunctionTimeout
		if cfg.InvocationTimeout <= 0 {
			cfg.InvocationTimeout = 5 * time.Minute
		}
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 30 * time.Second
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 60 * time.Second
	}
	if cfg.KeepInvocations <= 0 {
		cfg.KeepInvocations = 200
	}
	h := &Host{
		app:        a,
		cfg:        cfg,
		base:       base,
		log:        cfg.Logger,
		client:     cfg.HTTPClient,
		queues:     cfg.QueueService,
		queueNames: map[string]string{},
		outQueues:  map[string]string{},
		schedules:  map[string]*Schedule{},
		counts:     map[string]*QueueCounts{},
		timerLast:  map[string]time.Time{},
		signIn:     newSignIn(cfg.LocalSignIn),
	}
	if h.client == nil {
		h.client = &http.Client{}
	}
	if h.queues == nil && cfg.QueueEndpoint != "" {
		var err error
		if cfg.QueueCredential != nil {
			h.queues, err = azqueue.NewServiceClientWithSharedKeyCredential(cfg.QueueEndpoint, cfg.QueueCredential, nil)
		} else {
			h.queues, err = azqueue.NewServiceClientWithNoCredential(cfg.QueueEndpoint, nil)
		}
		if err != nil {
			return nil, fmt.Errorf("funchost: queue service %s: %w", cfg.QueueEndpoint, err)
		}
	}
	for _, fn := range a.Functions {
		for _, b := range fn.Bindings {
			switch b.Type {
			case TypeQueueTrigger, TypeQueue:
				q, err := resolveQueueName(b.QueueName, cfg.Settings)
				if err != nil {
					return nil, fmt.Errorf("funchost: %s: binding %q: %w", fn.File, b.Name, err)
				}
				if b.Type == TypeQueueTrigger {
					h.queueNames[fn.Name] = q
				} else {
					h.outQueues[fn.Name+"/"+b.Name] = q
				}
			case TypeTimerTrigger:
				s := fn.Schedule
				if s == nil {
					expr, err := ResolveSetting(b.Schedule, cfg.Settings)
					if err == nil {
						s, err = ParseSchedule(expr)
					}
					if err != nil {
						return nil, fmt.Errorf("funchost: %s: binding %q: %w", fn.File, b.Name, err)
					}
				}
				h.schedules[fn.Name] = s
			}
		}
	}
	return h, nil
}

func resolveQueueName(name string, settings map[string]string) (string, error) {
	q, err := ResolveSetting(name, settings)
	if err != nil {
		return "", err
	}
	// The host lowercases resolved queue names.
	q = strings.ToLower(q)
	return q, checkQueueName(q)
}

// App returns the app the host serves.
func (h *Host) App() *App { return h.app }

// HandlerURL returns the base URL of the handler the host invokes.
func (h *Host) HandlerURL() string { return h.base }

// QueueName returns the resolved trigger queue of a queueTrigger function.
func (h *Host) QueueName(function string) (string, bool) {
	fn := h.app.Function(function)
	if fn == nil {
		return "", false
	}
	q, ok := h.queueNames[fn.Name]
	return q, ok
}

// Schedule returns the resolved schedule of a timerTrigger function.
func (h *Host) Schedule(function string) (*Schedule, bool) {
	fn := h.app.Function(function)
	if fn == nil {
		return nil, false
	}
	s, ok := h.schedules[fn.Name]
	return s, ok
}

// Start runs the handler executable (binary, a path or a name looked up in
// PATH; when empty, host.json's defaultExecutablePath relative to the app
// directory) in the app directory (or host.json's workingDirectory), with the
// host.json arguments, env as its whole environment (pass the caller's and
// additions to inherit), and FUNCTIONS_CUSTOMHANDLER_PORT set to a free
// port. It waits until GET / gets any HTTP answer, at most
// Config.StartTimeout (30 s), and fails with the tail of the handler's output
// if the process exits first or the time runs out. Close stops the process.
func (a *App) Start(ctx context.Context, binary string, env []string, cfg Config) (*Host, error) {
	switch {
	case binary == "":
		binary = a.Host.ExecutablePath
		if !filepath.IsAbs(binary) {
			binary = filepath.Join(a.Dir, binary)
		}
	case strings.ContainsRune(binary, filepath.Separator) && !filepath.IsAbs(binary):
		// The process runs in the app directory: pin a relative path to
		// the caller's directory first.
		abs, err := filepath.Abs(binary)
		if err != nil {
			return nil, fmt.Errorf("funchost: start %s: %w", binary, err)
		}
		binary = abs
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("funchost: start %s: %w", binary, err)
	}
	h, err := a.newHost(fmt.Sprintf("http://127.0.0.1:%d", port), cfg)
	if err != nil {
		return nil, err
	}
	out := h.cfg.HandlerOutput
	if out == nil {
		out = &lineLogger{log: h.log.With("source", "handler")}
	}
	p, err := startProcess(binary, a.Host.Arguments, a.workDir(), env, port, out)
	if err != nil {
		return nil, fmt.Errorf("funchost: start %s: %w", binary, err)
	}
	h.proc = p
	if err := h.waitReady(ctx); err != nil {
		p.stop()
		return nil, fmt.Errorf("funchost: start %s: %w\n%s", binary, err, p.tail())
	}
	h.log.Info("handler started", "binary", binary, "port", port, "pid", p.cmd.Process.Pid)
	return h, nil
}

func (a *App) workDir() string {
	switch wd := a.Host.WorkingDirectory; {
	case wd == "":
		return a.Dir
	case filepath.IsAbs(wd):
		return wd
	default:
		return filepath.Join(a.Dir, wd)
	}
}

// waitReady polls GET / until any HTTP answer, the process exits, or the
// start timeout passes.
func (h *Host) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.StartTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.base+"/", nil)
		if err != nil {
			return err
		}
		pingCtx, pingCancel := context.WithTimeout(ctx, 2*time.Second)
		resp, err := h.client.Do(req.WithContext(pingCtx))
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			pingCancel()
			return nil
		}
		pingCancel()
		select {
		case <-h.proc.done:
			return fmt.Errorf("the handler exited before it answered at %s: %v", h.base, h.proc.exitErr())
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("the handler did not answer GET %s/ within %s", h.base, h.cfg.StartTimeout)
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close stops a handler that Start started (SIGTERM, then a kill after 5 s).
// It does nothing for a Target.
func (h *Host) Close() error {
	if h.proc == nil {
		return nil
	}
	return h.proc.stop()
}

// Kill stops a handler that Start started at once with SIGKILL, as a crash
// would: no request in flight is finished. It does nothing for a Target.
func (h *Host) Kill() error {
	if h.proc == nil {
		return nil
	}
	return h.proc.end(syscall.SIGKILL)
}

type process struct {
	cmd    *exec.Cmd
	done   chan struct{}
	err    error // set before done closes
	out    *tailBuffer
	once   sync.Once
	stopEr error
}

func startProcess(binary string, args []string, dir string, env []string, port int, out io.Writer) (*process, error) {
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(append([]string(nil), env...), fmt.Sprintf("FUNCTIONS_CUSTOMHANDLER_PORT=%d", port))
	tail := &tailBuffer{max: 4096}
	w := io.MultiWriter(out, tail)
	cmd.Stdout, cmd.Stderr = w, w
	// Give the handler its own process group so a stop reaches its children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{}), out: tail}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exitErr() error {
	<-p.done
	if p.err == nil {
		return errors.New("exit status 0")
	}
	return p.err
}

func (p *process) tail() string {
	t := strings.TrimRight(p.out.String(), "\n")
	if t == "" {
		return "(the handler wrote nothing)"
	}
	return "handler output (last lines):\n" + t
}

func (p *process) stop() error { return p.end(syscall.SIGTERM) }

// end sends first to the handler's process group, then SIGKILL after 5 s
// if it is still running, and waits for it to exit.
func (p *process) end(first syscall.Signal) error {
	p.once.Do(func() {
		select {
		case <-p.done:
			return
		default:
		}
		pgid := -p.cmd.Process.Pid
		_ = syscall.Kill(pgid, first)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(pgid, syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
				p.stopEr = errors.New("the handler did not exit after SIGKILL")
			}
		}
	})
	return p.stopEr
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append([]byte(nil), t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// lineLogger logs each complete line written to it, as the host logs a
// custom handler's stdout.
type lineLogger struct {
	mu      sync.Mutex
	log     *slog.Logger
	partial []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.log.Info(strings.TrimRight(string(l.partial[:i]), "\r"))
		l.partial = l.partial[i+1:]
	}
	if len(l.partial) > 64<<10 {
		l.log.Info(string(l.partial))
		l.partial = nil
	}
	return len(p), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// newGUID returns a random (version 4) GUID in the usual 8-4-4-4-12 form.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
