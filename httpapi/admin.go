package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/auditshot/auditshot"
)

// planSpec is a plan given by name ("free", "unlimited") or in full.
type planSpec struct{ auditshot.Plan }

func (p *planSpec) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		var name string
		if err := json.Unmarshal(b, &name); err != nil {
			return err
		}
		plan, ok := auditshot.Plans[name]
		if !ok {
			return auditshot.Errorf(auditshot.EINVALID, "plan: unknown plan %q (free, unlimited, or an object with captures_per_month and captures_per_minute)", name)
		}
		p.Plan = plan
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p.Plan); err != nil {
		return auditshot.Errorf(auditshot.EINVALID, "plan: %v", jsonError(err).(*auditshot.Error).Message)
	}
	if p.Plan.Name == "" {
		p.Plan.Name = "custom"
	}
	return nil
}

// tenantRequest is the body of POST /v1/tenants.
type tenantRequest struct {
	ID            string                 `json:"id"`
	Name          string                 `json:"name"`
	Plan          *planSpec              `json:"plan,omitempty"`
	RetentionDays int                    `json:"retention_days,omitempty"`
	Egress        auditshot.EgressPolicy `json:"egress"`
	AllowScripts  bool                   `json:"allow_scripts,omitempty"`
	// AdminKey, if set, also makes an admin key for the new tenant.
	AdminKey bool `json:"admin_key,omitempty"`
}

// tenantBody is a tenant as the API shows it to its administrators.
type tenantBody struct {
	*auditshot.Tenant
	// WebhookSecret verifies the tenant's webhooks.
	WebhookSecret string     `json:"webhook_secret,omitempty"`
	AdminKey      *keyResult `json:"admin_key,omitempty"`
}

func (s *Server) requireOperator(c caller) error {
	if !s.operator(c) {
		return auditshot.Errorf(auditshot.EFORBIDDEN, "only an admin key of the operator tenant %q manages tenants", s.cfg.OperatorTenant)
	}
	return nil
}

