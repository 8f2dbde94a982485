use actix_web::{post, web, HttpResponse};

use super::{load_visible, Registry};
use crate::auth::CurrentUser;
use crate::domain::access;
use crate::error::{ApiError, Problem};
use crate::reminders;
use crate::routes::with_etag;
use crate::startup::AppState;
use crate::store::registries::RegistryRow;

/// Confirm that a registry's entry is still right ("no change"): records a
/// confirmation revision and starts a new update cycle. The registry's
/// holders and the office may; any edit by a holder confirms too.
#[utoipa::path(post, path = "/api/v1/registries/{code}/confirmations", tag = "catalogue",
    params(("code" = String, Path, description = "Registry code", example = "CIN-R-000001")),
    responses(
        (status = 200, description = "Confirmed: the new revision", body = Registry,
            headers(("ETag" = String, description = "The new revision"))),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office, and not a holder of this registry", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such registry, or not visible to you", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[post("/registries/{code}/confirmations")]
pub async fn confirm_registry(
    state: web::Data<AppState>,
    user: CurrentUser,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = confirm_as(&state, user, code.into_inner()).await?;
    Ok(with_etag(
        HttpResponse::Ok(),
        row.revision,
        &Registry::from_row(&row, true)?,
    ))
}

/// Confirms "no change" as `user`; the API and the holder's page both confirm here.
pub async fn confirm_as(
    state: &web::Data<AppState>,
    user: CurrentUser,
    code: String,
) -> Result<RegistryRow, ApiError> {
    let now = state.clock.now();
    let row = state
        .store
        .write(move |conn| {
            let (current, actor) = load_visible(conn, &code, Some(&user))?;
            if !actor.is_some_and(access::may_edit_registry) {
                return Err(ApiError::forbidden(
                    "Only the office and this registry's holders may confirm it",
                ));
            }
            reminders::confirm(conn, &current, &user.id, now)
        })
        .await?;
    super::index_now(state).await;
    Ok(row)
}
