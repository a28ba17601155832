package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"

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

// runDecoder remembers the agents and labels it has decoded by their
// JSON, so that each is decoded once: runs mostly share them. Its agents
// are the DB's (an Agent is a value, safe to share); its labels are a
// page's, and each run gets a copy of them.
type runDecoder struct {
	agents *agentCache
	labels map[string]map[string]string
}

// agentCache holds decoded agents by their JSON, at most maxAgentCache.
type agentCache struct {
	mu sync.Mutex
	m  map[string]auditshot.Agent
}

// maxAgentCache bounds the agents a DB keeps decoded; when full it starts
// again.
const maxAgentCache = 4096

func (c *agentCache) get(js string) (auditshot.Agent, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.m[js]
	return a, ok
}

func (c *agentCache) put(js string, a auditshot.Agent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxAgentCache || c.m == nil {
		c.m = map[string]auditshot.Agent{}
	}
	c.m[js] = a
}

func (d *runDecoder) agent(js string) (auditshot.Agent, bool) {
	if d == nil {
		return auditshot.Agent{}, false
	}
	return d.agents.get(js)
}

func (d *runDecoder) label(js string) (map[string]string, bool) {
	if d == nil {
		return nil, false
	}
	l, ok := d.labels[js]
	return l, ok
}

func (db *DB) newRunDecoder() *runDecoder {
	return &runDecoder{agents: &db.agents, labels: map[string]map[string]string{}}
}

// scanRun reads a row of runColumns, decoding through dec if not nil.
func scanRun(s scanner, dec *runDecoder) (*auditshot.Run, error) {
	var (
		r             auditshot.Run
		agent, labels string
		started       int64
		ended, finIdx sql.NullInt64
		finLeaf       sql.NullString
	)
	if err := s.Scan(&r.TenantID, &r.ID, &r.Workflow, &agent, &r.Principal, &r.Subject, &labels, &r.Status,
		&started, &ended, &r.Started.Index, &r.Started.LeafHash, &finIdx, &finLeaf); err != nil {
		return nil, err
	}
	if a, ok := dec.agent(agent); ok {
		r.Agent = a
	} else {
		if err := json.Unmarshal([]byte(agent), &r.Agent); err != nil {
			return nil, fmt.Errorf("decode agent: %w", err)
		}
		if dec != nil {
			dec.agents.put(agent, r.Agent)
		}
	}
	if l, ok := dec.label(labels); ok {
		r.Labels = maps.Clone(l) // a run's labels are its own to change
	} else {
		if err := json.Unmarshal([]byte(labels), &r.Labels); err != nil {
			return nil, fmt.Errorf("decode labels: %w", err)
		}
		if dec != nil {
			dec.labels[labels] = maps.Clone(r.Labels)
		}
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
	r, err := scanRun(q.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE tenant_id = ? AND id = ?`, tenantID, id), nil)
	if errNotFound(err) {
		return nil, auditshot.Errorf(auditshot.ENOTFOUND, "run %q not found", id)
	}
	if err != nil {
		return nil, internal("find run", err)
	}
	return r, nil
}

// ListRuns returns a page of the tenant's runs in f.Sort's order (newest
// first by default; ties broken by id) that match f, and the cursor of the
// next page ("" at the end). f.Text matches a run whose workflow or
// subject, or any of whose events' name or data, contains it, ignoring
// case: through a trigram index for 3 or more characters (first indexing
// the writes not indexed yet; see IndexRunText), by checking runs in
// order for fewer, or when many runs match; a page that checks runs checks
// 5,000 at most, so it may hold fewer runs than the limit, even none, and
// still have a next page. Returns EINVALID for an unknown sort, a text
// longer than MaxListText bytes, a negative limit, and a malformed cursor
// or one made with another filter or sort.
func (db *DB) ListRuns(ctx context.Context, tenantID string, f auditshot.RunFilter) ([]*auditshot.Run, string, error) {
	q, err := listRunsQuery(tenantID, f, db.textPlanner(ctx, tenantID))
	if err != nil {
		return nil, "", err
	}
	return db.page(ctx, tenantID, q)
}

// ListRunsSQL returns the SQL statement and arguments ListRuns runs for f
// (for a text filter, after indexing pending text), so that a benchmark
// can time the bare query beside ListRuns.
func (db *DB) ListRunsSQL(ctx context.Context, tenantID string, f auditshot.RunFilter) (string, []any, error) {
	q, err := listRunsQuery(tenantID, f, db.textPlanner(ctx, tenantID))
	if err != nil {
		return "", nil, err
	}
	return q.sql, q.args, nil
}

// ExplainListRuns returns SQLite's plan (EXPLAIN QUERY PLAN, one line per
// step) of the query ListRuns runs for f, to check which indexes it uses.
func (db *DB) ExplainListRuns(ctx context.Context, tenantID string, f auditshot.RunFilter) ([]string, error) {
	query, args, err := db.ListRunsSQL(ctx, tenantID, f)
	if err != nil {
		return nil, err
	}
	rows, err := db.rdb.QueryContext(ctx, `EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		return nil, internal("explain list runs", err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, internal("explain list runs", err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("explain list runs", err)
	}
	return plan, nil
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
