package sqlite

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"math"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
)

var _ auditshot.AccessLog = (*DB)(nil)

// RecordView appends an evidence.viewed entry for v, by v.Actor, naming
// v.RunID and v.CaptureID (as ledger.IDRun and ledger.IDCapture) with
// v.What and v.SHA256 as its data ("what", "sha256"), and returns it once
// durable. Returns EINVALID for a view without tenant, actor or What, or
// with a malformed id or hash, and ENOTFOUND for an unknown tenant.
func (db *DB) RecordView(ctx context.Context, v *auditshot.EvidenceView) (*auditshot.LedgerRef, error) {
	switch {
	case v.TenantID == "":
		return nil, auditshot.Errorf(auditshot.EINVALID, "view: tenant is required")
	case v.Actor == "":
		return nil, auditshot.Errorf(auditshot.EINVALID, "view: actor is required")
	case v.What == "" || len(v.What) > 64:
		return nil, auditshot.Errorf(auditshot.EINVALID, "view: what must be 1 to 64 bytes")
	case v.RunID != "" && !validID.MatchString(v.RunID):
		return nil, auditshot.Errorf(auditshot.EINVALID, "view: run id must be 1 to 64 characters of [a-z0-9_-]")
	case v.CaptureID != "" && !validID.MatchString(v.CaptureID):
		return nil, auditshot.Errorf(auditshot.EINVALID, "view: capture id must be 1 to 64 characters of [a-z0-9_-]")
	case v.SHA256 != "" && !validSHA256.MatchString(v.SHA256):
		return nil, auditshot.Errorf(auditshot.EINVALID, "view: sha256 must be 64 lowercase hex digits")
	}
	ids := map[string]string{}
	if v.RunID != "" {
		ids[ledger.IDRun] = v.RunID
	}
	if v.CaptureID != "" {
		ids[ledger.IDCapture] = v.CaptureID
	}
	payload := map[string]string{"what": v.What}
	if v.SHA256 != "" {
		payload["sha256"] = v.SHA256
	}
	data, _ := json.Marshal(payload)
	var ref auditshot.LedgerRef
	err := db.write(ctx, func(tx *batchTx) error {
		if err := tx.requireTenant(v.TenantID); err != nil {
			return err
		}
		var err error
		ref, err = tx.append(v.TenantID, ledger.Entry{Type: ledger.TypeEvidenceViewed, Actor: v.Actor, IDs: ids, Data: data})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ref, nil
}

// accessQuery lists access entries through the partial index
// ledger_access (migration 0008), whose WHERE clause it repeats exactly.
// The filters are ANDed after it (an empty one matches all).
const accessQuery = `SELECT idx, entry, leaf_hash FROM ledger_entries INDEXED BY ledger_access
	WHERE tenant_id = ? AND json_extract(CAST(entry AS TEXT), '$.type') IN ('evidence.viewed', 'export.created')
	AND idx < ?
	AND (? = '' OR json_extract(CAST(entry AS TEXT), '$.actor') = ?)
	AND (? = '' OR json_extract(CAST(entry AS TEXT), '$.ids.run_id') = ?
		OR EXISTS (SELECT 1 FROM json_each(CAST(entry AS TEXT), '$.data.selection.runs') r WHERE r.value = ?))
	ORDER BY idx DESC LIMIT ?`

// ListAccess returns the tenant's evidence.viewed and export.created
// entries that match f, newest first, at most f.Limit (DefaultListLimit if
// 0 or less, at most MaxListLimit). An export's What is "export" and its
// SHA256 the bundle's; an export names a run if it selected it by id.
func (db *DB) ListAccess(ctx context.Context, tenantID string, f auditshot.AccessFilter) ([]auditshot.AccessEntry, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	before := f.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := db.rdb.QueryContext(ctx, accessQuery, tenantID, before, f.Actor, f.Actor, f.RunID, f.RunID, f.RunID, limit)
	if err != nil {
		return nil, internal("list access", err)
	}
	defer rows.Close()
	var out []auditshot.AccessEntry
	for rows.Next() {
		var (
			idx       int64
			b, leaf   []byte
			entryData struct {
				What         string `json:"what"`
				SHA256       string `json:"sha256"`
				BundleSHA256 string `json:"bundle_sha256"`
			}
		)
		if err := rows.Scan(&idx, &b, &leaf); err != nil {
			return nil, internal("list access", err)
		}
		e, err := ledger.Parse(b)
		if err != nil {
			return nil, internal("list access", err)
		}
		if len(e.Data) > 0 {
			if err := json.Unmarshal(e.Data, &entryData); err != nil {
				return nil, internal("list access", err)
			}
		}
		a := auditshot.AccessEntry{Type: string(e.Type), Actor: e.Actor, What: entryData.What,
			RunID: e.IDs[ledger.IDRun], CaptureID: e.IDs[ledger.IDCapture], SHA256: entryData.SHA256,
			ExportID: e.IDs[ledger.IDExport], Time: e.Time.UTC(),
			Ledger: auditshot.LedgerRef{Index: idx, LeafHash: hex.EncodeToString(leaf)}}
		if e.Type == ledger.TypeExportCreated {
			a.What, a.SHA256 = "export", entryData.BundleSHA256
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("list access", err)
	}
	return out, nil
}
