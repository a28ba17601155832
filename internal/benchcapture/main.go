// Command benchcapture measures what the capture engine costs against bare
// chromedp, on one fixed page served on 127.0.0.1, with 1280x800 PNG
// screenshots taken by the same browser binary:
//
//   - reused-tab: one browser, one long-lived tab per worker; per capture
//     Page.navigate, the load event, Page.captureScreenshot. The floor.
//   - new-context: one browser; per capture a new browser context and tab
//     (chromedp.WithNewBrowserContext), navigate, load, screenshot, then the
//     context is canceled, which closes the tab and disposes of the browser
//     context, before the capture counts as done. Naive isolation.
//   - engine: chromium.Engine with its egress proxy.
//
// Each variant runs at concurrency 1 and 2. Captures run in rounds that
// rotate the order of the variants, so that a noisy moment of the machine
// does not land on one variant only. The report gives p50 and p95 latency,
// throughput (the median of the rounds), the browser's total RSS (the
// process and all its descendants) after the runs, and a memory-growth run
// of one engine that serves many captures without recycling its browser.
//
// Usage:
//
//	go run ./internal/benchcapture [-n 60] [-growth 500] [-quick]
//
// It exits non-zero on errors only; a missed goal is reported as MISS.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/auditshot/auditshot/chromium"
)

// Goals of the ratios the benchmark reports.
const (
	goalLatencyRatio    = 1.3  // engine p50 / reused-tab p50, concurrency 1; at most
	goalThroughputRatio = 1.3  // engine / new-context throughput, concurrency 2; at least
	goalGrowthRatio     = 1.10 // engine RSS after growth captures / after 50; at most
)

// growthEarly is the capture after which the growth run takes its first
// memory sample.
const growthEarly = 50

// Viewport of every capture.
const (
	viewWidth  = 1280
	viewHeight = 800
)

// config is the benchmark's parameters, from flags.
type config struct {
	n      int // measured captures per variant and concurrency
	warmup int // unmeasured captures per variant and concurrency
	rounds int
	growth int // captures of the memory-growth run
	conc   []int
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchcapture:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	execPath, err := chromium.FindExec()
	if err != nil {
		return err
	}
	srv, url, err := servePage()
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "browser: %s\npage: %s\ncaptures per cell: %d in %d rounds (after %d warm-up), viewport %dx%d PNG\n\n",
		execPath, url, cfg.n, cfg.rounds, cfg.warmup, viewWidth, viewHeight)

	var cells []*cell
	for _, conc := range cfg.conc {
		cs, err := benchConcurrency(ctx, cfg, conc, execPath, url, logger, stderr)
		if err != nil {
			return fmt.Errorf("concurrency %d: %w", conc, err)
		}
		cells = append(cells, cs...)
	}
	printTable(stdout, cells)

	fmt.Fprintf(stderr, "memory growth: %d engine captures at concurrency 2\n", cfg.growth)
	early, late, err := growthRun(ctx, cfg.growth, execPath, url, logger)
	if err != nil {
		return fmt.Errorf("memory growth: %w", err)
	}
	fmt.Fprintln(stdout)
	printRatios(stdout, cells, cfg.growth, early, late)
	return nil
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("benchcapture", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 60, "measured captures per variant and concurrency")
	growth := fs.Int("growth", 500, "captures of the engine memory-growth run")
	quick := fs.Bool("quick", false, "small counts, for a smoke run")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	cfg := config{n: *n, warmup: 10, rounds: 3, growth: *growth, conc: []int{1, 2}}
	if *quick {
		cfg.n, cfg.warmup, cfg.growth = 6, 2, 2*growthEarly
	}
	if cfg.n < cfg.rounds {
		return config{}, fmt.Errorf("-n must be at least %d", cfg.rounds)
	}
	if cfg.growth <= growthEarly {
		return config{}, fmt.Errorf("-growth must be more than %d", growthEarly)
	}
	return cfg, nil
}

// benchConcurrency starts the three variants for conc workers, warms them
// up, runs the rounds and reads each browser's memory.
func benchConcurrency(ctx context.Context, cfg config, conc int, execPath, url string, logger *slog.Logger, stderr io.Writer) (cells []*cell, err error) {
	var vs []variant
	defer func() {
		for _, v := range vs {
			err = errors.Join(err, v.Close())
		}
	}()
	starts := []func() (variant, error){
		func() (variant, error) { return startReusedTab(ctx, execPath, url, conc) },
		func() (variant, error) { return startNewContext(ctx, execPath, url) },
		func() (variant, error) { return startEngine(ctx, execPath, url, conc, 0, logger) },
	}
	for _, start := range starts {
		v, err := start()
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
		cells = append(cells, &cell{name: v.Name(), conc: conc})
	}
	for _, v := range vs {
		fmt.Fprintf(stderr, "concurrency %d: warming up %s\n", conc, v.Name())
		if err := warmup(ctx, v, conc, cfg.warmup); err != nil {
			return nil, fmt.Errorf("%s: warm-up: %w", v.Name(), err)
		}
		if e, ok := v.(*engineVariant); ok {
			e.resetPhases()
		}
	}
	for r := range cfg.rounds {
		count := cfg.n / cfg.rounds
		if r < cfg.n%cfg.rounds {
			count++
		}
		for i := range vs {
			k := (i + r) % len(vs) // rotate the order each round
			fmt.Fprintf(stderr, "concurrency %d: round %d/%d: %s x%d\n", conc, r+1, cfg.rounds, vs[k].Name(), count)
			lat, wall, err := runCaptures(ctx, vs[k], conc, count)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", vs[k].Name(), err)
			}
			cells[k].add(lat, wall)
		}
	}
	for i, v := range vs {
		rss, err := settledRSS(ctx, v.PID())
		if err != nil {
			return nil, fmt.Errorf("%s: memory: %w", v.Name(), err)
		}
		cells[i].rss = rss
		if e, ok := v.(*engineVariant); ok {
			cells[i].note = "engine phases, p50 ms: " + e.phaseSummary()
		}
	}
	return cells, nil
}

// growthRun captures growth times at concurrency 2 on one engine that does
// not recycle its browser, and returns the browser's RSS after the first
// growthEarly captures and after all of them.
func growthRun(ctx context.Context, growth int, execPath, url string, logger *slog.Logger) (early, late int64, err error) {
	v, err := startEngine(ctx, execPath, url, 2, 100000, logger)
	if err != nil {
		return 0, 0, err
	}
	defer func() { err = errors.Join(err, v.Close()) }()
	pid := v.PID()
	if _, _, err := runCaptures(ctx, v, 2, growthEarly); err != nil {
		return 0, 0, err
	}
	if early, err = settledRSS(ctx, pid); err != nil {
		return 0, 0, err
	}
	if _, _, err := runCaptures(ctx, v, 2, growth-growthEarly); err != nil {
		return 0, 0, err
	}
	if late, err = settledRSS(ctx, pid); err != nil {
		return 0, 0, err
	}
	if st := v.eng.Stats(); v.PID() != pid || st.Restarts != 0 || st.Recycles != 0 {
		return 0, 0, fmt.Errorf("the browser changed during the run (pid %d, then %d; %d restarts, %d recycles)", pid, v.PID(), st.Restarts, st.Recycles)
	}
	return early, late, nil
}

// verdict is PASS when ok, MISS otherwise.
// timeout bounds one capture, so that a stuck browser ends the run with an
// error and not a hang.
const timeout = 60 * time.Second
