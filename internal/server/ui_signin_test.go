package server_test

import (
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/internal/server"
)

// TestUISignInLimit: failed console sign-ins from one address are limited
// (10 a minute by default): the next answers 429 with Retry-After and no
// cookie, even with a valid key, while valid sign-ins never count.
func TestUISignInLimit(t *testing.T) {
	s := startServer(t)
	auditor := s.key(t, "default", auditshot.ScopeAudit)
	// Successful sign-ins do not use the budget.
	for range 15 {
		signIn(t, s, uiClient(t), auditor)
	}
	for i := range 10 {
		resp, _ := uiDo(t, uiClient(t), "POST", s.URL+"/ui/login", url.Values{"key": {"ask_nope_" + strconv.Itoa(i)}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failed sign-in %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	for _, key := range []string{"ask_nope_11", auditor} {
		resp, page := uiDo(t, uiClient(t), "POST", s.URL+"/ui/login", url.Values{"key": {key}})
		retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if resp.StatusCode != http.StatusTooManyRequests || err != nil || retry < 1 || retry > 60 ||
			resp.Header.Get("Set-Cookie") != "" || !strings.Contains(page, "Too many failed sign-ins") {
			t.Errorf("sign-in after 10 failures: %d, Retry-After %q, cookie %q; want 429 with Retry-After in 1..60 and no cookie",
				resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Set-Cookie"))
		}
	}
	// API keys over the API are not affected.
	s.must(t, http.StatusOK, "GET", "/v1/runs", auditor, nil)
}

// TestUISignInLimitBehindProxy: behind a trusted proxy the limit is per
// client address as the proxy forwards it, and the request log names it.
func TestUISignInLimitBehindProxy(t *testing.T) {
	var logs syncBuffer
	s := startServer(t, func(c *server.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	// Header values only: no traffic goes to these documentation addresses.
	const mallory, alice = "203.0.113.66", "198.51.100.7"
	signIn := func(from, key string) int {
		resp, _ := uiDo(t, uiClient(t), "POST", s.URL+"/ui/login", url.Values{"key": {key}}, "X-Forwarded-For", from)
		return resp.StatusCode
	}
	for i := range 10 {
		if code := signIn(mallory, "ask_nope_"+strconv.Itoa(i)); code != http.StatusUnauthorized {
			t.Fatalf("failed sign-in %d from %s: %d, want 401", i+1, mallory, code)
		}
	}
	if code := signIn(mallory, "ask_nope_x"); code != http.StatusTooManyRequests {
		t.Errorf("11th failed sign-in from %s: %d, want 429", mallory, code)
	}
	if code := signIn(alice, "ask_nope_y"); code != http.StatusUnauthorized {
		t.Errorf("a failed sign-in from %s after %s's: %d, want 401 (not limited)", alice, mallory, code)
	}
	if !strings.Contains(logs.String(), `"client":"`+mallory+`"`) {
		t.Errorf("the request log does not name the forwarded client %s", mallory)
	}
}
