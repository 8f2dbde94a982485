//! The audit log, for the office.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::CurrentUser;
use crate::domain::role::Role;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::routes::{Page, Paging};
use crate::startup::AppState;
use crate::store::audit::{self, AuditFilter};

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// The account that acted; null for the system (seed, scheduled jobs).
    pub actor_id: Option<String>,
    #[schema(example = "registry.update")]
    pub action: String,
    #[schema(example = "registry")]
    pub object_type: String,
    #[schema(example = "CIN-R-000001")]
    pub object_id: String,
    pub detail: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// `registry`, `user`, `session`, ...
    pub object_type: Option<String>,
    /// A registry code or an account id.
    pub object_id: Option<String>,
    pub actor_id: Option<String>,
}

/// Every write, newest first (office and admin).
#[utoipa::path(get, path = "/api/v1/audit", tag = "operations", params(AuditQuery, Paging),
    responses(
        (status = 200, description = "One page of the audit log", body = Page<AuditEntry>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office or admin", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[get("/audit")]
pub async fn list_audit(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<AuditQuery>,
    paging: Paging,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::is_staff, "read the audit log")?;
    let (page, per_page, offset) = paging.resolve()?;
    let filter = AuditFilter {
        object_type: query.0.object_type,
        object_id: query.0.object_id,
        actor_id: query.0.actor_id,
    };
    let (rows, total) = state
        .store
        .read(move |conn| {
            audit::list(conn, &filter, offset, per_page.into()).map_err(ApiError::from)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(|row| AuditEntry {
            id: row.id,
            actor_id: row.actor_id,
            action: row.action,
            object_type: row.object_type,
            object_id: row.object_id,
            detail: serde_json::from_str(&row.detail).unwrap_or(serde_json::Value::Null),
            created_at: row.created_at.and_utc(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        page,
        per_page,
        total,
    }))
}
