package graph

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/demotenant"
	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// sizesFromEnv reads a comma-separated list of tenant sizes from the
// environment variable name (test set-up), or returns def.
func sizesFromEnv(tb testing.TB, name string, def []int) []int {
	raw := os.Getenv(name)
	if raw == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(raw, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			tb.Fatalf("%s=%q: want comma-separated user counts", name, raw)
		}
		out = append(out, n)
	}
	return out
}

// demoFixture serves a generated tenant of n users.
func demoFixture(tb testing.TB, n int) *fixture {
	tb.Helper()
	tenant := graphfake.NewTenant()
	demotenant.New(demotenant.Options{Seed: 1, Users: n}).Fill(tenant)
	server := graphfake.NewServer(tenant, nil)
	hs := httptest.NewServer(server)
	tb.Cleanup(hs.Close)
	c, err := New(Config{BaseURL: hs.URL + "/v1.0", Auth: AuthNone, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	return &fixture{tenant: tenant, server: server, client: c, url: hs.URL}
}

// BenchmarkFullRead reads every user of a generated tenant through the real
// SDK and the fake over HTTP (both in this process: the figures include the
// fake's work). Sizes: GRAPH_BENCH_USERS=10000,100000,1000000 (10,000 by
// default).
func BenchmarkFullRead(b *testing.B) {
	for _, n := range sizesFromEnv(b, "GRAPH_BENCH_USERS", []int{10000}) {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			f := demoFixture(b, n)
			var users, requests int
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				res, err := f.client.ReadUsers(context.Background(), licensing.UserQuery{}, func(licensing.DirectoryUser) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
				users += res.Users
				requests += res.Requests
			}
			elapsed := time.Since(start)
			b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
			b.ReportMetric(float64(users)/elapsed.Seconds(), "users/sec")
		})
	}
}

// TestFullReadMemory reports the peak memory of a full read of a generated
// tenant: set GRAPH_MEMTEST_USERS (for example 1000000) to run it. It is a
// measurement, not a pass/fail check on a shared machine; it fails only when
// the read fails. Run it alone (-run TestFullReadMemory) so that maxrss is
// this read's.
func TestFullReadMemory(t *testing.T) {
	sizes := sizesFromEnv(t, "GRAPH_MEMTEST_USERS", nil)
	if len(sizes) == 0 {
		t.Skip("set GRAPH_MEMTEST_USERS=1000000 to measure a full read's peak memory")
	}
	for _, n := range sizes {
		f := demoFixture(t, n)
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)

		var peakHeap atomic.Uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peakHeap.Load() {
					peakHeap.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
		start := time.Now()
		res, err := f.client.ReadUsers(context.Background(), licensing.UserQuery{}, func(licensing.DirectoryUser) error { return nil })
		elapsed := time.Since(start)
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		var ru syscall.Rusage
		maxRSS := int64(-1)
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
			maxRSS = int64(ru.Maxrss) / 1024 // KiB on Linux
		}
		t.Logf("users=%d pages=%d requests=%d time=%s users/sec=%.0f peak-heap-inuse=%dMB heap-before=%dMB sys=%dMB maxrss=%dMB (process, fake included)",
			res.Users, res.Pages, res.Requests, elapsed.Round(time.Millisecond), float64(res.Users)/elapsed.Seconds(),
			peakHeap.Load()>>20, base.HeapInuse>>20, ms.Sys>>20, maxRSS)
	}
}
