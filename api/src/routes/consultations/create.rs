use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{registry_codes, text_field, view, Consultation};
use crate::auth::CurrentUser;
use crate::consultations::{self, Caller, NewInquiry};
use crate::domain::consultation::ConsultationKind;
use crate::domain::role::Role;
use crate::error::{ApiError, Problem};
use crate::extract::JsonBody;
use crate::startup::AppState;

/// A company's question about zero or more registries.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsultation {
    pub kind: ConsultationKind,
    /// At least one visible character.
    #[schema(max_length = 200, pattern = r"^[^\u0000]*[^\s\u0000\u0085][^\u0000]*$")]
    pub subject: String,
    /// The question. Files are not accepted: put links in the text.
    #[schema(
        max_length = 20000,
        pattern = r"^[^\u0000]*[^\s\u0000\u0085][^\u0000]*$"
    )]
    pub body: String,
    /// When the company would like an answer or the data, in its own words.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub desired_timeline: Option<String>,
    /// Codes of published registries (none for help building a registry).
    #[serde(default)]
    #[schema(max_items = 20, example = json!(["CIN-R-000001"]))]
    pub registries: Vec<String>,
}

impl NewConsultation {
    fn check(self) -> Result<NewInquiry, ApiError> {
        let mut errors = Vec::new();
        let subject = text_field(&mut errors, "subject", &self.subject, 200);
        let body = text_field(&mut errors, "body", &self.body, 20_000);
        let desired_timeline = self
            .desired_timeline
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if self
            .desired_timeline
            .as_deref()
            .is_some_and(|t| t.chars().count() > 200)
        {
            errors.push(crate::domain::validation::FieldError::new(
                "desired_timeline",
                "too_long",
                "at most 200 characters",
            ));
        }
        let registries = registry_codes(&mut errors, "registries", &self.registries, 20);
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        Ok(NewInquiry {
            kind: self.kind,
            subject,
            body,
            desired_timeline,
            registries,
        })
    }
}

/// Send an inquiry to the CIN office (company accounts). The office is told.
#[utoipa::path(post, path = "/api/v1/consultations", operation_id = "create_consultation", tag = "consultations", request_body = NewConsultation,
    responses(
        (status = 201, description = "Submitted", body = Consultation, headers(("Location" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a company account", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named (also: a registry that is not in the public catalogue)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[post("/consultations")]
pub async fn create(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: JsonBody<NewConsultation>,
) -> Result<HttpResponse, ApiError> {
    let view = submit(&state, user, body.0).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/consultations/{}", view.id)))
        .json(view))
}

/// Checks and submits a company's inquiry; the API and the inquiry page both send it here.
pub async fn submit(
    state: &AppState,
    user: CurrentUser,
    inquiry: NewConsultation,
) -> Result<Consultation, ApiError> {
    user.require(|r| r == Role::Company, "send inquiries")?;
    let new = inquiry.check()?;
    let now = state.clock.now();
    let caller = Caller::from(&user);
    state
        .store
        .write(move |conn| {
            let row = consultations::submit(conn, &caller, new, now, true)?;
            let visible = consultations::load_visible(conn, &row.id, &caller)?;
            view(conn, &visible)
        })
        .await
}
