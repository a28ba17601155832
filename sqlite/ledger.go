package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
)

// append appends e to the tenant's log inside tx, with the stored hashes of
// the new leaf, and returns its reference. It sets e's version, tenant and
// (if zero) time. Every write method that records something calls it in
// the same transaction as its rows.
func (tx *batchTx) append(tenantID string, e ledger.Entry) (auditshot.LedgerRef, error) {
	e.V = ledger.Version
	e.Tenant = tenantID
	if e.Time.IsZero() {
		e.Time = tx.now
	}
	b, err := ledger.Marshal(e)
	if err != nil {
		return auditshot.LedgerRef{}, &auditshot.Error{Code: auditshot.EINVALID,
			Message: "the record does not make a valid ledger entry: " + strings.TrimPrefix(err.Error(), ledger.ErrInvalidEntry.Error()+": "), Err: err}
	}
	n, err := tx.size(tenantID)
	if err != nil {
		return auditshot.LedgerRef{}, err
	}
	leaf := ledger.LeafHash(b)
	hs, err := ledger.StoredHashesForLeafHash(n, leaf, tx.cachedHashReader(tenantID))
	if err != nil {
		return auditshot.LedgerRef{}, internal(fmt.Sprintf("append entry %d", n), err)
	}
	if _, err := tx.exec(`INSERT INTO ledger_entries (tenant_id, idx, entry, leaf_hash) VALUES (?, ?, ?, ?)`,
		tenantID, n, b, leaf[:]); err != nil {
		return auditshot.LedgerRef{}, internal(fmt.Sprintf("append entry %d", n), err)
	}
	// The hashes of a leaf are few (1 + the trailing ones of n): store them
	// in one multi-row INSERT.
	first := ledger.StoredHashIndex(0, n)
	args := make([]any, 0, 3*len(hs))
	for i := range hs {
		args = append(args, tenantID, first+int64(i), hs[i][:])
	}
	if len(hs) > 0 {
		if _, err := tx.exec(insertHashesQuery(len(hs)), args...); err != nil {
			return auditshot.LedgerRef{}, internal(fmt.Sprintf("store hashes of entry %d", n), err)
		}
	}
	for i, h := range hs {
		tx.hashes[hashKey{tenantID, first + int64(i)}] = h
	}
	tx.sizes[tenantID] = n + 1
	tx.entries++
	return auditshot.LedgerRef{Index: n, LeafHash: hex.EncodeToString(leaf[:])}, nil
}

// insertHashesQueries are the INSERTs of 1 to 64 stored hashes.
var insertHashesQueries [65]string

func init() {
	for n := 1; n < len(insertHashesQueries); n++ {
		insertHashesQueries[n] = `INSERT INTO ledger_hashes (tenant_id, id, hash) VALUES (?, ?, ?)` +
			strings.Repeat(`, (?, ?, ?)`, n-1)
	}
}

// insertHashesQuery returns the INSERT of n > 0 stored hashes.
func insertHashesQuery(n int) string {
	if n < len(insertHashesQueries) {
		return insertHashesQueries[n]
	}
	return `INSERT INTO ledger_hashes (tenant_id, id, hash) VALUES (?, ?, ?)` + strings.Repeat(`, (?, ?, ?)`, n-1)
}

// cachedHashReader reads the tenant's stored hashes through tx, from the
// batch's cache of the hashes it has read or written where it can.
func (tx *batchTx) cachedHashReader(tenantID string) ledger.HashReader {
	return ledger.HashReaderFunc(func(indexes []int64) ([]ledger.Hash, error) {
		out := make([]ledger.Hash, len(indexes))
		var missing []int64
		for i, id := range indexes {
			h, ok := tx.hashes[hashKey{tenantID, id}]
			if !ok {
				missing = append(missing, id)
				continue
			}
			out[i] = h
		}
		if len(missing) == 0 {
			return out, nil
		}
		got, err := readHashes(context.Background(), tx, tenantID, missing)
		if err != nil {
			return nil, err
		}
		for i, id := range missing {
			tx.hashes[hashKey{tenantID, id}] = got[i]
		}
		for i, id := range indexes {
			out[i] = tx.hashes[hashKey{tenantID, id}]
		}
		return out, nil
	})
}

// size returns the size of the tenant's log as tx sees it.
func (tx *batchTx) size(tenantID string) (int64, error) {
	if n, ok := tx.sizes[tenantID]; ok {
		return n, nil
	}
	var n int64
	if err := tx.queryRow(`SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_entries WHERE tenant_id = ?`, tenantID).Scan(&n); err != nil {
		return 0, internal("read log size", err)
	}
	tx.sizes[tenantID] = n
	return n, nil
}

// querier is what hash reads need of *sql.DB and *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func txHashReader(tx *batchTx, tenantID string) ledger.HashReader {
	return hashReader(context.Background(), tx, tenantID)
}

// hashReader reads the tenant's stored hashes through q.
func hashReader(ctx context.Context, q querier, tenantID string) ledger.HashReader {
	return ledger.HashReaderFunc(func(indexes []int64) ([]ledger.Hash, error) {
		return readHashes(ctx, q, tenantID, indexes)
	})
}

