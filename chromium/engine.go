// Package chromium is auditshot's capture engine: it drives one long-lived
// headless Chromium over the DevTools protocol (chromedp) and takes
// evidence-grade screenshots and PDFs, and runs multi-step browser flows
// (sequences) with an optional screencast video, each in a fresh, isolated
// browser context whose every connection goes through an egress policy
// proxy.
//
// Browser contexts are prepared ahead of demand, concurrency and the queue
// are bounded (a full queue is an error wrapping auditshot.ErrPushback), the
// browser is recycled after a number of captures and restarted when it dies.
package chromium

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditshot/auditshot"
)

// Defaults of Config.
const (
	// DefaultQueueSize is how many captures may wait for a slot per unit of
	// concurrency before Capture returns pushback.
	DefaultQueueSize = 16
	// DefaultRecycleAfter is how many captures a browser serves before it is
	// replaced by a fresh process.
	DefaultRecycleAfter = 500
	// DefaultCaptureGrace is the time allowed for taking the pixels and the
	// evidence after the page's own timeout has been spent.
	DefaultCaptureGrace = 15 * time.Second
	// DefaultStartTimeout bounds starting the browser.
	DefaultStartTimeout = 30 * time.Second
)

// ExecCandidates are the browser binaries tried, in order, when
// Config.ExecPath is empty. chromium-headless-shell is about twice as fast
// per isolated capture as the full browser.
//
// Debian's /usr/bin entries are shell scripts that start the browser as a
// child without exec, so the real binaries come first: a wrapper's pid is
// not the browser's, and killing it would orphan the browser.
var ExecCandidates = []string{
	"/usr/lib/chromium/chromium-headless-shell",
	"chromium-headless-shell",
	"/usr/lib/chromium/chromium",
	"chromium",
	"chromium-browser",
	"google-chrome",
}

// Config configures an Engine. The zero value is usable with an Egress.
type Config struct {
	// ExecPath is the browser binary; detected from ExecCandidates if empty.
	ExecPath string
	// Egress hands every browser context its proxy. Required.
	Egress auditshot.Egress
	// Concurrency bounds captures in flight; default runtime.NumCPU().
	Concurrency int
	// QueueSize bounds captures waiting for a slot; default
	// DefaultQueueSize * Concurrency. Negative means no queue at all.
	QueueSize int
	// Prewarm is how many isolated contexts are kept ready; default
	// Concurrency+1, so a context is ready although the one just taken is
	// still being replaced. Negative disables preparing contexts ahead.
	Prewarm int
	// RecycleAfter is how many captures one browser process serves;
	// default DefaultRecycleAfter.
	RecycleAfter int
	// ExtraFlags are added to the browser's command line (name → value;
	// true for a bare switch).
	ExtraFlags map[string]any
	// IgnoreCertSPKIs lists base64 SHA-256 SPKI hashes of certificates the
	// browser accepts although no trusted CA issued them (for private CAs
	// and tests). Empty: only the system's trust store.
	IgnoreCertSPKIs []string
	// Video records the flows of Sequence that ask for video; nil means
	// such sequences fail with EUNAVAILABLE. cmd wires it to the video
	// package.
	Video auditshot.VideoEncoder
	// Logger receives the engine's logs; default slog.Default().
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Engine takes captures. It is safe for concurrent use.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	sem    chan struct{}
	queued atomic.Int64

	mu      sync.Mutex
	browser *browser // current browser; nil until started or after a crash
	closed  bool
	gen     int

	ctx    context.Context // owned by the engine; canceled in Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // background work: prewarm, disposal

	stats struct {
		captures, restarts, recycles atomic.Int64
	}
}

var (
	_ auditshot.CaptureService  = (*Engine)(nil)
	_ auditshot.SequenceService = (*Engine)(nil)
)

