package chromium

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/auditshot/auditshot"
)

// slot is one isolated browser context with one tab, used for exactly one
// capture and then disposed of.
type slot struct {
	b        *browser
	ctx      context.Context // the tab's chromedp context
	cancel   context.CancelFunc
	egress   auditshot.EgressSession
	rec      *recorder
	bctxID   cdp.BrowserContextID
	targetID target.ID
	created  time.Time
	handlers chan any // events that need commands: dialogs, fetch
	fetch    atomic.Pointer[func(ctx context.Context, ev any)]
}

// newSlot creates a browser context whose connections go through a fresh
// egress session, opens a blank tab in it and attaches.
func (b *browser) newSlot(ctx context.Context) (*slot, error) {
	sess, err := b.e.cfg.Egress.Open(ctx)
	if err != nil {
		return nil, fmt.Errorf("egress session: %w", err)
	}
	s := &slot{b: b, egress: sess, created: b.e.now(), handlers: make(chan any, 256)}
	s.rec = newRecorder(b.e.now)
	s.rec.handle = func(ev any) {
		select {
		case s.handlers <- ev:
		default: // a flood of dialogs: the tab's own timeout ends it
		}
	}
	tctx, cancel := chromedp.NewContext(b.ctx,
		chromedp.WithNewBrowserContext(func(p *target.CreateBrowserContextParams) {
			p.ProxyServer = sess.ProxyURL()
			p.ProxyBypassList = "<-loopback>"
		}),
		chromedp.WithListener(s.rec.on),
	)
	s.ctx, s.cancel = tctx, cancel
	attachCtx, cancelAttach := context.WithTimeout(tctx, 20*time.Second)
	defer cancelAttach()
	defer context.AfterFunc(ctx, cancelAttach)()
	if err := s.attach(attachCtx); err != nil {
		s.dispose()
		return nil, err
	}
	go s.serveHandlers()
	return s, nil
}

func (s *slot) attach(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(s.ctx) }() // the first Do opens the tab: no timeout on it
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("open tab: %w", err)
		}
	case <-ctx.Done():
		return fmt.Errorf("open tab: %w", ctx.Err())
	}
	c := chromedp.FromContext(s.ctx)
	s.bctxID = c.BrowserContextID
	s.targetID = c.Target.TargetID
	s.rec.mu.Lock()
	s.rec.mainFrame = cdp.FrameID(s.targetID)
	s.rec.mu.Unlock()
	s.b.mu.Lock()
	s.b.slots[s.bctxID] = s
	s.b.mu.Unlock()
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorDeny, BrowserContextID: s.bctxID, EventsEnabled: new(true),
	}); err != nil {
		return fmt.Errorf("deny downloads: %w", err)
	}
	// chromedp enables the DOM and CSS domains to track the node tree for
	// its queries; the engine uses none of them, and tracking costs the
	// renderer and this process work on every document.
	if _, err := chromedp.Call(ctx, css.Disable, cdp.Empty{}); err != nil {
		return fmt.Errorf("disable CSS domain: %w", err)
	}
	if _, err := chromedp.Call(ctx, dom.Disable, cdp.Empty{}); err != nil {
		return fmt.Errorf("disable DOM domain: %w", err)
	}
	if err := defaultMetrics.apply(ctx); err != nil {
		return err
	}
	// The page's Content-Security-Policy stays in force, so the capture
	// shows what a user sees; injected CSS uses a constructed style sheet
	// and masks set styles through the CSSOM, which CSP does not govern.
	return nil
}

// serveHandlers answers events that need commands, off the read loop.
func (s *slot) serveHandlers() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case ev := <-s.handlers:
			switch ev := ev.(type) {
			case *page.EventJavascriptDialogOpening:
				// Dismiss every dialog; accept beforeunload so leaving
				// the page is never blocked.
				accept := ev.Type == page.DialogTypeBeforeunload
				_, _ = chromedp.Call(s.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
			case *fetch.EventRequestPaused, *fetch.EventAuthRequired:
				if f := s.fetch.Load(); f != nil {
					go (*f)(s.ctx, ev)
				} else if p, ok := ev.(*fetch.EventRequestPaused); ok {
					_, _ = chromedp.Call(s.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: p.RequestID})
				}
			}
		}
	}
}

// dispose closes the tab, disposes of the browser context and closes the
// egress session. It returns at once; the work runs in the background.
func (s *slot) dispose() {
	s.b.e.wg.Add(1)
	go func() {
		defer s.b.e.wg.Done()
		s.cancel() // closes the target and disposes of the context
		s.b.mu.Lock()
		delete(s.b.slots, s.bctxID)
		s.b.mu.Unlock()
		s.egress.Close()
	}()
}

func isHandled(ev any) bool {
	switch ev.(type) {
	case *fetch.EventRequestPaused, *fetch.EventAuthRequired:
		return true
	}
	return false
}
