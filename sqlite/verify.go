package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/mod/sumdb/note"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
)

// ErrLedgerCorrupt is wrapped by the errors of Verify that find the stored
// ledger inconsistent.
var ErrLedgerCorrupt = errors.New("ledger is corrupt")

// corrupt returns the EINTERNAL error of Verify; its message names what is
// wrong.
func corrupt(tenantID, format string, args ...any) error {
	msg := fmt.Sprintf("ledger of tenant %s: ", tenantID) + fmt.Sprintf(format, args...)
	return &auditshot.Error{Code: auditshot.EINTERNAL, Message: msg, Err: fmt.Errorf("%w: %s", ErrLedgerCorrupt, msg)}
}

// Verify recomputes the tenant's log from its stored entries and checks it
// against what is stored: every entry parses (ledger.Parse) and belongs to
// the tenant, indexes are dense from 0, every leaf hash is the hash of its
// entry's bytes, every stored tree hash is the one the entries give, and
// every checkpoint's root is the tree hash at its size, its note says so
// and, if Config.Verifier is set, its signature verifies. It returns nil if
// all hold, or an error wrapping ErrLedgerCorrupt whose message names the
// first entry index, stored hash or checkpoint size that does not.
//
// It holds O(n) hashes in memory for a log of n entries.
func (db *DB) Verify(ctx context.Context, tenantID string) error {
	hashes, size, err := db.verifyEntries(ctx, tenantID)
	if err != nil {
		return err
	}
	if err := db.verifyHashes(ctx, tenantID, hashes, size); err != nil {
		return err
	}
	return db.verifyCheckpoints(ctx, tenantID, hashes, size)
}

