//! The office loads a survey round by uploading its spreadsheet.

use actix_web::http::header;
use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::CurrentUser;
use crate::domain::access;
use crate::error::{ApiError, ErrorCode, Problem};
use crate::extract::Query;
use crate::startup::AppState;
use crate::survey::{self, ImportOptions, ImportReport};

/// The largest spreadsheet accepted, in bytes: a whole survey round of
/// several thousand registries as CSV, far above the JSON body limit.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

const CONTENT_TYPES: [&str; 5] = [
    "text/csv",
    "application/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel",
    "application/octet-stream",
];

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The survey round (year) the answers belong to; from 2000 to next year.
    #[param(minimum = 2000, maximum = 9999, example = 2026)]
    pub round: i32,
    /// `true`: report every problem and what would change, and write nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// Load a CIN survey round from its spreadsheet (office). The body is the
/// file itself: CSV (UTF-8 or Shift_JIS) or XLSX (the first sheet), with the
/// survey's Japanese (or English) column headers, at most 64 MiB. Rows are
/// matched to registries by their registry code; new codes become drafts,
/// changed registries get a revision in the round, unchanged rows make
/// nothing. A dry run answers with every problem by row and column (unknown
/// values with the nearest allowed ones) and writes nothing; a real run
/// writes all rows or, when any has a problem, none (422).
#[utoipa::path(post, path = "/api/v1/survey/imports", tag = "survey",
    params(ImportQuery),
    request_body(description = "The survey spreadsheet", content(
        (String = "text/csv"),
        (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    )),
    responses(
        (status = 200, description = "The report: of a dry run, or of an import that was written", body = ImportReport),
        (status = 400, description = "Bad query parameter (`round` out of range)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office or admin", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "File larger than 64 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a CSV or XLSX upload", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`unreadable_file`: not a spreadsheet, or in no known encoding; `import_rejected`: rows have problems (each in `errors`), nothing written", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
// The body is read as a stream with its own limit: the JSON limit does not apply.
#[post("/survey/imports")]
pub async fn import_survey(
    state: web::Data<AppState>,
    user: CurrentUser,
    req: HttpRequest,
    query: Query<ImportQuery>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    user.require(access::may_manage_catalogue, "import survey rounds")?;
    let query = query.0;
    let now = state.clock.now();
    survey::check_round(query.round, now).map_err(|e| ApiError::query("round", e))?;
    check_content_type(&req)?;
    let bytes = body
        .to_bytes_limited(MAX_UPLOAD_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("The file must be at most {MAX_UPLOAD_BYTES} bytes"),
            )
        })?
        .map_err(|e| {
            ApiError::new(
                ErrorCode::UnreadableFile,
                format!("The upload broke off: {e}"),
            )
        })?;
    let sheet = web::block(move || survey::sheet::read(&bytes))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::new(ErrorCode::UnreadableFile, capitalised(&e.to_string())))?;
    let dry_run = query.dry_run;
    let round = query.round;
    let run = move |conn: &mut crate::store::DbConnection| {
        let options = ImportOptions {
            survey_round: round,
            dry_run,
            actor_id: Some(&user.id),
            now,
        };
        survey::run(conn, &sheet, &options, &mut ())
    };
    let report = if dry_run {
        state.store.read(run).await?
    } else {
        state.store.write(run).await?
    };
    if !dry_run && !report.problems.is_empty() {
        return Err(survey::rejected(&report));
    }
    if report.created + report.updated > 0 {
        super::registries::index_now(&state).await;
    }
    Ok(HttpResponse::Ok().json(report))
}

fn check_content_type(req: &HttpRequest) -> Result<(), ApiError> {
    let mime = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if CONTENT_TYPES.contains(&mime.as_str()) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::UnsupportedFileType,
            format!(
                "Send the spreadsheet as the body with `Content-Type: text/csv` or `{}`",
                CONTENT_TYPES[2]
            ),
        ))
    }
}

fn capitalised(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
