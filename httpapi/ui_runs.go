package httpapi

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/auditshot/auditshot"
)

// uiRunsPerPage is the length of a page of the runs list.
const uiRunsPerPage = 50

// runsForm is the runs list's filter as typed, to fill the form again.
type runsForm struct {
	Workflow, Agent, Status, Subject, From, To, Q, Sort string
}

// query returns the filter as URL parameters (empty ones left out).
func (f runsForm) query() url.Values {
	q := url.Values{}
	for _, kv := range [][2]string{{"workflow", f.Workflow}, {"agent", f.Agent}, {"status", f.Status}, {"subject", f.Subject},
		{"from", f.From}, {"to", f.To}, {"q", f.Q}, {"sort", f.Sort}} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	return q
}

func runsURL(q url.Values) string {
	if len(q) == 0 {
		return "/ui/runs"
	}
	return "/ui/runs?" + q.Encode()
}

// runsPage is the data of the runs list.
type runsPage struct {
	uiBase
	F runsForm
	// Rows is the table's rows, rendered by runRows.
	Rows     template.HTML
	Empty    bool
	Error    string
	Next     string
	First    string
	Statuses []selectOption
	Sorts    []selectOption
	// Workflow, Status and Started are the sortable columns' headers.
	Workflow, Status, Started sortLink
	Filtered                  bool
}

// selectOption is an option of a select element.
type selectOption struct {
	Value, Label string
	Selected     bool
}

type sortLink struct {
	URL string
	// Dir is "ascending", "descending" or "" (the column does not order the
	// list), for aria-sort; Arrow shows it.
	Dir, Arrow string
}

// runRows renders the rows of the runs table. It is Go, not a template:
// html/template escapes each of a row's dozen values through reflection,
// which made it most of the list's time. Every value from a run is
// escaped with template.HTMLEscapeString and every attribute is quoted;
// the status is one of the fixed statuses but is escaped all the same.
func runRows(runs []*auditshot.Run, now time.Time, selectable bool) template.HTML {
	var b strings.Builder
	b.Grow(len(runs) * 700)
	esc := func(s string) { b.WriteString(template.HTMLEscapeString(s)) }
	for _, run := range runs {
		id := template.HTMLEscapeString(run.ID)
		b.WriteString("<tr>")
		if selectable {
			b.WriteString(`<td class="check"><input type="checkbox" name="run" value="` + id + `" id="sel-` + id +
				`" aria-label="Select run ` + id + `"></td>`)
		}
		b.WriteString(`<td><a class="run-link" href="/ui/runs/`)
		esc(url.PathEscape(run.ID))
		b.WriteString(`">`)
		esc(run.Workflow)
		b.WriteString(`</a><div class="muted small mono">` + id + `</div></td><td>`)
		esc(agentLabel(run.Agent))
		if run.Agent.Model != "" {
			b.WriteString(`<div class="muted small">`)
			esc(run.Agent.Model)
			b.WriteString(`</div>`)
		}
		b.WriteString(`</td><td>`)
		esc(run.Subject)
		if run.Principal != "" {
			b.WriteString(`<div class="muted small">for `)
			esc(run.Principal)
			b.WriteString(`</div>`)
		}
		status := template.HTMLEscapeString(string(run.Status))
		b.WriteString(`</td><td><span class="pill pill-` + status + `">` + status + `</span></td><td class="nowrap">`)
		esc(uiTime(run.StartedAt))
		b.WriteString(`</td><td class="nowrap">`)
		esc(runDuration(run, now))
		b.WriteString("</td></tr>\n")
	}
	return template.HTML(b.String())
}

var sortLabels = map[auditshot.RunSort]string{auditshot.RunSortNewest: "Newest first", auditshot.RunSortOldest: "Oldest first",
	auditshot.RunSortWorkflow: "Workflow (A–Z)", auditshot.RunSortStatus: "Status (A–Z)"}

// parseUITime reads a time typed in a form: RFC 3339, a datetime-local
// value or a date (UTC). A date as the end of a range means its end.
func parseUITime(v, name string, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		if end {
			t = t.Add(24*time.Hour - time.Nanosecond)
		}
		return t, nil
	}
	return time.Time{}, auditshot.Errorf(auditshot.EINVALID, "%s: want a date such as 2026-11-27 or a time such as 2026-11-27T10:00, got %q", name, v)
}

