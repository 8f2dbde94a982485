//! Prometheus metrics of this instance.

use actix_web::{get, web, HttpResponse};

use crate::error::{ApiError, Problem};
use crate::startup::AppState;

/// Metrics in the Prometheus text format: requests and their latency per
/// route and status, search latency, the index's lag behind the change log,
/// the outbox by status (dead letters included), the database pool.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let state = state.into_inner();
    let text = web::block(move || state.metrics.render(&state.store, &state.search))
        .await
        .map_err(ApiError::internal)??;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
