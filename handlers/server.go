package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/intake"
	"github.com/shared-tenant/licensetrack/shared/ledger"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/provisioning"
	"github.com/shared-tenant/licensetrack/shared/renewals"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// Config holds what the Server needs.
type Config struct {
	// Agencies, Runs and the three workflow services answer the functions.
	Agencies *licensing.AgencyAdmin
	Runs     *licensing.Runs
	Intake   *intake.Service
	Ledger   *ledger.Service
	Usage    *usage.Service
	// Provisioning runs capped group provisioning.
	Provisioning *provisioning.Service
	// Renewals answers the Enterprise Agreement enrollments and their
	// true-up worksheets.
	Renewals *renewals.Service
	// Auth tells the pages who the caller is and what they may see.
	Auth *licensing.Authorizer
	// Logger receives the process's own log (standard output).
	Logger *slog.Logger
	// MaxRequestBytes bounds an API request body (a purchase order with
	// its documents). Default 20 MiB.
	MaxRequestBytes int64
	// MaxInvocationBytes bounds the envelope the host may POST (the HTTP
	// body limit plus base64 and JSON overhead). Default 2 × MaxRequestBytes
	// + 1 MiB. A larger envelope to an HTTP function is answered 413 inside
	// a normal reply; to a queue or timer function it fails the invocation.
	MaxInvocationBytes int64
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Server is the custom handler: an http.Handler for the host's requests.
type Server struct {
	agencyAdmin  *licensing.AgencyAdmin
	runRecords   *licensing.Runs
	intake       *intake.Service
	ledger       *ledger.Service
	usage        *usage.Service
	provisioning *provisioning.Service
	renewals     *renewals.Service
	auth         *licensing.Authorizer
	log          *slog.Logger
	maxBytes     int64
	maxRequest   int64
	now          func() time.Time
	functions    map[string]function
	// workKinds routes the work queue's messages by the first part of
	// their kind (see work.go).
	workKinds map[string]workFunc
	// httpNames holds the functions with an HTTP trigger, whose caller
	// must get an answer even when the invocation cannot be read.
	httpNames map[string]bool
}

// function handles one invocation of one Azure Function. It returns the
// outputs to send to the host, and an error only when the invocation must
// fail at the host (non-2xx): a queue message to retry, a timer run that
// broke.
type function func(ctx context.Context, inv *Invocation, log *slog.Logger) (map[string]any, error)

// New returns a Server with every function of the app registered.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 20 << 20
	}
	if cfg.MaxInvocationBytes <= 0 {
		cfg.MaxInvocationBytes = 2*cfg.MaxRequestBytes + 1<<20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{agencyAdmin: cfg.Agencies, runRecords: cfg.Runs, intake: cfg.Intake, ledger: cfg.Ledger, usage: cfg.Usage, provisioning: cfg.Provisioning, renewals: cfg.Renewals, auth: cfg.Auth, log: cfg.Logger, maxBytes: cfg.MaxInvocationBytes, maxRequest: cfg.MaxRequestBytes, now: cfg.Now, functions: map[string]function{}, httpNames: map[string]bool{}}
	s.handleHTTP("Agencies", s.agencies)
	s.handleHTTP("Runs", s.runs)
	s.handleHTTP("Purchases", s.purchases)
	s.handleHTTP("PurchaseOrders", s.purchaseOrders)
	s.handleHTTP("ServiceRequests", s.serviceRequests)
	s.functions["ActivationSteps"] = queueFunction("msg", s.activationStep)
	s.functions["ActivationSweep"] = timerFunction("timer", s.activationSweep)
	s.functions["Work"] = queueFunction("msg", s.work)
	s.registerWork("payroll", s.payrollWork)
	s.registerWork("snapshot", s.snapshotWork)
	s.registerWork("signin", s.snapshotWork)
	s.functions["SignInPass"] = timerFunction("timer", s.signInPass)
	s.registerWork("provision", s.provisionWork)
	s.handleHTTP("LicenseReports", s.licenseReports)
	s.functions["PayrollReport"] = timerFunction("timer", s.payrollReport)
	s.functions["UsageAudit"] = timerFunction("timer", s.usageAudit)
	s.handleHTTP("Provisioning", s.provisioningAPI)
	s.functions["ProvisionGroups"] = timerFunction("timer", s.provisionGroups)
	s.handleHTTP("Enrollments", s.enrollments)
	s.handleHTTP("TrueUp", s.trueUp)
	s.handleHTTP("Chargeback", s.chargeback)
	s.functions["RenewalReminders"] = timerFunction("timer", s.renewalReminders)
	s.functions["Retention"] = timerFunction("timer", s.retention)
	s.handleHTTP("Pages", s.pages)
	return s
}

// handleHTTP registers fn as the HTTP-triggered function name.
func (s *Server) handleHTTP(name string, fn apiFunc) {
	s.functions[name] = s.httpFunction(fn)
	s.httpNames[name] = true
}

