package auditshot

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Capture formats.
const (
	FormatPNG  = "png"
	FormatJPEG = "jpeg"
	FormatWebP = "webp"
	FormatPDF  = "pdf"
)

// Wait conditions for WaitUntil.
const (
	WaitLoad             = "load"
	WaitDOMContentLoaded = "domcontentloaded"
	WaitNetworkIdle      = "networkidle"
)

// Limits and defaults of capture options.
const (
	DefaultWidth       = 1280
	DefaultHeight      = 800
	DefaultTimeout     = 30 * time.Second
	MaxTimeout         = 120 * time.Second
	MaxDelay           = 30 * time.Second
	MaxViewportSide    = 8192
	DefaultMaxHeight   = 32768
	MaxFullPageHeight  = 65536
	MaxSelectors       = 64
	MaxCSSBytes        = 256 << 10
	MaxJSBytes         = 256 << 10
	MaxHTMLBytes       = 8 << 20
	DefaultJPEGQuality = 90
	MaxHeaders         = 64
	MaxCookies         = 64
)

// Device is a viewport preset.
type Device struct {
	Name              string
	Width, Height     int
	DeviceScaleFactor float64
	Mobile            bool
	Touch             bool
	UserAgent         string
}

// Devices are the named presets accepted in CaptureOptions.Device.
var Devices = map[string]Device{
	"desktop": {Name: "desktop", Width: 1920, Height: 1080, DeviceScaleFactor: 1},
	"laptop":  {Name: "laptop", Width: 1366, Height: 768, DeviceScaleFactor: 1},
	"iphone-15": {Name: "iphone-15", Width: 393, Height: 852, DeviceScaleFactor: 3, Mobile: true, Touch: true,
		UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"},
	"pixel-8": {Name: "pixel-8", Width: 412, Height: 915, DeviceScaleFactor: 2.625, Mobile: true, Touch: true,
		UserAgent: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"},
	"ipad": {Name: "ipad", Width: 820, Height: 1180, DeviceScaleFactor: 2, Mobile: true, Touch: true,
		UserAgent: "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"},
}

// Rect is a rectangle in CSS pixels of the page.
type Rect struct {
	X      float64 `json:"x"`
	Y      float64 `json:"y"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// Cookie is a cookie set before the page loads.
type Cookie struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Domain   string `json:"domain,omitempty"`
	Path     string `json:"path,omitempty"`
	Secure   bool   `json:"secure,omitempty"`
	HTTPOnly bool   `json:"http_only,omitempty"`
	SameSite string `json:"same_site,omitempty"`
}

// BasicAuth answers HTTP basic authentication challenges.
type BasicAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// PDFOptions are the paper options of a PDF capture.
type PDFOptions struct {
	// Paper is a size name: a4, a3, a5, letter, legal, tabloid. Default a4.
	Paper           string  `json:"paper,omitempty"`
	Landscape       bool    `json:"landscape,omitempty"`
	PrintBackground bool    `json:"print_background,omitempty"`
	Scale           float64 `json:"scale,omitempty"`
	// Margin is the margin on every side, in inches.
	Margin     *float64 `json:"margin,omitempty"`
	PageRanges string   `json:"page_ranges,omitempty"`
}

// CaptureOptions describe one capture. JSON names are the API's.
// Durations (Timeout, Delay) are in milliseconds.
type CaptureOptions struct {
	URL  string `json:"url,omitempty"`
	HTML string `json:"html,omitempty"`

	Width             int     `json:"width,omitempty"`
	Height            int     `json:"height,omitempty"`
	Device            string  `json:"device,omitempty"`
	DeviceScaleFactor float64 `json:"device_scale_factor,omitempty"`

	FullPage  bool   `json:"full_page,omitempty"`
	MaxHeight int    `json:"max_height,omitempty"`
	Selector  string `json:"selector,omitempty"`
	Clip      *Rect  `json:"clip,omitempty"`

	Format         string `json:"format,omitempty"`
	Quality        int    `json:"quality,omitempty"`
	OmitBackground bool   `json:"omit_background,omitempty"`

	DarkMode      bool   `json:"dark_mode,omitempty"`
	ReducedMotion bool   `json:"reduced_motion,omitempty"`
	MediaType     string `json:"media_type,omitempty"`
	Timezone      string `json:"timezone,omitempty"`
	Locale        string `json:"locale,omitempty"`
	UserAgent     string `json:"user_agent,omitempty"`

	Headers   map[string]string `json:"headers,omitempty"`
	Cookies   []Cookie          `json:"cookies,omitempty"`
	BasicAuth *BasicAuth        `json:"basic_auth,omitempty"`

	WaitUntil string `json:"wait_until,omitempty"`
	Timeout   int    `json:"timeout,omitempty"`
	Strict    bool   `json:"strict,omitempty"`
	WaitFor   string `json:"wait_for,omitempty"`
	Delay     int    `json:"delay,omitempty"`

	HideSelectors []string `json:"hide_selectors,omitempty"`
	MaskSelectors []string `json:"mask_selectors,omitempty"`
	CSS           string   `json:"css,omitempty"`
	JS            string   `json:"js,omitempty"`

	PDF *PDFOptions `json:"pdf,omitempty"`
}

// CapturePolicy is what the caller's tenant allows a capture to do.
type CapturePolicy struct {
	Egress EgressPolicy `json:"egress"`
	// AllowScripts permits CaptureOptions.JS.
	AllowScripts bool `json:"allow_scripts"`
}

// PDF paper sizes in inches (width, height).
var PaperSizes = map[string][2]float64{
	"a3": {11.69, 16.54}, "a4": {8.27, 11.69}, "a5": {5.83, 8.27},
	"letter": {8.5, 11}, "legal": {8.5, 14}, "tabloid": {11, 17},
}

// Normalize validates o and returns a copy with defaults applied: the
// effective options. Errors are *Error with code EINVALID naming the field.
func (o CaptureOptions) Normalize(policy CapturePolicy) (CaptureOptions, error) {
	bad := func(field, format string, args ...any) (CaptureOptions, error) {
		return CaptureOptions{}, Errorf(EINVALID, field+": "+format, args...)
	}
	switch {
	case o.URL == "" && o.HTML == "":
		return bad("url", "one of url or html is required")
	case o.URL != "" && o.HTML != "":
		return bad("url", "give url or html, not both")
	case len(o.HTML) > MaxHTMLBytes:
		return bad("html", "larger than %d bytes", MaxHTMLBytes)
	}
	if o.URL != "" {
		u, err := url.Parse(o.URL)
		if err != nil {
			return bad("url", "not a valid URL: %v", err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return bad("url", "scheme %q is not allowed: only http and https", u.Scheme)
		}
		if u.Host == "" || u.Hostname() == "" {
			return bad("url", "has no host")
		}
	}
	if o.Device != "" {
		d, ok := Devices[o.Device]
		if !ok {
			return bad("device", "unknown device %q (known: %s)", o.Device, strings.Join(DeviceNames(), ", "))
		}
		if o.Width == 0 {
			o.Width = d.Width
		}
		if o.Height == 0 {
			o.Height = d.Height
		}
		if o.DeviceScaleFactor == 0 {
			o.DeviceScaleFactor = d.DeviceScaleFactor
		}
		if o.UserAgent == "" {
			o.UserAgent = d.UserAgent
		}
	}
	if o.Width == 0 {
		o.Width = DefaultWidth
	}
	if o.Height == 0 {
		o.Height = DefaultHeight
	}
	if o.Width < 1 || o.Width > MaxViewportSide {
		return bad("width", "must be between 1 and %d", MaxViewportSide)
	}
	if o.Height < 1 || o.Height > MaxViewportSide {
		return bad("height", "must be between 1 and %d", MaxViewportSide)
	}
	if o.DeviceScaleFactor == 0 {
		o.DeviceScaleFactor = 1
	}
	if o.DeviceScaleFactor < 1 || o.DeviceScaleFactor > 3 {
		return bad("device_scale_factor", "must be between 1 and 3")
	}
	if o.MaxHeight == 0 {
		o.MaxHeight = DefaultMaxHeight
	}
	if o.MaxHeight < 1 || o.MaxHeight > MaxFullPageHeight {
		return bad("max_height", "must be between 1 and %d", MaxFullPageHeight)
	}
	if o.Clip != nil {
		c := o.Clip
		if c.Width <= 0 || c.Height <= 0 || c.X < 0 || c.Y < 0 {
			return bad("clip", "needs x, y >= 0 and width, height > 0")
		}
		if o.Selector != "" {
			return bad("clip", "give clip or selector, not both")
		}
	}
	if o.Format == "" {
		o.Format = FormatPNG
	}
	switch o.Format {
	case FormatPNG, FormatPDF:
		if o.Quality != 0 {
			return bad("quality", "only applies to jpeg and webp")
		}
	case FormatJPEG, FormatWebP:
		if o.Quality == 0 {
			o.Quality = DefaultJPEGQuality
		}
		if o.Quality < 1 || o.Quality > 100 {
			return bad("quality", "must be between 1 and 100")
		}
		if o.OmitBackground {
			return bad("omit_background", "needs a format with transparency (png or webp)")
		}
	default:
		return bad("format", "unknown format %q (png, jpeg, webp, pdf)", o.Format)
	}
	if o.PDF != nil && o.Format != FormatPDF {
		return bad("pdf", "paper options need format pdf")
	}
	if o.Format == FormatPDF {
		if o.FullPage || o.Selector != "" || o.Clip != nil {
			return bad("format", "pdf cannot be combined with full_page, selector or clip")
		}
		p := PDFOptions{}
		if o.PDF != nil {
			p = *o.PDF
		}
		if p.Paper == "" {
			p.Paper = "a4"
		}
		p.Paper = strings.ToLower(p.Paper)
		if _, ok := PaperSizes[p.Paper]; !ok {
			return bad("pdf.paper", "unknown paper %q", p.Paper)
		}
		if p.Scale == 0 {
			p.Scale = 1
		}
		if p.Scale < 0.1 || p.Scale > 2 {
			return bad("pdf.scale", "must be between 0.1 and 2")
		}
		if p.Margin != nil && (*p.Margin < 0 || *p.Margin > 3) {
			return bad("pdf.margin", "must be between 0 and 3 inches")
		}
		o.PDF = &p
	}
	switch o.MediaType {
	case "", "screen", "print":
	default:
		return bad("media_type", "must be screen or print")
	}
	if o.Timezone != "" && !validTimezone(o.Timezone) {
		return bad("timezone", "%q is not an IANA time zone", o.Timezone)
	}
	if o.Locale != "" && !validLocale(o.Locale) {
		return bad("locale", "%q is not a BCP 47 language tag", o.Locale)
	}
	if len(o.Headers) > MaxHeaders {
		return bad("headers", "at most %d", MaxHeaders)
	}
	for k, v := range o.Headers {
		if !validHeaderName(k) || strings.ContainsAny(v, "\r\n\x00") {
			return bad("headers", "invalid header %q", k)
		}
		switch strings.ToLower(k) {
		case "host", "content-length", "connection", "proxy-authorization", "transfer-encoding":
			return bad("headers", "header %q may not be set", k)
		}
	}
	if len(o.Cookies) > MaxCookies {
		return bad("cookies", "at most %d", MaxCookies)
	}
	for i, c := range o.Cookies {
		if c.Name == "" {
			return bad("cookies", "cookie %d has no name", i)
		}
		if c.Domain == "" && o.URL == "" {
			return bad("cookies", "cookie %q needs a domain when capturing html", c.Name)
		}
	}
	if o.BasicAuth != nil && o.BasicAuth.Username == "" {
		return bad("basic_auth", "username is required")
	}
	if o.WaitUntil == "" {
		o.WaitUntil = WaitLoad
	}
	switch o.WaitUntil {
	case WaitLoad, WaitDOMContentLoaded, WaitNetworkIdle:
	default:
		return bad("wait_until", "must be load, domcontentloaded or networkidle")
	}
	if o.Timeout == 0 {
		o.Timeout = int(DefaultTimeout / time.Millisecond)
	}
	if o.Timeout < 100 || time.Duration(o.Timeout)*time.Millisecond > MaxTimeout {
		return bad("timeout", "must be between 100 and %d ms", MaxTimeout/time.Millisecond)
	}
	if o.Delay < 0 || time.Duration(o.Delay)*time.Millisecond > MaxDelay {
		return bad("delay", "must be between 0 and %d ms", MaxDelay/time.Millisecond)
	}
	if len(o.HideSelectors)+len(o.MaskSelectors) > MaxSelectors {
		return bad("mask_selectors", "at most %d selectors in all", MaxSelectors)
	}
	for _, s := range slices.Concat(o.HideSelectors, o.MaskSelectors, []string{o.Selector, o.WaitFor}) {
		if len(s) > 1024 {
			return bad("selector", "selector longer than 1024 bytes")
		}
	}
	if len(o.CSS) > MaxCSSBytes {
		return bad("css", "larger than %d bytes", MaxCSSBytes)
	}
	if o.JS != "" && !policy.AllowScripts {
		return CaptureOptions{}, Errorf(EFORBIDDEN, "js: the policy of this caller does not allow scripts")
	}
	if len(o.JS) > MaxJSBytes {
		return bad("js", "larger than %d bytes", MaxJSBytes)
	}
	return o, nil
}

// TimeoutDuration returns Timeout as a time.Duration.
func (o CaptureOptions) TimeoutDuration() time.Duration {
	return time.Duration(o.Timeout) * time.Millisecond
}

// DelayDuration returns Delay as a time.Duration.
func (o CaptureOptions) DelayDuration() time.Duration {
	return time.Duration(o.Delay) * time.Millisecond
}

// Redacted returns a copy of o that is safe to store and log: header values,
// cookie values and the basic auth password are replaced, the HTML body is
// left out (it is stored as an artifact if at all).
func (o CaptureOptions) Redacted() CaptureOptions {
	const hidden = "[redacted]"
	if len(o.Headers) > 0 {
		h := make(map[string]string, len(o.Headers))
		for k := range o.Headers {
			h[k] = hidden
		}
		o.Headers = h
	}
	if len(o.Cookies) > 0 {
		cs := slices.Clone(o.Cookies)
		for i := range cs {
			cs[i].Value = hidden
		}
		o.Cookies = cs
	}
	if o.BasicAuth != nil {
		o.BasicAuth = &BasicAuth{Username: o.BasicAuth.Username, Password: hidden}
	}
	if o.HTML != "" {
		o.HTML = hidden
	}
	return o
}

// DeviceNames returns the device preset names, sorted.
func DeviceNames() []string {
	names := make([]string, 0, len(Devices))
	for n := range Devices {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func validTimezone(tz string) bool {
	if len(tz) > 64 || strings.Contains(tz, "..") {
		return false
	}
	_, err := time.LoadLocation(tz)
	return err == nil
}

func validLocale(l string) bool {
	if len(l) < 2 || len(l) > 35 {
		return false
	}
	for _, part := range strings.Split(l, "-") {
		if len(part) == 0 || len(part) > 8 {
			return false
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return false
		}
	}
	return true
}

// CaptureService takes captures.
type CaptureService interface {
	// Capture loads the page described by opts under policy and returns the
	// image (or PDF) with its evidence.
	//
	// Returns EINVALID for bad options, EFORBIDDEN when the egress policy
	// refuses the page, ETIMEOUT when the page did not load in time and
	// opts.Strict is set, and EUNAVAILABLE wrapping ErrPushback when the
	// queue is full. A failed capture returns no partial result.
	Capture(ctx context.Context, opts CaptureOptions, policy CapturePolicy) (*CaptureResult, error)
}

// CaptureResult is the output of one capture.
type CaptureResult struct {
	// Data is the image or PDF; MediaType its type ("image/png", ...).
	Data      []byte `json:"-"`
	MediaType string `json:"media_type"`
	// DOM is the MHTML snapshot of the page ("multipart/related").
	DOM      []byte   `json:"-"`
	Evidence Evidence `json:"evidence"`
}

// Evidence is what a capture records about the page and how it was taken.
type Evidence struct {
	RequestedURL   string           `json:"requested_url,omitempty"`
	FinalURL       string           `json:"final_url"`
	Status         int              `json:"status,omitempty"`
	Title          string           `json:"title"`
	StartedAt      time.Time        `json:"started_at"`
	Timings        Timings          `json:"timings"`
	Console        []ConsoleMessage `json:"console"`
	Network        []NetworkRequest `json:"network"`
	TLS            *TLSFacts        `json:"tls,omitempty"`
	Options        CaptureOptions   `json:"options"`
	BrowserVersion string           `json:"browser_version"`
	Wait           WaitOutcome      `json:"wait"`
	Redactions     []Redaction      `json:"redactions"`
	Dialogs        []Dialog         `json:"dialogs,omitempty"`
	Refused        []Refusal        `json:"refused,omitempty"`
	// Width and Height are the pixel size of the image (0 for PDF).
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// Blank is set when the frame was a single colour after one retry.
	Blank bool `json:"blank,omitempty"`
	// Truncated is set when a full-page capture was cut at max_height.
	Truncated bool `json:"truncated,omitempty"`
	// ContentHeight is the page's full height in CSS pixels for full_page.
	ContentHeight int `json:"content_height,omitempty"`
}

// Timings are the durations of a capture's phases, in milliseconds.
type Timings struct {
	QueueMS      float64 `json:"queue_ms"`
	ContextMS    float64 `json:"context_ms"`
	NavigationMS float64 `json:"navigation_ms"`
	WaitMS       float64 `json:"wait_ms"`
	CaptureMS    float64 `json:"capture_ms"`
	TotalMS      float64 `json:"total_ms"`
}

// ConsoleMessage is a message the page wrote to the console, or an
// uncaught exception.
type ConsoleMessage struct {
	Type string    `json:"type"`
	Text string    `json:"text"`
	URL  string    `json:"url,omitempty"`
	Line int       `json:"line,omitempty"`
	Time time.Time `json:"time"`
}

// NetworkRequest is one request the page made.
type NetworkRequest struct {
	URL          string `json:"url"`
	Method       string `json:"method"`
	ResourceType string `json:"resource_type,omitempty"`
	Status       int    `json:"status,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	Bytes        int64  `json:"bytes"`
	RemoteIP     string `json:"remote_ip,omitempty"`
	Protocol     string `json:"protocol,omitempty"`
	// Blocked names the egress rule that refused the request, if any.
	Blocked string `json:"blocked_by_policy,omitempty"`
	// Failed is the browser's error text for a failed request.
	Failed string `json:"failed,omitempty"`
}

// TLSFacts describe the TLS connection of the main document.
type TLSFacts struct {
	Protocol    string    `json:"protocol"`
	Cipher      string    `json:"cipher"`
	KeyExchange string    `json:"key_exchange,omitempty"`
	SubjectName string    `json:"subject_name"`
	SANs        []string  `json:"sans,omitempty"`
	Issuer      string    `json:"issuer"`
	ValidFrom   time.Time `json:"valid_from"`
	ValidTo     time.Time `json:"valid_to"`
}

// WaitOutcome says how the wait for the page ended.
type WaitOutcome struct {
	Until string `json:"until"`
	// Reached is true when the wait condition (and wait_for) was met.
	Reached bool `json:"reached"`
	// BestAttempt is true when the page was captured after a timeout.
	BestAttempt bool `json:"best_attempt,omitempty"`
	// TimedOut names what timed out: "navigation", "wait_for", "fonts".
	TimedOut   string `json:"timed_out,omitempty"`
	FontsReady bool   `json:"fonts_ready"`
}

// Redaction is a region masked before the pixels were taken.
type Redaction struct {
	Kind     string `json:"kind"` // "mask" or "hide"
	Selector string `json:"selector"`
	Box      *Rect  `json:"box,omitempty"`
}

// Dialog is a JavaScript dialog the page opened; it was dismissed.
type Dialog struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// Refusal is something the page tried that the engine refused: a popup, a
// download, a navigation to a forbidden scheme.
type Refusal struct {
	Kind string `json:"kind"` // "popup", "download", "navigation"
	URL  string `json:"url,omitempty"`
}
