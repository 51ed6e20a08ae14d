package skucatalog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/blobstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// blobCache adapts a blobstore.Store to Cache, as main does.
type blobCache struct{ s *blobstore.Store }

func (c blobCache) Get(ctx context.Context, name string) (io.ReadCloser, time.Time, error) {
	rc, info, err := c.s.Get(ctx, name)
	return rc, info.LastModified, err
}

func (c blobCache) Put(ctx context.Context, name string, r io.Reader) error {
	_, err := c.s.Put(ctx, name, r, blobstore.PutOptions{ContentType: "text/csv; charset=utf-8"})
	return err
}

// memCache is a Cache in memory.
type memCache struct {
	mu    sync.Mutex
	blobs map[string]memBlob
}

type memBlob struct {
	data []byte
	mod  time.Time
}

func (m *memCache) Get(_ context.Context, name string) (io.ReadCloser, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[name]
	if !ok {
		return nil, time.Time{}, licensing.Errorf("memcache.get", licensing.NotFound, "Blob %s does not exist.", name)
	}
	return io.NopCloser(bytes.NewReader(b.data)), b.mod, nil
}

func (m *memCache) Put(_ context.Context, name string, r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.blobs == nil {
		m.blobs = map[string]memBlob{}
	}
	m.blobs[name] = memBlob{data: data, mod: time.Now()}
	return nil
}

// caches are the Cache implementations every Source test runs against.
var caches = []struct {
	name string
	new  func(t *testing.T) Cache
}{
	{"memory", func(t *testing.T) Cache { return &memCache{} }},
	{"azurite", func(t *testing.T) Cache {
		store := blobstore.New(azuritetest.BlobService(t), azuritetest.Name(t, "skucatalog"))
		if err := store.Init(context.Background()); err != nil {
			t.Fatal(err)
		}
		return blobCache{store}
	}},
}

// Two versions of a short list: the one in the cache, the one on the web.
const (
	oldList = "GUID,String_Id,Product_Display_Name\n" +
		guidA + ",ALPHA,Alpha (old list)\n" +
		guidB + ",BRAVO,Bravo (old list)\n" +
		guidC + ",CHARLIE,Charlie (old list)\n"
	newList = "\ufeffProduct_Display_Name,String_Id,GUID,Service_Plan_Name,Service_Plan_Id,Service_Plans_Included_Friendly_Names\r\n" +
		"Alpha (new list),ALPHA," + guidA + ",PLAN_1,9aaf7827-d63c-4b61-89c3-182f06f82e5c,\"Plan 1, friendly\"\r\n" +
		"Alpha (new list),ALPHA," + guidA + ",PLAN_2,c7699d2e-19aa-44de-8edf-1736da088ca1,Plan 2\r\n" +
		"Bravo (new list),BRAVO," + guidB + ",PLAN_1,9aaf7827-d63c-4b61-89c3-182f06f82e5c,Plan 1\r\n" +
		"Charlie (new list),CHARLIE," + guidC + ",PLAN_1,9aaf7827-d63c-4b61-89c3-182f06f82e5c,Plan 1\r\n"
	htmlPage = "<!DOCTYPE html><html><body><h1>We're sorry, this download is no longer available.</h1></body></html>\n"
	tooShort = "GUID,String_Id,Product_Display_Name\n" + guidA + ",ALPHA,Alpha (short list)\n"
)

// server serves a list over HTTP and counts the requests.
type server struct {
	*httptest.Server
	hits   atomic.Int32
	status int
	body   string
	delay  time.Duration
}

