package storageaccount_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/devkit/stalled"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/storageaccount"
)

// stalledAccount returns an account whose three services are a server that
// never answers, with the given timeouts.
func stalledAccount(t *testing.T, limits storageaccount.Timeouts) (storageaccount.Account, *stalled.Server) {
	t.Helper()
	srv := stalled.Start(t)
	a, err := storageaccount.Parse(srv.StorageConnectionString())
	if err != nil {
		t.Fatal(err)
	}
	return a.WithTimeouts(limits), srv
}

// TestStalledServiceGivesUp calls each service of an account whose endpoint
// accepts connections and never answers: every call must come back within
// a generous multiple of its operation deadline, as a deadline error, after
// more than one attempt (each attempt has its own, shorter deadline).
func TestStalledServiceGivesUp(t *testing.T) {
	limits := storageaccount.Timeouts{Try: 300 * time.Millisecond, Operation: 1500 * time.Millisecond}
	tests := []struct {
		name string
		call func(ctx context.Context, a storageaccount.Account) error
	}{
		{"table entity read", func(ctx context.Context, a storageaccount.Account) error {
			svc, err := a.TableService()
			if err != nil {
				return err
			}
			_, err = svc.NewClient("Agencies").GetEntity(ctx, "DOA", "config", nil)
			return err
		}},
		{"table listing page", func(ctx context.Context, a storageaccount.Account) error {
			svc, err := a.TableService()
			if err != nil {
				return err
			}
			_, err = svc.NewClient("Agencies").NewListEntitiesPager(nil).NextPage(ctx)
			return err
		}},
		{"blob upload", func(ctx context.Context, a storageaccount.Account) error {
			c, err := a.BlobService()
			if err != nil {
				return err
			}
			_, err = c.UploadBuffer(ctx, "licensing", "x.txt", []byte("hello"), nil)
			return err
		}},
		{"blob download", func(ctx context.Context, a storageaccount.Account) error {
			c, err := a.BlobService()
			if err != nil {
				return err
			}
			_, err = c.DownloadStream(ctx, "licensing", "x.txt", nil)
			return err
		}},
		{"queue message", func(ctx context.Context, a storageaccount.Account) error {
			c, err := a.QueueService()
			if err != nil {
				return err
			}
			_, err = c.NewQueueClient("activation-steps").EnqueueMessage(ctx, "aGVsbG8=", nil)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, srv := stalledAccount(t, limits)
			start := time.Now()
			done := make(chan error, 1)
			go func() { done <- tt.call(context.Background(), a) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(3 * limits.Operation):
				t.Fatalf("no answer after %s (operation deadline %s)", time.Since(start), limits.Operation)
			}
			t.Logf("gave up after %s and %d attempts: %v", time.Since(start).Round(time.Millisecond), srv.Connections(), firstLine(err))
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error = %v, want one matching context.DeadlineExceeded", err)
			}
			var te *storageaccount.TimeoutError
			if !errors.As(err, &te) {
				t.Errorf("error = %v, want a *storageaccount.TimeoutError", err)
			}
			if p := licensing.PolicyOf(azerr.Translate("test", "x", err)); p.HTTPStatus != http.StatusServiceUnavailable || !p.Retry {
				t.Errorf("translated policy = %+v, want 503 and retry", p)
			}
			if srv.Connections() < 2 {
				t.Errorf("%d attempt(s): the try deadline should have let the SDK retry within the operation deadline", srv.Connections())
			}
		})
	}
}

func firstLine(err error) string {
	if err == nil {
		return "<nil>"
	}
	s := err.Error()
	if i := bytes.IndexByte([]byte(s), '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// TestStalledDownloadBodyGivesUp serves a blob download whose body stops
// after its first bytes, and whose resumed downloads send headers and no
// bytes: reading it must fail with a deadline error instead of waiting
// forever.
func TestStalledDownloadBodyGivesUp(t *testing.T) {
	release := make(chan struct{})
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first := requests.Add(1) == 1
		w.Header().Set("Content-Length", "1000")
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("ETag", `"0x1"`)
		w.Header().Set("x-ms-blob-type", "BlockBlob")
		w.WriteHeader(http.StatusOK)
		if first {
			w.Write(bytes.Repeat([]byte("x"), 10))
		}
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ep := srv.URL + "/devstoreaccount1"
	a, err := storageaccount.Parse("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + stalled.DevKey + ";BlobEndpoint=" + ep)
	if err != nil {
		t.Fatal(err)
	}
	limits := storageaccount.Timeouts{Try: 200 * time.Millisecond, Operation: time.Second}
	c, err := a.WithTimeouts(limits).BlobService()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.DownloadStream(context.Background(), "licensing", "big.bin", nil)
	if err != nil {
		t.Fatalf("the headers arrived, the call should succeed: %v", err)
	}
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		body := resp.NewRetryReader(context.Background(), &azblob.RetryReaderOptions{MaxRetries: 1})
		defer body.Close()
		_, err := io.Copy(io.Discard, body)
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(10 * limits.Try * 3):
		t.Fatalf("reading a stalled body did not give up after %s", time.Since(start))
	}
	t.Logf("reading gave up after %s and %d requests: %v", time.Since(start).Round(time.Millisecond), requests.Load(), err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want one matching context.DeadlineExceeded", err)
	}
}

// TestSlowReaderKeepsItsDownload reads a blob from Azurite in two halves
// with a pause longer than both deadlines between them: only the time spent
// waiting on the service counts, so the download completes.
func TestSlowReaderKeepsItsDownload(t *testing.T) {
	dev := azuritetest.Account(t)
	name := azuritetest.Name(t, "slowread")
	ctx := context.Background()
	setup, err := dev.BlobService()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := setup.CreateContainer(ctx, name, nil); err != nil {
		t.Fatal(err)
	}
	content := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	if _, err := setup.UploadBuffer(ctx, name, "slow.bin", content, nil); err != nil {
		t.Fatal(err)
	}
	limits := storageaccount.Timeouts{Try: 3 * time.Second, Operation: 5 * time.Second}
	c, err := dev.WithTimeouts(limits).BlobService()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.DownloadStream(ctx, name, "slow.bin", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The body itself, without the retry reader: a cut connection fails
	// the read instead of being resumed.
	body := resp.Body
	defer body.Close()
	start := time.Now()
	half := make([]byte, len(content)/2)
	if _, err := io.ReadFull(body, half); err != nil {
		t.Fatal(err)
	}
	time.Sleep(limits.Operation + 500*time.Millisecond)
	rest, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("reading after the pause: %v", err)
	}
	if got := append(half, rest...); !bytes.Equal(got, content) {
		t.Fatalf("read %d bytes, want %d", len(got), len(content))
	}
	t.Logf("read %d bytes over %s", len(content), time.Since(start).Round(time.Millisecond))
}

func TestTimeoutDefaults(t *testing.T) {
	got := storageaccount.Development().Timeouts()
	want := storageaccount.Timeouts{Try: storageaccount.DefaultTryTimeout, Operation: storageaccount.DefaultOperationTimeout}
	if got != want {
		t.Errorf("Timeouts() = %+v, want %+v", got, want)
	}
	set := storageaccount.Timeouts{Try: time.Second, Operation: 5 * time.Second}
	if got := storageaccount.Development().WithTimeouts(set).Timeouts(); got != set {
		t.Errorf("WithTimeouts then Timeouts = %+v, want %+v", got, set)
	}
}
