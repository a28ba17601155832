-- Captures: what kind of capture (a screenshot or a browser flow) and,
-- for a flow, its outcome.
ALTER TABLE captures ADD COLUMN kind TEXT NOT NULL DEFAULT '';
ALTER TABLE captures ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