// Functions lists the names of the registered functions.
func (s *Server) Functions() []string {
	var names []string
	for n := range s.functions {
		names = append(names, n)
	}
	return names
}

// ServeHTTP answers the host: GET / is the readiness probe, POST
// /{FunctionName} an invocation.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ready\n")
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/")
	fn, ok := s.functions[name]
	if !ok {
		name, fn = s.lookupFold(name)
	}
	if fn == nil {
		http.Error(w, fmt.Sprintf("no function %q in this app", name), http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "invocations are POSTed by the Functions host", http.StatusMethodNotAllowed)
		return
	}
	s.invoke(w, r, name, fn)
}

// lookupFold finds a function by name without case, returning its
// registered name.
func (s *Server) lookupFold(name string) (string, function) {
	for n, fn := range s.functions {
		if strings.EqualFold(n, name) {
			return n, fn
		}
	}
	return name, nil
}

func (s *Server) invoke(w http.ResponseWriter, r *http.Request, name string, fn function) {
	start := s.now()
	invID := r.Header.Get("X-Azure-Functions-InvocationId")
	lines := &logLines{}
	log := lines.logger()

	if r.ContentLength > s.maxBytes {
		// Said too large up front: refused without holding any of it.
		s.tooLarge(w, r, name, invID, lines, log)
		return
	}
	var inv Invocation
	body := &limitedBody{r: r.Body, left: s.maxBytes}
	if err := json.NewDecoder(body).Decode(&inv); err != nil {
		if errors.Is(err, errEnvelopeTooLarge) {
			s.tooLarge(w, r, name, invID, lines, log)
			return
		}
		// The host sent something this handler cannot read: fail the
		// invocation so it shows as failed in the portal.
		s.fail(w, name, invID, lines, fmt.Errorf("cannot read the invocation payload: %w", err))
		return
	}
	outputs, err := s.call(r.Context(), fn, &inv, log)
	if err != nil {
		log.Error("invocation failed", "error", err, "retry", licensing.Retryable(err))
		s.fail(w, name, invID, lines, err)
		return
	}
	log.Debug("invocation finished", "ms", s.now().Sub(start).Milliseconds())
	writeJSON(w, http.StatusOK, InvokeResponse{Outputs: outputs, Logs: lines.all()})
}

// tooLarge answers an invocation whose envelope is over MaxInvocationBytes.
// An HTTP function's caller gets 413 with the JSON error inside a normal
// reply, as for any refused request; a queue or timer invocation fails.
// The rest of the envelope is read and dropped first, so the host, still
// sending it, reads the reply instead of a reset connection.
func (s *Server) tooLarge(w http.ResponseWriter, r *http.Request, name, invID string, lines *logLines, log *slog.Logger) {
	io.CopyN(io.Discard, r.Body, maxDrainBytes)
	err := licensing.Errorf("handlers.invoke", licensing.TooLarge,
		"The request is larger than %d MB, the most this service accepts; send smaller documents (PDF or compressed scans).", s.maxRequest>>20)
	if !s.httpNames[name] {
		s.fail(w, name, invID, lines, err)
		return
	}
	log.Info("request refused before reading it", "function", name, "limitBytes", s.maxBytes)
	writeJSON(w, http.StatusOK, InvokeResponse{Outputs: map[string]any{"res": errorResponse(err, log)}, Logs: lines.all()})
}

// maxDrainBytes bounds how much of an oversized envelope is read and
// dropped before answering; the server closes a connection whose request
// is left unread past it.
const maxDrainBytes = 1 << 30

// errEnvelopeTooLarge is limitedBody's error past its limit.
var errEnvelopeTooLarge = errors.New("the invocation payload is larger than the handler accepts")

// limitedBody reads at most left bytes of r, then fails with
// errEnvelopeTooLarge; a body of exactly left bytes reads to its end.
type limitedBody struct {
	r    io.Reader
	left int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, errEnvelopeTooLarge
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) <= l.left {
		l.left -= int64(n)
		return n, err
	}
	n = int(l.left)
	l.left = -1
	return n, errEnvelopeTooLarge
}

// call runs fn, turning a panic into an internal error: a bug in one
// function fails that invocation, not the process serving every function.
func (s *Server) call(ctx context.Context, fn function, inv *Invocation, log *slog.Logger) (outputs map[string]any, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in a function", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			outputs, err = nil, licensing.Wrap("handlers.invoke", licensing.Internal, "", fmt.Errorf("panic: %v", p))
		}
	}()
	return fn(ctx, inv, log)
}

// fail answers the host with a non-2xx status. The host then drops Outputs
// and Logs, so the log lines go to standard output as well.
func (s *Server) fail(w http.ResponseWriter, name, invID string, lines *logLines, err error) {
	for _, l := range lines.all() {
		s.log.Error(l, "function", name, "invocation", invID)
	}
	s.log.Error("invocation failed", "function", name, "invocation", invID, "error", err)
	writeJSON(w, licensing.PolicyOf(err).InvocationStatus, InvokeResponse{Logs: lines.all()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"Logs":["cannot encode the reply"]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
