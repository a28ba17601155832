package httpapi

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/auditshot/auditshot"
)

// TenantCacheTTL is how long an authenticated request may use a tenant
// (its plan and egress policy) read earlier. Changes through the API take
// effect at once; changes by another process (auditshot tenants set) within
// this time.
const TenantCacheTTL = 2 * time.Second

// KeyCacheTTL is how long a valid API key is trusted without reading it
// again. A key revoked through the API is refused at once; one revoked by
// another process (auditshot keys revoke) within this time.
const KeyCacheTTL = time.Second

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

// keyCache keeps recently authenticated keys, by the SHA-256 of the key
// as presented (the secret itself is not kept).
type keyCache struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[[32]byte]cachedKey
}

type cachedKey struct {
	k  *auditshot.APIKey
	at time.Time
}

func newKeyCache(now func() time.Time) *keyCache {
	return &keyCache{now: now, m: map[[32]byte]cachedKey{}}
}

// authenticate returns the key, from the cache when it was found valid
// less than KeyCacheTTL ago. Failures are not cached. The key returned
// MUST NOT be modified.
func (c *keyCache) authenticate(ctx context.Context, ts auditshot.TenantService, key string) (*auditshot.APIKey, error) {
	sum := sha256.Sum256([]byte(key))
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[sum]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < KeyCacheTTL && now.Sub(e.at) >= 0 {
		return e.k, nil
	}
	k, err := ts.Authenticate(ctx, key)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) > 10_000 {
		clear(c.m)
	}
	c.m[sum] = cachedKey{k: k, at: now}
	c.mu.Unlock()
	return k, nil
}

// forget drops a revoked key.
func (c *keyCache) forget(keyID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for sum, e := range c.m {
		if e.k.ID == keyID {
			delete(c.m, sum)
		}
	}
}
