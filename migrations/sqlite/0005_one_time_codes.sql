-- One-time codes sent by e-mail or text: one live code per user and purpose, stored as an
-- HMAC, with its tries taken atomically.
CREATE TABLE one_time_codes (
    purpose     TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    tries_left  INTEGER NOT NULL,
    data        TEXT NOT NULL,
    PRIMARY KEY (purpose, user_id)
);
