//! The OpenAPI document, generated from the handlers' annotations.

use std::sync::LazyLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorCode;
use crate::extract::MAX_BODY_BYTES;
use crate::routes::{self, registries, MAX_PER_PAGE};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "CIN Registry Catalogue API",
        description = "The catalogue of Japan's Clinical Innovation Network: national disease and patient registries, kept current by their holders.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        routes::health::healthz,
        routes::health::readyz,
        routes::auth::token,
        routes::auth::refresh,
        routes::auth::logout,
        routes::auth::me,
        routes::users::create,
        routes::users::list,
        routes::vocabularies::list,
        routes::audit::list,
        registries::list,
        registries::create,
        registries::read,
        registries::update,
        registries::publish,
        registries::withdraw,
        registries::list_holders,
        registries::add_holder,
        registries::remove_holder,
        registries::list_revisions,
        registries::read_revision,
        registries::compare_revisions,
    ),
    modifiers(&Conventions),
    tags(
        (name = "catalogue", description = "Registries: read by anyone, kept by holders and the office"),
        (name = "auth", description = "Sign-in and tokens"),
        (name = "users", description = "Accounts"),
        (name = "operations", description = "Health, readiness, audit"),
    )
)]
pub struct ApiDoc;

/// Adds the bearer scheme and the conventions every client needs: the error
/// table, the body limit and the paging cap.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("Access token from POST /api/v1/auth/token"))
                    .build(),
            ),
        );
        let mut text = openapi.info.description.clone().unwrap_or_default();
        text.push_str(&format!(
            "\n\n## Conventions\n\n\
             - Request bodies are JSON, at most {MAX_BODY_BYTES} bytes.\n\
             - Lists take `page` (from 1) and `per_page` (1 to {MAX_PER_PAGE}, default 20) and return the `total`.\n\
             - Updates need `If-Match` with the `ETag` of the revision you read: 428 without it, 412 when stale.\n\
             - Errors are RFC 9457 `application/problem+json` with a stable `code`; validation errors list every failing field in `errors`.\n\n\
             ## Error codes\n\n| code | HTTP status | meaning |\n|---|---|---|\n"
        ));
        for code in ErrorCode::ALL {
            text.push_str(&format!(
                "| `{}` | {} | {} |\n",
                code.as_str(),
                code.status().as_u16(),
                code.title()
            ));
        }
        openapi.info.description = Some(text);
    }
}

/// The document served at /openapi.json and committed as openapi/openapi.json.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub fn to_pretty_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    json.push('\n');
    json
}

/// Each documented path as segments (`None` for a `{parameter}`) with its methods.
static ROUTES: LazyLock<Vec<(Vec<Option<String>>, Vec<&'static str>)>> = LazyLock::new(|| {
    document()
        .paths
        .paths
        .iter()
        .map(|(path, item)| {
            let segments = path
                .split('/')
                .map(|s| (!s.starts_with('{')).then(|| s.to_string()))
                .collect();
            let methods = [
                ("GET", item.get.is_some()),
                ("PUT", item.put.is_some()),
                ("POST", item.post.is_some()),
                ("DELETE", item.delete.is_some()),
                ("PATCH", item.patch.is_some()),
            ]
            .into_iter()
            .filter_map(|(m, present)| present.then_some(m))
            .collect();
            (segments, methods)
        })
        .collect()
});

/// The documented methods of the path a request went to; empty when the path is unknown.
pub fn methods_for(path: &str) -> Vec<&'static str> {
    let parts: Vec<&str> = path.split('/').collect();
    ROUTES
        .iter()
        .filter(|(segments, _)| {
            segments.len() == parts.len()
                && segments.iter().zip(&parts).all(|(s, p)| match s {
                    Some(literal) => literal == p,
                    None => !p.is_empty(),
                })
        })
        .flat_map(|(_, methods)| methods.iter().copied())
        .collect()
}
