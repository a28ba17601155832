-- Captures: the image's perceptual hash, and the diff of an "after"
-- capture against its run's "before" capture (JSON, NULL when none).
ALTER TABLE captures ADD COLUMN phash TEXT NOT NULL DEFAULT '';
ALTER TABLE captures ADD COLUMN diff TEXT;
