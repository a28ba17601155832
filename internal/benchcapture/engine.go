package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/chromium"
	"github.com/auditshot/auditshot/egress"
)

// engineVariant is variant (c): the capture engine, with its egress proxy.
type engineVariant struct {
	eng *chromium.Engine
	url string

	mu     sync.Mutex
	phases []auditshot.Timings // of every capture since resetPhases
}

// startEngine starts an engine for conc concurrent captures. recycleAfter
// zero keeps the engine's default.
func startEngine(ctx context.Context, execPath, url string, conc, recycleAfter int, logger *slog.Logger) (*engineVariant, error) {
	eng, err := chromium.New(chromium.Config{
		ExecPath:     execPath,
		Egress:       egress.New(egress.Config{Logger: logger}),
		Concurrency:  conc,
		RecycleAfter: recycleAfter,
		Logger:       logger,
	})
	if err != nil {
		return nil, err
	}
	if err := eng.Start(ctx); err != nil {
		return nil, errors.Join(err, eng.Close())
	}
	return &engineVariant{eng: eng, url: url}, nil
}

func (v *engineVariant) Name() string { return "engine" }

func (v *engineVariant) Capture(ctx context.Context, worker int) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := v.eng.Capture(ctx,
		auditshot.CaptureOptions{URL: v.url, Width: viewWidth, Height: viewHeight},
		auditshot.CapturePolicy{Egress: auditshot.EgressPolicy{Allow: []string{"127.0.0.1"}}})
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	v.phases = append(v.phases, res.Evidence.Timings)
	v.mu.Unlock()
	return res.Data, nil
}

func (v *engineVariant) resetPhases() {
	v.mu.Lock()
	v.phases = nil
	v.mu.Unlock()
}

// phaseSummary gives the median time of each phase of the engine's
// captures since resetPhases, as the engine measured them.
func (v *engineVariant) phaseSummary() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	median := func(f func(auditshot.Timings) float64) float64 {
		if len(v.phases) == 0 {
			return 0
		}
		x := make([]float64, len(v.phases))
		for i, t := range v.phases {
			x[i] = f(t)
		}
		slices.Sort(x)
		return x[len(x)/2]
	}
	return fmt.Sprintf("queue %.1f, context %.1f, navigation %.1f, wait %.1f, pixels+evidence %.1f, total %.1f",
		median(func(t auditshot.Timings) float64 { return t.QueueMS }),
		median(func(t auditshot.Timings) float64 { return t.ContextMS }),
		median(func(t auditshot.Timings) float64 { return t.NavigationMS }),
		median(func(t auditshot.Timings) float64 { return t.WaitMS }),
		median(func(t auditshot.Timings) float64 { return t.CaptureMS }),
		median(func(t auditshot.Timings) float64 { return t.TotalMS }))
}

// PID returns the current browser process id, 0 if there is none.
func (v *engineVariant) PID() int {
	if p := v.eng.BrowserProcess(); p != nil {
		return p.Pid
	}
	return 0
}

func (v *engineVariant) Close() error { return v.eng.Close() }
