package server_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/auditshot/auditshot"
)

// TestIdempotency_ConcurrentRetries sends the same request with the same
// Idempotency-Key from many clients at once: one entry is appended, and
// every client gets the first answer.
func TestIdempotency_ConcurrentRetries(t *testing.T) {
	s := startServer(t)
	key := s.key(t, "default", auditshot.ScopeCapture, auditshot.ScopeWrite)
	var run auditshot.Run
	s.must(t, http.StatusCreated, "POST", "/v1/runs", key, map[string]any{"workflow": "w"}).json(t, &run)

	for _, tc := range []struct {
		name, path string
		body       map[string]any
	}{
		{"Event", "/v1/runs/" + run.ID + "/events", map[string]any{"type": "action", "name": "refund_approved", "data": map[string]any{"amount": 500}}},
		{"Screenshot", "/v1/screenshot", map[string]any{"html": "<p>once</p>", "width": 200, "height": 100, "run_id": run.ID, "role": "before"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := s.DB.LogSize(t.Context(), "default")
			const n = 12
			answers := make([]response, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					answers[i] = s.call(t, "POST", tc.path, key, tc.body, "Idempotency-Key", "retry-"+tc.name)
				})
			}
			wg.Wait()
			replayed := 0
			for i, a := range answers {
				if a.Status != http.StatusCreated || string(a.Body) != string(answers[0].Body) {
					t.Fatalf("answer %d: %d %s, first %s", i, a.Status, a.Body, answers[0].Body)
				}
				if a.Header.Get("X-Ledger-Index") != answers[0].Header.Get("X-Ledger-Index") {
					t.Errorf("answer %d has ledger index %s, first %s", i, a.Header.Get("X-Ledger-Index"), answers[0].Header.Get("X-Ledger-Index"))
				}
				if a.Header.Get("Idempotent-Replayed") == "true" {
					replayed++
				}
			}
			if replayed != n-1 {
				t.Errorf("%d answers replayed, want %d", replayed, n-1)
			}
			after, _ := s.DB.LogSize(t.Context(), "default")
			if after != before+1 {
				t.Errorf("log grew by %d entries, want 1", after-before)
			}
		})
	}

	t.Run("ReusedForAnotherRequest", func(t *testing.T) {
		s.must(t, http.StatusCreated, "POST", "/v1/runs", key, map[string]any{"workflow": "a"}, "Idempotency-Key", "k1")
		r := s.call(t, "POST", "/v1/runs", key, map[string]any{"workflow": "b"}, "Idempotency-Key", "k1")
		if r.Status != http.StatusConflict || !contains(r.Body, "different request") {
			t.Errorf("reused key: %d %s", r.Status, r.Body)
		}
	})
	t.Run("ErrorsAreReplayedToo", func(t *testing.T) {
		a := s.call(t, "POST", "/v1/runs/missing/events", key, map[string]any{"name": "x"}, "Idempotency-Key", "k2")
		b := s.call(t, "POST", "/v1/runs/missing/events", key, map[string]any{"name": "x"}, "Idempotency-Key", "k2")
		if a.Status != http.StatusNotFound || b.Status != http.StatusNotFound || b.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("first %d, retry %d replayed=%q", a.Status, b.Status, b.Header.Get("Idempotent-Replayed"))
		}
	})
	t.Run("KeysAreTenantScoped", func(t *testing.T) {
		s.tenant(t, "t2", "unlimited")
		k2 := s.key(t, "t2", auditshot.ScopeWrite)
		var a, b auditshot.Run
		s.must(t, http.StatusCreated, "POST", "/v1/runs", key, map[string]any{"workflow": "same"}, "Idempotency-Key", "shared").json(t, &a)
		s.must(t, http.StatusCreated, "POST", "/v1/runs", k2, map[string]any{"workflow": "same"}, "Idempotency-Key", "shared").json(t, &b)
		if a.TenantID == b.TenantID || a.ID == b.ID {
			t.Errorf("one key across tenants gave %+v and %+v", a, b)
		}
	})
}
