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

// maxCached bounds a cache; a full cache starts over.
const maxCached = 10_000

// ttlCache keeps values read recently, for ttl. Failures are never kept.
// The values returned MUST NOT be modified.
type ttlCache[K comparable, V any] struct {
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[K]cached[V]
}

type cached[V any] struct {
	v  V
	at time.Time
}

func newTTLCache[K comparable, V any](ttl time.Duration, now func() time.Time) *ttlCache[K, V] {
	return &ttlCache[K, V]{ttl: ttl, now: now, m: map[K]cached[V]{}}
}

// get returns the value of k, from the cache when it is fresh, else from
// load.
func (c *ttlCache[K, V]) get(k K, load func() (V, error)) (V, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if age := now.Sub(e.at); ok && age < c.ttl && age >= 0 {
		return e.v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if len(c.m) >= maxCached {
		clear(c.m)
	}
	c.m[k] = cached[V]{v: v, at: now}
	c.mu.Unlock()
	return v, nil
}

// forget drops the entries whose value matches.
func (c *ttlCache[K, V]) forget(match func(V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if match(e.v) {
			delete(c.m, k)
		}
	}
}

// tenantCache keeps recently read tenants, by id.
type tenantCache struct {
	c *ttlCache[string, *auditshot.Tenant]
}

func newTenantCache(now func() time.Time) *tenantCache {
	return &tenantCache{newTTLCache[string, *auditshot.Tenant](TenantCacheTTL, now)}
}

func (c *tenantCache) find(ctx context.Context, ts auditshot.TenantService, id string) (*auditshot.Tenant, error) {
	return c.c.get(id, func() (*auditshot.Tenant, error) { return ts.FindTenant(ctx, id) })
}

// forget drops a tenant that changed.
func (c *tenantCache) forget(id string) {
	c.c.forget(func(t *auditshot.Tenant) bool { return t.ID == id })
}

// keyCache keeps recently authenticated keys, by the SHA-256 of the key
// as presented (the secret itself is not kept).
type keyCache struct {
	c *ttlCache[[32]byte, *auditshot.APIKey]
}

func newKeyCache(now func() time.Time) *keyCache {
	return &keyCache{newTTLCache[[32]byte, *auditshot.APIKey](KeyCacheTTL, now)}
}

func (c *keyCache) authenticate(ctx context.Context, ts auditshot.TenantService, key string) (*auditshot.APIKey, error) {
	return c.c.get(sha256.Sum256([]byte(key)), func() (*auditshot.APIKey, error) { return ts.Authenticate(ctx, key) })
}

// forget drops a revoked key.
func (c *keyCache) forget(keyID string) {
	c.c.forget(func(k *auditshot.APIKey) bool { return k.ID == keyID })
}
