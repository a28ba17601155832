package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sync"

	"github.com/auditshot/auditshot"
)

// replayedHeaders are the response headers an idempotent replay repeats.
var replayedHeaders = []string{"Content-Type", "Location", "X-Ledger-Index", "X-Ledger-Leaf-Hash",
	"X-Capture-Id", "X-Artifact-Sha256", "X-Job-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
	"X-Usage-Period", "X-Usage-Used", "X-Usage-Limit", "X-Usage-Remaining"}

// inflight tracks the Idempotency-Keys whose first request is running in
// this process, so that a concurrent retry waits for its answer.
type inflight struct {
	mu   sync.Mutex
	keys map[string]chan struct{}
}

func newInflight() *inflight { return &inflight{keys: map[string]chan struct{}{}} }

// start makes the caller the owner of key, or returns the channel that
// closes when the current owner finishes.
func (f *inflight) start(key string) (wait chan struct{}, owner bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ch, ok := f.keys[key]; ok {
		return ch, false
	}
	f.keys[key] = make(chan struct{})
	return nil, true
}

func (f *inflight) finish(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.keys[key])
	delete(f.keys, key)
}

// idempotent runs h at most once per tenant and Idempotency-Key: the first
// request's answer is stored and every retry gets it back. A retry that
// arrives while the first request runs waits for it. Answers that changed
// nothing and invite a retry (429, 5xx) are not kept.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, key string, b []byte, h handlerFunc) error {
	if len(key) > 255 {
		return auditshot.Errorf(auditshot.EINVALID, "Idempotency-Key is longer than 255 characters")
	}
	c := callerOf(r)
	if c.key == nil {
		return h(w, r)
	}
	sum := sha256.Sum256(append([]byte(r.Method+" "+r.URL.Path+"\n"), b...))
	rec := &auditshot.IdempotentResponse{TenantID: c.key.TenantID, Key: key, Fingerprint: hex.EncodeToString(sum[:])}
	mem := c.key.TenantID + "\x00" + key
	for {
		wait, owner := s.idem.start(mem)
		if !owner {
			select {
			case <-wait:
				continue
			case <-r.Context().Done():
				return auditshot.Errorf(auditshot.EUNAVAILABLE, "request cancelled while waiting for the first request with this Idempotency-Key")
			}
		}
		return s.runOnce(w, r, rec, mem, h)
	}
}

func (s *Server) runOnce(w http.ResponseWriter, r *http.Request, rec *auditshot.IdempotentResponse, mem string, h handlerFunc) error {
	defer s.idem.finish(mem)
	prev, err := s.cfg.Idempotency.ClaimIdempotencyKey(r.Context(), rec)
	if err != nil && (prev == nil || auditshot.ErrorCode(err) != auditshot.ECONFLICT) {
		return err
	}
	if err != nil {
		switch {
		case prev.Fingerprint != rec.Fingerprint:
			return auditshot.Errorf(auditshot.ECONFLICT, "Idempotency-Key %q was already used for a different request", rec.Key)
		case prev.Status == 0:
			return auditshot.Errorf(auditshot.ECONFLICT, "the first request with Idempotency-Key %q did not finish (the server stopped); check its effect and retry with a new key", rec.Key)
		}
		w.Header().Set("Idempotent-Replayed", "true")
		replay(w, prev.Status, prev.Headers, prev.Body)
		return nil
	}
	out := newRecorder()
	if err := h(out, r); err != nil {
		s.writeError(out, r, err)
	}
	if out.status == 0 {
		out.status = http.StatusOK
	}
	headers := map[string]string{}
	for _, k := range append(replayedHeaders, "Retry-After") {
		if v := out.header.Get(k); v != "" {
			headers[k] = v
		}
	}
	rec.Status, rec.ContentType, rec.Headers, rec.Body = out.status, out.header.Get("Content-Type"), headers, out.body.Bytes()
	ctx := context.WithoutCancel(r.Context())
	if out.status == http.StatusTooManyRequests || out.status >= 500 {
		if err := s.cfg.Idempotency.ReleaseIdempotencyKey(ctx, rec.TenantID, rec.Key); err != nil {
			s.log.Error("release idempotency key", "request_id", requestID(r.Context()), "err", err)
		}
	} else if err := s.cfg.Idempotency.CompleteIdempotencyKey(ctx, rec); err != nil {
		return err
	}
	for k, vs := range out.header {
		w.Header()[k] = vs
	}
	replay(w, out.status, nil, out.body.Bytes())
	return nil
}
