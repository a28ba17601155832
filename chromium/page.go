package chromium

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/auditshot/auditshot"
)

// networkIdleQuiet is how long the network must be quiet for
// wait_until=networkidle when Chromium's own signal is late.
const networkIdleQuiet = 500 * time.Millisecond

// setup applies the emulation, headers, cookies and interception the
// options ask for, before navigating.
func (c *capture) setup() error {
	o, ctx := c.o, c.ctx
	dev := auditshot.Devices[o.Device]
	if m := (metrics{o.Width, o.Height, o.DeviceScaleFactor, dev.Mobile}); m != defaultMetrics {
		if err := m.apply(ctx); err != nil {
			return err
		}
	}
	if dev.Touch {
		if _, err := chromedp.Call(ctx, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: true, MaxTouchPoints: 5}); err != nil {
			return fmt.Errorf("touch: %w", err)
		}
	}
	if o.UserAgent != "" || o.Locale != "" {
		ua := o.UserAgent
		if ua == "" {
			ua = c.b.userAgent()
		}
		if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: o.Locale}); err != nil {
			return fmt.Errorf("user agent: %w", err)
		}
	}
	if o.Locale != "" {
		if _, err := chromedp.Call(ctx, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: o.Locale}); err != nil {
			return auditshot.Errorf(auditshot.EINVALID, "locale: %q is not supported by the browser", o.Locale)
		}
	}
	if o.Timezone != "" {
		if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: o.Timezone}); err != nil {
			return auditshot.Errorf(auditshot.EINVALID, "timezone: %q is not supported by the browser", o.Timezone)
		}
	}
	// The browser's defaults are screen, light and no motion preference;
	// emulate only what differs.
	if o.MediaType != "" || o.DarkMode || o.ReducedMotion || o.Format == auditshot.FormatPDF {
		media := emulation.SetEmulatedMediaParams{Media: o.MediaType}
		if o.Format == auditshot.FormatPDF && o.MediaType == "" {
			media.Media = "print"
		}
		scheme, motion := "light", "no-preference"
		if o.DarkMode {
			scheme = "dark"
		}
		if o.ReducedMotion {
			motion = "reduce"
		}
		media.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}, {Name: "prefers-reduced-motion", Value: motion}}
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, media); err != nil {
			return fmt.Errorf("media: %w", err)
		}
	}
	if len(o.Cookies) > 0 {
		if err := c.setCookies(); err != nil {
			return err
		}
	}
	return c.intercept()
}

// metrics is a viewport emulation.
type metrics struct {
	width, height int
	scale         float64
	mobile        bool
}

// defaultMetrics is the viewport every prepared tab starts with, so that
// captures with the default options need no emulation call.
var defaultMetrics = metrics{auditshot.DefaultWidth, auditshot.DefaultHeight, 1, false}

func (m metrics) apply(ctx context.Context) error {
	_, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: int64(m.width), Height: int64(m.height), DeviceScaleFactor: m.scale, Mobile: m.mobile,
		ScreenWidth: int64(m.width), ScreenHeight: int64(m.height),
	})
	if err != nil {
		return fmt.Errorf("viewport: %w", err)
	}
	return nil
}

func (c *capture) setCookies() error {
	params := network.SetCookiesParams{}
	for _, k := range c.o.Cookies {
		p := &network.CookieParam{Name: k.Name, Value: k.Value, Domain: k.Domain, Path: k.Path, Secure: k.Secure, HTTPOnly: k.HTTPOnly}
		if k.Domain == "" {
			p.URL = c.o.URL
		}
		switch strings.ToLower(k.SameSite) {
		case "strict":
			p.SameSite = network.CookieSameSiteStrict
		case "lax":
			p.SameSite = network.CookieSameSiteLax
		case "none":
			p.SameSite = network.CookieSameSiteNone
		}
		params.Cookies = append(params.Cookies, p)
	}
	if _, err := chromedp.Call(c.ctx, network.SetCookies, params); err != nil {
		return auditshot.Errorf(auditshot.EINVALID, "cookies: the browser refused them: %v", err)
	}
	return nil
}

// intercept turns on request interception when the capture needs it: to
// serve "html" from memory, and to give headers and basic auth credentials
// to the requested origin only (never to third parties).
func (c *capture) intercept() error {
	o := c.o
	if o.HTML == "" && len(o.Headers) == 0 && o.BasicAuth == nil {
		return nil
	}
	origin := htmlOrigin
	if o.URL != "" {
		origin = originOf(o.URL)
	}
	handler := func(ctx context.Context, ev any) {
		switch ev := ev.(type) {
		case *fetch.EventRequestPaused:
			c.paused(ctx, origin, ev)
		case *fetch.EventAuthRequired:
			resp := &fetch.AuthChallengeResponse{Response: fetch.AuthChallengeResponseResponseCancelAuth}
			if o.BasicAuth != nil && ev.AuthChallenge != nil && ev.AuthChallenge.Source != fetch.AuthChallengeSourceProxy &&
				originOf(ev.Request.URL) == origin {
				resp = &fetch.AuthChallengeResponse{Response: fetch.AuthChallengeResponseResponseProvideCredentials, Username: o.BasicAuth.Username, Password: o.BasicAuth.Password}
			}
			_, _ = chromedp.Call(ctx, fetch.ContinueWithAuth, fetch.ContinueWithAuthParams{RequestID: ev.RequestID, AuthChallengeResponse: resp})
		}
	}
	c.s.fetch.Store(&handler)
	patterns := []*fetch.RequestPattern{{URLPattern: "*"}}
	if o.HTML != "" {
		patterns = []*fetch.RequestPattern{{URLPattern: htmlOrigin + "/*"}}
	}
	_, err := chromedp.Call(c.ctx, fetch.Enable, fetch.EnableParams{Patterns: patterns, HandleAuthRequests: new(o.BasicAuth != nil)})
	return err
}

