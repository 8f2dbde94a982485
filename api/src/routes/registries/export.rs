use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::search::SearchParams;
use super::{stored_record, Registry};
use crate::domain::registry::PublicationState;
use crate::error::{ApiError, Problem};
use crate::export::table;
use crate::extract::{parse_query, Query};
use crate::startup::AppState;
use crate::store::registries::{self, RegistryRow};

/// The most registries one search export holds; the whole catalogue has its own export.
pub const MAX_SEARCH_EXPORT: usize = 10_000;

/// Registries read per query while exporting.
const PAGE: i64 = 1_000;

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// UTF-8 with a byte-order mark, the survey's columns.
    #[default]
    Csv,
    /// One sheet, the survey's columns.
    Xlsx,
    /// `{"total", "items"}` with the registries as the API shows them.
    Json,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (default), `xlsx` or `json`.
    pub format: Option<ExportFormat>,
}

/// The JSON form of an export.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistryExport {
    pub total: usize,
    pub items: Vec<Registry>,
}

/// The whole published catalogue as a file, in registry code order. CSV and
/// XLSX have the survey's columns (without the contact, which is personal
/// data) and import back unchanged; JSON has the registries as the API shows
/// them to the public.
#[utoipa::path(get, path = "/api/v1/registries/export", operation_id = "export_catalogue", tag = "catalogue",
    params(ExportQuery),
    responses(
        (status = 200, description = "The catalogue", content(
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (RegistryExport = "application/json"),
        )),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/registries/export")]
pub async fn export_catalogue(
    state: web::Data<AppState>,
    query: Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let rows = state
        .store
        .read(|conn| {
            let mut rows: Vec<RegistryRow> = Vec::new();
            loop {
                let after = rows.last().map(|r| r.registry_code.clone());
                let page = registries::published_after(conn, after.as_deref().unwrap_or(""), PAGE)?;
                if page.is_empty() {
                    return Ok::<_, ApiError>(rows);
                }
                rows.extend(page);
            }
        })
        .await?;
    respond(query.0.format.unwrap_or_default(), rows, "cin-catalogue").await
}

/// The registries a search finds (the parameters of `GET
/// /api/v1/registries/search`, without paging), best match first, as a file.
#[utoipa::path(get, path = "/api/v1/registries/search/export", operation_id = "export_search", tag = "catalogue",
    params(SearchParams, ExportQuery),
    responses(
        (status = 200, description = "The matching registries, at most 10000", content(
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (RegistryExport = "application/json"),
        )),
        (status = 400, description = "A parameter is invalid, or more than 10000 registries match", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/registries/search/export")]
pub async fn export_search(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    // The search's own parameters, and `format`: one query string, two readers.
    let format: ExportQuery = parse_query(req.query_string(), |name| name == "format")?;
    let params: SearchParams = parse_query(req.query_string(), |name| name != "format")?;
    let request = params.request(0, MAX_SEARCH_EXPORT, Vec::new())?;
    let search = state.search.clone();
    let found = tokio::task::spawn_blocking(move || search.index().search(&request))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    if found.total > MAX_SEARCH_EXPORT {
        return Err(ApiError::query(
            "q",
            format!(
                "{} registries match; narrow the search to at most {MAX_SEARCH_EXPORT}, or export the whole catalogue",
                found.total
            ),
        ));
    }
    let codes: Vec<String> = found.hits.into_iter().map(|h| h.code).collect();
    let rows = state
        .store
        .read(move |conn| {
            let mut found = Vec::with_capacity(codes.len());
            for chunk in codes.chunks(PAGE as usize) {
                found.extend(registries::find_by_codes(conn, chunk)?);
            }
            // Best match first, as the search ranked them; the database has the
            // last word on what is published.
            let rank: std::collections::HashMap<&str, usize> = codes
                .iter()
                .enumerate()
                .map(|(i, c)| (c.as_str(), i))
                .collect();
            found.retain(|r| r.publication_state == PublicationState::Published.as_str());
            found.sort_by_key(|r| rank.get(r.registry_code.as_str()).copied());
            Ok::<_, ApiError>(found)
        })
        .await?;
    respond(format.format.unwrap_or_default(), rows, "cin-registries").await
}

async fn respond(
    format: ExportFormat,
    rows: Vec<RegistryRow>,
    name: &str,
) -> Result<HttpResponse, ApiError> {
    let (content_type, extension, body) = web::block(move || -> Result<_, ApiError> {
        Ok(match format {
            ExportFormat::Json => {
                let items = rows
                    .iter()
                    .map(|row| Registry::from_row(row, false))
                    .collect::<Result<Vec<_>, _>>()?;
                let body = serde_json::to_vec(&RegistryExport {
                    total: items.len(),
                    items,
                })
                .map_err(ApiError::internal)?;
                ("application/json", "json", body)
            }
            ExportFormat::Csv => (
                "text/csv; charset=utf-8",
                "csv",
                table::csv(&records(&rows)?),
            ),
            ExportFormat::Xlsx => (
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
                table::xlsx(&records(&rows)?).map_err(ApiError::internal)?,
            ),
        })
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}.{extension}\""),
        ))
        .body(body))
}

fn records(rows: &[RegistryRow]) -> Result<Vec<crate::domain::registry::RegistryRecord>, ApiError> {
    rows.iter()
        .map(|row| stored_record(&row.record).map(|r| r.public()))
        .collect()
}
