package funchost

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// httpRequestData is Data.<trigger name> for an httpTrigger.
type httpRequestData struct {
	URL        string              `json:"Url"`
	Method     string              `json:"Method"`
	Query      map[string]string   `json:"Query"`
	Headers    map[string][]string `json:"Headers"`
	Params     map[string]string   `json:"Params"`
	Identities []identity          `json:"Identities"`
	Body       *string             `json:"Body,omitempty"`
}

// identity is a ClaimsIdentity as the host serialises it, reduced to the
// fields a handler reads. The harness builds one from App Service
// authentication's X-MS-CLIENT-PRINCIPAL header when a request carries it.
type identity struct {
	AuthenticationType string  `json:"AuthenticationType"`
	IsAuthenticated    bool    `json:"IsAuthenticated"`
	Name               *string `json:"Name"`
	NameClaimType      string  `json:"NameClaimType"`
	RoleClaimType      string  `json:"RoleClaimType"`
	Claims             []claim `json:"Claims"`
}

type claim struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// clientPrincipal is the decoded X-MS-CLIENT-PRINCIPAL header.
type clientPrincipal struct {
	AuthType string `json:"auth_typ"`
	NameType string `json:"name_typ"`
	RoleType string `json:"role_typ"`
	Claims   []struct {
		Type  string `json:"typ"`
		Value string `json:"val"`
	} `json:"claims"`
}

// httpOutputValue is Outputs.<http out name>. Every field is optional, as
// in the host; statusCode may be a number or a string.
type httpOutputValue struct {
	StatusCode json.RawMessage            `json:"statusCode"`
	Status     json.RawMessage            `json:"status"`
	Body       json.RawMessage            `json:"body"`
	Headers    map[string]json.RawMessage `json:"headers"`
}

// httpResponse is what the host writes back to the client.
type httpResponse struct {
	status int
	header http.Header
	body   []byte
}

// ServeHTTP accepts a request as the Functions host does: under
// /{routePrefix}/, matched against the httpTrigger routes (a route that
// matches but does not allow the method is a 404, as in the host), then
// either proxied raw to the handler (forwarding enabled and an HTTP-only
// function) or sent as an invocation payload.
//
// With Config.LocalSignIn the host first answers /.auth/* itself and
// replaces the request's identity headers with its session's.
func (h *Host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.signIn != nil {
		if h.signIn.serve(w, r) {
			return
		}
		r = h.signIn.identify(r)
	}
	rest, ok := h.stripPrefix(r.URL.EscapedPath())
	if !ok {
		if r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, "Your Functions 4.0 app is up and running (funchost)\n")
			return
		}
		http.NotFound(w, r)
		return
	}
	fn, values, ok := h.matchRoute(rest, r.Method)
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if h.app.Host.ForwardHTTP && fn.isHTTPInAndOut() {
		h.forward(w, r, fn)
		return
	}
	h.serveInvocation(w, r, fn, values)
}

// stripPrefix returns the escaped path below the route prefix.
func (h *Host) stripPrefix(escaped string) (string, bool) {
	prefix := h.app.Host.RoutePrefix
	if prefix == "" {
		return strings.TrimPrefix(escaped, "/"), true
	}
	p := "/" + prefix
	switch {
	case strings.EqualFold(escaped, p):
		return "", true
	case len(escaped) > len(p) && strings.EqualFold(escaped[:len(p)+1], p+"/"):
		return escaped[len(p)+1:], true
	}
	return "", false
}

// matchRoute finds the most specific enabled httpTrigger function whose
// route matches path and whose methods allow method.
func (h *Host) matchRoute(path, method string) (*Function, map[string]string, bool) {
	type candidate struct {
		fn     *Function
		values map[string]string
		prec   []int
	}
	var cands []candidate
	for _, fn := range h.app.Functions {
		if fn.Route == nil || fn.Disabled {
			continue
		}
		if values, ok := fn.Route.Match(path); ok {
			cands = append(cands, candidate{fn, values, fn.Route.precedence()})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if c := comparePrecedence(cands[i].prec, cands[j].prec); c != 0 {
			return c < 0
		}
		return cands[i].fn.Name < cands[j].fn.Name
	})
	for _, c := range cands {
		if m := c.fn.Trigger.Methods; len(m) == 0 || slices.Contains(m, strings.ToUpper(method)) {
			return c.fn, c.values, true
		}
	}
	return nil, nil, false
}

