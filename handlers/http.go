package handlers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Request is an API request as a function sees it: the host's HTTP request
// plus the caller's identity and the logger of the invocation.
type Request struct {
	*HTTPRequest
	Caller *licensing.Principal
	Log    *slog.Logger
}

// Response is what an HTTP function answers the caller.
type Response struct {
	Status  int
	Headers map[string]string
	// Body is encoded as JSON unless it is a []byte or string, which are
	// sent as they are with the Content-Type in Headers.
	Body any
	// Outputs are values for the function's other output bindings (a queue
	// message to send), keyed by binding name.
	Outputs map[string]any
}

// apiFunc is an HTTP function: decode the request, call the service, return
// the response or an error that the wrapper turns into the error body.
type apiFunc func(ctx context.Context, r *Request) (*Response, error)

// httpFunction adapts an apiFunc to the invocation protocol. It always
// answers the host normally (HTTP 200) with the caller's status inside
// Outputs.res, because the host drops a failed invocation's outputs.
func (s *Server) httpFunction(fn apiFunc) function {
	return func(ctx context.Context, inv *Invocation, log *slog.Logger) (map[string]any, error) {
		hreq, err := inv.HTTPRequest("req")
		if err != nil {
			err = &licensing.Error{Op: "handlers.decode", Code: licensing.Malformed, Message: "The request could not be read.", Err: err}
			return map[string]any{"res": errorResponse(err, log)}, nil
		}
		caller, err := principalFrom(hreq)
		if err != nil {
			return map[string]any{"res": errorResponse(err, log)}, nil
		}
		who := "anonymous"
		switch {
		case caller == nil:
		case caller.Name != "":
			who = caller.Name
		default:
			who = caller.ObjectID
		}
		log.Info("request", "method", hreq.Method, "path", pathOf(hreq.URL), "caller", who)
		resp, err := fn(ctx, &Request{HTTPRequest: hreq, Caller: caller, Log: log})
		if err != nil {
			return map[string]any{"res": errorResponse(err, log)}, nil
		}
		log.Info("response", "status", resp.Status)
		out := map[string]any{"res": resp.encode()}
		for k, v := range resp.Outputs {
			out[k] = v
		}
		return out, nil
	}
}

// hostResponse is the value of an http output binding.
type hostResponse struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       string            `json:"body"`
}

func (r *Response) encode() hostResponse {
	h := map[string]string{}
	for k, v := range r.Headers {
		h[k] = v
	}
	var body string
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = b
	case []byte:
		body = string(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return hostResponse{StatusCode: http.StatusInternalServerError, Headers: map[string]string{"Content-Type": "application/json"},
				Body: `{"error":{"code":"internal","message":"The response could not be encoded."}}`}
		}
		body = string(raw)
		if _, ok := h["Content-Type"]; !ok {
			h["Content-Type"] = "application/json; charset=utf-8"
		}
	}
	h["X-Content-Type-Options"] = "nosniff"
	h["Cache-Control"] = "no-store"
	return hostResponse{StatusCode: r.Status, Headers: h, Body: body}
}

// StatusOf returns the HTTP status for err's code.
func StatusOf(err error) int { return licensing.PolicyOf(err).HTTPStatus }

// errorBody is the JSON error shape of the API.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    licensing.Code `json:"code"`
	Message string         `json:"message"`
	Fields  []fieldError   `json:"fields,omitempty"`
}

// retryAfterSeconds is the Retry-After of every 503: long enough for a
// storage or Graph hiccup to pass, short enough for a script to wait out.
const retryAfterSeconds = "30"

// errorResponse turns err into the caller's response: the status from the
// table, a message safe to show, field errors. Internal and unavailable
// errors are logged with their detail, which the caller never sees.
func errorResponse(err error, log *slog.Logger) hostResponse {
	code := licensing.ErrorCode(err)
	status := StatusOf(err)
	if status >= 500 {
		log.Error("request failed", "status", status, "error", err)
	} else {
		log.Info("request refused", "status", status, "error", err)
	}
	resp := &Response{Status: status, Body: errorBody{Error: errorDetail{Code: code, Message: licensing.ErrorMessage(err), Fields: mapList(licensing.ErrorFields(err), newFieldError)}}}
	if status == http.StatusServiceUnavailable {
		resp.Headers = map[string]string{"Retry-After": retryAfterSeconds}
	}
	if code == licensing.Unauthenticated {
		resp.Headers = map[string]string{"WWW-Authenticate": `Bearer realm="App Service authentication"`}
	}
	return resp.encode()
}

// principalFrom reads the caller from App Service authentication's headers:
// X-MS-CLIENT-PRINCIPAL (base64 JSON with the token's claims), and
// X-MS-CLIENT-PRINCIPAL-NAME / -ID / -IDP. No headers means no identity (nil).
func principalFrom(r *HTTPRequest) (*licensing.Principal, error) {
	name := strings.TrimSpace(r.Header("X-MS-CLIENT-PRINCIPAL-NAME"))
	id := strings.TrimSpace(r.Header("X-MS-CLIENT-PRINCIPAL-ID"))
	p := &licensing.Principal{Name: name, ObjectID: id, Provider: r.Header("X-MS-CLIENT-PRINCIPAL-IDP")}
	if enc := strings.TrimSpace(r.Header("X-MS-CLIENT-PRINCIPAL")); enc != "" {
		cp, err := decodeClientPrincipal(enc)
		if err != nil {
			return nil, &licensing.Error{Op: "handlers.principal", Code: licensing.Unauthenticated, Message: "The caller's identity header could not be read; sign in again.", Err: err}
		}
		if p.Provider == "" {
			p.Provider = cp.AuthType
		}
		for _, c := range cp.Claims {
			switch {
			case p.Name == "" && (c.Type == cp.NameType || c.Type == "preferred_username" || c.Type == "upn"):
				p.Name = c.Value
			case p.ObjectID == "" && (c.Type == "http://schemas.microsoft.com/identity/claims/objectidentifier" || c.Type == "oid"):
				p.ObjectID = c.Value
			case c.Type == cp.RoleType || c.Type == "roles":
				p.Roles = append(p.Roles, c.Value)
			}
		}
	}
	if p.Name == "" && p.ObjectID == "" {
		return nil, nil
	}
	return p, nil
}

type clientPrincipal struct {
	AuthType string `json:"auth_typ"`
	NameType string `json:"name_typ"`
	RoleType string `json:"role_typ"`
	Claims   []struct {
		Type  string `json:"typ"`
		Value string `json:"val"`
	} `json:"claims"`
}

func decodeClientPrincipal(enc string) (*clientPrincipal, error) {
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		if raw, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(enc, "=")); err != nil {
			return nil, errors.New("X-MS-CLIENT-PRINCIPAL is not base64")
		}
	}
	var cp clientPrincipal
	if err := json.Unmarshal(raw, &cp); err != nil {
		return nil, errors.New("X-MS-CLIENT-PRINCIPAL is not JSON")
	}
	return &cp, nil
}

// pathOf returns the path of a URL string for logs (no query: it may carry
// the function key).
func pathOf(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexByte(u, '/'); j >= 0 {
			u = u[j:]
		} else {
			u = "/"
		}
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	return u
}

// queryInt reads a whole-number query parameter; absent is def.
func queryInt(r *Request, name string, def int) (int, error) {
	v := strings.TrimSpace(r.Query[name])
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, &licensing.Error{Op: "handlers.query", Code: licensing.Invalid, Message: "The query has 1 problem; see fields.",
			Fields: []licensing.FieldError{{Field: name, Message: "must be a whole number"}}}
	}
	return n, nil
}
