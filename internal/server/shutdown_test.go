package server_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/sqlite"
)

// TestGracefulShutdownUnderLoad stops the server while 16 clients append
// events and a capture is in flight: the capture finishes and is
// answered, and every acknowledged entry is in the log after a reopen.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	s := startServer(t)
	key := s.key(t, "default", auditshot.ScopeCapture, auditshot.ScopeWrite)
	var run auditshot.Run
	s.must(t, http.StatusCreated, "POST", "/v1/runs", key, map[string]any{"workflow": "load"}).json(t, &run)

	// A page that answers only when told, so a capture is in flight.
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			once.Do(func() { close(arrived) })
			<-release
		}
		io.WriteString(w, "<title>slow</title><p>done")
	}))
	defer slow.Close()

	type ack struct {
		index int64
		leaf  string
	}
	var (
		mu     sync.Mutex
		acks   []ack
		count  atomic.Int64
		bad    atomic.Value
		enough = make(chan struct{})
		signal sync.Once
	)
	client := &http.Client{}
	post := func(path string, body any) (*http.Response, []byte, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", s.URL+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		rb, err := io.ReadAll(resp.Body)
		return resp, rb, err
	}
	record := func(resp *http.Response, body []byte) bool {
		if resp.StatusCode != http.StatusCreated {
			bad.Store(strconv.Itoa(resp.StatusCode) + " " + string(body))
			return false
		}
		idx, _ := strconv.ParseInt(resp.Header.Get("X-Ledger-Index"), 10, 64)
		mu.Lock()
		acks = append(acks, ack{idx, resp.Header.Get("X-Ledger-Leaf-Hash")})
		mu.Unlock()
		if count.Add(1) >= 300 {
			signal.Do(func() { close(enough) })
		}
		return true
	}
	var wg sync.WaitGroup
	for c := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				resp, body, err := post("/v1/runs/"+run.ID+"/events", map[string]any{"type": "action", "name": "e",
					"data": map[string]any{"client": c, "i": i}})
				if err != nil || !record(resp, body) {
					return // the server stopped taking connections
				}
			}
		})
	}
	captured := make(chan error, 1)
	go func() {
		resp, body, err := post("/v1/screenshot", map[string]any{"url": slow.URL, "run_id": run.ID, "role": "after", "timeout": 60000})
		if err == nil && !record(resp, body) {
			err = io.ErrUnexpectedEOF
		}
		captured <- err
	}()
	<-enough
	<-arrived
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	// The capture's page answers only once shutdown has begun.
	eventually(t, 10*time.Second, "the server to refuse new connections", func() bool {
		_, err := http.Get(s.URL + "/healthz")
		return err != nil
	})
	close(release)
	if err := <-captured; err != nil {
		t.Fatalf("the capture in flight at shutdown was not answered: %v (last bad answer %v)", err, bad.Load())
	}
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	wg.Wait()
	if b := bad.Load(); b != nil {
		t.Errorf("a request got a bad answer during shutdown: %v", b)
	}

	// Reopen the database from disk: every acknowledged entry is there.
	s.DB.Close()
	db, err := sqlite.Open(t.Context(), filepath.Join(s.Dir, "auditshot.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t.Logf("%d entries acknowledged before and during shutdown", len(acks))
	for _, a := range acks {
		e, err := db.Entries(t.Context(), "default", a.index, a.index+1)
		if err != nil {
			t.Fatalf("acknowledged entry %d: %v", a.index, err)
		}
		leaf := ledger.LeafHash(e[0])
		if hex.EncodeToString(leaf[:]) != a.leaf {
			t.Fatalf("entry %d has leaf %x, acknowledged %s", a.index, leaf, a.leaf)
		}
	}
	if err := db.Verify(t.Context(), "default"); err != nil {
		t.Errorf("verify after shutdown: %v", err)
	}
}
