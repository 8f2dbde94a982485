DROP TABLE outbox;
DROP TABLE consultation_events;
DROP TABLE consultation_messages;
DROP TABLE consultation_registries;
DROP TABLE consultations;
