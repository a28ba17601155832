-- Asynchronous jobs, monthly capture usage and Idempotency-Key answers.

-- Jobs: request and result are encoding/json bytes; error and webhook JSON
-- text, NULL when absent. next_attempt copies webhook.next_attempt while
-- the webhook is undelivered, so the jobs a restart resumes are found by
-- the partial index without decoding webhooks.
CREATE TABLE jobs (
	tenant_id    TEXT NOT NULL REFERENCES tenants(id),
	id           TEXT NOT NULL,
	kind         TEXT NOT NULL,
	status       TEXT NOT NULL,
	actor        TEXT NOT NULL,
	request      BLOB,
	result       BLOB,
	error        TEXT,
	webhook      TEXT,
	next_attempt INTEGER,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	finished_at  INTEGER,
	PRIMARY KEY (tenant_id, id)
);
CREATE INDEX jobs_pending ON jobs(created_at, tenant_id, id)
	WHERE status IN ('queued', 'running') OR next_attempt IS NOT NULL;

-- Captures counted per tenant and month ("2006-01", UTC).
CREATE TABLE usage (
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	period    TEXT NOT NULL,
	captures  INTEGER NOT NULL CHECK (captures >= 0),
	PRIMARY KEY (tenant_id, period)
) WITHOUT ROWID;

-- The first answer per tenant and Idempotency-Key. status 0 is a claim
-- whose request has not answered yet; headers is a JSON object.
CREATE TABLE idempotency (
	tenant_id    TEXT NOT NULL REFERENCES tenants(id),
	key          TEXT NOT NULL,
	fingerprint  TEXT NOT NULL,
	status       INTEGER NOT NULL,
	content_type TEXT NOT NULL,
	headers      TEXT,
	body         BLOB,
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_created ON idempotency(created_at) WHERE status <> 0;
