package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
)

var _ auditshot.TenantService = (*DB)(nil)

// validID matches tenant ids and caller-chosen run and event ids: they
// appear in log origins, URLs and entries.
var validID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// randomID returns a new id of 24 lowercase hex digits: the creation time
// in milliseconds (11 digits) then 13 random ones (52 bits). Ids made later
// sort later, so new rows go at the end of their tables' B-trees: a batch
// of inserts touches a few pages instead of one page per row.
func randomID() string {
	var b [12]byte
	rand.Read(b[:])
	id := []byte(fmt.Sprintf("%011x", uint64(time.Now().UnixMilli())&(1<<44-1)))
	return string(append(id, hex.EncodeToString(b[:])[:13]...))
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
	if !validID.MatchString(t.ID) {
		return auditshot.Errorf(auditshot.EINVALID, "tenant id must be 1 to 64 characters of [a-z0-9_-] starting with a letter or digit")
	}
	if err := checkTenant(t); err != nil {
		return err
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

// checkTenant returns EINVALID for a bad name, plan, retention or egress
// allowlist of t.
func checkTenant(t *auditshot.Tenant) error {
	return firstError(checkTenantName(t.Name), checkPlan(t.Plan), checkRetention(t.RetentionDays), checkEgress(t.Egress))
}

// firstError returns the first non-nil error of errs.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func checkTenantName(name string) error {
	if name == "" || len(name) > 256 {
		return auditshot.Errorf(auditshot.EINVALID, "tenant name must be 1 to 256 bytes")
	}
	return nil
}

func checkPlan(p auditshot.Plan) error {
	if p.CapturesPerMonth < 0 || p.CapturesPerMinute < 0 {
		return auditshot.Errorf(auditshot.EINVALID, "plan quotas must not be negative")
	}
	return nil
}

func checkRetention(days int) error {
	if days < 0 {
		return auditshot.Errorf(auditshot.EINVALID, "retention_days must not be negative")
	}
	return nil
}

func checkEgress(p auditshot.EgressPolicy) error {
	for i, a := range p.Allow {
		if a == "" || len(a) > 256 || strings.ContainsFunc(a, unicode.IsSpace) {
			return auditshot.Errorf(auditshot.EINVALID, "egress.allow[%d] must be a CIDR or host name of 1 to 256 bytes without spaces", i)
		}
	}
	return nil
}

// FindTenant returns a tenant. Returns ENOTFOUND if it does not exist.
func (db *DB) FindTenant(ctx context.Context, id string) (*auditshot.Tenant, error) {
	t, err := scanTenant(db.queryRowFast(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = ?`, id))
	if errNotFound(err) {
		return nil, auditshot.Errorf(auditshot.ENOTFOUND, "tenant %q not found", id)
	}
	if err != nil {
		return nil, internal("find tenant", err)
	}
	return t, nil
}

const tenantColumns = `id, name, plan, retention_days, egress, allow_scripts, created_at`

func findTenant(ctx context.Context, q querier, id string) (*auditshot.Tenant, error) {
	t, err := scanTenant(q.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = ?`, id))
	if errNotFound(err) {
		return nil, auditshot.Errorf(auditshot.ENOTFOUND, "tenant %q not found", id)
	}
	if err != nil {
		return nil, internal("find tenant", err)
	}
	return t, nil
}

func scanTenant(s scanner) (*auditshot.Tenant, error) {
	var (
		t            auditshot.Tenant
		plan, egress []byte
		created      int64
	)
	if err := s.Scan(&t.ID, &t.Name, &plan, &t.RetentionDays, &egress, &t.AllowScripts, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(plan, &t.Plan); err != nil {
		return nil, fmt.Errorf("decode tenant plan: %w", err)
	}
	if err := json.Unmarshal(egress, &t.Egress); err != nil {
		return nil, fmt.Errorf("decode tenant egress: %w", err)
	}
	t.CreatedAt = fromUnixNano(created)
	return &t, nil
}

// ListTenants returns every tenant, by id.
func (db *DB) ListTenants(ctx context.Context) ([]*auditshot.Tenant, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY id`)
	if err != nil {
		return nil, internal("list tenants", err)
	}
	defer rows.Close()
	var out []*auditshot.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, internal("list tenants", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("list tenants", err)
	}
	return out, nil
}

// UpdateTenant applies the non-nil fields of u to the tenant and records
// a policy.changed entry by actor (an API key id, or empty) whose data
// holds the fields that changed, with their new values, in the same
// transaction. It returns the tenant as updated. An update that changes
// nothing writes nothing. Returns ENOTFOUND for an unknown tenant and
// EINVALID for a bad name, plan, retention or allowlist entry.
func (db *DB) UpdateTenant(ctx context.Context, tenantID, actor string, u auditshot.TenantUpdate) (*auditshot.Tenant, error) {
	if err := checkTenantUpdate(u); err != nil {
		return nil, err
	}
	var out *auditshot.Tenant
	err := db.write(ctx, func(tx *batchTx) error {
		t, err := findTenant(context.Background(), tx, tenantID)
		if err != nil {
			return err
		}
		changed := applyTenantUpdate(t, u)
		if len(changed) == 0 {
			out = t
			return nil
		}
		plan, _ := json.Marshal(t.Plan)
		egress, _ := json.Marshal(t.Egress)
		if _, err := tx.exec(`UPDATE tenants SET name = ?, plan = ?, retention_days = ?, egress = ?, allow_scripts = ?
			WHERE id = ?`, t.Name, plan, t.RetentionDays, egress, t.AllowScripts, tenantID); err != nil {
			return internal("update tenant", err)
		}
		data, _ := json.Marshal(changed)
		ref, err := tx.append(tenantID, ledger.Entry{Type: ledger.TypePolicyChanged, Actor: actor, Data: data})
		if err != nil {
			return err
		}
		t.Ledger = &ref
		out = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkTenantUpdate returns EINVALID for a bad non-nil field of u.
func checkTenantUpdate(u auditshot.TenantUpdate) error {
	var errs []error
	if u.Name != nil {
		errs = append(errs, checkTenantName(*u.Name))
	}
	if u.Plan != nil {
		errs = append(errs, checkPlan(*u.Plan))
	}
	if u.RetentionDays != nil {
		errs = append(errs, checkRetention(*u.RetentionDays))
	}
	if u.Egress != nil {
		errs = append(errs, checkEgress(*u.Egress))
	}
	return firstError(errs...)
}

// applyTenantUpdate applies u to t and returns the fields it changed, by
// their JSON names, with their new values: the data of the policy.changed
// entry. Every value is a string, an integer, a bool or an object of them,
// as ledger entries require.
func applyTenantUpdate(t *auditshot.Tenant, u auditshot.TenantUpdate) map[string]any {
	changed := map[string]any{}
	if u.Name != nil && *u.Name != t.Name {
		t.Name = *u.Name
		changed["name"] = t.Name
	}
	if u.Plan != nil && *u.Plan != t.Plan {
		t.Plan = *u.Plan
		changed["plan"] = t.Plan
	}
	if u.RetentionDays != nil && *u.RetentionDays != t.RetentionDays {
		t.RetentionDays = *u.RetentionDays
		changed["retention_days"] = t.RetentionDays
	}
	if u.Egress != nil && (!slices.Equal(u.Egress.Allow, t.Egress.Allow) || u.Egress.Offline != t.Egress.Offline) {
		wasOffline := t.Egress.Offline
		t.Egress.Allow, t.Egress.Offline = nil, u.Egress.Offline
		if len(u.Egress.Allow) > 0 {
			t.Egress.Allow = slices.Clone(u.Egress.Allow)
		}
		// "allow" is written even when empty: the entry says the list was
		// emptied. "offline" is written when it is or was set.
		e := map[string]any{"allow": append([]string{}, t.Egress.Allow...)}
		if wasOffline || t.Egress.Offline {
			e["offline"] = t.Egress.Offline
		}
		changed["egress"] = e
	}
	if u.AllowScripts != nil && *u.AllowScripts != t.AllowScripts {
		t.AllowScripts = *u.AllowScripts
		changed["allow_scripts"] = t.AllowScripts
	}
	return changed
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
		ref, err := tx.append(tenantID, ledger.Entry{Type: ledger.TypeKeyCreated,
			IDs: map[string]string{ledger.IDKey: key.ID}, Data: data})
		key.Ledger = &ref
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

const apiKeyColumns = `id, tenant_id, name, scopes, secret_hash, created_at, revoked_at`

func (db *DB) findAPIKey(ctx context.Context, id string) (*auditshot.APIKey, error) {
	k, err := scanAPIKey(db.queryRowFast(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = ?`, id))
	if errNotFound(err) {
		return nil, auditshot.Errorf(auditshot.ENOTFOUND, "API key not found")
	}
	if err != nil {
		return nil, internal("find API key", err)
	}
	return k, nil
}

