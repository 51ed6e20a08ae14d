//go:build !unix

package xlsx

// peakRSSMiB is not measured on this platform.
func peakRSSMiB() float64 { return 0 }
