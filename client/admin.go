package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/auditshot/auditshot"
)

// TenantRequest creates a tenant.
type TenantRequest struct {
	// ID is the tenant's id, also the last part of its log origin.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Plan is the tenant's quota; the "free" plan if nil. A named plan is
	// a copy of auditshot.Plans[name].
	Plan *auditshot.Plan `json:"plan,omitempty"`
	// RetentionDays is how long blobs are kept; 0 keeps them forever.
	RetentionDays int                    `json:"retention_days,omitempty"`
	Egress        auditshot.EgressPolicy `json:"egress"`
	AllowScripts  bool                   `json:"allow_scripts,omitempty"`
	// AdminKey also makes an admin key for the tenant, returned once in
	// TenantInfo.AdminKey.
	AdminKey bool `json:"admin_key,omitempty"`
}

// TenantInfo is a tenant as its administrators see it.
type TenantInfo struct {
	auditshot.Tenant
	// WebhookSecret verifies the tenant's webhooks (see VerifyWebhook).
	// UpdateTenant does not return it.
	WebhookSecret string `json:"webhook_secret,omitempty"`
	// AdminKey is the key CreateTenant made when asked to.
	AdminKey *NewKey `json:"admin_key,omitempty"`
}

// KeyRequest creates an API key.
type KeyRequest struct {
	Name string `json:"name"`
	// Scopes are what the key may do: capture, write, read, audit, admin.
	Scopes []auditshot.Scope `json:"scopes"`
	// TenantID is the tenant of the key; the caller's if empty. Only an
	// admin key of the operator tenant makes keys of other tenants.
	TenantID string `json:"tenant_id,omitempty"`
}

// NewKey is a new API key with its secret, which is shown only this once.
type NewKey struct {
	auditshot.APIKey
	// Secret is the whole key, "ask_<id>_<secret>", for Config.APIKey.
	Secret string `json:"secret"`
}

// CreateTenant creates a tenant (admin key of the operator tenant only).
// Returns EFORBIDDEN for another key, ECONFLICT for an id in use and
// EINVALID for a bad id, plan or egress policy.
func (c *Client) CreateTenant(ctx context.Context, req TenantRequest) (*TenantInfo, error) {
	var out TenantInfo
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/v1/tenants", body: req}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListTenants returns every tenant, by id (admin key of the operator
// tenant only).
func (c *Client) ListTenants(ctx context.Context) ([]*auditshot.Tenant, error) {
	var out struct {
		Tenants []*auditshot.Tenant `json:"tenants"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/tenants"}, &out); err != nil {
		return nil, err
	}
	return out.Tenants, nil
}

// GetTenant returns a tenant: any tenant for an admin key of the operator
// tenant, the key's own tenant for another admin key. Returns ENOTFOUND
// otherwise.
func (c *Client) GetTenant(ctx context.Context, id string) (*TenantInfo, error) {
	var out TenantInfo
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/tenants/" + escape(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateTenant applies the non-nil fields of u to a tenant (admin key of
// the operator tenant only), recorded in a policy.changed entry, and
// returns the tenant. Returns ENOTFOUND for an unknown tenant.
func (c *Client) UpdateTenant(ctx context.Context, id string, u auditshot.TenantUpdate) (*TenantInfo, error) {
	var out TenantInfo
	if _, err := c.do(ctx, request{method: http.MethodPatch, path: "/v1/tenants/" + escape(id), body: u}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateKey makes an API key (a key.created entry) and returns it with
// its secret. Returns EINVALID for an unknown scope.
func (c *Client) CreateKey(ctx context.Context, req KeyRequest) (*NewKey, error) {
	var out NewKey
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/v1/keys", body: req}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListKeys returns the keys of a tenant (the caller's if tenantID is
// empty), revoked ones too, oldest first, without secrets.
func (c *Client) ListKeys(ctx context.Context, tenantID string) ([]*auditshot.APIKey, error) {
	q := url.Values{}
	if tenantID != "" {
		q.Set("tenant_id", tenantID)
	}
	var out struct {
		Keys []*auditshot.APIKey `json:"keys"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/keys", query: q}, &out); err != nil {
		return nil, err
	}
	return out.Keys, nil
}

// RevokeKey revokes a key of a tenant (the caller's if tenantID is empty)
// in a key.revoked entry; the key is refused from then on. Returns
// ENOTFOUND if the tenant has no such key.
func (c *Client) RevokeKey(ctx context.Context, tenantID, keyID string) error {
	q := url.Values{}
	if tenantID != "" {
		q.Set("tenant_id", tenantID)
	}
	_, err := c.do(ctx, request{method: http.MethodDelete, path: "/v1/keys/" + escape(keyID), query: q}, nil)
	return err
}
