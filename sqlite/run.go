package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
)

var _ auditshot.RunService = (*DB)(nil)

// Limits of ListRuns.
const (
	// DefaultListLimit is the page size of ListRuns when the filter sets none.
	DefaultListLimit = 50
	// MaxListLimit is the largest page ListRuns returns.
	MaxListLimit = 1000
)

// CreateRun starts a run: it stores the run and its run.started entry in
// one transaction and sets r's ID (if empty), Status, StartedAt and
// Started. Returns EINVALID for a missing workflow or a bad id, ENOTFOUND
// for an unknown tenant and ECONFLICT if the tenant already has a run with
// r's ID.
func (db *DB) CreateRun(ctx context.Context, r *auditshot.Run) error {
	switch {
	case r.Workflow == "" || len(r.Workflow) > 256:
		return auditshot.Errorf(auditshot.EINVALID, "workflow must be 1 to 256 bytes")
	case r.ID != "" && !validID.MatchString(r.ID):
		return auditshot.Errorf(auditshot.EINVALID, "run id must be 1 to 64 characters of [a-z0-9_-]")
	}
	run := *r
	if run.ID == "" {
		run.ID = randomID()
	}
	run.Status = auditshot.RunRunning
	run.EndedAt, run.Finished = nil, nil
	agent, _ := json.Marshal(run.Agent)
	labels, _ := json.Marshal(run.Labels)
	err := db.write(ctx, func(tx *batchTx) error {
		if err := tx.requireTenant(run.TenantID); err != nil {
			return err
		}
		run.StartedAt = tx.now.UTC()
		data, _ := json.Marshal(map[string]any{"workflow": run.Workflow, "principal": run.Principal,
			"subject": run.Subject, "labels": run.Labels})
		ref, err := tx.append(run.TenantID, ledger.Entry{Type: ledger.TypeRunStarted,
			IDs: map[string]string{ledger.IDRun: run.ID}, Agent: ledgerAgent(run.Agent), Data: data})
		if err != nil {
			return err
		}
		run.Started = ref
		_, err = tx.exec(`INSERT INTO runs (tenant_id, id, workflow, agent, agent_id, principal, subject, labels,
			status, started_at, started_idx, started_leaf) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			run.TenantID, run.ID, run.Workflow, agent, run.Agent.ID, run.Principal, run.Subject, labels,
			run.Status, unixNano(run.StartedAt), ref.Index, ref.LeafHash)
		if isConstraint(err) {
			return auditshot.Errorf(auditshot.ECONFLICT, "run %q already exists", run.ID)
		}
		if err != nil {
			return internal("create run", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	*r = run
	return nil
}

func ledgerAgent(a auditshot.Agent) *ledger.Agent {
	return &ledger.Agent{ID: a.ID, Name: a.Name, Model: a.Model, Version: a.Version, CodeRef: a.CodeRef}
}

const runColumns = `tenant_id, id, workflow, agent, principal, subject, labels, status, started_at, ended_at,
	started_idx, started_leaf, finished_idx, finished_leaf`

type scanner interface{ Scan(dest ...any) error }

func scanRun(s scanner) (*auditshot.Run, error) {
	var (
		r             auditshot.Run
		agent, labels []byte
		started       int64
		ended, finIdx sql.NullInt64
		finLeaf       sql.NullString
	)
	if err := s.Scan(&r.TenantID, &r.ID, &r.Workflow, &agent, &r.Principal, &r.Subject, &labels, &r.Status,
		&started, &ended, &r.Started.Index, &r.Started.LeafHash, &finIdx, &finLeaf); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(agent, &r.Agent); err != nil {
		return nil, fmt.Errorf("decode agent: %w", err)
	}
	if err := json.Unmarshal(labels, &r.Labels); err != nil {
		return nil, fmt.Errorf("decode labels: %w", err)
	}
	r.StartedAt = fromUnixNano(started)
	if ended.Valid {
		t := fromUnixNano(ended.Int64)
		r.EndedAt = &t
	}
	if finIdx.Valid {
		r.Finished = &auditshot.LedgerRef{Index: finIdx.Int64, LeafHash: finLeaf.String}
	}
	return &r, nil
}

// FindRun returns a run of the tenant. Returns ENOTFOUND if the tenant has
// no such run, whether or not another tenant has.
func (db *DB) FindRun(ctx context.Context, tenantID, id string) (*auditshot.Run, error) {
	return findRun(ctx, db.rdb, tenantID, id)
}

func findRun(ctx context.Context, q querier, tenantID, id string) (*auditshot.Run, error) {
	r, err := scanRun(q.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if errNotFound(err) {
		return nil, auditshot.Errorf(auditshot.ENOTFOUND, "run %q not found", id)
	}
	if err != nil {
		return nil, internal("find run", err)
	}
	return r, nil
}

// ListRuns returns a page of the tenant's runs, newest first (by start
// time, then id), and the cursor of the next page ("" at the end). Returns
// EINVALID for a malformed cursor or a negative limit.
func (db *DB) ListRuns(ctx context.Context, tenantID string, f auditshot.RunFilter) ([]*auditshot.Run, string, error) {
	limit := f.Limit
	switch {
	case limit < 0:
		return nil, "", auditshot.Errorf(auditshot.EINVALID, "limit must not be negative")
	case limit == 0:
		limit = DefaultListLimit
	case limit > MaxListLimit:
		limit = MaxListLimit
	}
	where := []string{"tenant_id = ?"}
	args := []any{tenantID}
	add := func(cond string, v ...any) { where = append(where, cond); args = append(args, v...) }
	if f.Workflow != "" {
		add("workflow = ?", f.Workflow)
	}
	if f.AgentID != "" {
		add("agent_id = ?", f.AgentID)
	}
	if f.Status != "" {
		add("status = ?", string(f.Status))
	}
	if f.Subject != "" {
		add("subject = ?", f.Subject)
	}
	if !f.From.IsZero() {
		add("started_at >= ?", unixNano(f.From))
	}
	if !f.To.IsZero() {
		add("started_at < ?", unixNano(f.To))
	}
	if f.Cursor != "" {
		at, id, err := parseCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		add("(started_at < ? OR (started_at = ? AND id < ?))", at, at, id)
	}
	rows, err := db.rdb.QueryContext(ctx, `SELECT `+runColumns+` FROM runs WHERE `+strings.Join(where, " AND ")+
		` ORDER BY started_at DESC, id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", internal("list runs", err)
	}
	defer rows.Close()
	var runs []*auditshot.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, "", internal("list runs", err)
		}
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", internal("list runs", err)
	}
	next := ""
	if len(runs) > limit {
		runs = runs[:limit]
		last := runs[limit-1]
		next = formatCursor(unixNano(last.StartedAt), last.ID)
	}
	return runs, next, nil
}

