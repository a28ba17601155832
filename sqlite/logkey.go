package sqlite

import (
	"context"
	"encoding/json"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
)

// recordLogKey appends a log.key entry declaring Config.PublicKey as the
// key of the tenant's checkpoints, unless it is already the latest one. It
// returns whether it appended.
func (tx *batchTx) recordLogKey(tenantID, vkey, reason string) (bool, error) {
	var last string
	err := tx.queryRow(`SELECT vkey FROM log_keys WHERE tenant_id = ? ORDER BY idx DESC LIMIT 1`, tenantID).Scan(&last)
	if err != nil && !errNotFound(err) {
		return false, internal("find log key", err)
	}
	if last == vkey {
		return false, nil
	}
	fp, err := ledger.KeyFingerprint(vkey)
	if err != nil {
		return false, &auditshot.Error{Code: auditshot.EINVALID, Message: "the log's public key is not a valid verifier key", Err: err}
	}
	data, _ := json.Marshal(map[string]string{"key": vkey, "fingerprint": fp, "reason": reason})
	ref, err := tx.append(tenantID, ledger.Entry{Type: ledger.TypeLogKey, Data: data})
	if err != nil {
		return false, err
	}
	if _, err := tx.exec(`INSERT INTO log_keys (tenant_id, idx, vkey) VALUES (?, ?, ?)`, tenantID, ref.Index, vkey); err != nil {
		return false, internal("record log key", err)
	}
	return true, nil
}

// RecordLogKeys appends a log.key entry to every tenant's log whose latest
// declared key is not Config.PublicKey: the first key of a log that had
// none, or a rotation after the operator replaced the signing key. Call it
// after Open, before signing checkpoints. It returns how many logs it
// appended to, and does nothing without Config.PublicKey. Logs already
// declaring the key cost one read in all, not a write each.
func (db *DB) RecordLogKeys(ctx context.Context) (int, error) {
	if db.cfg.PublicKey == "" {
		return 0, nil
	}
	rows, err := db.rdb.QueryContext(ctx, `SELECT t.id, (SELECT vkey FROM log_keys k WHERE k.tenant_id = t.id ORDER BY idx DESC LIMIT 1)
		FROM tenants t ORDER BY t.id`)
	if err != nil {
		return 0, internal("list log keys", err)
	}
	var stale []string
	for rows.Next() {
		var id string
		var last *string
		if err := rows.Scan(&id, &last); err != nil {
			rows.Close()
			return 0, internal("list log keys", err)
		}
		if last == nil || *last != db.cfg.PublicKey {
			stale = append(stale, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, internal("list log keys", err)
	}
	n := 0
	for _, id := range stale {
		err := db.write(ctx, func(tx *batchTx) error {
			reason := "rotated"
			var one int
			if e := tx.queryRow(`SELECT 1 FROM log_keys WHERE tenant_id = ? LIMIT 1`, id).Scan(&one); errNotFound(e) {
				reason = "declared"
			}
			added, err := tx.recordLogKey(id, db.cfg.PublicKey, reason)
			if added {
				n++
			}
			return err
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// LogKeys returns the verifier keys a tenant's log has declared, oldest
// first: every key that may have signed its checkpoints.
func (db *DB) LogKeys(ctx context.Context, tenantID string) ([]string, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT vkey FROM log_keys WHERE tenant_id = ? ORDER BY idx`, tenantID)
	if err != nil {
		return nil, internal("list log keys", err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, internal("list log keys", err)
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}
