package auditshot

import (
	"context"
	"time"
)

// Capture is a recorded capture: what was captured, the artifacts that
// came out (the image or PDF, the DOM snapshot, the evidence as JSON) and
// its capture.completed ledger entry.
type Capture struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	// RunID, if set, attaches the capture to a run, in Role.
	RunID string `json:"run_id,omitempty"`
	Role  string `json:"role,omitempty"`
	// Kind is "screenshot" (the default, also for PDFs) or "sequence": a
	// browser flow whose Outcome is "succeeded" or "failed".
	Kind    string `json:"kind,omitempty"`
	Outcome string `json:"outcome,omitempty"`
	// Name is the caller's label ("refund_start").
	Name        string        `json:"name,omitempty"`
	URL         string        `json:"url,omitempty"`
	FinalURL    string        `json:"final_url,omitempty"`
	Status      int           `json:"status,omitempty"`
	Title       string        `json:"title,omitempty"`
	BestAttempt bool          `json:"best_attempt,omitempty"`
	Blank       bool          `json:"blank,omitempty"`
	Artifacts   []ArtifactRef `json:"artifacts"`
	// PHash is the image's 64-bit perceptual hash, 16 hex digits:
	// near-identical screenshots have hashes a few bits apart. It is
	// computed after the capture is recorded (empty until then, and for a
	// PDF) and is not in the ledger entry: anyone can recompute it from the
	// image the entry commits to.
	PHash string `json:"phash,omitempty"`
	// Diff compares an "after" capture of a run with the run's latest
	// "before" capture; its image is the artifact with role "diff".
	Diff   *DiffSummary `json:"diff,omitempty"`
	Time   time.Time    `json:"time"`
	Ledger LedgerRef    `json:"ledger"`
}

// DiffSummary is what changed between a before and an after screenshot.
type DiffSummary struct {
	// Before is the id of the capture compared against.
	Before string `json:"before"`
	// ChangedPixels of TotalPixels differ; ChangedPPM is the ratio in
	// parts per million (ledger entries hold integers only).
	ChangedPixels int64 `json:"changed_pixels"`
	TotalPixels   int64 `json:"total_pixels"`
	ChangedPPM    int64 `json:"changed_ppm"`
	// Regions are the boxes of the changed areas, in image pixels, top to
	// bottom: at most MaxDiffRegions, MoreRegions counting the rest.
	Regions     []PixelRect `json:"regions"`
	MoreRegions int         `json:"more_regions,omitempty"`
}

// MaxDiffRegions bounds DiffSummary.Regions, so that the summary fits a
// ledger entry.
const MaxDiffRegions = 64

// PixelRect is a rectangle in image pixels.
type PixelRect struct {
	X      int `json:"x"`
	Y      int `json:"y"`
	Width  int `json:"width"`
	Height int `json:"height"`
}

// CaptureStore records captures.
type CaptureStore interface {
	// RecordCapture stores c and appends its capture.completed entry in the
	// same transaction; it sets c.ID (if empty), c.Time and c.Ledger. An
	// artifact the tenant has not recorded is recorded in that transaction
	// when given whole (SHA-256, size, media type); its blob MUST be durable
	// first. Returns EINVALID for an artifact neither recorded nor whole or
	// a bad name, ENOTFOUND for an unknown tenant or run, ECONFLICT for a
	// finished run.
	RecordCapture(ctx context.Context, c *Capture) error
	// FindCapture returns a capture of the tenant. Returns ENOTFOUND if
	// the tenant has no such capture.
	FindCapture(ctx context.Context, tenantID, id string) (*Capture, error)
	// ListCaptures returns the captures attached to a run, in log order.
	// Returns ENOTFOUND if the tenant has no such run.
	ListCaptures(ctx context.Context, tenantID, runID string) ([]*Capture, error)
	// SetCapturePHash stores the perceptual hash of a capture's image.
	// Returns ENOTFOUND if the tenant has no such capture and EINVALID for
	// a hash that is not 16 lowercase hex digits.
	SetCapturePHash(ctx context.Context, tenantID, captureID, phash string) error
}
