package server_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/auditshot/auditshot"
)

func TestQuota_MonthlyLimitAnswers402(t *testing.T) {
	s := startServer(t)
	s.tenant(t, "small", map[string]any{"captures_per_month": 2, "captures_per_minute": 0})
	key := s.key(t, "small", auditshot.ScopeCapture, auditshot.ScopeRead)
	shot := map[string]any{"html": "<p>quota</p>", "width": 200, "height": 100}

	// A capture that fails (a refused address) does not use the quota.
	if r := s.call(t, "POST", "/v1/screenshot", key, map[string]any{"url": "http://127.0.0.1:9/"}); r.Status != http.StatusForbidden {
		t.Fatalf("refused capture: %d %s", r.Status, r.Body)
	}
	for i := 1; i <= 2; i++ {
		r := s.must(t, http.StatusCreated, "POST", "/v1/screenshot", key, shot)
		if got := r.Header.Get("X-Usage-Used"); got != strconv.Itoa(i) || r.Header.Get("X-Usage-Limit") != "2" ||
			r.Header.Get("X-Usage-Remaining") != strconv.Itoa(2-i) {
			t.Errorf("capture %d: X-Usage-Used %q Limit %q Remaining %q", i, got, r.Header.Get("X-Usage-Limit"), r.Header.Get("X-Usage-Remaining"))
		}
	}
	r := s.call(t, "POST", "/v1/screenshot", key, shot)
	if r.Status != http.StatusPaymentRequired || r.errorCode() != auditshot.EQUOTA || r.Header.Get("X-Usage-Remaining") != "0" {
		t.Fatalf("over quota: %d %s %v", r.Status, r.Body, r.Header)
	}
	// Async captures are counted when accepted, so they are refused too.
	if r := s.call(t, "POST", "/v1/screenshot", key, map[string]any{"html": "<p>x</p>", "async": true}); r.Status != http.StatusPaymentRequired {
		t.Errorf("async over quota: %d", r.Status)
	}
	var u struct {
		Captures  int64
		Limit     int64
		Remaining *int64
	}
	s.must(t, http.StatusOK, "GET", "/v1/usage", key, nil).json(t, &u)
	if u.Captures != 2 || u.Limit != 2 || u.Remaining == nil || *u.Remaining != 0 {
		t.Errorf("usage %+v", u)
	}
	// Raising the plan lets captures through again.
	s.must(t, http.StatusOK, "PATCH", "/v1/tenants/small", s.Admin, map[string]any{"plan": map[string]any{"captures_per_month": 3}})
	s.must(t, http.StatusCreated, "POST", "/v1/screenshot", key, shot)
}

func TestQuota_RateLimitAnswers429WithRetryAfter(t *testing.T) {
	s := startServer(t)
	s.tenant(t, "busy", map[string]any{"captures_per_month": 0, "captures_per_minute": 2})
	key := s.key(t, "busy", auditshot.ScopeCapture)
	shot := map[string]any{"html": "<p>rate</p>", "width": 200, "height": 100}
	r := s.must(t, http.StatusCreated, "POST", "/v1/screenshot", key, shot)
	if r.Header.Get("X-RateLimit-Limit") != "2" || r.Header.Get("X-RateLimit-Remaining") != "1" {
		t.Errorf("rate headers %v", r.Header)
	}
	s.must(t, http.StatusCreated, "POST", "/v1/screenshot", key, shot)
	r = s.call(t, "POST", "/v1/screenshot", key, shot)
	if r.Status != http.StatusTooManyRequests || r.errorCode() != auditshot.ERATELIMIT {
		t.Fatalf("third capture in a minute: %d %s", r.Status, r.Body)
	}
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	if r.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("X-RateLimit-Remaining %q", r.Header.Get("X-RateLimit-Remaining"))
	}
	// Other tenants are not limited by this one's rate.
	s.tenant(t, "calm", map[string]any{"captures_per_minute": 2})
	s.must(t, http.StatusCreated, "POST", "/v1/screenshot", s.key(t, "calm", auditshot.ScopeCapture), shot)
	// Non-capture writes are not rate limited by the capture rate.
	w := s.key(t, "busy", auditshot.ScopeWrite)
	s.must(t, http.StatusCreated, "POST", "/v1/runs", w, map[string]any{"workflow": "w"})
}

func TestQuota_FreePlanPreset(t *testing.T) {
	s := startServer(t)
	s.tenant(t, "freebie", "free")
	var tn auditshot.Tenant
	s.must(t, http.StatusOK, "GET", "/v1/tenants/freebie", s.Admin, nil).json(t, &tn)
	if tn.Plan.CapturesPerMonth != 100 || tn.Plan.CapturesPerMinute != 10 {
		t.Errorf("free plan %+v", tn.Plan)
	}
	r := s.call(t, "POST", "/v1/tenants", s.Admin, map[string]any{"id": "x", "name": "x", "plan": "platinum"})
	if r.Status != http.StatusBadRequest || !contains(r.Body, "platinum") {
		t.Errorf("unknown plan: %d %s", r.Status, r.Body)
	}
}
