package sqlite

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
)

var _ auditshot.CaptureStore = (*DB)(nil)

// validPHash matches a perceptual hash: 16 lowercase hex digits.
var validPHash = regexp.MustCompile(`^[0-9a-f]{16}$`)

// RecordCapture implements auditshot.CaptureStore.
func (db *DB) RecordCapture(ctx context.Context, c *auditshot.Capture) error {
	switch {
	case c.ID != "" && !validID.MatchString(c.ID):
		return auditshot.Errorf(auditshot.EINVALID, "capture id must be 1 to 64 characters of [a-z0-9_-]")
	case len(c.Name) > 256 || len(c.Role) > 64:
		return auditshot.Errorf(auditshot.EINVALID, "capture name must be at most 256 bytes and role 64")
	case len(c.Artifacts) == 0:
		return auditshot.Errorf(auditshot.EINVALID, "a capture needs at least its image or PDF")
	case c.Role != "" && c.RunID == "":
		return auditshot.Errorf(auditshot.EINVALID, "role needs a run_id")
	case len(c.Kind) > 32 || len(c.Outcome) > 32:
		return auditshot.Errorf(auditshot.EINVALID, "capture kind and outcome must be at most 32 bytes")
	case c.PHash != "" && !validPHash.MatchString(c.PHash):
		return auditshot.Errorf(auditshot.EINVALID, "phash must be 16 lowercase hex digits")
	}
	rec := *c
	rec.Artifacts = slices.Clone(c.Artifacts)
	if rec.ID == "" {
		rec.ID = randomID()
	}
	err := db.write(ctx, func(tx *batchTx) error {
		if err := tx.requireTenant(rec.TenantID); err != nil {
			return err
		}
		ids := map[string]string{ledger.IDCapture: rec.ID}
		var runID any
		if rec.RunID != "" {
			r, err := findRun(context.Background(), tx, rec.TenantID, rec.RunID)
			if err != nil {
				return err
			}
			if r.Status != auditshot.RunRunning {
				return auditshot.Errorf(auditshot.ECONFLICT, "run %q has finished", rec.RunID)
			}
			ids[ledger.IDRun], runID = rec.RunID, rec.RunID
		}
		refs := make([]ledger.Artifact, len(rec.Artifacts))
		for i, a := range rec.Artifacts {
			stored, err := tx.findArtifact(rec.TenantID, a.SHA256)
			if auditshot.ErrorCode(err) == auditshot.ENOTFOUND {
				// A complete artifact is recorded here, in the capture's
				// transaction: its blob is durable (the caller's promise).
				if !validSHA256.MatchString(a.SHA256) || a.Size < 0 || a.MediaType == "" || len(a.MediaType) > 256 {
					return auditshot.Errorf(auditshot.EINVALID, "artifact %d (%s) is not recorded, and not given whole (sha256, size, media type)", i, a.SHA256)
				}
				if err := tx.insertArtifact(rec.TenantID, a.Artifact); err != nil {
					return err
				}
				stored, err = a.Artifact, nil
			}
			if err != nil {
				return err
			}
			rec.Artifacts[i].Artifact = stored
			refs[i] = ledger.Artifact{SHA256: stored.SHA256, Size: stored.Size, MediaType: stored.MediaType, Role: a.Role}
		}
		data, _ := json.Marshal(captureData{Name: rec.Name, Role: rec.Role, URL: rec.URL, FinalURL: rec.FinalURL,
			Status: rec.Status, Title: rec.Title, BestAttempt: rec.BestAttempt, Blank: rec.Blank, Diff: rec.Diff,
			Kind: rec.Kind, Outcome: rec.Outcome})
		rec.Time = tx.now.UTC()
		ref, err := tx.append(rec.TenantID, ledger.Entry{Type: ledger.TypeCaptureCompleted, IDs: ids, Time: rec.Time,
			Artifacts: refs, Data: data})
		if err != nil {
			return err
		}
		rec.Ledger = ref
		arts, _ := json.Marshal(rec.Artifacts)
		var diff any
		if rec.Diff != nil {
			b, _ := json.Marshal(rec.Diff)
			diff = string(b)
		}
		_, err = tx.exec(`INSERT INTO captures (tenant_id, id, run_id, role, name, url, final_url, status, title, best_attempt, blank, artifacts, time, ledger_idx, leaf_hash, phash, diff, kind, outcome)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			rec.TenantID, rec.ID, runID, rec.Role, rec.Name, rec.URL, rec.FinalURL, rec.Status, rec.Title, rec.BestAttempt, rec.Blank,
			arts, unixNano(rec.Time), ref.Index, ref.LeafHash, rec.PHash, diff, rec.Kind, rec.Outcome)
		if isConstraint(err) {
			return auditshot.Errorf(auditshot.ECONFLICT, "capture %q already exists", rec.ID)
		}
		if err != nil {
			return internal("record capture", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	*c = rec
	return nil
}

// captureData is the payload of a capture.completed entry.
type captureData struct {
	Name        string                 `json:"name,omitempty"`
	Role        string                 `json:"role,omitempty"`
	URL         string                 `json:"url,omitempty"`
	FinalURL    string                 `json:"final_url,omitempty"`
	Status      int                    `json:"status,omitempty"`
	Title       string                 `json:"title,omitempty"`
	BestAttempt bool                   `json:"best_attempt,omitempty"`
	Blank       bool                   `json:"blank,omitempty"`
	Diff        *auditshot.DiffSummary `json:"diff,omitempty"`
	Kind        string                 `json:"kind,omitempty"`
	Outcome     string                 `json:"outcome,omitempty"`
}

// captureColumns are the columns scanCapture reads.
const captureColumns = `id, run_id, role, name, url, final_url, status, title, best_attempt, blank, artifacts, time, ledger_idx, leaf_hash, phash, diff, kind, outcome`

func scanCapture(s scanner, tenantID string) (*auditshot.Capture, error) {
	c := auditshot.Capture{TenantID: tenantID}
	var runID *string
	var arts []byte
	var diff *string
	var t int64
	if err := s.Scan(&c.ID, &runID, &c.Role, &c.Name, &c.URL, &c.FinalURL, &c.Status, &c.Title,
		&c.BestAttempt, &c.Blank, &arts, &t, &c.Ledger.Index, &c.Ledger.LeafHash, &c.PHash, &diff, &c.Kind, &c.Outcome); err != nil {
		return nil, err
	}
	if diff != nil {
		c.Diff = &auditshot.DiffSummary{}
		if err := json.Unmarshal([]byte(*diff), c.Diff); err != nil {
			return nil, err
		}
	}
	if runID != nil {
		c.RunID = *runID
	}
	c.Time = fromUnixNano(t)
	if err := json.Unmarshal(arts, &c.Artifacts); err != nil {
		return nil, err
	}
	return &c, nil
}

// FindCapture implements auditshot.CaptureStore.
func (db *DB) FindCapture(ctx context.Context, tenantID, id string) (*auditshot.Capture, error) {
	c, err := scanCapture(db.rdb.QueryRowContext(ctx, `SELECT `+captureColumns+` FROM captures WHERE tenant_id = ? AND id = ?`, tenantID, id), tenantID)
	if errNotFound(err) {
		return nil, auditshot.Errorf(auditshot.ENOTFOUND, "capture %q not found", id)
	}
	if err != nil {
		return nil, internal("find capture", err)
	}
	return c, nil
}

// ListCaptures implements auditshot.CaptureStore.
func (db *DB) ListCaptures(ctx context.Context, tenantID, runID string) ([]*auditshot.Capture, error) {
	if _, err := findRun(ctx, db.rdb, tenantID, runID); err != nil {
		return nil, err
	}
	rows, err := db.rdb.QueryContext(ctx, `SELECT `+captureColumns+` FROM captures WHERE tenant_id = ? AND run_id = ? ORDER BY ledger_idx`, tenantID, runID)
	if err != nil {
		return nil, internal("list captures", err)
	}
	defer rows.Close()
	var out []*auditshot.Capture
	for rows.Next() {
		c, err := scanCapture(rows, tenantID)
		if err != nil {
			return nil, internal("list captures", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("list captures", err)
	}
	return out, nil
}

// SetCapturePHash implements auditshot.CaptureStore. It changes no ledger
// entry: the hash is derived from the image an entry commits to.
func (db *DB) SetCapturePHash(ctx context.Context, tenantID, captureID, phash string) error {
	if !validPHash.MatchString(phash) {
		return auditshot.Errorf(auditshot.EINVALID, "phash must be 16 lowercase hex digits")
	}
	return db.write(ctx, func(tx *batchTx) error {
		res, err := tx.exec(`UPDATE captures SET phash = ? WHERE tenant_id = ? AND id = ?`, phash, tenantID, captureID)
		if err != nil {
			return internal("set capture phash", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return auditshot.Errorf(auditshot.ENOTFOUND, "capture %q not found", captureID)
		}
		return nil
	})
}
