package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"regexp"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
)

// validSHA256 matches 64 lowercase hex digits.
var validSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// PutArtifact records the metadata of an artifact of the tenant, so that
// events may refer to it. The content itself lives in a BlobStore, and
// MUST be durable there before PutArtifact is called. Putting the same
// artifact again changes nothing. Returns EINVALID for a bad hash, size or
// media type, ENOTFOUND for an unknown tenant and ECONFLICT if the hash is
// already recorded with another size or media type.
func (db *DB) PutArtifact(ctx context.Context, tenantID string, a auditshot.Artifact) error {
	switch {
	case !validSHA256.MatchString(a.SHA256):
		return auditshot.Errorf(auditshot.EINVALID, "artifact sha256 must be 64 lowercase hex digits")
	case a.Size < 0:
		return auditshot.Errorf(auditshot.EINVALID, "artifact size must not be negative")
	case a.MediaType == "" || len(a.MediaType) > 256:
		return auditshot.Errorf(auditshot.EINVALID, "artifact media type must be 1 to 256 bytes")
	}
	return db.write(ctx, func(tx *batchTx) error {
		if err := tx.requireTenant(tenantID); err != nil {
			return err
		}
		old, err := tx.findArtifact(tenantID, a.SHA256)
		if err == nil {
			if old.Size != a.Size || old.MediaType != a.MediaType {
				return auditshot.Errorf(auditshot.ECONFLICT, "artifact %s is recorded with another size or media type", a.SHA256)
			}
			return nil
		}
		if auditshot.ErrorCode(err) != auditshot.ENOTFOUND {
			return err
		}
		return tx.insertArtifact(tenantID, a)
	})
}

// insertArtifact records an artifact the tenant does not have yet.
func (tx *batchTx) insertArtifact(tenantID string, a auditshot.Artifact) error {
	created := a.CreatedAt
	if created.IsZero() {
		created = tx.now
	}
	if _, err := tx.exec(`INSERT INTO artifacts (tenant_id, sha256, size, media_type, created_at) VALUES (?, ?, ?, ?, ?)`,
		tenantID, a.SHA256, a.Size, a.MediaType, unixNano(created)); err != nil {
		return internal("put artifact", err)
	}
	return nil
}

func (tx *batchTx) findArtifact(tenantID, sha string) (auditshot.Artifact, error) {
	a := auditshot.Artifact{SHA256: sha}
	var created int64
	err := tx.queryRow(`SELECT size, media_type, created_at FROM artifacts WHERE tenant_id = ? AND sha256 = ?`,
		tenantID, sha).Scan(&a.Size, &a.MediaType, &created)
	if errNotFound(err) {
		return a, auditshot.Errorf(auditshot.ENOTFOUND, "artifact %s not found", sha)
	}
	if err != nil {
		return a, internal("find artifact", err)
	}
	a.CreatedAt = fromUnixNano(created)
	return a, nil
}

func validEventType(t auditshot.EventType) bool {
	switch t {
	case auditshot.EventAction, auditshot.EventDecision, auditshot.EventApproval, auditshot.EventNote, auditshot.EventError:
		return true
	}
	return false
}

// AddEvent records an event of a running run and its run.event entry, which
// carries the SHA-256, size, media type and role of every artifact, in one
// transaction. It sets e's ID (if empty), Time, Ledger, and the size and
// media type of its artifacts. Returns ENOTFOUND if the tenant has no such
// run, ECONFLICT if the run has finished, and EINVALID for an unknown type,
// a missing name, data that is not valid JSON, or an artifact whose
// metadata was not recorded with PutArtifact (or differs from it).
func (db *DB) AddEvent(ctx context.Context, e *auditshot.Event) error {
	switch {
	case !validEventType(e.Type):
		return auditshot.Errorf(auditshot.EINVALID, "unknown event type %q", e.Type)
	case e.Name == "" || len(e.Name) > 256:
		return auditshot.Errorf(auditshot.EINVALID, "event name must be 1 to 256 bytes")
	case len(e.Data) > 0 && !json.Valid(e.Data):
		return auditshot.Errorf(auditshot.EINVALID, "event data is not valid JSON")
	case e.ID != "" && !validID.MatchString(e.ID):
		return auditshot.Errorf(auditshot.EINVALID, "event id must be 1 to 64 characters of [a-z0-9_-]")
	}
	ev := *e
	if ev.ID == "" {
		ev.ID = randomID()
	}
	// The entry's payload needs no transaction: encode it here, in the
	// caller's goroutine, rather than in the sequencer's.
	data, err := eventPayload(&ev)
	if err != nil {
		return err
	}
	err = db.send(&request{ctx: ctx, done: make(chan error, 1), eventOnly: true, fn: func(tx *batchTx) error {
		return tx.addEvent(&ev, data)
	}})
	if err != nil {
		return err
	}
	*e = ev
	return nil
}

// eventPayload returns the data of ev's run.event entry.
func eventPayload(ev *auditshot.Event) (json.RawMessage, error) {
	payload := map[string]any{"type": ev.Type, "name": ev.Name}
	if len(ev.Data) > 0 {
		payload["data"] = json.RawMessage(ev.Data)
	}
	if ev.Reasoning != "" {
		payload["reasoning"] = ev.Reasoning
	}
	data, err := json.Marshal(payload)
	if err != nil {
		return nil, auditshot.Errorf(auditshot.EINVALID, "event data: %v", err)
	}
	return data, nil
}

