-- Users: the subject, the contact details, and the two secrets (Argon2id PHC strings).
CREATE TABLE users (
    id              TEXT PRIMARY KEY NOT NULL,
    username        TEXT NOT NULL UNIQUE,
    email           TEXT NOT NULL,
    email_verified  INTEGER NOT NULL DEFAULT 0,
    phone           TEXT,
    phone_verified  INTEGER NOT NULL DEFAULT 0,
    password_hash   TEXT NOT NULL,
    pin_hash        TEXT,
    -- PIN tries taken since the last correct PIN; the PIN is locked at the configured maximum.
    pin_failures    INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);

CREATE TABLE clients (
    id                            TEXT PRIMARY KEY NOT NULL,
    name                          TEXT NOT NULL,
    secret_hash                   TEXT,
    redirect_uris                 TEXT NOT NULL, -- JSON array
    token_endpoint_auth_method    TEXT NOT NULL,
    id_token_signed_response_alg  TEXT NOT NULL,
    admin                         INTEGER NOT NULL DEFAULT 0,
    created_at                    INTEGER NOT NULL
);

CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY NOT NULL,
    alg          TEXT NOT NULL,
    -- PKCS#8 private key sealed with AES-256-GCM under a key derived from the master key.
    sealed_private_key  BLOB NOT NULL,
    state        TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);

-- SSO sessions; id_hash is SHA-256 of the cookie value, which is never stored.
CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY NOT NULL,
    sid         TEXT NOT NULL UNIQUE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time   INTEGER NOT NULL,
    acr         TEXT NOT NULL,
    amr         TEXT NOT NULL, -- JSON array
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE grants (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

-- Short-lived records: interactions, pending sign-ups, authorization codes.
CREATE TABLE ephemeral (
    kind         TEXT NOT NULL,
    id           TEXT NOT NULL,
    payload      TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    consumed_at  INTEGER,
    PRIMARY KEY (kind, id)
);
CREATE INDEX ephemeral_expiry ON ephemeral (expires_at);
