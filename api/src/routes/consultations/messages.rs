use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{text_field, Person};
use crate::auth::CurrentUser;
use crate::consultations::{self, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::JsonBody;
use crate::routes::{Page, Paging};
use crate::startup::AppState;
use crate::store::consultations as store;

/// A message in an inquiry's thread.
#[derive(Debug, Serialize, ToSchema)]
pub struct Message {
    pub id: uuid::Uuid,
    pub author: Person,
    /// Office-internal: never shown to the requester or the holders.
    pub internal: bool,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// Plain text; files are not accepted, put links in the text.
    #[schema(
        max_length = 20000,
        pattern = r"^[^\u0000]*[^\s\u0000\u0085][^\u0000]*$"
    )]
    pub body: String,
    /// An office-internal note (office only).
    #[serde(default)]
    pub internal: bool,
}

/// The thread, oldest first. Internal notes are listed for the office only.
#[utoipa::path(get, path = "/api/v1/consultations/{id}/messages", operation_id = "list_consultation_messages", tag = "consultations",
    params(("id" = uuid::Uuid, Path, description = "Inquiry id"), Paging),
    responses(
        (status = 200, description = "One page of the thread", body = Page<Message>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such inquiry, or not yours to see", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[get("/consultations/{id}/messages")]
pub async fn list_messages(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    paging: Paging,
) -> Result<HttpResponse, ApiError> {
    let (page, per_page, offset) = paging.resolve()?;
    let (items, total) = thread(&state, &user, id.into_inner(), offset, per_page.into()).await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        page,
        per_page,
        total,
    }))
}

/// One page of the thread as `user` may see it (internal notes for the
/// office only); the API and the inquiry page both read it here.
pub async fn thread(
    state: &AppState,
    user: &CurrentUser,
    id: String,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Message>, i64), ApiError> {
    let caller = Caller::from(user);
    let (rows, total) = state
        .store
        .read(move |conn| {
            let visible = consultations::load_visible(conn, &id, &caller)?;
            store::messages(conn, &visible.row.id, visible.is_office(), offset, limit)
                .map_err(ApiError::from)
        })
        .await?;
    let items = rows
        .iter()
        .map(|(m, author)| {
            Ok(Message {
                id: m.id.parse().map_err(ApiError::internal)?,
                author: Person::from(author),
                internal: m.internal,
                body: m.body.clone(),
                created_at: m.created_at.and_utc(),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok((items, total))
}

/// Write to the thread. The requester's organisation, the holders the
/// inquiry was forwarded to and the office may write; only the office
/// writes internal notes. The people concerned are notified.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/messages", operation_id = "post_consultation_message", tag = "consultations",
    params(("id" = uuid::Uuid, Path, description = "Inquiry id")),
    request_body = NewMessage,
    responses(
        (status = 201, description = "Added", body = Message),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Internal notes are the office's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such inquiry, or not yours to see", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[post("/consultations/{id}/messages")]
pub async fn post_message(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: JsonBody<NewMessage>,
) -> Result<HttpResponse, ApiError> {
    let message = write(&state, &user, id.into_inner(), body.0).await?;
    Ok(HttpResponse::Created().json(message))
}

/// Adds `user`'s message to the thread; the API and the inquiry page both write here.
pub async fn write(
    state: &AppState,
    user: &CurrentUser,
    id: String,
    request: NewMessage,
) -> Result<Message, ApiError> {
    let mut errors = Vec::new();
    let text = text_field(&mut errors, "body", &request.body, 20_000);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let now = state.clock.now();
    let caller = Caller::from(user);
    let author = Person {
        id: user.id.parse().map_err(ApiError::internal)?,
        display_name: user.display_name.clone(),
        role: user.role,
        organisation: user.organisation.clone(),
    };
    let row = state
        .store
        .write(move |conn| {
            consultations::post_message(conn, &caller, &id, text, request.internal, now, true)
        })
        .await?;
    Ok(Message {
        id: row.id.parse().map_err(ApiError::internal)?,
        author,
        internal: row.internal,
        body: row.body,
        created_at: row.created_at.and_utc(),
    })
}
