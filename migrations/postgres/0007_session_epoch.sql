-- The person's credential epoch the session was opened under (see users.credential_epoch):
-- a code issued from the session carries it, and is refused once the epoch moved on.
ALTER TABLE sessions ADD COLUMN credential_epoch BIGINT NOT NULL DEFAULT 0;
