-- The schema of migrations/sqlite/0001..0010 as one PostgreSQL migration. Times are Unix
-- seconds (BIGINT); JSON documents are TEXT, read and written whole by the server.

-- Users: the subject, the contact details, and the two secrets (Argon2id PHC strings).
CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    username            TEXT NOT NULL UNIQUE,
    email               TEXT NOT NULL,
    email_verified      BOOLEAN NOT NULL DEFAULT FALSE,
    phone               TEXT,
    phone_verified      BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash       TEXT NOT NULL,
    pin_hash            TEXT,
    -- PIN tries taken since the last correct PIN; the PIN is locked at the configured maximum.
    pin_failures        BIGINT NOT NULL DEFAULT 0,
    created_at          BIGINT NOT NULL,
    -- A JSON array of {"question": ID, "answer_hash": PHC}.
    security_questions  TEXT,
    disabled_at         BIGINT
);

CREATE TABLE clients (
    id                            TEXT PRIMARY KEY,
    name                          TEXT NOT NULL,
    secret_hash                   TEXT,
    redirect_uris                 TEXT NOT NULL, -- JSON array
    token_endpoint_auth_method    TEXT NOT NULL,
    id_token_signed_response_alg  TEXT NOT NULL,
    admin                         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at                    BIGINT NOT NULL,
    metadata                      TEXT NOT NULL DEFAULT '{}' -- JSON object
);

CREATE TABLE signing_keys (
    kid                 TEXT PRIMARY KEY,
    alg                 TEXT NOT NULL,
    -- PKCS#8 private key sealed with AES-256-GCM under a key derived from the master key.
    sealed_private_key  BYTEA NOT NULL,
    state               TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    activate_at         BIGINT,
    remove_after        BIGINT
);

-- SSO sessions; id_hash is SHA-256 of the cookie value, which is never stored.
CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    sid         TEXT NOT NULL UNIQUE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time   BIGINT NOT NULL,
    acr         TEXT NOT NULL,
    amr         TEXT NOT NULL, -- JSON array
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    ip          TEXT,
    user_agent  TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE grants (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    sid         TEXT
);
CREATE INDEX grants_sid ON grants (sid);
CREATE INDEX grants_user_client ON grants (user_id, client_id);
CREATE INDEX grants_client ON grants (client_id);

-- Short-lived records: interactions, pending sign-ups, authorization codes.
CREATE TABLE ephemeral (
    kind         TEXT NOT NULL,
    id           TEXT NOT NULL,
    payload      TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    consumed_at  BIGINT,
    PRIMARY KEY (kind, id)
);
CREATE INDEX ephemeral_expiry ON ephemeral (expires_at);

-- Security events: one row each, never a secret.
CREATE TABLE audit_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    user_id     TEXT,
    client_id   TEXT,
    actor       TEXT,
    ip          TEXT,
    user_agent  TEXT,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_user ON audit_log (user_id, at);
CREATE INDEX audit_log_at ON audit_log (at);

-- Messages that would have been e-mailed or texted, when no SMTP server or SMS webhook is
-- configured.
CREATE TABLE outbox (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    channel     TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL
);

-- Browsers a user completed a sign-in on. id_hash is SHA-256 of the device cookie, which is
-- never stored; one browser may be trusted by several users.
CREATE TABLE devices (
    id_hash       TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id            TEXT NOT NULL UNIQUE,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    ip            TEXT,
    user_agent    TEXT,
    PRIMARY KEY (id_hash, user_id)
);
CREATE INDEX devices_user ON devices (user_id);

-- One-time codes sent by e-mail or text: one live code per user and purpose, stored as an
-- HMAC, with its tries taken atomically.
CREATE TABLE one_time_codes (
    purpose     TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash        TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    tries_left  BIGINT NOT NULL,
    data        TEXT NOT NULL,
    PRIMARY KEY (purpose, user_id)
);

-- What a person allowed a third-party client: the scopes, remembered until withdrawn.
CREATE TABLE consents (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes      TEXT NOT NULL, -- JSON array
    granted_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
