DROP TABLE audit_log;
DROP TABLE registry_holders;
DROP TABLE registry_revisions;
DROP TABLE registries;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
