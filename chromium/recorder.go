package chromium

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"

	"github.com/auditshot/auditshot"
)

// Limits on what one capture records, so a hostile page cannot grow the
// evidence without bound.
const (
	maxConsole    = 1000
	maxConsoleLen = 4096
	maxRequests   = 5000
	maxDialogs    = 100
	maxRefusals   = 100
)

// recorder collects a tab's events. Its on method runs in the tab's read
// loop: it only records and signals, never sends commands; work that needs
// commands goes to the handle channel.
type recorder struct {
	now    func() time.Time
	handle func(ev any) // runs on its own goroutine for dialogs, fetch

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced on lifecycle changes
	mainFrame cdp.FrameID
	loader    cdp.LoaderID
	lifecycle map[string]bool // events of the current main document
	docReq    network.RequestID
	docResp   *network.Response
	requests  map[network.RequestID]*auditshot.NetworkRequest
	order     []*auditshot.NetworkRequest
	inflight  map[network.RequestID]bool
	lastNet   time.Time
	console   []auditshot.ConsoleMessage
	dialogs   []auditshot.Dialog
	refusals  []auditshot.Refusal
	dropped   int
	url       string     // the main frame's URL
	frames    chan<- any // screencast frames, while recording
	nav       navState
}

// navState counts the main frame's navigations, so a step can tell whether
// it started one and when that one is over.
type navState struct {
	requested int          // navigations requested or loads started
	stopped   int          // loads stopped (done, failed, cancelled)
	loader    cdp.LoaderID // the current document
}

func newRecorder(now func() time.Time) *recorder {
	return &recorder{
		now:       now,
		changed:   make(chan struct{}),
		lifecycle: map[string]bool{},
		requests:  map[network.RequestID]*auditshot.NetworkRequest{},
		inflight:  map[network.RequestID]bool{},
	}
}

// signal wakes waiters; call with mu held.
func (r *recorder) signal() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// navEvent counts a navigation event of frame if it is the main frame (or
// no main frame is known yet).
func (r *recorder) navEvent(frame cdp.FrameID, requested, stopped int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mainFrame != "" && frame != r.mainFrame {
		return
	}
	r.nav.requested += requested
	r.nav.stopped += stopped
	r.signal()
}

// navigation returns the navigation counters and the current document.
func (r *recorder) navigation() navState {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.nav
	n.loader = r.loader
	return n
}

// wait returns a channel closed at the next change.
func (r *recorder) wait() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

func (r *recorder) on(ev any) {
	switch ev := ev.(type) {
	case *page.EventLifecycleEvent:
		r.mu.Lock()
		if ev.FrameID == r.mainFrame {
			if ev.Name == "init" || ev.LoaderID != r.loader {
				r.loader = ev.LoaderID
				r.lifecycle = map[string]bool{}
			}
			r.lifecycle[ev.Name] = true
			r.signal()
		}
		r.mu.Unlock()
	case *page.EventFrameNavigated:
		if ev.Frame != nil && ev.Frame.ParentID == "" {
			r.mu.Lock()
			r.mainFrame = ev.Frame.ID
			r.url = ev.Frame.URL + ev.Frame.URLFragment
			r.signal()
			r.mu.Unlock()
		}
	case *page.EventFrameRequestedNavigation:
		r.navEvent(ev.FrameID, 1, 0)
	case *page.EventFrameStartedLoading:
		r.navEvent(ev.FrameID, 1, 0)
	case *page.EventFrameStoppedLoading:
		r.navEvent(ev.FrameID, 0, 1)
	case *page.EventNavigatedWithinDocument:
		r.mu.Lock()
		if ev.FrameID == r.mainFrame {
			r.url = ev.URL
		}
		r.mu.Unlock()
	case *page.EventScreencastFrame:
		r.mu.Lock()
		if r.frames != nil {
			select {
			case r.frames <- ev:
			default: // the consumer is behind: the frame is lost, and unacknowledged
			}
		}
		r.mu.Unlock()
	case *page.EventJavascriptDialogOpening:
		r.mu.Lock()
		if len(r.dialogs) < maxDialogs {
			r.dialogs = append(r.dialogs, auditshot.Dialog{Type: string(ev.Type), Message: truncate(ev.Message, maxConsoleLen)})
		}
		r.mu.Unlock()
		r.handle(ev)
	case *cdpbrowser.EventDownloadWillBegin:
		r.refuse("download", ev.URL)
	case *network.EventRequestWillBeSent:
		r.request(ev)
	case *network.EventResponseReceived:
		r.mu.Lock()
		if q := r.requests[ev.RequestID]; q != nil && ev.Response != nil {
			q.Status = int(ev.Response.Status)
			q.MimeType = ev.Response.MimeType
			q.Protocol = ev.Response.Protocol
		}
		if ev.RequestID == r.docReq && ev.Type == network.ResourceTypeDocument {
			r.docResp = ev.Response
		}
		r.mu.Unlock()
	case *network.EventLoadingFinished:
		r.mu.Lock()
		if q := r.requests[ev.RequestID]; q != nil {
			q.Bytes = int64(ev.EncodedDataLength)
		}
		r.finish(ev.RequestID)
		r.mu.Unlock()
	case *network.EventLoadingFailed:
		r.mu.Lock()
		if q := r.requests[ev.RequestID]; q != nil {
			q.Failed = ev.ErrorText
			if ev.BlockedReason != "" {
				q.Failed += " (" + string(ev.BlockedReason) + ")"
			}
		}
		r.finish(ev.RequestID)
		r.mu.Unlock()
	case *runtime.EventConsoleAPICalled:
		parts := make([]string, 0, len(ev.Args))
		for _, a := range ev.Args {
			parts = append(parts, remoteText(a))
		}
		m := auditshot.ConsoleMessage{Type: string(ev.Type), Text: strings.Join(parts, " "), Time: r.now()}
		if ev.StackTrace != nil && len(ev.StackTrace.CallFrames) > 0 {
			m.URL, m.Line = ev.StackTrace.CallFrames[0].URL, int(ev.StackTrace.CallFrames[0].LineNumber)+1
		}
		r.addConsole(m)
	case *runtime.EventExceptionThrown:
		if d := ev.ExceptionDetails; d != nil {
			text := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				text = d.Exception.Description
			}
			r.addConsole(auditshot.ConsoleMessage{Type: "exception", Text: text, URL: d.URL, Line: int(d.LineNumber) + 1, Time: r.now()})
		}
	case *cdplog.EventEntryAdded:
		if e := ev.Entry; e != nil {
			r.addConsole(auditshot.ConsoleMessage{Type: "log." + string(e.Level), Text: e.Text, URL: e.URL, Line: int(e.LineNumber), Time: r.now()})
		}
	default:
		if r.handle != nil && isHandled(ev) {
			r.handle(ev)
		}
	}
}

