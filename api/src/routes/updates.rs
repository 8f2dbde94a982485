//! The office's view of periodic updates: which entries are due or overdue.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::CurrentUser;
use crate::domain::role::Role;
use crate::domain::update_cycle::UpdateStatus;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::reminders;
use crate::routes::{Page, Paging};
use crate::startup::AppState;

/// A registry holder, as the office sees them.
#[derive(Debug, Serialize, ToSchema)]
pub struct HolderContact {
    pub display_name: String,
    pub email: String,
    /// `ja` or `en`: the language of their reminders.
    pub language: String,
}

/// A published registry and where it stands in its update cycle.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistryUpdate {
    #[schema(example = "CIN-R-000001")]
    pub registry_code: String,
    pub name_ja: String,
    pub update_status: UpdateStatus,
    pub last_confirmed_at: Option<DateTime<Utc>>,
    pub due_at: DateTime<Utc>,
    /// Whole days past the due date; 0 when not yet due.
    pub days_overdue: i64,
    /// Overdue long enough that the office has been told.
    pub escalated: bool,
    /// Who receives the reminders; empty when nobody does.
    pub holders: Vec<HolderContact>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UpdatesQuery {
    /// `due`, `overdue` or `current`, several separated by commas; default `due,overdue`.
    #[param(
        pattern = "^((current|due|overdue)(,(current|due|overdue))*)?$",
        example = "overdue"
    )]
    pub status: Option<String>,
}

/// Published registries due or overdue for their periodic confirmation,
/// the earliest due first (office and admin).
#[utoipa::path(get, path = "/api/v1/registry-updates", operation_id = "list_registry_updates", tag = "operations",
    params(UpdatesQuery, Paging),
    responses(
        (status = 200, description = "One page of registries and their update status", body = Page<RegistryUpdate>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office or admin", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[get("/registry-updates")]
pub async fn list_registry_updates(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<UpdatesQuery>,
    paging: Paging,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::is_staff, "see who is due for an update")?;
    let (page, per_page, offset) = paging.resolve()?;
    let statuses = match query.0.status.as_deref() {
        None | Some("") => vec![UpdateStatus::Due, UpdateStatus::Overdue],
        Some(list) => list
            .split(',')
            .map(|s| {
                UpdateStatus::parse(s).ok_or_else(|| {
                    ApiError::query("status", format!("`{s}` is not current, due or overdue"))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let now = state.clock.now();
    let policy = state.reminders.policy;
    let found = state
        .store
        .read(move |conn| reminders::update_states(conn, &policy, &statuses, now))
        .await?;
    let total = found.len() as i64;
    let items = found
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(per_page as usize)
        .map(|s| RegistryUpdate {
            registry_code: s.row.registry_code,
            name_ja: s.row.name_ja,
            update_status: s.status,
            last_confirmed_at: s.row.last_confirmed_at.map(|t| t.and_utc()),
            due_at: s.due,
            days_overdue: (now - s.due).num_days().max(0),
            escalated: s.escalated,
            holders: s
                .holders
                .into_iter()
                .map(|h| HolderContact {
                    display_name: h.display_name,
                    email: h.email,
                    language: h.language,
                })
                .collect(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        page,
        per_page,
        total,
    }))
}
