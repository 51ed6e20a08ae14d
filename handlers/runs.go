package handlers

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// runs serves GET /api/runs?function=&limit=&since=.
func (s *Server) runs(ctx context.Context, r *Request) (*Response, error) {
	if r.Method != http.MethodGet {
		return methodNotAllowed(r.Method, "GET"), nil
	}
	limit, err := queryInt(r, "limit", 0)
	if err != nil {
		return nil, err
	}
	f := licensing.RunFilter{Function: strings.TrimSpace(r.Query["function"]), Limit: limit}
	if v := strings.TrimSpace(r.Query["since"]); v != "" {
		t, err := parseSince(v)
		if err != nil {
			return nil, &licensing.Error{Op: "handlers.runs", Code: licensing.Invalid, Message: "The query has 1 problem; see fields.",
				Fields: []licensing.FieldError{{Field: "since", Message: "must be a date (2026-11-23) or a time (2026-11-23T06:00:00Z)"}}}
		}
		f.Since = t
	}
	list, err := s.runRecords.List(ctx, r.Caller, f)
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []licensing.Run{}
	}
	return &Response{Status: http.StatusOK, Body: runListResponse{Runs: mapList(list, newRunResponse), Count: len(list)}}, nil
}

func parseSince(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	return time.Parse(time.DateOnly, v)
}
