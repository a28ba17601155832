package auditshot

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Step actions of a sequence. A click, dblclick or press that starts a
// navigation (a link, a submitted form) ends when the page it leads to
// reaches the flow's WaitUntil state, within the step's timeout.
const (
	ActionNavigate      = "navigate"
	ActionClick         = "click"
	ActionDblClick      = "dblclick"
	ActionFill          = "fill"
	ActionSelect        = "select"
	ActionCheck         = "check"
	ActionHover         = "hover"
	ActionPress         = "press"
	ActionScroll        = "scroll"
	ActionWait          = "wait"
	ActionWaitFor       = "wait_for"
	ActionAssertText    = "assert_text"
	ActionAssertURL     = "assert_url"
	ActionAssertVisible = "assert_visible"
	ActionScreenshot    = "screenshot"
	ActionPDF           = "pdf"
	ActionEvaluate      = "evaluate"
)

// Step statuses and sequence statuses.
const (
	StepOK      = "ok"
	StepFailed  = "failed"
	StepSkipped = "skipped"

	SequenceSucceeded = "succeeded"
	SequenceFailed    = "failed"
)

// Limits and defaults of sequence options.
const (
	MaxSteps               = 100
	DefaultStepTimeout     = 10 * time.Second
	MaxStepTimeout         = 60 * time.Second
	DefaultSequenceTimeout = 120 * time.Second
	MaxSequenceTimeout     = 10 * time.Minute
	DefaultVideoFPS        = 10
	MaxVideoFPS            = 30
	MaxVideoSide           = 8192
	MaxStepTextBytes       = 64 << 10
	MaxStepResultBytes     = 4 << 10
	VideoFormatMP4         = "mp4"
	VideoFormatWebM        = "webm"
)

// Redacted is what replaces a secret wherever a sequence reports it.
const Redacted = "[redacted]"

// Step is one action of a browser flow. Which fields apply depends on
// Action; Normalize rejects a step that lacks what its action needs.
// Durations (MS, Timeout) are in milliseconds.
type Step struct {
	Action string `json:"action"`
	// Selector is a CSS selector: the element to act on (click, dblclick,
	// fill, select, check, hover, assert_visible), to scroll into view
	// (scroll), to wait for (wait_for) or to search for text in
	// (assert_text; default the whole page).
	Selector string `json:"selector,omitempty"`
	// Value is typed by fill, chosen by select (an option's value or text).
	Value string `json:"value,omitempty"`
	// URL is loaded by navigate; for assert_url and wait_for it is a
	// substring the page's URL must contain.
	URL string `json:"url,omitempty"`
	// Text is what assert_text and wait_for look for in the page's text.
	Text string `json:"text,omitempty"`
	// Key is pressed by press: a key name ("Enter", "Tab", "Escape",
	// "ArrowDown", ...) or one character.
	Key string `json:"key,omitempty"`
	// Name names the artifact of screenshot and pdf; default "step-N".
	Name string `json:"name,omitempty"`
	// MS is how long wait waits.
	MS int `json:"ms,omitempty"`
	// X and Y scroll the page by that many CSS pixels (scroll without a
	// selector).
	X int `json:"x,omitempty"`
	Y int `json:"y,omitempty"`
	// Script is the JavaScript evaluate runs (a function body; its return
	// value, as JSON, is the step's result). Needs CapturePolicy.AllowScripts.
	Script string `json:"script,omitempty"`
	// Secret marks a fill whose value is never stored, logged, returned or
	// shown: the field is masked in every screenshot and video frame from
	// before the value is typed.
	Secret bool `json:"secret,omitempty"`
	// Timeout bounds the step; default DefaultStepTimeout, at most
	// MaxStepTimeout.
	Timeout int `json:"timeout,omitempty"`
	// Label is a human label; default derived from the action, such as
	// "fill #amount".
	Label string `json:"label,omitempty"`
}

// TimeoutDuration returns Timeout as a time.Duration.
func (s Step) TimeoutDuration() time.Duration {
	return time.Duration(s.Timeout) * time.Millisecond
}