func newServer(t *testing.T, status int, body string) *server {
	s := &server{status: status, body: body}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if s.delay > 0 {
			select {
			case <-time.After(s.delay):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "text/csv")
		w.WriteHeader(s.status)
		io.WriteString(w, s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

// deadURL returns the URL of a server that no longer listens.
func deadURL(t *testing.T) string {
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	return u + "/list.csv"
}

func TestSourceRefresh(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		name       string
		cached     string        // the cached list, if any
		status     int           // the server's answer; 0: the server is down
		body       string        // the server's list
		delay      time.Duration // before the server answers
		clock      time.Duration // how far Now is ahead of the real time
		noCache    bool          // run without a Cache
		wantName   string        // of guidA
		wantHits   int32
		wantCached string // the cached list afterwards, "" for none
		wantSource string
		wantSays   []string
	}{
		{
			name:   "fresh cache is used without a download",
			cached: oldList, status: 200, body: newList,
			wantName: "Alpha (old list)", wantHits: 0, wantCached: oldList,
			wantSource: "cached copy of {url}",
			wantSays:   []string{"3 products from the cached copy of {url}", "downloaded just now", "refreshed after 7 days"},
		},
		{
			name:   "stale cache is refreshed",
			cached: oldList, status: 200, body: newList, clock: 8 * day,
			wantName: "Alpha (new list)", wantHits: 1, wantCached: newList,
			wantSource: "{url}",
			wantSays:   []string{"3 products downloaded from {url}."},
		},
		{
			name:   "no cache yet: downloaded and cached",
			status: 200, body: newList,
			wantName: "Alpha (new list)", wantHits: 1, wantCached: newList,
			wantSource: "{url}",
			wantSays:   []string{"3 products downloaded from {url}."},
		},
		{
			name:   "server down: the old cache is used and the sentence says so",
			cached: oldList, status: 0, clock: 40 * day,
			wantName: "Alpha (old list)", wantHits: 0, wantCached: oldList,
			wantSource: "cached copy of {url}",
			wantSays:   []string{"could not be downloaded from {url}", "the server did not answer", "using the cached copy from", "(40 days old) with 3 products"},
		},
		{
			name:   "server failing: the old cache is used",
			cached: oldList, status: 503, body: "busy", clock: 8 * day,
			wantName: "Alpha (old list)", wantHits: 1, wantCached: oldList,
			wantSource: "cached copy of {url}",
			wantSays:   []string{"the server answered 503 Service Unavailable", "using the cached copy"},
		},
		{
			name:     "no cache and server down: the built-in table",
			status:   0,
			wantName: "ALPHA", wantHits: 0,
			wantSource: "built-in table",
			wantSays:   []string{"could not be downloaded from {url}", "no usable cached copy", "the built-in table of"},
		},
		{
			name:   "an HTML page is not cached",
			status: 200, body: htmlPage,
			wantName: "ALPHA", wantHits: 1,
			wantSource: "built-in table",
			wantSays:   []string{"no GUID or Product_Display_Name column", "the built-in table of"},
		},
		{
			name:   "an HTML page does not replace an old cache",
			cached: oldList, status: 200, body: htmlPage, clock: 8 * day,
			wantName: "Alpha (old list)", wantHits: 1, wantCached: oldList,
			wantSource: "cached copy of {url}",
			wantSays:   []string{"no GUID or Product_Display_Name column", "using the cached copy"},
		},
		{
			name:   "a list too short is not cached",
			status: 200, body: tooShort,
			wantName: "ALPHA", wantHits: 1,
			wantSource: "built-in table",
			wantSays:   []string{"the list names 1 product where at least 2 are expected", "the built-in table of"},
		},
		{
			name:   "a slow server times out",
			cached: oldList, status: 200, body: newList, delay: 5 * time.Second, clock: 8 * day,
			wantName: "Alpha (old list)", wantHits: 1, wantCached: oldList,
			wantSource: "cached copy of {url}",
			wantSays:   []string{"the server did not answer", "using the cached copy"},
		},
		{
			name:    "without a cache every refresh downloads",
			noCache: true, status: 200, body: newList,
			wantName: "Alpha (new list)", wantHits: 1,
			wantSource: "{url}",
			wantSays:   []string{"3 products downloaded from {url}."},
		},
	}
	for _, cache := range caches {
		t.Run(cache.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ctx := context.Background()
					var c Cache
					if !tt.noCache {
						c = cache.new(t)
					}
					if tt.cached != "" {
						if err := c.Put(ctx, DefaultCacheName, strings.NewReader(tt.cached)); err != nil {
							t.Fatal(err)
						}
					}
					var srv *server
					listURL := deadURL(t)
					if tt.status != 0 {
						srv = newServer(t, tt.status, tt.body)
						srv.delay = tt.delay
						// A query (a SAS token, say) is never shown.
						listURL = srv.URL + "/list.csv?sig=secret"
					}
					shown := strings.TrimSuffix(listURL, "?sig=secret")
					var logs bytes.Buffer
					src, err := NewSource(Config{
						URL:         listURL,
						Cache:       c,
						MinProducts: 2,
						Timeout:     200 * time.Millisecond,
						Now:         func() time.Time { return time.Now().Add(tt.clock) },
						Logger:      slog.New(slog.NewTextHandler(&logs, nil)),
					})
					if err != nil {
						t.Fatal(err)
					}
					cat, said, err := src.Refresh(ctx)
					if err != nil {
						t.Fatalf("Refresh: %v", err)
					}
					t.Logf("said: %s", said)
					got := outcome{
						Name:   cat.Product(guidA, "ALPHA").Name,
						Source: cat.(*Catalog).Source(),
						Cached: cachedList(t, c),
					}
					if srv != nil {
						got.Hits = srv.hits.Load()
					}
					want := outcome{
						Name:   tt.wantName,
						Hits:   tt.wantHits,
						Cached: tt.wantCached,
						Source: strings.ReplaceAll(tt.wantSource, "{url}", shown),
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("Refresh (-want +got):\n%s", diff)
					}
					for _, s := range tt.wantSays {
						s = strings.ReplaceAll(s, "{url}", shown)
						if !strings.Contains(said, s) {
							t.Errorf("the sentence %q does not say %q", said, s)
						}
					}
					if !strings.HasPrefix(said, "SKU names: ") || strings.Contains(said, "secret") {
						t.Errorf("the sentence %q should start with \"SKU names: \" and not show the URL's query", said)
					}
					// Built-in SKUs are always known.
					if got := cat.Product("c5928f49-12ba-48f7-ada3-0d743a3601d5", "").Name; got != "Visio Plan 2" {
						t.Errorf("VISIOCLIENT is named %q", got)
					}
				})
			}
		})
	}
}

