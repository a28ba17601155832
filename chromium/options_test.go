package chromium_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/auditshot/auditshot"
)

// blocks is a page of coloured bands: red 0-100px, green 100-200px, blue
// below, on white.
const blocks = `<!doctype html><html><head><title>Blocks</title><style>
body{margin:0;background:#fff} div{height:100px}
#r{background:#f00} #g{background:#008000} #b{background:#00f}
</style></head><body><div id="r"></div><div id="g"></div><div id="b"></div></body></html>`

func TestCapture_Viewport(t *testing.T) {
	srv := Serve(t, map[string]http.HandlerFunc{"/": HTML(blocks)})
	res := MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL, Width: 400, Height: 300})
	img := Decode(t, res.Data)
	if got := img.Bounds().Dx(); got != 400 || img.Bounds().Dy() != 300 {
		t.Fatalf("size = %v, want 400x300", img.Bounds())
	}
	WantColor(t, img, 10, 50, red, 0)
	WantColor(t, img, 10, 150, green, 0)
	WantColor(t, img, 10, 250, blue, 0)
	ev := res.Evidence
	if ev.Status != 200 || ev.Title != "Blocks" || ev.FinalURL != srv.URL+"/" {
		t.Errorf("evidence status=%d title=%q final=%q", ev.Status, ev.Title, ev.FinalURL)
	}
	if res.MediaType != "image/png" || ev.Width != 400 || ev.Height != 300 {
		t.Errorf("media type %q, size %dx%d", res.MediaType, ev.Width, ev.Height)
	}
	if !ev.Wait.Reached || ev.Wait.BestAttempt || !ev.Wait.FontsReady || ev.Wait.Until != "load" {
		t.Errorf("wait = %+v", ev.Wait)
	}
	if !strings.Contains(ev.BrowserVersion, "Chrome") {
		t.Errorf("browser version %q", ev.BrowserVersion)
	}
	if ev.Timings.TotalMS <= 0 || ev.Timings.NavigationMS <= 0 || ev.Timings.CaptureMS <= 0 {
		t.Errorf("timings %+v", ev.Timings)
	}
	if !bytes.Contains(res.DOM, []byte("multipart/related")) || !bytes.Contains(res.DOM, []byte("Blocks")) {
		t.Errorf("DOM snapshot is not MHTML of the page: %.200q", res.DOM)
	}
	if len(ev.Network) == 0 || ev.Network[0].URL != srv.URL+"/" || ev.Network[0].RemoteIP != "127.0.0.1" || ev.Network[0].Status != 200 || ev.Network[0].Bytes == 0 {
		t.Errorf("network log %+v", ev.Network)
	}
	SaveArtifact(t, "viewport.png", res.Data)
}

func TestCapture_HTML(t *testing.T) {
	res := MustCapture(t, Shared(t), auditshot.CaptureOptions{HTML: blocks, Width: 200, Height: 300})
	img := Decode(t, res.Data)
	WantColor(t, img, 5, 150, green, 0)
	if res.Evidence.Title != "Blocks" {
		t.Errorf("title %q", res.Evidence.Title)
	}
	if res.Evidence.Options.HTML != "[redacted]" {
		t.Errorf("effective options keep the html body")
	}
}

func TestCapture_Devices(t *testing.T) {
	page := `<!doctype html><meta name="viewport" content="width=device-width"><title>d</title><body style="margin:0">
<script>document.title = innerWidth + "x" + innerHeight + "@" + devicePixelRatio + " " + navigator.userAgent</script>`
	srv := Serve(t, map[string]http.HandlerFunc{"/": HTML(page)})
	for _, name := range auditshot.DeviceNames() {
		t.Run(name, func(t *testing.T) {
			d := auditshot.Devices[name]
			res := MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL, Device: name})
			want := fmt.Sprintf("%dx%d@%v", d.Width, d.Height, d.DeviceScaleFactor)
			if !strings.HasPrefix(res.Evidence.Title, want) {
				t.Errorf("page saw %q, want %q", res.Evidence.Title, want)
			}
			if d.UserAgent != "" && !strings.HasSuffix(res.Evidence.Title, d.UserAgent) {
				t.Errorf("user agent %q", res.Evidence.Title)
			}
			w, h := int(float64(d.Width)*d.DeviceScaleFactor+0.5), int(float64(d.Height)*d.DeviceScaleFactor+0.5)
			if res.Evidence.Width != w || res.Evidence.Height != h {
				t.Errorf("image %dx%d, want %dx%d", res.Evidence.Width, res.Evidence.Height, w, h)
			}
		})
	}
}

