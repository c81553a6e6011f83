-- Each security event's own random id, so that an event appended twice (an append the
-- database took after the node gave up on it, and again from the node's spool) is one row.
-- NULL for rows written before events had ids. Both steps are skipped where an operator made
-- them beforehand (the index built CONCURRENTLY on a large log, without holding appends back).
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS event_id TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS audit_log_event_id ON audit_log (event_id);
