package server_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
)

// TestListRuns_FiltersAndPages lists runs over HTTP by workflow, agent,
// status, subject and time range, and pages through them with the cursor.
func TestListRuns_FiltersAndPages(t *testing.T) {
	s := startServer(t)
	key := s.key(t, "default", auditshot.ScopeWrite)
	start := time.Now().UTC().Add(-time.Second)
	ids := map[string]bool{}
	for i := range 7 {
		body := map[string]any{"workflow": "process_refund", "subject": "cust_42", "agent": map[string]any{"id": "refund-bot"}}
		if i%2 == 1 {
			body = map[string]any{"workflow": "access_review", "subject": "user_7", "agent": map[string]any{"id": "iam-bot"}}
		}
		var run auditshot.Run
		s.must(t, http.StatusCreated, "POST", "/v1/runs", key, body).json(t, &run)
		ids[run.ID] = true
		if i == 0 {
			s.must(t, http.StatusOK, "POST", "/v1/runs/"+run.ID+"/finish", key, map[string]any{"status": "failed"})
		}
	}
	list := func(q url.Values) ([]*auditshot.Run, string) {
		t.Helper()
		var out struct {
			Runs       []*auditshot.Run
			NextCursor string `json:"next_cursor"`
		}
		s.must(t, http.StatusOK, "GET", "/v1/runs?"+q.Encode(), key, nil).json(t, &out)
		return out.Runs, out.NextCursor
	}
	for _, tc := range []struct {
		name string
		q    url.Values
		want int
	}{
		{"Workflow", url.Values{"workflow": {"process_refund"}}, 4},
		{"Agent", url.Values{"agent": {"iam-bot"}}, 3},
		{"Status", url.Values{"status": {"failed"}}, 1},
		{"Subject", url.Values{"subject": {"user_7"}, "status": {"running"}}, 3},
		{"From", url.Values{"from": {start.Format(time.RFC3339Nano)}}, 7},
		{"To", url.Values{"to": {start.Format(time.RFC3339Nano)}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if runs, _ := list(tc.q); len(runs) != tc.want {
				t.Errorf("%v: %d runs, want %d", tc.q, len(runs), tc.want)
			}
		})
	}
	// Pages of 3: every run once, newest first, then no cursor.
	seen := map[string]bool{}
	q := url.Values{"limit": {"3"}}
	var last time.Time
	for page := 0; ; page++ {
		runs, next := list(q)
		for _, r := range runs {
			if seen[r.ID] || !ids[r.ID] || (!last.IsZero() && r.StartedAt.After(last)) {
				t.Fatalf("page %d: run %s out of order or repeated", page, r.ID)
			}
			seen[r.ID], last = true, r.StartedAt
		}
		if next == "" {
			break
		}
		if page > 3 {
			t.Fatal("the cursor does not end")
		}
		q.Set("cursor", next)
	}
	if len(seen) != 7 {
		t.Errorf("paged through %d runs, want 7", len(seen))
	}
	if r := s.call(t, "GET", "/v1/runs?from=yesterday", key, nil); r.Status != http.StatusBadRequest || !contains(r.Body, "RFC 3339") {
		t.Errorf("bad time: %d %s", r.Status, r.Body)
	}
}
