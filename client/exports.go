package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"regexp"

	"github.com/auditshot/auditshot"
)

// ExportRequest selects what an evidence bundle holds: the entries of
// some runs, or an index range of the log. Exactly one of Runs and Range.
type ExportRequest struct {
	auditshot.ExportSelection
	// WebhookURL, for ExportAsync only, is sent the job when it is done.
	WebhookURL string `json:"webhook_url,omitempty"`
}

type exportWire struct {
	ExportRequest
	Async bool `json:"async,omitempty"`
}

// ExportResult is a written evidence bundle (a zip that `auditshot verify`
// checks offline): the export and where to download it. Its SHA256 is the
// bundle's; fetch it with Artifact or ArtifactBytes.
type ExportResult struct {
	auditshot.Export
	// Download is the bundle's API path ("/v1/artifacts/<sha256>").
	Download string `json:"download"`
}

// Export writes an evidence bundle and returns it. The server makes a
// large selection a job; Export then waits for the job (see WaitJob).
// Needs a key with the audit (or admin) scope. Returns EINVALID for a bad
// selection and ENOTFOUND for an unknown run.
func (c *Client) Export(ctx context.Context, req ExportRequest) (*ExportResult, error) {
	resp, err := c.send(ctx, request{method: http.MethodPost, path: "/v1/exports", body: exportWire{ExportRequest: req}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusAccepted {
		var j auditshot.Job
		if err := decode(resp, &j); err != nil {
			return nil, err
		}
		var out ExportResult
		if err := c.waitResult(ctx, j.ID, &out); err != nil {
			return nil, err
		}
		return &out, nil
	}
	var out ExportResult
	if err := decode(resp, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ExportAsync queues an export as a job and returns the job; WaitExport
// waits for it.
func (c *Client) ExportAsync(ctx context.Context, req ExportRequest) (*auditshot.Job, error) {
	var out auditshot.Job
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/v1/exports", body: exportWire{ExportRequest: req, Async: true}}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// WaitExport waits for an export job and returns its result.
func (c *Client) WaitExport(ctx context.Context, jobID string) (*ExportResult, error) {
	var out ExportResult
	if err := c.waitResult(ctx, jobID, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Artifact returns the content of the tenant's artifact with the given
// SHA-256 (lowercase hex). Reading it to EOF checks the content against
// the hash: the last Read returns an error on a mismatch, so use the
// content only after reading all of it. The caller closes it. Returns
// ENOTFOUND if the tenant has no such artifact.
func (c *Client) Artifact(ctx context.Context, sha string) (io.ReadCloser, error) {
	if !sha256Hex.MatchString(sha) {
		return nil, fmt.Errorf("artifact %q: want 64 lowercase hex digits", sha)
	}
	resp, err := c.send(ctx, request{method: http.MethodGet, path: "/v1/artifacts/" + sha, accept: "*/*"})
	if err != nil {
		return nil, err
	}
	return &hashReader{rc: resp.Body, want: sha, h: sha256.New()}, nil
}

// ArtifactBytes returns the content of an artifact, checked against its
// hash; see Artifact.
func (c *Client) ArtifactBytes(ctx context.Context, sha string) ([]byte, error) {
	rc, err := c.Artifact(ctx, sha)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// hashReader checks the content it reads against its SHA-256 at EOF.
type hashReader struct {
	rc   io.ReadCloser
	want string
	h    hash.Hash
}

func (r *hashReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.h.Write(p[:n])
	if err == io.EOF {
		if got := hex.EncodeToString(r.h.Sum(nil)); got != r.want {
			return n, fmt.Errorf("artifact %s: content has SHA-256 %s", r.want, got)
		}
	}
	return n, err
}

func (r *hashReader) Close() error { return r.rc.Close() }

// Usage is the tenant's capture count in a month, its plan, and what is
// left of its quota.
type Usage struct {
	auditshot.Usage
	// Remaining is the captures left in the period; nil when unlimited.
	Remaining *int64         `json:"remaining"`
	Plan      auditshot.Plan `json:"plan"`
}

// Usage returns the tenant's usage in period ("2006-01"; the current month
// if empty).
func (c *Client) Usage(ctx context.Context, period string) (*Usage, error) {
	q := url.Values{}
	if period != "" {
		q.Set("period", period)
	}
	var out Usage
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/usage", query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
