-- What a person allowed a third-party client: the scopes, remembered until withdrawn.
CREATE TABLE consents (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes      TEXT NOT NULL, -- JSON array
    granted_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
