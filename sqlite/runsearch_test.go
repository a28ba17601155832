package sqlite_test

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/sqlite"
)

// searchFixture is a tenant's runs with events, and the runs of another
// tenant with the same text.
func searchFixture(t *testing.T) (*sqlite.DB, []*auditshot.Run) {
	t.Helper()
	ctx := context.Background()
	db := MustOpenDB(t)
	MustCreateTenant(t, db, "acme")
	MustCreateTenant(t, db, "other")
	var runs []*auditshot.Run
	workflows := []string{"refund", "Login", "checkout"}
	statuses := []auditshot.RunStatus{auditshot.RunSucceeded, auditshot.RunFailed, auditshot.RunRunning, auditshot.RunCancelled}
	for i := range 11 {
		r := &auditshot.Run{TenantID: "acme", Workflow: workflows[i%3], Subject: fmt.Sprintf("customer-%d", i%4),
			Agent: auditshot.Agent{ID: fmt.Sprintf("agent-%d", i%2)}}
		if err := db.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		name := []string{"open_page", "click", "Approve_Refund"}[i%3]
		ev := &auditshot.Event{TenantID: "acme", RunID: r.ID, Type: auditshot.EventAction, Name: name,
			Data: []byte(fmt.Sprintf(`{"note":"Order Nº%d ÜBER"}`, i))}
		if err := db.AddEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
		if st := statuses[i%4]; st != auditshot.RunRunning {
			var err error
			if r, err = db.FinishRun(ctx, "acme", r.ID, st); err != nil {
				t.Fatal(err)
			}
		}
		runs = append(runs, r)
	}
	o := &auditshot.Run{TenantID: "other", Workflow: "refund", Subject: "customer-1"}
	if err := db.CreateRun(ctx, o); err != nil {
		t.Fatal(err)
	}
	if err := db.AddEvent(ctx, &auditshot.Event{TenantID: "other", RunID: o.ID, Type: auditshot.EventNote,
		Name: "Approve_Refund", Data: []byte(`{"note":"Order Nº3 ÜBER"}`)}); err != nil {
		t.Fatal(err)
	}
	return db, runs
}

// wantOrder returns the ids of runs that keep, in sort's order.
func wantOrder(runs []*auditshot.Run, sort auditshot.RunSort, keep func(*auditshot.Run) bool) []string {
	var sel []*auditshot.Run
	for _, r := range runs {
		if keep == nil || keep(r) {
			sel = append(sel, r)
		}
	}
	newest := func(a, b *auditshot.Run) int {
		return cmp.Or(b.StartedAt.Compare(a.StartedAt), strings.Compare(b.ID, a.ID))
	}
	slices.SortFunc(sel, func(a, b *auditshot.Run) int {
		switch sort {
		case auditshot.RunSortOldest:
			return -newest(a, b)
		case auditshot.RunSortWorkflow:
			return cmp.Or(strings.Compare(a.Workflow, b.Workflow), newest(a, b))
		case auditshot.RunSortStatus:
			return cmp.Or(strings.Compare(string(a.Status), string(b.Status)), newest(a, b))
		}
		return newest(a, b)
	})
	ids := []string{}
	for _, r := range sel {
		ids = append(ids, r.ID)
	}
	return ids
}

// listAll pages through a listing, limit runs a page.
func listAll(t *testing.T, db *sqlite.DB, f auditshot.RunFilter, limit int) []string {
	t.Helper()
	f.Limit = limit
	ids := []string{}
	for pages := 0; ; pages++ {
		runs, next, err := db.ListRuns(t.Context(), "acme", f)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) > limit {
			t.Fatalf("page of %d runs, limit %d", len(runs), limit)
		}
		for _, r := range runs {
			ids = append(ids, r.ID)
		}
		if next == "" {
			return ids
		}
		if pages > 20 {
			t.Fatal("too many pages")
		}
		f.Cursor = next
	}
}

