package sqlite

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
)

// eventRequest is the request AddEvent queues, for a batch built by hand.
func eventRequest(t *testing.T, e *auditshot.Event) *request {
	t.Helper()
	data, err := eventPayload(e)
	if err != nil {
		t.Fatal(err)
	}
	return &request{ctx: context.Background(), done: make(chan error, 1), eventOnly: true,
		fn: func(tx *batchTx) error { return tx.addEvent(e, data) }}
}

// TestBatchCaches runs, in one batch, events around a write that finishes
// the run and an event that fails after appending: the batch's caches of
// runs and hashes must not outlive the rows they mirror.
func TestBatchCaches(t *testing.T) {
	ctx := context.Background()
	// The sequencer takes the six writes below, queued in order, into one
	// batch.
	db, err := Open(ctx, filepath.Join(t.TempDir(), "a.db"), Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		BatchWait: 200 * time.Millisecond, MaxBatch: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateTenant(ctx, &auditshot.Tenant{ID: "acme", Name: "Acme", Plan: auditshot.Plans["free"]}); err != nil {
		t.Fatal(err)
	}
	r := &auditshot.Run{TenantID: "acme", Workflow: "w", Agent: auditshot.Agent{ID: "a", Model: "m"}}
	if err := db.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	ev := func(id string) *auditshot.Event {
		return &auditshot.Event{TenantID: "acme", RunID: r.ID, ID: id, Type: auditshot.EventNote, Name: "n"}
	}
	finish := &request{ctx: ctx, done: make(chan error, 1), fn: func(tx *batchTx) error {
		_, err := tx.exec(`UPDATE runs SET status = ? WHERE tenant_id = ? AND id = ?`, string(auditshot.RunSucceeded), "acme", r.ID)
		return err
	}}
	batch := []*request{
		eventRequest(t, ev("e1")),
		eventRequest(t, ev("e2")),
		eventRequest(t, ev("e1")), // appends, then fails on the duplicate id
		eventRequest(t, ev("e3")),
		finish,
		eventRequest(t, ev("e4")), // the run has finished
	}
	before := db.Stats()
	for _, r := range batch {
		db.reqs <- r
	}
	results := make([]error, len(batch))
	for i, r := range batch {
		results[i] = <-r.done
	}
	st := db.Stats()
	if st.Batches != before.Batches+1 {
		t.Fatalf("%d batches, want 1", st.Batches-before.Batches)
	}
	entries := st.Entries - before.Entries
	want := []string{"", "", auditshot.ECONFLICT, "", "", auditshot.ECONFLICT}
	for i, err := range results {
		if got := auditshot.ErrorCode(err); got != want[i] {
			t.Errorf("write %d: error %v, want code %q", i, err, want[i])
		}
	}
	if entries != 3 {
		t.Errorf("entries = %d, want 3", entries)
	}
	if err := db.Verify(ctx, "acme"); err != nil {
		t.Fatalf("verify: %v", err)
	}
	events, err := db.ListEvents(ctx, "acme", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 {
		t.Fatalf("%d events, want 3", len(events))
	}
	for i, e := range events[1:] {
		if e.Ledger.Index != events[i].Ledger.Index+1 {
			t.Errorf("event %s at index %d after %d", e.ID, e.Ledger.Index, events[i].Ledger.Index)
		}
	}
}
