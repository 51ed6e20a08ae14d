package handlers

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// TestAgencyPreconditionHeaders sends PUTs with If-Match and If-None-Match
// values of every shape: a malformed value is 400 with a message giving
// the form expected, a well-formed ETag that is not the agency's is 412,
// and neither writes anything.
func TestAgencyPreconditionHeaders(t *testing.T) {
	h := newTestHost(t, hostOpts{})
	created := putDOA(h, nil)
	if created.status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", created.status, created.body)
	}
	etag := created.headers["ETag"]
	tests := []struct {
		name, header, value string
		want                int
		wantMessage         string
	}{
		{"If-Match without quotes", "If-Match", "abc", 400, `W/"datetime'`},
		{"If-Match weak without quotes", "If-Match", "W/abc", 400, "quotes included"},
		{"If-Match unterminated", "If-Match", `"abc`, 400, "quotes included"},
		{"If-Match with a space inside", "If-Match", `"a b"`, 400, "quotes included"},
		{"If-Match with a control character", "If-Match", "\"a\x01b\"", 400, "quotes included"},
		{"If-Match list", "If-Match", `"a", "b"`, 400, "not a list"},
		{"If-Match list with the current ETag", "If-Match", etag + ", " + etag, 400, "not a list"},
		{"If-Match star in a list", "If-Match", `*, "a"`, 400, "quotes included"},
		{"If-Match trailing comma", "If-Match", `"a",`, 400, "quotes included"},
		{"If-Match two tags without a comma", "If-Match", `"a" "b"`, 400, "quotes included"},
		{"If-None-Match with an ETag", "If-None-Match", `"abc"`, 400, "only accepts *"},
		{"If-None-Match unquoted", "If-None-Match", "abc", 400, "only accepts *"},
		{"If-None-Match weak", "If-None-Match", `W/"x"`, 400, "only accepts *"},
		{"If-Match strong, not the agency's", "If-Match", `"abc"`, 412, "changed by someone else"},
		{"If-Match weak, not the agency's", "If-Match", `W/"abc"`, 412, "changed by someone else"},
		{"If-Match of another form of time", "If-Match", `W/"datetime'2000-01-01T00%3A00%3A00.0000000Z'"`, 412, "changed by someone else"},
		{"If-Match with a comma inside the quotes", "If-Match", `"a,b"`, 412, "changed by someone else"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.Replace(doaJSON, "Department of Administration", "Changed", 1)
			r := h.do(call{function: "Agencies", method: "PUT", path: "agencies/doa", params: map[string]string{"id": "doa"}, body: body, caller: admin,
				headers: map[string]string{tt.header: tt.value}})
			if r.hostStatus != http.StatusOK || r.status != tt.want {
				t.Fatalf("host %d, status %d, want %d: %s", r.hostStatus, r.status, tt.want, r.body)
			}
			var e errorBody
			r.json(t, &e)
			if !strings.Contains(e.Error.Message, tt.wantMessage) {
				t.Errorf("message = %q, want it to contain %q", e.Error.Message, tt.wantMessage)
			}
			a, err := h.store.GetAgency(context.Background(), "DOA")
			if err != nil || a.Name != "Department of Administration" || a.ETag != etag {
				t.Errorf("the refused write changed the agency: %+v %v", a, err)
			}
		})
	}
	// The current ETag, and an empty header (taken as none), still write.
	if r := putDOA(h, map[string]string{"If-Match": etag}); r.status != http.StatusOK {
		t.Errorf("PUT with the current ETag: %d %s", r.status, r.body)
	}
	if r := putDOA(h, map[string]string{"If-Match": " "}); r.status != http.StatusOK {
		t.Errorf("PUT with an empty If-Match: %d %s", r.status, r.body)
	}
}

// TestPreconditionWeakTags checks a route whose ETags are strong: a weak
// tag in If-Match is refused with a message saying so.
func TestPreconditionWeakTags(t *testing.T) {
	r := &Request{HTTPRequest: &HTTPRequest{Headers: map[string][]string{"if-match": {`W/"1"`}}}}
	_, err := precondition(r, false)
	if licensing.ErrorCode(err) != licensing.Malformed || !strings.Contains(licensing.ErrorMessage(err), "strong ETag") {
		t.Errorf("weak tag where strong ones are expected: %v", err)
	}
	r.Headers["if-match"] = []string{`"1"`}
	if pre, err := precondition(r, false); err != nil || pre.IfMatch != `"1"` {
		t.Errorf("strong tag: %+v %v", pre, err)
	}
	// Repeated headers are a list.
	r.Headers["IF-MATCH"] = []string{`"2"`}
	if _, err := precondition(r, false); !strings.Contains(licensing.ErrorMessage(err), "not a list") {
		t.Errorf("two If-Match headers: %v", err)
	}
}
