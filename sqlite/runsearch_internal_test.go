package sqlite

import (
	"context"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/auditshot/auditshot"
)

// Every way ListRuns may search for a text finds the same runs.
func TestTextPlans(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "a.db"), Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, id := range []string{"acme", "other"} {
		if err := db.CreateTenant(ctx, &auditshot.Tenant{ID: id, Name: id, Plan: auditshot.Plans["free"]}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 9 {
		for _, tenant := range []string{"acme", "other"} {
			r := &auditshot.Run{TenantID: tenant, Workflow: []string{"Refund", "login", "checkout"}[i%3], Subject: fmt.Sprintf("cust-%d", i)}
			if err := db.CreateRun(ctx, r); err != nil {
				t.Fatal(err)
			}
			if err := db.AddEvent(ctx, &auditshot.Event{TenantID: tenant, RunID: r.ID, Type: auditshot.EventAction,
				Name: []string{"Approve", "deny"}[i%2], Data: fmt.Appendf(nil, `{"n":"x%d"}`, i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Index in chunks of 3 runs and 3 events.
	defer func(n int64) { runTextChunk = n }(runTextChunk)
	runTextChunk = 3
	if err := db.IndexRunText(ctx); err != nil {
		t.Fatal(err)
	}
	ids := func(t *testing.T, f auditshot.RunFilter, plan textPlan, planned bool) []string {
		t.Helper()
		q, err := listRunsQuery("acme", f, func(text string) (textPlan, error) {
			if planned {
				return db.textPlanner(ctx, "acme")(text)
			}
			return plan, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		runs, _, err := db.page(ctx, "acme", q)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, r := range runs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, text := range []string{"refund", "APPROVE", "cust-3", `"n":"x7`, "nothing", "eny"} {
		for _, f := range []auditshot.RunFilter{{Text: text}, {Text: text, Workflow: "login", Sort: auditshot.RunSortOldest}} {
			want := ids(t, f, textPlan{scan: true}, false)
			if len(want) == 0 && text != "nothing" && f.Workflow == "" {
				t.Fatalf("%+v: scan finds nothing", f)
			}
			if diff := cmp.Diff(ids(t, f, textPlan{}, false), want); diff != "" {
				t.Errorf("%+v: index (-got +scan):\n%s", f, diff)
			}
			if diff := cmp.Diff(ids(t, f, textPlan{}, true), want); diff != "" {
				t.Errorf("%+v: lookup (-got +scan):\n%s", f, diff)
			}
		}
	}

	// Pages that check at most 3 runs each still list every run that has
	// the text, once.
	t.Run("Bounded", func(t *testing.T) {
		defer func(n int) { textCheckMax = n }(textCheckMax)
		for _, text := range []string{"x7", "o", "cust-", "zz"} {
			f := auditshot.RunFilter{Text: text, Limit: 2}
			var want []string
			for r, err := range pages(t, db, f) {
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, r)
			}
			textCheckMax = 3
			var got []string
			for r, err := range pages(t, db, f) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, r)
			}
			textCheckMax = 5000
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("%q: bounded pages (-got +want):\n%s", text, diff)
			}
		}
	})
}

// pages yields the ids of every page of a listing of acme's runs.
func pages(t *testing.T, db *DB, f auditshot.RunFilter) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for n := 0; n < 100; n++ {
			runs, next, err := db.ListRuns(context.Background(), "acme", f)
			if err != nil {
				yield("", err)
				return
			}
			for _, r := range runs {
				if !yield(r.ID, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			f.Cursor = next
		}
		yield("", fmt.Errorf("more than 100 pages"))
	}
}
