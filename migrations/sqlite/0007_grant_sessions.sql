-- The SSO session a grant came from, so that ending the session can tell the relying
-- parties it signed in to (back-channel logout).
ALTER TABLE grants ADD COLUMN sid TEXT;
CREATE INDEX grants_sid ON grants (sid);
