package handlers

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

func TestWorkRoutesByKind(t *testing.T) {
	s := New(Config{})
	var got []WorkPiece
	s.registerWork("test", func(_ context.Context, p WorkPiece, _ *slog.Logger) error {
		got = append(got, p)
		return nil
	})
	log := slog.New(slog.DiscardHandler)
	for _, dq := range []int{1, 5} {
		if _, err := s.work(context.Background(), &QueueMessage{Text: `{"kind":"test.piece","n":1}`, DequeueCount: dq}, log); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 || got[0].Kind != "test.piece" || got[0].Attempt != 1 || got[0].Last || !got[1].Last || got[1].Text != `{"kind":"test.piece","n":1}` {
		t.Fatalf("pieces %+v", got)
	}
	for _, text := range []string{`not json`, `{"n":1}`, `{"kind":"other.piece"}`} {
		_, err := s.work(context.Background(), &QueueMessage{Text: text, DequeueCount: 1}, log)
		if !licensing.Retryable(err) {
			t.Errorf("%s: error %v, want one the host retries into the poison queue", text, err)
		}
	}
}

// maxDequeueCount must be what the host is told.
func TestMaxDequeueCountMatchesHostJSON(t *testing.T) {
	b, err := os.ReadFile("../host.json")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Extensions struct {
			Queues struct {
				MaxDequeueCount int `json:"maxDequeueCount"`
			} `json:"queues"`
		} `json:"extensions"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	if h.Extensions.Queues.MaxDequeueCount != maxDequeueCount {
		t.Fatalf("host.json maxDequeueCount %d, handlers assume %d", h.Extensions.Queues.MaxDequeueCount, maxDequeueCount)
	}
}
