-- Leases: which node does a cluster-wide chore (the signing-key lifecycle) until when.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