func scanAPIKey(s scanner) (*auditshot.APIKey, error) {
	var (
		k       auditshot.APIKey
		scopes  []byte
		created int64
		revoked sql.NullInt64
	)
	if err := s.Scan(&k.ID, &k.TenantID, &k.Name, &scopes, &k.SecretHash, &created, &revoked); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(scopes, &k.Scopes); err != nil {
		return nil, fmt.Errorf("decode API key scopes: %w", err)
	}
	k.CreatedAt = fromUnixNano(created)
	if revoked.Valid {
		t := fromUnixNano(revoked.Int64)
		k.RevokedAt = &t
	}
	return &k, nil
}

// ListAPIKeys returns the tenant's keys, revoked ones too, oldest first
// (keys created in the same batch in the order they were created), without
// their secret hashes. An unknown tenant has no keys.
func (db *DB) ListAPIKeys(ctx context.Context, tenantID string) ([]*auditshot.APIKey, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE tenant_id = ?
		ORDER BY created_at, rowid`, tenantID)
	if err != nil {
		return nil, internal("list API keys", err)
	}
	defer rows.Close()
	var out []*auditshot.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, internal("list API keys", err)
		}
		k.SecretHash = ""
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("list API keys", err)
	}
	return out, nil
}

// RevokeAPIKey revokes a key and records a key.revoked entry in the same
// transaction. Revoking a revoked key changes nothing and writes no entry.
// Returns ENOTFOUND if the tenant has no such key.
func (db *DB) RevokeAPIKey(ctx context.Context, tenantID, keyID string) (*auditshot.LedgerRef, error) {
	var out *auditshot.LedgerRef
	err := db.write(ctx, func(tx *batchTx) error {
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
		ref, err := tx.append(tenantID, ledger.Entry{Type: ledger.TypeKeyRevoked, IDs: map[string]string{ledger.IDKey: keyID}})
		out = &ref
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
