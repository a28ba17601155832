package sqlite

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/auditshot/auditshot"
)

// The queries of ListRuns: filters, sorts, text search and cursors.

// page runs q and returns its page and the next page's cursor.
func (db *DB) page(ctx context.Context, tenantID string, q *runsQuery) ([]*auditshot.Run, string, error) {
	if q.check {
		return db.checkedPage(ctx, tenantID, q)
	}
	return db.runPage(ctx, q)
}

// checkedPage runs q, a query that checks up to textCheckMax runs for a
// text, and returns the page of those that have it, and the cursor after
// the last run it checked if it stopped there.
func (db *DB) checkedPage(ctx context.Context, tenantID string, q *runsQuery) ([]*auditshot.Run, string, error) {
	rows, err := db.queryFast(ctx, q.sql, q.args...)
	if err != nil {
		return nil, "", internal("list runs", err)
	}
	defer rows.Close()
	var (
		hits    []*auditshot.Run
		last    auditshot.Run
		checked int
	)
	for rows.Next() && len(hits) <= q.limit {
		var at int64
		var hit bool
		if err := rows.Scan(&last.ID, &at, &last.Workflow, &last.Status, &hit); err != nil {
			return nil, "", internal("list runs", err)
		}
		last.StartedAt = fromUnixNano(at)
		checked++
		if hit {
			r := last
			hits = append(hits, &r)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, "", internal("list runs", err)
	}
	rows.Close()
	next := ""
	switch {
	case len(hits) > q.limit:
		hits = hits[:q.limit]
		next = q.cursorAfter(hits[q.limit-1])
	case checked == textCheckMax:
		next = q.cursorAfter(&last)
	}
	if len(hits) == 0 {
		return nil, next, nil
	}
	ids := make([]string, len(hits))
	for i, r := range hits {
		ids[i] = r.ID
	}
	b, _ := json.Marshal(ids)
	runs, _, err := db.runPage(ctx, &runsQuery{limit: len(ids), sql: `SELECT ` + runColumns + ` FROM ` + byIDs +
		` WHERE tenant_id = ? ORDER BY ` + q.order + ` LIMIT ?`, args: []any{string(b), tenantID, len(ids) + 1}})
	return runs, next, err
}

// byIDs is the FROM clause of runs looked up by the ids of a JSON array:
// CROSS JOIN keeps SQLite from scanning an index in the listing's order
// instead.
const byIDs = `(SELECT value AS run_id FROM json_each(?)) AS m CROSS JOIN runs ON runs.id = m.run_id`

// runPage runs q, a query of runColumns, and returns its page and the
// next page's cursor.
func (db *DB) runPage(ctx context.Context, q *runsQuery) ([]*auditshot.Run, string, error) {
	rows, err := db.queryFast(ctx, q.sql, q.args...) // prepared: parsing it was a quarter of its time
	if err != nil {
		return nil, "", internal("list runs", err)
	}
	defer rows.Close()
	var runs []*auditshot.Run
	dec := db.newRunDecoder()
	for rows.Next() {
		r, err := scanRun(rows, dec)
		if err != nil {
			return nil, "", internal("list runs", err)
		}
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", internal("list runs", err)
	}
	next := ""
	if len(runs) > q.limit {
		runs = runs[:q.limit]
		next = q.cursorAfter(runs[q.limit-1])
	}
	return runs, next, nil
}

// MaxListText is the longest RunFilter.Text, in bytes.
const MaxListText = 256

// runsQuery is the SQL of one page of ListRuns.
type runsQuery struct {
	sql   string
	args  []any
	limit int
	sort  auditshot.RunSort
	// filter identifies the filter and sort the cursors of the listing
	// are valid for.
	filter string
	// order is the ORDER BY clause.
	order string
	// check says the query checks runs for the text: it returns, for at
	// most textCheckMax runs in order, their id, started_at, workflow,
	// status and whether they have the text.
	check bool
}

// sortKeys are, per sort, the leading column the order is by (before
// started_at and id) and whether the order is ascending.
var sortKeys = map[auditshot.RunSort]struct {
	column string
	asc    bool
}{
	auditshot.RunSortNewest:   {"", false},
	auditshot.RunSortOldest:   {"", true},
	auditshot.RunSortWorkflow: {"workflow", false},
	auditshot.RunSortStatus:   {"status", false},
}

// listRunsQuery returns the query of a page of runs; plan, called if f
// has a valid Text, says how to search for it.
func listRunsQuery(tenantID string, f auditshot.RunFilter, plan func(text string) (textPlan, error)) (*runsQuery, error) {
	q := &runsQuery{limit: f.Limit, sort: cmp.Or(f.Sort, auditshot.RunSortNewest)}
	key, ok := sortKeys[q.sort]
	switch {
	case !ok:
		return nil, auditshot.Errorf(auditshot.EINVALID, "sort must be newest, oldest, workflow or status")
	case len(f.Text) > MaxListText:
		return nil, auditshot.Errorf(auditshot.EINVALID, "text must be at most %d bytes", MaxListText)
	case q.limit < 0:
		return nil, auditshot.Errorf(auditshot.EINVALID, "limit must not be negative")
	case q.limit == 0:
		q.limit = DefaultListLimit
	case q.limit > MaxListLimit:
		q.limit = MaxListLimit
	}
	q.filter = filterID(tenantID, f, q.sort)
	from, columns := "runs", runColumns
	where := []string{"tenant_id = ?"}
	args := []any{tenantID}
	add := func(cond string, v ...any) { where = append(where, cond); args = append(args, v...) }
	if f.Workflow != "" {
		add("workflow = ?", f.Workflow)
	}
	if f.AgentID != "" {
		add("agent_id = ?", f.AgentID)
	}
	if f.Status != "" {
		add("status = ?", string(f.Status))
	}
	if f.Subject != "" {
		add("subject = ?", f.Subject)
	}
	if !f.From.IsZero() {
		add("started_at >= ?", unixNano(f.From))
	}
	if !f.To.IsZero() {
		add("started_at < ?", unixNano(f.To))
	}
	if f.Cursor != "" {
		c, err := parseCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		if c.Sort != q.sort || (c.Filter != q.filter && !c.legacy) {
			return nil, auditshot.Errorf(auditshot.EINVALID, "cursor belongs to a listing with another filter or sort")
		}
		after := "(started_at < ? OR (started_at = ? AND id < ?))"
		if key.asc {
			after = "(started_at > ? OR (started_at = ? AND id > ?))"
		}
		if key.column == "" {
			add(after, c.At, c.At, c.ID)
		} else {
			// The first term bounds the index range; the second skips
			// the rows of the cursor's key up to the cursor.
			add(key.column+" >= ?", c.Key)
			add("("+key.column+" > ? OR "+after+")", c.Key, c.At, c.At, c.ID)
		}
	}
	if f.Text != "" {
		t, err := plan(f.Text)
		if err != nil {
			return nil, err
		}
		switch {
		case t.ids != nil:
			// Look the few runs up by id, then sort them.
			ids, _ := json.Marshal(t.ids)
			from = byIDs
			args = append([]any{string(ids)}, args...)
		case t.scan:
			// Check runs in the listing's order until the page is full,
			// textCheckMax at most.
			v := asciiLower(f.Text)
			q.check = true
			columns = `id, started_at, workflow, status, (instr(lower(workflow), ?) > 0 OR instr(lower(subject), ?) > 0
				OR EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = runs.tenant_id AND e.run_id = runs.id
				AND (instr(lower(e.name), ?) > 0 OR instr(lower(CAST(e.data AS TEXT)), ?) > 0)))`
			args = append([]any{v, v, v, v}, args...)
		default:
			add(`id IN (SELECT r.run_id FROM run_text JOIN run_text_rows r ON r.id = run_text.rowid
				WHERE run_text MATCH ? AND r.tenant_id = ?)`, ftsPhrase(f.Text), tenantID)
		}
	}
	order := "started_at DESC, id DESC"
	if key.asc {
		order = "started_at, id"
	}
	if key.column != "" {
		order = key.column + ", " + order
	}
	q.order = order
	q.sql = `SELECT ` + columns + ` FROM ` + from + ` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY ` + order + ` LIMIT ?`
	if q.check {
		q.args = append(args, textCheckMax)
	} else {
		q.args = append(args, q.limit+1)
	}
	return q, nil
}

// textLookupMax is the most runs a text search looks up by id. A text
// that more of the tenant's runs match is searched for by checking runs in
// the listing's order, which soon fills a page when so many match.
const textLookupMax = 1000

// textCheckMax is the most runs one page of ListRuns checks for a text
// (rather than finding them through the text index): a page may then
// hold fewer runs than its limit, even none, and still have a next one.
// A variable for tests.
var textCheckMax = 5000

// textPlan is how ListRuns searches for a text: among the runs ids (the
// runs that match, when they are few), by checking each run (scan), or
// through the text index.
type textPlan struct {
	ids  []string
	scan bool
}

// textPlanner returns the planner of the tenant's text searches. A text
// of 3 or more characters is looked up in the text index (once it is up
// to date), whose trigrams ignore case by Unicode case folding; so is it
// searched for, unless more than textLookupMax runs match. Checking runs
// ignores ASCII case only: it serves shorter texts, and those with more
// matches that are ASCII.
func (db *DB) textPlanner(ctx context.Context, tenantID string) func(string) (textPlan, error) {
	return func(text string) (textPlan, error) {
		if utf8.RuneCountInString(text) < 3 {
			return textPlan{scan: true}, nil
		}
		if err := db.IndexRunText(ctx); err != nil {
			return textPlan{}, err
		}
		rows, err := db.rdb.QueryContext(ctx, `SELECT DISTINCT r.run_id FROM run_text JOIN run_text_rows r ON r.id = run_text.rowid
			WHERE run_text MATCH ? AND r.tenant_id = ? LIMIT ?`, ftsPhrase(text), tenantID, textLookupMax+1)
		if err != nil {
			return textPlan{}, internal("search run text", err)
		}
		defer rows.Close()
		ids := []string{}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return textPlan{}, internal("search run text", err)
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			return textPlan{}, internal("search run text", err)
		}
		switch {
		case len(ids) <= textLookupMax:
			return textPlan{ids: ids}, nil
		case isASCII(text):
			return textPlan{scan: true}, nil
		}
		return textPlan{}, nil
	}
}