// SequenceOptions describe a browser flow: a start page and steps run in
// order in one isolated browser context. JSON names are the API's.
type SequenceOptions struct {
	// URL is the start page; optional when the first step navigates.
	URL   string `json:"url,omitempty"`
	Steps []Step `json:"steps"`

	Width             int     `json:"width,omitempty"`
	Height            int     `json:"height,omitempty"`
	Device            string  `json:"device,omitempty"`
	DeviceScaleFactor float64 `json:"device_scale_factor,omitempty"`
	DarkMode          bool    `json:"dark_mode,omitempty"`
	ReducedMotion     bool    `json:"reduced_motion,omitempty"`
	Timezone          string  `json:"timezone,omitempty"`
	Locale            string  `json:"locale,omitempty"`
	UserAgent         string  `json:"user_agent,omitempty"`

	// Headers, Cookies and BasicAuth go to the start page's origin only
	// (the first navigate step's when URL is empty).
	Headers   map[string]string `json:"headers,omitempty"`
	Cookies   []Cookie          `json:"cookies,omitempty"`
	BasicAuth *BasicAuth        `json:"basic_auth,omitempty"`

	// WaitUntil is the load state navigations wait for; default load.
	WaitUntil string `json:"wait_until,omitempty"`

	// Video records the whole flow from the browser's screencast.
	Video bool `json:"video,omitempty"`
	// VideoFPS is the video's frame rate; default DefaultVideoFPS, at most
	// MaxVideoFPS.
	VideoFPS int `json:"video_fps,omitempty"`
	// VideoFormat is "mp4" (H.264) or "webm" (VP9); default mp4.
	VideoFormat string `json:"video_format,omitempty"`
	// VideoWidth and VideoHeight are the video's size in pixels, even;
	// default the viewport's.
	VideoWidth  int `json:"video_width,omitempty"`
	VideoHeight int `json:"video_height,omitempty"`

	// MaskSelectors are covered by opaque boxes in every screenshot and
	// video frame, on every page of the flow.
	MaskSelectors []string `json:"mask_selectors,omitempty"`

	// Timeout bounds the whole flow; default DefaultSequenceTimeout, at
	// most MaxSequenceTimeout.
	Timeout int `json:"timeout,omitempty"`
}

// TimeoutDuration returns Timeout as a time.Duration.
func (o SequenceOptions) TimeoutDuration() time.Duration {
	return time.Duration(o.Timeout) * time.Millisecond
}

var artifactName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Normalize validates o and returns a copy with defaults applied: the
// effective options. Errors are *Error with code EINVALID naming the field
// ("steps[3].selector: required for click"), or EFORBIDDEN for an evaluate
// step when policy does not allow scripts.
func (o SequenceOptions) Normalize(policy CapturePolicy) (SequenceOptions, error) {
	switch {
	case len(o.Steps) == 0:
		return SequenceOptions{}, Errorf(EINVALID, "steps: at least one step is required")
	case len(o.Steps) > MaxSteps:
		return SequenceOptions{}, Errorf(EINVALID, "steps: at most %d steps", MaxSteps)
	case o.URL == "" && o.Steps[0].Action != ActionNavigate:
		return SequenceOptions{}, Errorf(EINVALID, "url: required unless the first step navigates")
	}
	steps := slices.Clone(o.Steps)
	for i := range steps {
		if err := steps[i].normalize(i, policy); err != nil {
			return SequenceOptions{}, err
		}
	}
	o.Steps = steps
	// The viewport, headers, cookies and auth are checked by the capture
	// options they become.
	co, err := o.CaptureOptions().Normalize(CapturePolicy{})
	if err != nil {
		return SequenceOptions{}, err
	}
	o.Width, o.Height, o.DeviceScaleFactor, o.UserAgent, o.WaitUntil = co.Width, co.Height, co.DeviceScaleFactor, co.UserAgent, co.WaitUntil
	if len(o.MaskSelectors) > MaxSelectors {
		return SequenceOptions{}, Errorf(EINVALID, "mask_selectors: at most %d selectors", MaxSelectors)
	}
	for _, s := range o.MaskSelectors {
		if s == "" || len(s) > 1024 {
			return SequenceOptions{}, Errorf(EINVALID, "mask_selectors: selectors must be 1 to 1024 bytes")
		}
	}
	if o.Timeout == 0 {
		o.Timeout = int(DefaultSequenceTimeout / time.Millisecond)
	}
	if o.Timeout < 100 || o.TimeoutDuration() > MaxSequenceTimeout {
		return SequenceOptions{}, Errorf(EINVALID, "timeout: must be between 100 and %d ms", MaxSequenceTimeout/time.Millisecond)
	}
	if err := o.normalizeVideo(); err != nil {
		return SequenceOptions{}, err
	}
	return o, nil
}

