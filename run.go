package auditshot

import (
	"context"
	"encoding/json"
	"time"
)

// Agent identifies the code that acted: auditors ask which model, which
// version and which commit.
type Agent struct {
	ID      string `json:"id,omitempty"`
	Name    string `json:"name,omitempty"`
	Model   string `json:"model,omitempty"`
	Version string `json:"version,omitempty"`
	CodeRef string `json:"code_ref,omitempty"`
}

// RunStatus is the state of a run.
type RunStatus string

// Run states.
const (
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	RunFailed    RunStatus = "failed"
	RunCancelled RunStatus = "cancelled"
)

// LedgerRef locates a ledger entry: every write that matters answers with it.
type LedgerRef struct {
	Index    int64  `json:"index"`
	LeafHash string `json:"leaf_hash"`
}

// Run is one execution of an agent workflow.
type Run struct {
	ID        string            `json:"id"`
	TenantID  string            `json:"tenant_id"`
	Workflow  string            `json:"workflow"`
	Agent     Agent             `json:"agent"`
	Principal string            `json:"principal,omitempty"`
	Subject   string            `json:"subject,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	Status    RunStatus         `json:"status"`
	StartedAt time.Time         `json:"started_at"`
	EndedAt   *time.Time        `json:"ended_at,omitempty"`
	// Started and Finished are the run's run.started and run.finished
	// ledger entries.
	Started  LedgerRef  `json:"started"`
	Finished *LedgerRef `json:"finished,omitempty"`
}

// EventType is what kind of thing happened inside a run.
type EventType string

// Event types.
const (
	EventAction   EventType = "action"
	EventDecision EventType = "decision"
	EventApproval EventType = "approval"
	EventNote     EventType = "note"
	EventError    EventType = "error"
)

// Artifact roles within an event.
const (
	RoleBefore  = "before"
	RoleAfter   = "after"
	RoleStep    = "step"
	RoleVideo   = "video"
	RoleDOM     = "dom"
	RoleNetwork = "network"
	RoleDiff    = "diff"
	// RoleChapters is a flow video's chapters sidecar: JSON
	// {"video": sha256, "chapters": [{"step", "label", "offset_ms"}]}.
	RoleChapters = "chapters"
)

// ArtifactRef is an artifact attached to an event in a role.
type ArtifactRef struct {
	Artifact
	Role string `json:"role"`
}

// Event is something that happened inside a run.
type Event struct {
	ID         string          `json:"id"`
	RunID      string          `json:"run_id"`
	TenantID   string          `json:"tenant_id"`
	Type       EventType       `json:"type"`
	Name       string          `json:"name"`
	Data       json.RawMessage `json:"data,omitempty"`
	Reasoning  string          `json:"reasoning,omitempty"`
	Artifacts  []ArtifactRef   `json:"artifacts,omitempty"`
	Time       time.Time       `json:"time"`
	ClientTime *time.Time      `json:"client_time,omitempty"`
	Ledger     LedgerRef       `json:"ledger"`
}

// RunFilter selects runs. Zero fields do not filter.
type RunFilter struct {
	Workflow string
	AgentID  string
	Status   RunStatus
	Subject  string
	From, To time.Time
	// Text, if set, keeps runs whose workflow, subject, or any event's name
	// or data contains it, ignoring case.
	Text string
	// Sort orders the listing; "" is RunSortNewest.
	Sort RunSort
	// Cursor continues a previous listing (made with the same filter and
	// sort); Limit bounds the page.
	Cursor string
	Limit  int
}

// RunSort is the order of a run listing.
type RunSort string

// Run orders. Ties are broken by id, so pages never repeat or skip a run.
const (
	RunSortNewest   RunSort = "newest"   // start time, latest first
	RunSortOldest   RunSort = "oldest"   // start time, earliest first
	RunSortWorkflow RunSort = "workflow" // workflow A→Z, then newest first
	RunSortStatus   RunSort = "status"   // status A→Z, then newest first
)

// RunSorts returns every RunSort.
func RunSorts() []RunSort {
	return []RunSort{RunSortNewest, RunSortOldest, RunSortWorkflow, RunSortStatus}
}

// EvidenceView is one look at evidence by a user of the auditor console:
// who (the API key behind the session), what, and (as the entry's time)
// when.
type EvidenceView struct {
	TenantID string
	// Actor is the id of the API key the viewer signed in with.
	Actor string
	// What names the kind of evidence: ViewRun, ViewArtifact, ...
	What string
	// RunID, CaptureID and SHA256 name the evidence viewed; set those that
	// apply.
	RunID     string
	CaptureID string
	SHA256    string
}

// Kinds of EvidenceView.What.
const (
	ViewRun      = "run"      // a run's page: identity, timeline, images
	ViewArtifact = "artifact" // one artifact downloaded or opened (image, video, DOM, network log)
	ViewLedger   = "ledger"   // the ledger page: checkpoints, anchors, access log
)

// AccessLog records what auditors looked at, as ledger entries: access to
// evidence is itself evidence.
type AccessLog interface {
	// RecordView appends an evidence.viewed entry for v and returns it once
	// durable. Returns EINVALID for a view without tenant, actor or What.
	RecordView(ctx context.Context, v *EvidenceView) (*LedgerRef, error)
	// ListAccess returns the tenant's evidence.viewed and export.created
	// entries that match f, newest first.
	ListAccess(ctx context.Context, tenantID string, f AccessFilter) ([]AccessEntry, error)
}

// AccessFilter selects entries of the access log. Zero fields select all.
type AccessFilter struct {
	// Actor is an API key id: only that key's views and exports.
	Actor string
	// RunID: only views of that run and of its evidence, and exports that
	// name it.
	RunID string
	// Before is a ledger index: only entries before it (to page on from
	// the last entry of a page).
	Before int64
	// Limit is the most entries returned (the store's default if 0).
	Limit int
}

// AccessEntry is one entry of the access log: a view or an export.
type AccessEntry struct {
	// Type is "evidence.viewed" or "export.created".
	Type  string `json:"type"`
	Actor string `json:"actor"`
	// What is the view's kind, or "export".
	What      string    `json:"what"`
	RunID     string    `json:"run_id,omitempty"`
	CaptureID string    `json:"capture_id,omitempty"`
	SHA256    string    `json:"sha256,omitempty"`
	ExportID  string    `json:"export_id,omitempty"`
	Time      time.Time `json:"time"`
	Ledger    LedgerRef `json:"ledger"`
}

// RunService records runs and their events. Every method that writes
// appends its ledger entry in the same transaction as its rows, and
// returns only once the entry is durable.
type RunService interface {
	// CreateRun starts a run (a run.started entry). Returns EINVALID for a
	// missing workflow.
	CreateRun(ctx context.Context, r *Run) error
	// FindRun returns a run of the tenant. Returns ENOTFOUND if the tenant
	// has no such run, whether or not another tenant has.
	FindRun(ctx context.Context, tenantID, id string) (*Run, error)
	// ListRuns returns a page of the tenant's runs matching f, in f.Sort's
	// order (newest first by default), and the cursor of the next page (""
	// at the end). Returns EINVALID for a bad cursor, sort, text or limit.
	ListRuns(ctx context.Context, tenantID string, f RunFilter) (runs []*Run, next string, err error)
	// AddEvent records an event (a run.event entry). Returns ENOTFOUND for
	// an unknown run, ECONFLICT for a finished one, and EINVALID for an
	// unknown type or an artifact not in the blob store.
	AddEvent(ctx context.Context, e *Event) error
	// ListEvents returns a run's events in order.
	ListEvents(ctx context.Context, tenantID, runID string) ([]*Event, error)
	// FinishRun ends a run (a run.finished entry). Returns ECONFLICT if it
	// has already finished.
	FinishRun(ctx context.Context, tenantID, runID string, status RunStatus) (*Run, error)
	// RunEntries returns the ledger references of every entry of the run
	// (run.started, its events and captures, run.finished) in log order.
	// Returns ENOTFOUND if the tenant has no such run.
	RunEntries(ctx context.Context, tenantID, runID string) ([]LedgerRef, error)
}
