package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/auditshot/auditshot/visualdiff"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/auditshot/auditshot"
)

// captureRequest is the body of POST /v1/screenshot and POST /v1/pdf:
// every capture option, and what to do with the capture.
type captureRequest struct {
	auditshot.CaptureOptions
	// Name labels the capture ("refund_start").
	Name string `json:"name,omitempty"`
	// RunID and Role attach the capture to a run.
	RunID string `json:"run_id,omitempty"`
	Role  string `json:"role,omitempty"`
	// Async makes the capture a job: the answer is 202 with the job.
	Async bool `json:"async,omitempty"`
	// WebhookURL, for an async capture, is told when the job is done.
	WebhookURL string `json:"webhook_url,omitempty"`
}

// captureResponse is the answer to a capture: the recorded capture, its
// image (or PDF) artifact and the evidence facts worth having at hand.
type captureResponse struct {
	*auditshot.Capture
	MediaType string            `json:"media_type"`
	SHA256    string            `json:"sha256"`
	Size      int64             `json:"size"`
	Width     int               `json:"width,omitempty"`
	Height    int               `json:"height,omitempty"`
	Timings   auditshot.Timings `json:"timings"`
}

func (s *Server) handleScreenshot(w http.ResponseWriter, r *http.Request) error {
	return s.handleCapture(w, r, auditshot.JobScreenshot)
}

func (s *Server) handlePDF(w http.ResponseWriter, r *http.Request) error {
	return s.handleCapture(w, r, auditshot.JobPDF)
}

