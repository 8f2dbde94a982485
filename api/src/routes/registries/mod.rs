//! Registry entries: the public catalogue, and the office's and holders' edits.

mod confirm;
mod create;
mod export;
mod holders;
pub mod linked_data;
mod list;
mod publish;
mod read;
mod revisions;
mod search;
mod update;

pub use confirm::{__path_confirm_registry, confirm_as};
pub use create::__path_create_registry;
pub use export::{__path_export_catalogue, __path_export_search, ExportFormat, RegistryExport};
pub use holders::{__path_add_holder, __path_list_holders, __path_remove_holder};
pub use linked_data::{__path_registry_dcat_ap, __path_registry_schema_org};
pub use list::{__path_list_registries, RegistryListQuery};
pub use publish::{__path_publish_registry, __path_withdraw_registry};
pub use read::__path_read_registry;
pub use revisions::{
    __path_compare_revisions, __path_list_revisions, __path_read_revision, DiffQuery, RegistryDiff,
    RevisionSummary,
};
pub use search::{
    __path_search_registries, search, FacetCount, SearchHit, SearchParams, SearchResponse,
    SearchSort,
};
pub use update::{__path_update_registry, apply_patch};

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::CurrentUser;
use crate::domain::access::{self, Actor};
use crate::domain::registry::{is_registry_code, PublicationState, RegistryRecord};
use crate::domain::role::Role;
use crate::domain::update_cycle::UpdateStatus;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::registries::{self, RegistryRow};
use crate::store::DbConnection;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Before `/registries/{code}`, which would otherwise take "search" or "export" for a code.
    cfg.service(export::export_search)
        .service(search::search_registries)
        .service(export::export_catalogue)
        .service(list::list_registries)
        .service(create::create_registry)
        .service(read::read_registry)
        .service(update::update_registry)
        .service(publish::publish_registry)
        .service(publish::withdraw_registry)
        .service(confirm::confirm_registry)
        .service(holders::list_holders)
        .service(holders::add_holder)
        .service(holders::remove_holder)
        .service(revisions::list_revisions)
        .service(revisions::read_revision)
        .service(revisions::compare_revisions)
        .service(linked_data::registry_dcat_ap)
        .service(linked_data::registry_schema_org);
}

/// A registry entry: catalogue bookkeeping around the survey record.
#[derive(Debug, Serialize, ToSchema)]
pub struct Registry {
    pub id: uuid::Uuid,
    #[schema(example = "CIN-R-000001")]
    pub registry_code: String,
    pub publication_state: PublicationState,
    /// Increases by one with every change; the `ETag` is this number in quotes.
    pub revision: i32,
    pub survey_round: i32,
    /// When a holder last edited or confirmed the entry.
    pub last_confirmed_at: Option<DateTime<Utc>>,
    /// Where the entry stands in its update cycle (vocabulary `update_status`).
    pub update_status: UpdateStatus,
    /// Set when overdue: the entry has not been confirmed since then (its
    /// last confirmation, or its creation when never confirmed).
    pub not_confirmed_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The record. `contact` is present only for the office and the registry's holders.
    pub record: RegistryRecord,
}

impl Registry {
    /// The view of a stored row; `private` adds the contact details.
    pub fn from_row(row: &RegistryRow, private: bool) -> Result<Registry, ApiError> {
        let record = stored_record(&row.record)?;
        let update_status = UpdateStatus::parse(&row.update_status).ok_or_else(|| {
            ApiError::internal(format!("unknown update status {}", row.update_status))
        })?;
        Ok(Registry {
            id: row.id.parse().map_err(ApiError::internal)?,
            registry_code: row.registry_code.clone(),
            publication_state: stored_state(&row.publication_state)?,
            revision: row.revision,
            survey_round: row.survey_round,
            last_confirmed_at: row.last_confirmed_at.map(|t| t.and_utc()),
            update_status,
            not_confirmed_since: (update_status == UpdateStatus::Overdue)
                .then(|| crate::reminders::cycle_start(row)),
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            record: if private { record } else { record.public() },
        })
    }
}

pub fn stored_record(json: &str) -> Result<RegistryRecord, ApiError> {
    serde_json::from_str(json).map_err(ApiError::internal)
}

pub fn stored_state(state: &str) -> Result<PublicationState, ApiError> {
    PublicationState::parse(state)
        .ok_or_else(|| ApiError::internal(format!("unknown publication state {state}")))
}

/// A registry and what the caller is to it. Entries the caller may not see
/// are 404, not 403, so that their existence does not leak.
pub fn load_visible(
    conn: &mut DbConnection,
    code: &str,
    user: Option<&CurrentUser>,
) -> Result<(RegistryRow, Option<Actor>), ApiError> {
    let not_found = || ApiError::not_found(format!("No registry {code}"));
    if !is_registry_code(code) {
        return Err(not_found());
    }
    let row = registries::find_by_code(conn, code)?.ok_or_else(not_found)?;
    let actor = match user {
        Some(u) => Some(Actor {
            role: u.role,
            holds_registry: u.role == Role::Holder && registries::is_holder(conn, &row.id, &u.id)?,
        }),
        None => None,
    };
    if !access::may_read_registry(actor, stored_state(&row.publication_state)?) {
        return Err(not_found());
    }
    Ok((row, actor))
}

/// Waits until this instance's index shows what was just committed, so the
/// person who saved finds it at once. A failure is logged, not returned: the
/// change is saved, and the index catches up on its next pass.
pub async fn index_now(state: &AppState) {
    if let Err(e) = state.search.catch_up(&state.store).await {
        tracing::error!(error = %e, "search index did not catch up after a write");
    }
}

/// 403 unless the caller may see the registry's private side (contact, history).
pub fn require_private(actor: Option<Actor>, what: &str) -> Result<Actor, ApiError> {
    match actor {
        Some(a) if access::may_see_private(a) => Ok(a),
        _ => Err(ApiError::forbidden(format!(
            "Only the office and this registry's holders may {what}"
        ))),
    }
}