func TestListRunsSort(t *testing.T) {
	db, runs := searchFixture(t)
	for _, sort := range append(auditshot.RunSorts(), "") {
		for _, limit := range []int{1, 2, 4, 50} {
			t.Run(fmt.Sprintf("%s/%d", sort, limit), func(t *testing.T) {
				got := listAll(t, db, auditshot.RunFilter{Sort: sort}, limit)
				if diff := gocmp.Diff(got, wantOrder(runs, sort, nil)); diff != "" {
					t.Errorf("ids (-got +want):\n%s", diff)
				}
				got = listAll(t, db, auditshot.RunFilter{Sort: sort, AgentID: "agent-1"}, limit)
				want := wantOrder(runs, sort, func(r *auditshot.Run) bool { return r.Agent.ID == "agent-1" })
				if diff := gocmp.Diff(got, want); diff != "" {
					t.Errorf("agent-1 ids (-got +want):\n%s", diff)
				}
			})
		}
	}
	t.Run("Ties", func(t *testing.T) {
		// Runs started at the same instant page by id.
		ctx := t.Context()
		at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		cfg := testConfig()
		cfg.Now = func() time.Time { return at }
		db := MustOpenDBAt(t, t.TempDir()+"/ties.db", cfg)
		MustCreateTenant(t, db, "acme")
		var runs []*auditshot.Run
		for i := range 7 {
			r := &auditshot.Run{TenantID: "acme", ID: fmt.Sprintf("run-%d", (i*5)%7), Workflow: []string{"a", "b"}[i%2]}
			if err := db.CreateRun(ctx, r); err != nil {
				t.Fatal(err)
			}
			runs = append(runs, r)
		}
		for _, sort := range auditshot.RunSorts() {
			got := listAll(t, db, auditshot.RunFilter{Sort: sort}, 2)
			if diff := gocmp.Diff(got, wantOrder(runs, sort, nil)); diff != "" {
				t.Errorf("%s ids (-got +want):\n%s", sort, diff)
			}
		}
	})
}

func TestListRunsText(t *testing.T) {
	db, runs := searchFixture(t)
	for _, tc := range []struct {
		text string
		keep func(i int, r *auditshot.Run) bool
	}{
		{"refund", func(i int, r *auditshot.Run) bool { return r.Workflow == "refund" || i%3 == 2 }}, // workflow, event name
		{"LOGIN", func(i int, r *auditshot.Run) bool { return r.Workflow == "Login" }},
		{"omer-3", func(i int, r *auditshot.Run) bool { return r.Subject == "customer-3" }},
		{"er nº7", func(i int, r *auditshot.Run) bool { return i == 7 }},  // data, non-ASCII
		{"über", func(i int, r *auditshot.Run) bool { return true }},      // Unicode case folding
		{"n_pag", func(i int, r *auditshot.Run) bool { return i%3 == 0 }}, // event name
		{`"note"`, func(i int, r *auditshot.Run) bool { return true }},    // quotes in the text
		{"nowhere", func(i int, r *auditshot.Run) bool { return false }},
		{"ge", func(i int, r *auditshot.Run) bool { return i%3 == 0 }}, // short: open_page
		{"LI", func(i int, r *auditshot.Run) bool { return i%3 == 1 }}, // short: Login, click
		{"7", func(i int, r *auditshot.Run) bool { return i == 7 }},
	} {
		t.Run(tc.text, func(t *testing.T) {
			keep := map[string]bool{}
			for i, r := range runs {
				keep[r.ID] = tc.keep(i, r)
			}
			for _, sort := range auditshot.RunSorts() {
				got := listAll(t, db, auditshot.RunFilter{Text: tc.text, Sort: sort}, 3)
				want := wantOrder(runs, sort, func(r *auditshot.Run) bool { return keep[r.ID] })
				if diff := gocmp.Diff(got, want); diff != "" {
					t.Errorf("%s ids (-got +want):\n%s", sort, diff)
				}
			}
			// With another filter.
			got := listAll(t, db, auditshot.RunFilter{Text: tc.text, Status: auditshot.RunFailed}, 2)
			want := wantOrder(runs, "", func(r *auditshot.Run) bool { return keep[r.ID] && r.Status == auditshot.RunFailed })
			if diff := gocmp.Diff(got, want); diff != "" {
				t.Errorf("failed ids (-got +want):\n%s", diff)
			}
		})
	}
}

