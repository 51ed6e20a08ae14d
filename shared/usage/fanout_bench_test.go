package usage_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// BenchmarkPayrollFanOut runs a payroll run of 200 agencies split into
// pieces through a queue in the process, drained one piece at a time and 8
// at a time, over PAYROLL_FANOUT_USERS users (default 20000); the snapshot
// is taken before the clock starts. It reports the wall time of the pieces,
// the longest single piece (what bounds one invocation of the Work
// function), and the bytes and objects allocated per run. Run with
// -benchtime 1x.
func BenchmarkPayrollFanOut(b *testing.B) {
	users, agencies := 20000, 200
	if v, err := strconv.Atoi(os.Getenv("PAYROLL_FANOUT_USERS")); err == nil && v > 0 {
		users = v
	}
	ctx := context.Background()
	date := licensing.NewDate(2026, 11, 23)
	for _, parallel := range []int{1, 8} {
		b.Run(fmt.Sprintf("parallel-%d", parallel), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				base, _, mail := benchPayroll(b, users, agencies, b.TempDir())
				q := &licensing.LocalQueue{}
				svc := base.WithWork(q)
				if _, err := svc.PayrollRun(ctx, "bench", date, false, usage.PayrollOptions{Force: true}, nil); err != nil {
					b.Fatal(err)
				}
				var (
					mu      sync.Mutex
					longest time.Duration
				)
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				b.StartTimer()
				start := time.Now()
				err := q.Drain(ctx, parallel, func(ctx context.Context, text string) error {
					t0 := time.Now()
					err := svc.HandleWork(ctx, text, false, nil)
					mu.Lock()
					longest = max(longest, time.Since(t0))
					mu.Unlock()
					if errors.Is(err, licensing.ErrInProgress) {
						// Another piece writes the summary: come back.
						time.Sleep(10 * time.Millisecond)
						return q.Send(ctx, text, 0)
					}
					return err
				})
				wall := time.Since(start)
				b.StopTimer()
				runtime.ReadMemStats(&after)
				if err != nil {
					b.Fatal(err)
				}
				if p, _ := svc.PayrollProgress(ctx, date); !p.Complete() || mail.sent.Load() != int64(agencies+1) {
					b.Fatalf("progress %s, %d mails", p, mail.sent.Load())
				}
				b.ReportMetric(wall.Seconds(), "wall-s")
				b.ReportMetric(longest.Seconds(), "longest-piece-s")
				b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/(1<<20), "alloc-MB")
				b.ReportMetric(float64(after.Mallocs-before.Mallocs), "allocs")
				b.ReportMetric(float64(q.Sent()), "pieces")
				b.StartTimer()
			}
		})
	}
}
