use actix_web::{get, web, HttpResponse};

use actix_web::http::header;

use super::linked_data::alternates;
use super::{load_visible, Registry};
use crate::auth::MaybeUser;
use crate::domain::access;
use crate::domain::registry::PublicationState;
use crate::error::{ApiError, Problem};
use crate::routes::with_etag;
use crate::startup::AppState;

/// One registry. Published entries are public; contact details only for the
/// office and the registry's holders.
#[utoipa::path(get, path = "/api/v1/registries/{code}", tag = "catalogue",
    params(("code" = String, Path, description = "Registry code", example = "CIN-R-000001")),
    responses(
        (status = 200, description = "The registry", body = Registry,
            headers(("ETag" = String, description = "Current revision, for If-Match"),
                ("Link" = String, description = "For published registries: its DCAT-AP and schema.org JSON-LD documents (rel=alternate)"))),
        (status = 401, description = "A token was sent and is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such registry, or not visible to you", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])))]
#[get("/registries/{code}")]
pub async fn read_registry(
    state: web::Data<AppState>,
    user: MaybeUser,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (row, actor) = state
        .store
        .read(move |conn| load_visible(conn, &code, user.0.as_ref()))
        .await?;
    let private = actor.is_some_and(access::may_see_private);
    let mut response = HttpResponse::Ok();
    if row.publication_state == PublicationState::Published.as_str() {
        response.insert_header((header::LINK, alternates(&row.registry_code)));
    }
    Ok(with_etag(
        response,
        row.revision,
        &Registry::from_row(&row, private)?,
    ))
}