// filter turns the form into a RunFilter.
func (f runsForm) filter() (auditshot.RunFilter, error) {
	rf := auditshot.RunFilter{Workflow: f.Workflow, AgentID: f.Agent, Status: auditshot.RunStatus(f.Status), Subject: f.Subject,
		Text: f.Q, Sort: auditshot.RunSort(f.Sort), Limit: uiRunsPerPage}
	var err error
	if rf.From, err = parseUITime(f.From, "From", false); err != nil {
		return rf, err
	}
	if rf.To, err = parseUITime(f.To, "To", true); err != nil {
		return rf, err
	}
	switch rf.Status {
	case "", auditshot.RunRunning, auditshot.RunSucceeded, auditshot.RunFailed, auditshot.RunCancelled:
	default:
		return rf, auditshot.Errorf(auditshot.EINVALID, "status: want running, succeeded, failed or cancelled, got %q", f.Status)
	}
	if rf.Sort != "" && !slices.Contains(auditshot.RunSorts(), rf.Sort) {
		return rf, auditshot.Errorf(auditshot.EINVALID, "sort: want newest, oldest, workflow or status, got %q", f.Sort)
	}
	return rf, nil
}

func (u *ui) handleRuns(w http.ResponseWriter, r *http.Request, ur *uiRequest) error {
	q := r.URL.Query()
	f := runsForm{Workflow: q.Get("workflow"), Agent: q.Get("agent"), Status: q.Get("status"), Subject: q.Get("subject"),
		From: q.Get("from"), To: q.Get("to"), Q: strings.TrimSpace(q.Get("q")), Sort: q.Get("sort")}
	p := runsPage{uiBase: u.base(ur, "Runs", "runs"), F: f}
	for _, st := range []auditshot.RunStatus{auditshot.RunRunning, auditshot.RunSucceeded, auditshot.RunFailed, auditshot.RunCancelled} {
		p.Statuses = append(p.Statuses, selectOption{Value: string(st), Label: string(st), Selected: string(st) == f.Status})
	}
	p.Filtered = len(f.query()) > 0 && !(len(f.query()) == 1 && f.Sort != "")
	sort := auditshot.RunSort(f.Sort)
	if sort == "" {
		sort = auditshot.RunSortNewest
	}
	for _, so := range auditshot.RunSorts() {
		p.Sorts = append(p.Sorts, selectOption{Value: string(so), Label: sortLabels[so], Selected: so == sort})
	}
	col := func(dir string, to auditshot.RunSort) sortLink {
		fq := f
		fq.Sort = string(to)
		return sortLink{URL: runsURL(fq.query()), Dir: dir, Arrow: map[string]string{"ascending": "↑", "descending": "↓"}[dir]}
	}
	p.Started = col("", auditshot.RunSortNewest)
	switch sort {
	case auditshot.RunSortNewest:
		p.Started = col("descending", auditshot.RunSortOldest)
	case auditshot.RunSortOldest:
		p.Started = col("ascending", auditshot.RunSortNewest)
	}
	p.Workflow = col(map[bool]string{true: "ascending"}[sort == auditshot.RunSortWorkflow], auditshot.RunSortWorkflow)
	p.Status = col(map[bool]string{true: "ascending"}[sort == auditshot.RunSortStatus], auditshot.RunSortStatus)

	rf, err := f.filter()
	if err != nil {
		p.Error = auditshot.ErrorMessage(err)
		u.render(w, r, http.StatusBadRequest, "runs", p)
		return nil
	}
	rf.Cursor = q.Get("cursor")
	if rf.Cursor != "" {
		p.First = runsURL(f.query())
	}
	runs, next, err := u.s.cfg.Runs.ListRuns(r.Context(), ur.key.TenantID, rf)
	if err != nil {
		if auditshot.ErrorCode(err) == auditshot.EINVALID {
			p.Error = auditshot.ErrorMessage(err)
			u.render(w, r, http.StatusBadRequest, "runs", p)
			return nil
		}
		return err
	}
	if next != "" {
		nq := f.query()
		nq.Set("cursor", next)
		p.Next = runsURL(nq)
	}
	p.Rows, p.Empty = runRows(runs, u.s.cfg.Now(), p.User.CanExport), len(runs) == 0
	u.render(w, r, http.StatusOK, "runs", p)
	return nil
}

// agentLabel names an agent in a list.
func agentLabel(a auditshot.Agent) string {
	name := a.Name
	if name == "" {
		name = a.ID
	}
	if a.Version != "" {
		name += " " + a.Version
	}
	return name
}

// runDuration is how long a run took, or has been running.
func runDuration(run *auditshot.Run, now time.Time) string {
	if run.EndedAt == nil {
		return uiDuration(now.Sub(run.StartedAt)) + " (running)"
	}
	return uiDuration(run.EndedAt.Sub(run.StartedAt))
}
