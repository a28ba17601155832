package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/auditshot/auditshot"
)

// runRequest is the body of POST /v1/runs.
type runRequest struct {
	ID        string            `json:"id,omitempty"`
	Workflow  string            `json:"workflow"`
	Agent     auditshot.Agent   `json:"agent"`
	Principal string            `json:"principal,omitempty"`
	Subject   string            `json:"subject,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

func (s *Server) handleCreateRun(w http.ResponseWriter, r *http.Request) error {
	var req runRequest
	if err := decodeJSON(body(r), &req); err != nil {
		return err
	}
	if req.Workflow == "" {
		return auditshot.Errorf(auditshot.EINVALID, "workflow: required (the name of what the agent does, e.g. process_refund)")
	}
	run := &auditshot.Run{ID: req.ID, TenantID: callerOf(r).key.TenantID, Workflow: req.Workflow, Agent: req.Agent,
		Principal: req.Principal, Subject: req.Subject, Labels: req.Labels}
	done := s.metrics.appendStart()
	err := s.cfg.Runs.CreateRun(r.Context(), run)
	done()
	if err != nil {
		return err
	}
	setLedgerHeaders(w, run.Started)
	w.Header().Set("Location", "/v1/runs/"+run.ID)
	writeJSON(w, http.StatusCreated, run)
	return nil
}

func setLedgerHeaders(w http.ResponseWriter, ref auditshot.LedgerRef) {
	w.Header().Set("X-Ledger-Index", strconv.FormatInt(ref.Index, 10))
	w.Header().Set("X-Ledger-Leaf-Hash", ref.LeafHash)
}

// runList is the answer of GET /v1/runs.
type runList struct {
	Runs       []*auditshot.Run `json:"runs"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

func (s *Server) handleListRuns(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := auditshot.RunFilter{Workflow: q.Get("workflow"), AgentID: q.Get("agent"), Status: auditshot.RunStatus(q.Get("status")),
		Subject: q.Get("subject"), Text: q.Get("q"), Sort: auditshot.RunSort(q.Get("sort")), Cursor: q.Get("cursor")}
	var err error
	if f.From, err = timeParam(q.Get("from"), "from"); err != nil {
		return err
	}
	if f.To, err = timeParam(q.Get("to"), "to"); err != nil {
		return err
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 1000 {
			return auditshot.Errorf(auditshot.EINVALID, "limit: want an integer from 1 to 1000, got %q", v)
		}
	}
	switch f.Status {
	case "", auditshot.RunRunning, auditshot.RunSucceeded, auditshot.RunFailed, auditshot.RunCancelled:
	default:
		return auditshot.Errorf(auditshot.EINVALID, "status: want running, succeeded, failed or cancelled, got %q", f.Status)
	}
	switch f.Sort {
	case "", auditshot.RunSortNewest, auditshot.RunSortOldest, auditshot.RunSortWorkflow, auditshot.RunSortStatus:
	default:
		return auditshot.Errorf(auditshot.EINVALID, "sort: want newest, oldest, workflow or status, got %q", f.Sort)
	}
	if len(f.Text) > 256 {
		return auditshot.Errorf(auditshot.EINVALID, "q: want at most 256 bytes")
	}
	runs, next, err := s.cfg.Runs.ListRuns(r.Context(), callerOf(r).key.TenantID, f)
	if err != nil {
		return err
	}
	if runs == nil {
		runs = []*auditshot.Run{}
	}
	writeJSON(w, http.StatusOK, runList{Runs: runs, NextCursor: next})
	return nil
}

// timeParam parses an RFC 3339 query parameter ("" is the zero time).
func timeParam(v, name string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, auditshot.Errorf(auditshot.EINVALID, "%s: want an RFC 3339 time such as 2026-11-27T10:00:00Z, got %q", name, v)
	}
	return t, nil
}

// runDetail is a run with its events and captures.
type runDetail struct {
	*auditshot.Run
	Events   []*auditshot.Event   `json:"events"`
	Captures []*auditshot.Capture `json:"captures"`
}

