-- The access log (AccessLog.ListAccess) in tables of its own, written in
-- the transaction of each evidence.viewed and export.created entry:
-- access_log has a row per such entry with the key that made it, and
-- access_runs a row per run the entry is about (the run viewed, or each run
-- an export selected by id). ListAccess pages through them by ledger index
-- and reads the entries themselves from ledger_entries. They replace the
-- partial index ledger_access (0008), which every append had to evaluate
-- and which could not find a run's or a key's entries without reading all.
CREATE TABLE access_log (
	tenant_id TEXT NOT NULL,
	idx       INTEGER NOT NULL,
	actor     TEXT NOT NULL,
	PRIMARY KEY (tenant_id, idx)
) WITHOUT ROWID;
CREATE INDEX access_log_actor ON access_log(tenant_id, actor, idx);
CREATE TABLE access_runs (
	tenant_id TEXT NOT NULL,
	run_id    TEXT NOT NULL,
	idx       INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, run_id, idx)
) WITHOUT ROWID;

-- The entries written before this migration.
INSERT INTO access_log (tenant_id, idx, actor)
	SELECT tenant_id, idx, COALESCE(json_extract(CAST(entry AS TEXT), '$.actor'), '')
	FROM ledger_entries INDEXED BY ledger_access
	WHERE json_extract(CAST(entry AS TEXT), '$.type') IN ('evidence.viewed', 'export.created');
INSERT OR IGNORE INTO access_runs (tenant_id, run_id, idx)
	SELECT e.tenant_id, json_extract(CAST(e.entry AS TEXT), '$.ids.run_id'), e.idx
	FROM access_log a JOIN ledger_entries e ON e.tenant_id = a.tenant_id AND e.idx = a.idx
	WHERE json_extract(CAST(e.entry AS TEXT), '$.ids.run_id') IS NOT NULL;
INSERT OR IGNORE INTO access_runs (tenant_id, run_id, idx)
	SELECT e.tenant_id, r.value, e.idx
	FROM access_log a JOIN ledger_entries e ON e.tenant_id = a.tenant_id AND e.idx = a.idx,
		json_each(CAST(e.entry AS TEXT), '$.data.selection.runs') r
	WHERE json_extract(CAST(e.entry AS TEXT), '$.type') = 'export.created';
DROP INDEX ledger_access;
