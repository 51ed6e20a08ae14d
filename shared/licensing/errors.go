package licensing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Code classifies an error for the people and programs that receive it. The
// set is deliberately small: every adapter translates its own failures into
// one of these, and one table (PolicyOf) turns a code into an HTTP status
// and into a retry decision.
type Code string

// The error codes.
const (
	// Invalid: the input is wrong; sending it again will not help.
	Invalid Code = "invalid"
	// Malformed: the body could not be parsed at all (bad JSON or form).
	Malformed Code = "malformed"
	// TooLarge: the request body is over the configured limit.
	TooLarge Code = "too-large"
	// NotFound: the thing named does not exist.
	NotFound Code = "not-found"
	// Conflict: the thing already exists, or exists with other content.
	Conflict Code = "conflict"
	// Stale: a conditional write lost a race (the caller's version is old).
	Stale Code = "stale"
	// Unauthenticated: no caller identity where one is required.
	Unauthenticated Code = "unauthenticated"
	// Forbidden: the caller is known but may not do this.
	Forbidden Code = "forbidden"
	// Unavailable: a dependency is down, throttling or timed out; retry later.
	Unavailable Code = "unavailable"
	// Internal: a bug or an unexpected state; details are logged, not shown.
	Internal Code = "internal"
	// Ambiguous: a request to another service was sent and its answer lost
	// (a timeout, a reset connection, a server error after sending): what
	// it asked for may or may not have happened, so it is not sent again.
	Ambiguous Code = "ambiguous"
)

// FieldError names one input field that is wrong and says how to fix it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the one error type of the domain. Op names the operation that
// failed ("agencies.put"), Message is safe to show to the caller, Fields lists
// per-field problems for Invalid, and Err keeps the cause for the logs.
type Error struct {
	Op      string
	Code    Code
	Message string
	Fields  []FieldError
	Err     error
	// RetryAfter, when set, is how long to wait before trying again.
	RetryAfter time.Duration
}

// Errorf builds an *Error with a formatted message safe to show to callers.
func Errorf(op string, code Code, format string, args ...any) *Error {
	return &Error{Op: op, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns err annotated with op and code, keeping err as the cause.
// The message shown to callers is msg; err's text only reaches the logs.
func Wrap(op string, code Code, msg string, err error) *Error {
	return &Error{Op: op, Code: code, Message: msg, Err: err}
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(string(e.Code))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of the outermost *Error in err's chain. Context
// deadlines count as Unavailable (the dependency did not answer in time);
// anything else without a code is Internal.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != "" {
		return e.Code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Unavailable
	}
	return Internal
}

// ErrorMessage returns the text that may be shown to a caller: the message of
// the first *Error that has one, or a plain sentence for internal errors.
// It never returns the text of an underlying SDK or system error.
func ErrorMessage(err error) string {
	code := ErrorCode(err)
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			break
		}
		if e.Message != "" {
			return e.Message
		}
		err = e.Err
	}
	switch code {
	case Unavailable:
		return "A service the app depends on is unavailable; try again in a few minutes."
	default:
		return "Something went wrong on our side; the details are in the function's log."
	}
}

// ErrorFields returns the field errors carried by err, if any.
func ErrorFields(err error) []FieldError {
	var e *Error
	for errors.As(err, &e) {
		if len(e.Fields) > 0 {
			return e.Fields
		}
		err = e.Err
	}
	return nil
}

// Policy is what an error code means to whoever receives the error: the
// status an API answers with, the status the handler answers the Functions
// host with when a queue or timer invocation fails, and whether trying the
// same operation again unchanged may succeed (the queue policy).
type Policy struct {
	HTTPStatus       int
	InvocationStatus int
	Retry            bool
}

// policies is the one table from error code to policy. Only unavailable
// dependencies, lost races and unexpected internal failures are worth
// another try; bad input, missing records and refused permissions are final.
var policies = map[Code]Policy{
	Invalid:         {http.StatusUnprocessableEntity, http.StatusInternalServerError, false},
	Malformed:       {http.StatusBadRequest, http.StatusInternalServerError, false},
	TooLarge:        {http.StatusRequestEntityTooLarge, http.StatusInternalServerError, false},
	NotFound:        {http.StatusNotFound, http.StatusInternalServerError, false},
	Conflict:        {http.StatusConflict, http.StatusInternalServerError, false},
	Stale:           {http.StatusPreconditionFailed, http.StatusInternalServerError, true},
	Unauthenticated: {http.StatusUnauthorized, http.StatusInternalServerError, false},
	Forbidden:       {http.StatusForbidden, http.StatusInternalServerError, false},
	Unavailable:     {http.StatusServiceUnavailable, http.StatusServiceUnavailable, true},
	Internal:        {http.StatusInternalServerError, http.StatusInternalServerError, true},
	Ambiguous:       {http.StatusBadGateway, http.StatusInternalServerError, false},
}

// PolicyOf returns the policy of err's code; an error without a code is
// internal.
func PolicyOf(err error) Policy {
	if p, ok := policies[ErrorCode(err)]; ok {
		return p
	}
	return policies[Internal]
}

// Retryable reports whether an operation that failed with err may succeed if
// tried again unchanged.
func Retryable(err error) bool { return PolicyOf(err).Retry }

// FieldErrors collects field problems while validating input.
type FieldErrors []FieldError

func (fe *FieldErrors) Add(field, format string, args ...any) {
	*fe = append(*fe, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// err returns nil when nothing was added, else an Invalid *Error for op.
func (fe FieldErrors) Err(op, what string) error {
	if len(fe) == 0 {
		return nil
	}
	return &Error{Op: op, Code: Invalid, Message: what + " has " + Plural(len(fe), "problem") + "; see fields.", Fields: fe}
}

// Plural returns "n word" with an s on word unless n is 1.
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// RetryAfterOf returns how long err asks to wait before a retry, or 0.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	for errors.As(err, &e) {
		if e.RetryAfter > 0 {
			return e.RetryAfter
		}
		if e.Err == nil {
			break
		}
		err = e.Err
	}
	return 0
}