func (s *Server) handleGetRun(w http.ResponseWriter, r *http.Request) error {
	tenant := callerOf(r).key.TenantID
	run, err := s.cfg.Runs.FindRun(r.Context(), tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	events, err := s.cfg.Runs.ListEvents(r.Context(), tenant, run.ID)
	if err != nil {
		return err
	}
	if events == nil {
		events = []*auditshot.Event{}
	}
	captures, err := s.cfg.Captures.ListCaptures(r.Context(), tenant, run.ID)
	if err != nil {
		return err
	}
	if captures == nil {
		captures = []*auditshot.Capture{}
	}
	writeJSON(w, http.StatusOK, runDetail{Run: run, Events: events, Captures: captures})
	return nil
}

// eventRequest is the body of POST /v1/runs/{id}/events.
type eventRequest struct {
	ID         string               `json:"id,omitempty"`
	Type       auditshot.EventType  `json:"type"`
	Name       string               `json:"name"`
	Data       json.RawMessage      `json:"data,omitempty"`
	Reasoning  string               `json:"reasoning,omitempty"`
	Artifacts  []artifactRefRequest `json:"artifacts,omitempty"`
	ClientTime *time.Time           `json:"client_time,omitempty"`
}

// artifactRefRequest names an artifact the tenant already has, by hash.
type artifactRefRequest struct {
	SHA256 string `json:"sha256"`
	Role   string `json:"role"`
}

func (s *Server) handleAddEvent(w http.ResponseWriter, r *http.Request) error {
	var req eventRequest
	if err := decodeJSON(body(r), &req); err != nil {
		return err
	}
	tenant := callerOf(r).key.TenantID
	if req.Type == "" {
		req.Type = auditshot.EventAction
	}
	ev := &auditshot.Event{ID: req.ID, RunID: r.PathValue("id"), TenantID: tenant, Type: req.Type, Name: req.Name,
		Data: req.Data, Reasoning: req.Reasoning, ClientTime: req.ClientTime}
	if string(req.Data) == "null" {
		ev.Data = nil
	}
	for i, a := range req.Artifacts {
		if a.Role == "" {
			return auditshot.Errorf(auditshot.EINVALID, "artifacts[%d].role: required (before, after, step, ...)", i)
		}
		art, err := s.cfg.Artifacts.FindArtifact(r.Context(), tenant, a.SHA256)
		if err != nil {
			if auditshot.ErrorCode(err) == auditshot.ENOTFOUND {
				return auditshot.Errorf(auditshot.EINVALID, "artifacts[%d].sha256: no artifact %s (capture it first)", i, a.SHA256)
			}
			return err
		}
		ev.Artifacts = append(ev.Artifacts, auditshot.ArtifactRef{Artifact: art, Role: a.Role})
	}
	done := s.metrics.appendStart()
	err := s.cfg.Runs.AddEvent(r.Context(), ev)
	done()
	if err != nil {
		return err
	}
	setLedgerHeaders(w, ev.Ledger)
	writeJSON(w, http.StatusCreated, ev)
	return nil
}

// finishRequest is the body of POST /v1/runs/{id}/finish.
type finishRequest struct {
	Status auditshot.RunStatus `json:"status"`
}

func (s *Server) handleFinishRun(w http.ResponseWriter, r *http.Request) error {
	var req finishRequest
	if err := decodeJSON(body(r), &req); err != nil {
		return err
	}
	switch req.Status {
	case "":
		req.Status = auditshot.RunSucceeded
	case auditshot.RunSucceeded, auditshot.RunFailed, auditshot.RunCancelled:
	default:
		return auditshot.Errorf(auditshot.EINVALID, "status: want succeeded, failed or cancelled, got %q", req.Status)
	}
	done := s.metrics.appendStart()
	run, err := s.cfg.Runs.FinishRun(r.Context(), callerOf(r).key.TenantID, r.PathValue("id"), req.Status)
	done()
	if err != nil {
		return err
	}
	if run.Finished != nil {
		setLedgerHeaders(w, *run.Finished)
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}
