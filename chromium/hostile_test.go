package chromium_test

import (
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
)

// Hostile pages must never hang a capture.
func TestCapture_Hostile(t *testing.T) {
	var redirects atomic.Int64
	srv := Serve(t, map[string]http.HandlerFunc{
		"/dialogs": HTML(`<title>d</title><body style="background:#00f"><script>
alert('first'); confirm('second?'); prompt('third?', 'x');
document.title = 'after dialogs';
addEventListener('beforeunload', e => { e.preventDefault(); e.returnValue = 'stay'; });
</script>`),
		"/popup": HTML(`<title>p</title><body style="background:#0f0"><script>
window.open('/popup-target'); window.open('about:blank');
</script><a id=a href="/popup-target" target=_blank>x</a><script>document.getElementById('a').click()</script>`),
		"/popup-target": HTML(`<title>popped</title>`),
		"/download":     HTML(`<title>dl</title><body style="background:#0f0"><a id=a href="/file.bin" download>x</a><script>document.getElementById('a').click()</script>`),
		"/file.bin": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", "attachment; filename=file.bin")
			w.Write([]byte("payload"))
		},
		"/loop": func(w http.ResponseWriter, r *http.Request) {
			redirects.Add(1)
			http.Redirect(w, r, "/loop?n="+time.Now().Format("150405.000000000"), http.StatusFound)
		},
		"/never": func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		},
		"/endless-body": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<title>endless</title><body style="background:#0f0"><div>`))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		},
		"/busy":  HTML(`<title>busy</title><body style="background:#0f0"><script>setTimeout(() => { for(;;){} }, 50)</script>`),
		"/blank": HTML(`<body style="background:#123456">`),
		"/log":   HTML(`<title>log</title><script>console.log('hello', 42); console.error('bad thing'); setTimeout(() => { throw new Error('kaboom') })</script><img src="/missing.png">`),
	})
	e := Shared(t)

	t.Run("Dialogs", func(t *testing.T) {
		res := MustCapture(t, e, auditshot.CaptureOptions{URL: srv.URL + "/dialogs", Timeout: 5000})
		if res.Evidence.Title != "after dialogs" {
			t.Errorf("title %q: the page did not go on past its dialogs", res.Evidence.Title)
		}
		got := res.Evidence.Dialogs
		if len(got) != 3 || got[0].Type != "alert" || got[0].Message != "first" || got[1].Type != "confirm" || got[2].Type != "prompt" {
			t.Errorf("dialogs %+v", got)
		}
	})
	t.Run("Popups", func(t *testing.T) {
		res := MustCapture(t, e, auditshot.CaptureOptions{URL: srv.URL + "/popup", Timeout: 5000})
		var popups int
		for _, r := range res.Evidence.Refused {
			if r.Kind == "popup" {
				popups++
			}
		}
		if popups < 2 {
			t.Errorf("refused %+v, want the popups", res.Evidence.Refused)
		}
		if res.Evidence.Title != "p" {
			t.Errorf("captured %q, not the opener", res.Evidence.Title)
		}
	})
	t.Run("Download", func(t *testing.T) {
		res := MustCapture(t, e, auditshot.CaptureOptions{URL: srv.URL + "/download", Timeout: 5000, Delay: 300})
		if res.Evidence.Title != "dl" {
			t.Errorf("title %q", res.Evidence.Title)
		}
		if !slices.ContainsFunc(res.Evidence.Refused, func(r auditshot.Refusal) bool { return r.Kind == "download" && strings.HasSuffix(r.URL, "/file.bin") }) {
			t.Errorf("download not recorded as refused: %+v", res.Evidence.Refused)
		}
		_, err := e.Capture(t.Context(), auditshot.CaptureOptions{URL: srv.URL + "/file.bin", Timeout: 5000}, local)
		if err == nil {
			t.Errorf("a download URL captured as a page")
		}
	})
	t.Run("InfiniteRedirects", func(t *testing.T) {
		_, err := e.Capture(t.Context(), auditshot.CaptureOptions{URL: srv.URL + "/loop", Timeout: 10000}, local)
		if err == nil || !strings.Contains(err.Error(), "ERR_TOO_MANY_REDIRECTS") {
			t.Errorf("redirect loop: %v", err)
		}
	})
	t.Run("NeverResponds", func(t *testing.T) {
		start := time.Now()
		_, err := e.Capture(t.Context(), auditshot.CaptureOptions{URL: srv.URL + "/never", Timeout: 1000}, local)
		if auditshot.ErrorCode(err) != auditshot.ETIMEOUT {
			t.Errorf("never-responding server: %v, want timeout", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("EndlessBody", func(t *testing.T) {
		res := MustCapture(t, e, auditshot.CaptureOptions{URL: srv.URL + "/endless-body", Timeout: 3000, Width: 100, Height: 100})
		if !res.Evidence.Wait.BestAttempt {
			t.Errorf("wait %+v, want best attempt", res.Evidence.Wait)
		}
	})
	t.Run("BusyLoop", func(t *testing.T) {
		start := time.Now()
		_, err := e.Capture(t.Context(), auditshot.CaptureOptions{URL: srv.URL + "/busy", Timeout: 1000, Delay: 200}, local)
		if err == nil {
			t.Log("busy page captured")
		}
		if d := time.Since(start); d > 25*time.Second {
			t.Errorf("busy page held the capture for %v", d)
		}
		// The engine still works afterwards.
		MustCapture(t, e, auditshot.CaptureOptions{HTML: "<title>ok</title>"})
	})
	t.Run("Blank", func(t *testing.T) {
		res := MustCapture(t, e, auditshot.CaptureOptions{URL: srv.URL + "/blank", Width: 50, Height: 50})
		if !res.Evidence.Blank {
			t.Errorf("single-colour frame not recorded as blank")
		}
		WantColor(t, Decode(t, res.Data), 10, 10, RGB{0x12, 0x34, 0x56}, 0)
		res = MustCapture(t, e, auditshot.CaptureOptions{HTML: blocks, Width: 50, Height: 300})
		if res.Evidence.Blank {
			t.Errorf("a page with content recorded as blank")
		}
	})
	t.Run("Console", func(t *testing.T) {
		res := MustCapture(t, e, auditshot.CaptureOptions{URL: srv.URL + "/log", Delay: 200})
		var log, errMsg, exc, net bool
		for _, m := range res.Evidence.Console {
			switch {
			case m.Type == "log" && m.Text == "hello 42":
				log = true
			case m.Type == "error" && m.Text == "bad thing":
				errMsg = true
			case m.Type == "exception" && strings.Contains(m.Text, "kaboom"):
				exc = true
			case strings.HasPrefix(m.Type, "log.") && strings.Contains(m.Text, "404"):
				net = true
			}
		}
		if !log || !errMsg || !exc || !net {
			t.Errorf("console %+v: log=%v error=%v exception=%v network=%v", res.Evidence.Console, log, errMsg, exc, net)
		}
	})
}

// The blank check decodes only frames small enough to be one colour; a
// single-colour frame must always be small enough, in every format.
func TestCapture_BlankEveryFormat(t *testing.T) {
	for _, f := range []string{"png", "jpeg", "webp"} {
		t.Run(f, func(t *testing.T) {
			o := auditshot.CaptureOptions{HTML: `<body style="background:#c0ffee">`, Format: f, Width: 1920, Height: 1080, DeviceScaleFactor: 2}
			if f != "png" {
				o.Quality = 100
			}
			res := MustCapture(t, Shared(t), o)
			if !res.Evidence.Blank {
				t.Errorf("a single-colour %s frame of %d bytes not recorded as blank", f, len(res.Data))
			}
		})
	}
}
