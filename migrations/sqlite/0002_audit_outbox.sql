-- Security events: one row each, never a secret.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
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
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    channel     TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL
);

-- Where a session was started, to show on the account page.
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
