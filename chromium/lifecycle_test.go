package chromium_test

import (
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/chromium"
)

func TestEngine_CrashRecovery(t *testing.T) {
	e := MustEngine(t, chromium.Config{Concurrency: 1})
	srv := Serve(t, map[string]http.HandlerFunc{"/": HTML(blocks)})
	MustCapture(t, e, auditshot.CaptureOptions{URL: srv.URL})
	p := e.BrowserProcess()
	if p == nil {
		t.Fatal("no browser process")
	}
	old := p.Pid
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	res := MustCapture(t, e, auditshot.CaptureOptions{URL: srv.URL, Width: 100, Height: 300})
	WantColor(t, Decode(t, res.Data), 50, 150, green, 0)
	st := e.Stats()
	if st.PID == old || st.PID == 0 || st.Restarts != 1 {
		t.Errorf("after the kill: %+v (old pid %d)", st, old)
	}
}

func TestEngine_Recycle(t *testing.T) {
	e := MustEngine(t, chromium.Config{Concurrency: 1, RecycleAfter: 2})
	pids := map[int]bool{}
	for range 5 {
		MustCapture(t, e, auditshot.CaptureOptions{HTML: blocks})
		pids[e.Stats().PID] = true
	}
	if st := e.Stats(); st.Recycles != 2 || len(pids) != 3 {
		t.Errorf("stats %+v over %d browsers, want 2 recycles and 3 browsers", st, len(pids))
	}
}

func TestEngine_Backpressure(t *testing.T) {
	e := MustEngine(t, chromium.Config{Concurrency: 1, QueueSize: 1, Prewarm: -1})
	block := make(chan struct{})
	started := make(chan struct{}, 4)
	srv := Serve(t, map[string]http.HandlerFunc{"/": func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-block
		HTML("<title>done</title>")(w, r)
	}})
	var wg sync.WaitGroup
	results := make(chan error, 2)
	wg.Go(func() {
		_, err := e.Capture(t.Context(), auditshot.CaptureOptions{URL: srv.URL, Timeout: 20000}, local)
		results <- err
	})
	<-started // the first capture holds the only slot
	wg.Go(func() {
		_, err := e.Capture(t.Context(), auditshot.CaptureOptions{URL: srv.URL, Timeout: 20000}, local)
		results <- err
	})
	if !Eventually(t, 10e9, func() bool { return e.Stats().Queued == 1 }) {
		t.Fatal("second capture never queued")
	}
	_, err := e.Capture(t.Context(), auditshot.CaptureOptions{URL: srv.URL}, local)
	var ae *auditshot.Error
	if !errors.Is(err, auditshot.ErrPushback) || !errors.As(err, &ae) || ae.Code != auditshot.EUNAVAILABLE || ae.RetryAfter <= 0 {
		t.Fatalf("third capture: %v, want pushback with Retry-After", err)
	}
	close(block)
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Errorf("queued capture failed: %v", err)
		}
	}
}

func TestEngine_InvalidOptions(t *testing.T) {
	e := Shared(t)
	for name, o := range map[string]auditshot.CaptureOptions{
		"url":                 {URL: "file:///etc/passwd"},
		"format":              {URL: "http://127.0.0.1/", Format: "gif"},
		"device":              {URL: "http://127.0.0.1/", Device: "nokia"},
		"device_scale_factor": {URL: "http://127.0.0.1/", DeviceScaleFactor: 4},
		"wait_until":          {URL: "http://127.0.0.1/", WaitUntil: "forever"},
		"timezone":            {URL: "http://127.0.0.1/", Timezone: "Mars/Olympus"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.Capture(t.Context(), o, local)
			var ae *auditshot.Error
			if !errors.As(err, &ae) || ae.Code != auditshot.EINVALID || len(ae.Message) < len(name) || ae.Message[:len(name)] != name {
				t.Errorf("got %v, want an EINVALID error naming %q", err, name)
			}
		})
	}
}
