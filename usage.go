package auditshot

import (
	"context"
	"time"
)

// Usage is a tenant's capture count in one calendar month (UTC).
type Usage struct {
	TenantID string `json:"tenant_id"`
	// Period is the month, "2006-01".
	Period   string `json:"period"`
	Captures int64  `json:"captures"`
	// Limit is the plan's monthly quota; 0 means unlimited.
	Limit int64 `json:"limit"`
}

// UsagePeriod returns the usage period (month, UTC) that t falls in.
func UsagePeriod(t time.Time) string { return t.UTC().Format("2006-01") }

// UsageService counts captures against a tenant's monthly quota. Counts
// are durable: a restart does not give a spent quota back.
type UsageService interface {
	// ReserveCapture counts one capture in the period unless limit (> 0)
	// captures are already counted there, and returns the usage after it.
	// Returns EQUOTA, with the usage, when the quota is spent.
	ReserveCapture(ctx context.Context, tenantID, period string, limit int64) (Usage, error)
	// ReleaseCapture takes back a reservation of the period for a capture
	// that failed, so failures do not use up the quota.
	ReleaseCapture(ctx context.Context, tenantID, period string) error
	// Usage returns the tenant's count in the period.
	Usage(ctx context.Context, tenantID, period string) (Usage, error)
}

// IdempotentResponse is the first answer to a request with an
// Idempotency-Key, kept so that a retry gets the same answer.
type IdempotentResponse struct {
	TenantID string
	Key      string
	// Fingerprint identifies the request (method, path and body hash); a
	// retry with the same key and another fingerprint is refused.
	Fingerprint string
	// Status 0 marks a claim whose request has not answered yet.
	Status      int
	ContentType string
	// Headers are the response headers worth replaying (ledger index, ...).
	Headers   map[string]string
	Body      []byte
	CreatedAt time.Time
}

// IdempotencyStore keeps the first answer per tenant and Idempotency-Key.
type IdempotencyStore interface {
	// ClaimIdempotencyKey records that a request with r.Key has started
	// (r.Status 0). If the key is already claimed or answered it returns
	// the stored record and ECONFLICT; the caller then replays or waits.
	ClaimIdempotencyKey(ctx context.Context, r *IdempotentResponse) (*IdempotentResponse, error)
	// CompleteIdempotencyKey stores the answer to a claimed key.
	CompleteIdempotencyKey(ctx context.Context, r *IdempotentResponse) error
	// ReleaseIdempotencyKey forgets a claim whose request failed before
	// it changed anything, so a retry may run again.
	ReleaseIdempotencyKey(ctx context.Context, tenantID, key string) error
}
