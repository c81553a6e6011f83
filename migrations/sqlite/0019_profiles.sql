-- A person's names and postal address for the standard claims (JSON, see model::Profile).
ALTER TABLE users ADD COLUMN profile TEXT;