func TestCapture_DeviceScaleFactor(t *testing.T) {
	srv := Serve(t, map[string]http.HandlerFunc{"/": HTML(blocks)})
	res := MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL, Width: 200, Height: 150, DeviceScaleFactor: 2})
	img := Decode(t, res.Data)
	if img.Bounds().Dx() != 400 || img.Bounds().Dy() != 300 {
		t.Fatalf("size %v, want 400x300", img.Bounds())
	}
	WantColor(t, img, 10, 190, red, 0)   // 95 css px
	WantColor(t, img, 10, 210, green, 0) // 105 css px
}

func TestCapture_FullPage(t *testing.T) {
	// 20,000 px tall: beyond Chromium's 16,384 px texture limit, so the
	// engine must tile. A band every 1,000 px has its own colour, and the
	// last band is only drawn once lazily scrolled into view.
	var b strings.Builder
	b.WriteString(`<!doctype html><title>tall</title><style>body{margin:0} div{height:1000px}</style><body>`)
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&b, `<div style="background:rgb(%d,%d,0)"></div>`, i*10, 200-i*10)
	}
	b.WriteString(`<div id="lazy" style="height:500px"></div><script>
new IntersectionObserver(es => es.forEach(e => { if (e.isIntersecting) e.target.style.background = '#00f' })).observe(document.getElementById('lazy'));
</script>`)
	srv := Serve(t, map[string]http.HandlerFunc{"/": HTML(b.String())})
	res := MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL, Width: 300, Height: 400, FullPage: true, MaxHeight: 40000})
	img := Decode(t, res.Data)
	if img.Bounds().Dx() != 300 || img.Bounds().Dy() != 20500 {
		t.Fatalf("size %v, want 300x20500", img.Bounds())
	}
	for i := 0; i < 20; i++ {
		WantColor(t, img, 150, i*1000+500, RGB{uint8(i * 10), uint8(200 - i*10), 0}, 0)
	}
	WantColor(t, img, 150, 20250, blue, 0)
	if res.Evidence.Truncated || res.Evidence.ContentHeight != 20500 {
		t.Errorf("truncated=%v content height=%d", res.Evidence.Truncated, res.Evidence.ContentHeight)
	}

	t.Run("MaxHeight", func(t *testing.T) {
		res := MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL, Width: 300, Height: 400, FullPage: true, MaxHeight: 2500})
		img := Decode(t, res.Data)
		if img.Bounds().Dy() != 2500 || !res.Evidence.Truncated {
			t.Fatalf("height %d truncated %v, want 2500 true", img.Bounds().Dy(), res.Evidence.Truncated)
		}
		WantColor(t, img, 150, 2400, RGB{20, 180, 0}, 0)
	})
}

func TestCapture_SelectorAndClip(t *testing.T) {
	page := `<!doctype html><body style="margin:0;background:#fff">
<div style="height:1500px"></div>
<div id="target" style="margin-left:50px;width:120px;height:80px;background:#00f;border-top:10px solid #f00"></div>`
	srv := Serve(t, map[string]http.HandlerFunc{"/": HTML(page)})
	res := MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL, Width: 400, Height: 300, Selector: "#target"})
	img := Decode(t, res.Data)
	if img.Bounds().Dx() != 120 || img.Bounds().Dy() != 90 {
		t.Fatalf("element image %v, want 120x90", img.Bounds())
	}
	WantColor(t, img, 60, 5, red, 0)
	WantColor(t, img, 60, 50, blue, 0)

	res = MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL, Width: 400, Height: 300, Clip: &auditshot.Rect{X: 40, Y: 1495, Width: 30, Height: 40}})
	img = Decode(t, res.Data)
	if img.Bounds().Dx() != 30 || img.Bounds().Dy() != 40 {
		t.Fatalf("clip image %v, want 30x40", img.Bounds())
	}
	WantColor(t, img, 2, 2, white, 0)  // left of the element
	WantColor(t, img, 20, 10, red, 0)  // its border
	WantColor(t, img, 20, 30, blue, 0) // its body

	_, err := Shared(t).Capture(t.Context(), auditshot.CaptureOptions{URL: srv.URL, Selector: "#missing"}, local)
	if auditshot.ErrorCode(err) != auditshot.EINVALID || !strings.Contains(err.Error(), "#missing") {
		t.Errorf("missing selector: %v", err)
	}
}