func (h *Host) serveInvocation(w http.ResponseWriter, r *http.Request, fn *Function, values map[string]string) {
	req, err := h.requestData(w, r, values)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		h.log.Warn("read request", "function", fn.Name, "err", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	meta := map[string]json.RawMessage{}
	for k, v := range values {
		meta[k] = quoteTwice(v)
	}
	meta["Query"] = mustJSON(req.Query)
	flat := make(map[string]string, len(req.Headers))
	for k, v := range req.Headers {
		flat[k] = strings.Join(v, ",")
	}
	meta["Headers"] = mustJSON(flat)
	data := map[string]json.RawMessage{fn.Trigger.Name: mustJSON(req)}

	inv := h.invoke(r.Context(), fn, TriggerHTTP, "This function was programmatically called via the host APIs.", data, meta)
	if !inv.Succeeded {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	resp := inv.response
	if resp == nil {
		// An httpTrigger without an http output binding has nothing to say.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	for k, vs := range resp.header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(resp.body)
	}
}

// requestData builds Data.req from the incoming request as the host does.
func (h *Host) requestData(w http.ResponseWriter, r *http.Request, values map[string]string) (httpRequestData, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := scheme + "://" + r.Host + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	d := httpRequestData{
		URL:        u,
		Method:     r.Method,
		Query:      map[string]string{},
		Headers:    map[string][]string{},
		Params:     map[string]string{},
		Identities: []identity{},
	}
	for k, vs := range r.URL.Query() {
		d.Query[k] = strings.Join(vs, ",")
	}
	for k, vs := range r.Header {
		d.Headers[k] = append([]string(nil), vs...)
	}
	// Go moves these out of the header map; ASP.NET keeps them.
	d.Headers["Host"] = []string{r.Host}
	if len(r.TransferEncoding) > 0 {
		d.Headers["Transfer-Encoding"] = []string{strings.Join(r.TransferEncoding, ",")}
	}
	for k, v := range values {
		d.Params[k] = v
	}
	if id, ok := principalIdentity(r.Header.Get("X-MS-CLIENT-PRINCIPAL")); ok {
		d.Identities = append(d.Identities, id)
	}
	// The host sets Body only when the request declared a Content-Length
	// above zero: a chunked request arrives without one.
	if r.ContentLength > 0 {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			return d, err
		}
		s := string(body)
		if isOctetOrMultipart(r.Header.Get("Content-Type")) {
			s = base64.StdEncoding.EncodeToString(body)
		}
		d.Body = &s
	}
	return d, nil
}

func isOctetOrMultipart(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/octet-stream" || strings.HasPrefix(mt, "multipart/")
}

func principalIdentity(header string) (identity, bool) {
	if header == "" {
		return identity{}, false
	}
	raw, err := base64.StdEncoding.DecodeString(header)
	if err != nil {
		return identity{}, false
	}
	var p clientPrincipal
	if err := json.Unmarshal(raw, &p); err != nil {
		return identity{}, false
	}
	id := identity{AuthenticationType: p.AuthType, IsAuthenticated: true, NameClaimType: p.NameType, RoleClaimType: p.RoleType, Claims: []claim{}}
	for _, c := range p.Claims {
		id.Claims = append(id.Claims, claim{Type: c.Type, Value: c.Value})
		if c.Type == p.NameType && id.Name == nil {
			name := c.Value
			id.Name = &name
		}
	}
	return id, true
}

// httpResponseFor converts the function's http output (or ReturnValue for
// an output named $return) into the response the host writes. A value that
// is not an object (nor a string holding one) fails the invocation, as in
// the host.
func httpResponseFor(fn *Function, outputs map[string]json.RawMessage, ret json.RawMessage) (*httpResponse, error) {
	b := fn.HTTPOutput()
	if b == nil {
		return nil, nil
	}
	var v json.RawMessage
	if b.Name == "$return" {
		v = ret
	} else {
		v, _ = output(outputs, b.Name)
	}
	resp := &httpResponse{status: http.StatusOK, header: http.Header{}}
	t := bytes.TrimSpace(v)
	if len(t) == 0 || string(t) == "null" {
		return resp, nil
	}
	// The host reads the value's text as JSON, so a string that holds a JSON
	// object works too.
	if t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err == nil {
			t = bytes.TrimSpace([]byte(s))
		}
	}
	var out httpOutputValue
	if len(t) == 0 || t[0] != '{' {
		return nil, fmt.Errorf("output %q must be an object like {\"statusCode\":200,\"body\":...,\"headers\":{...}}; got %.60s", b.Name, t)
	}
	if err := json.Unmarshal(t, &out); err != nil {
		return nil, fmt.Errorf("output %q is not in the expected format: %w", b.Name, err)
	}
	status := out.StatusCode
	if len(status) == 0 || string(status) == "null" {
		status = out.Status
	}
	if len(status) > 0 && string(status) != "null" {
		code, err := strconv.Atoi(strings.Trim(string(status), `"`))
		if err != nil || code < 100 || code > 999 {
			return nil, fmt.Errorf("output %q: statusCode %s is not an HTTP status", b.Name, status)
		}
		resp.status = code
	}
	for k, hv := range out.Headers {
		var s string
		if err := json.Unmarshal(hv, &s); err == nil {
			resp.header.Add(k, s)
			continue
		}
		var list []string
		if err := json.Unmarshal(hv, &list); err == nil {
			for _, s := range list {
				resp.header.Add(k, s)
			}
			continue
		}
		resp.header.Add(k, string(bytes.TrimSpace(hv)))
	}
	body := bytes.TrimSpace(out.Body)
	switch {
	case len(body) == 0 || string(body) == "null":
	case body[0] == '"':
		var s string
		if err := json.Unmarshal(body, &s); err != nil {
			return nil, fmt.Errorf("output %q: body: %w", b.Name, err)
		}
		resp.body = []byte(s)
		if resp.header.Get("Content-Type") == "" {
			resp.header.Set("Content-Type", "text/plain; charset=utf-8")
		}
	default:
		resp.body = compactJSON(body)
		if resp.header.Get("Content-Type") == "" {
			resp.header.Set("Content-Type", "application/json; charset=utf-8")
		}
	}
	return resp, nil
}

