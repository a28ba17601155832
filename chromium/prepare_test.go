package chromium_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
)

func TestCapture_MasksHideCSS(t *testing.T) {
	page := `<!doctype html><body style="margin:0;background:#fff">
<div class="ssn" style="position:absolute;left:10px;top:10px;width:100px;height:20px;background:#0f0;color:#f00">123-45-6789</div>
<div class="ssn" style="position:absolute;left:10px;top:600px;width:80px;height:20px;background:#0f0">987-65-4321</div>
<div id="banner" style="position:absolute;left:150px;top:10px;width:50px;height:50px;background:#f00"></div>
<div id="styled" style="position:absolute;left:150px;top:100px;width:50px;height:50px;background:#f00"></div>
<div style="height:800px"></div>`
	srv := Serve(t, map[string]http.HandlerFunc{"/": HTML(page)})
	res := MustCapture(t, Shared(t), auditshot.CaptureOptions{
		URL: srv.URL, Width: 300, Height: 400, FullPage: true,
		MaskSelectors: []string{".ssn", "#absent"},
		HideSelectors: []string{"#banner"},
		CSS:           "#styled { background: #00f !important }",
	})
	img := Decode(t, res.Data)
	for _, p := range [][2]int{{12, 12}, {60, 20}, {108, 28}, {12, 602}, {88, 618}} {
		WantColor(t, img, p[0], p[1], black, 0)
	}
	WantColor(t, img, 175, 35, white, 0) // hidden
	WantColor(t, img, 175, 125, blue, 0) // css
	var masks []auditshot.Redaction
	for _, r := range res.Evidence.Redactions {
		if r.Kind == "mask" {
			masks = append(masks, r)
		}
	}
	if len(masks) != 3 {
		t.Fatalf("mask redactions %+v, want 2 boxes for .ssn and 1 unmatched", masks)
	}
	if b := masks[0].Box; b == nil || b.X != 10 || b.Y != 10 || b.Width != 100 || b.Height != 20 {
		t.Errorf("first mask box %+v", masks[0].Box)
	}
	if b := masks[1].Box; b == nil || b.Y != 600 {
		t.Errorf("second mask box %+v", masks[1].Box)
	}
	if masks[2].Selector != "#absent" || masks[2].Box != nil {
		t.Errorf("unmatched mask %+v", masks[2])
	}
	// What the masks hide is not in the DOM snapshot either; the rest is.
	for _, secret := range []string{"123-45-6789", "987-65-4321"} {
		if strings.Contains(string(res.DOM), secret) {
			t.Errorf("DOM snapshot holds masked text %q", secret)
		}
	}
	if !strings.Contains(string(res.DOM), "banner") || !strings.Contains(string(res.DOM), "redacted") {
		t.Errorf("DOM snapshot lost the unmasked page or the redaction marks")
	}
}

func TestCapture_JS(t *testing.T) {
	srv := Serve(t, map[string]http.HandlerFunc{"/": HTML(`<body style="margin:0;background:#fff">`)})
	opts := auditshot.CaptureOptions{URL: srv.URL, Width: 100, Height: 100, JS: `document.body.style.background = '#00f'; await new Promise(r => setTimeout(r, 10));`}
	if _, err := Shared(t).Capture(t.Context(), opts, local); auditshot.ErrorCode(err) != auditshot.EFORBIDDEN {
		t.Fatalf("js without the policy: %v, want forbidden", err)
	}
	allow := local
	allow.AllowScripts = true
	res, err := Shared(t).Capture(t.Context(), opts, allow)
	if err != nil {
		t.Fatal(err)
	}
	WantColor(t, Decode(t, res.Data), 50, 50, blue, 0)
	opts.JS = `throw new Error("boom")`
	if _, err := Shared(t).Capture(t.Context(), opts, allow); auditshot.ErrorCode(err) != auditshot.EINVALID || !strings.Contains(err.Error(), "boom") {
		t.Errorf("failing script: %v", err)
	}
}

