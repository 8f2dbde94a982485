// The tables of migrations/{sqlite,postgres}; both folders produce these columns.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        display_name -> Text,
        organisation -> Nullable<Text>,
        language -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    registries (id) {
        id -> Text,
        registry_code -> Text,
        publication_state -> Text,
        revision -> Integer,
        survey_round -> Integer,
        record -> Text,
        name_ja -> Text,
        search_text -> Text,
        last_confirmed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        update_status -> Text,
    }
}

diesel::table! {
    registry_revisions (registry_id, revision) {
        registry_id -> Text,
        revision -> Integer,
        action -> Text,
        publication_state -> Text,
        survey_round -> Integer,
        record -> Text,
        changed_fields -> Text,
        author_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    registry_holders (registry_id, user_id) {
        registry_id -> Text,
        user_id -> Text,
        assigned_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        actor_id -> Nullable<Text>,
        action -> Text,
        object_type -> Text,
        object_id -> Text,
        detail -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    registry_changes (seq) {
        seq -> BigInt,
        registry_code -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    consultations (id) {
        id -> Text,
        requester_id -> Text,
        organisation -> Nullable<Text>,
        kind -> Text,
        subject -> Text,
        body -> Text,
        desired_timeline -> Nullable<Text>,
        assignee_id -> Nullable<Text>,
        status -> Text,
        status_changed_at -> Timestamp,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        first_response_at -> Nullable<Timestamp>,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    consultation_registries (consultation_id, registry_id) {
        consultation_id -> Text,
        registry_id -> Text,
        status -> Text,
        holder_unreachable -> Bool,
        status_changed_at -> Timestamp,
        last_activity_at -> Timestamp,
    }
}

diesel::table! {
    consultation_messages (id) {
        id -> Text,
        consultation_id -> Text,
        author_id -> Text,
        internal -> Bool,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    consultation_events (id) {
        id -> BigInt,
        consultation_id -> Text,
        registry_id -> Nullable<Text>,
        actor_id -> Nullable<Text>,
        from_status -> Nullable<Text>,
        to_status -> Text,
        comment -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        recipient_email -> Text,
        language -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Nullable<Text>,
        kind -> Text,
        related_type -> Text,
        related_id -> Text,
        idempotency_key -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(registry_revisions -> registries (registry_id));
diesel::joinable!(registry_holders -> registries (registry_id));
diesel::joinable!(registry_holders -> users (user_id));
diesel::joinable!(consultation_registries -> consultations (consultation_id));
diesel::joinable!(consultation_registries -> registries (registry_id));
diesel::joinable!(consultation_messages -> consultations (consultation_id));
diesel::joinable!(consultation_events -> consultations (consultation_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    refresh_tokens,
    registries,
    registry_revisions,
    registry_holders,
    audit_log,
    registry_changes,
    consultations,
    consultation_registries,
    consultation_messages,
    consultation_events,
    outbox,
);