// New returns an engine with defaults applied. The browser starts on Start
// or the first capture.
func New(cfg Config) (*Engine, error) {
	if cfg.Egress == nil {
		return nil, errors.New("chromium: Config.Egress is required")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = runtime.NumCPU()
	}
	switch {
	case cfg.QueueSize == 0:
		cfg.QueueSize = DefaultQueueSize * cfg.Concurrency
	case cfg.QueueSize < 0:
		cfg.QueueSize = 0
	}
	switch {
	case cfg.Prewarm == 0:
		cfg.Prewarm = cfg.Concurrency + 1
	case cfg.Prewarm < 0:
		cfg.Prewarm = 0
	}
	if cfg.RecycleAfter <= 0 {
		cfg.RecycleAfter = DefaultRecycleAfter
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ExecPath == "" {
		p, err := FindExec()
		if err != nil {
			return nil, err
		}
		cfg.ExecPath = p
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Engine{
		cfg:    cfg,
		log:    cfg.Logger.With("component", "chromium"),
		now:    cfg.Now,
		sem:    make(chan struct{}, cfg.Concurrency),
		ctx:    ctx,
		cancel: cancel,
	}, nil
}

// FindExec returns the first browser binary of ExecCandidates on this
// machine.
func FindExec() (string, error) {
	for _, c := range ExecCandidates {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium: no browser found (install chromium-headless-shell or chromium: scripts/install-deps)")
}

// Start starts the browser and prepares contexts, so the first capture
// does not pay for it.
func (e *Engine) Start(ctx context.Context) error {
	_, err := e.currentBrowser(ctx)
	return err
}

// Close stops the browser and waits for background work. Captures in
// flight are canceled.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	b := e.browser
	e.browser = nil
	e.mu.Unlock()
	e.cancel()
	if b != nil {
		b.retire()
		b.wait()
	}
	e.wg.Wait()
	return nil
}

// Stats are counters of an engine's life.
type Stats struct {
	Captures int64 // captures taken
	Restarts int64 // browsers started after a crash
	Recycles int64 // browsers replaced after RecycleAfter captures
	Queued   int64 // captures waiting now
	PID      int   // current browser process, 0 if none
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	s := Stats{
		Captures: e.stats.captures.Load(),
		Restarts: e.stats.restarts.Load(),
		Recycles: e.stats.recycles.Load(),
		Queued:   e.queued.Load(),
	}
	e.mu.Lock()
	if b := e.browser; b != nil {
		s.PID = b.pid()
	}
	e.mu.Unlock()
	return s
}

// BrowserProcess returns the current browser process, or nil. Tests use it
// to kill the browser.
func (e *Engine) BrowserProcess() *os.Process {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.browser == nil {
		return nil
	}
	return e.browser.process()
}

// currentBrowser returns a live browser, starting, restarting or recycling
// one as needed.
func (e *Engine) currentBrowser(ctx context.Context) (*browser, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, auditshot.Errorf(auditshot.EUNAVAILABLE, "capture engine is closed")
	}
	if b := e.browser; b != nil {
		switch {
		case !b.alive():
			e.log.Warn("browser died; restarting", "pid", b.pid(), "captures", b.served.Load())
			e.stats.restarts.Add(1)
			b.retire()
			e.browser = nil
		case b.served.Load() >= int64(e.cfg.RecycleAfter):
			e.log.Info("recycling browser", "pid", b.pid(), "captures", b.served.Load())
			e.stats.recycles.Add(1)
			b.retire()
			e.browser = nil
		default:
			return b, nil
		}
	}
	e.gen++
	b, err := startBrowser(ctx, e, e.gen)
	if err != nil {
		return nil, &auditshot.Error{Code: auditshot.EUNAVAILABLE, Message: "the browser could not be started", Err: err}
	}
	e.browser = b
	return b, nil
}

// acquire waits for a concurrency slot, or returns pushback when the
// queue is full.
func (e *Engine) acquire(ctx context.Context) (release func(), err error) {
	select {
	case e.sem <- struct{}{}:
		return func() { <-e.sem }, nil
	default:
	}
	if n := e.queued.Add(1); n > int64(e.cfg.QueueSize) {
		e.queued.Add(-1)
		return nil, &auditshot.Error{
			Code:       auditshot.EUNAVAILABLE,
			Message:    fmt.Sprintf("capture queue is full (%d waiting); retry later", e.cfg.QueueSize),
			RetryAfter: time.Second,
			Err:        auditshot.ErrPushback,
		}
	}
	defer e.queued.Add(-1)
	select {
	case e.sem <- struct{}{}:
		return func() { <-e.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-e.ctx.Done():
		return nil, auditshot.Errorf(auditshot.EUNAVAILABLE, "capture engine is closed")
	}
}
