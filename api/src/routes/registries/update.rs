use actix_web::http::header;
use actix_web::{patch, web, HttpRequest, HttpResponse};
use chrono::Datelike;

use super::{load_visible, stored_record, stored_state, Registry};
use crate::auth::CurrentUser;
use crate::catalogue::{self, Change, RevisionAction};
use crate::domain::registry::RegistryRecord;
use crate::domain::role::Role;
use crate::domain::validation::FieldError;
use crate::domain::{access, merge_patch};
use crate::error::{ApiError, Problem};
use crate::extract::JsonBody;
use crate::routes::{check_if_match, with_etag};
use crate::startup::AppState;
use crate::store::registries::RegistryRow;

/// Change a registry with a JSON Merge Patch (RFC 7396) of its record: fields
/// present replace, `null` clears. Needs `If-Match` with the ETag you read.
/// Holders may edit their own registries; an edit by a holder also confirms
/// the entry as current.
#[utoipa::path(patch, path = "/api/v1/registries/{code}", tag = "catalogue",
    params(
        ("code" = String, Path, description = "Registry code", example = "CIN-R-000001"),
        ("If-Match" = String, Header, description = "The ETag of the revision you edited"),
    ),
    request_body(content = serde_json::Value, description = "Merge patch of the record",
        content_type = "application/merge-patch+json",
        example = json!({"status": "follow_up_only", "enrollment_count": 1520})),
    responses(
        (status = 200, description = "Saved (a new revision, unless nothing changed)", body = Registry,
            headers(("ETag" = String, description = "The new revision"))),
        (status = 400, description = "Malformed JSON or If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office, and not a holder of this registry", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such registry, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Someone saved since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[patch("/registries/{code}")]
pub async fn update_registry(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    code: web::Path<String>,
    body: JsonBody<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let patch = body.0;
    if !patch.is_object() {
        return Err(ApiError::validation(vec![FieldError::new(
            "",
            "invalid_type",
            "the body must be a JSON object (a merge patch of the record)",
        )]));
    }
    let if_match = req.headers().get(header::IF_MATCH).cloned();
    let row = apply_patch(&state, user, code.into_inner(), if_match, patch).await?;
    Ok(with_etag(
        HttpResponse::Ok(),
        row.revision,
        &Registry::from_row(&row, true)?,
    ))
}

/// Applies a merge patch for `user` against the revision `if_match` names;
/// the API and the holder's edit page both save here.
pub async fn apply_patch(
    state: &web::Data<AppState>,
    user: CurrentUser,
    code: String,
    if_match: Option<header::HeaderValue>,
    patch: serde_json::Value,
) -> Result<RegistryRow, ApiError> {
    let now = state.clock.now();
    let row = state
        .store
        .write(move |conn| {
            let (current, actor) = load_visible(conn, &code, Some(&user))?;
            let actor = actor
                .filter(|a| access::may_edit_registry(*a))
                .ok_or_else(|| {
                    ApiError::forbidden("Only the office and this registry's holders may edit it")
                })?;
            check_if_match(if_match.as_ref(), current.revision, &code)?;
            let mut merged = catalogue::record_json(&stored_record(&current.record)?);
            merge_patch::apply(&mut merged, &patch);
            let record = RegistryRecord::parse(merged, now.year()).map_err(ApiError::validation)?;
            if record.registry_code != current.registry_code {
                return Err(ApiError::validation(vec![FieldError::new(
                    "registry_code",
                    "immutable",
                    "the registry code cannot change",
                )]));
            }
            catalogue::save(
                conn,
                &current,
                Change {
                    record,
                    state: stored_state(&current.publication_state)?,
                    action: RevisionAction::Update,
                    confirms: actor.role == Role::Holder,
                    actor_id: Some(&user.id),
                    now,
                },
            )
        })
        .await?;
    super::index_now(state).await;
    Ok(row)
}