func (s *Server) handleCreateTenant(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	if err := s.requireOperator(c); err != nil {
		return err
	}
	var req tenantRequest
	if err := decodeJSON(body(r), &req); err != nil {
		return err
	}
	t := &auditshot.Tenant{ID: req.ID, Name: req.Name, Plan: auditshot.Plans["free"], RetentionDays: req.RetentionDays,
		Egress: req.Egress, AllowScripts: req.AllowScripts}
	if req.Plan != nil {
		t.Plan = req.Plan.Plan
	}
	if err := s.cfg.CheckPolicy(t.Egress); err != nil {
		return err
	}
	if err := s.cfg.Tenants.CreateTenant(r.Context(), t); err != nil {
		return err
	}
	out := tenantBody{Tenant: t, WebhookSecret: WebhookSecret(s.cfg.WebhookKey, t.ID)}
	if req.AdminKey {
		k, secret, err := s.cfg.Tenants.CreateAPIKey(r.Context(), t.ID, "admin", []auditshot.Scope{auditshot.ScopeAdmin})
		if err != nil {
			return err
		}
		out.AdminKey = &keyResult{APIKey: k, Secret: secret}
	}
	w.Header().Set("Location", "/v1/tenants/"+t.ID)
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) handleListTenants(w http.ResponseWriter, r *http.Request) error {
	if err := s.requireOperator(callerOf(r)); err != nil {
		return err
	}
	ts, err := s.cfg.Tenants.ListTenants(r.Context())
	if err != nil {
		return err
	}
	if ts == nil {
		ts = []*auditshot.Tenant{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenants": ts})
	return nil
}

// tenantFor returns the tenant a route's {id} names, if the caller may
// administer it: an operator any tenant, another admin only their own.
// Another tenant is not found, so that its existence is not confirmed.
func (s *Server) tenantFor(r *http.Request, id string) (string, error) {
	c := callerOf(r)
	if id == "" || id == c.key.TenantID || s.operator(c) {
		if id == "" {
			id = c.key.TenantID
		}
		return id, nil
	}
	return "", auditshot.Errorf(auditshot.ENOTFOUND, "tenant %q not found", id)
}

func (s *Server) handleGetTenant(w http.ResponseWriter, r *http.Request) error {
	id, err := s.tenantFor(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	t, err := s.cfg.Tenants.FindTenant(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tenantBody{Tenant: t, WebhookSecret: WebhookSecret(s.cfg.WebhookKey, t.ID)})
	return nil
}

// tenantUpdateRequest is the body of PATCH /v1/tenants/{id}.
type tenantUpdateRequest struct {
	Name          *string                 `json:"name,omitempty"`
	Plan          *planSpec               `json:"plan,omitempty"`
	RetentionDays *int                    `json:"retention_days,omitempty"`
	Egress        *auditshot.EgressPolicy `json:"egress,omitempty"`
	AllowScripts  *bool                   `json:"allow_scripts,omitempty"`
}

func (s *Server) handleUpdateTenant(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	if err := s.requireOperator(c); err != nil {
		return err
	}
	var req tenantUpdateRequest
	if err := decodeJSON(body(r), &req); err != nil {
		return err
	}
	u := auditshot.TenantUpdate{Name: req.Name, RetentionDays: req.RetentionDays, Egress: req.Egress, AllowScripts: req.AllowScripts}
	if req.Plan != nil {
		u.Plan = &req.Plan.Plan
	}
	if u.Egress != nil {
		if err := s.cfg.CheckPolicy(*u.Egress); err != nil {
			return err
		}
	}
	t, err := s.cfg.Tenants.UpdateTenant(r.Context(), r.PathValue("id"), c.key.ID, u)
	s.tenants.forget(r.PathValue("id"))
	if err != nil {
		return err
	}
	if t.Ledger != nil {
		setLedgerHeaders(w, *t.Ledger)
	}
	writeJSON(w, http.StatusOK, tenantBody{Tenant: t, WebhookSecret: WebhookSecret(s.cfg.WebhookKey, t.ID)})
	return nil
}

// keyRequest is the body of POST /v1/keys.
type keyRequest struct {
	Name     string            `json:"name"`
	Scopes   []auditshot.Scope `json:"scopes"`
	TenantID string            `json:"tenant_id,omitempty"`
}

// keyResult is a new key with its secret, shown this once.
type keyResult struct {
	*auditshot.APIKey
	Secret string `json:"secret"`
}

func (s *Server) handleCreateKey(w http.ResponseWriter, r *http.Request) error {
	var req keyRequest
	if err := decodeJSON(body(r), &req); err != nil {
		return err
	}
	tenant, err := s.tenantFor(r, req.TenantID)
	if err != nil {
		return err
	}
	k, secret, err := s.cfg.Tenants.CreateAPIKey(r.Context(), tenant, req.Name, req.Scopes)
	if err != nil {
		return err
	}
	if k.Ledger != nil {
		setLedgerHeaders(w, *k.Ledger)
	}
	writeJSON(w, http.StatusCreated, keyResult{APIKey: k, Secret: secret})
	return nil
}

func (s *Server) handleListKeys(w http.ResponseWriter, r *http.Request) error {
	tenant, err := s.tenantFor(r, r.URL.Query().Get("tenant_id"))
	if err != nil {
		return err
	}
	ks, err := s.cfg.Tenants.ListAPIKeys(r.Context(), tenant)
	if err != nil {
		return err
	}
	if ks == nil {
		ks = []*auditshot.APIKey{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": ks})
	return nil
}

func (s *Server) handleRevokeKey(w http.ResponseWriter, r *http.Request) error {
	tenant, err := s.tenantFor(r, r.URL.Query().Get("tenant_id"))
	if err != nil {
		return err
	}
	ref, err := s.cfg.Tenants.RevokeAPIKey(r.Context(), tenant, r.PathValue("id"))
	s.keys.forget(r.PathValue("id"))
	if err != nil {
		return err
	}
	if ref != nil {
		setLedgerHeaders(w, *ref)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
