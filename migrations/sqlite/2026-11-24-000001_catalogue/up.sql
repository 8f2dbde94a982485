-- Identifiers are UUID strings and timestamps UTC, so one diesel schema serves both backends.
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    display_name TEXT NOT NULL,
    organisation TEXT,
    language TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

CREATE TABLE registries (
    id TEXT PRIMARY KEY NOT NULL,
    registry_code TEXT NOT NULL UNIQUE,
    publication_state TEXT NOT NULL,
    revision INTEGER NOT NULL,
    survey_round INTEGER NOT NULL,
    record TEXT NOT NULL,
    name_ja TEXT NOT NULL,
    search_text TEXT NOT NULL,
    last_confirmed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX registries_state_code ON registries(publication_state, registry_code);

CREATE TABLE registry_revisions (
    registry_id TEXT NOT NULL REFERENCES registries(id) ON DELETE CASCADE,
    revision INTEGER NOT NULL,
    action TEXT NOT NULL,
    publication_state TEXT NOT NULL,
    survey_round INTEGER NOT NULL,
    record TEXT NOT NULL,
    changed_fields TEXT NOT NULL,
    author_id TEXT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (registry_id, revision)
);

CREATE TABLE registry_holders (
    registry_id TEXT NOT NULL REFERENCES registries(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    assigned_at TIMESTAMP NOT NULL,
    PRIMARY KEY (registry_id, user_id)
);
CREATE INDEX registry_holders_user ON registry_holders(user_id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
