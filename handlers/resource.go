package handlers

import (
	"context"
	"net/http"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// resource is an API collection of records written whole under an ETag
// (agencies, enrollments): GET /api/{path} lists them, GET
// /api/{path}/{key} answers one with its ETag header, and PUT
// /api/{path}/{key} creates one (201, with Location) or replaces it (200),
// under the If-Match or If-None-Match the request sends (see
// precondition). Every answer with one record carries its new ETag.
type resource[T any] struct {
	// what names a record ("agency"), keyName its key ("agency id"), path
	// the route before the key ("agencies"), param the key's route
	// parameter ("id").
	what, keyName, path, param string
	list                       func(ctx context.Context, caller *licensing.Principal) ([]T, error)
	get                        func(ctx context.Context, caller *licensing.Principal, key string) (T, error)
	// decode reads the body of a PUT.
	decode func(r *Request, key string) (T, error)
	put    func(ctx context.Context, caller *licensing.Principal, key string, v T, pre licensing.Precondition) (T, bool, error)
	// key and etag read a stored record's key and ETag.
	key, etag func(T) string
	// one is the answer for a record, many the answer for the list.
	one  func(T) any
	many func([]T) any
}

func (res resource[T]) serve(ctx context.Context, r *Request) (*Response, error) {
	key := strings.TrimSpace(r.Params[res.param])
	switch {
	case r.Method == http.MethodGet && key == "":
		list, err := res.list(ctx, r.Caller)
		if err != nil {
			return nil, err
		}
		if list == nil {
			list = []T{}
		}
		return &Response{Status: http.StatusOK, Body: res.many(list)}, nil
	case r.Method == http.MethodGet:
		v, err := res.get(ctx, r.Caller, key)
		if err != nil {
			return nil, err
		}
		return &Response{Status: http.StatusOK, Headers: map[string]string{"ETag": res.etag(v)}, Body: res.one(v)}, nil
	case r.Method == http.MethodPut && key != "":
		v, err := res.decode(r, key)
		if err != nil {
			return nil, err
		}
		// The stores' ETags are weak (W/"datetime'…'").
		pre, err := precondition(r, true)
		if err != nil {
			return nil, err
		}
		stored, created, err := res.put(ctx, r.Caller, key, v, pre)
		if err != nil {
			return nil, err
		}
		status := http.StatusOK
		headers := map[string]string{"ETag": res.etag(stored)}
		if created {
			status = http.StatusCreated
			headers["Location"] = "/api/" + res.path + "/" + res.key(stored)
		}
		r.Log.Info(res.what+" saved", res.what, res.key(stored), "created", created)
		return &Response{Status: status, Headers: headers, Body: res.one(stored)}, nil
	case r.Method == http.MethodPut:
		return nil, licensing.Errorf(res.path, licensing.Invalid, "PUT needs the %s in the URL: PUT /api/%s/{%s}.", res.keyName, res.path, res.param)
	}
	return methodNotAllowed(r.Method, "GET, PUT"), nil
}
