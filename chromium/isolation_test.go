package chromium_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/auditshot/auditshot"
)

// The page reports what earlier captures may have left behind, then leaves
// its own traces: a cookie, localStorage, IndexedDB, the HTTP cache and a
// service worker.
const tracePage = `<!doctype html><title>pending</title><script>
(async () => {
  const token = new URLSearchParams(location.search).get('token');
  const seen = {
    cookie: document.cookie,
    local: localStorage.getItem('token'),
    session: sessionStorage.getItem('token'),
    sw: navigator.serviceWorker ? (await navigator.serviceWorker.getRegistrations()).length : -1,
    idb: await new Promise(res => { const r = indexedDB.open('trace'); r.onupgradeneeded = () => { r.result.createObjectStore('t'); }; r.onsuccess = () => { const db = r.result; const tx = db.transaction('t', 'readonly'); const g = tx.objectStore('t').get('token'); g.onsuccess = () => res(g.result || null); g.onerror = () => res(null); }; r.onerror = () => res('error'); }),
  };
  document.cookie = 'token=' + token + '; max-age=3600';
  localStorage.setItem('token', token);
  sessionStorage.setItem('token', token);
  await new Promise(res => { const r = indexedDB.open('trace'); r.onsuccess = () => { const tx = r.result.transaction('t', 'readwrite'); tx.objectStore('t').put(token, 'token'); tx.oncomplete = res; }; });
  await fetch('/cached.js');
  if (navigator.serviceWorker) { await navigator.serviceWorker.register('/sw.js'); await navigator.serviceWorker.ready; }
  document.title = JSON.stringify(seen);
  const d = document.createElement('div'); d.id = 'done'; document.body.appendChild(d);
})();
</script>`

type traces struct {
	Cookie  string
	Local   *string
	Session *string
	SW      int
	IDB     *string
}

func traceServer(t *testing.T) (url string, cacheHits *atomic.Int64) {
	cacheHits = new(atomic.Int64)
	srv := Serve(t, map[string]http.HandlerFunc{
		"/": HTML(tracePage),
		"/cached.js": func(w http.ResponseWriter, r *http.Request) {
			cacheHits.Add(1)
			w.Header().Set("Cache-Control", "public, max-age=3600")
			w.Header().Set("Content-Type", "text/javascript")
			w.Write([]byte("// cached"))
		},
		"/sw.js": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript")
			w.Write([]byte("self.addEventListener('fetch', () => {});"))
		},
	})
	return srv.URL, cacheHits
}

func captureTraces(t *testing.T, url, token string) (traces, error) {
	var tr traces
	res, err := Shared(t).Capture(t.Context(), auditshot.CaptureOptions{URL: url + "/?token=" + token, WaitFor: "#done", Strict: true, Timeout: 15000}, local)
	if err != nil {
		return tr, fmt.Errorf("capture %s: %w", token, err)
	}
	if err := json.Unmarshal([]byte(res.Evidence.Title), &tr); err != nil {
		return tr, fmt.Errorf("capture %s: title %q: %w", token, res.Evidence.Title, err)
	}
	return tr, nil
}

func TestCapture_Isolation(t *testing.T) {
	url, hits := traceServer(t)
	first, err := captureTraces(t, url, "first")
	if err != nil {
		t.Fatal(err)
	}
	if first != (traces{SW: 0}) {
		t.Fatalf("first capture saw traces: %+v", first)
	}
	second, err := captureTraces(t, url, "second")
	if err != nil {
		t.Fatal(err)
	}
	if second != (traces{SW: 0}) {
		t.Errorf("second capture saw traces of the first: %+v", second)
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("cached resource fetched %d times, want 2 (no shared HTTP cache)", n)
	}
}

func TestCapture_IsolationConcurrent(t *testing.T) {
	url, _ := traceServer(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Go(func() {
			tr, err := captureTraces(t, url, fmt.Sprintf("token-%d", i))
			if err != nil {
				errs <- err.Error()
			} else if tr != (traces{SW: 0}) {
				errs <- fmt.Sprintf("capture %d saw %+v", i, tr)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
