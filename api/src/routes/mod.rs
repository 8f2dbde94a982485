//! HTTP routes under `/api/v1`. Handlers parse input, ask `domain::access`,
//! and call the store or `catalogue`; they hold no rules of their own.

pub mod audit;
pub mod auth;
pub mod confirmations;
pub mod consultations;
pub mod dcat;
pub mod health;
pub mod metrics;
pub mod outbox;
pub mod registries;
pub mod survey;
pub mod updates;
pub mod users;
pub mod vocabularies;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorCode};

pub const MAX_PER_PAGE: u32 = 100;
const MAX_PAGE: u32 = 100_000;

/// `page` / `per_page` of every list.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// 1-based page number (at most 100000).
    #[param(minimum = 1, maximum = 100000, default = 1)]
    pub page: Option<u32>,
    /// Items per page (1 to 100).
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub per_page: Option<u32>,
}

impl actix_web::FromRequest for Paging {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(crate::extract::parse_query(req.query_string(), |name| {
            crate::extract::PAGING_PARAMS.contains(&name)
        }))
    }
}

impl Paging {
    /// (page, per_page, offset), or a 400 naming the parameter out of range.
    pub fn resolve(self) -> Result<(u32, u32, i64), ApiError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(20);
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(ApiError::query(
                "page",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(ApiError::query(
                "per_page",
                format!("must be between 1 and {MAX_PER_PAGE}"),
            ));
        }
        Ok((page, per_page, i64::from(page - 1) * i64::from(per_page)))
    }
}

/// One page of a list, in a stable order, with the total across pages.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}

/// The strong entity tag of a revision.
pub fn etag(revision: i32) -> String {
    format!("\"{revision}\"")
}

/// The revision an `If-Match` header names: 428 when missing, 412 when it is
/// not the current one. `*` matches any revision.
pub fn check_if_match(
    if_match: Option<&header::HeaderValue>,
    current: i32,
    code: &str,
) -> Result<(), ApiError> {
    let Some(value) = if_match else {
        return Err(ApiError::new(
            ErrorCode::PreconditionRequired,
            format!("Send `If-Match` with the ETag you read from GET /api/v1/registries/{code}"),
        ));
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::new(ErrorCode::InvalidHeader, "`If-Match` is not ASCII"))?;
    let current = etag(current);
    let matches = value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == current);
    if matches {
        Ok(())
    } else {
        Err(crate::catalogue::stale(code))
    }
}

pub fn with_etag<T: Serialize>(
    mut response: actix_web::HttpResponseBuilder,
    revision: i32,
    body: &T,
) -> HttpResponse {
    response
        .insert_header((header::ETAG, etag(revision)))
        .json(body)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(metrics::metrics)
        .service(confirmations::confirm_page)
        .service(confirmations::confirm_form)
        .service(
            web::scope("/api/v1")
                .service(auth::token)
                .service(auth::refresh)
                .service(auth::logout)
                .service(auth::me)
                .service(users::create_user)
                .service(users::list_users)
                .service(vocabularies::list_vocabularies)
                .service(audit::list_audit)
                .service(outbox::list)
                .service(survey::import_survey)
                .service(dcat::dcat_catalogue)
                .service(outbox::requeue)
                .service(confirmations::confirm_with_link)
                .service(updates::list_registry_updates)
                .configure(registries::configure)
                .configure(consultations::configure),
        );
}

/// Unknown paths are 404; known paths with another method are 405 naming the
/// allowed methods. Both read the OpenAPI document, so they cannot drift from it.
pub async fn fallback(req: HttpRequest) -> HttpResponse {
    let path = req.path();
    let allowed = crate::openapi::methods_for(path);
    if allowed.is_empty() {
        actix_web::ResponseError::error_response(&ApiError::not_found(format!(
            "No resource at {path}"
        )))
    } else {
        let mut response = actix_web::ResponseError::error_response(&ApiError::new(
            ErrorCode::MethodNotAllowed,
            format!("{path} allows {}", allowed.join(", ")),
        ));
        if let Ok(value) = header::HeaderValue::from_str(&allowed.join(", ")) {
            response.headers_mut().insert(header::ALLOW, value);
        }
        response
    }
}