// eventRun returns the run of an event, from the batch's cache if an
// earlier AddEvent of the batch read it.
func (tx *batchTx) eventRun(tenantID, runID string) (*auditshot.Run, error) {
	k := runKey{tenantID, runID}
	if r, ok := tx.runs[k]; ok {
		return r, nil
	}
	r, err := findRun(context.Background(), tx, tenantID, runID)
	if err != nil {
		return nil, err
	}
	tx.runs[k] = r
	return r, nil
}

func (tx *batchTx) addEvent(ev *auditshot.Event, data json.RawMessage) error {
	r, err := tx.eventRun(ev.TenantID, ev.RunID)
	if err != nil {
		return err
	}
	if r.Status != auditshot.RunRunning {
		return auditshot.Errorf(auditshot.ECONFLICT, "run %q has finished", ev.RunID)
	}
	var arts []auditshot.ArtifactRef
	var refs []ledger.Artifact
	if len(ev.Artifacts) > 0 {
		arts = make([]auditshot.ArtifactRef, len(ev.Artifacts))
		refs = make([]ledger.Artifact, len(ev.Artifacts))
	}
	for i, a := range ev.Artifacts {
		stored, err := tx.findArtifact(ev.TenantID, a.SHA256)
		if auditshot.ErrorCode(err) == auditshot.ENOTFOUND {
			return auditshot.Errorf(auditshot.EINVALID, "artifact %d (%s) is not in the blob store", i, a.SHA256)
		}
		if err != nil {
			return err
		}
		if (a.Size != 0 && a.Size != stored.Size) || (a.MediaType != "" && a.MediaType != stored.MediaType) {
			return auditshot.Errorf(auditshot.EINVALID, "artifact %d (%s) differs from the stored artifact", i, a.SHA256)
		}
		arts[i] = auditshot.ArtifactRef{Artifact: stored, Role: a.Role}
		refs[i] = ledger.Artifact{SHA256: stored.SHA256, Size: stored.Size, MediaType: stored.MediaType, Role: a.Role}
	}
	entry := ledger.Entry{Type: ledger.TypeRunEvent, IDs: map[string]string{ledger.IDRun: ev.RunID, ledger.IDEvent: ev.ID},
		Agent: ledgerAgent(r.Agent), Artifacts: refs, Data: data}
	if ev.ClientTime != nil {
		entry.ClientTime = *ev.ClientTime
	}
	ref, err := tx.append(ev.TenantID, entry)
	if err != nil {
		return err
	}
	ev.Time, ev.Ledger = tx.now.UTC(), ref
	if arts != nil {
		ev.Artifacts = arts
	} else {
		ev.Artifacts = make([]auditshot.ArtifactRef, 0)
	}
	artsJSON := []byte("[]")
	if len(arts) > 0 {
		artsJSON, _ = json.Marshal(arts)
	}
	var client sql.NullInt64
	if ev.ClientTime != nil {
		client = sql.NullInt64{Int64: unixNano(*ev.ClientTime), Valid: true}
	}
	_, err = tx.exec(`INSERT INTO events (tenant_id, run_id, id, type, name, data, reasoning, artifacts, time,
		client_time, ledger_idx, leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.TenantID, ev.RunID, ev.ID, ev.Type, ev.Name, []byte(ev.Data), ev.Reasoning, artsJSON, unixNano(ev.Time),
		client, ref.Index, ref.LeafHash)
	if isConstraint(err) {
		return auditshot.Errorf(auditshot.ECONFLICT, "event %q already exists", ev.ID)
	}
	if err != nil {
		return internal("add event", err)
	}
	return nil
}

// ListEvents returns a run's events in ledger order. Returns ENOTFOUND if
// the tenant has no such run.
func (db *DB) ListEvents(ctx context.Context, tenantID, runID string) ([]*auditshot.Event, error) {
	if _, err := db.FindRun(ctx, tenantID, runID); err != nil {
		return nil, err
	}
	rows, err := db.rdb.QueryContext(ctx, `SELECT id, type, name, data, reasoning, artifacts, time, client_time,
		ledger_idx, leaf_hash FROM events WHERE tenant_id = ? AND run_id = ? ORDER BY ledger_idx`, tenantID, runID)
	if err != nil {
		return nil, internal("list events", err)
	}
	defer rows.Close()
	var out []*auditshot.Event
	for rows.Next() {
		e := &auditshot.Event{TenantID: tenantID, RunID: runID}
		var (
			data, arts []byte
			at         int64
			client     sql.NullInt64
		)
		if err := rows.Scan(&e.ID, &e.Type, &e.Name, &data, &e.Reasoning, &arts, &at, &client,
			&e.Ledger.Index, &e.Ledger.LeafHash); err != nil {
			return nil, internal("list events", err)
		}
		if len(data) > 0 {
			e.Data = json.RawMessage(data)
		}
		if err := json.Unmarshal(arts, &e.Artifacts); err != nil {
			return nil, internal("decode event artifacts", err)
		}
		if len(e.Artifacts) == 0 {
			e.Artifacts = nil
		}
		e.Time = fromUnixNano(at)
		if client.Valid {
			t := fromUnixNano(client.Int64)
			e.ClientTime = &t
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("list events", err)
	}
	return out, nil
}
