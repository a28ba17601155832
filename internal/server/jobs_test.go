package server_test

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/internal/server"
)

// TestAsyncJob_SecretsNeverStored takes an async capture with a header,
// a cookie and basic auth: the page gets them, and no file of the data
// directory ever holds them.
func TestAsyncJob_SecretsNeverStored(t *testing.T) {
	s := startServer(t)
	key := s.key(t, "default", auditshot.ScopeCapture, auditshot.ScopeRead)
	const token, cookie, password = "tok-9f8e7d6c5b4a", "ck-1a2b3c4d5e6f", "pw-0z9y8x7w6v5u"
	got := make(chan http.Header, 4)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			if r.Header.Get("Authorization") == "" {
				w.Header().Set("WWW-Authenticate", `Basic realm="app"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			got <- r.Header.Clone()
		}
		io.WriteString(w, "<title>secret page</title><p>ok")
	}))
	defer app.Close()
	var job auditshot.Job
	s.must(t, http.StatusAccepted, "POST", "/v1/screenshot", key, map[string]any{
		"url": app.URL, "async": true, "width": 300, "height": 200,
		"headers":    map[string]string{"X-Token": token},
		"cookies":    []map[string]string{{"name": "sid", "value": cookie}},
		"basic_auth": map[string]string{"username": "agent", "password": password},
	}).json(t, &job)
	var h http.Header
	select {
	case h = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("the page was never requested")
	}
	if h.Get("X-Token") != token || !bytes.Contains([]byte(h.Get("Cookie")), []byte(cookie)) || h.Get("Authorization") == "" {
		t.Fatalf("the page did not get the secrets: %v", h)
	}
	eventually(t, 30*time.Second, "the job to finish", func() bool {
		s.must(t, http.StatusOK, "GET", "/v1/jobs/"+job.ID, key, nil).json(t, &job)
		return job.Status.Done()
	})
	if job.Status != auditshot.JobSucceeded {
		t.Fatalf("job %+v %+v", job, job.Error)
	}
	stored, err := s.DB.FindJob(t.Context(), "default", job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(stored.Request, []byte(`"redacted":true`)) {
		t.Errorf("stored request %s is not marked redacted", stored.Request)
	}
	s.DB.Close() // flush the WAL so every byte is on disk where we look
	filepath.WalkDir(s.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, secret := range []string{token, cookie, password} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds the secret %q", path, secret)
			}
		}
		return nil
	})
}

// TestAsyncJob_QueueIsBounded: with one worker busy and the queue full, an
// async request is pushed back with 429 and Retry-After, not accepted.
func TestAsyncJob_QueueIsBounded(t *testing.T) {
	s := startServer(t, func(c *server.Config) { c.JobWorkers, c.MaxQueuedJobs = 1, 1 })
	key := s.key(t, "default", auditshot.ScopeCapture, auditshot.ScopeRead)
	arrived, release := make(chan struct{}, 4), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			arrived <- struct{}{}
			<-release
		}
		io.WriteString(w, "<p>slow")
	}))
	defer slow.Close()
	defer close(release)
	body := map[string]any{"url": slow.URL, "async": true, "timeout": 60000}
	var first, second auditshot.Job
	s.must(t, http.StatusAccepted, "POST", "/v1/screenshot", key, body).json(t, &first)
	select {
	case <-arrived: // the worker is busy with the first job
	case <-time.After(30 * time.Second):
		t.Fatal("the first job never loaded its page")
	}
	s.must(t, http.StatusAccepted, "POST", "/v1/screenshot", key, body).json(t, &second)
	r := s.call(t, "POST", "/v1/screenshot", key, body)
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || !contains(r.Body, "jobs are queued") {
		t.Fatalf("third async capture: %d %s", r.Status, r.Body)
	}
	var j auditshot.Job
	s.must(t, http.StatusOK, "GET", "/v1/jobs/"+second.ID, key, nil).json(t, &j)
	if j.Status != auditshot.JobQueued {
		t.Errorf("second job %s, want queued", j.Status)
	}
}
