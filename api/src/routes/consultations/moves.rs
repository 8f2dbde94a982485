use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{registry_codes, text_field, view, Consultation};
use crate::auth::CurrentUser;
use crate::consultations::{self, Caller, MoveInput};
use crate::domain::consultation::{ConsultationState, RegistryAnswerState};
use crate::error::{ApiError, Problem};
use crate::extract::JsonBody;
use crate::startup::AppState;

/// Move an inquiry as a whole.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    pub to: ConsultationState,
    /// Shown to everyone who sees the inquiry's history.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
    /// When forwarding: registries to add to those the company named.
    #[serde(default)]
    #[schema(max_items = 20, example = json!([]))]
    pub registries: Vec<String>,
}

/// Move one registry's answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryMoveRequest {
    pub to: RegistryAnswerState,
    /// Shown to everyone who sees this registry's answer.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

fn comment(
    errors: &mut Vec<crate::domain::validation::FieldError>,
    c: Option<String>,
) -> Option<String> {
    c.filter(|c| !c.trim().is_empty())
        .map(|c| text_field(errors, "comment", &c, 2000))
}

/// Move an inquiry. The office triages (`in_triage`), asks the requester
/// (`waiting_for_requester`), forwards (`forwarded`, at least one registry),
/// decides (`agreed`, `declined`, `concluded_without_agreement`) or closes
/// (`closed`); the requester answers (`in_triage`) or withdraws
/// (`withdrawn`) while it is open. Anything else is a 409 naming the moves
/// you may make; of two moves at once, exactly one succeeds.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/moves", operation_id = "move_consultation", tag = "consultations",
    params(("id" = uuid::Uuid, Path, description = "Inquiry id")),
    request_body = MoveRequest,
    responses(
        (status = 200, description = "Moved; the people concerned are notified", body = Consultation),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such inquiry, or not yours to see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a move you may make from here (or someone moved it first); `allowed` names the moves you may make", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (also: forwarding with no registry, or naming one not in the public catalogue)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[post("/consultations/{id}/moves")]
pub async fn move_inquiry(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: JsonBody<MoveRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0;
    let mut errors = Vec::new();
    let comment = comment(&mut errors, request.comment);
    let add_registries = registry_codes(&mut errors, "registries", &request.registries, 20);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let now = state.clock.now();
    let caller = Caller::from(&user);
    let view = state
        .store
        .write(move |conn| {
            let visible = consultations::move_inquiry(
                conn,
                &caller,
                &id,
                request.to,
                MoveInput {
                    comment,
                    add_registries,
                },
                now,
                true,
            )?;
            view(conn, &visible)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Move one registry's answer while the inquiry is forwarded. Its holder
/// checks (`checking`), answers (`available`, `not_available`), states
/// conditions (`conditions_stated`) and provides (`provided`); the requester
/// accepts or declines the conditions. Anything else is a 409 naming the
/// moves you may make.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/registries/{code}/moves", operation_id = "move_consultation_registry", tag = "consultations",
    params(
        ("id" = uuid::Uuid, Path, description = "Inquiry id"),
        ("code" = String, Path, description = "Registry code", example = "CIN-R-000001"),
    ),
    request_body = RegistryMoveRequest,
    responses(
        (status = 200, description = "Moved; the people concerned are notified", body = Consultation),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such inquiry, or it is not about this registry, or not yours to see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a move you may make from here (or someone moved it first); `allowed` names the moves you may make", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[post("/consultations/{id}/registries/{code}/moves")]
pub async fn move_registry(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    body: JsonBody<RegistryMoveRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, code) = path.into_inner();
    let request = body.0;
    let mut errors = Vec::new();
    let comment = comment(&mut errors, request.comment);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let now = state.clock.now();
    let caller = Caller::from(&user);
    let view = state
        .store
        .write(move |conn| {
            let visible = consultations::move_registry(
                conn, &caller, &id, &code, request.to, comment, now, true,
            )?;
            view(conn, &visible)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
