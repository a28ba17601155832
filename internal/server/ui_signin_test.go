package server_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/auditshot/auditshot"
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
