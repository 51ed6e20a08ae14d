package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// maxAgencyBytes bounds an agency document: far above any real one.
const maxAgencyBytes = 256 << 10

// agencies serves GET /api/agencies, GET /api/agencies/{id} and
// PUT /api/agencies/{id}.
func (s *Server) agencies(ctx context.Context, r *Request) (*Response, error) {
	return resource[licensing.Agency]{
		what: "agency", keyName: "agency id", path: "agencies", param: "id",
		list: s.agencyAdmin.ListAgencies, get: s.agencyAdmin.GetAgency, put: s.agencyAdmin.PutAgency,
		decode: func(r *Request, _ string) (licensing.Agency, error) {
			return decodeJSON[licensing.Agency](r, "agency", maxAgencyBytes)
		},
		key:  func(a licensing.Agency) string { return a.ID },
		etag: func(a licensing.Agency) string { return a.ETag },
		one:  func(a licensing.Agency) any { return newAgencyResponse(a) },
		many: func(list []licensing.Agency) any {
			return agencyListResponse{Agencies: mapList(list, newAgencyResponse), Count: len(list)}
		},
	}.serve(ctx, r)
}

// methodNotAllowed answers 405 with the methods the route takes. The host
// routes only the methods a function.json lists, so this guards against a
// function.json that lists more than the code serves.
func methodNotAllowed(method, allowed string) *Response {
	return &Response{Status: http.StatusMethodNotAllowed, Headers: map[string]string{"Allow": allowed},
		Body: errorBody{Error: errorDetail{Code: "method-not-allowed", Message: fmt.Sprintf("Method %s is not allowed here; use %s.", method, allowed)}}}
}

// precondition reads If-Match and If-None-Match. If-Match takes * or one
// entity tag as the ETag header gave it ("…", or W/"…" when weak is true);
// If-None-Match takes only * (create only). Any other value is Malformed,
// with a message giving the form expected, so that nothing a store would
// refuse (or misread) reaches it.
func precondition(r *Request, weak bool) (licensing.Precondition, error) {
	const op = "handlers.precondition"
	var pre licensing.Precondition
	// An empty header counts as absent.
	if v := r.headerList("If-Match"); v != "" {
		if err := checkIfMatch(v, weak); err != nil {
			return pre, licensing.Errorf(op, licensing.Malformed, "%s", err.Error())
		}
		pre.IfMatch = v
	}
	if v := r.headerList("If-None-Match"); v != "" {
		if v != "*" {
			return pre, licensing.Errorf(op, licensing.Malformed, "If-None-Match only accepts * here (create only, refusing to replace an existing one); send If-Match with an ETag to replace a given version.")
		}
		pre.IfNoneMatch = true
	}
	if pre.IfMatch != "" && pre.IfNoneMatch {
		return pre, licensing.Errorf(op, licensing.Invalid, "Send If-Match or If-None-Match, not both.")
	}
	return pre, nil
}

// checkIfMatch accepts *, or one entity tag: optionally W/, then double
// quotes around visible ASCII (or non-ASCII bytes) other than a double
// quote. It says what is wrong otherwise.
func checkIfMatch(v string, weak bool) error {
	const form = `If-Match must be * or one ETag exactly as the ETag header gave it, quotes included, such as W/"datetime'2026-11-23T06%3A00%3A00.0000000Z'"`
	if v == "*" {
		return nil
	}
	tags, ok := entityTags(v)
	switch {
	case !ok || len(tags) == 0:
		return errors.New(form + ".")
	case len(tags) > 1:
		return errors.New("If-Match must hold one ETag, not a list: send the ETag of the version you read.")
	case strings.HasPrefix(tags[0], "W/") && !weak:
		return errors.New(`If-Match takes a strong ETag ("…") here, not a weak one (W/"…").`)
	}
	return nil
}

// entityTags splits a comma-separated list of entity tags, reporting false
// when any element is not one.
func entityTags(v string) ([]string, bool) {
	var tags []string
	for v != "" {
		start := v
		v = strings.TrimPrefix(v, "W/")
		if !strings.HasPrefix(v, `"`) {
			return nil, false
		}
		end := strings.IndexByte(v[1:], '"')
		if end < 0 {
			return nil, false
		}
		for _, c := range []byte(v[1 : end+1]) {
			if c < 0x21 || c == 0x7f {
				return nil, false
			}
		}
		v = v[end+2:]
		tags = append(tags, start[:len(start)-len(v)])
		v = strings.TrimLeft(v, " \t")
		if v == "" {
			break
		}
		if v[0] != ',' {
			return nil, false
		}
		v = strings.TrimLeft(v[1:], " \t")
		if v == "" {
			return nil, false
		}
	}
	return tags, true
}

// headerList returns every value of the named request header (name matched
// without case) joined with commas, as HTTP reads repeated headers, trimmed.
func (r *HTTPRequest) headerList(name string) string {
	var vs []string
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			vs = append(vs, v...)
		}
	}
	return strings.TrimSpace(strings.Join(vs, ","))
}

// decodeJSON decodes the request body as one JSON document of type T,
// rejecting unknown fields, trailing data and bodies over max bytes. Syntax
// errors are Malformed (400); a wrong type or unknown field is Invalid (422)
// with the field named.
func decodeJSON[T any](r *Request, what string, max int) (T, error) {
	var v T
	op := "handlers.decode"
	if !r.HasBody || len(bytes.TrimSpace(r.Body)) == 0 {
		return v, licensing.Errorf(op, licensing.Malformed, "The request has no body: send the %s as JSON.", what)
	}
	if len(r.Body) > max {
		return v, licensing.Errorf(op, licensing.TooLarge, "The %s is larger than %d KiB.", what, max>>10)
	}
	if ct := r.ContentType(); ct != "" && ct != "application/json" && !strings.HasSuffix(ct, "+json") {
		return v, licensing.Errorf(op, licensing.Malformed, "Send the %s as application/json, not %s.", what, ct)
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, jsonError(op, what, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return v, licensing.Errorf(op, licensing.Malformed, "The %s must be a single JSON document; there is more after it.", what)
	}
	return v, nil
}

func jsonError(op, what string, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &licensing.Error{Op: op, Code: licensing.Malformed, Message: fmt.Sprintf("The %s is not valid JSON (at byte %d).", what, syn.Offset), Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &licensing.Error{Op: op, Code: licensing.Malformed, Message: fmt.Sprintf("The %s is cut short: the JSON ends too early.", what), Err: err}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
			return &licensing.Error{Op: op, Code: licensing.Malformed, Message: fmt.Sprintf("The %s must be a JSON object.", what), Err: err}
		}
		return &licensing.Error{Op: op, Code: licensing.Invalid, Message: fmt.Sprintf("The %s has 1 problem; see fields.", what), Err: err,
			Fields: []licensing.FieldError{{Field: field, Message: "must be " + jsonKind(typ.Type.Kind().String())}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &licensing.Error{Op: op, Code: licensing.Invalid, Message: fmt.Sprintf("The %s has 1 problem; see fields.", what), Err: err,
			Fields: []licensing.FieldError{{Field: field, Message: "is not a known field; check its spelling"}}}
	}
	return &licensing.Error{Op: op, Code: licensing.Malformed, Message: fmt.Sprintf("The %s could not be read as JSON.", what), Err: err}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice", "array":
		return "a list"
	case "struct", "map":
		return "an object"
	case "bool":
		return "true or false"
	case "int", "int64", "int32", "float64", "uint", "uint64":
		return "a number"
	}
	return "of another type (" + k + ")"
}
