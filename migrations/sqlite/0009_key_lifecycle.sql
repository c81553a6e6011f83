-- Key lifecycle: a `next` key becomes active at activate_at; a `retired` key is removed at
-- remove_after, once everything it signed has expired.
ALTER TABLE signing_keys ADD COLUMN activate_at INTEGER;
ALTER TABLE signing_keys ADD COLUMN remove_after INTEGER;