// forward proxies the raw request to the handler at its original path and
// copies the answer back verbatim, as the host does for HTTP-only functions
// when enableForwardingHttpRequest or enableProxyingHttpRequest is set.
func (h *Host) forward(w http.ResponseWriter, r *http.Request, fn *Function) {
	inv := Invocation{ID: h.cfg.NewID(), Function: fn.Name, Trigger: TriggerHTTP, Started: time.Now(), Forwarded: true}
	log := h.log.With("function", fn.Name, "invocationId", inv.ID)
	log.Info(fmt.Sprintf("Executing 'Functions.%s' (Reason='This function was programmatically called via the host APIs.', Id=%s)", fn.Name, inv.ID))
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.InvocationTimeout)
	defer cancel()

	target := h.base + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	// Like the host, send a body only when the request declared a length.
	var body io.Reader = http.NoBody
	if r.ContentLength > 0 {
		body = http.MaxBytesReader(w, r.Body, maxBody)
	}
	out, err := http.NewRequestWithContext(ctx, r.Method, target, body)
	if err == nil {
		for k, vs := range r.Header {
			if !hopByHop(k) {
				out.Header[k] = append([]string(nil), vs...)
			}
		}
		if r.ContentLength > 0 {
			out.ContentLength = r.ContentLength
		}
		out.Host = r.Host
		h.addInvocationHeaders(out.Header, inv.ID)
	}
	var resp *http.Response
	if err == nil {
		resp, err = h.client.Do(out)
	}
	if err == nil {
		defer resp.Body.Close()
		inv.HandlerStatus = resp.StatusCode
		for k, vs := range resp.Header {
			if !hopByHop(k) {
				w.Header()[k] = vs
			}
		}
		w.WriteHeader(resp.StatusCode)
		_, err = io.Copy(w, resp.Body)
		if err != nil {
			err = fmt.Errorf("copy the handler's answer: %w", err)
		}
	} else {
		err = fmt.Errorf("forward to the handler: %w", err)
		w.WriteHeader(http.StatusInternalServerError)
	}
	inv.Err = err
	inv.Succeeded = err == nil
	inv.Duration = time.Since(inv.Started)
	if inv.Succeeded {
		log.Info(fmt.Sprintf("Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%dms)", fn.Name, inv.ID, inv.Duration.Milliseconds()))
	} else {
		log.Error(fmt.Sprintf("Executed 'Functions.%s' (Failed, Id=%s, Duration=%dms)", fn.Name, inv.ID, inv.Duration.Milliseconds()), "err", err)
	}
	h.record(inv)
}

func hopByHop(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// Serve listens on addr (such as "127.0.0.1:7071") and serves the host's
// HTTP front end until ctx ends. It returns nil after a clean shutdown.
func (h *Host) Serve(ctx context.Context, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("funchost: listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	h.log.Info("host listening", "url", "http://"+l.Addr().String()+"/"+h.app.Host.RoutePrefix)
	select {
	case err := <-errc:
		return fmt.Errorf("funchost: serve %s: %w", addr, err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return fmt.Errorf("funchost: shut down %s: %w", addr, err)
	}
	return nil
}

// URLPath returns the path a client uses for a route, such as
// "/api/agencies/42" for "agencies/42".
func (h *Host) URLPath(route string) string {
	p := strings.TrimPrefix(route, "/")
	if h.app.Host.RoutePrefix == "" {
		return "/" + p
	}
	return "/" + h.app.Host.RoutePrefix + "/" + p
}

var _ http.Handler = (*Host)(nil)
