-- One-way fingerprints of the master key and the PIN key the database was set up with: a
-- node holding other keys refuses to start rather than damage accounts.
CREATE TABLE key_fingerprints (
    name        TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL
);
