-- The person's credential epoch the session was opened under (see users.credential_epoch):
-- a code issued from the session carries it, and is refused once the epoch moved on.
ALTER TABLE sessions ADD COLUMN credential_epoch BIGINT NOT NULL DEFAULT 0;
-- Sessions already open were opened under their person's present credentials: every earlier
-- change ended the person's other sessions.
UPDATE sessions SET credential_epoch =
    COALESCE((SELECT users.credential_epoch FROM users WHERE users.id = sessions.user_id), 0);
