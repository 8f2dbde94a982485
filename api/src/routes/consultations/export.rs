use actix_web::{get, web, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::CurrentUser;
use crate::consultations::figures;
use crate::domain::access;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::startup::AppState;

/// A range of submission dates in Japan, both ends included.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// First day (Japan time) of submission; default: the beginning.
    #[param(example = "2026-04-01")]
    pub from: Option<NaiveDate>,
    /// Last day (Japan time) of submission, included; default: today and later.
    #[param(example = "2027-03-31")]
    pub to: Option<NaiveDate>,
}

impl RangeQuery {
    /// `[start, end)` in UTC. A `from` after `to` is an empty range.
    pub fn bounds(&self) -> (NaiveDateTime, NaiveDateTime) {
        figures::bounds(self.from, self.to)
    }
}

/// Every inquiry submitted in the range as CSV, for the yearly report
/// (office). UTF-8 with a byte-order mark so that spreadsheet programs read
/// the Japanese text; timestamps in UTC; one line per inquiry.
#[utoipa::path(get, path = "/api/v1/consultations/export.csv", operation_id = "export_consultations", tag = "consultations",
    params(RangeQuery),
    responses(
        (status = 200, description = "The inquiries as CSV: id, submitted_at, organisation, requester_email, kind, subject, status, registries, assignee_email, first_response_at, decided_at, days_to_first_response, days_to_decision", body = String, content_type = "text/csv"),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office or admin", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[get("/consultations/export.csv")]
pub async fn export(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<RangeQuery>,
) -> Result<HttpResponse, ApiError> {
    user.require(access::may_manage_catalogue, "export inquiries")?;
    let (from, to) = query.0.bounds();
    let csv = state
        .store
        .read(move |conn| figures::csv(conn, from, to))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"consultations.csv\"",
        ))
        .body(csv))
}
