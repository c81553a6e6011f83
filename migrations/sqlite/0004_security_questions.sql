-- Optional security questions: a JSON array of {"question": ID, "answer_hash": PHC}, answers
-- normalised and hashed with Argon2id keyed like PINs.
ALTER TABLE users ADD COLUMN security_questions TEXT;
