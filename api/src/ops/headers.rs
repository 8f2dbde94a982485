//! Security headers on every response, and a limit on the query string.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error};

use crate::error::{ApiError, ErrorCode};

/// The longest query string accepted. The longest real one (a search with
/// every facet filter) is well under 2 KiB.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;

/// The API serves data, never pages that load anything.
const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";
/// Swagger UI loads its own scripts, styles and images and fetches the document.
const DOCS_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

/// What varies by deployment: HSTS only makes sense behind HTTPS.
#[derive(Debug, Clone, Default)]
pub struct SecurityHeaders {
    /// `max-age` of `Strict-Transport-Security`; none, no header.
    pub hsts_max_age: Option<u64>,
}

pub async fn security(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let hsts = req
        .app_data::<web::Data<SecurityHeaders>>()
        .and_then(|s| s.hsts_max_age);
    let docs = req.path() == "/docs" || req.path().starts_with("/docs/");
    let mut response = if req.query_string().len() > MAX_QUERY_BYTES {
        req.error_response(ApiError::new(
            ErrorCode::QueryTooLong,
            format!("The query string must be at most {MAX_QUERY_BYTES} bytes"),
        ))
    } else {
        next.call(req).await?.map_into_boxed_body()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // The pages set a policy of their own (they load the service's own
    // styles and script); everything else gets the API's or the docs'.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(if docs { DOCS_POLICY } else { API_POLICY }),
        );
    }
    if let Some(max_age) = hsts {
        if let Ok(value) = HeaderValue::from_str(&format!("max-age={max_age}")) {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, value);
        }
    }
    Ok(response)
}