// readHashes returns the stored hashes at indexes, in order.
func readHashes(ctx context.Context, q querier, tenantID string, indexes []int64) ([]ledger.Hash, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(indexes)+1)
	args = append(args, tenantID)
	for _, i := range indexes {
		args = append(args, i)
	}
	rows, err := q.QueryContext(ctx, `SELECT id, hash FROM ledger_hashes WHERE tenant_id = ? AND id IN (?`+
		strings.Repeat(",?", len(indexes)-1)+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("read hashes: %w", err)
	}
	defer rows.Close()
	got := make(map[int64]ledger.Hash, len(indexes))
	for rows.Next() {
		var id int64
		var b []byte
		if err := rows.Scan(&id, &b); err != nil {
			return nil, fmt.Errorf("read hashes: %w", err)
		}
		if len(b) != ledger.HashSize {
			return nil, fmt.Errorf("stored hash %d is %d bytes", id, len(b))
		}
		got[id] = ledger.Hash(b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read hashes: %w", err)
	}
	out := make([]ledger.Hash, len(indexes))
	for i, id := range indexes {
		h, ok := got[id]
		if !ok {
			return nil, fmt.Errorf("stored hash %d is missing", id)
		}
		out[i] = h
	}
	return out, nil
}

// logSize returns the committed size of the tenant's log.
func (db *DB) logSize(ctx context.Context, tenantID string) (int64, error) {
	var n int64
	if err := db.rdb.QueryRowContext(ctx, `SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_entries WHERE tenant_id = ?`,
		tenantID).Scan(&n); err != nil {
		return 0, internal("read log size", err)
	}
	return n, nil
}

// LogSize returns the number of entries in the tenant's log (0 for a
// tenant without entries or an unknown tenant).
func (db *DB) LogSize(ctx context.Context, tenantID string) (int64, error) {
	return db.logSize(ctx, tenantID)
}

// Entries returns the encoded entries [start, end) of the tenant's log,
// exactly as stored. Returns EINVALID for an empty, negative or too large
// range.
func (db *DB) Entries(ctx context.Context, tenantID string, start, end int64) ([][]byte, error) {
	size, err := db.logSize(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if start < 0 || start >= end || end > size {
		return nil, auditshot.Errorf(auditshot.EINVALID, "entry range [%d, %d) is outside the log of size %d", start, end, size)
	}
	rows, err := db.rdb.QueryContext(ctx, `SELECT idx, entry FROM ledger_entries
		WHERE tenant_id = ? AND idx >= ? AND idx < ? ORDER BY idx`, tenantID, start, end)
	if err != nil {
		return nil, internal("read entries", err)
	}
	defer rows.Close()
	out := make([][]byte, 0, end-start)
	for rows.Next() {
		var idx int64
		var b []byte
		if err := rows.Scan(&idx, &b); err != nil {
			return nil, internal("read entries", err)
		}
		if idx != start+int64(len(out)) {
			return nil, internal("read entries", fmt.Errorf("entry %d is missing", start+int64(len(out))))
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("read entries", err)
	}
	if int64(len(out)) != end-start {
		return nil, internal("read entries", fmt.Errorf("entry %d is missing", start+int64(len(out))))
	}
	return out, nil
}

// InclusionProof returns the inclusion proof of entry index in the tree of
// the first size entries of the tenant's log. Returns EINVALID unless
// 0 <= index < size <= the log's size.
func (db *DB) InclusionProof(ctx context.Context, tenantID string, index, size int64) ([][32]byte, error) {
	if err := db.checkSize(ctx, tenantID, size); err != nil {
		return nil, err
	}
	if index < 0 || index >= size {
		return nil, auditshot.Errorf(auditshot.EINVALID, "entry %d is not in a tree of size %d", index, size)
	}
	p, err := ledger.ProveInclusion(index, size, hashReader(ctx, db.rdb, tenantID))
	return hashes32(p), proofErr(err)
}

// ConsistencyProof returns the proof that the tree of the first oldSize
// entries is a prefix of the tree of the first newSize. Returns EINVALID
// unless 0 <= oldSize <= newSize <= the log's size.
func (db *DB) ConsistencyProof(ctx context.Context, tenantID string, oldSize, newSize int64) ([][32]byte, error) {
	if err := db.checkSize(ctx, tenantID, newSize); err != nil {
		return nil, err
	}
	if oldSize < 0 || oldSize > newSize {
		return nil, auditshot.Errorf(auditshot.EINVALID, "tree sizes %d and %d are out of order", oldSize, newSize)
	}
	p, err := ledger.ProveConsistency(oldSize, newSize, hashReader(ctx, db.rdb, tenantID))
	return hashes32(p), proofErr(err)
}

// RangeProof returns the proof that entries [start, end) are exactly those
// of the tree of the first size entries. Returns EINVALID unless
// 0 <= start < end <= size <= the log's size.
func (db *DB) RangeProof(ctx context.Context, tenantID string, start, end, size int64) ([][32]byte, error) {
	if err := db.checkSize(ctx, tenantID, size); err != nil {
		return nil, err
	}
	if ledger.RangeProofSize(start, end, size) < 0 {
		return nil, auditshot.Errorf(auditshot.EINVALID, "range [%d, %d) is not in a tree of size %d", start, end, size)
	}
	p, err := ledger.ProveRange(start, end, size, hashReader(ctx, db.rdb, tenantID))
	return hashes32(p), proofErr(err)
}

// checkSize returns EINVALID unless 0 <= size <= the tenant's log size.
func (db *DB) checkSize(ctx context.Context, tenantID string, size int64) error {
	n, err := db.logSize(ctx, tenantID)
	if err != nil {
		return err
	}
	if size < 0 || size > n {
		return auditshot.Errorf(auditshot.EINVALID, "tree size %d is beyond the log of size %d", size, n)
	}
	return nil
}

func proofErr(err error) error {
	if err == nil {
		return nil
	}
	return internal("prove", err)
}

// hashes32 converts ledger hashes to the root package's [32]byte.
func hashes32(hs []ledger.Hash) [][32]byte {
	if hs == nil {
		return nil
	}
	out := make([][32]byte, len(hs))
	for i, h := range hs {
		out[i] = h
	}
	return out
}

// errNotFound reports whether err is sql.ErrNoRows.
func errNotFound(err error) bool { return errors.Is(err, sql.ErrNoRows) }
