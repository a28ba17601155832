package chromium

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/auditshot/auditshot"
)

// htmlOrigin is the synthetic origin an "html" capture is served from. The
// document is answered from memory by request interception; nothing is
// ever sent to it (.invalid never resolves).
const htmlOrigin = "http://html.auditshot.invalid"

// Capture implements auditshot.CaptureService.
func (e *Engine) Capture(ctx context.Context, opts auditshot.CaptureOptions, policy auditshot.CapturePolicy) (*auditshot.CaptureResult, error) {
	start := e.now()
	o, err := opts.Normalize(policy)
	if err != nil {
		return nil, err
	}
	if o.HTML != "" && (len(o.Headers) > 0 || o.BasicAuth != nil) {
		return nil, auditshot.Errorf(auditshot.EINVALID, "headers: headers and basic_auth need a url, not html")
	}
	release, err := e.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	queued := e.now().Sub(start)
	for attempt := 0; ; attempt++ {
		res, err := e.captureOnce(ctx, o, policy, start, queued)
		if err != nil && attempt == 0 && errors.Is(err, errBrowserGone) && ctx.Err() == nil {
			e.log.Warn("browser died during a capture; retrying on a new browser", "err", err)
			continue
		}
		if err == nil {
			e.stats.captures.Add(1)
		}
		return res, err
	}
}

func (e *Engine) captureOnce(ctx context.Context, o auditshot.CaptureOptions, policy auditshot.CapturePolicy, start time.Time, queued time.Duration) (*auditshot.CaptureResult, error) {
	c, end, err := e.begin(ctx, o, policy, start, queued, o.TimeoutDuration())
	if err != nil {
		return nil, err
	}
	defer end()
	res, err := c.run()
	if err != nil {
		return nil, c.failed(ctx, err, "capture", o.TimeoutDuration())
	}
	res.Evidence.Timings.TotalMS = ms(e.now().Sub(start))
	return res, nil
}

