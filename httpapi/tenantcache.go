package httpapi

import (
	"context"
	"sync"
	"time"

	"github.com/auditshot/auditshot"
)

// TenantCacheTTL is how long an authenticated request may use a tenant
// (its plan and egress policy) read earlier. Changes through the API take
// effect at once; changes by another process (auditshot tenants set) within
// this time. API keys are never cached: a revocation is seen at once.
const TenantCacheTTL = 2 * time.Second

// tenantCache keeps recently read tenants.
type tenantCache struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]cachedTenant
}

type cachedTenant struct {
	t  *auditshot.Tenant
	at time.Time
}

func newTenantCache(now func() time.Time) *tenantCache {
	return &tenantCache{now: now, m: map[string]cachedTenant{}}
}

// find returns the tenant, from the cache when it is fresh. The tenant
// returned MUST NOT be modified.
func (c *tenantCache) find(ctx context.Context, ts auditshot.TenantService, id string) (*auditshot.Tenant, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < TenantCacheTTL && now.Sub(e.at) >= 0 {
		return e.t, nil
	}
	t, err := ts.FindTenant(ctx, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) > 10_000 {
		clear(c.m)
	}
	c.m[id] = cachedTenant{t: t, at: now}
	c.mu.Unlock()
	return t, nil
}

// forget drops a tenant that changed.
func (c *tenantCache) forget(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}