// A search finds what was written since the last one.
func TestListRunsTextIncremental(t *testing.T) {
	db, runs := searchFixture(t)
	ctx := t.Context()
	search := func(text string) []string {
		t.Helper()
		return listAll(t, db, auditshot.RunFilter{Text: text}, 50)
	}
	if got := search("Sesame"); len(got) != 0 {
		t.Fatalf("before: %v", got)
	}
	if err := db.AddEvent(ctx, &auditshot.Event{TenantID: "acme", RunID: runs[2].ID, Type: auditshot.EventNote,
		Name: "note", Data: []byte(`{"word":"open sesame"}`)}); err != nil {
		t.Fatal(err)
	}
	r := &auditshot.Run{TenantID: "acme", Workflow: "sesame-street"}
	if err := db.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(search("Sesame"), []string{r.ID, runs[2].ID}); diff != "" {
		t.Errorf("after (-got +want):\n%s", diff)
	}
	if err := db.IndexRunText(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestListRunsCursor(t *testing.T) {
	db, runs := searchFixture(t)
	ctx := t.Context()
	_, next, err := db.ListRuns(ctx, "acme", auditshot.RunFilter{Workflow: "refund", Sort: auditshot.RunSortStatus, Limit: 1})
	if err != nil || next == "" {
		t.Fatalf("first page: next %q, %v", next, err)
	}
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, f := range []auditshot.RunFilter{
			{Workflow: "refund", Cursor: next},                               // another sort
			{Workflow: "login", Sort: auditshot.RunSortStatus, Cursor: next}, // another filter
			{Workflow: "refund", Sort: auditshot.RunSortStatus, Text: "x", Cursor: next},
			{Sort: "size"},
			{Text: strings.Repeat("x", sqlite.MaxListText+1)},
			{Cursor: base64.RawURLEncoding.EncodeToString([]byte(`{"s":"newest"}`))},
		} {
			_, _, err := db.ListRuns(ctx, "acme", f)
			wantCode(t, err, auditshot.EINVALID)
		}
		// Another tenant's cursor.
		_, _, err := db.ListRuns(ctx, "other", auditshot.RunFilter{Workflow: "refund", Sort: auditshot.RunSortStatus, Cursor: next})
		wantCode(t, err, auditshot.EINVALID)
	})
	t.Run("Legacy", func(t *testing.T) {
		// A cursor of the "at/id" format continues a newest-first listing.
		want := wantOrder(runs, "", nil)
		r := runs[slices.IndexFunc(runs, func(r *auditshot.Run) bool { return r.ID == want[2] })]
		c := base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d/%s", r.StartedAt.UnixNano(), r.ID))
		got, _, err := db.ListRuns(ctx, "acme", auditshot.RunFilter{Cursor: c, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != want[3] || got[1].ID != want[4] {
			t.Errorf("after a legacy cursor: %v, want %v", got, want[3:5])
		}
	})
}

// The first page of each filter under each sort reads an index in order,
// without sorting the tenant's runs.
func TestListRunsPlan(t *testing.T) {
	db := MustOpenDB(t)
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range []auditshot.RunFilter{
		{}, {Workflow: "w"}, {AgentID: "a"}, {Status: auditshot.RunFailed}, {Subject: "s"}, {From: from, To: from.Add(time.Hour)},
	} {
		for _, sort := range auditshot.RunSorts() {
			f.Sort = sort
			plan, err := db.ExplainListRuns(t.Context(), "acme", f)
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Join(plan, "\n")
			if !strings.Contains(text, "USING INDEX") && !strings.Contains(text, "USING COVERING INDEX") {
				t.Errorf("%+v: plan uses no index:\n%s", f, text)
			}
			t.Logf("%+v:\n%s", f, text)
			// An index ordered by workflow or status and filtered by
			// another column needs a sort.
			filtered := f != auditshot.RunFilter{Sort: sort}
			sorted := (sort == auditshot.RunSortWorkflow && filtered && f.Workflow == "") ||
				(sort == auditshot.RunSortStatus && filtered && f.Status == "")
			if !sorted && strings.Contains(text, "TEMP B-TREE") {
				t.Errorf("%+v: plan sorts:\n%s", f, text)
			}
		}
	}
}

// A text few runs match is looked up through the text index, and its runs
// by id.
func TestListRunsTextPlan(t *testing.T) {
	db, _ := searchFixture(t)
	plan, err := db.ExplainListRuns(t.Context(), "acme", auditshot.RunFilter{Text: "approve", Sort: auditshot.RunSortWorkflow})
	if err != nil {
		t.Fatal(err)
	}
	if text := strings.Join(plan, "\n"); !strings.Contains(text, "USING INDEX sqlite_autoindex_runs_1 (tenant_id=? AND id=?)") {
		t.Errorf("plan does not look runs up by id:\n%s", text)
	}
}
