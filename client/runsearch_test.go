package client_test

import (
	"slices"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/client"
)

// ListRuns passes Text and Sort as q and sort.
func TestListRunsTextSort(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	ctx := t.Context()
	c, err := client.New(client.Config{BaseURL: srv.URL, APIKey: srv.AdminKey})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, id := range []string{"search_1", "search_2", "search_3"} {
		r, err := c.CreateRun(ctx, client.RunRequest{ID: id, Workflow: "Nightly-Search"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	if _, err := c.CreateRun(ctx, client.RunRequest{Workflow: "other"}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for r, err := range c.Runs(ctx, auditshot.RunFilter{Text: "y-sear", Sort: auditshot.RunSortOldest, Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.ID)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("Runs(q, oldest) = %v, want %v", got, ids)
	}
	_, _, err = c.ListRuns(ctx, auditshot.RunFilter{Sort: "size"})
	if code := auditshot.ErrorCode(err); code != auditshot.EINVALID {
		t.Errorf("sort=size: %v, want EINVALID", err)
	}
}
