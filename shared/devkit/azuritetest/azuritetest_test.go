package azuritetest

import (
	"context"
	"net"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recorder stands in for a test so that Account's skip or failure can be
// observed: it records the call and ends its goroutine like testing does.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	what string
	msg  string
}

func (r *recorder) Helper() {}
func (r *recorder) Skip(args ...any) {
	r.record("skip", args...)
}
func (r *recorder) Fatal(args ...any) {
	r.record("fatal", args...)
}
func (r *recorder) record(what string, args ...any) {
	r.mu.Lock()
	r.what = what
	r.msg = sprint(args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func sprint(args ...any) string {
	var b strings.Builder
	for _, a := range args {
		if s, ok := a.(string); ok {
			b.WriteString(s)
		}
	}
	return b.String()
}

func TestAccountWhenAzuriteIsDown(t *testing.T) {
	// A port nothing listens on: bind one, note it, close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	saved := addrs
	addrs = []string{dead}
	t.Cleanup(func() { addrs = saved })

	tests := []struct {
		name     string
		ci, req  string
		wantWhat string
	}{
		{name: "locally it skips", wantWhat: "skip"},
		{name: "CI=true fails", ci: "true", wantWhat: "fatal"},
		{name: "AZURITE_REQUIRED=1 fails", req: "1", wantWhat: "fatal"},
		{name: "CI=false still skips", ci: "false", wantWhat: "skip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			t.Setenv("AZURITE_REQUIRED", tt.req)
			r := &recorder{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				Account(r)
				r.record("returned")
			}()
			<-done
			if diff := cmp.Diff(tt.wantWhat, r.what); diff != "" {
				t.Errorf("Account outcome (-want +got):\n%s", diff)
			}
			for _, want := range []string{dead, "make azurite", "scripts/azurite.sh start"} {
				if !strings.Contains(r.msg, want) {
					t.Errorf("message %q does not mention %q", r.msg, want)
				}
			}
		})
	}
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9]{2,62}$`)

func TestName(t *testing.T) {
	tests := []struct {
		name, prefix, wantStart string
	}{
		{"plain", "agencies", "agencies"},
		{"upper and punctuation dropped", "Run-Store_Test!", "runstoretest"},
		{"leading digits dropped", "42queue", "queue"},
		{"empty prefix", "", "t"},
		{"long prefix cut", strings.Repeat("abc", 20), "abcabcabcabcabca"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Name(t, tt.prefix)
			if !validName.MatchString(got) || len(got) > 29 {
				t.Errorf("Name(%q) = %q, not a valid short table/container/queue name", tt.prefix, got)
			}
			if !strings.HasPrefix(got, tt.wantStart) {
				t.Errorf("Name(%q) = %q, want it to start with %q", tt.prefix, got, tt.wantStart)
			}
			if seen[got] {
				t.Errorf("Name(%q) = %q twice", tt.prefix, got)
			}
			seen[got] = true
		})
	}
}

func TestNameCleansUp(t *testing.T) {
	ctx := context.Background()
	tables := TableService(t)
	blobs := BlobService(t)
	queues := QueueService(t)
	var name string
	t.Run("create", func(t *testing.T) {
		name = Name(t, "cleanup")
		if _, err := tables.CreateTable(ctx, name+"Agencies", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := blobs.CreateContainer(ctx, name, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := queues.CreateQueue(ctx, name+"-poison", nil); err != nil {
			t.Fatal(err)
		}
	})
	// The subtest has ended: its cleanup has run.
	if _, err := tables.NewClient(name+"Agencies").GetEntity(ctx, "p", "r", nil); err == nil || !strings.Contains(err.Error(), "TableNotFound") {
		t.Errorf("table %sAgencies still there after cleanup: %v", name, err)
	}
	if _, err := blobs.ServiceClient().NewContainerClient(name).GetProperties(ctx, nil); err == nil {
		t.Errorf("container %s still there after cleanup", name)
	}
	if _, err := queues.NewQueueClient(name+"-poison").GetProperties(ctx, nil); err == nil {
		t.Errorf("queue %s-poison still there after cleanup", name)
	}
}
