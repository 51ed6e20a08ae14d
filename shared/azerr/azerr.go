// Package azerr translates the errors of the Azure Storage SDKs (aztables,
// azblob, azqueue) and of the network beneath them into the domain's
// *licensing.Error, in one place, so that every storage adapter maps the same
// failure to the same code.
//
// The mapping:
//
//	404                                   → licensing.NotFound
//	409 (already exists)                  → licensing.Conflict
//	409 (being deleted)                   → licensing.Unavailable
//	412 (condition not met)               → licensing.Stale
//	400 PopReceiptMismatch (queues)       → licensing.Stale
//	408, 429, 5xx                         → licensing.Unavailable
//	timeouts, refused or reset connections,
//	context deadline or cancellation      → licensing.Unavailable
//	anything else                         → licensing.Internal
//
// A failed table transaction comes back as a 202 whose multipart body holds
// the failing operation's own status; that inner status decides the code.
// The message of the returned error is safe to show; the SDK error is kept as
// its Err, for the logs only.
package azerr

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Messages shown for codes whose message does not depend on the thing named.
const (
	msgUnavailable = "The storage service is unavailable or did not answer in time; try again in a few minutes."
	msgInternal    = "Something went wrong on our side; the details are in the function's log."
)

// Translate returns err as a *licensing.Error for operation op. what names
// the thing operated on in words safe to show ("agency DOA", "blob
// reports/x.xlsx"); it appears in the messages of NotFound, Conflict and
// Stale. A nil err gives nil, and an err that already is a *licensing.Error
// is returned unchanged.
func Translate(op, what string, err error) error {
	if err == nil {
		return nil
	}
	var le *licensing.Error
	if errors.As(err, &le) {
		return err
	}
	code := Classify(err)
	return &licensing.Error{Op: op, Code: code, Message: Message(code, what), Err: err}
}

// Message returns the sentence shown for code about what.
func Message(code licensing.Code, what string) string {
	if what == "" {
		what = "The item"
	}
	switch code {
	case licensing.NotFound:
		return capitalize(what) + " does not exist."
	case licensing.Conflict:
		return capitalize(what) + " exists already."
	case licensing.Stale:
		return capitalize(what) + " was changed by someone else in the meantime; read it again and retry."
	case licensing.Unavailable:
		return msgUnavailable
	default:
		return msgInternal
	}
}

// Classify returns the domain code for err (see the package comment).
func Classify(err error) licensing.Code {
	if err == nil {
		return ""
	}
	var le *licensing.Error
	if errors.As(err, &le) && le.Code != "" {
		return le.Code
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return licensing.Unavailable
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		status, code := re.StatusCode, re.ErrorCode
		if status == http.StatusAccepted {
			// A failed entity group transaction: the outer status is 202
			// and the failing operation's status is inside the body.
			status, code = BatchFailure(re)
		}
		return classifyStatus(status, code)
	}
	if isNetwork(err) {
		return licensing.Unavailable
	}
	return licensing.Internal
}

func classifyStatus(status int, code string) licensing.Code {
	switch {
	case status == http.StatusNotFound:
		return licensing.NotFound
	case status == http.StatusConflict:
		if strings.HasSuffix(code, "BeingDeleted") {
			// TableBeingDeleted, ContainerBeingDeleted, QueueBeingDeleted:
			// a name reused too soon; it clears by itself.
			return licensing.Unavailable
		}
		return licensing.Conflict
	case status == http.StatusPreconditionFailed, code == "PopReceiptMismatch":
		// A queue message's pop receipt is out of date: someone else
		// received the message since (a 400 from the service).
		return licensing.Stale
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		return licensing.Unavailable
	}
	return licensing.Internal
}

func isNetwork(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &oe) || errors.As(err, &de)
}

// BatchFailure digs the failing operation's HTTP status and error code out of
// the multipart body of a failed table transaction. It returns the outer
// status and code when the body holds no failed inner response.
func BatchFailure(re *azcore.ResponseError) (status int, code string) {
	status, code = re.StatusCode, re.ErrorCode
	if re.RawResponse == nil {
		return status, code
	}
	body, err := runtime.Payload(re.RawResponse)
	if err != nil {
		return status, code
	}
	s, c, ok := innerFailure(body)
	if !ok {
		return status, code
	}
	return s, c
}

// innerFailure scans a batch response body for the first inner HTTP
// response with a status of 400 or more and returns it with the error code
// from its JSON body, if any.
func innerFailure(body []byte) (status int, code string, ok bool) {
	for len(body) > 0 {
		i := bytes.Index(body, []byte("HTTP/1.1 "))
		if i < 0 {
			return 0, "", false
		}
		body = body[i:]
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(body)), nil)
		if err != nil {
			body = body[len("HTTP/1.1 "):]
			continue
		}
		if resp.StatusCode < 400 {
			body = body[len("HTTP/1.1 "):]
			continue
		}
		code = resp.Header.Get("x-ms-error-code")
		if code == "" {
			code = jsonErrorCode(body)
		}
		return resp.StatusCode, code, true
	}
	return 0, "", false
}

// jsonErrorCode returns odata.error.code from the first JSON object in b.
func jsonErrorCode(b []byte) string {
	i := bytes.IndexByte(b, '{')
	if i < 0 {
		return ""
	}
	var v struct {
		OData struct {
			Code string `json:"code"`
		} `json:"odata.error"`
	}
	if err := json.NewDecoder(bytes.NewReader(b[i:])).Decode(&v); err != nil {
		return ""
	}
	return v.OData.Code
}

// StatusOf returns the HTTP status of err when it is an SDK response error
// (the inner status for a failed transaction), else 0.
func StatusOf(err error) int {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return 0
	}
	if re.StatusCode == http.StatusAccepted {
		s, _ := BatchFailure(re)
		return s
	}
	return re.StatusCode
}

// ErrorCodeOf returns the storage error code of err (BlobNotFound,
// EntityAlreadyExists, ...) when it is an SDK response error, else "".
func ErrorCodeOf(err error) string {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return ""
	}
	if re.StatusCode == http.StatusAccepted {
		_, c := BatchFailure(re)
		return c
	}
	return re.ErrorCode
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
