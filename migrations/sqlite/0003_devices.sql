-- Browsers a user completed a sign-in on. id_hash is SHA-256 of the device cookie, which is
-- never stored; one browser may be trusted by several users.
CREATE TABLE devices (
    id_hash       TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id            TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    ip            TEXT,
    user_agent    TEXT,
    PRIMARY KEY (id_hash, user_id)
);
CREATE INDEX devices_user ON devices (user_id);
