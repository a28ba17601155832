package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"

	"github.com/auditshot/auditshot"
)

// sequenceRequest is the body of POST /v1/sequences: a browser flow, and
// the run it belongs to.
type sequenceRequest struct {
	auditshot.SequenceOptions
	Name  string `json:"name,omitempty"`
	RunID string `json:"run_id,omitempty"`
	// Async makes the flow a job: the answer is 202 with the job, whose
	// result is the sequenceResponse.
	Async bool `json:"async,omitempty"`
	// WebhookURL, for an async flow, is told when the job is done.
	WebhookURL string `json:"webhook_url,omitempty"`
}

// sequenceResponse is a recorded flow: the capture (its ledger entry, its
// artifacts, and its Outcome: succeeded or failed), every step with its
// screenshot's artifact, and the video with its chapters.
type sequenceResponse struct {
	*auditshot.Capture
	Steps    []sequenceStep      `json:"steps"`
	Video    *auditshot.Artifact `json:"video,omitempty"`
	Chapters []auditshot.Chapter `json:"chapters,omitempty"`
	Timings  auditshot.Timings   `json:"timings"`
}

// sequenceStep is a step's result with its screenshot's artifact.
type sequenceStep struct {
	auditshot.StepResult
	ScreenshotSHA256 string `json:"screenshot_sha256,omitempty"`
}

// chaptersSidecar is the artifact of role chapters: where each step starts
// in the video.
type chaptersSidecar struct {
	Video    string              `json:"video"`
	Chapters []auditshot.Chapter `json:"chapters"`
}

// sequenceEvidence is the flow's evidence artifact: what ran, how each step
// ended, the page's evidence and the video's chapters.
type sequenceEvidence struct {
	Status   string                    `json:"status"`
	Steps    []sequenceStep            `json:"steps"`
	Options  auditshot.SequenceOptions `json:"options"`
	Evidence auditshot.Evidence        `json:"evidence"`
	Chapters []auditshot.Chapter       `json:"chapters,omitempty"`
}

