package server_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/auditshot/auditshot"
)

func contains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }

// TestBadInput checks that bad requests get a 4xx that names what was
// wrong, and change nothing.
func TestBadInput(t *testing.T) {
	s := startServer(t)
	key := s.key(t, "default", auditshot.ScopeCapture, auditshot.ScopeWrite)
	size, _ := s.DB.LogSize(t.Context(), "default")
	for _, tc := range []struct {
		name, path, body string
		status           int
		mention          string
	}{
		{"UnknownField", "/v1/runs", `{"workflow":"w","workflw":"x"}`, 400, `unknown field \"workflw`},
		{"UnknownCaptureOption", "/v1/screenshot", `{"url":"http://127.0.0.1/","full_pgae":true}`, 400, `full_pgae`},
		{"WrongType", "/v1/screenshot", `{"url":"http://127.0.0.1/","width":"wide"}`, 400, `width`},
		{"BadOption", "/v1/screenshot", `{"url":"http://127.0.0.1/","format":"gif"}`, 400, `format`},
		{"Malformed", "/v1/runs", `{"workflow":`, 400, `malformed JSON`},
		{"Trailing", "/v1/runs", `{"workflow":"w"} {}`, 400, `after the JSON object`},
		{"Empty", "/v1/runs", ``, 400, `empty`},
		{"NotObject", "/v1/runs", `[1,2]`, 400, `expected`},
		{"MissingWorkflow", "/v1/runs", `{}`, 400, `workflow`},
		{"Fraction", "/v1/runs/nope/events", `{"name":"a","data":{"amount":1.5}}`, 404, `run`},
		{"TooLarge", "/v1/runs", `{"workflow":"` + strings.Repeat("x", 9<<20) + `"}`, 413, `limit`},
		{"RoleWithoutRun", "/v1/screenshot", `{"html":"<p>","role":"before"}`, 400, `run_id`},
		{"WebhookWithoutAsync", "/v1/screenshot", `{"html":"<p>","webhook_url":"http://127.0.0.1/"}`, 400, `async`},
		{"BadWebhookScheme", "/v1/screenshot", `{"html":"<p>","async":true,"webhook_url":"file:///etc/passwd"}`, 400, `scheme`},
		{"PDFFormat", "/v1/pdf", `{"html":"<p>","format":"png"}`, 400, `format`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.call(t, "POST", tc.path, key, tc.body)
			if r.Status != tc.status || !contains(r.Body, tc.mention) || !contains(r.Body, "request_id") {
				t.Errorf("status %d (want %d), body %s (want it to mention %q)", r.Status, tc.status, r.Body, tc.mention)
			}
		})
	}
	// A fractional number in event data is refused with the rule named.
	var run auditshot.Run
	s.must(t, http.StatusCreated, "POST", "/v1/runs", key, map[string]any{"workflow": "w"}).json(t, &run)
	r := s.call(t, "POST", "/v1/runs/"+run.ID+"/events", key, `{"name":"refund","data":{"amount":12.5}}`)
	if r.Status != http.StatusBadRequest || !contains(r.Body, "string") {
		t.Errorf("fraction: %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "GET", "/v1/nowhere", key, nil); r.Status != http.StatusNotFound || r.errorCode() != auditshot.ENOTFOUND {
		t.Errorf("unknown route: %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "GET", "/v1/runs?status=done", key, nil); r.Status != http.StatusBadRequest || !contains(r.Body, "status") {
		t.Errorf("bad filter: %d %s", r.Status, r.Body)
	}
	after, _ := s.DB.LogSize(t.Context(), "default")
	if after != size+1 { // only the run created above
		t.Errorf("log grew from %d to %d: bad input appended entries", size, after)
	}
}
