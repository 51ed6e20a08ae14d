//go:build linux

package xlsx

import (
	"bytes"
	"os"
	"strconv"
)

// resetPeakRSS sets the process's resident-set high-water mark back to its
// current resident set (Linux 4.0 and later).
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// highWaterRSSMiB returns VmHWM, the peak resident set since the process
// started or since the last resetPeakRSS, in MiB.
func highWaterRSSMiB() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return peakRSSMiB()
	}
	for _, line := range bytes.Split(status, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, err := strconv.ParseFloat(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return peakRSSMiB()
}
