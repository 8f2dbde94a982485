//! One middleware around every request: gives it an id (echoed in
//! `X-Request-Id`, carried by problem bodies and by every log line written
//! while it is served), counts and times it per route pattern, and writes one
//! log line when it is answered.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error};
use tracing::Instrument;

use super::request_id;
use crate::startup::AppState;

pub async fn telemetry(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let id = request_id::from_headers(req.headers());
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.metrics.clone());
    let method = req.method().to_string();
    let path = req.path().to_string();
    let peer = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let span = tracing::info_span!("request", request_id = %id);
    // Handlers and extractors turn their errors into responses inside this
    // scope, so problem bodies carry the id. (Only a middleware's own `Err`
    // would be answered outside it; ours answer with responses.)
    let mut response = request_id::scope(id.clone(), || next.call(req))
        .instrument(span.clone())
        .await?
        .map_into_boxed_body();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(request_id::HEADER), value);
    }
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let status = response.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    if let Some(metrics) = metrics {
        metrics.observe_request(&method, &route, status, seconds);
    }
    tracing::info!(
        parent: &span,
        %peer,
        %method,
        %path,
        %route,
        status,
        ms = (seconds * 1000.0 * 10.0).round() / 10.0,
        "answered"
    );
    Ok(response)
}
