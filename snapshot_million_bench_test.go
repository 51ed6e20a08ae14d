package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// cpuSeconds is the process's user and system CPU time so far (the fake
// Graph server runs in this process and counts too; Azurite does not).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// peakMB returns VmHWM, the resident set's high-water mark, in MB; reset
// sets it back to the current resident set.
func peakMB(reset bool) float64 {
	if reset {
		_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
		return 0
	}
	status, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb float64
			fmt.Sscan(v, &kb)
			return kb / 1024
		}
	}
	return 0
}

// pieceTimer runs the pieces of a split read from q, 16 at once, timing
// each; a snapshot's merge is held back (held), to run once the sign-in
// pass read at the same time is published. The job's check is dropped: it
// is due ten minutes after the start and would find the job published.
type pieceTimer struct {
	mu           sync.Mutex
	chunk, merge time.Duration
	held         []string
}

func (pt *pieceTimer) drain(ctx context.Context, svc *usage.Service, q *licensing.LocalQueue) error {
	svc = svc.WithWork(q)
	return q.Drain(ctx, 16, func(ctx context.Context, text string) error {
		switch {
		case strings.Contains(text, `"kind":"snapshot.check"`), strings.Contains(text, `"kind":"signin.check"`):
			return nil
		case strings.Contains(text, `"kind":"snapshot.merge"`):
			pt.mu.Lock()
			pt.held = append(pt.held, text)
			pt.mu.Unlock()
			return nil
		}
		return pt.run(ctx, svc, text)
	})
}

func (pt *pieceTimer) run(ctx context.Context, svc *usage.Service, text string) error {
	start := time.Now()
	err := svc.HandleWork(ctx, text, false, slog.New(slog.DiscardHandler))
	took := time.Since(start)
	pt.mu.Lock()
	if strings.Contains(text, ".merge\"") {
		pt.merge = max(pt.merge, took)
	} else {
		pt.chunk = max(pt.chunk, took)
	}
	pt.mu.Unlock()
	return err
}

// BenchmarkSnapshotMillion compares, on a tenant of BENCH_USERS users whose
// Graph pages take 500 ms each (the real Graph adapter against the fake
// server, Azurite for tables and blobs): (a) today's one-invocation full
// read with sign-ins (TakeSnapshot, $top=500), and (b) a snapshot in 16
// segments and a sign-in pass in 16 segments (the default chunk size; the
// segments cut where (a)'s snapshot, the latest, splits its names evenly)
// read at the same time, each
// drained 16 pieces at once, then the snapshot's merge with the pass. It
// prints each one's wall time, their ratio, the longest chunk and the
// longest merge of (b) (what one invocation must fit in), the CPU time per
// user and the peak resident set of each. The fake server runs in this
// process and its CPU counts in both; it finds a $filter page's users by
// binary search in its principal-name order, as Graph's index does, so a
// segment costs it what the segment's users cost. With BENCH_CPUPROFILE_B
// set to a file name, (b) alone is CPU-profiled into it.
func BenchmarkSnapshotMillion(b *testing.B) {
	n, err := strconv.Atoi(os.Getenv("BENCH_USERS"))
	if err != nil || n < 1 {
		b.Skip("BENCH_USERS is not set to a number of users (make bench sets 1000000)")
	}
	r := newSnapshotRig(b, n, time.Minute)
	r.server.PageLatency = 500 * time.Millisecond
	svc := r.splitService(16, 0)
	ctx := context.Background()
	for b.Loop() {
		peakMB(true)
		cpu, start := cpuSeconds(), time.Now()
		seq, err := r.svc.TakeSnapshot(ctx, usage.SnapshotOptions{Full: true, SignIn: true}, nil)
		if err != nil {
			b.Fatal(err)
		}
		seqWall, seqCPU, seqPeak := time.Since(start), cpuSeconds()-cpu, peakMB(false)

		stopProfile := profileCPU(b, os.Getenv("BENCH_CPUPROFILE_B"))
		peakMB(true)
		cpu, start = cpuSeconds(), time.Now()
		var pt pieceTimer
		snapQ, passQ := &licensing.LocalQueue{}, &licensing.LocalQueue{}
		snapJob, err := svc.WithWork(snapQ).StartSnapshot(ctx, usage.StartOptions{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		passJob, err := svc.WithWork(passQ).StartSignInPass(ctx, usage.StartOptions{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		errs := make(chan error, 2)
		go func() { errs <- pt.drain(ctx, svc, snapQ) }()
		go func() { errs <- pt.drain(ctx, svc, passQ) }()
		for range 2 {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		for _, m := range pt.held {
			if err := pt.run(ctx, svc.WithWork(snapQ), m); err != nil {
				b.Fatal(err)
			}
		}
		splitWall, splitCPU, splitPeak := time.Since(start), cpuSeconds()-cpu, peakMB(false)
		stopProfile()
		snap, err := r.tables.GetSnapshot(ctx, snapJob.ID)
		if err != nil {
			b.Fatal(err)
		}
		if snap.Users != seq.Users || snap.SignInPass != passJob.ID || !snap.SignInAvailable {
			b.Fatalf("split snapshot: %d users with pass %q (sign-in %v); want %d users with pass %s", snap.Users, snap.SignInPass, snap.SignInAvailable, seq.Users, passJob.ID)
		}
		b.ReportMetric(seqWall.Seconds(), "a-wall-s")
		b.ReportMetric(splitWall.Seconds(), "b-wall-s")
		b.ReportMetric(splitWall.Seconds()/seqWall.Seconds(), "b/a")
		b.ReportMetric(pt.chunk.Seconds(), "b-longest-chunk-s")
		b.ReportMetric(pt.merge.Seconds(), "b-longest-merge-s")
		b.ReportMetric(seqCPU*1e6/float64(n), "a-CPU-µs/user")
		b.ReportMetric(splitCPU*1e6/float64(n), "b-CPU-µs/user")
		b.ReportMetric(seqPeak, "a-peak-RSS-MB")
		b.ReportMetric(splitPeak, "b-peak-RSS-MB")
	}
}

// profileCPU starts a CPU profile into file (nothing when file is empty)
// and returns what stops it.
func profileCPU(b *testing.B, file string) func() {
	if file == "" {
		return func() {}
	}
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
}
