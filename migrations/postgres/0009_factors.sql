-- Second factors a person bound: an authenticator app (its TOTP secret, sealed by the server)
-- or a passkey (the WebAuthn credential as its library serialises it). last_step is the last
-- TOTP time step accepted, so that a code works once.
CREATE TABLE factors (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    name           TEXT NOT NULL,
    secret         BYTEA NOT NULL,
    credential_id  TEXT UNIQUE,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT,
    last_step      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX factors_user ON factors (user_id);

-- Saved recovery codes, stored as hashes: one set per person, each code used once.
CREATE TABLE recovery_codes (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    used_at     BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
