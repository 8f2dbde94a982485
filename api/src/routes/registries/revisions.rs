use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{load_visible, require_private, stored_record, stored_state};
use crate::auth::CurrentUser;
use crate::domain::diff::{compare, FieldChange};
use crate::domain::registry::{PublicationState, RegistryRecord};
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::startup::AppState;
use crate::store::registries::{self, RevisionRow};

/// One entry of a registry's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionSummary {
    pub revision: i32,
    /// `create`, `update`, `publish`, `withdraw`, `import` (a survey round's spreadsheet)
    /// or `confirm` (a holder said nothing changed).
    pub action: String,
    pub publication_state: PublicationState,
    pub survey_round: i32,
    /// Top-level record fields (and `publication_state`) this revision changed.
    pub changed_fields: Vec<String>,
    /// The account that made it; null for the system (seed, import).
    pub author_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A revision with the record as it was then.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionDetail {
    #[serde(flatten)]
    pub summary: RevisionSummary,
    pub record: RegistryRecord,
}

impl RevisionSummary {
    fn from_row(row: &RevisionRow) -> Result<Self, ApiError> {
        Ok(RevisionSummary {
            revision: row.revision,
            action: row.action.clone(),
            publication_state: stored_state(&row.publication_state)?,
            survey_round: row.survey_round,
            changed_fields: serde_json::from_str(&row.changed_fields)
                .map_err(ApiError::internal)?,
            author_id: row.author_id.clone(),
            created_at: row.created_at.and_utc(),
        })
    }
}

/// A registry's history, newest first (office and the registry's holders).
#[utoipa::path(get, path = "/api/v1/registries/{code}/revisions", tag = "catalogue",
    params(("code" = String, Path, description = "Registry code", example = "CIN-R-000001")),
    responses(
        (status = 200, description = "Every revision", body = Vec<RevisionSummary>),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office, and not a holder of this registry", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such registry, or not visible to you", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[get("/registries/{code}/revisions")]
pub async fn list_revisions(
    state: web::Data<AppState>,
    user: CurrentUser,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rows = state
        .store
        .read(move |conn| {
            let (registry, actor) = load_visible(conn, &code, Some(&user))?;
            require_private(actor, "read a registry's history")?;
            Ok::<_, ApiError>(registries::revisions(conn, &registry.id)?)
        })
        .await?;
    let items = rows
        .iter()
        .map(RevisionSummary::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(items))
}

/// One revision with its full record (office and the registry's holders).
#[utoipa::path(get, path = "/api/v1/registries/{code}/revisions/{revision}", tag = "catalogue",
    params(
        ("code" = String, Path, description = "Registry code", example = "CIN-R-000001"),
        ("revision" = i32, Path, description = "Revision number", minimum = 1),
    ),
    responses(
        (status = 200, description = "The revision", body = RevisionDetail),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office, and not a holder of this registry", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such registry or revision", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[get("/registries/{code}/revisions/{revision}")]
pub async fn read_revision(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (code, revision) = path.into_inner();
    let row = state
        .store
        .read(move |conn| {
            let (registry, actor) = load_visible(conn, &code, Some(&user))?;
            require_private(actor, "read a registry's history")?;
            find_revision(conn, &registry.id, &code, &revision)
        })
        .await?;
    Ok(HttpResponse::Ok().json(RevisionDetail {
        summary: RevisionSummary::from_row(&row)?,
        record: stored_record(&row.record)?,
    }))
}

fn find_revision(
    conn: &mut crate::store::DbConnection,
    registry_id: &str,
    code: &str,
    revision: &str,
) -> Result<RevisionRow, ApiError> {
    let not_found = || ApiError::not_found(format!("{code} has no revision {revision}"));
    let number: i32 = revision.parse().map_err(|_| not_found())?;
    registries::revision(conn, registry_id, number)?.ok_or_else(not_found)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// The older revision.
    #[param(minimum = 1)]
    pub from: i32,
    /// The newer revision.
    #[param(minimum = 1)]
    pub to: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegistryDiff {
    pub registry_code: String,
    pub from: i32,
    pub to: i32,
    /// Fields whose value differs, with both values.
    pub changes: Vec<FieldChange>,
}

/// Compare two revisions field by field (office and the registry's holders).
#[utoipa::path(get, path = "/api/v1/registries/{code}/diff", tag = "catalogue",
    params(("code" = String, Path, description = "Registry code", example = "CIN-R-000001"), DiffQuery),
    responses(
        (status = 200, description = "The differences", body = RegistryDiff),
        (status = 400, description = "`from` or `to` missing or not a number", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office, and not a holder of this registry", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such registry or revision", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[get("/registries/{code}/diff")]
pub async fn compare_revisions(
    state: web::Data<AppState>,
    user: CurrentUser,
    code: web::Path<String>,
    query: Query<DiffQuery>,
) -> Result<HttpResponse, ApiError> {
    let DiffQuery { from, to } = query.0;
    let code = code.into_inner();
    let registry_code = code.clone();
    let (old, new) = state
        .store
        .read(move |conn| {
            let (registry, actor) = load_visible(conn, &code, Some(&user))?;
            require_private(actor, "compare a registry's revisions")?;
            let old = find_revision(conn, &registry.id, &code, &from.to_string())?;
            let new = find_revision(conn, &registry.id, &code, &to.to_string())?;
            Ok::<_, ApiError>((old, new))
        })
        .await?;
    let with_state = |row: &RevisionRow| -> Result<serde_json::Value, ApiError> {
        let mut value: serde_json::Value =
            serde_json::from_str(&row.record).map_err(ApiError::internal)?;
        value["publication_state"] = row.publication_state.clone().into();
        Ok(value)
    };
    Ok(HttpResponse::Ok().json(RegistryDiff {
        registry_code,
        from,
        to,
        changes: compare(&with_state(&old)?, &with_state(&new)?),
    }))
}
