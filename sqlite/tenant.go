package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
)

var _ auditshot.TenantService = (*DB)(nil)

// validID matches tenant ids and caller-chosen run and event ids: they
// appear in log origins, URLs and entries.
var validID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// randomID returns a new random id of 24 lowercase hex digits.
func randomID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// requireTenant returns ENOTFOUND unless the tenant exists.
func (tx *batchTx) requireTenant(tenantID string) error {
	var one int
	err := tx.queryRow(`SELECT 1 FROM tenants WHERE id = ?`, tenantID).Scan(&one)
	if errNotFound(err) {
		return auditshot.Errorf(auditshot.ENOTFOUND, "tenant %q not found", tenantID)
	}
	if err != nil {
		return internal("find tenant", err)
	}
	return nil
}

// CreateTenant stores a new tenant and sets its CreatedAt. Returns
// ECONFLICT if the id is taken and EINVALID for a bad id, name or plan.
func (db *DB) CreateTenant(ctx context.Context, t *auditshot.Tenant) error {
	switch {
	case !validID.MatchString(t.ID):
		return auditshot.Errorf(auditshot.EINVALID, "tenant id must be 1 to 64 characters of [a-z0-9_-] starting with a letter or digit")
	case t.Name == "" || len(t.Name) > 256:
		return auditshot.Errorf(auditshot.EINVALID, "tenant name must be 1 to 256 bytes")
	case t.Plan.CapturesPerMonth < 0 || t.Plan.CapturesPerMinute < 0:
		return auditshot.Errorf(auditshot.EINVALID, "plan quotas must not be negative")
	case t.RetentionDays < 0:
		return auditshot.Errorf(auditshot.EINVALID, "retention_days must not be negative")
	}
	plan, _ := json.Marshal(t.Plan)
	egress, _ := json.Marshal(t.Egress)
	return db.write(ctx, func(tx *batchTx) error {
		created := tx.now.UTC()
		_, err := tx.exec(`INSERT INTO tenants (id, name, plan, retention_days, egress, allow_scripts, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, t.ID, t.Name, plan, t.RetentionDays, egress, t.AllowScripts, unixNano(created))
		if isConstraint(err) {
			return auditshot.Errorf(auditshot.ECONFLICT, "tenant %q already exists", t.ID)
		}
		if err != nil {
			return internal("create tenant", err)
		}
		if db.cfg.PublicKey != "" {
			if _, err := tx.recordLogKey(t.ID, db.cfg.PublicKey, "declared"); err != nil {
				return err
			}
		}
		t.CreatedAt = created
		return nil
	})
}

// FindTenant returns a tenant. Returns ENOTFOUND if it does not exist.
func (db *DB) FindTenant(ctx context.Context, id string) (*auditshot.Tenant, error) {
	var (
		t             = auditshot.Tenant{ID: id}
		plan, egress  []byte
		created       int64
		allowsScripts bool
	)
	err := db.rdb.QueryRowContext(ctx, `SELECT name, plan, retention_days, egress, allow_scripts, created_at
		FROM tenants WHERE id = ?`, id).Scan(&t.Name, &plan, &t.RetentionDays, &egress, &allowsScripts, &created)
	if errNotFound(err) {
		return nil, auditshot.Errorf(auditshot.ENOTFOUND, "tenant %q not found", id)
	}
	if err != nil {
		return nil, internal("find tenant", err)
	}
	if err := json.Unmarshal(plan, &t.Plan); err != nil {
		return nil, internal("decode tenant plan", err)
	}
	if err := json.Unmarshal(egress, &t.Egress); err != nil {
		return nil, internal("decode tenant egress", err)
	}
	t.AllowScripts = allowsScripts
	t.CreatedAt = fromUnixNano(created)
	return &t, nil
}

// CreateAPIKey makes a key "ask_<id>_<secret>" with a random id and a
// 32-byte random secret, stores only the secret's hash, and records a
// key.created entry in the same transaction. Returns ENOTFOUND for an
// unknown tenant and EINVALID for a missing name or a bad scope.
func (db *DB) CreateAPIKey(ctx context.Context, tenantID, name string, scopes []auditshot.Scope) (*auditshot.APIKey, string, error) {
	if name == "" || len(name) > 256 {
		return nil, "", auditshot.Errorf(auditshot.EINVALID, "key name must be 1 to 256 bytes")
	}
	if len(scopes) == 0 {
		return nil, "", auditshot.Errorf(auditshot.EINVALID, "a key needs at least one scope")
	}
	for _, s := range scopes {
		if !auditshot.ValidScope(s) {
			return nil, "", auditshot.Errorf(auditshot.EINVALID, "unknown scope %q", s)
		}
	}
	var secretBytes [32]byte
	rand.Read(secretBytes[:])
	secret := hex.EncodeToString(secretBytes[:])
	key := &auditshot.APIKey{ID: randomID(), TenantID: tenantID, Name: name,
		Scopes: slices.Clone(scopes), SecretHash: auditshot.HashSecret(secret)}
	scopesJSON, _ := json.Marshal(key.Scopes)
	err := db.write(ctx, func(tx *batchTx) error {
		if err := tx.requireTenant(tenantID); err != nil {
			return err
		}
		key.CreatedAt = tx.now.UTC()
		if _, err := tx.exec(`INSERT INTO api_keys (id, tenant_id, name, scopes, secret_hash, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, key.ID, tenantID, name, scopesJSON, key.SecretHash, unixNano(key.CreatedAt)); err != nil {
			return internal("create API key", err)
		}
		data, _ := json.Marshal(map[string]any{"name": name, "scopes": key.Scopes})
		_, err := tx.append(tenantID, ledger.Entry{Type: ledger.TypeKeyCreated,
			IDs: map[string]string{ledger.IDKey: key.ID}, Data: data})
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return key, auditshot.APIKeyPrefix + key.ID + "_" + secret, nil
}

// Authenticate returns the key for "ask_<id>_<secret>". Returns
// EUNAUTHORIZED for a malformed, unknown, wrong or revoked key, never
// saying which.
func (db *DB) Authenticate(ctx context.Context, key string) (*auditshot.APIKey, error) {
	id, secret, err := auditshot.ParseAPIKey(key)
	if err != nil {
		return nil, err
	}
	k, err := db.findAPIKey(ctx, id)
	if err != nil && auditshot.ErrorCode(err) != auditshot.ENOTFOUND {
		return nil, err
	}
	if k == nil || !k.Matches(secret) || k.RevokedAt != nil {
		return nil, auditshot.Errorf(auditshot.EUNAUTHORIZED, "invalid API key")
	}
	return k, nil
}

func (db *DB) findAPIKey(ctx context.Context, id string) (*auditshot.APIKey, error) {
	var (
		k       = auditshot.APIKey{ID: id}
		scopes  []byte
		created int64
		revoked sql.NullInt64
	)
	err := db.rdb.QueryRowContext(ctx, `SELECT tenant_id, name, scopes, secret_hash, created_at, revoked_at
		FROM api_keys WHERE id = ?`, id).Scan(&k.TenantID, &k.Name, &scopes, &k.SecretHash, &created, &revoked)
	if errNotFound(err) {
		return nil, auditshot.Errorf(auditshot.ENOTFOUND, "API key not found")
	}
	if err != nil {
		return nil, internal("find API key", err)
	}
	if err := json.Unmarshal(scopes, &k.Scopes); err != nil {
		return nil, internal("decode API key scopes", err)
	}
	k.CreatedAt = fromUnixNano(created)
	if revoked.Valid {
		t := fromUnixNano(revoked.Int64)
		k.RevokedAt = &t
	}
	return &k, nil
}

// RevokeAPIKey revokes a key and records a key.revoked entry in the same
// transaction. Revoking a revoked key changes nothing and writes no entry.
// Returns ENOTFOUND if the tenant has no such key.
func (db *DB) RevokeAPIKey(ctx context.Context, tenantID, keyID string) error {
	return db.write(ctx, func(tx *batchTx) error {
		var revoked sql.NullInt64
		err := tx.queryRow(`SELECT revoked_at FROM api_keys WHERE tenant_id = ? AND id = ?`, tenantID, keyID).Scan(&revoked)
		if errNotFound(err) {
			return auditshot.Errorf(auditshot.ENOTFOUND, "API key %q not found", keyID)
		}
		if err != nil {
			return internal("find API key", err)
		}
		if revoked.Valid {
			return nil
		}
		if _, err := tx.exec(`UPDATE api_keys SET revoked_at = ? WHERE tenant_id = ? AND id = ?`,
			unixNano(tx.now), tenantID, keyID); err != nil {
			return internal("revoke API key", err)
		}
		_, err = tx.append(tenantID, ledger.Entry{Type: ledger.TypeKeyRevoked, IDs: map[string]string{ledger.IDKey: keyID}})
		return err
	})
}
