package graph

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// BenchmarkReadUsersPerUser reads every user of a generated tenant of
// 20,000 users (GRAPH_BENCH_USERS to change it) through the real SDK
// pipeline and the fake over HTTP, with no latency, and reports the cost
// per user: ns/user and B/user (the fake's work included, as both run in
// this process).
//
//	CGO_ENABLED=0 go test ./shared/graph -run '^$' -bench ReadUsersPerUser -benchtime 3x -count 3 -benchmem
func BenchmarkReadUsersPerUser(b *testing.B) {
	for _, n := range sizesFromEnv(b, "GRAPH_BENCH_USERS", []int{20000}) {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			f := demoFixture(b, n)
			users := 0
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				res, err := f.client.ReadUsers(context.Background(), licensing.UserQuery{NoDeltaLink: true}, func(licensing.DirectoryUser) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
				users += res.Users
			}
			cpu := cpuTime() - cpu0
			b.StopTimer()
			perOp := float64(users) / float64(b.N)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/perOp, "ns/user")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(users), "cpu-ns/user")
			b.ReportMetric(perOp, "users/op")
		})
	}
}

// cpuTime is the CPU time (user and system) the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
