package client

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/auditshot/auditshot"
)

// RunRequest starts a run.
type RunRequest struct {
	// ID is the run's id; the server makes one if empty.
	ID string `json:"id,omitempty"`
	// Workflow names what the agent does ("process_refund"). Required.
	Workflow string          `json:"workflow"`
	Agent    auditshot.Agent `json:"agent"`
	// Principal is on whose behalf the agent acts; Subject what it acts on
	// ("customer-42").
	Principal string            `json:"principal,omitempty"`
	Subject   string            `json:"subject,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// RunDetail is a run with its events, in order.
type RunDetail struct {
	auditshot.Run
	Events []*auditshot.Event `json:"events"`
}

// EventRequest is an event of a run.
type EventRequest struct {
	// ID is the event's id ([a-z0-9_-], at most 64); made if empty.
	ID string `json:"id,omitempty"`
	// Type is action (the default), decision, approval, note or error.
	Type auditshot.EventType `json:"type,omitempty"`
	// Name says what happened ("refund_approved"); 1 to 256 bytes.
	Name string `json:"name"`
	// Data is marshalled to JSON and must be an object (or nil). Numbers
	// must be integers within ±(2^53-1): the ledger refuses fractions with
	// EINVALID, so send them as strings ("500.00").
	Data any `json:"data,omitempty"`
	// Reasoning is why the agent did it.
	Reasoning string `json:"reasoning,omitempty"`
	// Artifacts attaches artifacts the tenant already has (a capture's
	// image, by its SHA256) in roles such as "before" and "after".
	Artifacts []ArtifactRef `json:"artifacts,omitempty"`
	// ClientTime is when the client says it happened; the ledger keeps it
	// beside the server's time.
	ClientTime *time.Time `json:"client_time,omitempty"`
}

// ArtifactRef names an artifact by its SHA-256, in a role.
type ArtifactRef struct {
	SHA256 string `json:"sha256"`
	Role   string `json:"role"`
}

// CreateRun starts a run (a run.started entry). Returns EINVALID for a
// missing workflow and ECONFLICT for an id in use. See StartRun for a Run
// that records into itself.
func (c *Client) CreateRun(ctx context.Context, req RunRequest) (*auditshot.Run, error) {
	var out auditshot.Run
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/v1/runs", body: req}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetRun returns a run and its events. Returns ENOTFOUND if the tenant has
// no such run.
func (c *Client) GetRun(ctx context.Context, id string) (*RunDetail, error) {
	var out RunDetail
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/runs/" + escape(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListRuns returns a page of the tenant's runs, in f.Sort's order (newest
// first by default), that match f, and the cursor of the next page (""
// after the last). Zero fields of f do not filter; f.Text keeps runs whose
// workflow, subject, or any event's name or data contains it, ignoring
// case. f.Limit bounds the page (1 to 1000, the server's default if 0) and
// f.Cursor continues a listing made with the same filter and sort. See
// Runs for all pages.
func (c *Client) ListRuns(ctx context.Context, f auditshot.RunFilter) (runs []*auditshot.Run, next string, err error) {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("workflow", f.Workflow)
	set("agent", f.AgentID)
	set("status", string(f.Status))
	set("subject", f.Subject)
	set("q", f.Text)
	set("sort", string(f.Sort))
	set("cursor", f.Cursor)
	if !f.From.IsZero() {
		q.Set("from", f.From.Format(time.RFC3339Nano))
	}
	if !f.To.IsZero() {
		q.Set("to", f.To.Format(time.RFC3339Nano))
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out struct {
		Runs       []*auditshot.Run `json:"runs"`
		NextCursor string           `json:"next_cursor"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/runs", query: q}, &out); err != nil {
		return nil, "", err
	}
	return out.Runs, out.NextCursor, nil
}

// Runs returns every run that matches f, in f.Sort's order, fetching pages of
// f.Limit as it goes. An error ends the sequence after it is yielded.
func (c *Client) Runs(ctx context.Context, f auditshot.RunFilter) iter.Seq2[*auditshot.Run, error] {
	return func(yield func(*auditshot.Run, error) bool) {
		for {
			runs, next, err := c.ListRuns(ctx, f)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, r := range runs {
				if !yield(r, nil) {
					return
				}
			}
			if next == "" || next == f.Cursor {
				return
			}
			f.Cursor = next
		}
	}
}

// AddEvent records an event of a run (a run.event entry) and returns it
// with its ledger reference. Returns ENOTFOUND for an unknown run,
// ECONFLICT for a finished one, and EINVALID for a bad event, data that is
// not an integer-only JSON object, or an artifact the tenant does not have.
func (c *Client) AddEvent(ctx context.Context, runID string, req EventRequest) (*auditshot.Event, error) {
	if req.Data != nil {
		// Marshal here so that a Data that is not JSON fails with its own
		// error, and json.RawMessage passes as it is.
		b, err := json.Marshal(req.Data)
		if err != nil {
			return nil, fmt.Errorf("event %q: encode data: %w", req.Name, err)
		}
		req.Data = json.RawMessage(b)
	}
	var out auditshot.Event
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/v1/runs/" + escape(runID) + "/events", body: req}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// FinishRun ends a run with status (succeeded if empty; failed or
// cancelled) in a run.finished entry and returns it. Returns ECONFLICT if
// it has finished already.
func (c *Client) FinishRun(ctx context.Context, runID string, status auditshot.RunStatus) (*auditshot.Run, error) {
	var out auditshot.Run
	body := struct {
		Status auditshot.RunStatus `json:"status,omitempty"`
	}{status}
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/v1/runs/" + escape(runID) + "/finish", body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
