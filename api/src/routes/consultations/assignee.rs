use actix_web::{put, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{view, Consultation};
use crate::auth::CurrentUser;
use crate::consultations::{self, Caller};
use crate::domain::access;
use crate::error::{ApiError, Problem};
use crate::extract::JsonBody;
use crate::startup::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssigneeRequest {
    /// An office or admin account; null to leave the inquiry to the whole office.
    pub assignee_id: Option<uuid::Uuid>,
}

/// Put someone in the office in charge of an inquiry (office). They are notified.
#[utoipa::path(put, path = "/api/v1/consultations/{id}/assignee", operation_id = "assign_consultation", tag = "consultations",
    params(("id" = uuid::Uuid, Path, description = "Inquiry id")),
    request_body = AssigneeRequest,
    responses(
        (status = 200, description = "Assigned", body = Consultation),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office or admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such inquiry", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed by someone else at the same moment", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an office or admin account", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[put("/consultations/{id}/assignee")]
pub async fn assign(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: JsonBody<AssigneeRequest>,
) -> Result<HttpResponse, ApiError> {
    user.require(access::may_manage_catalogue, "assign inquiries")?;
    let now = state.clock.now();
    let caller = Caller::from(&user);
    let assignee = body.0.assignee_id.map(|id| id.to_string());
    let view = state
        .store
        .write(move |conn| {
            let visible = consultations::assign(conn, &caller, &id, assignee, now)?;
            view(conn, &visible)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
