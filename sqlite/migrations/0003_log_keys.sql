-- The verifier keys each tenant's log has been signed with, in order: one
-- row per log.key entry, so the key in force is found without scanning.
CREATE TABLE log_keys (
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	idx       INTEGER NOT NULL,
	vkey      TEXT NOT NULL,
	PRIMARY KEY (tenant_id, idx)
) WITHOUT ROWID;
