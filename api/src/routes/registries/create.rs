use actix_web::{post, web, HttpResponse};
use chrono::Datelike;

use super::Registry;
use crate::auth::CurrentUser;
use crate::catalogue::{self, NewRegistry};
use crate::domain::access;
use crate::domain::registry::{PublicationState, RegistryRecord};
use crate::error::{ApiError, Problem};
use crate::extract::JsonBody;
use crate::routes::with_etag;
use crate::startup::AppState;

/// Add a registry to the catalogue as a draft (office).
#[utoipa::path(post, path = "/api/v1/registries", tag = "catalogue", request_body = RegistryRecord,
    responses(
        (status = 201, description = "Created as a draft", body = Registry,
            headers(("ETag" = String, description = "Revision 1"), ("Location" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office or admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Registry code taken", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[post("/registries")]
pub async fn create_registry(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: JsonBody<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    user.require(access::may_manage_catalogue, "add registries")?;
    let now = state.clock.now();
    let record = RegistryRecord::parse(body.0, now.year()).map_err(ApiError::validation)?;
    let row = state
        .store
        .write(move |conn| {
            catalogue::create(
                conn,
                NewRegistry {
                    record,
                    state: PublicationState::Draft,
                    last_confirmed_at: None,
                },
                Some(&user.id),
                now,
            )
        })
        .await?;
    super::index_now(&state).await;
    let mut response = HttpResponse::Created();
    response.insert_header((
        "Location",
        format!("/api/v1/registries/{}", row.registry_code),
    ));
    Ok(with_etag(
        response,
        row.revision,
        &Registry::from_row(&row, true)?,
    ))
}
