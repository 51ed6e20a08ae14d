package azerr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// responseError builds the SDK's error for a response, as the SDK does.
func responseError(status int, code, body string) error {
	h := http.Header{}
	if code != "" {
		h.Set("x-ms-error-code", code)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:10002/devstoreaccount1/$batch", nil)
	return runtime.NewResponseError(&http.Response{
		StatusCode: status,
		Status:     fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header:     h,
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    req,
	})
}

// batchBody is a failed transaction's body as the service sends it, with
// the inner status and JSON error.
func batchBody(inner string) string {
	s := `--batchresponse_1
Content-Type: multipart/mixed; boundary=changesetresponse_2

--changesetresponse_2
Content-Type: application/http
Content-Transfer-Encoding: binary

` + inner + `
--changesetresponse_2--
--batchresponse_1--
`
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want licensing.Code
	}{
		{"nil", nil, ""},
		{"404 entity", responseError(404, "ResourceNotFound", ""), licensing.NotFound},
		{"404 blob", responseError(404, "BlobNotFound", ""), licensing.NotFound},
		{"409 entity exists", responseError(409, "EntityAlreadyExists", ""), licensing.Conflict},
		{"409 blob exists", responseError(409, "BlobAlreadyExists", ""), licensing.Conflict},
		{"409 table being deleted", responseError(409, "TableBeingDeleted", ""), licensing.Unavailable},
		{"412", responseError(412, "UpdateConditionNotSatisfied", ""), licensing.Stale},
		{"400 pop receipt mismatch", responseError(400, "PopReceiptMismatch", ""), licensing.Stale},
		{"400 other", responseError(400, "InvalidInput", ""), licensing.Internal},
		{"403", responseError(403, "AuthorizationFailure", ""), licensing.Internal},
		{"408", responseError(408, "", ""), licensing.Unavailable},
		{"429", responseError(429, "", ""), licensing.Unavailable},
		{"500", responseError(500, "InternalError", ""), licensing.Unavailable},
		{"503", responseError(503, "ServerBusy", ""), licensing.Unavailable},
		{"batch 409 inside 202", responseError(202, "", batchBody("HTTP/1.1 409 Conflict\r\nContent-ID: 1\r\nContent-Type: application/json\r\n\r\n"+`{"odata.error":{"code":"EntityAlreadyExists","message":{"value":"1:exists"}}}`)), licensing.Conflict},
		{"batch 412 inside 202", responseError(202, "", batchBody("HTTP/1.1 412 Precondition Failed\r\nContent-Type: application/json\r\n\r\n"+`{"odata.error":{"code":"UpdateConditionNotSatisfied"}}`)), licensing.Stale},
		{"batch 404 inside 202", responseError(202, "", batchBody("HTTP/1.1 404 Not Found\r\n\r\n{}")), licensing.NotFound},
		{"batch 503 inside 202", responseError(202, "", batchBody("HTTP/1.1 503 Service Unavailable\r\n\r\n")), licensing.Unavailable},
		{"batch body without failure", responseError(202, "", batchBody("HTTP/1.1 204 No Content\r\n\r\n")), licensing.Internal},
		{"wrapped response error", fmt.Errorf("listing: %w", responseError(404, "", "")), licensing.NotFound},
		{"deadline", context.DeadlineExceeded, licensing.Unavailable},
		{"cancelled", fmt.Errorf("x: %w", context.Canceled), licensing.Unavailable},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}, licensing.Unavailable},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), licensing.Unavailable},
		{"dns", &net.DNSError{Err: "no such host", Name: "x.table.core.windows.net"}, licensing.Unavailable},
		{"unexpected EOF", io.ErrUnexpectedEOF, licensing.Unavailable},
		{"domain error keeps its code", licensing.Errorf("x", licensing.Invalid, "bad"), licensing.Invalid},
		{"anything else", errors.New("boom"), licensing.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Classify(tt.err)); diff != "" {
				t.Errorf("Classify (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBatchFailure(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
	}{
		{"code from JSON", responseError(202, "", batchBody("HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\n\r\n"+`{"odata.error":{"code":"EntityAlreadyExists"}}`)), 409, "EntityAlreadyExists"},
		{"code from header", responseError(202, "", batchBody("HTTP/1.1 412 Precondition Failed\r\nx-ms-error-code: UpdateConditionNotSatisfied\r\n\r\n")), 412, "UpdateConditionNotSatisfied"},
		{"no inner failure", responseError(202, "", "garbage"), 202, ""},
		{"plain error", responseError(404, "BlobNotFound", ""), 404, "BlobNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var re *azcore.ResponseError
			if !errors.As(tt.err, &re) {
				t.Fatal("not a response error")
			}
			s, c := BatchFailure(re)
			if diff := cmp.Diff([]any{tt.wantStatus, tt.wantCode}, []any{s, c}); diff != "" {
				t.Errorf("BatchFailure (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]any{tt.wantStatus, tt.wantCode}, []any{StatusOf(tt.err), ErrorCodeOf(tt.err)}); diff != "" {
				t.Errorf("StatusOf, ErrorCodeOf (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTranslate(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		want    *licensing.Error
		wantErr bool // the cause is kept
	}{
		{"nil", nil, nil, false},
		{"not found", responseError(404, "ResourceNotFound", "secret body"), &licensing.Error{Op: "tablestore.getAgency", Code: licensing.NotFound, Message: "Agency DOA does not exist."}, true},
		{"conflict", responseError(409, "EntityAlreadyExists", ""), &licensing.Error{Op: "tablestore.getAgency", Code: licensing.Conflict, Message: "Agency DOA exists already."}, true},
		{"stale", responseError(412, "", ""), &licensing.Error{Op: "tablestore.getAgency", Code: licensing.Stale, Message: "Agency DOA was changed by someone else in the meantime; read it again and retry."}, true},
		{"unavailable", responseError(503, "", ""), &licensing.Error{Op: "tablestore.getAgency", Code: licensing.Unavailable, Message: msgUnavailable}, true},
		{"internal", responseError(403, "AuthenticationFailed", "key=abc"), &licensing.Error{Op: "tablestore.getAgency", Code: licensing.Internal, Message: msgInternal}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Translate("tablestore.getAgency", "agency DOA", tt.err)
			if tt.want == nil {
				if got != nil {
					t.Fatalf("Translate(nil) = %v", got)
				}
				return
			}
			var le *licensing.Error
			if !errors.As(got, &le) {
				t.Fatalf("Translate = %T, want *licensing.Error", got)
			}
			if diff := cmp.Diff(tt.want, le, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Err" }, cmp.Ignore())); diff != "" {
				t.Errorf("Translate (-want +got):\n%s", diff)
			}
			if tt.wantErr && !errors.Is(got, tt.err) {
				t.Errorf("Translate dropped the cause")
			}
			for _, leak := range []string{"127.0.0.1", "RESPONSE", "secret body", "key=abc", "ResourceNotFound"} {
				if strings.Contains(licensing.ErrorMessage(got), leak) {
					t.Errorf("message %q leaks %q", licensing.ErrorMessage(got), leak)
				}
			}
		})
	}
	t.Run("domain errors pass through", func(t *testing.T) {
		in := licensing.Errorf("x.y", licensing.Invalid, "bad")
		if got := Translate("other.op", "thing", in); got != error(in) {
			t.Errorf("Translate changed a domain error: %v", got)
		}
	})
}