func (s *Server) handleSequence(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Sequences == nil {
		return auditshot.Errorf(auditshot.EUNAVAILABLE, "this server does not run browser flows")
	}
	c := callerOf(r)
	var req sequenceRequest
	if err := decodeJSON(body(r), &req); err != nil {
		return err
	}
	if err := s.checkSequence(r.Context(), c, req); err != nil {
		return err
	}
	if req.Async {
		return s.acceptJob(w, r, c, auditshot.JobSequence, req.WebhookURL)
	}
	res, err := s.reserveCapture(r.Context(), w.Header(), c)
	if err != nil {
		return err
	}
	out, err := s.sequence(r.Context(), c, req, c.tenant.CapturePolicy())
	if err != nil {
		res.release(r.Context())
		return err
	}
	res.keep()
	w.Header().Set("Location", "/v1/captures/"+out.ID)
	w.Header().Set("X-Capture-Id", out.ID)
	setLedgerHeaders(w, out.Ledger)
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// checkSequence validates a flow before any quota is spent: its options
// and steps under the tenant's policy, its webhook, and the run it is for.
func (s *Server) checkSequence(ctx context.Context, c caller, req sequenceRequest) error {
	if _, err := req.SequenceOptions.Normalize(c.tenant.CapturePolicy()); err != nil {
		return err
	}
	return s.checkRecording(ctx, c, req.Name, req.RunID, req.WebhookURL, req.Async, "flows")
}

// sequenceJob runs an async flow. A flow whose secrets were kept only in
// memory cannot run after a restart: it fails, naming why.
func (s *Server) sequenceJob(ctx context.Context, c caller, stored storedRequest) (*sequenceResponse, error) {
	if stored.Redacted {
		return nil, auditshot.Errorf(auditshot.EUNAVAILABLE, "the server restarted before this flow ran, and its secrets "+
			"(secret fills, headers, cookies, basic auth) are never stored: submit it again")
	}
	var req sequenceRequest
	if err := decodeJSON(stored.Body, &req); err != nil {
		return nil, err
	}
	return s.sequence(ctx, c, req, c.tenant.CapturePolicy())
}

// sequence runs the flow and records it: every step screenshot, the video,
// the final DOM and the evidence are stored (durable) and referred to by
// one capture.completed entry of kind "sequence". A flow whose step failed
// is recorded too: its outcome is "failed".
func (s *Server) sequence(ctx context.Context, c caller, req sequenceRequest, policy auditshot.CapturePolicy) (*sequenceResponse, error) {
	res, err := s.cfg.Sequences.Sequence(ctx, req.SequenceOptions, policy)
	if err != nil {
		return nil, err
	}
	s.metrics.capture(res.Evidence.Timings)
	type part struct {
		data        []byte
		media, role string
		step        int // index into steps for a step screenshot, else -1
	}
	var parts []part
	for i, st := range res.Steps {
		if st.Screenshot != nil && len(st.Screenshot.Data) > 0 {
			parts = append(parts, part{st.Screenshot.Data, st.Screenshot.MediaType, auditshot.RoleStep, i})
		}
	}
	if len(res.Video) > 0 {
		parts = append(parts, part{res.Video, res.VideoMediaType, auditshot.RoleVideo, -1})
	}
	if len(res.DOM) > 0 {
		parts = append(parts, part{res.DOM, "multipart/related", auditshot.RoleDOM, -1})
	}
	refs := make([]auditshot.ArtifactRef, len(parts))
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() {
			a, err := s.cfg.Blobs.Put(ctx, bytes.NewReader(p.data), p.media)
			refs[i], errs[i] = auditshot.ArtifactRef{Artifact: a, Role: p.role}, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, p := range parts {
		if p.role != auditshot.RoleVideo || len(res.Chapters) == 0 {
			continue
		}
		// The chapters sidecar, stored with the video so a viewer can jump
		// to a step.
		b, err := json.Marshal(chaptersSidecar{Video: refs[i].SHA256, Chapters: res.Chapters})
		if err != nil {
			return nil, err
		}
		a, err := s.cfg.Blobs.Put(ctx, bytes.NewReader(b), "application/json")
		if err != nil {
			return nil, err
		}
		refs = append(refs, auditshot.ArtifactRef{Artifact: a, Role: auditshot.RoleChapters})
	}
	out := &sequenceResponse{Chapters: res.Chapters, Timings: res.Evidence.Timings,
		Steps: make([]sequenceStep, len(res.Steps))}
	for i, st := range res.Steps {
		out.Steps[i] = sequenceStep{StepResult: st}
	}
	for i, p := range parts {
		if p.step >= 0 {
			out.Steps[p.step].ScreenshotSHA256 = refs[i].SHA256
		}
		if p.role == auditshot.RoleVideo {
			v := refs[i].Artifact
			out.Video = &v
		}
	}
	evidence, err := json.Marshal(sequenceEvidence{Status: res.Status, Steps: out.Steps, Options: res.Options,
		Evidence: res.Evidence, Chapters: res.Chapters})
	if err != nil {
		return nil, err
	}
	ev, err := s.cfg.Blobs.Put(ctx, bytes.NewReader(evidence), "application/json")
	if err != nil {
		return nil, err
	}
	rec := &auditshot.Capture{TenantID: c.tenant.ID, RunID: req.RunID, Role: auditshot.RoleStep, Kind: "sequence", Outcome: res.Status,
		Name: req.Name, URL: res.Evidence.RequestedURL, FinalURL: res.Evidence.FinalURL, Status: res.Evidence.Status,
		Title: res.Evidence.Title, Artifacts: append(refs, auditshot.ArtifactRef{Artifact: ev, Role: "evidence"})}
	if req.RunID == "" {
		rec.Role = ""
	}
	done := s.metrics.appendStart()
	err = s.cfg.Captures.RecordCapture(ctx, rec)
	done()
	if err != nil {
		return nil, err
	}
	out.Capture = rec
	for i := range out.Steps {
		out.Steps[i].Screenshot = nil // its bytes are the step's artifact
	}
	return out, nil
}