func TestCapture_Waits(t *testing.T) {
	release := make(chan struct{})
	srv := Serve(t, map[string]http.HandlerFunc{
		"/late":       HTML(`<body style="margin:0"><script>setTimeout(() => { const d = document.createElement('div'); d.id = 'ready'; d.style.cssText = 'height:100px;background:#00f'; document.body.appendChild(d); }, 300)</script>`),
		"/slow-image": HTML(`<body style="margin:0;background:#0f0"><img src="/hang">`),
		"/hang": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		},
		"/font": HTML(`<style>@font-face{font-family:X;src:url(/hang)}</style><body style="font-family:X">text`),
	})
	t.Cleanup(func() { close(release) })

	t.Run("WaitFor", func(t *testing.T) {
		res := MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL + "/late", Width: 100, Height: 100, WaitFor: "#ready"})
		WantColor(t, Decode(t, res.Data), 50, 50, blue, 0)
		if !res.Evidence.Wait.Reached {
			t.Errorf("wait %+v", res.Evidence.Wait)
		}
	})
	t.Run("DOMContentLoaded", func(t *testing.T) {
		res := MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL + "/slow-image", Width: 100, Height: 100, WaitUntil: "domcontentloaded", Timeout: 5000})
		if res.Evidence.Wait.BestAttempt || !res.Evidence.Wait.Reached {
			t.Errorf("domcontentloaded should not wait for the image: %+v", res.Evidence.Wait)
		}
		WantColor(t, Decode(t, res.Data), 50, 50, RGB{0, 255, 0}, 0)
	})
	t.Run("BestAttempt", func(t *testing.T) {
		start := time.Now()
		res := MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL + "/slow-image", Width: 100, Height: 100, Timeout: 3000})
		w := res.Evidence.Wait
		if !w.BestAttempt || w.Reached || w.TimedOut != "load" {
			t.Errorf("wait %+v, want a best attempt after the load timed out", w)
		}
		WantColor(t, Decode(t, res.Data), 50, 50, RGB{0, 255, 0}, 0)
		if time.Since(start) > 14*time.Second {
			t.Errorf("best attempt took %v", time.Since(start))
		}
	})
	t.Run("Strict", func(t *testing.T) {
		_, err := Shared(t).Capture(t.Context(), auditshot.CaptureOptions{URL: srv.URL + "/slow-image", Timeout: 800, Strict: true}, local)
		if auditshot.ErrorCode(err) != auditshot.ETIMEOUT {
			t.Errorf("strict: %v, want timeout", err)
		}
	})
	t.Run("WaitForTimeout", func(t *testing.T) {
		res := MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL + "/late", WaitFor: "#never", Timeout: 2500})
		if w := res.Evidence.Wait; !w.BestAttempt || w.TimedOut != "wait_for" {
			t.Errorf("wait %+v", w)
		}
	})
	t.Run("NetworkIdle", func(t *testing.T) {
		page := `<body style="margin:0;background:#fff"><script>
fetch('/data').then(r => r.text()).then(t => { document.body.style.background = t; });
</script>`
		srv := Serve(t, map[string]http.HandlerFunc{
			"/": HTML(page),
			"/data": func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(300 * time.Millisecond)
				w.Write([]byte("#00f"))
			},
		})
		res := MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL, Width: 100, Height: 100, WaitUntil: "networkidle"})
		WantColor(t, Decode(t, res.Data), 50, 50, blue, 0)
	})
	t.Run("Delay", func(t *testing.T) {
		page := `<body style="margin:0;background:#fff"><script>addEventListener('load', () => setTimeout(() => document.body.style.background = '#00f', 200))</script>`
		srv := Serve(t, map[string]http.HandlerFunc{"/": HTML(page)})
		res := MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL, Width: 100, Height: 100, Delay: 600})
		WantColor(t, Decode(t, res.Data), 50, 50, blue, 0)
	})
	t.Run("Fonts", func(t *testing.T) {
		// A web font that never loads: fonts.ready waits, then the
		// capture goes on and records that fonts were not ready.
		res := MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL + "/font", WaitUntil: "domcontentloaded", Timeout: 2500})
		if res.Evidence.Wait.FontsReady {
			t.Errorf("fonts ready although the font never loaded")
		}
	})
}

// A strict Content-Security-Policy stays in force (the capture shows what a
// user sees), yet css, hide_selectors and masks still apply.
func TestCapture_StrictCSP(t *testing.T) {
	page := `<!doctype html><link rel="stylesheet" href="/s.css"><body>
<div id="a"></div><div id="b"></div><div id="c"></div><div id="d"></div>
<script>document.getElementById('d').style.background = '#f00'</script>`
	css := `body{margin:0;background:#fff} div{position:absolute;top:0;width:50px;height:50px;background:#f00}
#a{left:0} #b{left:60px} #c{left:120px} #d{left:180px;background:#0f0}`
	csp := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'")
			h(w, r)
		}
	}
	srv := Serve(t, map[string]http.HandlerFunc{
		"/": csp(HTML(page)),
		"/s.css": csp(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/css")
			w.Write([]byte(css))
		}),
	})
	res := MustCapture(t, Shared(t), auditshot.CaptureOptions{
		URL: srv.URL, Width: 300, Height: 100,
		CSS:           "#a { background: #00f !important }",
		HideSelectors: []string{"#b"},
		MaskSelectors: []string{"#c"},
	})
	img := Decode(t, res.Data)
	WantColor(t, img, 25, 25, blue, 0)            // css
	WantColor(t, img, 85, 25, white, 0)           // hidden
	WantColor(t, img, 145, 25, black, 0)          // masked
	WantColor(t, img, 205, 25, RGB{0, 255, 0}, 0) // the page's inline script stayed blocked
}
