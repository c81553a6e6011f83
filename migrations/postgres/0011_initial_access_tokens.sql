-- Initial access tokens for dynamic client registration, each good for a number of
-- registrations until it expires; one use is spent by a single guarded UPDATE.
CREATE TABLE initial_access_tokens (
    id_hash     TEXT PRIMARY KEY,
    uses_left   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Tokens made before: single use, as they were.
INSERT INTO initial_access_tokens (id_hash, uses_left, expires_at, created_at)
    SELECT id, 1, expires_at, 0 FROM ephemeral
    WHERE kind = 'initial_access_token' AND consumed_at IS NULL;
DELETE FROM ephemeral WHERE kind = 'initial_access_token';
