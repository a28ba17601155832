package sqlite

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/bundle"
	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/rfc3161"
)

// AnchorData is the data of an anchor ledger entry. TokenSHA256 binds the
// stored token to the log: an auditor checks the token they are given
// against it.
type AnchorData struct {
	// CheckpointSize is the size of the anchored checkpoint.
	CheckpointSize int64 `json:"checkpoint_size"`
	// CheckpointSHA256 is the hex SHA-256 of the checkpoint's signed note
	// bytes, the token's message imprint.
	CheckpointSHA256 string `json:"checkpoint_sha256"`
	// TSA names the time-stamping authority.
	TSA string `json:"tsa"`
	// GenTime is the token's time, in ledger.TimeLayout.
	GenTime string `json:"gen_time"`
	// TokenSHA256 is the hex SHA-256 of the DER token.
	TokenSHA256 string `json:"token_sha256"`
}

// Anchor time-stamps the tenant's latest checkpoint (signing one first if
// the log has grown since) with ts, stores the token, and appends an anchor
// entry recording it, in one write. The digest stamped is the SHA-256 of the
// checkpoint's signed note bytes. The token is requested before the write,
// so the TSA's latency holds up no other writer; its time is read from the
// token (its CMS signature and imprint checked, not its chain: the store
// trusts the TSA it is configured with, auditors verify with their own
// roots). tsaName names the TSA in the entry. Returns ENOTFOUND for an
// unknown tenant, EUNAVAILABLE without a signer or if the TSA fails, and
// EINTERNAL if it returns an invalid token.
func (db *DB) Anchor(ctx context.Context, tenantID string, ts auditshot.Timestamper, tsaName string) (*auditshot.Anchor, error) {
	if ts == nil {
		return nil, auditshot.Errorf(auditshot.EINVALID, "no time-stamping authority configured")
	}
	cp, err := db.SignCheckpoint(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(cp.Note)
	token, err := ts.Timestamp(ctx, digest)
	if err != nil {
		return nil, fmt.Errorf("anchor checkpoint %d of tenant %s: %w", cp.Size, tenantID, err)
	}
	genTime, err := rfc3161.GenTime(token, digest)
	if err != nil {
		return nil, &auditshot.Error{Code: auditshot.EINTERNAL, Message: "the time-stamping authority returned an invalid token", Err: err}
	}
	a := &auditshot.Anchor{TenantID: tenantID, CheckpointSize: cp.Size, CheckpointSHA256: digest,
		Token: token, GenTime: genTime, TSA: tsaName}
	err = db.write(ctx, func(tx *batchTx) error {
		if err := tx.requireTenant(tenantID); err != nil {
			return err
		}
		return tx.recordAnchor(a)
	})
	if err != nil {
		return nil, err
	}
	db.log.Info("anchored checkpoint", "tenant", tenantID, "size", cp.Size, "tsa", tsaName, "gen_time", genTime)
	return a, nil
}

// recordAnchor appends the anchor entry of a and stores a, setting
// a.Ledger.
func (tx *batchTx) recordAnchor(a *auditshot.Anchor) error {
	tokenSum := sha256.Sum256(a.Token)
	data, err := json.Marshal(AnchorData{
		CheckpointSize:   a.CheckpointSize,
		CheckpointSHA256: hex.EncodeToString(a.CheckpointSHA256[:]),
		TSA:              a.TSA,
		GenTime:          a.GenTime.UTC().Format(ledger.TimeLayout),
		TokenSHA256:      hex.EncodeToString(tokenSum[:]),
	})
	if err != nil {
		return internal("encode anchor entry", err)
	}
	ref, err := tx.append(a.TenantID, ledger.Entry{Type: ledger.TypeAnchor, Data: data})
	if err != nil {
		return err
	}
	if _, err := tx.exec(`INSERT INTO anchors (tenant_id, idx, checkpoint_size, checkpoint_sha256, token, gen_time, tsa, leaf_hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, a.TenantID, ref.Index, a.CheckpointSize, a.CheckpointSHA256[:], a.Token,
		unixNano(a.GenTime), a.TSA, ref.LeafHash); err != nil {
		return internal("store anchor", err)
	}
	a.Ledger = ref
	return nil
}

// Anchors returns the tenant's anchors in log order. Returns ENOTFOUND for
// an unknown tenant.
func (db *DB) Anchors(ctx context.Context, tenantID string) ([]auditshot.Anchor, error) {
	if _, err := db.FindTenant(ctx, tenantID); err != nil {
		return nil, err
	}
	rows, err := db.rdb.QueryContext(ctx, `SELECT idx, checkpoint_size, checkpoint_sha256, token, gen_time, tsa, leaf_hash
		FROM anchors WHERE tenant_id = ? ORDER BY idx`, tenantID)
	if err != nil {
		return nil, internal("list anchors", err)
	}
	defer rows.Close()
	var out []auditshot.Anchor
	for rows.Next() {
		a := auditshot.Anchor{TenantID: tenantID}
		var sum []byte
		var at int64
		if err := rows.Scan(&a.Ledger.Index, &a.CheckpointSize, &sum, &a.Token, &at, &a.TSA, &a.Ledger.LeafHash); err != nil {
			return nil, internal("list anchors", err)
		}
		copy(a.CheckpointSHA256[:], sum)
		a.GenTime = fromUnixNano(at)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("list anchors", err)
	}
	return out, nil
}

// CheckpointAt returns the tenant's stored checkpoint of the given size.
// Returns ENOTFOUND if there is none.
func (db *DB) CheckpointAt(ctx context.Context, tenantID string, size int64) (*auditshot.Checkpoint, error) {
	cp := auditshot.Checkpoint{TenantID: tenantID, Origin: db.cfg.Origin(tenantID), Size: size}
	var root []byte
	var at int64
	err := db.rdb.QueryRowContext(ctx, `SELECT root_hash, note, created_at FROM ledger_checkpoints
		WHERE tenant_id = ? AND size = ?`, tenantID, size).Scan(&root, &cp.Note, &at)
	if errNotFound(err) {
		return nil, auditshot.Errorf(auditshot.ENOTFOUND, "tenant %q has no checkpoint of size %d", tenantID, size)
	}
	if err != nil {
		return nil, internal("read checkpoint", err)
	}
	copy(cp.RootHash[:], root)
	cp.Time = fromUnixNano(at)
	return &cp, nil
}

// AnchorFiles returns, for a bundle of the given entry indexes proven
// against the tenant's checkpoint of size size, the anchors that bound
// their times most tightly: for each index, the anchor over the smallest
// checkpoint that holds it and the anchor over the largest one that does
// not. Each comes with its checkpoint note and the consistency proof to
// size. Anchors over checkpoints larger than size are left out. Returns
// ENOTFOUND for an unknown tenant.
func (db *DB) AnchorFiles(ctx context.Context, tenantID string, size int64, indexes []int64) ([]bundle.AnchorFile, error) {
	all, err := db.Anchors(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	all = slices.DeleteFunc(all, func(a auditshot.Anchor) bool { return a.CheckpointSize > size || a.CheckpointSize == 0 })
	slices.SortStableFunc(all, func(a, b auditshot.Anchor) int { return cmp.Compare(a.CheckpointSize, b.CheckpointSize) })
	pick := map[int]bool{}
	for _, i := range indexes {
		// all[k] is the first anchor over a checkpoint holding entry i.
		k, _ := slices.BinarySearchFunc(all, i+1, func(a auditshot.Anchor, n int64) int { return cmp.Compare(a.CheckpointSize, n) })
		if k < len(all) {
			pick[k] = true
		}
		if k > 0 {
			pick[k-1] = true
		}
	}
	var out []bundle.AnchorFile
	for _, k := range slices.Sorted(maps.Keys(pick)) {
		a := all[k]
		cp, err := db.CheckpointAt(ctx, tenantID, a.CheckpointSize)
		if err != nil {
			return nil, err
		}
		f := bundle.AnchorFile{CheckpointNote: cp.Note, Token: a.Token}
		if a.CheckpointSize != size {
			p, err := db.ConsistencyProof(ctx, tenantID, a.CheckpointSize, size)
			if err != nil {
				return nil, err
			}
			f.Consistency = ledgerHashes(p)
		}
		out = append(out, f)
	}
	return out, nil
}
