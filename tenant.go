package auditshot

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// Tenant is an organisation whose runs, evidence and log are kept apart
// from every other tenant's. Each tenant has its own Merkle log, with origin
// "<base>/<tenant id>".
type Tenant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Plan Plan   `json:"plan"`
	// RetentionDays is how long blobs are kept; 0 keeps them forever.
	// Ledger entries are never deleted.
	RetentionDays int `json:"retention_days"`
	// Egress is the outbound policy of the tenant's captures.
	Egress EgressPolicy `json:"egress"`
	// AllowScripts permits the js capture option and evaluate steps.
	AllowScripts bool      `json:"allow_scripts"`
	CreatedAt    time.Time `json:"created_at"`
	// Ledger is the policy.changed entry of the change UpdateTenant just
	// made (nil when nothing changed); not stored with the tenant.
	Ledger *LedgerRef `json:"ledger,omitempty"`
}

// CapturePolicy returns the policy the tenant's captures run under.
func (t *Tenant) CapturePolicy() CapturePolicy {
	return CapturePolicy{Egress: t.Egress, AllowScripts: t.AllowScripts}
}

// Plan sets a tenant's capture quotas. Zero means unlimited.
type Plan struct {
	Name              string `json:"name"`
	CapturesPerMonth  int    `json:"captures_per_month"`
	CapturesPerMinute int    `json:"captures_per_minute"`
}

// Plans are the named presets.
var Plans = map[string]Plan{
	"free":      {Name: "free", CapturesPerMonth: 100, CapturesPerMinute: 10},
	"unlimited": {Name: "unlimited"},
}

// Scope is a permission of an API key.
type Scope string

// Scopes. ScopeAudit reads and exports, and never writes.
const (
	ScopeCapture Scope = "capture"
	ScopeWrite   Scope = "write"
	ScopeRead    Scope = "read"
	ScopeAudit   Scope = "audit"
	ScopeAdmin   Scope = "admin"
)

// ValidScope reports whether s is a known scope.
func ValidScope(s Scope) bool {
	switch s {
	case ScopeCapture, ScopeWrite, ScopeRead, ScopeAudit, ScopeAdmin:
		return true
	}
	return false
}

// APIKeyPrefix starts every API key: "ask_<id>_<secret>".
const APIKeyPrefix = "ask_"

// APIKey is a credential of a tenant. Only the SHA-256 of its secret is
// stored; the secret is shown once, when the key is created.
type APIKey struct {
	ID       string  `json:"id"`
	TenantID string  `json:"tenant_id"`
	Name     string  `json:"name"`
	Scopes   []Scope `json:"scopes"`
	// SecretHash is the hex SHA-256 of the secret part of the key.
	SecretHash string     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	// Ledger is the key.created entry, set by CreateAPIKey.
	Ledger *LedgerRef `json:"ledger,omitempty"`
}

// Has reports whether the key grants scope s. Admin implies every scope;
// write implies read; audit implies read.
func (k *APIKey) Has(s Scope) bool {
	if slices.Contains(k.Scopes, ScopeAdmin) || slices.Contains(k.Scopes, s) {
		return true
	}
	return s == ScopeRead && (slices.Contains(k.Scopes, ScopeWrite) || slices.Contains(k.Scopes, ScopeAudit))
}

// Matches reports whether secret is this key's secret, in constant time.
func (k *APIKey) Matches(secret string) bool {
	return subtle.ConstantTimeCompare([]byte(HashSecret(secret)), []byte(k.SecretHash)) == 1
}

// HashSecret returns the hex SHA-256 of an API key secret.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ParseAPIKey splits "ask_<id>_<secret>" into its id and secret. Returns
// EUNAUTHORIZED for anything else, without echoing the input.
func ParseAPIKey(key string) (id, secret string, err error) {
	rest, ok := strings.CutPrefix(key, APIKeyPrefix)
	if ok {
		id, secret, ok = strings.Cut(rest, "_")
	}
	if !ok || id == "" || len(secret) < 16 || strings.ContainsAny(id+secret, " \t\r\n") {
		return "", "", Errorf(EUNAUTHORIZED, "malformed API key")
	}
	return id, secret, nil
}

// TenantService manages tenants and their keys.
type TenantService interface {
	// CreateTenant stores a new tenant. Returns ECONFLICT if the id is taken
	// and EINVALID for a bad id, name or plan.
	CreateTenant(ctx context.Context, t *Tenant) error
	// FindTenant returns a tenant. Returns ENOTFOUND if it does not exist.
	FindTenant(ctx context.Context, id string) (*Tenant, error)
	// CreateAPIKey makes a key for a tenant and returns it with its full
	// secret, which is not stored and cannot be read again. The creation is
	// a key.created ledger entry in the same transaction.
	CreateAPIKey(ctx context.Context, tenantID, name string, scopes []Scope) (key *APIKey, secret string, err error)
	// Authenticate returns the key for "ask_<id>_<secret>". Returns
	// EUNAUTHORIZED for an unknown, wrong or revoked key, never saying which.
	Authenticate(ctx context.Context, key string) (*APIKey, error)
	// RevokeAPIKey revokes a key; a key.revoked ledger entry is written in
	// the same transaction and returned (nil when the key was already
	// revoked). Returns ENOTFOUND if the tenant has no such key.
	RevokeAPIKey(ctx context.Context, tenantID, keyID string) (*LedgerRef, error)

	// ListTenants returns every tenant, by id.
	ListTenants(ctx context.Context) ([]*Tenant, error)
	// UpdateTenant applies the non-nil fields of u to the tenant and
	// records a policy.changed entry by actor with what changed, in the
	// same transaction. Returns ENOTFOUND for an unknown tenant and
	// EINVALID for a bad plan, retention or allowlist entry.
	UpdateTenant(ctx context.Context, tenantID, actor string, u TenantUpdate) (*Tenant, error)
	// ListAPIKeys returns the tenant's keys (revoked ones too), oldest
	// first, without secrets.
	ListAPIKeys(ctx context.Context, tenantID string) ([]*APIKey, error)
}

// TenantUpdate is a change of a tenant's policy; nil fields stay as they are.
type TenantUpdate struct {
	Name          *string       `json:"name,omitempty"`
	Plan          *Plan         `json:"plan,omitempty"`
	RetentionDays *int          `json:"retention_days,omitempty"`
	Egress        *EgressPolicy `json:"egress,omitempty"`
	AllowScripts  *bool         `json:"allow_scripts,omitempty"`
}