type outcome struct {
	Name   string
	Hits   int32
	Cached string
	Source string
}

// cachedList returns the list in the cache, "" when there is none.
func cachedList(t *testing.T, c Cache) string {
	t.Helper()
	if c == nil {
		return ""
	}
	rc, _, err := c.Get(context.Background(), DefaultCacheName)
	if licensing.ErrorCode(err) == licensing.NotFound {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSourceUploadedBlob(t *testing.T) {
	for _, cache := range caches {
		t.Run(cache.name, func(t *testing.T) {
			ctx := context.Background()
			c := cache.new(t)
			if err := c.Put(ctx, "catalog/uploaded.csv", strings.NewReader(tooShort)); err != nil {
				t.Fatal(err)
			}
			if err := c.Put(ctx, "catalog/garbage.csv", strings.NewReader(htmlPage)); err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name, url  string
				wantName   string
				wantSource string
				wantSays   []string
			}{
				{"an uploaded list", "blob:catalog/uploaded.csv", "Alpha (short list)", "blob catalog/uploaded.csv",
					[]string{"1 product from the uploaded list in blob catalog/uploaded.csv (uploaded "}},
				{"a missing blob", "blob:catalog/missing.csv", "ALPHA", "built-in table",
					[]string{"blob catalog/missing.csv could not be used", "does not exist", "the built-in table"}},
				{"a blob that is not a list", "blob:catalog/garbage.csv", "ALPHA", "built-in table",
					[]string{"blob catalog/garbage.csv could not be used", "no GUID", "the built-in table"}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					src, err := NewSource(Config{URL: tt.url, Cache: c, Logger: slog.New(slog.DiscardHandler)})
					if err != nil {
						t.Fatal(err)
					}
					cat, said, err := src.Refresh(ctx)
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("said: %s", said)
					got := []string{cat.Product(guidA, "ALPHA").Name, cat.(*Catalog).Source()}
					if diff := cmp.Diff([]string{tt.wantName, tt.wantSource}, got); diff != "" {
						t.Errorf("name and source (-want +got):\n%s", diff)
					}
					for _, s := range tt.wantSays {
						if !strings.Contains(said, s) {
							t.Errorf("the sentence %q does not say %q", said, s)
						}
					}
				})
			}
			if got := cachedList(t, c); got != "" {
				t.Errorf("reading an uploaded list wrote the cache: %q", got)
			}
		})
	}
}

func TestSourceWithoutURL(t *testing.T) {
	src, err := NewSource(Config{})
	if err != nil {
		t.Fatal(err)
	}
	cat, said, err := src.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cat != licensing.Catalog(Builtin()) {
		t.Errorf("Refresh without a URL returned %v, want the built-in catalog", cat)
	}
	if !strings.Contains(said, "built-in table") || !strings.Contains(said, "no published list is configured") {
		t.Errorf("sentence %q", said)
	}
}

func TestSourceCanceled(t *testing.T) {
	srv := newServer(t, 200, newList)
	srv.delay = 5 * time.Second
	src, err := NewSource(Config{URL: srv.URL, Cache: &memCache{}, MinProducts: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"canceled before", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}},
		{"deadline during the download", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			cat, said, err := src.Refresh(ctx)
			if err == nil {
				t.Fatalf("Refresh returned %v, %q and no error", cat, said)
			}
			var le *licensing.Error
			if !errors.As(err, &le) || le.Op != "skucatalog.refresh" || le.Code != licensing.Unavailable {
				t.Errorf("error %v: want an Unavailable *licensing.Error of skucatalog.refresh", err)
			}
		})
	}
}

func TestNewSourceRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"ftp", Config{URL: "ftp://example.com/list.csv"}},
		{"no scheme", Config{URL: "download.microsoft.com/list.csv"}},
		{"no host", Config{URL: "https:///list.csv"}},
		{"blob: without a name", Config{URL: "blob:", Cache: &memCache{}}},
		{"blob: without a cache", Config{URL: "blob:catalog/uploaded.csv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSource(tt.cfg)
			if licensing.ErrorCode(err) != licensing.Invalid {
				t.Fatalf("NewSource(%+v) = %v, want an Invalid error", tt.cfg, err)
			}
			if f := licensing.ErrorFields(err); len(f) != 1 || f[0].Field != "URL" {
				t.Errorf("fields %+v, want one about URL", f)
			}
		})
	}
}
