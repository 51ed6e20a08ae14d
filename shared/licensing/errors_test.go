package licensing

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestErrorCodeAndMessage(t *testing.T) {
	secret := errors.New("dial tcp 10.1.2.3:443: AccountKey=abc")
	tests := []struct {
		name      string
		err       error
		wantCode  Code
		wantMsg   string
		wantRetry bool
	}{
		{"nil", nil, "", "", false},
		{"plain error is internal", secret, Internal, "Something went wrong on our side; the details are in the function's log.", true},
		{"deadline is unavailable", fmt.Errorf("read: %w", context.DeadlineExceeded), Unavailable, "A service the app depends on is unavailable; try again in a few minutes.", true},
		{"coded error keeps its message", Errorf("agencies.get", NotFound, "There is no agency %q.", "X"), NotFound, `There is no agency "X".`, false},
		{"wrapped without message falls back", Wrap("tablestore.get", Unavailable, "", secret), Unavailable, "A service the app depends on is unavailable; try again in a few minutes.", true},
		{"outer code wins", fmt.Errorf("step: %w", Wrap("sr.record", Invalid, "The SKU is unknown.", Wrap("x", Unavailable, "", secret))), Invalid, "The SKU is unknown.", false},
		{"stale is retried", Errorf("put", Stale, "raced"), Stale, "raced", true},
		{"conflict is final", Errorf("put", Conflict, "exists"), Conflict, "exists", false},
		{"forbidden is final", Errorf("get", Forbidden, "no"), Forbidden, "no", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.err); got != tt.wantCode {
				t.Errorf("ErrorCode = %q, want %q", got, tt.wantCode)
			}
			if tt.err == nil {
				return
			}
			if got := ErrorMessage(tt.err); got != tt.wantMsg {
				t.Errorf("ErrorMessage = %q, want %q", got, tt.wantMsg)
			}
			if got := Retryable(tt.err); got != tt.wantRetry {
				t.Errorf("Retryable = %v, want %v", got, tt.wantRetry)
			}
		})
	}
}

func TestErrorTextKeepsCauseForLogs(t *testing.T) {
	err := &Error{Op: "tablestore.put", Code: Unavailable, Message: "Storage is busy.", Fields: []FieldError{{"name", "is required"}}, Err: errors.New("503 ServerBusy")}
	want := "tablestore.put: unavailable: Storage is busy.; name: is required: 503 ServerBusy"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, err.Err) {
		t.Error("Unwrap does not reach the cause")
	}
}
