-- Every registry write appends here in its own transaction; each instance's
-- search index applies the log in order and remembers the last sequence.
CREATE TABLE registry_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    registry_code TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
