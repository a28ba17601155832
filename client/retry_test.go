package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/client"
)

// fakeAPI answers requests with the answers in order (the last one
// repeats) and records the requests.
type fakeAPI struct {
	mu       sync.Mutex
	answers  []func(w http.ResponseWriter, r *http.Request)
	requests []*http.Request
	times    []time.Time
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r)
	f.times = append(f.times, time.Now())
	a := f.answers[min(len(f.requests), len(f.answers))-1]
	f.mu.Unlock()
	w.Header().Set("X-Request-Id", "req_fake")
	a(w, r)
}

func (f *fakeAPI) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// startFake serves answers and returns a client of it with cfg.
func startFake(t *testing.T, cfg client.Config, answers ...func(w http.ResponseWriter, r *http.Request)) (*fakeAPI, *client.Client) {
	t.Helper()
	f := &fakeAPI{answers: answers}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg.BaseURL, cfg.APIKey = srv.URL, "ask_test_0123456789abcdef"
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func answer(status int, retryAfter, body string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

const (
	runBody     = `{"id":"r1","tenant_id":"default","workflow":"w","status":"running","started":{"index":3,"leaf_hash":"ab"}}`
	limitedBody = `{"error":{"code":"rate_limited","message":"slow down","request_id":"req_fake"}}`
	invalidBody = `{"error":{"code":"invalid","message":"workflow: required","request_id":"req_fake"}}`
	busyBody    = `{"error":{"code":"unavailable","message":"busy","request_id":"req_fake"}}`
)

func TestRetry(t *testing.T) {
	t.Parallel()

	t.Run("RetryAfter", func(t *testing.T) {
		t.Parallel()
		f, c := startFake(t, client.Config{}, answer(429, "1", limitedBody), answer(201, "", runBody))
		start := time.Now()
		run, err := c.CreateRun(t.Context(), client.RunRequest{Workflow: "w"})
		elapsed := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if run.ID != "r1" || run.Started.Index != 3 {
			t.Errorf("run %+v", run)
		}
		if f.count() != 2 {
			t.Fatalf("%d requests, want 2", f.count())
		}
		k1, k2 := f.requests[0].Header.Get("Idempotency-Key"), f.requests[1].Header.Get("Idempotency-Key")
		if k1 == "" || k1 != k2 {
			t.Errorf("Idempotency-Keys %q and %q, want one key for both attempts", k1, k2)
		}
		if gap := f.times[1].Sub(f.times[0]); gap < time.Second || elapsed < time.Second {
			t.Errorf("retried after %s (call took %s), want at least the Retry-After of 1s", gap, elapsed)
		}
		if a := f.requests[0].Header.Get("Authorization"); a != "Bearer ask_test_0123456789abcdef" {
			t.Errorf("Authorization %q", a)
		}
	})

	t.Run("NewKeyPerCall", func(t *testing.T) {
		t.Parallel()
		f, c := startFake(t, client.Config{}, answer(201, "", runBody))
		for range 2 {
			if _, err := c.CreateRun(t.Context(), client.RunRequest{Workflow: "w"}); err != nil {
				t.Fatal(err)
			}
		}
		if k1, k2 := f.requests[0].Header.Get("Idempotency-Key"), f.requests[1].Header.Get("Idempotency-Key"); k1 == k2 {
			t.Errorf("two calls sent the same Idempotency-Key %q", k1)
		}
	})

	t.Run("CallerKey", func(t *testing.T) {
		t.Parallel()
		f, c := startFake(t, client.Config{}, answer(201, "", runBody))
		ctx := client.WithIdempotencyKey(t.Context(), "refund-1042")
		if _, err := c.CreateRun(ctx, client.RunRequest{Workflow: "w"}); err != nil {
			t.Fatal(err)
		}
		if k := f.requests[0].Header.Get("Idempotency-Key"); k != "refund-1042" {
			t.Errorf("Idempotency-Key %q, want the caller's", k)
		}
	})

	t.Run("NoRetryOn400", func(t *testing.T) {
		t.Parallel()
		f, c := startFake(t, client.Config{RetryBackoff: time.Millisecond}, answer(400, "", invalidBody), answer(201, "", runBody))
		_, err := c.CreateRun(t.Context(), client.RunRequest{})
		wantCode(t, err, auditshot.EINVALID, 400)
		if auditshot.ErrorMessage(err) != "workflow: required" {
			t.Errorf("message %q", auditshot.ErrorMessage(err))
		}
		if f.count() != 1 {
			t.Errorf("%d requests, want 1: a 400 is not retried", f.count())
		}
	})

	t.Run("RetryAfterTooLong", func(t *testing.T) {
		t.Parallel()
		f, c := startFake(t, client.Config{MaxRetryWait: time.Second}, answer(503, "120", busyBody), answer(200, "", runBody))
		_, err := c.GetRun(t.Context(), "r1")
		wantCode(t, err, auditshot.EUNAVAILABLE, 503)
		var ae *client.Error
		if errors.As(err, &ae); ae.RetryAfter != 2*time.Minute {
			t.Errorf("RetryAfter %s, want 2m", ae.RetryAfter)
		}
		if f.count() != 1 {
			t.Errorf("%d requests, want 1: a Retry-After beyond MaxRetryWait is returned", f.count())
		}
	})

	t.Run("Exhausted", func(t *testing.T) {
		t.Parallel()
		f, c := startFake(t, client.Config{Retries: 2, RetryBackoff: time.Millisecond}, answer(503, "", busyBody))
		_, err := c.GetRun(t.Context(), "r1")
		wantCode(t, err, auditshot.EUNAVAILABLE, 503)
		if f.count() != 3 {
			t.Errorf("%d requests, want 3 (2 retries)", f.count())
		}
	})

	t.Run("NoRetries", func(t *testing.T) {
		t.Parallel()
		f, c := startFake(t, client.Config{Retries: -1}, answer(503, "", busyBody), answer(200, "", runBody))
		_, err := c.GetRun(t.Context(), "r1")
		wantCode(t, err, auditshot.EUNAVAILABLE, 503)
		if f.count() != 1 {
			t.Errorf("%d requests, want 1", f.count())
		}
	})

	t.Run("ConnectionError", func(t *testing.T) {
		t.Parallel()
		hangUp := func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close()
		}
		f, c := startFake(t, client.Config{RetryBackoff: time.Millisecond}, hangUp, answer(200, "", runBody))
		run, err := c.GetRun(t.Context(), "r1")
		if err != nil {
			t.Fatal(err)
		}
		if run.ID != "r1" || f.count() != 2 {
			t.Errorf("run %q after %d requests, want r1 after 2", run.ID, f.count())
		}
	})

	t.Run("NotJSON", func(t *testing.T) {
		t.Parallel()
		_, c := startFake(t, client.Config{}, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "bad gateway", http.StatusBadGateway)
		})
		_, err := c.GetRun(t.Context(), "r1")
		wantCode(t, err, auditshot.EINTERNAL, 502)
	})

	t.Run("ContextDone", func(t *testing.T) {
		t.Parallel()
		f, c := startFake(t, client.Config{MaxRetryWait: time.Minute}, answer(429, "30", limitedBody))
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := c.GetRun(ctx, "r1")
		wantCode(t, err, auditshot.ERATELIMIT, 429)
		if f.count() != 1 || time.Since(start) > 20*time.Second {
			t.Errorf("%d requests in %s, want 1, ended by the context", f.count(), time.Since(start))
		}
	})
}

func TestArtifact_Corrupt(t *testing.T) {
	t.Parallel()
	_, c := startFake(t, client.Config{}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte("not what was hashed"))
	})
	_, err := c.ArtifactBytes(t.Context(), "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	if err == nil {
		t.Fatal("ArtifactBytes accepted content that does not match its hash")
	}
}
