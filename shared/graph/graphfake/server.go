package graphfake

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Endpoint names under which requests are counted and faults are matched.
const (
	EndpointUsers             = "users"
	EndpointUsersDelta        = "users/delta"
	EndpointSubscribedSkus    = "subscribedSkus"
	EndpointSubscriptions     = "directory/subscriptions"
	EndpointTransitiveMembers = "groups/transitiveMembers"
	EndpointOther             = "other"
)

// Paging limits, as Graph v1.0 applies them to /users.
const (
	MaxTop           = 999
	MaxTopWithSignIn = 500
	DefaultTop       = 100
)

// DefaultDeltaPageSize is how many users a /users/delta page holds. Graph
// does not accept $top on user delta and chooses the page size itself.
const DefaultDeltaPageSize = 200

// Fault makes the server answer the next Times requests to Endpoint ("" for
// any) with Status instead of serving them.
type Fault struct {
	Endpoint string
	Status   int
	// RetryAfter is sent as the Retry-After header when not empty.
	RetryAfter string
	// Code and Message fill the Graph error body; defaults follow Status.
	Code    string
	Message string
	Times   int
	// After serves the request first (a mail is sent) and then answers
	// with the fault: the service acted and its answer was lost.
	After bool
}

// Request is the record of one request the server received.
type Request struct {
	Endpoint string
	Method   string
	Path     string
	Query    url.Values
	// Body is the request body, gunzipped when it was sent compressed;
	// nil for the chunks PUT to an upload URL (Size still counts them).
	Body []byte
	Size int
	Gzip bool
	// Authorization is whether the request carried an Authorization header.
	Authorization bool
	Status        int
	// Batch is set for a sub-request of a $batch; it is counted under its
	// own endpoint besides the $batch request that carried it.
	Batch bool
}

// maxRecorded bounds the request log of a long-running server.
const maxRecorded = 100000

// Server serves a Tenant over HTTP. The zero value is not usable: call
// NewServer. A Server is an http.Handler, so it can run inside an
// httptest.Server, or on its own listener with Start.
type Server struct {
	tenant *Tenant
	log    *slog.Logger

	// DeltaPageSize is the number of users per /users/delta page.
	DeltaPageSize int
	// Latency delays every answer, so a test can catch a caller in the
	// middle of a call. Set it before serving.
	Latency time.Duration
	// PageLatency delays each answer of /users and /users/delta (after
	// Latency), as a large tenant's pages take Graph time to produce: for
	// benchmarks of reads split across workers. Set it before serving.
	PageLatency time.Duration
	// BeforeUsersPage, when set, is called before the server reads the
	// tenant for a /users page, with the number of /users requests served
	// so far, this one included. A test changes the tenant there (PutUser,
	// UpdateUser, RemoveUser take the tenant's lock, which the server does
	// not hold at that point) to play a directory that changes during a
	// read. Set it before serving.
	BeforeUsersPage func(n int)
	// OnMailSent, when set, is called after a message was sent and before
	// the answer goes back: a test can stop the caller right there.
	OnMailSent func(SentMessage)

	mu       sync.Mutex
	faults   []Fault
	counts   map[string]int
	requests []Request
	// batched counts the sub-requests of $batch requests in counts.
	batched int

	usersPages int

	mail     mailState
	licenses licenseState

	srv  *http.Server
	ln   net.Listener
	base string
}

// NewServer returns a server for t. logger may be nil.
func NewServer(t *Tenant, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{tenant: t, log: logger, DeltaPageSize: DefaultDeltaPageSize, counts: map[string]int{}}
}

// Tenant returns the tenant the server serves.
func (s *Server) Tenant() *Tenant { return s.tenant }

// Start listens on addr, which must be a loopback address ("127.0.0.1:0"
// picks a free port), and serves until Close.
func (s *Server) Start(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("graphfake: address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("graphfake: refusing to listen on %q: the fake serves loopback only", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("graphfake: %w", err)
	}
	s.ln = ln
	s.base = "http://" + ln.Addr().String() + "/v1.0"
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("graphfake: serve", "error", err)
		}
	}()
	return nil
}

