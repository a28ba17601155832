package client_test

import (
	"net/http"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/client"
)

// countingTransport counts the requests for one path.
type countingTransport struct {
	path string
	n    atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == t.path {
		t.n.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestRuns(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	ctx := t.Context()
	pages := &countingTransport{path: "/v1/runs"}
	c, err := client.New(client.Config{BaseURL: srv.URL, APIKey: srv.AdminKey, HTTPClient: &http.Client{Transport: pages}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, id := range []string{"list_1", "list_2", "list_3", "list_4", "list_5"} {
		r, err := c.CreateRun(ctx, client.RunRequest{ID: id, Workflow: "listing", Agent: auditshot.Agent{ID: "lister"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	if _, err := c.CreateRun(ctx, client.RunRequest{Workflow: "other"}); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(ids) // newest first

	t.Run("ListRuns", func(t *testing.T) {
		runs, next, err := c.ListRuns(ctx, auditshot.RunFilter{Workflow: "listing", Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if got := runIDs(runs); !slices.Equal(got, ids[:2]) || next == "" {
			t.Fatalf("first page %v next %q, want %v and a cursor", got, next, ids[:2])
		}
		runs, _, err = c.ListRuns(ctx, auditshot.RunFilter{Workflow: "listing", Limit: 2, Cursor: next})
		if err != nil {
			t.Fatal(err)
		}
		if got := runIDs(runs); !slices.Equal(got, ids[2:4]) {
			t.Errorf("second page %v, want %v", got, ids[2:4])
		}
	})

	t.Run("Iterator", func(t *testing.T) {
		before := pages.n.Load()
		var got []string
		for r, err := range c.Runs(ctx, auditshot.RunFilter{Workflow: "listing", AgentID: "lister", Limit: 2}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, r.ID)
		}
		if !slices.Equal(got, ids) {
			t.Errorf("Runs = %v, want %v", got, ids)
		}
		if n := pages.n.Load() - before; n != 3 {
			t.Errorf("Runs fetched %d pages, want 3", n)
		}
	})

	t.Run("IteratorBreak", func(t *testing.T) {
		before := pages.n.Load()
		n := 0
		for _, err := range c.Runs(ctx, auditshot.RunFilter{Workflow: "listing", Limit: 2}) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 3 {
				break
			}
		}
		if p := pages.n.Load() - before; p != 2 {
			t.Errorf("fetched %d pages to yield 3 runs, want 2", p)
		}
	})

	t.Run("ErrBadLimit", func(t *testing.T) {
		for _, err := range c.Runs(ctx, auditshot.RunFilter{Limit: 5000}) {
			wantCode(t, err, auditshot.EINVALID, 400)
		}
	})
}

func runIDs(runs []*auditshot.Run) []string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	return ids
}