func (c *capture) paused(ctx context.Context, origin string, ev *fetch.EventRequestPaused) {
	u := ev.Request.URL
	if c.o.HTML != "" && strings.HasPrefix(u, htmlOrigin+"/") {
		if u == htmlOrigin+"/" {
			_, _ = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID: ev.RequestID, ResponseCode: 200,
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/html; charset=utf-8"}},
				Body:            []byte(c.o.HTML),
			})
			return
		}
		_, _ = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID, ResponseCode: 404, Body: []byte("not found")})
		return
	}
	p := fetch.ContinueRequestParams{RequestID: ev.RequestID}
	if len(c.o.Headers) > 0 && originOf(u) == origin {
		for k, v := range ev.Request.Headers {
			if _, ok := c.o.Headers[k]; ok {
				continue
			}
			p.Headers = append(p.Headers, &fetch.HeaderEntry{Name: k, Value: fmt.Sprint(v)})
		}
		for k, v := range c.o.Headers {
			p.Headers = append(p.Headers, &fetch.HeaderEntry{Name: k, Value: v})
		}
	}
	_, _ = chromedp.Call(ctx, fetch.ContinueRequest, p)
}

// wait waits for the lifecycle event, wait_for, fonts and delay. A timeout
// is recorded as a best attempt, or returned as ETIMEOUT when strict.
func (c *capture) wait() error {
	o := c.o
	c.ev.Wait.Until = o.WaitUntil
	wctx, cancel := context.WithDeadline(c.ctx, c.waitDeadline)
	defer cancel()
	timedOut := func(what string) error {
		if o.Strict {
			return &auditshot.Error{Code: auditshot.ETIMEOUT, Message: fmt.Sprintf("page did not reach %s within %d ms (strict)", what, o.Timeout)}
		}
		c.ev.Wait.BestAttempt = true
		c.ev.Wait.TimedOut = what
		return nil
	}
	if !c.waitLifecycle(wctx) {
		if c.ctx.Err() != nil {
			return c.ctx.Err()
		}
		if err := timedOut(o.WaitUntil); err != nil {
			return err
		}
	}
	if o.WaitFor != "" && !c.ev.Wait.BestAttempt {
		found, err := eval[bool](wctx, waitForJS(o.WaitFor, time.Until(c.waitDeadline)))
		if err != nil && wctx.Err() == nil {
			return auditshot.Errorf(auditshot.EINVALID, "wait_for: %v", err)
		}
		if !found {
			if err := timedOut("wait_for"); err != nil {
				return err
			}
		}
	}
	c.ev.Wait.Reached = !c.ev.Wait.BestAttempt
	// Fonts get their own short budget, so a best attempt still waits.
	fctx, fcancel := context.WithTimeout(c.ctx, max(time.Until(c.waitDeadline), 2*time.Second))
	defer fcancel()
	ready, _ := eval[bool](fctx, `document.fonts.ready.then(() => true)`)
	c.ev.Wait.FontsReady = ready
	if d := o.DelayDuration(); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.ctx.Done():
			return c.ctx.Err()
		}
	}
	return nil
}

// waitLifecycle waits for the main document's lifecycle event.
func (c *capture) waitLifecycle(ctx context.Context) bool {
	name := map[string]string{
		auditshot.WaitLoad:             "load",
		auditshot.WaitDOMContentLoaded: "DOMContentLoaded",
		auditshot.WaitNetworkIdle:      "networkIdle",
	}[c.o.WaitUntil]
	for {
		changed := c.rec.wait()
		if c.rec.reached(name) {
			return true
		}
		var quiet <-chan time.Time
		if c.o.WaitUntil == auditshot.WaitNetworkIdle && c.rec.reached("load") {
			// Chromium's networkIdle ignores nothing; accept 500 ms of
			// no requests in flight after load as the same signal.
			q := c.rec.quietFor()
			if q >= networkIdleQuiet {
				return true
			}
			t := time.NewTimer(networkIdleQuiet - q)
			defer t.Stop()
			quiet = t.C
		}
		select {
		case <-changed:
		case <-quiet:
		case <-ctx.Done():
			return false
		}
	}
}

func waitForJS(sel string, d time.Duration) string {
	s, _ := json.Marshal(sel)
	return fmt.Sprintf(`new Promise((resolve, reject) => {
  const sel = %s;
  const found = () => { try { return !!document.querySelector(sel); } catch (e) { reject(e); return false; } };
  if (found()) return resolve(true);
  const obs = new MutationObserver(() => { if (found()) { obs.disconnect(); resolve(true); } });
  obs.observe(document, {childList: true, subtree: true, attributes: true});
  setTimeout(() => { obs.disconnect(); resolve(found()); }, %d);
})`, s, max(d.Milliseconds(), 1))
}

func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// hostPort returns host:port of a URL, the form a CONNECT tunnel has.
func hostPort(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "https", "wss":
			port = "443"
		default:
			port = "80"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func unmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