// BaseURL is the Graph base URL of a started server
// (http://127.0.0.1:port/v1.0).
func (s *Server) BaseURL() string { return s.base }

// Close stops a started server.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// Inject queues a fault. Faults are used in the order injected.
func (s *Server) Inject(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// ClearFaults drops every fault not used yet.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Count returns how many requests were made to endpoint, faults included.
// The sub-requests of a $batch count under their own endpoints as well: 3
// batches of 20 assignLicense requests are Count(EndpointBatch) 3 and
// Count(EndpointAssignLicense) 60.
func (s *Server) Count(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[endpoint]
}

// Counts returns the request counts by endpoint.
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// Total returns how many HTTP requests were made in all: the sub-requests
// of a $batch are not counted again.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := -s.batched
	for _, v := range s.counts {
		n += v
	}
	return n
}

// Requests returns the recorded requests, oldest first (the most recent
// 100,000 at most).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetCounts forgets the counts and the recorded requests.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]int{}
	s.requests = nil
	s.batched = 0
}

// ServeHTTP serves one Graph request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Latency > 0 {
		select {
		case <-time.After(s.Latency):
		case <-r.Context().Done():
			return
		}
	}
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Authorization: r.Header.Get("Authorization") != ""}
	if r.Body != nil {
		var body io.Reader = io.LimitReader(r.Body, 64<<20)
		if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
			zr, err := gzip.NewReader(body)
			if err != nil {
				s.finish(w, &rec, errorReply(http.StatusBadRequest, "BadRequest", "The request body is not valid gzip."))
				return
			}
			defer zr.Close()
			body = zr
			rec.Gzip = true
		}
		b, err := io.ReadAll(body)
		if err != nil {
			s.finish(w, &rec, errorReply(http.StatusBadRequest, "BadRequest", "The request body could not be read."))
			return
		}
		rec.Body = b
		rec.Size = len(b)
	}
	rt := route(r.URL.Path)
	rec.Endpoint = rt.endpoint
	f, faulty := s.takeFault(rt.endpoint)
	if faulty && !f.After {
		s.finish(w, &rec, f.reply())
		return
	}
	host := "http://" + r.Host
	base := host + "/v1.0"
	var rep reply
	switch {
	case isMailEndpoint(rt.endpoint):
		rep = s.serveMail(r, rt, rec.Body, host)
		if rt.endpoint == EndpointUpload {
			rec.Body = nil
		}
	case isLicenseEndpoint(rt.endpoint):
		rep = s.serveLicense(r.Method, rt, rec.Query, rec.Body, base)
	case r.Method != http.MethodGet:
		rep = errorReply(http.StatusMethodNotAllowed, "Request_BadRequest", "The fake serves reads and the mail API only.")
	case rt.endpoint == EndpointUsers:
		if !s.pageDelay(r) {
			return
		}
		if s.BeforeUsersPage != nil {
			s.mu.Lock()
			s.usersPages++
			n := s.usersPages
			s.mu.Unlock()
			s.BeforeUsersPage(n)
		}
		rep = s.listUsers(base, rec.Query)
	case rt.endpoint == EndpointUsersDelta:
		if !s.pageDelay(r) {
			return
		}
		rep = s.delta(base, rec.Query)
	case rt.endpoint == EndpointSubscribedSkus:
		rep = s.subscribedSkus(base, rec.Query)
	case rt.endpoint == EndpointSubscriptions:
		rep = s.subscriptions(base, rec.Query)
	case rt.endpoint == EndpointTransitiveMembers:
		rep = s.transitiveMembers(base, rt.group, rt.usersOnly, rec.Query)
	default:
		rep = errorReply(http.StatusNotFound, "Request_UnsupportedQuery", "The fake does not serve "+r.URL.Path+".")
	}
	if faulty {
		rep = f.reply()
	}
	s.finish(w, &rec, rep)
}

