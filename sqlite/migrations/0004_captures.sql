-- Captures: screenshots and PDFs with their artifacts and ledger entry.
CREATE TABLE captures (
	tenant_id    TEXT NOT NULL REFERENCES tenants(id),
	id           TEXT NOT NULL,
	run_id       TEXT,
	role         TEXT NOT NULL,
	name         TEXT NOT NULL,
	url          TEXT NOT NULL,
	final_url    TEXT NOT NULL,
	status       INTEGER NOT NULL,
	title        TEXT NOT NULL,
	best_attempt INTEGER NOT NULL,
	blank        INTEGER NOT NULL,
	artifacts    TEXT NOT NULL,
	time         INTEGER NOT NULL,
	ledger_idx   INTEGER NOT NULL,
	leaf_hash    TEXT NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, run_id) REFERENCES runs(tenant_id, id)
);
CREATE INDEX captures_run ON captures(tenant_id, run_id, ledger_idx);