// begin takes a fresh isolated context of the current browser for one
// capture or flow, arms its egress session with policy, checks o.URL, and
// returns the capture's state bound to a context that ends limit plus
// DefaultCaptureGrace from now (or with ctx). end gives the context back.
func (e *Engine) begin(ctx context.Context, o auditshot.CaptureOptions, policy auditshot.CapturePolicy, start time.Time, queued, limit time.Duration) (c *capture, end func(), err error) {
	b, err := e.currentBrowser(ctx)
	if err != nil {
		return nil, nil, err
	}
	tctx := e.now()
	s, err := b.take(ctx)
	if err != nil {
		if !b.alive() {
			return nil, nil, fmt.Errorf("%w: %w", errBrowserGone, err)
		}
		return nil, nil, &auditshot.Error{Code: auditshot.EUNAVAILABLE, Message: "could not open an isolated browser context", Err: err}
	}
	var cancel context.CancelFunc = func() {}
	stop := func() bool { return false }
	release := func() {
		stop()
		cancel()
		s.dispose()
		b.flight.Done()
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	b.served.Add(1)
	if err := s.egress.Arm(policy.Egress); err != nil {
		return nil, nil, err
	}
	c = &capture{e: e, b: b, s: s, o: o, rec: s.rec}
	c.ev.StartedAt = start
	c.ev.RequestedURL = o.URL
	c.ev.Options = o.Redacted()
	c.ev.BrowserVersion = b.version
	c.ev.Timings.QueueMS = ms(queued)
	c.ev.Timings.ContextMS = ms(e.now().Sub(tctx))
	if o.URL != "" {
		if err := s.egress.Check(ctx, o.URL); err != nil {
			return nil, nil, err
		}
	}
	// The page (or the steps) have limit; taking pixels and evidence gets a
	// grace period after that.
	c.ctx, cancel = context.WithTimeout(s.ctx, limit+DefaultCaptureGrace)
	stop = context.AfterFunc(ctx, cancel)
	c.waitDeadline = e.now().Add(limit)
	return c, release, nil
}

// failed maps the error of a capture's or flow's run: a dead browser is
// errBrowserGone (the caller may retry), a cancelled caller its ctx's
// error, and an untyped failure after the time allowed ETIMEOUT.
func (c *capture) failed(ctx context.Context, err error, what string, limit time.Duration) error {
	if !c.b.alive() {
		return fmt.Errorf("%w: %w", errBrowserGone, err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ae *auditshot.Error
	if !errors.As(err, &ae) && c.ctx.Err() != nil {
		return &auditshot.Error{Code: auditshot.ETIMEOUT, Message: fmt.Sprintf("%s did not finish within %d ms", what,
			(limit+DefaultCaptureGrace)/time.Millisecond), Err: err}
	}
	return err
}

// capture is the state of one capture in its slot.
type capture struct {
	e            *Engine
	b            *browser
	s            *slot
	o            auditshot.CaptureOptions
	rec          *recorder
	ctx          context.Context
	waitDeadline time.Time
	ev           auditshot.Evidence
}

func (c *capture) run() (*auditshot.CaptureResult, error) {
	if err := c.setup(); err != nil {
		return nil, fmt.Errorf("set up page: %w", err)
	}
	t := c.e.now()
	if err := c.navigate(); err != nil {
		return nil, err
	}
	c.ev.Timings.NavigationMS = ms(c.e.now().Sub(t))
	t = c.e.now()
	if err := c.wait(); err != nil {
		return nil, err
	}
	if err := c.refusedDocument(); err != nil {
		return nil, err
	}
	c.ev.Timings.WaitMS = ms(c.e.now().Sub(t))
	t = c.e.now()
	if err := c.preparePixels(); err != nil {
		return nil, err
	}
	// The DOM snapshot is taken by the renderer while the browser takes
	// the pixels, and the blank check runs in Go meanwhile. With masks, the
	// masked elements' content is removed from the DOM once the pixels are
	// taken and the snapshot comes after, so it does not hold what the
	// masks hide.
	var dom []byte
	var domErr error
	snapshot := func() { dom, domErr = c.snapshotDOM() }
	masked := len(c.o.MaskSelectors) > 0
	var wg sync.WaitGroup
	if !masked {
		wg.Go(snapshot)
	}
	data, mediaType, err := c.take()
	isBlank := false
	if err == nil && c.o.Format != auditshot.FormatPDF {
		isBlank, c.ev.Width, c.ev.Height = blank(data)
	}
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if isBlank {
		// A blank frame is often a page that has not painted yet: try once
		// more, then record what was seen.
		c.settle()
		if again, _, err := c.take(); err == nil {
			data = again
			isBlank, c.ev.Width, c.ev.Height = blank(data)
		}
		c.ev.Blank = isBlank
	}
	if masked {
		if err := c.redactDOM(); err != nil {
			return nil, err
		}
		snapshot()
	}
	if domErr != nil {
		return nil, domErr
	}
	c.collect()
	c.ev.Timings.CaptureMS = ms(c.e.now().Sub(t))
	return &auditshot.CaptureResult{Data: data, MediaType: mediaType, DOM: dom, Evidence: c.ev}, nil
}

// navigate loads the URL (or the HTML) and returns once the main document
// has committed.
func (c *capture) navigate() error {
	target := c.o.URL
	if c.o.HTML != "" {
		target = htmlOrigin + "/"
	}
	return c.navigateTo(target, c.waitDeadline)
}

// navigateTo loads target and returns once its main document has committed
// or deadline has passed.
func (c *capture) navigateTo(target string, deadline time.Time) error {
	nctx, cancel := context.WithDeadline(c.ctx, deadline)
	defer cancel()
	res, err := chromedp.Call(nctx, page.Navigate, page.NavigateParams{URL: target})
	if err != nil {
		if nctx.Err() != nil && c.ctx.Err() == nil {
			if refused := c.refusal(target); refused != nil {
				return refused
			}
			return &auditshot.Error{Code: auditshot.ETIMEOUT, Message: fmt.Sprintf("navigation to %s did not commit within %d ms", target, c.o.Timeout), Err: err}
		}
		return fmt.Errorf("navigate: %w", err)
	}
	if res.ErrorText != "" {
		if refused := c.refusal(target); refused != nil {
			return refused
		}
		return &auditshot.Error{Code: auditshot.EUPSTREAM, Message: fmt.Sprintf("navigation to %s failed: %s", target, res.ErrorText)}
	}
	if res.IsDownload {
		c.rec.refuse("download", target)
		return auditshot.Errorf(auditshot.EINVALID, "url: %s is a download, not a page", target)
	}
	c.rec.mu.Lock()
	c.rec.mainFrame = res.FrameID
	if res.LoaderID != c.rec.loader {
		c.rec.loader = res.LoaderID
		c.rec.lifecycle = map[string]bool{}
	}
	c.rec.mu.Unlock()
	return nil
}

// refusal returns an EFORBIDDEN error when the egress policy refused the
// main document target (directly or after a redirect), or nil.
func (c *capture) refusal(target string) error {
	reqs, _, _, _, _ := c.rec.snapshot()
	docs := map[string]bool{target: true, hostPort(target): true}
	for _, q := range reqs {
		if q.ResourceType == string(network.ResourceTypeDocument) {
			docs[q.URL], docs[hostPort(q.URL)] = true, true
		}
	}
	for _, r := range c.s.egress.Records() {
		if r.Blocked != "" && docs[r.URL] {
			return refusedError(r)
		}
	}
	return nil
}

func refusedError(r auditshot.EgressRecord) error {
	return &auditshot.Error{Code: auditshot.EFORBIDDEN, Message: fmt.Sprintf("egress policy refused %s: rule %q", r.URL, r.Blocked)}
}

// refusedDocument reports a main document that ended on a page the egress
// proxy refused (after redirects), which would otherwise be captured as the
// proxy's error page.
func (c *capture) refusedDocument() error {
	_, _, _, _, doc := c.rec.snapshot()
	if doc == nil {
		return nil
	}
	for _, r := range c.s.egress.Records() {
		if r.Blocked != "" && (r.URL == doc.URL || r.URL == hostPort(doc.URL)) {
			return refusedError(r)
		}
	}
	return nil
}

// eval evaluates a JavaScript expression in the page, awaiting a promise,
// and decodes the JSON result into T.
func eval[T any](ctx context.Context, expr string) (T, error) {
	var zero T
	res, err := chromedp.Call(ctx, runtime.Evaluate, runtime.EvaluateParams{
		Expression:    expr,
		ReturnByValue: new(true),
		AwaitPromise:  new(true),
		UserGesture:   new(false),
	})
	if err != nil {
		return zero, err
	}
	if res.ExceptionDetails != nil {
		msg := res.ExceptionDetails.Text
		if res.ExceptionDetails.Exception != nil && res.ExceptionDetails.Exception.Description != "" {
			msg = res.ExceptionDetails.Exception.Description
		}
		return zero, &scriptError{msg: msg}
	}
	if res.Result == nil || len(res.Result.Value) == 0 {
		return zero, nil
	}
	var v T
	if err := unmarshal(res.Result.Value, &v); err != nil {
		return zero, fmt.Errorf("decode script result: %w", err)
	}
	return v, nil
}

type scriptError struct{ msg string }

func (e *scriptError) Error() string { return "script error: " + e.msg }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
