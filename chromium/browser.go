package chromium

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/auditshot/auditshot"
)

// browser is one Chromium process with its pool of prepared contexts.
type browser struct {
	e       *Engine
	gen     int
	dataDir string
	version string
	ua      string

	allocCancel context.CancelFunc
	ctx         context.Context // the browser's root chromedp context
	cancel      context.CancelFunc
	guard       auditshot.EgressSession // deny-all proxy for the default context

	ready  chan *slot     // prepared contexts
	kick   chan struct{}  // asks the prewarmer to refill
	served atomic.Int64   // captures started on this browser
	flight sync.WaitGroup // captures and preparations in flight
	dead   atomic.Bool
	once   sync.Once
	done   chan struct{} // closed once the process is gone

	mu    sync.Mutex
	slots map[cdp.BrowserContextID]*slot // live slots, for browser events
}

func startBrowser(ctx context.Context, e *Engine, gen int) (*browser, error) {
	dir, err := os.MkdirTemp("", "auditshot-chromium-")
	if err != nil {
		return nil, fmt.Errorf("user data dir: %w", err)
	}
	guard, err := e.cfg.Egress.Open(ctx)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("egress guard: %w", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(e.cfg.ExecPath),
		chromedp.UserDataDir(dir),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-features", "Translate,WebUIOmniboxPopup,MediaRouter,OptimizationHints,InterestFeedContentSuggestions,DialMediaRouteProvider,AcceptCHFrame,AutofillServerCommunication"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("deny-permission-prompts", true),
		chromedp.Flag("disable-notifications", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("dns-prefetch-disable", true),
		// Every connection goes through a proxy; the default context's
		// proxy refuses everything. <-loopback> removes Chromium's implicit
		// bypass of loopback addresses, so they are policed too.
		chromedp.ProxyServer(guard.ProxyURL()),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
		// WebRTC may only use the proxy: no UDP around it.
		chromedp.Flag("force-webrtc-ip-handling-policy", "disable_non_proxied_udp"),
		chromedp.Flag("webrtc-ip-handling-policy", "disable_non_proxied_udp"),
		chromedp.WindowSize(auditshot.DefaultWidth, auditshot.DefaultHeight),
		// Paint everything before a frame is drawn and decode images
		// before painting: screenshots then show the whole page, and the
		// renderer does less work per capture (measured: about 15% less
		// browser CPU per capture on the benchmark machine).
		chromedp.Flag("run-all-compositor-stages-before-draw", true),
		chromedp.Flag("disable-checker-imaging", true),
		chromedp.Flag("disable-threaded-animation", true),
		chromedp.Flag("disable-threaded-scrolling", true),
	}
	if shmLargeEnough() {
		// chromedp keeps shared memory in /tmp files for small
		// containers' sake; a roomy /dev/shm is faster.
		opts = append(opts, chromedp.Flag("disable-dev-shm-usage", false))
	}
	if len(e.cfg.IgnoreCertSPKIs) > 0 {
		opts = append(opts, chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(e.cfg.IgnoreCertSPKIs, ",")))
	}
	for k, v := range e.cfg.ExtraFlags {
		opts = append(opts, chromedp.Flag(k, v))
	}
	opts = append(chromedp.DefaultExecAllocatorOptions[:], opts...)
	allocCtx, allocCancel := chromedp.NewExecAllocator(e.ctx, opts...)
	bctx, bcancel := chromedp.NewContext(allocCtx)
	b := &browser{
		e: e, gen: gen, dataDir: dir,
		allocCancel: allocCancel, ctx: bctx, cancel: bcancel, guard: guard,
		ready: make(chan *slot, e.cfg.Prewarm+1),
		kick:  make(chan struct{}, 1),
		done:  make(chan struct{}),
		slots: map[cdp.BrowserContextID]*slot{},
	}
	startCtx, cancelStart := context.WithTimeout(ctx, DefaultStartTimeout)
	defer cancelStart()
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx) }()
	select {
	case err = <-started:
	case <-startCtx.Done():
		err = startCtx.Err()
	}
	if err == nil {
		err = b.setup(startCtx)
	}
	if err != nil {
		b.retire()
		b.wait()
		return nil, err
	}
	go func() {
		defer close(b.done)
		<-chromedp.FromContext(bctx).Browser.LostConnection
	}()
	e.log.Info("browser started", "gen", gen, "pid", b.pid(), "version", b.version, "exec", e.cfg.ExecPath)
	if e.cfg.Prewarm > 0 {
		e.wg.Add(1)
		go b.prewarm()
	}
	return b, nil
}

