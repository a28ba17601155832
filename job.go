package auditshot

import (
	"context"
	"encoding/json"
	"time"
)

// JobStatus is where an asynchronous job is in its life.
type JobStatus string

const (
	JobQueued    JobStatus = "queued"
	JobRunning   JobStatus = "running"
	JobSucceeded JobStatus = "succeeded"
	JobFailed    JobStatus = "failed"
)

// Done reports whether the job has finished, either way.
func (s JobStatus) Done() bool { return s == JobSucceeded || s == JobFailed }

// Job kinds.
const (
	JobScreenshot = "screenshot"
	JobPDF        = "pdf"
	JobExport     = "export"
	JobSequence   = "sequence"
)

// JobError is why a job failed: an error code and the caller-safe message.
type JobError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Job is an asynchronous capture or export: the request that made it, and
// its result or error once done. Webhook, if set, is told when it is done.
type Job struct {
	ID       string    `json:"id"`
	TenantID string    `json:"tenant_id"`
	Kind     string    `json:"kind"`
	Status   JobStatus `json:"status"`
	// Actor is the API key that made the job.
	Actor string `json:"-"`
	// Request is the job's input as the API received it.
	Request json.RawMessage `json:"-"`
	// Result is the job's output (a capture, an export) once it succeeded.
	Result json.RawMessage `json:"result,omitempty"`
	Error  *JobError       `json:"error,omitempty"`

	Webhook *WebhookState `json:"webhook,omitempty"`

	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// WebhookState is the delivery of a job's webhook.
type WebhookState struct {
	URL string `json:"url"`
	// Attempts counts delivery attempts; DeliveredAt is set by the first
	// one the receiver answered with a 2xx status.
	Attempts    int        `json:"attempts"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	// NextAttempt is when the next retry is due; nil once delivered or
	// given up.
	NextAttempt *time.Time `json:"next_attempt,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
}

// JobService stores asynchronous jobs.
type JobService interface {
	// CreateJob stores j as queued and sets its ID (if empty), Status and
	// times. Returns ENOTFOUND for an unknown tenant.
	CreateJob(ctx context.Context, j *Job) error
	// FindJob returns a job of the tenant. Returns ENOTFOUND if the tenant
	// has no such job.
	FindJob(ctx context.Context, tenantID, id string) (*Job, error)
	// UpdateJob stores j's Status, Result, Error, Webhook and FinishedAt,
	// and sets UpdatedAt. Returns ENOTFOUND for an unknown job.
	UpdateJob(ctx context.Context, j *Job) error
	// PendingJobs returns, oldest first, the jobs that are not done and the
	// done jobs whose webhook still has a retry due: the work a restarted
	// server resumes.
	PendingJobs(ctx context.Context) ([]*Job, error)
}
