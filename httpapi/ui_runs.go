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
	Rows template.HTML
	// CanExport is User.CanExport (a promoted field costs the template a
	// search of the embedded struct each time).
	CanExport bool
	Empty     bool
	Error     string
	Next      string
	First     string
	Statuses  []selectOption
	Sorts     []selectOption
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
// escaped (htmlWriter) and every attribute is quoted; the status is one
// of the fixed statuses but is escaped all the same.
func runRows(runs []*auditshot.Run, now time.Time, selectable bool) template.HTML {
	w := htmlWriter{}
	w.b.Grow(len(runs) * 900) // a row is about 850 bytes
	for _, run := range runs {
		w.raw("<tr>")
		if selectable {
			w.raw(`<td class="check"><input type="checkbox" name="run" value="`)
			w.text(run.ID)
			w.raw(`" id="sel-`)
			w.text(run.ID)
			w.raw(`" aria-label="Select run `)
			w.text(run.ID)
			w.raw(`"></td>`)
		}
		w.raw(`<td><a class="run-link" href="/ui/runs/`)
		w.text(url.PathEscape(run.ID))
		w.raw(`">`)
		w.text(run.Workflow)
		w.raw(`</a><div class="muted small mono">`)
		w.text(run.ID)
		w.raw(`</div></td><td>`)
		w.text(agentLabel(run.Agent))
		if run.Agent.Model != "" {
			w.raw(`<div class="muted small">`)
			w.text(run.Agent.Model)
			w.raw(`</div>`)
		}
		w.raw(`</td><td>`)
		w.text(run.Subject)
		if run.Principal != "" {
			w.raw(`<div class="muted small">for `)
			w.text(run.Principal)
			w.raw(`</div>`)
		}
		w.raw(`</td><td><span class="pill pill-`)
		w.text(string(run.Status))
		w.raw(`">`)
		w.text(string(run.Status))
		w.raw(`</span></td><td class="nowrap">`)
		if !run.StartedAt.IsZero() {
			// As uiTime, without a string per row (digits need no escaping).
			w.scratch = run.StartedAt.UTC().AppendFormat(w.scratch[:0], uiTimeLayout)
			w.b.Write(w.scratch)
		}
		w.raw(`</td><td class="nowrap">`)
		w.text(runDuration(run, now))
		w.raw("</td></tr>\n")
	}
	return template.HTML(w.b.String())
}

// htmlWriter writes HTML: markup as it is, text escaped for element
// content and quoted attribute values (as template.HTMLEscapeString
// does), without allocating for text that needs no escaping.
type htmlWriter struct {
	b       strings.Builder
	scratch []byte
}

func (w *htmlWriter) raw(s string) { w.b.WriteString(s) }

// htmlSpecial marks the bytes htmlWriter.text escapes.
var htmlSpecial = [256]bool{'<': true, '>': true, '&': true, '"': true, '\'': true, 0: true}

func (w *htmlWriter) text(s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		if !htmlSpecial[s[i]] {
			continue
		}
		var esc string
		switch s[i] {
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '&':
			esc = "&amp;"
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		default: // 0
			esc = "\uFFFD"
		}
		w.b.WriteString(s[last:i])
		w.b.WriteString(esc)
		last = i + 1
	}
	w.b.WriteString(s[last:])
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
	t := time.Now()
	runs, next, err := u.s.cfg.Runs.ListRuns(r.Context(), ur.key.TenantID, rf)
	w.Header().Add("Server-Timing", "db;desc=\"runs query\";dur="+serverDur(time.Since(t)))
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
	p.CanExport = p.User.CanExport
	p.Rows, p.Empty = runRows(runs, u.s.cfg.Now(), p.CanExport), len(runs) == 0
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
