-- Client metadata beyond the columns of 0001 (grant types, keys, logout URIs, ...), as JSON.
ALTER TABLE clients ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
