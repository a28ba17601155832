package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// bareBrowser is a browser driven by chromedp alone, with the flags shared
// by the bare variants.
type bareBrowser struct {
	dir         string
	ctx         context.Context // the browser's first tab
	cancel      context.CancelFunc
	allocCancel context.CancelFunc
}

func startBare(ctx context.Context, execPath string) (*bareBrowser, error) {
	dir, err := os.MkdirTemp("", "benchcapture-")
	if err != nil {
		return nil, fmt.Errorf("user data dir: %w", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(dir),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.WindowSize(viewWidth, viewHeight),
	)
	allocCtx, allocCancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancel := chromedp.NewContext(allocCtx)
	b := &bareBrowser{dir: dir, ctx: bctx, cancel: cancel, allocCancel: allocCancel}
	if err := chromedp.Do(bctx); err != nil {
		return nil, errors.Join(fmt.Errorf("start browser: %w", err), b.Close())
	}
	return b, nil
}

// PID returns the browser process id.
func (b *bareBrowser) PID() int {
	if c := chromedp.FromContext(b.ctx); c != nil && c.Browser != nil {
		if p := c.Browser.Process(); p != nil {
			return p.Pid
		}
	}
	return 0
}

// Close stops the browser and removes its profile.
func (b *bareBrowser) Close() error {
	b.cancel()
	b.allocCancel()
	return os.RemoveAll(b.dir)
}

// shoot navigates the tab of ctx to url, waits for the load event and
// takes a PNG screenshot of the viewport.
func shoot(ctx context.Context, url string) ([]byte, error) {
	navigate := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, page.Navigate, page.NavigateParams{URL: url})
		if err != nil {
			return fmt.Errorf("navigate: %w", err)
		}
		if res.ErrorText != "" {
			return fmt.Errorf("navigate: %s", res.ErrorText)
		}
		return nil
	})
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, navigate)); err != nil {
		return nil, err
	}
	res, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatPng})
	if err != nil {
		return nil, fmt.Errorf("screenshot: %w", err)
	}
	return res.Data, nil
}

// reusedTab is variant (a): one long-lived tab per worker, navigated
// again for every capture.
type reusedTab struct {
	*bareBrowser
	url     string
	tabs    []context.Context
	cancels []context.CancelFunc
}

func startReusedTab(ctx context.Context, execPath, url string, conc int) (*reusedTab, error) {
	b, err := startBare(ctx, execPath)
	if err != nil {
		return nil, err
	}
	// Worker 0 uses the browser's first tab, so that at concurrency 1 the
	// browser has exactly one tab.
	v := &reusedTab{bareBrowser: b, url: url, tabs: []context.Context{b.ctx}}
	for range conc - 1 {
		tctx, cancel := chromedp.NewContext(b.ctx)
		v.tabs = append(v.tabs, tctx)
		v.cancels = append(v.cancels, cancel)
		if err := chromedp.Do(tctx); err != nil {
			return nil, errors.Join(fmt.Errorf("open tab: %w", err), v.Close())
		}
	}
	return v, nil
}

func (v *reusedTab) Name() string { return "reused-tab" }

func (v *reusedTab) Capture(ctx context.Context, worker int) ([]byte, error) {
	tctx, cancel := boundContext(ctx, v.tabs[worker])
	defer cancel()
	return shoot(tctx, v.url)
}

// Close closes the tabs and the browser.
func (v *reusedTab) Close() error {
	for _, cancel := range v.cancels {
		cancel()
	}
	return v.bareBrowser.Close()
}

// newContext is variant (b): a new browser context and tab per capture.
type newContext struct {
	*bareBrowser
	url string
}

func startNewContext(ctx context.Context, execPath, url string) (*newContext, error) {
	b, err := startBare(ctx, execPath)
	if err != nil {
		return nil, err
	}
	return &newContext{bareBrowser: b, url: url}, nil
}

func (v *newContext) Name() string { return "new-context" }

func (v *newContext) Capture(ctx context.Context, worker int) ([]byte, error) {
	// The tab's context is bounded: the first action on a chromedp context
	// binds the tab to the context it gets.
	parent, cancelParent := boundContext(ctx, v.ctx)
	defer cancelParent()
	tctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	data, err := shoot(tctx, v.url)
	// Cancel closes the tab and disposes of the browser context; it
	// returns once both are done, and the capture counts after it.
	cancel()
	return data, err
}

// boundContext returns a context derived from the chromedp context cdpCtx
// (so actions on it use cdpCtx's tab) that also ends with ctx and after
// the capture timeout. Canceling it does not close an attached tab.
func boundContext(ctx, cdpCtx context.Context) (context.Context, context.CancelFunc) {
	cctx, cancel := context.WithTimeout(cdpCtx, timeout)
	stop := context.AfterFunc(ctx, cancel)
	return cctx, func() {
		stop()
		cancel()
	}
}
