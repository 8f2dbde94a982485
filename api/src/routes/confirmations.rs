//! Confirming an entry from the link in a reminder: the JSON endpoint, and
//! the small HTML page the link opens. Opening the link changes nothing (mail
//! scanners open links too); the page's button confirms.

use actix_web::http::header::ContentType;
use actix_web::{get, post, web, HttpResponse, ResponseError};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::reminders::{self, mail::escape_html};
use crate::routes::registries::{stored_record, Registry};
use crate::routes::with_etag;
use crate::startup::AppState;
use crate::store::registries;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkConfirmation {
    /// The `token` of the link in the reminder.
    pub token: String,
}

/// Confirm "no change" with the token of a reminder's link; no sign-in
/// needed. Each link works once: confirming starts a new cycle, which the
/// link does not belong to.
#[utoipa::path(post, path = "/api/v1/confirmations", tag = "catalogue",
    request_body = LinkConfirmation,
    responses(
        (status = 200, description = "Confirmed: the registry's public entry", body = Registry,
            headers(("ETag" = String, description = "The new revision"))),
        (status = 400, description = "Malformed body, or a link we did not send", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The person the link went to no longer holds the registry", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The link was used (or the entry confirmed otherwise) already", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The link has expired", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/confirmations")]
pub async fn confirm_with_link(
    state: web::Data<AppState>,
    body: crate::extract::JsonBody<LinkConfirmation>,
) -> Result<HttpResponse, ApiError> {
    let row = confirm(&state, body.0.token).await?;
    Ok(with_etag(
        HttpResponse::Ok(),
        row.revision,
        &Registry::from_row(&row, false)?,
    ))
}

async fn confirm(
    state: &web::Data<AppState>,
    token: String,
) -> Result<registries::RegistryRow, ApiError> {
    let now = state.clock.now();
    let app = state.clone();
    let row = state
        .store
        .write(move |conn| reminders::confirm_with_link(conn, &app.tokens, &token, now))
        .await?;
    crate::routes::registries::index_now(state).await;
    Ok(row)
}

#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    token: String,
}

fn page(status: actix_web::http::StatusCode, title: &str, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(ContentType::html())
        .body(format!(
            "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
             <body><h1>{title}</h1>\n{body}</body></html>\n",
            title = escape_html(title)
        ))
}

fn error_page(err: &ApiError) -> HttpResponse {
    page(
        err.status_code(),
        "確認できませんでした / Not confirmed",
        &format!("<p>{}</p>\n", escape_html(&err.detail)),
    )
}

/// The page a reminder's link opens: which registry, and a button.
#[get("/confirm")]
pub async fn confirm_page(
    state: web::Data<AppState>,
    query: web::Query<LinkQuery>,
) -> HttpResponse {
    let now = state.clock.now();
    let token = query.into_inner().token;
    let app = state.clone();
    let checked = state
        .store
        .read(move |conn| {
            let claims = app.tokens.verify_confirmation(&token, now).map_err(|_| {
                ApiError::new(
                    crate::error::ErrorCode::ConfirmationLinkInvalid,
                    "This link is not valid or has expired.",
                )
            })?;
            let row = registries::find_by_id(conn, &claims.sub)?
                .ok_or_else(|| ApiError::not_found("No such registry"))?;
            Ok::<_, ApiError>((row, token))
        })
        .await;
    match checked {
        Ok((row, token)) => match stored_record(&row.record) {
            Ok(record) => page(
                actix_web::http::StatusCode::OK,
                "登録情報の確認 / Confirm your registry entry",
                &format!(
                    "<p>{code}: {ja}{en}</p>\n\
                     <form method=\"post\" action=\"/confirm\">\
                     <input type=\"hidden\" name=\"token\" value=\"{token}\">\
                     <button type=\"submit\">変更なしを確認する / Confirm: nothing has changed</button></form>\n",
                    code = escape_html(&row.registry_code),
                    ja = escape_html(&record.name_ja),
                    en = record
                        .name_en
                        .map(|n| format!(" / {}", escape_html(&n)))
                        .unwrap_or_default(),
                    token = escape_html(&token),
                ),
            ),
            Err(e) => error_page(&e),
        },
        Err(e) => error_page(&e),
    }
}

/// The page's button: confirms, and says so.
#[post("/confirm")]
pub async fn confirm_form(state: web::Data<AppState>, form: web::Form<LinkQuery>) -> HttpResponse {
    match confirm(&state, form.into_inner().token).await {
        Ok(row) => page(
            actix_web::http::StatusCode::OK,
            "確認しました / Confirmed",
            &format!(
                "<p>{}: ありがとうございました。次の確認時期にまたご連絡します。 / Thank you; we will ask again at the next cycle.</p>\n",
                escape_html(&row.registry_code)
            ),
        ),
        Err(e) => error_page(&e),
    }
}