// ftsPhrase returns text as a phrase of the trigram tokenizer, which
// matches it as a substring.
func ftsPhrase(text string) string { return `"` + strings.ReplaceAll(text, `"`, `""`) + `"` }

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// asciiLower lowers ASCII letters only, as SQLite's lower() does.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// filterID returns a short hash of the tenant, filter and sort of a
// listing, which its cursors carry.
func filterID(tenantID string, f auditshot.RunFilter, sort auditshot.RunSort) string {
	h := sha256.New()
	for _, v := range []string{tenantID, f.Workflow, f.AgentID, string(f.Status), f.Subject,
		strconv.FormatInt(timeKey(f.From), 10), strconv.FormatInt(timeKey(f.To), 10), f.Text, string(sort)} {
		fmt.Fprintf(h, "%d:%s", len(v), v)
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:9])
}

func timeKey(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return unixNano(t)
}

// runCursor is the position after the last run of a page: the run's sort
// key, start time and id, with the sort and filter of its listing.
type runCursor struct {
	Sort   auditshot.RunSort `json:"s"`
	Filter string            `json:"f"`
	Key    string            `json:"k,omitempty"`
	At     int64             `json:"t"`
	ID     string            `json:"i"`
	// legacy is a cursor of the format before sorts ("at/id", newest
	// first), accepted for any filter under the newest sort.
	legacy bool
}

func (q *runsQuery) cursorAfter(r *auditshot.Run) string {
	c := runCursor{Sort: q.sort, Filter: q.filter, At: unixNano(r.StartedAt), ID: r.ID}
	switch q.sort {
	case auditshot.RunSortWorkflow:
		c.Key = r.Workflow
	case auditshot.RunSortStatus:
		c.Key = string(r.Status)
	}
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseCursor(s string) (runCursor, error) {
	bad := auditshot.Errorf(auditshot.EINVALID, "malformed cursor")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return runCursor{}, bad
	}
	var c runCursor
	if b[0] == '{' {
		if err := json.Unmarshal(b, &c); err != nil || c.ID == "" || c.Filter == "" {
			return runCursor{}, bad
		}
		return c, nil
	}
	at, id, ok := strings.Cut(string(b), "/")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || id == "" {
		return runCursor{}, bad
	}
	return runCursor{Sort: auditshot.RunSortNewest, At: n, ID: id, legacy: true}, nil
}
