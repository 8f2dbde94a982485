use actix_web::{get, web, HttpResponse};

use super::RangeQuery;
use crate::auth::CurrentUser;
use crate::consultations::figures::{self, ConsultationStats};
use crate::domain::access;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::startup::AppState;

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
        .read(move |conn| figures::stats(conn, range.from, range.to, &limits, now))
        .await?;
    Ok(HttpResponse::Ok().json(stats))
}
