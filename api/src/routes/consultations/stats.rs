use std::collections::BTreeMap;

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::RangeQuery;
use crate::auth::CurrentUser;
use crate::consultations::figures;
use crate::domain::access;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::startup::AppState;

/// Inquiries submitted in one month (Japan time).
#[derive(Debug, Serialize, ToSchema)]
pub struct MonthCount {
    #[schema(example = "2026-11")]
    pub month: String,
    pub submitted: i64,
}

/// Something someone should have done on an open inquiry by now.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverdueDuty {
    pub consultation_id: uuid::Uuid,
    pub subject: String,
    /// The registry, when the duty is about one.
    pub registry_code: Option<String>,
    /// `office`, `requester` or `holder`.
    #[schema(example = "holder")]
    pub who_must_act: String,
    /// The state the duty belongs to (`decide`: every registry answered).
    pub step: String,
    /// When the clock started: the state was entered or the holder last wrote.
    pub since: DateTime<Utc>,
    /// When the time limit (in Japanese business days) ran out.
    pub due: DateTime<Utc>,
    /// Past the limit by the escalation margin: the office has been told.
    pub far_overdue: bool,
    pub business_days_late: u32,
}

/// The office's figures for the desk.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationStats {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Inquiries submitted in the range.
    pub total: i64,
    /// Every state, with the number of inquiries of the range in it now.
    pub by_status: BTreeMap<String, i64>,
    /// Every kind, with the number of inquiries of the range.
    pub by_kind: BTreeMap<String, i64>,
    /// Months with submissions, in order.
    pub by_month: Vec<MonthCount>,
    /// Calendar days from submission to the first answer by the office or a
    /// holder (a move or a shared message); null when none was answered.
    pub median_days_to_first_response: Option<f64>,
    /// Calendar days from submission to agreed, declined or concluded.
    pub median_days_to_decision: Option<f64>,
    /// Open inquiries (of any date) past a time limit now, oldest first.
    pub overdue: Vec<OverdueDuty>,
}

/// Counts by state, kind and month, the overdue list and the median times
/// (office).
#[utoipa::path(get, path = "/api/v1/consultations/stats", operation_id = "consultation_stats", tag = "consultations",
    params(RangeQuery),
    responses(
        (status = 200, description = "The figures", body = ConsultationStats),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office or admin", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[get("/consultations/stats")]
pub async fn stats(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<RangeQuery>,
) -> Result<HttpResponse, ApiError> {
    user.require(access::may_manage_catalogue, "read the desk's figures")?;
    let range = query.0;
    let now = state.clock.now();
    let limits = state.sla;
    let stats = state
        .store
        .read(move |conn| figures::stats(conn, &range, &limits, now))
        .await?;
    Ok(HttpResponse::Ok().json(stats))
}