func (s *Server) handleCapture(w http.ResponseWriter, r *http.Request, kind string) error {
	c := callerOf(r)
	var req captureRequest
	if err := decodeJSON(body(r), &req); err != nil {
		return err
	}
	if err := s.checkCapture(r.Context(), c, &req, kind); err != nil {
		return err
	}
	if req.Async {
		return s.acceptJob(w, r, c, kind, req.WebhookURL)
	}
	out, raw, err := s.captureNow(r.Context(), w.Header(), c, req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/captures/"+out.ID)
	w.Header().Set("X-Capture-Id", out.ID)
	w.Header().Set("X-Ledger-Index", strconv.FormatInt(out.Ledger.Index, 10))
	w.Header().Set("X-Ledger-Leaf-Hash", out.Ledger.LeafHash)
	w.Header().Set("X-Artifact-Sha256", out.SHA256)
	if wantsMedia(r.Header.Get("Accept"), out.MediaType) {
		w.Header().Set("Content-Type", out.MediaType)
		w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
		w.WriteHeader(http.StatusCreated)
		w.Write(raw)
		return nil
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// acceptJob reserves a capture of the tenant's quota, queues the request
// as a job of kind and answers 202 with the job; the reservation is
// released if the job cannot be queued.
func (s *Server) acceptJob(w http.ResponseWriter, r *http.Request, c caller, kind, webhookURL string) error {
	res, err := s.reserveCapture(r.Context(), w.Header(), c)
	if err != nil {
		return err
	}
	j, err := s.enqueue(r.Context(), c, kind, body(r), webhookURL)
	if err != nil {
		res.release(r.Context())
		return err
	}
	res.keep()
	w.Header().Set("Location", "/v1/jobs/"+j.ID)
	w.Header().Set("X-Job-Id", j.ID)
	writeJSON(w, http.StatusAccepted, j)
	return nil
}

// wantsMedia reports whether the Accept header asks for the image or PDF
// itself rather than JSON.
func wantsMedia(accept, mediaType string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		t, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		t = strings.TrimSpace(t)
		switch {
		case t == mediaType:
			return true
		case t == "image/*" && strings.HasPrefix(mediaType, "image/"):
			return true
		}
	}
	return false
}

// checkCapture validates a capture request before any quota is spent:
// options under the tenant's policy, and the run it is for.
func (s *Server) checkCapture(ctx context.Context, c caller, req *captureRequest, kind string) error {
	if kind == auditshot.JobPDF {
		if req.Format != "" && req.Format != "pdf" {
			return auditshot.Errorf(auditshot.EINVALID, "format: /v1/pdf makes PDFs; use /v1/screenshot for %q", req.Format)
		}
		req.Format = "pdf"
	} else if req.Format == "pdf" {
		return auditshot.Errorf(auditshot.EINVALID, "format: use /v1/pdf for PDFs")
	}
	if _, err := req.CaptureOptions.Normalize(c.tenant.CapturePolicy()); err != nil {
		return err
	}
	if req.Role != "" && req.RunID == "" {
		return auditshot.Errorf(auditshot.EINVALID, "role: needs run_id")
	}
	return s.checkRecording(ctx, c, req.Name, req.RunID, req.WebhookURL, req.Async, "captures")
}

// checkRecording checks what a capture and a flow share: the name, the
// webhook (async only), and the run, which must be the tenant's and still
// running. what names the kind of request in messages.
func (s *Server) checkRecording(ctx context.Context, c caller, name, runID, webhookURL string, async bool, what string) error {
	switch {
	case len(name) > 256:
		return auditshot.Errorf(auditshot.EINVALID, "name: longer than 256 bytes")
	case webhookURL != "" && !async:
		return auditshot.Errorf(auditshot.EINVALID, "webhook_url: only for async %s", what)
	}
	if webhookURL != "" {
		if err := checkWebhookURL(webhookURL); err != nil {
			return err
		}
	}
	if runID != "" {
		run, err := s.cfg.Runs.FindRun(ctx, c.tenant.ID, runID)
		if err != nil {
			return err
		}
		if run.Status != auditshot.RunRunning {
			return auditshot.Errorf(auditshot.ECONFLICT, "run %q has finished", runID)
		}
	}
	return nil
}

// captureNow takes a capture for a waiting caller. The monthly quota is
// reserved while the page loads, not before: the capture is recorded only
// once the reservation holds, and thrown away (402) when it does not.
func (s *Server) captureNow(ctx context.Context, h http.Header, c caller, req captureRequest) (*captureResponse, []byte, error) {
	if err := s.rateLimit(h, c); err != nil {
		return nil, nil, err
	}
	type reserved struct {
		r   *reservation
		err error
	}
	quota := make(chan reserved, 1)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		r, err := s.reserveQuota(context.WithoutCancel(ctx), h, c)
		if err != nil {
			cancel(err)
		}
		quota <- reserved{r, err}
	}()
	res, err := s.cfg.Engine.Capture(ctx, req.CaptureOptions, c.tenant.CapturePolicy())
	q := <-quota
	if q.err != nil {
		return nil, nil, q.err
	}
	if err != nil {
		q.r.release(ctx)
		return nil, nil, err
	}
	out, raw, err := s.record(ctx, c, req, res)
	if err != nil {
		q.r.release(ctx)
		return nil, nil, err
	}
	q.r.keep()
	return out, raw, nil
}

// capture takes the capture, stores its artifacts (durable first) and
// records it with its capture.completed entry.
func (s *Server) capture(ctx context.Context, c caller, req captureRequest) (*captureResponse, []byte, error) {
	res, err := s.cfg.Engine.Capture(ctx, req.CaptureOptions, c.tenant.CapturePolicy())
	if err != nil {
		return nil, nil, err
	}
	return s.record(ctx, c, req, res)
}

// record stores a capture's artifacts (durable first) and records it with
// its capture.completed entry.
func (s *Server) record(ctx context.Context, c caller, req captureRequest, res *auditshot.CaptureResult) (*captureResponse, []byte, error) {
	s.metrics.capture(res.Evidence.Timings)
	evidence, err := json.Marshal(res.Evidence)
	if err != nil {
		return nil, nil, err
	}
	rec := &auditshot.Capture{TenantID: c.tenant.ID, RunID: req.RunID, Role: req.Role, Name: req.Name,
		URL: res.Evidence.RequestedURL, FinalURL: res.Evidence.FinalURL, Status: res.Evidence.Status,
		Title: res.Evidence.Title, BestAttempt: res.Evidence.Wait.BestAttempt, Blank: res.Evidence.Blank}
	parts := []struct {
		data        []byte
		media, role string
	}{
		{res.Data, res.MediaType, "image"},
		{res.DOM, "multipart/related", auditshot.RoleDOM},
		{evidence, "application/json", "evidence"},
	}
	if res.MediaType == "application/pdf" {
		parts[0].role = "pdf"
	}
	// The parts are stored at once, each blob durable (fsynced) before the
	// capture's entry refers to it; RecordCapture records them as the
	// tenant's artifacts in the entry's transaction.
	refs := make([]auditshot.ArtifactRef, len(parts))
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	// An after screenshot of a run is compared with the run's before: it
	// is decoded (and hashed) meanwhile. Other screenshots are hashed after
	// they are answered.
	var decoded image.Image
	diffing := req.Role == auditshot.RoleAfter && req.RunID != ""
	if diffing {
		wg.Go(func() {
			if decoded = decodeImage(res.Data, res.MediaType); decoded != nil {
				rec.PHash = visualdiff.PHash(decoded).String()
			}
		})
	}
	for i, p := range parts {
		if len(p.data) == 0 {
			continue
		}
		wg.Go(func() {
			a, err := s.cfg.Blobs.Put(ctx, bytes.NewReader(p.data), p.media)
			refs[i], errs[i] = auditshot.ArtifactRef{Artifact: a, Role: p.role}, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	for i, p := range parts {
		if len(p.data) > 0 {
			rec.Artifacts = append(rec.Artifacts, refs[i])
		}
	}
	if diffing && decoded != nil {
		diff, err := s.diffAgainstBefore(ctx, c.tenant.ID, req.RunID, decoded)
		if err != nil {
			return nil, nil, err
		}
		if diff != nil {
			rec.Diff = diff.summary
			rec.Artifacts = append(rec.Artifacts, diff.ref)
		}
	}
	done := s.metrics.appendStart()
	err = s.cfg.Captures.RecordCapture(ctx, rec)
	done()
	if err != nil {
		return nil, nil, err
	}
	if rec.PHash == "" {
		s.hashLater(rec.TenantID, rec.ID, res.Data, res.MediaType)
	}
	img := rec.Artifacts[0]
	return &captureResponse{Capture: rec, MediaType: img.MediaType, SHA256: img.SHA256, Size: img.Size,
		Width: res.Evidence.Width, Height: res.Evidence.Height, Timings: res.Evidence.Timings}, res.Data, nil
}

func (s *Server) handleGetCapture(w http.ResponseWriter, r *http.Request) error {
	c, err := s.cfg.Captures.FindCapture(r.Context(), callerOf(r).key.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// decodeImage decodes a PNG or JPEG screenshot; nil for anything else (a
// PDF, WebP) or an image that does not decode.
func decodeImage(data []byte, mediaType string) image.Image {
	var (
		img image.Image
		err error
	)
	switch mediaType {
	case "image/png":
		img, err = png.Decode(bytes.NewReader(data))
	case "image/jpeg":
		img, err = jpeg.Decode(bytes.NewReader(data))
	default:
		return nil
	}
	if err != nil {
		return nil
	}
	return img
}

// runDiff is an "after" capture's comparison with its run's "before".
type runDiff struct {
	summary *auditshot.DiffSummary
	ref     auditshot.ArtifactRef
}

// diffAgainstBefore compares after with the latest "before" capture of the
// run and stores the diff image (durable) as an artifact with role "diff".
// It returns nil when the run has no before screenshot to compare with.
func (s *Server) diffAgainstBefore(ctx context.Context, tenantID, runID string, after image.Image) (*runDiff, error) {
	captures, err := s.cfg.Captures.ListCaptures(ctx, tenantID, runID)
	if err != nil {
		return nil, err
	}
	var before *auditshot.Capture
	var sha string
	for _, c := range captures {
		if c.Role != auditshot.RoleBefore {
			continue
		}
		for _, a := range c.Artifacts {
			if a.Role == "image" && (a.MediaType == "image/png" || a.MediaType == "image/jpeg") {
				before, sha = c, a.SHA256
			}
		}
	}
	if before == nil {
		return nil, nil
	}
	rc, a, err := s.cfg.Blobs.Open(ctx, sha, true)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	img := decodeImage(data, a.MediaType)
	if img == nil {
		return nil, nil
	}
	d, err := visualdiff.Diff(img, after, visualdiff.Options{})
	if err != nil {
		return nil, err
	}
	png, err := visualdiff.EncodePNG(d.Image)
	if err != nil {
		return nil, err
	}
	stored, err := s.cfg.Blobs.Put(ctx, bytes.NewReader(png), "image/png")
	if err != nil {
		return nil, err
	}
	sum := &auditshot.DiffSummary{Before: before.ID, ChangedPixels: int64(d.ChangedPixels), TotalPixels: int64(d.TotalPixels),
		Regions: make([]auditshot.PixelRect, len(d.Regions))}
	if d.TotalPixels > 0 {
		sum.ChangedPPM = int64(d.ChangedPixels) * 1_000_000 / int64(d.TotalPixels)
	}
	for i, r := range d.Regions {
		sum.Regions[i] = auditshot.PixelRect{X: r.X, Y: r.Y, Width: r.Width, Height: r.Height}
	}
	if n := len(sum.Regions); n > auditshot.MaxDiffRegions {
		sum.Regions, sum.MoreRegions = sum.Regions[:auditshot.MaxDiffRegions], n-auditshot.MaxDiffRegions
	}
	return &runDiff{summary: sum, ref: auditshot.ArtifactRef{Artifact: stored, Role: auditshot.RoleDiff}}, nil
}

// hashJob is a recorded screenshot whose perceptual hash is still to be
// computed.
type hashJob struct {
	tenant, capture, mediaType string
	data                       []byte
}

// hashLater queues a screenshot for hashing off the request's path; when
// the queue is full the hash is skipped (logged), never the capture.
func (s *Server) hashLater(tenant, capture string, data []byte, mediaType string) {
	if mediaType != "image/png" && mediaType != "image/jpeg" {
		return
	}
	select {
	case s.hashes <- hashJob{tenant: tenant, capture: capture, mediaType: mediaType, data: data}:
	default:
		s.log.Warn("perceptual hash queue full; capture left without a hash", "capture", capture)
	}
}

// hasher computes queued perceptual hashes until the server closes, then
// finishes the queued ones.
func (s *Server) hasher() {
	defer s.workers.Done()
	for {
		select {
		case j := <-s.hashes:
			s.hash(j)
		case <-s.closing:
			for {
				select {
				case j := <-s.hashes:
					s.hash(j)
				default:
					return
				}
			}
		}
	}
}

func (s *Server) hash(j hashJob) {
	img := decodeImage(j.data, j.mediaType)
	if img == nil {
		return
	}
	if err := s.cfg.Captures.SetCapturePHash(context.WithoutCancel(s.ctx), j.tenant, j.capture, visualdiff.PHash(img).String()); err != nil {
		s.log.Error("store perceptual hash", "capture", j.capture, "err", err)
	}
}
