-- Run listing: an index per filter, each ordered as the time sorts need
-- (equality on the filter, then start time and id), so the first page of
-- any one filter under any sort reads the index in order. runs_started
-- (0001) serves the unfiltered time sorts and time ranges; runs_workflow and
-- runs_status also serve the workflow and status sorts.
CREATE INDEX runs_workflow ON runs(tenant_id, workflow, started_at DESC, id DESC);
CREATE INDEX runs_agent ON runs(tenant_id, agent_id, started_at DESC, id DESC);
CREATE INDEX runs_status ON runs(tenant_id, status, started_at DESC, id DESC);
CREATE INDEX runs_subject ON runs(tenant_id, subject, started_at DESC, id DESC);

-- The text RunFilter.Text searches: a run's workflow and subject, and each
-- event's name and data. run_text is a contentless trigram index over it
-- (substring queries of 3 or more characters, ignoring case), whose rowids
-- are those of run_text_rows, which names the run of each. Writes do not
-- index their text (FTS5 flushes its pending index at every savepoint, and
-- the sequencer gives every write one): DB.IndexRunText, in transactions of
-- its own, indexes the rows of runs and events after the rowids recorded
-- in run_text_state, in rowid order. Runs and events are never deleted, so
-- their rowids only grow.
CREATE TABLE run_text_rows (
	id          INTEGER PRIMARY KEY,
	tenant_id   TEXT NOT NULL,
	run_id      TEXT NOT NULL,
	event_rowid INTEGER
);
CREATE TABLE run_text_state (
	one    INTEGER PRIMARY KEY CHECK (one = 1),
	runs   INTEGER NOT NULL,
	events INTEGER NOT NULL
);
INSERT INTO run_text_state (one, runs, events) VALUES (1, 0, 0);
CREATE VIRTUAL TABLE run_text USING fts5(a, b, content='', tokenize='trigram');

-- The access log (AccessLog.ListAccess): the tenant's evidence.viewed and
-- export.created entries, found by type without a second copy of them.
-- The expression MUST stay identical to the one ListAccess queries with.
CREATE INDEX ledger_access ON ledger_entries(tenant_id, idx)
	WHERE json_extract(CAST(entry AS TEXT), '$.type') IN ('evidence.viewed', 'export.created');