func TestCapture_Formats(t *testing.T) {
	srv := Serve(t, map[string]http.HandlerFunc{"/": HTML(blocks)})
	for _, tc := range []struct {
		format, media string
		magic         []byte
		tol           int
	}{
		{"png", "image/png", []byte("\x89PNG"), 0},
		{"jpeg", "image/jpeg", []byte("\xff\xd8\xff"), 8},
		{"webp", "image/webp", []byte("RIFF"), 20},
	} {
		t.Run(tc.format, func(t *testing.T) {
			res := MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL, Width: 200, Height: 300, Format: tc.format})
			if !bytes.HasPrefix(res.Data, tc.magic) || res.MediaType != tc.media {
				t.Fatalf("got %q %.4q", res.MediaType, res.Data)
			}
			WantColor(t, Decode(t, res.Data), 100, 150, green, tc.tol)
		})
	}
	t.Run("Quality", func(t *testing.T) {
		noisy := `<body style="margin:0"><canvas id=c width=400 height=300></canvas><script>
const x = document.getElementById('c').getContext('2d'); let s = 1;
for (let i = 0; i < 400; i += 4) for (let j = 0; j < 300; j += 4) { s = (s * 16807) % 2147483647; x.fillStyle = '#' + (s % 16777216).toString(16).padStart(6, '0'); x.fillRect(i, j, 4, 4); }
</script>`
		srv := Serve(t, map[string]http.HandlerFunc{"/": HTML(noisy)})
		lo := MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL, Width: 400, Height: 300, Format: "jpeg", Quality: 10})
		hi := MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL, Width: 400, Height: 300, Format: "jpeg", Quality: 95})
		if len(lo.Data)*2 > len(hi.Data) {
			t.Errorf("quality 10 is %d bytes, quality 95 %d: want far smaller", len(lo.Data), len(hi.Data))
		}
	})
	t.Run("OmitBackground", func(t *testing.T) {
		srv := Serve(t, map[string]http.HandlerFunc{"/": HTML(`<body style="margin:0"><div style="width:50px;height:50px;background:#f00"></div>`)})
		res := MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL, Width: 200, Height: 100, OmitBackground: true})
		img := Decode(t, res.Data)
		if a := Alpha(img, 150, 50); a != 0 {
			t.Errorf("background alpha %d, want 0", a)
		}
		if a := Alpha(img, 25, 25); a != 255 {
			t.Errorf("element alpha %d, want 255", a)
		}
	})
	t.Run("PDF", func(t *testing.T) {
		margin := 0.0
		res := MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL, Format: "pdf", PDF: &auditshot.PDFOptions{Paper: "letter", Landscape: true, PrintBackground: true, Margin: &margin}})
		if !bytes.HasPrefix(res.Data, []byte("%PDF-")) || res.MediaType != "application/pdf" {
			t.Fatalf("not a PDF: %.8q", res.Data)
		}
		// Letter landscape: 792 x 612 points.
		if !bytes.Contains(res.Data, []byte("/MediaBox [0 0 792 612]")) {
			t.Errorf("PDF media box is not US letter landscape")
		}
	})
}

