-- What a person may do in the consoles (model::Roles): role names, space-separated; NULL for none.
ALTER TABLE users ADD COLUMN roles TEXT;
