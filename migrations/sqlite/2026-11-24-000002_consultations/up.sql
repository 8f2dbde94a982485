-- The consultation desk: inquiries, the registries each is about, the thread,
-- every move, and the outbox that notifications and reminders go through.
CREATE TABLE consultations (
    id TEXT PRIMARY KEY NOT NULL,
    requester_id TEXT NOT NULL REFERENCES users(id),
    organisation TEXT,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    desired_timeline TEXT,
    assignee_id TEXT REFERENCES users(id),
    status TEXT NOT NULL,
    status_changed_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    first_response_at TIMESTAMP,
    decided_at TIMESTAMP
);
CREATE INDEX consultations_created ON consultations(created_at);
CREATE INDEX consultations_organisation ON consultations(organisation);
CREATE INDEX consultations_status ON consultations(status);

CREATE TABLE consultation_registries (
    consultation_id TEXT NOT NULL REFERENCES consultations(id) ON DELETE CASCADE,
    registry_id TEXT NOT NULL REFERENCES registries(id),
    status TEXT NOT NULL,
    holder_unreachable BOOLEAN NOT NULL,
    status_changed_at TIMESTAMP NOT NULL,
    last_activity_at TIMESTAMP NOT NULL,
    PRIMARY KEY (consultation_id, registry_id)
);
CREATE INDEX consultation_registries_registry ON consultation_registries(registry_id);

CREATE TABLE consultation_messages (
    id TEXT PRIMARY KEY NOT NULL,
    consultation_id TEXT NOT NULL REFERENCES consultations(id) ON DELETE CASCADE,
    author_id TEXT NOT NULL REFERENCES users(id),
    internal BOOLEAN NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX consultation_messages_thread ON consultation_messages(consultation_id, created_at);

CREATE TABLE consultation_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    consultation_id TEXT NOT NULL REFERENCES consultations(id) ON DELETE CASCADE,
    registry_id TEXT REFERENCES registries(id),
    actor_id TEXT REFERENCES users(id),
    from_status TEXT,
    to_status TEXT NOT NULL,
    comment TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX consultation_events_thread ON consultation_events(consultation_id, id);

-- General: a later mail sender delivers what is pending here, once each.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    recipient_email TEXT NOT NULL,
    language TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT,
    kind TEXT NOT NULL,
    related_type TEXT NOT NULL,
    related_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_pending ON outbox(status, next_attempt_at);
CREATE INDEX outbox_related ON outbox(related_type, related_id);