func (o *SequenceOptions) normalizeVideo() error {
	bad := func(field, format string, args ...any) error {
		return Errorf(EINVALID, field+": "+format, args...)
	}
	if !o.Video {
		if o.VideoFPS != 0 || o.VideoFormat != "" || o.VideoWidth != 0 || o.VideoHeight != 0 {
			return bad("video", "video_fps, video_format and video size need video: true")
		}
		return nil
	}
	if o.VideoFPS == 0 {
		o.VideoFPS = DefaultVideoFPS
	}
	if o.VideoFPS < 1 || o.VideoFPS > MaxVideoFPS {
		return bad("video_fps", "must be between 1 and %d", MaxVideoFPS)
	}
	if o.VideoFormat == "" {
		o.VideoFormat = VideoFormatMP4
	}
	if o.VideoFormat != VideoFormatMP4 && o.VideoFormat != VideoFormatWebM {
		return bad("video_format", "must be mp4 or webm")
	}
	switch {
	case o.VideoWidth == 0 && o.VideoHeight == 0:
		o.VideoWidth, o.VideoHeight = o.Width, o.Height
	case o.VideoWidth == 0:
		o.VideoWidth = o.VideoHeight * o.Width / o.Height
	case o.VideoHeight == 0:
		o.VideoHeight = o.VideoWidth * o.Height / o.Width
	default:
		if o.VideoWidth%2 != 0 || o.VideoHeight%2 != 0 {
			return bad("video_width", "video_width and video_height must be even")
		}
	}
	o.VideoWidth, o.VideoHeight = o.VideoWidth&^1, o.VideoHeight&^1
	if o.VideoWidth < 2 || o.VideoWidth > MaxVideoSide || o.VideoHeight < 2 || o.VideoHeight > MaxVideoSide {
		return bad("video_width", "video size must be between 2 and %d pixels a side", MaxVideoSide)
	}
	return nil
}

// needs lists, per action, the fields a step must set.
var needs = map[string][]string{
	ActionNavigate:      {"url"},
	ActionClick:         {"selector"},
	ActionDblClick:      {"selector"},
	ActionFill:          {"selector"},
	ActionSelect:        {"selector", "value"},
	ActionCheck:         {"selector"},
	ActionHover:         {"selector"},
	ActionPress:         {"key"},
	ActionScroll:        {},
	ActionWait:          {"ms"},
	ActionWaitFor:       {},
	ActionAssertText:    {"text"},
	ActionAssertURL:     {"url"},
	ActionAssertVisible: {"selector"},
	ActionScreenshot:    {},
	ActionPDF:           {},
	ActionEvaluate:      {"script"},
}

func (s *Step) normalize(i int, policy CapturePolicy) error {
	bad := func(field, format string, args ...any) error {
		return Errorf(EINVALID, fmt.Sprintf("steps[%d].%s: ", i, field)+format, args...)
	}
	s.Action = strings.ToLower(strings.TrimSpace(s.Action))
	req, ok := needs[s.Action]
	if !ok {
		return bad("action", "unknown action %q", s.Action)
	}
	set := map[string]bool{"selector": s.Selector != "", "value": s.Value != "", "url": s.URL != "", "text": s.Text != "", "key": s.Key != "", "ms": s.MS != 0, "script": s.Script != ""}
	for _, f := range req {
		if !set[f] {
			return bad(f, "required for %s", s.Action)
		}
	}
	for _, f := range []struct {
		name string
		v    string
	}{{"selector", s.Selector}, {"value", s.Value}, {"url", s.URL}, {"text", s.Text}, {"key", s.Key}, {"label", s.Label}} {
		if len(f.v) > MaxStepTextBytes {
			return bad(f.name, "larger than %d bytes", MaxStepTextBytes)
		}
	}
	if s.Secret && s.Action != ActionFill {
		return bad("secret", "only applies to fill")
	}
	switch s.Action {
	case ActionNavigate:
		u, err := url.Parse(s.URL)
		switch {
		case err != nil:
			return bad("url", "not a valid URL: %v", err)
		case u.Scheme != "http" && u.Scheme != "https":
			return bad("url", "scheme %q is not allowed: only http and https", u.Scheme)
		case u.Hostname() == "":
			return bad("url", "has no host")
		}
	case ActionWait:
		if s.MS < 1 || time.Duration(s.MS)*time.Millisecond > MaxStepTimeout {
			return bad("ms", "must be between 1 and %d", MaxStepTimeout/time.Millisecond)
		}
	case ActionWaitFor:
		n := 0
		for _, v := range []string{s.Selector, s.Text, s.URL} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			return bad("selector", "wait_for needs exactly one of selector, text or url")
		}
	case ActionScroll:
		if s.Selector == "" && s.X == 0 && s.Y == 0 {
			return bad("y", "scroll needs a selector or x/y")
		}
	case ActionPress:
		if !validKey(s.Key) {
			return bad("key", "unknown key %q: a key name such as Enter, Tab, Escape, ArrowDown, or one character", s.Key)
		}
	case ActionScreenshot, ActionPDF:
		if s.Name == "" {
			s.Name = fmt.Sprintf("step-%d", i+1)
		}
		if !artifactName.MatchString(s.Name) {
			return bad("name", "must be 1 to 64 letters, digits, '.', '_' or '-'")
		}
	case ActionEvaluate:
		if !policy.AllowScripts {
			return Errorf(EFORBIDDEN, "steps[%d].script: the policy of this caller does not allow scripts", i)
		}
		if len(s.Script) > MaxJSBytes {
			return bad("script", "larger than %d bytes", MaxJSBytes)
		}
	}
	if s.Timeout == 0 {
		s.Timeout = int(DefaultStepTimeout / time.Millisecond)
	}
	if s.Timeout < 1 || s.TimeoutDuration() > MaxStepTimeout {
		return bad("timeout", "must be between 1 and %d ms", MaxStepTimeout/time.Millisecond)
	}
	if s.Label == "" {
		s.Label = s.defaultLabel()
	}
	return nil
}

