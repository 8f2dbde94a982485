use actix_web::{get, web, HttpResponse};

use super::{view, Consultation};
use crate::auth::CurrentUser;
use crate::consultations::{self, Caller};
use crate::error::{ApiError, Problem};
use crate::startup::AppState;

/// One inquiry with its registries and every move. Company accounts see their
/// organisation's inquiries, holders those forwarded to their registries (and
/// only their registries' answers), the office all.
#[utoipa::path(get, path = "/api/v1/consultations/{id}", operation_id = "read_consultation", tag = "consultations",
    params(("id" = uuid::Uuid, Path, description = "Inquiry id")),
    responses(
        (status = 200, description = "The inquiry", body = Consultation),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such inquiry, or not yours to see", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[get("/consultations/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let caller = Caller::from(&user);
    let view = state
        .store
        .read(move |conn| {
            let visible = consultations::load_visible(conn, &id, &caller)?;
            view(conn, &visible)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
