package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditshot/auditshot/internal/benchstat"
)

// variant is one way of taking captures.
type variant interface {
	Name() string
	// Capture takes one screenshot for worker (0 ≤ worker < concurrency)
	// and returns the PNG.
	Capture(ctx context.Context, worker int) ([]byte, error)
	// PID is the browser process.
	PID() int
	Close() error
}

// cell is what one variant measured at one concurrency.
type cell struct {
	name   string
	conc   int
	lat    []time.Duration // every measured capture
	rounds []float64       // throughput of each round, captures/s
	rss    int64           // bytes, after the runs
	note   string          // printed under the table
}

func (c *cell) add(lat []time.Duration, wall time.Duration) {
	c.lat = append(c.lat, lat...)
	c.rounds = append(c.rounds, float64(len(lat))/wall.Seconds())
}

func (c *cell) p50() float64 { return benchstat.MS(benchstat.Percentile(c.lat, 50)) }
func (c *cell) p95() float64 { return benchstat.MS(benchstat.Percentile(c.lat, 95)) }

// throughput is the median of the rounds' throughputs.
func (c *cell) throughput() float64 {
	r := slices.Clone(c.rounds)
	slices.Sort(r)
	if len(r) == 0 {
		return 0
	}
	if len(r)%2 == 1 {
		return r[len(r)/2]
	}
	return (r[len(r)/2-1] + r[len(r)/2]) / 2
}

// warmup takes n unmeasured captures and checks the first image.
func warmup(ctx context.Context, v variant, conc, n int) error {
	data, err := v.Capture(ctx, 0)
	if err != nil {
		return err
	}
	if err := checkPNG(data); err != nil {
		return err
	}
	_, _, err = runCaptures(ctx, v, conc, max(n-1, 0))
	return err
}

// checkPNG checks that data is a PNG of the benchmark's viewport.
func checkPNG(data []byte) error {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("screenshot is not a PNG: %w", err)
	}
	if cfg.Width != viewWidth || cfg.Height != viewHeight {
		return fmt.Errorf("screenshot is %dx%d, want %dx%d", cfg.Width, cfg.Height, viewWidth, viewHeight)
	}
	return nil
}

// runCaptures takes n captures with conc workers, each taking the next
// capture as soon as its previous one is done. It returns the latency of
// every capture and the wall time of all of them.
func runCaptures(ctx context.Context, v variant, conc, n int) ([]time.Duration, time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		next atomic.Int64
		mu   sync.Mutex
		lat  = make([]time.Duration, 0, n)
		wg   sync.WaitGroup
	)
	start := time.Now()
	for w := range conc {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				t := time.Now()
				data, err := v.Capture(ctx, w)
				d := time.Since(t)
				if err == nil && len(data) == 0 {
					err = fmt.Errorf("empty screenshot")
				}
				if err != nil {
					cancel(fmt.Errorf("capture: %w", err))
					return
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return nil, 0, err
	}
	return lat, wall, nil
}

// Settling of memory samples.
const (
	settleInterval = 200 * time.Millisecond
	settleSamples  = 3                // samples in a row that do not drop
	settleMaxWait  = 15 * time.Second // give up waiting and take the last sample
)

// settledRSS returns the RSS of the process tree rooted at pid once it has
// stopped dropping (background disposal of contexts and tabs has settled):
// settleSamples samples in a row none of which is 1% below the lowest seen.
func settledRSS(ctx context.Context, pid int) (int64, error) {
	if pid == 0 {
		return 0, fmt.Errorf("no browser process")
	}
	low, err := treeRSS(pid)
	if err != nil {
		return 0, err
	}
	last, steady := low, 0
	deadline := time.Now().Add(settleMaxWait)
	for steady < settleSamples && time.Now().Before(deadline) {
		select {
		case <-time.After(settleInterval):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		if last, err = treeRSS(pid); err != nil {
			return 0, err
		}
		if last < low*99/100 {
			steady = 0
		} else {
			steady++
		}
		low = min(low, last)
	}
	return last, nil
}

// treeRSS sums VmRSS over pid and all its descendants, from /proc.
func treeRSS(root int) (int64, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := readPPID(pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	var total int64
	found := false
	for queue := []int{root}; len(queue) > 0; queue = queue[1:] {
		pid := queue[0]
		rss, ok := readRSS(pid)
		if pid == root {
			found = ok
		}
		total += rss
		queue = append(queue, children[pid]...)
	}
	if !found {
		return 0, fmt.Errorf("process %d is gone", root)
	}
	return total, nil
}

// readPPID reads the parent pid from /proc/<pid>/stat. The command name
// may hold spaces and parentheses, so the fields start after the last ')'.
func readPPID(pid int) (int, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:])) // state, ppid, ...
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// readRSS reads VmRSS from /proc/<pid>/status, in bytes. A kernel thread
// or a process that just ended has none.
func readRSS(pid int) (int64, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		v, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(v) // "123456", "kB"
		if len(f) != 2 || f[1] != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		return kb << 10, err == nil
	}
	return 0, true // no VmRSS line: no user memory
}
