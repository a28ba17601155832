-- RFC 3161 time anchors over checkpoints. Each row is recorded by the
-- anchor ledger entry at idx, which binds the token by its SHA-256.

CREATE TABLE anchors (
	tenant_id         TEXT NOT NULL REFERENCES tenants(id),
	idx               INTEGER NOT NULL,
	checkpoint_size   INTEGER NOT NULL,
	checkpoint_sha256 BLOB NOT NULL,
	token             BLOB NOT NULL,
	gen_time          INTEGER NOT NULL,
	tsa               TEXT NOT NULL,
	leaf_hash         TEXT NOT NULL,
	PRIMARY KEY (tenant_id, idx)
) WITHOUT ROWID;
CREATE INDEX anchors_size ON anchors(tenant_id, checkpoint_size);

CREATE TRIGGER anchors_immutable BEFORE UPDATE ON anchors
BEGIN SELECT RAISE(ABORT, 'anchors are immutable'); END;
CREATE TRIGGER anchors_append_only BEFORE DELETE ON anchors
BEGIN SELECT RAISE(ABORT, 'anchors are append-only'); END;
