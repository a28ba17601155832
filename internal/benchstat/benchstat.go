// Package benchstat is what the benchmarks under internal/ share to
// report timings: one percentile (nearest rank), milliseconds, and the
// PASS/MISS verdict of a goal, so that every benchmark's p50 means the
// same thing.
package benchstat

import (
	"os"
	"runtime/pprof"
	"slices"
	"time"
)

// Percentile returns the nearest-rank p-th percentile of d (0 < p <= 100):
// the smallest value with at least p% of d at or below it; 0 for no
// values. d is not changed.
func Percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(d))
	rank := (p*len(s) + 99) / 100 // ceil(p/100 * n)
	return s[min(max(rank, 1), len(s))-1]
}

// MS is d in milliseconds, to the microsecond.
func MS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Verdict says whether a goal was met.
func Verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// CPUProfile writes a CPU profile to path until stop is called; with an
// empty path it does nothing.
func CPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
