//! The sample catalogue in `seed-data/`: realistic, fictional registries and
//! one demo account per role. Compiled in, so any binary can seed.

use chrono::{DateTime, Datelike, Utc};
use serde::Deserialize;

use crate::accounts::{self, NewUser};
use crate::catalogue::{self, NewRegistry};
use crate::domain::registry::{PublicationState, RegistryRecord};
use crate::error::ApiError;
use crate::store::{registries, users, Store};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedRegistry {
    publication_state: PublicationState,
    holders: Vec<String>,
    last_confirmed_at: Option<DateTime<Utc>>,
    record: serde_json::Value,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub users_created: usize,
    pub registries_created: usize,
}

/// Loads what is missing: accounts by email and registries by code that
/// already exist are left as they are. All or nothing.
pub fn load(store: &Store, now: DateTime<Utc>) -> Result<SeedReport, ApiError> {
    let seed_users: Vec<NewUser> = serde_json::from_str(include_str!("../../seed-data/users.json"))
        .map_err(|e| ApiError::internal(format!("seed-data/users.json: {e}")))?;
    let seed_registries: Vec<SeedRegistry> =
        serde_json::from_str(include_str!("../../seed-data/registries.json"))
            .map_err(|e| ApiError::internal(format!("seed-data/registries.json: {e}")))?;
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
        Ok(report)
    })
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
