package client_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/client"
)

func TestAdmin(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	op := srv.admin(t)
	ctx := t.Context()

	acmeInfo, err := op.CreateTenant(ctx, client.TenantRequest{ID: "acme", Name: "Acme", AdminKey: true})
	if err != nil {
		t.Fatal(err)
	}
	if acmeInfo.AdminKey == nil || !strings.HasPrefix(acmeInfo.AdminKey.Secret, auditshot.APIKeyPrefix) ||
		!strings.HasPrefix(acmeInfo.WebhookSecret, "whsec_") || acmeInfo.Plan.Name != "free" {
		t.Fatalf("created tenant %+v", acmeInfo)
	}
	acme := newClient(t, srv.URL, acmeInfo.AdminKey.Secret)

	t.Run("ErrTenantExists", func(t *testing.T) {
		_, err := op.CreateTenant(ctx, client.TenantRequest{ID: "acme", Name: "Acme again"})
		wantCode(t, err, auditshot.ECONFLICT, 409)
	})
	t.Run("ErrNotOperator", func(t *testing.T) {
		_, err := acme.CreateTenant(ctx, client.TenantRequest{ID: "evil", Name: "Evil"})
		wantCode(t, err, auditshot.EFORBIDDEN, 403)
		_, err = acme.GetTenant(ctx, "default")
		wantCode(t, err, auditshot.ENOTFOUND, 404)
	})

	t.Run("Tenants", func(t *testing.T) {
		ts, err := op.ListTenants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, tn := range ts {
			ids = append(ids, tn.ID)
		}
		if !slices.Equal(ids, []string{"acme", "default"}) {
			t.Errorf("tenants %v", ids)
		}
		name, plan := "Acme Corp", auditshot.Plans["unlimited"]
		upd, err := op.UpdateTenant(ctx, "acme", auditshot.TenantUpdate{Name: &name, Plan: &plan})
		if err != nil {
			t.Fatal(err)
		}
		if upd.Name != name || upd.Plan.Name != "unlimited" {
			t.Errorf("updated tenant %+v", upd.Tenant)
		}
		own, err := acme.GetTenant(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if own.Name != name || own.WebhookSecret != acmeInfo.WebhookSecret {
			t.Errorf("tenant as its admin sees it %+v", own)
		}
	})

	t.Run("Keys", func(t *testing.T) {
		k, err := acme.CreateKey(ctx, client.KeyRequest{Name: "reader", Scopes: []auditshot.Scope{auditshot.ScopeRead}})
		if err != nil {
			t.Fatal(err)
		}
		if k.TenantID != "acme" || !strings.HasPrefix(k.Secret, auditshot.APIKeyPrefix+k.ID+"_") {
			t.Fatalf("new key %+v", k)
		}
		reader := newClient(t, srv.URL, k.Secret)
		if _, _, err := reader.ListRuns(ctx, auditshot.RunFilter{}); err != nil {
			t.Fatalf("read with the reader key: %v", err)
		}
		_, err = reader.CreateRun(ctx, client.RunRequest{Workflow: "x"})
		wantCode(t, err, auditshot.EFORBIDDEN, 403)

		keys, err := acme.ListKeys(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(keys, func(x *auditshot.APIKey) bool { return x.ID == k.ID })
		if i < 0 || keys[i].RevokedAt != nil || !slices.Equal(keys[i].Scopes, []auditshot.Scope{auditshot.ScopeRead}) {
			t.Fatalf("keys %+v, want the reader key, not revoked", keys)
		}
		// The operator sees acme's keys by tenant id.
		opKeys, err := op.ListKeys(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if len(opKeys) != len(keys) {
			t.Errorf("operator sees %d acme keys, acme %d", len(opKeys), len(keys))
		}

		if err := acme.RevokeKey(ctx, "", k.ID); err != nil {
			t.Fatal(err)
		}
		keys, err = acme.ListKeys(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if i := slices.IndexFunc(keys, func(x *auditshot.APIKey) bool { return x.ID == k.ID }); i < 0 || keys[i].RevokedAt == nil {
			t.Errorf("keys %+v, want the reader key revoked", keys)
		}
		_, _, err = reader.ListRuns(ctx, auditshot.RunFilter{})
		wantCode(t, err, auditshot.EUNAUTHORIZED, 401)
		err = acme.RevokeKey(ctx, "", "nosuchkey")
		wantCode(t, err, auditshot.ENOTFOUND, 404)
	})
}
