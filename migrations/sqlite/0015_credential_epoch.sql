-- Moves on at every credential change (PIN, password, unlock, disabling): a sign-in in
-- progress was begun under one epoch and ends when its person's epoch moves on.
ALTER TABLE users ADD COLUMN credential_epoch INTEGER NOT NULL DEFAULT 0;
