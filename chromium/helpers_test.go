package chromium_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	_ "golang.org/x/image/webp"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/chromium"
	"github.com/auditshot/auditshot/egress"
)

var (
	sharedOnce sync.Once
	shared     *chromium.Engine
	sharedErr  error
)

// testLogger logs warnings and worse to stderr when -v is set.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// MustEngine returns a new engine closed at the end of the test.
func MustEngine(tb testing.TB, cfg chromium.Config) *chromium.Engine {
	tb.Helper()
	if cfg.Egress == nil {
		cfg.Egress = egress.New(egress.Config{Logger: testLogger()})
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	e, err := chromium.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close() })
	if err := e.Start(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	return e
}

// Shared returns the engine most tests share (one browser for the package).
func Shared(tb testing.TB) *chromium.Engine {
	tb.Helper()
	sharedOnce.Do(func() {
		shared, sharedErr = chromium.New(chromium.Config{
			Egress: egress.New(egress.Config{Logger: testLogger()}),
			Logger: testLogger(),
		})
		if sharedErr == nil {
			sharedErr = shared.Start(context.Background())
		}
	})
	if sharedErr != nil {
		tb.Fatal(sharedErr)
	}
	return shared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	os.Exit(code)
}

// local is the policy of tests: pages on 127.0.0.1 only.
var local = auditshot.CapturePolicy{Egress: auditshot.EgressPolicy{Allow: []string{"127.0.0.1"}}}

// Serve starts an HTTP server on 127.0.0.1 with the handlers by path.
func Serve(tb testing.TB, routes map[string]http.HandlerFunc) *httptest.Server {
	tb.Helper()
	mux := http.NewServeMux()
	for p, h := range routes {
		mux.HandleFunc(p, h)
	}
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

// HTML answers with a fixed HTML page.
func HTML(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, body)
	}
}

// MustCapture captures and fails the test on error.
func MustCapture(tb testing.TB, e *chromium.Engine, o auditshot.CaptureOptions) *auditshot.CaptureResult {
	tb.Helper()
	if o.Timeout == 0 {
		o.Timeout = 15000
	}
	res, err := e.Capture(tb.Context(), o, local)
	if err != nil {
		tb.Fatalf("capture %s: %v", o.URL, err)
	}
	return res
}

// Decode decodes an image result.
func Decode(tb testing.TB, data []byte) image.Image {
	tb.Helper()
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("decode image: %v", err)
	}
	return img
}

// RGB is an opaque colour for comparisons.
type RGB struct{ R, G, B uint8 }

func (c RGB) String() string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// At returns the colour at x, y.
func At(img image.Image, x, y int) RGB {
	c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
	return RGB{c.R, c.G, c.B}
}

// Alpha returns the alpha at x, y.
func Alpha(img image.Image, x, y int) uint8 {
	return color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA).A
}

// Near reports whether two colours are within tol per channel (JPEG, WebP).
func Near(a, b RGB, tol int) bool {
	d := func(x, y uint8) int {
		if x > y {
			return int(x - y)
		}
		return int(y - x)
	}
	return d(a.R, b.R) <= tol && d(a.G, b.G) <= tol && d(a.B, b.B) <= tol
}

// WantColor fails when the pixel at x, y is not want (within tol).
func WantColor(tb testing.TB, img image.Image, x, y int, want RGB, tol int) {
	tb.Helper()
	if got := At(img, x, y); !Near(got, want, tol) {
		tb.Errorf("pixel (%d,%d) = %v, want %v", x, y, got, want)
	}
}

// SaveArtifact writes data under testoutput/ for a person to look at.
func SaveArtifact(tb testing.TB, name string, data []byte) {
	tb.Helper()
	if err := os.MkdirAll("testoutput", 0o755); err == nil {
		_ = os.WriteFile("testoutput/"+name, data, 0o644)
	}
}

// Eventually waits for cond, polling, up to d.
func Eventually(tb testing.TB, d time.Duration, cond func() bool) bool {
	tb.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

var (
	red   = RGB{255, 0, 0}
	green = RGB{0, 128, 0}
	blue  = RGB{0, 0, 255}
	white = RGB{255, 255, 255}
	black = RGB{0, 0, 0}
)
