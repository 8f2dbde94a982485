//! The sample catalogue in `seed-data/`: realistic, fictional registries and
//! one demo account per role. Compiled in, so any binary can seed.

use chrono::{DateTime, Datelike, Duration, Utc};
use serde::Deserialize;

use crate::accounts::{self, NewUser};
use crate::catalogue::{self, NewRegistry};
use crate::consultations::{self, Caller, MoveInput, NewInquiry};
use crate::domain::consultation::{ConsultationKind, ConsultationState, RegistryAnswerState};
use crate::domain::registry::{PublicationState, RegistryRecord};
use crate::error::ApiError;
use crate::store::{registries, users, DbConnection, Store};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedRegistry {
    publication_state: PublicationState,
    holders: Vec<String>,
    last_confirmed_at: Option<DateTime<Utc>>,
    record: serde_json::Value,
}

/// A sample inquiry and what happened to it, `days_ago` before the seeding.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedConsultation {
    requester: String,
    kind: ConsultationKind,
    subject: String,
    body: String,
    #[serde(default)]
    desired_timeline: Option<String>,
    registries: Vec<String>,
    days_ago: i64,
    #[serde(default)]
    assignee: Option<String>,
    steps: Vec<SeedStep>,
}

/// A move (`to`, of `registry` when given) or a message.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedStep {
    days_ago: i64,
    by: String,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    registry: Option<String>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    internal: bool,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub users_created: usize,
    pub registries_created: usize,
    pub consultations_created: usize,
}

/// Loads what is missing: accounts by email and registries by code that
/// already exist are left as they are. All or nothing.
pub fn load(store: &Store, now: DateTime<Utc>) -> Result<SeedReport, ApiError> {
    let seed_users: Vec<NewUser> = serde_json::from_str(include_str!("../../seed-data/users.json"))
        .map_err(|e| ApiError::internal(format!("seed-data/users.json: {e}")))?;
    let seed_registries: Vec<SeedRegistry> =
        serde_json::from_str(include_str!("../../seed-data/registries.json"))
            .map_err(|e| ApiError::internal(format!("seed-data/registries.json: {e}")))?;
    let seed_consultations: Vec<SeedConsultation> =
        serde_json::from_str(include_str!("../../seed-data/consultations.json"))
            .map_err(|e| ApiError::internal(format!("seed-data/consultations.json: {e}")))?;
    store.write_blocking(move |conn| {
        let mut report = SeedReport::default();
        for user in &seed_users {
            if users::find_by_email(conn, &user.email)?.is_none() {
                accounts::create_user(conn, user, None, now)?;
                report.users_created += 1;
            }
        }
        for seed in seed_registries {
            let record = RegistryRecord::parse(seed.record, now.year()).map_err(|errors| {
                ApiError::internal(format!("seed-data/registries.json: {errors:?}"))
            })?;
            if registries::find_by_code(conn, &record.registry_code)?.is_some() {
                continue;
            }
            let row = catalogue::create(
                conn,
                NewRegistry {
                    record,
                    state: seed.publication_state,
                    last_confirmed_at: seed.last_confirmed_at,
                },
                None,
                now,
            )?;
            for email in &seed.holders {
                let holder = users::find_by_email(conn, email)?.ok_or_else(|| {
                    ApiError::internal(format!("seed holder {email} is not in users.json"))
                })?;
                registries::add_holder(conn, &row.id, &holder.id, now.naive_utc())?;
            }
            report.registries_created += 1;
        }
        if consultations::store_count(conn)? == 0 {
            for seed in seed_consultations {
                load_consultation(conn, seed, now)?;
                report.consultations_created += 1;
            }
        }
        Ok(report)
    })
}

/// Replays a sample inquiry through the desk's own operations, without mail.
fn load_consultation(
    conn: &mut DbConnection,
    seed: SeedConsultation,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let bad = |what: String| ApiError::internal(format!("seed-data/consultations.json: {what}"));
    let caller = |conn: &mut DbConnection, email: &str| -> Result<Caller, ApiError> {
        users::find_by_email(conn, email)?
            .map(|u| Caller::from(&u))
            .ok_or_else(|| bad(format!("{email} is not in users.json")))
    };
    let at = |days_ago: i64| now - Duration::days(days_ago);
    let requester = caller(conn, &seed.requester)?;
    let row = consultations::submit(
        conn,
        &requester,
        NewInquiry {
            kind: seed.kind,
            subject: seed.subject,
            body: seed.body,
            desired_timeline: seed.desired_timeline,
            registries: seed.registries,
        },
        at(seed.days_ago),
        false,
    )?;
    if let Some(email) = &seed.assignee {
        let office = caller(conn, email)?;
        consultations::assign(
            conn,
            &office,
            &row.id,
            Some(office.id.clone()),
            at(seed.days_ago),
        )?;
    }
    for step in seed.steps {
        let by = caller(conn, &step.by)?;
        let when = at(step.days_ago);
        match (&step.to, &step.registry, step.message) {
            (Some(to), None, None) => {
                let to = ConsultationState::parse(to).ok_or_else(|| bad(format!("state {to}")))?;
                consultations::move_inquiry(
                    conn,
                    &by,
                    &row.id,
                    to,
                    MoveInput {
                        comment: step.comment,
                        add_registries: Vec::new(),
                    },
                    when,
                    false,
                )?;
            }
            (Some(to), Some(code), None) => {
                let to =
                    RegistryAnswerState::parse(to).ok_or_else(|| bad(format!("state {to}")))?;
                consultations::move_registry(
                    conn,
                    &by,
                    &row.id,
                    code,
                    to,
                    step.comment,
                    when,
                    false,
                )?;
            }
            (None, None, Some(text)) => {
                consultations::post_message(conn, &by, &row.id, text, step.internal, when, false)?;
            }
            _ => return Err(bad("a step is a move or a message".into())),
        }
    }
    Ok(())
}

/// Seeds a database that has no accounts yet (a first start).
pub fn load_if_empty(store: &Store, now: DateTime<Utc>) -> Result<Option<SeedReport>, ApiError> {
    let empty =
        store.write_blocking(|conn| users::count(conn).map(|n| n == 0).map_err(ApiError::from))?;
    if empty {
        load(store, now).map(Some)
    } else {
        Ok(None)
    }
}