// verifyEntries checks every entry and returns the recomputed stored hashes.
func (db *DB) verifyEntries(ctx context.Context, tenantID string) ([]ledger.Hash, int64, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT idx, entry, leaf_hash FROM ledger_entries WHERE tenant_id = ? ORDER BY idx`, tenantID)
	if err != nil {
		return nil, 0, internal("verify: read entries", err)
	}
	defer rows.Close()
	var hashes []ledger.Hash
	r := ledger.HashReaderFunc(func(ids []int64) ([]ledger.Hash, error) { return memHashes(hashes, ids) })
	var n int64
	for ; rows.Next(); n++ {
		var idx int64
		var b, leaf []byte
		if err := rows.Scan(&idx, &b, &leaf); err != nil {
			return nil, 0, internal("verify: read entries", err)
		}
		if idx != n {
			return nil, 0, corrupt(tenantID, "entry %d is missing (next stored is %d)", n, idx)
		}
		e, err := ledger.Parse(b)
		if err != nil {
			return nil, 0, corrupt(tenantID, "entry %d does not parse: %v", n, err)
		}
		if e.Tenant != tenantID {
			return nil, 0, corrupt(tenantID, "entry %d belongs to tenant %q", n, e.Tenant)
		}
		h := ledger.LeafHash(b)
		if !bytes.Equal(h[:], leaf) {
			return nil, 0, corrupt(tenantID, "entry %d: its bytes do not match its stored leaf hash", n)
		}
		hs, err := ledger.StoredHashesForLeafHash(n, h, r)
		if err != nil {
			return nil, 0, internal("verify: recompute hashes", err)
		}
		hashes = append(hashes, hs...)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, internal("verify: read entries", err)
	}
	return hashes, n, nil
}

// verifyHashes compares the stored tree hashes with the recomputed ones.
func (db *DB) verifyHashes(ctx context.Context, tenantID string, want []ledger.Hash, size int64) error {
	rows, err := db.rdb.QueryContext(ctx, `SELECT id, hash FROM ledger_hashes WHERE tenant_id = ? ORDER BY id`, tenantID)
	if err != nil {
		return internal("verify: read hashes", err)
	}
	defer rows.Close()
	var i int64
	for ; rows.Next(); i++ {
		var id int64
		var h []byte
		if err := rows.Scan(&id, &h); err != nil {
			return internal("verify: read hashes", err)
		}
		if id != i || i >= int64(len(want)) {
			return corrupt(tenantID, "stored hash %d is missing or extra (log of %d entries)", i, size)
		}
		if !bytes.Equal(h, want[i][:]) {
			level, k := ledger.SplitStoredHashIndex(i)
			return corrupt(tenantID, "stored hash %d (level %d, from entry %d) does not match the entries", i, level, k<<level)
		}
	}
	if err := rows.Err(); err != nil {
		return internal("verify: read hashes", err)
	}
	if i != int64(len(want)) {
		return corrupt(tenantID, "%d stored hashes, want %d for %d entries", i, len(want), size)
	}
	return nil
}

// verifyCheckpoints checks every stored checkpoint against the recomputed
// hashes.
func (db *DB) verifyCheckpoints(ctx context.Context, tenantID string, hashes []ledger.Hash, size int64) error {
	rows, err := db.rdb.QueryContext(ctx, `SELECT size, root_hash, note FROM ledger_checkpoints WHERE tenant_id = ? ORDER BY size`, tenantID)
	if err != nil {
		return internal("verify: read checkpoints", err)
	}
	defer rows.Close()
	r := ledger.HashReaderFunc(func(ids []int64) ([]ledger.Hash, error) { return memHashes(hashes, ids) })
	origin := db.cfg.Origin(tenantID)
	verifiers, err := db.verifiers(ctx, tenantID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var n int64
		var root, msg []byte
		if err := rows.Scan(&n, &root, &msg); err != nil {
			return internal("verify: read checkpoints", err)
		}
		if n > size {
			return corrupt(tenantID, "checkpoint of size %d is beyond the log of %d entries", n, size)
		}
		want, err := ledger.TreeHash(n, r)
		if err != nil {
			return internal("verify: tree hash", err)
		}
		if !bytes.Equal(root, want[:]) {
			return corrupt(tenantID, "checkpoint of size %d: stored root does not match the entries", n)
		}
		var cp ledger.Checkpoint
		if verifiers != nil {
			cp, _, err = ledger.OpenCheckpoint(msg, origin, verifiers)
		} else {
			var text []byte
			if text, err = noteText(msg); err == nil {
				cp, err = ledger.ParseCheckpoint(text)
			}
		}
		if err != nil {
			return corrupt(tenantID, "checkpoint of size %d: %v", n, err)
		}
		if cp.Size != n || cp.Hash != want || cp.Origin != origin {
			return corrupt(tenantID, "checkpoint of size %d: its note says size %d of %q with another root", n, cp.Size, cp.Origin)
		}
	}
	if err := rows.Err(); err != nil {
		return internal("verify: read checkpoints", err)
	}
	return nil
}

// memHashes reads recomputed hashes by stored-hash index.
func memHashes(hashes []ledger.Hash, ids []int64) ([]ledger.Hash, error) {
	out := make([]ledger.Hash, len(ids))
	for i, id := range ids {
		if id < 0 || id >= int64(len(hashes)) {
			return nil, fmt.Errorf("hash %d not computed", id)
		}
		out[i] = hashes[id]
	}
	return out, nil
}

// noteText returns the text of a signed note without checking signatures.
func noteText(msg []byte) ([]byte, error) {
	n, err := note.Open(msg, note.VerifierList())
	if err == nil {
		return []byte(n.Text), nil
	}
	var u *note.UnverifiedNoteError
	if errors.As(err, &u) {
		return []byte(u.Note.Text), nil
	}
	return nil, err
}

// verifiers returns the keys a tenant's checkpoints may be signed with:
// every key its log declared (log.key entries, so checkpoints from before
// a rotation still verify) and Config.Verifier; nil if there are none.
func (db *DB) verifiers(ctx context.Context, tenantID string) (note.Verifiers, error) {
	keys, err := db.LogKeys(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var list []note.Verifier
	for _, k := range keys {
		v, err := ledger.NewVerifier(k)
		if err != nil {
			return nil, corrupt(tenantID, "declared log key %q: %v", k, err)
		}
		list = append(list, v)
	}
	if v := db.cfg.Verifier; v != nil && !slices.ContainsFunc(list, func(w note.Verifier) bool {
		return w.Name() == v.Name() && w.KeyHash() == v.KeyHash()
	}) {
		list = append(list, v)
	}
	if len(list) == 0 {
		return nil, nil
	}
	return note.VerifierList(list...), nil
}
