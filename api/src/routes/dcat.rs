//! The whole published catalogue as one DCAT-AP catalogue, for harvesters.

use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::registries::linked_data::{base_url, JSON_LD};
use super::registries::stored_record;
use crate::domain::registry::RegistryRecord;
use crate::error::{ApiError, Problem};
use crate::export::jsonld::{self, CatalogPage, Entry};
use crate::extract::parse_query;
use crate::startup::AppState;
use crate::store::registries;

/// Datasets per page of the catalogue document.
pub const DATASETS_PER_PAGE: u32 = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CatalogQuery {
    /// 1-based; each page holds 500 registries in code order and links the others (Hydra).
    #[param(minimum = 1, maximum = 100000, default = 1)]
    pub page: Option<u32>,
}

/// The published catalogue as a DCAT-AP `dcat:Catalog` (JSON-LD, inline
/// context) with every registry as a HealthDCAT-AP `dcat:Dataset`. Harvesters
/// follow `hydra:view` / `hydra:next` through the pages.
#[utoipa::path(get, path = "/api/v1/catalogue/dcat.jsonld", operation_id = "dcat_catalogue", tag = "linked data",
    params(CatalogQuery),
    responses(
        (status = 200, description = "One page of the catalogue", body = serde_json::Value, content_type = "application/ld+json"),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/catalogue/dcat.jsonld")]
pub async fn dcat_catalogue(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    // Read here rather than by `Query`, which leaves `page` to the list paging.
    let query: CatalogQuery = parse_query(req.query_string(), |_| true)?;
    let page = query.page.unwrap_or(1);
    if !(1..=100_000).contains(&page) {
        return Err(ApiError::query("page", "must be between 1 and 100000"));
    }
    let offset = i64::from(page - 1) * i64::from(DATASETS_PER_PAGE);
    let (rows, total) = state
        .store
        .read(move |conn| {
            let filter = registries::ListFilter {
                visibility: registries::Visibility::Published,
                publication_state: None,
                text: None,
            };
            registries::list(conn, &filter, offset, DATASETS_PER_PAGE.into())
                .map_err(ApiError::from)
        })
        .await?;
    let per_page = i64::from(DATASETS_PER_PAGE);
    let pages = u32::try_from((total.max(1) + per_page - 1) / per_page).unwrap_or(u32::MAX);
    let records = rows
        .iter()
        .map(|row| stored_record(&row.record).map(|r| r.public()))
        .collect::<Result<Vec<RegistryRecord>, _>>()?;
    let entries: Vec<Entry<'_>> = rows
        .iter()
        .zip(&records)
        .map(|(row, record)| Entry {
            record,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        })
        .collect();
    let document = jsonld::dcat_catalog(
        &entries,
        &base_url(&req),
        &CatalogPage { page, pages, total },
    );
    Ok(HttpResponse::Ok().content_type(JSON_LD).json(document))
}