func (b *browser) setup(ctx context.Context) error {
	v, err := chromedp.CallBrowser(b.ctx, cdpbrowser.GetVersion, cdp.Empty{})
	if err != nil {
		return fmt.Errorf("browser version: %w", err)
	}
	b.version = v.Product
	b.ua = v.UserAgent
	if err := chromedp.ListenBrowser(b.ctx, b.onBrowserEvent); err != nil {
		return err
	}
	_, err = chromedp.CallBrowser(b.ctx, target.SetDiscoverTargets, target.SetDiscoverTargetsParams{Discover: true})
	return err
}

// onBrowserEvent refuses popups: any page target opened by a capture's page
// is closed and recorded.
func (b *browser) onBrowserEvent(ev any) {
	if d, ok := ev.(*cdpbrowser.EventDownloadWillBegin); ok {
		b.mu.Lock()
		for _, s := range b.slots {
			if cdp.FrameID(s.targetID) == d.FrameID {
				s.rec.refuse("download", d.URL)
			}
		}
		b.mu.Unlock()
		return
	}
	created, ok := ev.(*target.EventTargetCreated)
	if !ok || created.TargetInfo == nil || created.TargetInfo.Type != "page" || created.TargetInfo.OpenerID == "" {
		return
	}
	info := created.TargetInfo
	b.mu.Lock()
	s := b.slots[info.BrowserContextID]
	b.mu.Unlock()
	if s == nil {
		return
	}
	s.rec.refuse("popup", info.URL)
	go func() {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancel()
		_, _ = chromedp.CallBrowser(ctx, target.CloseTarget, target.CloseTargetParams{TargetID: info.TargetID})
	}()
}

func (b *browser) process() *os.Process {
	c := chromedp.FromContext(b.ctx)
	if c == nil || c.Browser == nil {
		return nil
	}
	return c.Browser.Process()
}

func (b *browser) pid() int {
	if p := b.process(); p != nil {
		return p.Pid
	}
	return 0
}

// alive reports whether the process still runs and the connection holds.
func (b *browser) alive() bool {
	if b.dead.Load() {
		return false
	}
	select {
	case <-b.done:
		return false
	default:
	}
	p := b.process()
	if p == nil || p.Signal(syscall.Signal(0)) != nil {
		return false
	}
	return true
}

// retire stops handing out contexts; the process ends once the captures
// in flight on it are done.
func (b *browser) retire() {
	b.once.Do(func() {
		b.dead.Store(true)
		b.e.wg.Add(1)
		go func() {
			defer b.e.wg.Done()
			b.drain()
			b.flight.Wait()
			b.drain()
			b.cancel()
			b.allocCancel()
			b.guard.Close()
			os.RemoveAll(b.dataDir)
		}()
	})
}

// wait blocks until a retired browser's process is gone.
func (b *browser) wait() {
	c := chromedp.FromContext(b.ctx)
	if c == nil || c.Browser == nil {
		return
	}
	<-c.Browser.LostConnection
}

func (b *browser) drain() {
	for {
		select {
		case s := <-b.ready:
			s.dispose()
		default:
			return
		}
	}
}

// prewarm keeps cfg.Prewarm contexts ready.
func (b *browser) prewarm() {
	defer b.e.wg.Done()
	for !b.dead.Load() {
		if len(b.ready) < b.e.cfg.Prewarm {
			s, err := b.newSlot(b.e.ctx)
			if err != nil {
				if b.dead.Load() || b.e.ctx.Err() != nil || !b.alive() {
					return
				}
				b.e.log.Warn("preparing a context failed", "err", err)
				// Back off: captures prepare their own context meanwhile.
				select {
				case <-time.After(prewarmBackoff):
				case <-b.done:
					return
				case <-b.e.ctx.Done():
					return
				}
				continue
			}
			select {
			case b.ready <- s:
			default:
				s.dispose()
			}
			continue
		}
		select {
		case <-b.kick:
		case <-b.done:
			return
		case <-b.e.ctx.Done():
			return
		}
	}
}

// take returns a prepared context, or prepares one now.
func (b *browser) take(ctx context.Context) (*slot, error) {
	b.flight.Add(1)
	select {
	case s := <-b.ready:
		b.refill()
		return s, nil
	default:
	}
	s, err := b.newSlot(ctx)
	if err != nil {
		b.flight.Done()
		return nil, err
	}
	b.refill()
	return s, nil
}

func (b *browser) refill() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// minShm is the /dev/shm size from which the browser keeps its shared
// memory there.
const minShm = 1 << 30

// shmLargeEnough reports whether /dev/shm has room for the browser's
// shared memory.
func shmLargeEnough() bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err != nil {
		return false
	}
	return st.Bavail*uint64(st.Bsize) >= minShm
}

// prewarmBackoff is the pause after a failed preparation.
const prewarmBackoff = 250 * time.Millisecond

// errBrowserGone marks errors caused by the browser process dying.
var errBrowserGone = errors.New("browser process is gone")

// userAgent is the browser's own user agent string.
func (b *browser) userAgent() string { return b.ua }
