use actix_web::http::header;
use actix_web::{post, web, HttpRequest, HttpResponse};

use super::{load_visible, stored_record, stored_state, Registry};
use crate::auth::CurrentUser;
use crate::catalogue::{self, Change, RevisionAction};
use crate::domain::access;
use crate::domain::registry::PublicationMove;
use crate::error::{ApiError, ErrorCode, Problem};
use crate::routes::{check_if_match, with_etag};
use crate::startup::AppState;

/// Make a draft or withdrawn registry public (office).
#[utoipa::path(post, path = "/api/v1/registries/{code}/publish", tag = "catalogue",
    params(
        ("code" = String, Path, description = "Registry code", example = "CIN-R-000061"),
        ("If-Match" = Option<String>, Header, description = "Optional: refuse if the registry changed since this ETag"),
    ),
    responses(
        (status = 200, description = "Published", body = Registry, headers(("ETag" = String))),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office or admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such registry", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already published; `allowed` names the possible moves", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the given ETag", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[post("/registries/{code}/publish")]
pub async fn publish_registry(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    change_state(
        state,
        req,
        user,
        code.into_inner(),
        PublicationMove::Publish,
    )
    .await
}

/// Take a registry out of the public catalogue (office). It stays in the
/// database with its history, and can be published again.
#[utoipa::path(post, path = "/api/v1/registries/{code}/withdraw", tag = "catalogue",
    params(
        ("code" = String, Path, description = "Registry code", example = "CIN-R-000001"),
        ("If-Match" = Option<String>, Header, description = "Optional: refuse if the registry changed since this ETag"),
    ),
    responses(
        (status = 200, description = "Withdrawn", body = Registry, headers(("ETag" = String))),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office or admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such registry", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not published; `allowed` names the possible moves", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the given ETag", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[post("/registries/{code}/withdraw")]
pub async fn withdraw_registry(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    change_state(
        state,
        req,
        user,
        code.into_inner(),
        PublicationMove::Withdraw,
    )
    .await
}

async fn change_state(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    code: String,
    wanted: PublicationMove,
) -> Result<HttpResponse, ApiError> {
    user.require(
        access::may_manage_catalogue,
        "publish or withdraw registries",
    )?;
    let now = state.clock.now();
    let if_match = req.headers().get(header::IF_MATCH).cloned();
    let row = state
        .store
        .write(move |conn| {
            let (current, _) = load_visible(conn, &code, Some(&user))?;
            if if_match.is_some() {
                check_if_match(if_match.as_ref(), current.revision, &code)?;
            }
            let from = stored_state(&current.publication_state)?;
            let allowed = from.allowed_moves();
            if !allowed.contains(&wanted) {
                let mut err = ApiError::new(
                    ErrorCode::InvalidStateTransition,
                    format!("{code} is {}; it cannot {}", from.as_str(), wanted.as_str()),
                );
                err.allowed = Some(allowed.iter().map(|m| m.as_str().to_string()).collect());
                return Err(err);
            }
            catalogue::save(
                conn,
                &current,
                Change {
                    record: stored_record(&current.record)?,
                    state: wanted.target(),
                    action: match wanted {
                        PublicationMove::Publish => RevisionAction::Publish,
                        PublicationMove::Withdraw => RevisionAction::Withdraw,
                    },
                    confirms: false,
                    actor_id: Some(&user.id),
                    now,
                },
            )
        })
        .await?;
    super::index_now(&state).await;
    Ok(with_etag(
        HttpResponse::Ok(),
        row.revision,
        &Registry::from_row(&row, true)?,
    ))
}
