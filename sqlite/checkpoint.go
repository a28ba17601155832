package sqlite

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
)

// Origin returns the log origin of a tenant.
func (db *DB) Origin(tenantID string) string { return db.cfg.Origin(tenantID) }

// SignCheckpoint signs a checkpoint of the tenant's log at its current size
// and stores it, in a write of the sequencer (so its size and root are
// those of committed entries). If the log has not grown since the latest
// checkpoint, that one is returned. Returns ENOTFOUND for an unknown tenant
// and EUNAVAILABLE if the store has no signer.
func (db *DB) SignCheckpoint(ctx context.Context, tenantID string) (*auditshot.Checkpoint, error) {
	if db.cfg.Signer == nil {
		return nil, auditshot.Errorf(auditshot.EUNAVAILABLE, "checkpoints are not signed: no signing key configured")
	}
	var cp *auditshot.Checkpoint
	err := db.write(ctx, func(tx *batchTx) error {
		if err := tx.requireTenant(tenantID); err != nil {
			return err
		}
		var err error
		cp, err = tx.signCheckpoint(tenantID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return cp, nil
}

// signCheckpoint signs and stores a checkpoint of the tenant's log as tx
// sees it, unless the latest one already has its size.
func (tx *batchTx) signCheckpoint(tenantID string) (*auditshot.Checkpoint, error) {
	size, err := tx.size(tenantID)
	if err != nil {
		return nil, err
	}
	latest, err := latestCheckpoint(context.Background(), tx, tenantID)
	if err != nil && auditshot.ErrorCode(err) != auditshot.ENOTFOUND {
		return nil, err
	}
	if latest != nil && latest.Size == size {
		return latest, nil
	}
	root, err := ledger.TreeHash(size, txHashReader(tx, tenantID))
	if err != nil {
		return nil, internal("checkpoint tree hash", err)
	}
	origin := tx.db.cfg.Origin(tenantID)
	msg, err := ledger.SignCheckpoint(ledger.Checkpoint{Origin: origin, Size: size, Hash: root}, tx.db.cfg.Signer)
	if err != nil {
		return nil, internal("sign checkpoint", err)
	}
	now := tx.db.cfg.Now().UTC()
	if _, err := tx.exec(`INSERT INTO ledger_checkpoints (tenant_id, size, root_hash, note, created_at) VALUES (?, ?, ?, ?, ?)`,
		tenantID, size, root[:], msg, unixNano(now)); err != nil {
		return nil, internal("store checkpoint", err)
	}
	tx.db.log.Info("signed checkpoint", "tenant", tenantID, "size", size)
	return &auditshot.Checkpoint{TenantID: tenantID, Origin: origin, Size: size, RootHash: root, Note: msg, Time: now}, nil
}

// LatestCheckpoint returns the tenant's latest checkpoint. Returns
// ENOTFOUND if the tenant has none.
func (db *DB) LatestCheckpoint(ctx context.Context, tenantID string) (*auditshot.Checkpoint, error) {
	return latestCheckpoint(ctx, db.rdb, tenantID)
}

func latestCheckpoint(ctx context.Context, q querier, tenantID string) (*auditshot.Checkpoint, error) {
	cp, err := scanCheckpoint(tenantID, q.QueryRowContext(ctx, `SELECT size, root_hash, note, created_at FROM ledger_checkpoints
		WHERE tenant_id = ? ORDER BY size DESC LIMIT 1`, tenantID))
	if errNotFound(err) {
		return nil, auditshot.Errorf(auditshot.ENOTFOUND, "tenant %q has no checkpoint", tenantID)
	}
	if err != nil {
		return nil, internal("read checkpoint", err)
	}
	return cp, nil
}

// scanCheckpoint reads a row of (size, root_hash, note, created_at). The
// origin is the one the note states.
func scanCheckpoint(tenantID string, row interface{ Scan(...any) error }) (*auditshot.Checkpoint, error) {
	var (
		cp   = auditshot.Checkpoint{TenantID: tenantID}
		root []byte
		at   int64
	)
	if err := row.Scan(&cp.Size, &root, &cp.Note, &at); err != nil {
		return nil, err
	}
	copy(cp.RootHash[:], root)
	cp.Time = fromUnixNano(at)
	if text, err := noteText(cp.Note); err == nil {
		if c, err := ledger.ParseCheckpoint(text); err == nil {
			cp.Origin = c.Origin
		}
	}
	return &cp, nil
}

// Checkpoints returns the tenant's stored checkpoints smaller than before
// (all if before <= 0), largest first, at most limit. Returns ENOTFOUND
// for an unknown tenant.
func (db *DB) Checkpoints(ctx context.Context, tenantID string, before int64, limit int) ([]auditshot.Checkpoint, error) {
	if _, err := db.FindTenant(ctx, tenantID); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = auditshot.DefaultCheckpointLimit
	}
	limit = min(limit, auditshot.MaxCheckpointLimit)
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := db.rdb.QueryContext(ctx, `SELECT size, root_hash, note, created_at FROM ledger_checkpoints
		WHERE tenant_id = ? AND size < ? ORDER BY size DESC LIMIT ?`, tenantID, before, limit)
	if err != nil {
		return nil, internal("list checkpoints", err)
	}
	defer rows.Close()
	var out []auditshot.Checkpoint
	for rows.Next() {
		cp, err := scanCheckpoint(tenantID, rows)
		if err != nil {
			return nil, internal("list checkpoints", err)
		}
		out = append(out, *cp)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("list checkpoints", err)
	}
	return out, nil
}

// CheckpointAll signs a checkpoint for every tenant whose log has grown
// since its latest checkpoint (or has entries and no checkpoint), and
// returns how many it signed. It is one tick of RunCheckpointer.
func (db *DB) CheckpointAll(ctx context.Context) (int, error) {
	if db.cfg.Signer == nil {
		return 0, auditshot.Errorf(auditshot.EUNAVAILABLE, "checkpoints are not signed: no signing key configured")
	}
	rows, err := db.rdb.QueryContext(ctx, `SELECT t.id FROM tenants t
		WHERE (SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_entries e WHERE e.tenant_id = t.id) >
		      (SELECT COALESCE(MAX(size), 0) FROM ledger_checkpoints c WHERE c.tenant_id = t.id)
		ORDER BY t.id`)
	if err != nil {
		return 0, internal("list grown logs", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, internal("list grown logs", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, internal("list grown logs", err)
	}
	var errs []error
	n := 0
	for _, id := range ids {
		if _, err := db.SignCheckpoint(ctx, id); err != nil {
			db.log.Error("checkpoint failed", "tenant", id, "err", err)
			errs = append(errs, fmt.Errorf("checkpoint tenant %s: %w", id, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// RunCheckpointer calls CheckpointAll every interval until ctx is done, and
// returns ctx's error. Failures are logged and retried at the next tick.
func (db *DB) RunCheckpointer(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	return db.runCheckpointer(ctx, t.C)
}

func (db *DB) runCheckpointer(ctx context.Context, tick <-chan time.Time) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick:
			_, _ = db.CheckpointAll(ctx) // errors are logged by CheckpointAll
		}
	}
}

var _ auditshot.LedgerService = (*DB)(nil)
