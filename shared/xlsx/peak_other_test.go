//go:build !linux

package xlsx

// resetPeakRSS cannot reset the peak on this platform.
func resetPeakRSS() {}

// highWaterRSSMiB returns the process's peak resident set so far.
func highWaterRSSMiB() float64 { return peakRSSMiB() }
