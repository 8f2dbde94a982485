use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};

use super::{load_visible, stored_record, stored_state};
use crate::domain::registry::PublicationState;
use crate::error::{ApiError, Problem};
use crate::export::jsonld::{self, Entry};
use crate::startup::AppState;
use crate::store::registries::RegistryRow;

pub const JSON_LD: &str = "application/ld+json";

/// The scheme and host the client used, so that the identifiers in a
/// document lead back here (behind a proxy: from `Forwarded` / `X-Forwarded-*`).
pub fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// The `Link` header of a registry's page: where its linked-data forms are.
pub fn alternates(code: &str) -> String {
    format!(
        "</api/v1/registries/{code}/dcat-ap.jsonld>; rel=\"alternate\"; type=\"{JSON_LD}\"; profile=\"http://data.europa.eu/r5r/\", \
         </api/v1/registries/{code}/schema-org.jsonld>; rel=\"alternate\"; type=\"{JSON_LD}\"; profile=\"https://schema.org/\""
    )
}

/// A published registry; anything else is 404 here, also for the office:
/// these documents are for other catalogues, which see only the public catalogue.
async fn published(state: &AppState, code: String) -> Result<RegistryRow, ApiError> {
    let (row, _) = state
        .store
        .read(move |conn| load_visible(conn, &code, None))
        .await?;
    if stored_state(&row.publication_state)? != PublicationState::Published {
        return Err(ApiError::not_found(format!(
            "No registry {}",
            row.registry_code
        )));
    }
    Ok(row)
}

fn respond(
    req: &HttpRequest,
    row: &RegistryRow,
    document: fn(&Entry<'_>, &str) -> serde_json::Value,
) -> Result<HttpResponse, ApiError> {
    let record = stored_record(&row.record)?.public();
    let entry = Entry {
        record: &record,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    };
    Ok(HttpResponse::Ok()
        .content_type(JSON_LD)
        .insert_header((header::LINK, alternates(&row.registry_code)))
        .json(document(&entry, &base_url(req))))
}

/// A published registry as DCAT-AP with the HealthDCAT-AP extension
/// (`dcat:Dataset`, JSON-LD with an inline context), for EU real-world-data
/// catalogues and open-data portals. No personal data.
#[utoipa::path(get, path = "/api/v1/registries/{code}/dcat-ap.jsonld", operation_id = "registry_dcat_ap", tag = "linked data",
    params(("code" = String, Path, description = "Registry code", example = "CIN-R-000001")),
    responses(
        (status = 200, description = "The registry as a dcat:Dataset", body = serde_json::Value, content_type = "application/ld+json"),
        (status = 404, description = "No such published registry", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/registries/{code}/dcat-ap.jsonld")]
pub async fn registry_dcat_ap(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = published(&state, code.into_inner()).await?;
    respond(&req, &row, jsonld::dcat_dataset)
}

/// A published registry as a schema.org `Dataset` (JSON-LD with an inline
/// context), as general search engines read it. No personal data.
#[utoipa::path(get, path = "/api/v1/registries/{code}/schema-org.jsonld", operation_id = "registry_schema_org", tag = "linked data",
    params(("code" = String, Path, description = "Registry code", example = "CIN-R-000001")),
    responses(
        (status = 200, description = "The registry as a schema.org Dataset", body = serde_json::Value, content_type = "application/ld+json"),
        (status = 404, description = "No such published registry", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/registries/{code}/schema-org.jsonld")]
pub async fn registry_schema_org(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = published(&state, code.into_inner()).await?;
    respond(&req, &row, jsonld::schema_org_dataset)
}
