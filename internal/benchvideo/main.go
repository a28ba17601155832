// Command benchvideo measures what recording a browser flow as video
// costs: the same flow through the demo app (examples/demoapp) is run by
// the engine with and without video, in interleaved rounds, and the report
// gives the wall-time ratio (p50) and the video's bytes per minute at
// 1280x720.
//
// Usage:
//
//	go run ./internal/benchvideo [-rounds 8] [-quick] [-keep FILE.mp4]
//
// It exits non-zero on errors only; a missed goal is reported as MISS.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/chromium"
	"github.com/auditshot/auditshot/egress"
	"github.com/auditshot/auditshot/examples/demoapp/app"
	"github.com/auditshot/auditshot/internal/benchstat"
	"github.com/auditshot/auditshot/video"
)

// Goals of issue 5.
const (
	goalOverheadRatio = 1.15    // with video / without, p50 wall time; at most
	goalBytesPerMin   = 1 << 20 // at 1280x720; at most
)

func main() {
	rounds := flag.Int("rounds", 8, "flows per variant, interleaved")
	quick := flag.Bool("quick", false, "a short run: 2 flows per variant")
	flag.StringVar(&keep, "keep", "", "write the last video to this file, to look at")
	flag.Parse()
	if *quick {
		*rounds = 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *rounds, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchvideo:", err)
		os.Exit(1)
	}
}

// keep, if set, is where the last video is written.
var keep string

// flow is the refund flow an agent runs in the demo app: the form filled
// at a human-ish pace, submitted, and the confirmation checked.
func flow(base string, withVideo bool) auditshot.SequenceOptions {
	o := auditshot.SequenceOptions{URL: base + "/customers/C-1001", Width: 1280, Height: 720,
		Steps: []auditshot.Step{
			{Action: auditshot.ActionClick, Selector: "#refund-link"},
			{Action: auditshot.ActionWaitFor, Selector: "#amount"},
			{Action: auditshot.ActionFill, Selector: "#amount", Value: "25.00"},
			{Action: auditshot.ActionWait, MS: 700},
			{Action: auditshot.ActionFill, Selector: "#reason", Value: "Order arrived damaged; customer sent photos"},
			{Action: auditshot.ActionWait, MS: 700},
			{Action: auditshot.ActionCheck, Selector: "#confirm"},
			{Action: auditshot.ActionClick, Selector: "#submit-refund"},
			{Action: auditshot.ActionAssertText, Selector: "#confirmation-title", Text: "submitted"},
			{Action: auditshot.ActionWait, MS: 1000},
			{Action: auditshot.ActionScreenshot, Name: "confirmation"},
		}}
	if withVideo {
		o.Video, o.VideoWidth, o.VideoHeight = true, 1280, 720
	}
	return o
}

func run(ctx context.Context, rounds int, w io.Writer) error {
	log := slog.New(slog.DiscardHandler)
	eng, err := chromium.New(chromium.Config{Egress: egress.New(egress.Config{Logger: log}), Concurrency: 1, Logger: log,
		Video: video.Service{Config: video.Config{Logger: log}}})
	if err != nil {
		return err
	}
	defer eng.Close()
	if err := eng.Start(ctx); err != nil {
		return err
	}
	demoApp := app.New(app.Config{Open: true, Logger: log})
	demo := httptest.NewServer(demoApp.Handler())
	defer demo.Close()
	policy := auditshot.CapturePolicy{Egress: auditshot.EgressPolicy{Allow: []string{"127.0.0.1"}}}
	fmt.Fprintf(w, "flow: demo app refund (11 steps, 2.4 s of waits), 1280x720, %d flows per variant, interleaved\n\n", rounds)
	var plain, recorded []time.Duration
	var bytes, secs float64
	one := func(withVideo bool) error {
		demoApp.Reset() // fresh orders: each flow refunds the same one
		start := time.Now()
		res, err := eng.Sequence(ctx, flow(demo.URL, withVideo), policy)
		if err != nil {
			return err
		}
		if res.Status != auditshot.SequenceSucceeded {
			return fmt.Errorf("flow %s: %+v", res.Status, res.Steps)
		}
		d := time.Since(start)
		if withVideo && keep != "" {
			if err := os.WriteFile(keep, res.Video, 0o644); err != nil {
				return err
			}
		}
		if withVideo {
			recorded = append(recorded, d)
			bytes += float64(len(res.Video))
			secs += d.Seconds()
		} else {
			plain = append(plain, d)
		}
		return nil
	}
	if err := one(false); err != nil { // warm up
		return err
	}
	if err := one(true); err != nil {
		return err
	}
	plain, recorded, bytes, secs = nil, nil, 0, 0
	for i := range rounds {
		for _, v := range []bool{i%2 == 0, i%2 != 0} {
			if err := one(v); err != nil {
				return err
			}
		}
	}
	p50 := func(d []time.Duration) time.Duration { return benchstat.Percentile(d, 50) }
	fmt.Fprintf(w, "%14s  %6s  %8s\n", "variant", "flows", "p50 s")
	fmt.Fprintf(w, "%14s  %6d  %8.2f\n", "without video", len(plain), p50(plain).Seconds())
	fmt.Fprintf(w, "%14s  %6d  %8.2f\n", "with video", len(recorded), p50(recorded).Seconds())
	ratio := p50(recorded).Seconds() / p50(plain).Seconds()
	bpm := bytes / secs * 60
	fmt.Fprintf(w, "\nvideo-overhead-ratio: %.3f   (goal <= %.2f) %s\n", ratio, goalOverheadRatio, benchstat.Verdict(ratio <= goalOverheadRatio))
	fmt.Fprintf(w, "video-bytes-per-minute: %.0f   (goal <= %d) %s\n", bpm, goalBytesPerMin, benchstat.Verdict(bpm <= goalBytesPerMin))
	return nil
}
