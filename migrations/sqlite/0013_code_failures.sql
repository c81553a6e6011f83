-- Wrong one-time codes and security answers in a row for one user, over every code sent to
-- them: a new code never resets it, a right one does (NIST SP 800-63B: at most 100).
ALTER TABLE users ADD COLUMN code_failures INTEGER NOT NULL DEFAULT 0;