// pageDelay waits PageLatency; it reports false when the caller went away
// meanwhile.
func (s *Server) pageDelay(r *http.Request) bool {
	if s.PageLatency <= 0 {
		return true
	}
	t := time.NewTimer(s.PageLatency)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func (s *Server) takeFault(endpoint string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		if f.Endpoint != "" && f.Endpoint != endpoint {
			continue
		}
		out := *f
		f.Times--
		if f.Times <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return out, true
	}
	return Fault{}, false
}

func (s *Server) finish(w http.ResponseWriter, rec *Request, rep reply) {
	rec.Status = rep.status
	s.record(*rec)
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
	w.WriteHeader(rep.status)
	if _, err := w.Write(rep.body); err != nil {
		s.log.Debug("graphfake: write", "error", err)
	}
}

// record counts rec under its endpoint and keeps it in the request log.
func (s *Server) record(rec Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[rec.Endpoint]++
	if rec.Batch {
		s.batched++
	}
	if len(s.requests) >= maxRecorded {
		s.requests = append(s.requests[:0], s.requests[len(s.requests)/2:]...)
	}
	s.requests = append(s.requests, rec)
}

type routed struct {
	endpoint  string
	group     string
	usersOnly bool
	// user, message and token name the mailbox, the message and the
	// upload session of the mail API.
	user    string
	message string
	token   string
}

// route names the endpoint of path.
func route(path string) routed {
	if tok, ok := strings.CutPrefix(path, uploadPrefix); ok && tok != "" && !strings.Contains(tok, "/") {
		return routed{endpoint: EndpointUpload, token: tok}
	}
	p, ok := strings.CutPrefix(path, "/v1.0/")
	if !ok {
		return routed{endpoint: EndpointOther}
	}
	p = strings.TrimSuffix(p, "/")
	switch p {
	case "users":
		return routed{endpoint: EndpointUsers}
	case "users/delta", "users/delta()", "users/microsoft.graph.delta", "users/microsoft.graph.delta()":
		return routed{endpoint: EndpointUsersDelta}
	case "subscribedSkus":
		return routed{endpoint: EndpointSubscribedSkus}
	case "directory/subscriptions":
		return routed{endpoint: EndpointSubscriptions}
	}
	parts := strings.Split(p, "/")
	if r, ok := mailRoute(parts); ok {
		return r
	}
	if r, ok := licenseRoute(parts); ok {
		return r
	}
	if len(parts) >= 3 && parts[0] == "groups" && parts[2] == "transitiveMembers" {
		switch {
		case len(parts) == 3:
			return routed{endpoint: EndpointTransitiveMembers, group: strings.ToLower(parts[1])}
		case len(parts) == 4 && (parts[3] == "graph.user" || parts[3] == "microsoft.graph.user"):
			return routed{endpoint: EndpointTransitiveMembers, group: strings.ToLower(parts[1]), usersOnly: true}
		}
	}
	return routed{endpoint: EndpointOther}
}

// reply is a response about to be written.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func okReply(body []byte) reply { return reply{status: http.StatusOK, body: body} }

// errorReply builds Graph's error body.
func errorReply(status int, code, message string) reply {
	if code == "" {
		code = defaultCode(status)
	}
	if message == "" {
		message = http.StatusText(status)
	}
	var w jsonWriter
	w.raw(`{"error":{"code":`)
	w.str(code)
	w.raw(`,"message":`)
	w.str(message)
	w.raw(`,"innerError":{"date":`)
	w.str(time.Now().UTC().Format("2006-01-02T15:04:05"))
	w.raw(`,"request-id":"00000000-0000-0000-0000-000000000000"}}}`)
	return reply{status: status, body: w.buf}
}

func defaultCode(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "TooManyRequests"
	case http.StatusServiceUnavailable:
		return "serviceNotAvailable"
	case http.StatusGatewayTimeout:
		return "gatewayTimeout"
	case http.StatusUnauthorized:
		return "InvalidAuthenticationToken"
	case http.StatusForbidden:
		return "Authorization_RequestDenied"
	case http.StatusNotFound:
		return "Request_ResourceNotFound"
	case http.StatusGone:
		return "SyncStateNotFound"
	case http.StatusBadRequest:
		return "Request_BadRequest"
	}
	return "generalException"
}
