package app

import (
	"encoding/json"
	"net/http"
	"regexp"
	"time"
)

// ImportRecord is a record of the dataset the validation page checks.
type ImportRecord struct {
	ID      string
	Name    string
	Email   string
	Balance int64 // cents
	Country string
}

// Failure is a record that failed a check.
type Failure struct {
	RecordID string `json:"record_id"`
	Check    string `json:"check"`
	Detail   string `json:"detail"`
}

// check is one validation check over the whole dataset.
type check struct {
	ID   string
	Name string
	run  func([]ImportRecord) []Failure
}

var emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$`)

var checks = []check{
	{"required", "Required fields", func(recs []ImportRecord) []Failure {
		return each(recs, "Required fields", func(r ImportRecord) string {
			if r.ID == "" || r.Name == "" || r.Email == "" || r.Country == "" {
				return "id, name, email and country are required"
			}
			return ""
		})
	}},
	{"email", "Email format", func(recs []ImportRecord) []Failure {
		return each(recs, "Email format", func(r ImportRecord) string {
			if !emailRE.MatchString(r.Email) {
				return "invalid email address " + r.Email
			}
			return ""
		})
	}},
	{"balance", "Balance not negative", func(recs []ImportRecord) []Failure {
		return each(recs, "Balance not negative", func(r ImportRecord) string {
			if r.Balance < 0 {
				return "balance is " + formatAmount(r.Balance)
			}
			return ""
		})
	}},
	{"unique-id", "Unique IDs", func(recs []ImportRecord) []Failure {
		seen := make(map[string]bool)
		return each(recs, "Unique IDs", func(r ImportRecord) string {
			if seen[r.ID] {
				return "duplicate id " + r.ID
			}
			seen[r.ID] = true
			return ""
		})
	}},
}

func each(recs []ImportRecord, name string, f func(ImportRecord) string) []Failure {
	var out []Failure
	for _, r := range recs {
		if d := f(r); d != "" {
			out = append(out, Failure{RecordID: r.ID, Check: name, Detail: d})
		}
	}
	return out
}

// validationRun is a run started at Started. Results are computed at once;
// check i is revealed as finished when Step*(i+1) has passed, so progress
// depends on the clock only.
type validationRun struct {
	Started time.Time
	Step    time.Duration
	Results [][]Failure // per check
	Records []ImportRecord
}

// CheckStatus is the state of one check in a run.
type CheckStatus struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Status   string `json:"status"` // queued, running, passed, failed
	Failures int    `json:"failures"`
}

// ValidationState is a snapshot of the latest run, as the page and
// GET /validation/status show it.
type ValidationState struct {
	State    string        `json:"state"` // idle, running, complete
	Done     int           `json:"done"`
	Total    int           `json:"total"`
	Checks   []CheckStatus `json:"checks"`
	Passed   int           `json:"passed"` // records; set when complete
	Failed   int           `json:"failed"`
	Failures []Failure     `json:"failures"`
}

// Summary is the text of #validation-summary.
func (v ValidationState) Summary() string {
	return itoa(v.Passed) + " passed, " + itoa(v.Failed) + " failed"
}

// startValidation starts a run unless one is running.
func (s *store) startValidation() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.run != nil && s.stateLocked().State == "running" {
		return
	}
	run := &validationRun{Started: s.now(), Step: s.validationStep, Records: s.imports}
	for _, c := range checks {
		run.Results = append(run.Results, c.run(s.imports))
	}
	s.run = run
}

func (s *store) validationState() ValidationState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stateLocked()
}

func (s *store) stateLocked() ValidationState {
	v := ValidationState{State: "idle", Total: len(checks)}
	done := 0
	if s.run != nil {
		done = len(checks)
		if s.run.Step > 0 {
			done = min(len(checks), int(s.now().Sub(s.run.Started)/s.run.Step))
		}
		v.State = "running"
	}
	v.Done = done
	for i, c := range checks {
		cs := CheckStatus{ID: c.ID, Name: c.Name, Status: "queued"}
		switch {
		case s.run == nil:
		case i < done:
			cs.Failures = len(s.run.Results[i])
			cs.Status = "passed"
			if cs.Failures > 0 {
				cs.Status = "failed"
			}
		case i == done:
			cs.Status = "running"
		}
		v.Checks = append(v.Checks, cs)
	}
	if s.run == nil || done < len(checks) {
		return v
	}
	v.State = "complete"
	bad := make(map[string]bool)
	for _, fs := range s.run.Results {
		for _, f := range fs {
			bad[f.RecordID] = true
			v.Failures = append(v.Failures, f)
		}
	}
	v.Failed = len(bad)
	v.Passed = len(s.run.Records) - v.Failed
	return v
}

func (s *store) importRecords() []ImportRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ImportRecord(nil), s.imports...)
}

type validationData struct {
	Records []ImportRecord
	State   ValidationState
	CanRun  bool
	Failed  map[string]bool // record ids with failures, once complete
}

func (a *App) getValidation(w http.ResponseWriter, r *http.Request, me User) error {
	st := a.store.validationState()
	d := validationData{Records: a.store.importRecords(), State: st, CanRun: me.Can(PermValidation), Failed: map[string]bool{}}
	for _, f := range st.Failures {
		d.Failed[f.RecordID] = true
	}
	p := page{Title: "Data validation", Nav: "validation", User: &me, Data: d}
	if st.State == "running" {
		p.Refresh, p.Script = 1, "validation.js"
	}
	return a.render(w, http.StatusOK, "validation", p)
}

func (a *App) postValidationRun(w http.ResponseWriter, r *http.Request, me User) error {
	if !me.Can(PermValidation) {
		return errorf(EFORBIDDEN, "You need the Run data validation permission to run checks.")
	}
	a.store.startValidation()
	http.Redirect(w, r, "/validation", http.StatusSeeOther)
	return nil
}

func (a *App) getValidationStatus(w http.ResponseWriter, r *http.Request, me User) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(a.store.validationState())
}
