package client

import (
	"context"
	"net/http"

	"github.com/auditshot/auditshot"
)

// SequenceRequest is a browser flow: the steps, how to run and record them,
// and the run it belongs to.
type SequenceRequest struct {
	auditshot.SequenceOptions
	// Name labels the flow ("refund_submission").
	Name string `json:"name,omitempty"`
	// RunID attaches the flow to a running run.
	RunID string `json:"run_id,omitempty"`
	// WebhookURL, for SequenceAsync only, is sent the job when it is done.
	WebhookURL string `json:"webhook_url,omitempty"`
}

// sequenceWire is the body of POST /v1/sequences.
type sequenceWire struct {
	SequenceRequest
	Async bool `json:"async,omitempty"`
}

// SequenceStep is a step's result, with the artifact of its screenshot
// (a screenshot step's, or the failing step's).
type SequenceStep struct {
	auditshot.StepResult
	ScreenshotSHA256 string `json:"screenshot_sha256,omitempty"`
}

// Sequence is a recorded flow: a capture of kind "sequence" whose Outcome
// is "succeeded" or "failed", its steps, and its video with chapters.
type Sequence struct {
	auditshot.Capture
	Steps    []SequenceStep      `json:"steps"`
	Video    *auditshot.Artifact `json:"video,omitempty"`
	Chapters []auditshot.Chapter `json:"chapters,omitempty"`
	Timings  auditshot.Timings   `json:"timings"`
}

// Succeeded reports whether every step ran and passed.
func (s *Sequence) Succeeded() bool { return s.Outcome == auditshot.SequenceSucceeded }

// Sequence runs a browser flow and returns it recorded. A step that fails
// is not an error: the flow is recorded with Outcome "failed" and the
// failing step's screenshot. Returns EINVALID for bad steps or options,
// EFORBIDDEN when the egress policy refuses the start page or the tenant
// does not allow evaluate steps, ECONFLICT for a finished run and EQUOTA
// when the monthly quota is spent.
func (c *Client) Sequence(ctx context.Context, req SequenceRequest) (*Sequence, error) {
	var out Sequence
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/v1/sequences", body: sequenceWire{SequenceRequest: req}}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SequenceAsync queues a browser flow as a job and returns the job; see
// WaitSequence. The quota is counted when the job is queued. The values of
// secret fills, headers, cookies and basic auth are kept in the server's
// memory only: if it restarts before the flow runs, the job fails and the
// flow must be submitted again.
func (c *Client) SequenceAsync(ctx context.Context, req SequenceRequest) (*auditshot.Job, error) {
	var out auditshot.Job
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/v1/sequences", body: sequenceWire{SequenceRequest: req, Async: true}}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// WaitSequence waits for a flow's job (SequenceAsync) and returns the
// recorded flow.
func (c *Client) WaitSequence(ctx context.Context, jobID string) (*Sequence, error) {
	var out Sequence
	if err := c.waitResult(ctx, jobID, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Sequence runs a browser flow as part of the run; see Client.Sequence.
func (r *Run) Sequence(ctx context.Context, req SequenceRequest) (*Sequence, error) {
	req.RunID = r.ID
	return r.c.Sequence(ctx, req)
}
