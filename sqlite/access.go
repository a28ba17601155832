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
		if err != nil {
			return err
		}
		var runs []string
		if v.RunID != "" {
			runs = []string{v.RunID}
		}
		return tx.recordAccess(v.TenantID, ref.Index, v.Actor, runs)
	})
	if err != nil {
		return nil, err
	}
	return &ref, nil
}

// recordAccess adds the access entry at idx to the access log's tables
// (migration 0009), with the runs it is about.
func (tx *batchTx) recordAccess(tenantID string, idx int64, actor string, runs []string) error {
	if _, err := tx.exec(`INSERT INTO access_log (tenant_id, idx, actor) VALUES (?, ?, ?)`, tenantID, idx, actor); err != nil {
		return internal("record access", err)
	}
	for _, run := range runs {
		if _, err := tx.exec(`INSERT OR IGNORE INTO access_runs (tenant_id, run_id, idx) VALUES (?, ?, ?)`, tenantID, run, idx); err != nil {
			return internal("record access", err)
		}
	}
	return nil
}

// accessQuery returns the query of a page of the access log and its
// arguments: through access_runs for a run (each index found by the
// run), else through access_log (by its actor index for a key).
func accessQuery(tenantID string, f auditshot.AccessFilter, before int64, limit int) (string, []any) {
	const cols = `SELECT e.idx, e.entry, e.leaf_hash FROM `
	join := ` JOIN ledger_entries e ON e.tenant_id = x.tenant_id AND e.idx = x.idx`
	if f.RunID != "" {
		q := cols + `access_runs x` + join
		args := []any{}
		if f.Actor != "" {
			q += ` JOIN access_log a ON a.tenant_id = x.tenant_id AND a.idx = x.idx AND a.actor = ?`
			args = append(args, f.Actor)
		}
		q += ` WHERE x.tenant_id = ? AND x.run_id = ? AND x.idx < ? ORDER BY x.idx DESC LIMIT ?`
		return q, append(args, tenantID, f.RunID, before, limit)
	}
	if f.Actor != "" {
		return cols + `access_log x` + join + ` WHERE x.tenant_id = ? AND x.actor = ? AND x.idx < ? ORDER BY x.idx DESC LIMIT ?`,
			[]any{tenantID, f.Actor, before, limit}
	}
	return cols + `access_log x` + join + ` WHERE x.tenant_id = ? AND x.idx < ? ORDER BY x.idx DESC LIMIT ?`,
		[]any{tenantID, before, limit}
}

// ListAccess returns the tenant's evidence.viewed and export.created
// entries that match f, newest first, at most f.Limit (DefaultListLimit if
// 0 or less, at most MaxListLimit). An export's What is "export" and its
// SHA256 the bundle's; an export is about the runs it selected by id.
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
	q, args := accessQuery(tenantID, f, before, limit)
	rows, err := db.rdb.QueryContext(ctx, q, args...)
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