func (r *recorder) request(ev *network.EventRequestWillBeSent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if q := r.requests[ev.RequestID]; q != nil && ev.RedirectResponse != nil {
		// A redirect: close the previous hop under its own entry.
		q.Status = int(ev.RedirectResponse.Status)
		q.MimeType = ev.RedirectResponse.MimeType
		delete(r.requests, ev.RequestID)
	}
	if ev.Type == network.ResourceTypeDocument && ev.FrameID == r.mainFrame {
		r.docReq = ev.RequestID
	}
	r.inflight[ev.RequestID] = true
	r.lastNet = r.now()
	if len(r.order) >= maxRequests {
		r.dropped++
		return
	}
	q := &auditshot.NetworkRequest{URL: ev.Request.URL, Method: ev.Request.Method, ResourceType: string(ev.Type)}
	r.requests[ev.RequestID] = q
	r.order = append(r.order, q)
}

// finish marks a request done; call with mu held.
func (r *recorder) finish(id network.RequestID) {
	delete(r.inflight, id)
	r.lastNet = r.now()
	r.signal()
}

func (r *recorder) addConsole(m auditshot.ConsoleMessage) {
	m.Text = truncate(m.Text, maxConsoleLen)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.console) < maxConsole {
		r.console = append(r.console, m)
	}
}

func (r *recorder) refuse(kind, url string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.refusals) < maxRefusals {
		r.refusals = append(r.refusals, auditshot.Refusal{Kind: kind, URL: url})
	}
}

// reached reports whether the main document fired lifecycle event name.
func (r *recorder) reached(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lifecycle[name]
}

// currentURL returns the main frame's URL as last navigated.
func (r *recorder) currentURL() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.url
}

// screencast sets (or, with nil, clears) where screencast frames go.
func (r *recorder) screencast(ch chan<- any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames = ch
}

// quietFor reports how long the network has had no request in flight, or
// 0 if one is in flight.
func (r *recorder) quietFor() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.inflight) > 0 {
		return 0
	}
	return r.now().Sub(r.lastNet)
}

// snapshot returns copies of what was recorded.
func (r *recorder) snapshot() (reqs []auditshot.NetworkRequest, console []auditshot.ConsoleMessage, dialogs []auditshot.Dialog, refusals []auditshot.Refusal, doc *network.Response) {
	r.mu.Lock()
	defer r.mu.Unlock()
	reqs = make([]auditshot.NetworkRequest, len(r.order))
	for i, q := range r.order {
		reqs[i] = *q
	}
	return reqs, append([]auditshot.ConsoleMessage(nil), r.console...),
		append([]auditshot.Dialog(nil), r.dialogs...),
		append([]auditshot.Refusal(nil), r.refusals...), r.docResp
}

func remoteText(a *runtime.RemoteObject) string {
	if a == nil {
		return ""
	}
	if len(a.Value) > 0 {
		var s string
		if json.Unmarshal(a.Value, &s) == nil {
			return s
		}
		return string(a.Value)
	}
	if a.UnserializableValue != "" {
		return string(a.UnserializableValue)
	}
	if a.Description != "" {
		return a.Description
	}
	return string(a.Type)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
