package xlsx

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// memProbe records, while it runs, the peak of the heap's objects (sampled
// every half millisecond) and the process's peak resident set, reset when
// the probe starts where the platform allows it (resetPeakRSS).
type memProbe struct {
	stop chan struct{}
	done chan struct{}
	heap uint64
}

const heapObjects = "/memory/classes/heap/objects:bytes"

// startMemProbe collects garbage, returns freed memory to the system and
// starts sampling.
func startMemProbe() *memProbe {
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()
	p := &memProbe{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		s := []metrics.Sample{{Name: heapObjects}}
		t := time.NewTicker(500 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > p.heap {
				p.heap = v
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// report stops the probe and reports peak-heap-MiB and peak-RSS-MiB.
func (p *memProbe) report(b *testing.B) {
	close(p.stop)
	<-p.done
	b.ReportMetric(float64(p.heap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(highWaterRSSMiB(), "peak-RSS-MiB")
}
