package sqlite_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/sqlite"
)

// BenchmarkListAccess measures the access log's reads on a tenant with
// 20,000 views of 2,000 runs by 20 keys (and 200,000 other entries): the
// newest page, a key's page and a run's page (as a run's console page
// reads it).
func BenchmarkListAccess(b *testing.B) {
	db := MustOpenDB(b)
	MustCreateTenant(b, db, "acme")
	const views, runs, keys, others = 20_000, 2_000, 20, 200_000
	var ids []string
	for range runs {
		ids = append(ids, MustCreateRun(b, db, "acme").ID)
	}
	seed(b, db, others, func(i int) error {
		return db.AddEvent(b.Context(), &auditshot.Event{TenantID: "acme", RunID: ids[i%runs], Type: auditshot.EventNote, Name: "n"})
	})
	seed(b, db, views, func(i int) error {
		_, err := db.RecordView(b.Context(), &auditshot.EvidenceView{TenantID: "acme", Actor: fmt.Sprintf("key_%02d", i%keys),
			What: auditshot.ViewRun, RunID: ids[i%runs]})
		return err
	})
	for _, c := range []struct {
		name string
		f    auditshot.AccessFilter
		want int
	}{
		{"newest", auditshot.AccessFilter{Limit: 100}, 100},
		{"key", auditshot.AccessFilter{Actor: "key_07", Limit: 100}, 100},
		{"run", auditshot.AccessFilter{RunID: ids[1234], Limit: 11}, views / runs},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				got, err := db.ListAccess(b.Context(), "acme", c.f)
				if err != nil || len(got) != c.want {
					b.Fatalf("%d entries, %v; want %d", len(got), err, c.want)
				}
			}
		})
	}
}

// seed calls write n times from 64 writers, which share group commits.
func seed(b *testing.B, db *sqlite.DB, n int, write func(i int) error) {
	b.Helper()
	work := make(chan int)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := range work {
				if err := write(i); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
}