// A cursor is the start time and id of the last run of a page.
func formatCursor(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + "/" + id))
}

func parseCursor(c string) (int64, string, error) {
	bad := auditshot.Errorf(auditshot.EINVALID, "malformed cursor")
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", bad
	}
	at, id, ok := strings.Cut(string(b), "/")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || id == "" {
		return 0, "", bad
	}
	return n, id, nil
}

// FinishRun ends a run with status (succeeded, failed or cancelled) and
// records a run.finished entry in the same transaction. Returns EINVALID
// for another status, ENOTFOUND if the tenant has no such run and
// ECONFLICT if it has already finished.
func (db *DB) FinishRun(ctx context.Context, tenantID, runID string, status auditshot.RunStatus) (*auditshot.Run, error) {
	switch status {
	case auditshot.RunSucceeded, auditshot.RunFailed, auditshot.RunCancelled:
	default:
		return nil, auditshot.Errorf(auditshot.EINVALID, "status must be succeeded, failed or cancelled")
	}
	var run *auditshot.Run
	err := db.write(ctx, func(tx *batchTx) error {
		r, err := findRun(context.Background(), tx, tenantID, runID)
		if err != nil {
			return err
		}
		if r.Status != auditshot.RunRunning {
			return auditshot.Errorf(auditshot.ECONFLICT, "run %q has already finished", runID)
		}
		data, _ := json.Marshal(map[string]string{"status": string(status)})
		ref, err := tx.append(tenantID, ledger.Entry{Type: ledger.TypeRunFinished,
			IDs: map[string]string{ledger.IDRun: runID}, Agent: ledgerAgent(r.Agent), Data: data})
		if err != nil {
			return err
		}
		ended := tx.now.UTC()
		if _, err := tx.exec(`UPDATE runs SET status = ?, ended_at = ?, finished_idx = ?, finished_leaf = ?
			WHERE tenant_id = ? AND id = ?`, status, unixNano(ended), ref.Index, ref.LeafHash, tenantID, runID); err != nil {
			return internal("finish run", err)
		}
		r.Status, r.EndedAt, r.Finished = status, &ended, &ref
		run = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return run, nil
}

// RunEntries returns the ledger references of every entry of the run in
// log order: its run.started entry, its run.event entries, the
// capture.completed entries of captures recorded with its id, and its
// run.finished entry. Returns ENOTFOUND if the tenant has no such run.
func (db *DB) RunEntries(ctx context.Context, tenantID, runID string) ([]auditshot.LedgerRef, error) {
	run, err := db.FindRun(ctx, tenantID, runID)
	if err != nil {
		return nil, err
	}
	out := []auditshot.LedgerRef{run.Started}
	if run.Finished != nil {
		out = append(out, *run.Finished)
	}
	rows, err := db.rdb.QueryContext(ctx, `SELECT ledger_idx, leaf_hash FROM events WHERE tenant_id = ? AND run_id = ?
		UNION ALL SELECT ledger_idx, leaf_hash FROM captures WHERE tenant_id = ? AND run_id = ?`, tenantID, runID, tenantID, runID)
	if err != nil {
		return nil, internal("list run entries", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ref auditshot.LedgerRef
		if err := rows.Scan(&ref.Index, &ref.LeafHash); err != nil {
			return nil, internal("list run entries", err)
		}
		out = append(out, ref)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("list run entries", err)
	}
	slices.SortFunc(out, func(a, b auditshot.LedgerRef) int { return cmp.Compare(a.Index, b.Index) })
	return out, nil
}