// KeyNames are the key names press accepts besides single characters.
var KeyNames = []string{
	"Enter", "Tab", "Escape", "Backspace", "Delete", "Space", "Insert",
	"ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown",
}

func validKey(k string) bool {
	return slices.Contains(KeyNames, k) || len([]rune(k)) == 1
}

func (s Step) defaultLabel() string {
	switch s.Action {
	case ActionNavigate, ActionAssertURL:
		return s.Action + " " + s.URL
	case ActionPress:
		return "press " + s.Key
	case ActionWait:
		return fmt.Sprintf("wait %d ms", s.MS)
	case ActionWaitFor:
		switch {
		case s.Text != "":
			return "wait_for text " + quoteShort(s.Text)
		case s.URL != "":
			return "wait_for url " + s.URL
		}
	case ActionAssertText:
		return "assert_text " + quoteShort(s.Text)
	case ActionScreenshot, ActionPDF:
		return s.Action + " " + s.Name
	case ActionEvaluate:
		return "evaluate"
	case ActionScroll:
		if s.Selector == "" {
			return fmt.Sprintf("scroll %d,%d", s.X, s.Y)
		}
	}
	return s.Action + " " + s.Selector
}

func quoteShort(s string) string {
	r := []rune(s)
	if len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// Redacted returns a copy of o that is safe to store and log: the values of
// secret fills, headers, cookies and the basic auth password are replaced by
// Redacted, and the scripts of evaluate steps are kept (they are the
// caller's, not secrets).
func (o SequenceOptions) Redacted() SequenceOptions {
	c := o.CaptureOptions().Redacted()
	o.Headers, o.Cookies, o.BasicAuth = c.Headers, c.Cookies, c.BasicAuth
	steps := slices.Clone(o.Steps)
	for i := range steps {
		if steps[i].Secret {
			steps[i].Value = Redacted
		}
	}
	o.Steps = steps
	o.MaskSelectors = slices.Clone(o.MaskSelectors)
	return o
}

// Secrets returns the values of the secret fill steps.
func (o SequenceOptions) Secrets() []string {
	var out []string
	for _, s := range o.Steps {
		if s.Secret && s.Value != "" {
			out = append(out, s.Value)
		}
	}
	return out
}

// CaptureOptions returns the capture options that describe the flow's
// page setup: viewport, emulation, headers, cookies and auth, with the
// start page (or the first navigate step's URL) as URL.
func (o SequenceOptions) CaptureOptions() CaptureOptions {
	start := o.URL
	if start == "" && len(o.Steps) > 0 && o.Steps[0].Action == ActionNavigate {
		start = o.Steps[0].URL
	}
	return CaptureOptions{
		URL: start, Width: o.Width, Height: o.Height, Device: o.Device, DeviceScaleFactor: o.DeviceScaleFactor,
		DarkMode: o.DarkMode, ReducedMotion: o.ReducedMotion, Timezone: o.Timezone, Locale: o.Locale, UserAgent: o.UserAgent,
		Headers: o.Headers, Cookies: o.Cookies, BasicAuth: o.BasicAuth, WaitUntil: o.WaitUntil,
		MaskSelectors: o.MaskSelectors,
	}
}

// ScreenshotData is an image (or, for a pdf step, a PDF) a step took.
type ScreenshotData struct {
	Data      []byte `json:"-"`
	Name      string `json:"name"`
	MediaType string `json:"media_type"`
	Width     int    `json:"width,omitempty"`
	Height    int    `json:"height,omitempty"`
}

// StepResult is the outcome of one step.
type StepResult struct {
	Index      int     `json:"index"`
	Action     string  `json:"action"`
	Label      string  `json:"label"`
	Status     string  `json:"status"` // StepOK, StepFailed or StepSkipped
	DurationMS float64 `json:"duration_ms"`
	// URL is the page's URL when the step ended.
	URL   string `json:"url,omitempty"`
	Error string `json:"error,omitempty"`
	// Result is the JSON value an evaluate step returned, cut to
	// MaxStepResultBytes.
	Result string `json:"result,omitempty"`
	// Screenshot is the image of a screenshot step, the PDF of a pdf step,
	// or the page when the step failed.
	Screenshot *ScreenshotData `json:"screenshot,omitempty"`
}

// Chapter marks where a step starts in a sequence's video.
type Chapter struct {
	Step     int    `json:"step"`
	Label    string `json:"label"`
	OffsetMS int64  `json:"offset_ms"`
}

// SequenceResult is the outcome of a browser flow.
type SequenceResult struct {
	Steps  []StepResult `json:"steps"`
	Status string       `json:"status"` // SequenceSucceeded or SequenceFailed
	// Video is the flow's recording when asked for; VideoMediaType its type
	// and Chapters where each step starts in it.
	Video          []byte    `json:"-"`
	VideoMediaType string    `json:"video_media_type,omitempty"`
	Chapters       []Chapter `json:"chapters,omitempty"`
	// DOM is the MHTML snapshot of the final page ("multipart/related").
	DOM []byte `json:"-"`
	// Options are the effective options, secrets redacted.
	Options  SequenceOptions `json:"options"`
	Evidence Evidence        `json:"evidence"`
}

// SequenceService runs browser flows.
type SequenceService interface {
	// Sequence loads opts.URL and runs opts.Steps in order under policy,
	// in one isolated browser context with the same egress policy as a
	// single capture.
	//
	// Returns EINVALID for bad options, EFORBIDDEN when the egress policy
	// refuses the start page or an evaluate step is not allowed by policy,
	// EUNAVAILABLE wrapping ErrPushback when the queue is full, and
	// EUNAVAILABLE when video is asked for and cannot be recorded (no
	// ffmpeg). A failing step is not an error: the result's Status is
	// SequenceFailed, the failing step carries its error and a screenshot,
	// and the steps after it are skipped.
	//
	// Values of secret fill steps MUST NOT appear in the result, in logs
	// or in any image: they are masked from before they are typed.
	Sequence(ctx context.Context, opts SequenceOptions, policy CapturePolicy) (*SequenceResult, error)
}

// VideoConfig is the shape of one recording.
type VideoConfig struct {
	FPS           int
	Format        string // VideoFormatMP4 or VideoFormatWebM
	Width, Height int
}

// VideoFrame is one picture of a recording.
type VideoFrame struct {
	// Image is JPEG or PNG.
	Image []byte
	// Time is when the picture was shown; times increase strictly.
	Time time.Time
	// URL and Step are the page URL and the step label at this frame.
	URL, Step string
}

// VideoInfo describes a finished recording.
type VideoInfo struct {
	MediaType string
	Duration  time.Duration
	Chapters  []Chapter
}

// VideoEncoder starts recordings. The capture engine records flows through
// it; cmd wires it to the video package.
type VideoEncoder interface {
	// Record starts a recording of cfg's shape, bounded by ctx. Returns
	// EUNAVAILABLE when the encoder (ffmpeg) is missing and EINVALID for a
	// bad cfg.
	Record(ctx context.Context, cfg VideoConfig) (VideoRecorder, error)
}

// VideoRecorder encodes one recording from frames added in time order. It
// need not be safe for concurrent use.
type VideoRecorder interface {
	// Add adds the next frame, held until the next one's time.
	Add(f VideoFrame) error
	// Finish holds the last frame until end and writes the video to w,
	// only once it is complete.
	Finish(end time.Time, w io.Writer) (*VideoInfo, error)
	// Close releases the recording; it MUST be called, also after Finish.
	Close() error
}
