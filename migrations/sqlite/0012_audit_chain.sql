-- Each audit row's link in a keyed hash chain over every row before it (NULL for rows written
-- before the chain began).
ALTER TABLE audit_log ADD COLUMN chain TEXT;