func TestCapture_MediaEmulation(t *testing.T) {
	page := `<!doctype html><style>
body{margin:0} #s{height:50px;background:#fff} #m{height:50px;background:#fff} #p{height:50px;background:#fff}
@media (prefers-color-scheme: dark){#s{background:#000}}
@media (prefers-reduced-motion: reduce){#m{background:#00f}}
@media print{#p{background:#f00}}
</style><body><div id="s"></div><div id="m"></div><div id="p"></div>`
	srv := Serve(t, map[string]http.HandlerFunc{"/": HTML(page)})
	plain := Decode(t, MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL, Width: 100, Height: 150}).Data)
	WantColor(t, plain, 50, 25, white, 0)
	WantColor(t, plain, 50, 75, white, 0)
	WantColor(t, plain, 50, 125, white, 0)
	emu := Decode(t, MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL, Width: 100, Height: 150, DarkMode: true, ReducedMotion: true, MediaType: "print"}).Data)
	WantColor(t, emu, 50, 25, black, 0)
	WantColor(t, emu, 50, 75, blue, 0)
	WantColor(t, emu, 50, 125, red, 0)
}

func TestCapture_TimezoneLocaleUserAgent(t *testing.T) {
	page := `<script>document.title = JSON.stringify({tz: Intl.DateTimeFormat().resolvedOptions().timeZone, lang: navigator.language, ua: navigator.userAgent, al: ""})</script>`
	var gotLang, gotUA string
	srv := Serve(t, map[string]http.HandlerFunc{"/": func(w http.ResponseWriter, r *http.Request) {
		gotLang, gotUA = r.Header.Get("Accept-Language"), r.Header.Get("User-Agent")
		HTML(page)(w, r)
	}})
	res := MustCapture(t, Shared(t), auditshot.CaptureOptions{URL: srv.URL, Timezone: "Asia/Tokyo", Locale: "de-DE", UserAgent: "auditshot-test/1.0"})
	var seen struct{ TZ, Lang, UA string }
	if err := json.Unmarshal([]byte(res.Evidence.Title), &seen); err != nil {
		t.Fatalf("title %q: %v", res.Evidence.Title, err)
	}
	if seen.TZ != "Asia/Tokyo" || seen.Lang != "de-DE" || seen.UA != "auditshot-test/1.0" {
		t.Errorf("page saw %+v", seen)
	}
	if !strings.HasPrefix(gotLang, "de-DE") || gotUA != "auditshot-test/1.0" {
		t.Errorf("server saw Accept-Language %q, User-Agent %q", gotLang, gotUA)
	}
}

func TestCapture_HeadersCookiesBasicAuth(t *testing.T) {
	var thirdParty http.Header
	third := Serve(t, map[string]http.HandlerFunc{"/pixel": func(w http.ResponseWriter, r *http.Request) {
		thirdParty = r.Header.Clone()
		w.WriteHeader(204)
	}})
	// Served on localhost, another origin than 127.0.0.1 would be; but
	// loopback names are refused, so the third party is 127.0.0.1 on
	// another port: another origin all the same.
	srv := Serve(t, map[string]http.HandlerFunc{"/": func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		c, _ := r.Cookie("session")
		if !ok || u != "ada" || p != "s3cret" || c == nil || c.Value != "abc123" || r.Header.Get("X-Tenant") != "acme" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(401)
			return
		}
		HTML(`<title>inside</title><img src="`+third.URL+`/pixel">`)(w, r)
	}})
	res, err := Shared(t).Capture(t.Context(), auditshot.CaptureOptions{
		URL:       srv.URL,
		Headers:   map[string]string{"X-Tenant": "acme"},
		Cookies:   []auditshot.Cookie{{Name: "session", Value: "abc123"}},
		BasicAuth: &auditshot.BasicAuth{Username: "ada", Password: "s3cret"},
	}, local)
	if err != nil {
		t.Fatal(err)
	}
	if res.Evidence.Title != "inside" || res.Evidence.Status != 200 {
		t.Fatalf("did not get past the login: status %d title %q", res.Evidence.Status, res.Evidence.Title)
	}
	if thirdParty == nil {
		t.Fatal("third-party request not made")
	}
	if thirdParty.Get("X-Tenant") != "" || thirdParty.Get("Authorization") != "" {
		t.Errorf("credentials leaked to a third party: %v", thirdParty)
	}
	opts, _ := json.Marshal(res.Evidence)
	for _, secret := range []string{"s3cret", "abc123", "acme"} {
		if bytes.Contains(opts, []byte(secret)) {
			t.Errorf("evidence contains secret %q", secret)
		}
	}
}
