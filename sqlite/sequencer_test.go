package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
)

// TestGroupCommit appends from many goroutines at once: every write is
// acknowledged with its own dense index, and writes share transactions.
func TestGroupCommit(t *testing.T) {
	const writers, perWriter = 64, 20
	db := MustOpenDB(t)
	MustCreateTenant(t, db, "acme")
	r := MustCreateRun(t, db, "acme")
	before := db.Stats()
	start := time.Now()
	var (
		mu   sync.Mutex
		seen = map[int64]string{}
		wg   sync.WaitGroup
	)
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				e := &auditshot.Event{TenantID: "acme", RunID: r.ID, Type: auditshot.EventNote, Name: fmt.Sprintf("w%d-%d", w, i)}
				if err := db.AddEvent(t.Context(), e); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if prev, dup := seen[e.Ledger.Index]; dup {
					mu.Unlock()
					errs <- fmt.Errorf("index %d acknowledged twice (%s and %s)", e.Ledger.Index, prev, e.Name)
					return
				}
				seen[e.Ledger.Index] = e.Name
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	const n = writers * perWriter
	for i := int64(1); i <= n; i++ {
		if _, ok := seen[i]; !ok {
			t.Fatalf("index %d was never acknowledged", i)
		}
	}
	entries := mustEntries(t, db, "acme")
	if len(entries) != n+1 {
		t.Fatalf("%d entries, want %d", len(entries), n+1)
	}
	for i := int64(1); i <= n; i++ {
		e, err := ledger.Parse(entries[i])
		if err != nil {
			t.Fatal(err)
		}
		if want := seen[i]; e.IDs[ledger.IDEvent] == "" || want == "" {
			t.Fatalf("entry %d has no event id", i)
		}
	}
	st := db.Stats()
	batches := st.Batches - before.Batches
	t.Logf("%d appends from %d writers in %d transactions (%.1f per commit), %v, %.0f appends/s",
		n, writers, batches, float64(n)/float64(batches), elapsed, float64(n)/elapsed.Seconds())
	if batches >= n {
		t.Errorf("%d transactions for %d appends: no group commit", batches, n)
	}
	if st.Entries-before.Entries != n {
		t.Errorf("stats count %d entries, want %d", st.Entries-before.Entries, n)
	}
	if err := db.Verify(t.Context(), "acme"); err != nil {
		t.Fatal(err)
	}
}

// TestGroupCommit_FailingWrite puts writes that fail inside the
// transaction, after appending their entry, into batches with writes that
// succeed: only the failing writes are rolled back.
func TestGroupCommit_FailingWrite(t *testing.T) {
	cfg := testConfig()
	cfg.BatchWait = 20 * time.Millisecond
	db := MustOpenDBAt(t, filepath.Join(t.TempDir(), "f.db"), cfg)
	MustCreateTenant(t, db, "acme")
	if err := db.CreateRun(t.Context(), &auditshot.Run{TenantID: "acme", Workflow: "w", ID: "taken"}); err != nil {
		t.Fatal(err)
	}
	before := db.Stats()
	const n = 32
	var wg sync.WaitGroup
	results := make([]error, n)
	refs := make([]auditshot.LedgerRef, n)
	for i := range n {
		wg.Go(func() {
			r := &auditshot.Run{TenantID: "acme", Workflow: "w"}
			if i%4 == 0 {
				r.ID = "taken" // appends run.started, then fails on the runs row
			}
			results[i] = db.CreateRun(t.Context(), r)
			refs[i] = r.Started
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range results {
		if i%4 == 0 {
			wantCode(t, err, auditshot.ECONFLICT)
			continue
		}
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		ok++
	}
	st := db.Stats()
	if st.Batches-before.Batches >= n {
		t.Errorf("%d transactions for %d writes: the test did not batch", st.Batches-before.Batches, n)
	}
	size, err := db.LogSize(t.Context(), "acme")
	if err != nil || size != int64(ok)+1 {
		t.Fatalf("log size %d, %v; want %d", size, err, ok+1)
	}
	for i, ref := range refs {
		if results[i] == nil && (ref.Index < 1 || ref.Index > int64(ok)) {
			t.Errorf("write %d acknowledged index %d outside [1, %d]", i, ref.Index, ok)
		}
	}
	if err := db.Verify(t.Context(), "acme"); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkAddEvent measures durable appends (run.event entries) from 1,
// 16 and 256 concurrent appenders.
func BenchmarkAddEvent(b *testing.B) {
	for _, appenders := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("appenders=%d", appenders), func(b *testing.B) {
			db := MustOpenDB(b)
			MustCreateTenant(b, db, "acme")
			r := MustCreateRun(b, db, "acme")
			before := db.Stats()
			work := make(chan struct{})
			var wg sync.WaitGroup
			b.ResetTimer()
			for range appenders {
				wg.Go(func() {
					for range work {
						e := &auditshot.Event{TenantID: "acme", RunID: r.ID, Type: auditshot.EventNote, Name: "n"}
						if err := db.AddEvent(b.Context(), e); err != nil {
							b.Error(err)
						}
					}
				})
			}
			for range b.N {
				work <- struct{}{}
			}
			close(work)
			wg.Wait()
			b.StopTimer()
			st := db.Stats()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
			b.ReportMetric(float64(st.Entries-before.Entries)/float64(st.Batches-before.Batches), "entries/commit")
		})
	}
}

// TestGroupCommit_RunCacheSeesOtherProcesses: the runs event writes cache
// across batches are dropped when another connection (another process)
// commits, so an event for a run finished elsewhere is refused.
func TestGroupCommit_RunCacheSeesOtherProcesses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "auditshot.db")
	db := MustOpenDBAt(t, path, testConfig())
	if err := db.CreateTenant(ctx, &auditshot.Tenant{ID: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	run := MustCreateRun(t, db, "acme")
	if err := db.AddEvent(ctx, &auditshot.Event{TenantID: "acme", RunID: run.ID, Type: auditshot.EventNote, Name: "cached"}); err != nil {
		t.Fatal(err)
	}
	other := MustOpenDBAt(t, path, testConfig())
	if _, err := other.FinishRun(ctx, "acme", run.ID, auditshot.RunSucceeded); err != nil {
		t.Fatal(err)
	}
	err := db.AddEvent(ctx, &auditshot.Event{TenantID: "acme", RunID: run.ID, Type: auditshot.EventNote, Name: "late"})
	wantCode(t, err, auditshot.ECONFLICT)
}
