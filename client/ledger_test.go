package client_test

import (
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/client"
	"github.com/auditshot/auditshot/ledger"
)

// TestCheckpoints: the log's past checkpoints are listed largest first, a
// page at a time, each opens with the pinned key, and each is consistent
// with the latest, as a monitor of the log would check it.
func TestCheckpoints(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := srv.admin(t)
	ctx := t.Context()
	var signed []int64
	for range 5 {
		if _, err := c.CreateRun(ctx, client.RunRequest{Workflow: "checkpointed"}); err != nil {
			t.Fatal(err)
		}
		cp, err := c.Checkpoint(ctx) // signed on demand, covering the run
		if err != nil {
			t.Fatal(err)
		}
		signed = append(signed, cp.Size)
	}
	latest, err := c.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	head, err := latest.Open(srv.Origin, srv.VKey)
	if err != nil {
		t.Fatal(err)
	}
	var listed []int64
	for before := int64(0); ; {
		page, next, err := c.Checkpoints(ctx, before, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 2 {
			t.Fatalf("limit 2: %d checkpoints", len(page))
		}
		for _, cp := range page {
			old, err := cp.Open(srv.Origin, srv.VKey)
			if err != nil {
				t.Fatalf("checkpoint of size %d: %v", cp.Size, err)
			}
			listed = append(listed, old.Size)
			if old.Size == head.Size {
				continue
			}
			p, err := c.ConsistencyProof(ctx, old.Size, head.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := ledger.VerifyConsistency(old.Size, head.Size, p, old.Hash, head.Hash); err != nil {
				t.Errorf("checkpoint %d is not consistent with %d: %v", old.Size, head.Size, err)
			}
		}
		if next == 0 {
			break
		}
		before = next
	}
	// Every size signed above is listed, largest first.
	for i := 1; i < len(listed); i++ {
		if listed[i] >= listed[i-1] {
			t.Fatalf("checkpoints not largest first: %v", listed)
		}
	}
	for _, n := range signed {
		found := false
		for _, m := range listed {
			found = found || m == n
		}
		if !found {
			t.Errorf("the checkpoint of size %d is not listed in %v", n, listed)
		}
	}
	if _, _, err := c.Checkpoints(ctx, 0, 501); auditshot.ErrorCode(err) != auditshot.EINVALID {
		t.Errorf("limit 501: %v, want EINVALID", err)
	}
}

// TestAccess: an audit key reads the access log, filtered by key and by
// run and page by page; a read key may not.
func TestAccess(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	admin := srv.admin(t)
	ctx := t.Context()
	newKey := func(scope auditshot.Scope) (*client.Client, string) {
		k, err := admin.CreateKey(ctx, client.KeyRequest{Name: "access " + string(scope), Scopes: []auditshot.Scope{scope}})
		if err != nil {
			t.Fatal(err)
		}
		return newClient(t, srv.URL, k.Secret), k.ID
	}
	auditor, auditorID := newKey(auditshot.ScopeAudit)
	reader, _ := newKey(auditshot.ScopeRead)
	var runs []string
	for range 3 {
		r, err := admin.CreateRun(ctx, client.RunRequest{Workflow: "accessed"})
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r.ID)
		if _, err := auditor.Export(ctx, client.ExportRequest{ExportSelection: auditshot.ExportSelection{Runs: []string{r.ID}}}); err != nil {
			t.Fatal(err)
		}
	}
	got, _, err := auditor.Access(ctx, client.AccessFilter{Run: runs[1]})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Type != "export.created" || got[0].Actor != auditorID || got[0].What != "export" || got[0].Ledger.LeafHash == "" {
		t.Errorf("access to run %s: %+v, want its export by %s", runs[1], got, auditorID)
	}
	var all []auditshot.AccessEntry
	for before := int64(0); ; {
		page, next, err := auditor.Access(ctx, client.AccessFilter{Key: auditorID, Before: before, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == 0 {
			break
		}
		before = next
	}
	if len(all) != 3 || all[0].Ledger.Index <= all[2].Ledger.Index {
		t.Errorf("the auditor's access, newest first in pages of 2: %+v", all)
	}
	if _, _, err := reader.Access(ctx, client.AccessFilter{}); auditshot.ErrorCode(err) != auditshot.EFORBIDDEN {
		t.Errorf("a read key reading the access log: %v, want EFORBIDDEN", err)
	}
}
