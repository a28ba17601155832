package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/auditshot/auditshot"
)

var _ auditshot.IdempotencyStore = (*DB)(nil)

// MaxIdempotencyKey is the longest Idempotency-Key, in bytes.
const MaxIdempotencyKey = 256

// ClaimIdempotencyKey records that a request with r.Key has started: a
// claim with Status 0, created now. It returns the claim as stored. If the
// tenant's key is already claimed or answered it returns the stored record
// and ECONFLICT. Returns EINVALID for an empty or too long key and
// ENOTFOUND for an unknown tenant.
func (db *DB) ClaimIdempotencyKey(ctx context.Context, r *auditshot.IdempotentResponse) (*auditshot.IdempotentResponse, error) {
	if err := checkIdempotencyKey(r.Key); err != nil {
		return nil, err
	}
	claim := &auditshot.IdempotentResponse{TenantID: r.TenantID, Key: r.Key, Fingerprint: r.Fingerprint}
	var stored *auditshot.IdempotentResponse
	err := db.write(ctx, func(tx *batchTx) error {
		if err := tx.requireTenant(r.TenantID); err != nil {
			return err
		}
		claim.CreatedAt = tx.now.UTC()
		_, err := tx.exec(`INSERT INTO idempotency (tenant_id, key, fingerprint, status, content_type, created_at)
			VALUES (?, ?, ?, 0, '', ?)`, r.TenantID, r.Key, r.Fingerprint, unixNano(claim.CreatedAt))
		if isConstraint(err) {
			if stored, err = findIdempotent(context.Background(), tx, r.TenantID, r.Key); err != nil {
				return err
			}
			return auditshot.Errorf(auditshot.ECONFLICT, "idempotency key %q is already used", r.Key)
		}
		if err != nil {
			return internal("claim idempotency key", err)
		}
		return nil
	})
	if auditshot.ErrorCode(err) == auditshot.ECONFLICT && stored != nil {
		return stored, err
	}
	if err != nil {
		return nil, err
	}
	return claim, nil
}

func checkIdempotencyKey(key string) error {
	if key == "" || len(key) > MaxIdempotencyKey {
		return auditshot.Errorf(auditshot.EINVALID, "idempotency key must be 1 to %d bytes", MaxIdempotencyKey)
	}
	return nil
}

// findIdempotent returns the stored record of a tenant's key.
func findIdempotent(ctx context.Context, q querier, tenantID, key string) (*auditshot.IdempotentResponse, error) {
	r := &auditshot.IdempotentResponse{TenantID: tenantID, Key: key}
	var (
		headers sql.NullString
		created int64
	)
	err := q.QueryRowContext(ctx, `SELECT fingerprint, status, content_type, headers, body, created_at
		FROM idempotency WHERE tenant_id = ? AND key = ?`, tenantID, key).
		Scan(&r.Fingerprint, &r.Status, &r.ContentType, &headers, &r.Body, &created)
	if errNotFound(err) {
		return nil, auditshot.Errorf(auditshot.ENOTFOUND, "idempotency key %q not found", key)
	}
	if err != nil {
		return nil, internal("find idempotency key", err)
	}
	if headers.Valid {
		if err := json.Unmarshal([]byte(headers.String), &r.Headers); err != nil {
			return nil, internal("decode idempotent headers", err)
		}
	}
	r.CreatedAt = fromUnixNano(created)
	return r, nil
}

// CompleteIdempotencyKey stores the answer to a claimed key: r's Status,
// ContentType, Headers and Body. Returns EINVALID for a status that is not
// an HTTP status, ENOTFOUND if the key is not claimed and ECONFLICT if it
// has already been answered.
func (db *DB) CompleteIdempotencyKey(ctx context.Context, r *auditshot.IdempotentResponse) error {
	if r.Status < 100 || r.Status > 599 {
		return auditshot.Errorf(auditshot.EINVALID, "idempotent response status %d is not an HTTP status", r.Status)
	}
	var headers sql.NullString
	if r.Headers != nil {
		b, _ := json.Marshal(r.Headers)
		headers = sql.NullString{String: string(b), Valid: true}
	}
	return db.write(ctx, func(tx *batchTx) error {
		res, err := tx.exec(`UPDATE idempotency SET status = ?, content_type = ?, headers = ?, body = ?
			WHERE tenant_id = ? AND key = ? AND status = 0`, r.Status, r.ContentType, headers, r.Body, r.TenantID, r.Key)
		if err != nil {
			return internal("complete idempotency key", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return internal("complete idempotency key", err)
		}
		if n == 1 {
			return nil
		}
		if _, err := findIdempotent(context.Background(), tx, r.TenantID, r.Key); err != nil {
			return err
		}
		return auditshot.Errorf(auditshot.ECONFLICT, "idempotency key %q has already been answered", r.Key)
	})
}

// ReleaseIdempotencyKey forgets the tenant's claim of key, so that a retry
// may run again. An answered key, or one never claimed, is left as it is.
func (db *DB) ReleaseIdempotencyKey(ctx context.Context, tenantID, key string) error {
	return db.write(ctx, func(tx *batchTx) error {
		if _, err := tx.exec(`DELETE FROM idempotency WHERE tenant_id = ? AND key = ? AND status = 0`,
			tenantID, key); err != nil {
			return internal("release idempotency key", err)
		}
		return nil
	})
}

// PurgeIdempotencyKeys deletes the records created before before, of
// every tenant, and returns how many it deleted. Unanswered claims that
// old were left by a server that stopped mid-request: their keys become
// usable again.
func (db *DB) PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.write(ctx, func(tx *batchTx) error {
		res, err := tx.exec(`DELETE FROM idempotency WHERE created_at < ?`, unixNano(before))
		if err != nil {
			return internal("purge idempotency keys", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return internal("purge idempotency keys", fmt.Errorf("count deleted: %w", err))
		}
		return nil
	})
	return n, err
}
