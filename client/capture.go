package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/auditshot/auditshot"
)

// ScreenshotRequest is a capture: the page and how to take it, and what to
// record it as.
type ScreenshotRequest struct {
	auditshot.CaptureOptions
	// Name labels the capture ("refund_start"), at most 256 bytes.
	Name string `json:"name,omitempty"`
	// RunID attaches the capture to a running run, in Role ("before",
	// "after", "step", ...). Role needs RunID.
	RunID string `json:"run_id,omitempty"`
	Role  string `json:"role,omitempty"`
	// WebhookURL, for ScreenshotAsync and PDFAsync only, is sent the job
	// when it is done (see VerifyWebhook).
	WebhookURL string `json:"webhook_url,omitempty"`
}

// captureWire is the body of POST /v1/screenshot and /v1/pdf.
type captureWire struct {
	ScreenshotRequest
	Async bool `json:"async,omitempty"`
}

// Capture is a recorded capture with its image (or PDF) artifact and the
// evidence facts the API returns with it.
type Capture struct {
	auditshot.Capture
	// MediaType, SHA256 and Size are those of the image or PDF.
	MediaType string `json:"media_type"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	// Width and Height are the image's pixel size (0 for a PDF).
	Width   int               `json:"width,omitempty"`
	Height  int               `json:"height,omitempty"`
	Timings auditshot.Timings `json:"timings"`
}

// Artifact returns the capture's artifact in role ("image", "pdf", "dom",
// "evidence"), and whether it has one.
func (c *Capture) Artifact(role string) (auditshot.ArtifactRef, bool) {
	for _, a := range c.Artifacts {
		if a.Role == role {
			return a, true
		}
	}
	return auditshot.ArtifactRef{}, false
}

// Media is a capture's image or PDF itself, with what the API says about
// the capture in its headers.
type Media struct {
	Data      []byte
	MediaType string
	// CaptureID is the recorded capture (see GetCapture).
	CaptureID string
	// SHA256 is the artifact's hash (see Artifact).
	SHA256 string
	// Ledger is the capture's capture.completed entry.
	Ledger auditshot.LedgerRef
}

// Screenshot takes a screenshot and returns the recorded capture. Returns
// EINVALID for bad options, EFORBIDDEN when the tenant's egress policy
// refuses the page, ECONFLICT for a finished run, EQUOTA when the monthly
// quota is spent, and ETIMEOUT when a strict capture's page did not load.
func (c *Client) Screenshot(ctx context.Context, req ScreenshotRequest) (*Capture, error) {
	var out Capture
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/v1/screenshot", body: captureWire{ScreenshotRequest: req}}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ScreenshotImage takes a screenshot like Screenshot and returns the image.
func (c *Client) ScreenshotImage(ctx context.Context, req ScreenshotRequest) (*Media, error) {
	return c.media(ctx, "/v1/screenshot", "image/*", req)
}

// PDF prints the page to PDF and returns the recorded capture. Format must
// be empty or "pdf"; paper options are in CaptureOptions.PDF.
func (c *Client) PDF(ctx context.Context, req ScreenshotRequest) (*Capture, error) {
	var out Capture
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/v1/pdf", body: captureWire{ScreenshotRequest: req}}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PDFDocument prints the page to PDF like PDF and returns the document.
func (c *Client) PDFDocument(ctx context.Context, req ScreenshotRequest) (*Media, error) {
	return c.media(ctx, "/v1/pdf", "application/pdf", req)
}

func (c *Client) media(ctx context.Context, path, accept string, req ScreenshotRequest) (*Media, error) {
	resp, err := c.send(ctx, request{method: http.MethodPost, path: path, body: captureWire{ScreenshotRequest: req}, accept: accept})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	m := &Media{MediaType: resp.Header.Get("Content-Type"), CaptureID: resp.Header.Get("X-Capture-Id"),
		SHA256: resp.Header.Get("X-Artifact-Sha256"), Ledger: ledgerRef(resp.Header)}
	if m.Data, err = io.ReadAll(resp.Body); err != nil {
		return nil, fmt.Errorf("POST %s: read %s: %w", path, m.MediaType, err)
	}
	return m, nil
}

// ledgerRef reads the X-Ledger-* headers of a write.
func ledgerRef(h http.Header) auditshot.LedgerRef {
	i, _ := strconv.ParseInt(h.Get("X-Ledger-Index"), 10, 64)
	return auditshot.LedgerRef{Index: i, LeafHash: h.Get("X-Ledger-Leaf-Hash")}
}

// ScreenshotAsync queues a screenshot as a job and returns the job; see
// WaitCapture. The quota is counted when the job is queued.
func (c *Client) ScreenshotAsync(ctx context.Context, req ScreenshotRequest) (*auditshot.Job, error) {
	return c.captureJob(ctx, "/v1/screenshot", req)
}

// PDFAsync queues a PDF as a job and returns the job; see WaitCapture.
func (c *Client) PDFAsync(ctx context.Context, req ScreenshotRequest) (*auditshot.Job, error) {
	return c.captureJob(ctx, "/v1/pdf", req)
}

func (c *Client) captureJob(ctx context.Context, path string, req ScreenshotRequest) (*auditshot.Job, error) {
	var out auditshot.Job
	if _, err := c.do(ctx, request{method: http.MethodPost, path: path, body: captureWire{ScreenshotRequest: req, Async: true}}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetCapture returns a recorded capture. Returns ENOTFOUND if the tenant
// has no such capture.
func (c *Client) GetCapture(ctx context.Context, id string) (*auditshot.Capture, error) {
	var out auditshot.Capture
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/captures/" + escape(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Job returns an asynchronous job. Returns ENOTFOUND if the tenant has no
// such job.
func (c *Client) Job(ctx context.Context, id string) (*auditshot.Job, error) {
	var out auditshot.Job
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/jobs/" + escape(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// WaitJob polls the job every Config.PollInterval until it is done or ctx
// is. A job that failed is returned together with an *auditshot.Error of
// the job's code and message.
func (c *Client) WaitJob(ctx context.Context, id string) (*auditshot.Job, error) {
	t := time.NewTicker(c.cfg.PollInterval)
	defer t.Stop()
	for {
		j, err := c.Job(ctx, id)
		if err != nil {
			return nil, err
		}
		if j.Status.Done() {
			if j.Status == auditshot.JobFailed {
				e := &auditshot.Error{Code: auditshot.EINTERNAL, Message: "job failed"}
				if j.Error != nil {
					e.Code, e.Message = j.Error.Code, j.Error.Message
				}
				return j, fmt.Errorf("job %s: %w", j.ID, e)
			}
			return j, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// WaitCapture waits for a capture job (ScreenshotAsync, PDFAsync) and
// returns its capture.
func (c *Client) WaitCapture(ctx context.Context, jobID string) (*Capture, error) {
	var out Capture
	if err := c.waitResult(ctx, jobID, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// waitResult waits for a job and decodes its result into out.
func (c *Client) waitResult(ctx context.Context, jobID string, out any) error {
	j, err := c.WaitJob(ctx, jobID)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(j.Result, out); err != nil {
		return fmt.Errorf("job %s: decode result: %w", j.ID, err)
	}
	return nil
}
