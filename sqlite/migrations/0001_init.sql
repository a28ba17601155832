-- Tenants, keys, runs, events, artifacts and the ledger.
-- Times are Unix nanoseconds (UTC); JSON columns hold encoding/json text.

CREATE TABLE tenants (
	id             TEXT PRIMARY KEY,
	name           TEXT NOT NULL,
	plan           TEXT NOT NULL,
	retention_days INTEGER NOT NULL DEFAULT 0,
	egress         TEXT NOT NULL,
	allow_scripts  INTEGER NOT NULL DEFAULT 0,
	created_at     INTEGER NOT NULL
);

CREATE TABLE api_keys (
	id          TEXT PRIMARY KEY,
	tenant_id   TEXT NOT NULL REFERENCES tenants(id),
	name        TEXT NOT NULL,
	scopes      TEXT NOT NULL,
	secret_hash TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	revoked_at  INTEGER
);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id);

CREATE TABLE artifacts (
	tenant_id  TEXT NOT NULL REFERENCES tenants(id),
	sha256     TEXT NOT NULL,
	size       INTEGER NOT NULL,
	media_type TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, sha256)
) WITHOUT ROWID;

CREATE TABLE runs (
	tenant_id     TEXT NOT NULL REFERENCES tenants(id),
	id            TEXT NOT NULL,
	workflow      TEXT NOT NULL,
	agent         TEXT NOT NULL,
	agent_id      TEXT NOT NULL,
	principal     TEXT NOT NULL,
	subject       TEXT NOT NULL,
	labels        TEXT NOT NULL,
	status        TEXT NOT NULL,
	started_at    INTEGER NOT NULL,
	ended_at      INTEGER,
	started_idx   INTEGER NOT NULL,
	started_leaf  TEXT NOT NULL,
	finished_idx  INTEGER,
	finished_leaf TEXT,
	PRIMARY KEY (tenant_id, id)
);
CREATE INDEX runs_started ON runs(tenant_id, started_at DESC, id DESC);

CREATE TABLE events (
	tenant_id   TEXT NOT NULL,
	run_id      TEXT NOT NULL,
	id          TEXT NOT NULL,
	type        TEXT NOT NULL,
	name        TEXT NOT NULL,
	data        BLOB,
	reasoning   TEXT NOT NULL,
	artifacts   TEXT NOT NULL,
	time        INTEGER NOT NULL,
	client_time INTEGER,
	ledger_idx  INTEGER NOT NULL,
	leaf_hash   TEXT NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, run_id) REFERENCES runs(tenant_id, id)
);
CREATE INDEX events_run ON events(tenant_id, run_id, ledger_idx);

-- The ledger: one log per tenant. Entries are the bytes ledger.Marshal
-- produced; hashes are tlog's stored hashes. Both are append-only.
CREATE TABLE ledger_entries (
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	idx       INTEGER NOT NULL,
	entry     BLOB NOT NULL,
	leaf_hash BLOB NOT NULL,
	PRIMARY KEY (tenant_id, idx)
) WITHOUT ROWID;

CREATE TABLE ledger_hashes (
	tenant_id TEXT NOT NULL,
	id        INTEGER NOT NULL,
	hash      BLOB NOT NULL,
	PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;

CREATE TABLE ledger_checkpoints (
	tenant_id  TEXT NOT NULL REFERENCES tenants(id),
	size       INTEGER NOT NULL,
	root_hash  BLOB NOT NULL,
	note       BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, size)
) WITHOUT ROWID;

CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable'); END;
CREATE TRIGGER ledger_entries_append_only BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER ledger_hashes_immutable BEFORE UPDATE ON ledger_hashes
BEGIN SELECT RAISE(ABORT, 'ledger hashes are immutable'); END;
CREATE TRIGGER ledger_hashes_append_only BEFORE DELETE ON ledger_hashes
BEGIN SELECT RAISE(ABORT, 'ledger hashes are append-only'); END;
