//! The outbox: every notification and reminder, as the office can inspect it.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::CurrentUser;
use crate::domain::role::Role;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::routes::{Page, Paging};
use crate::startup::AppState;
use crate::store::outbox::{self, OutboxFilter};

/// A mail as written to the outbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxMail {
    pub id: i64,
    pub recipient_email: String,
    /// `ja` or `en`: the recipient's language.
    pub language: String,
    pub subject: String,
    pub body_text: String,
    #[schema(example = "consultation.reminder")]
    pub kind: String,
    #[schema(example = "consultation")]
    pub related_type: String,
    pub related_id: String,
    /// `pending` until a sender delivers it.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// `consultation.moved`, `consultation.reminder`, ...
    pub kind: Option<String>,
    /// An inquiry id, for example.
    pub related_id: Option<String>,
    pub recipient_email: Option<String>,
}

/// Mails written to the outbox, newest first (office and admin).
#[utoipa::path(get, path = "/api/v1/outbox", operation_id = "list_outbox", tag = "operations", params(OutboxQuery, Paging),
    responses(
        (status = 200, description = "One page of the outbox", body = Page<OutboxMail>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office or admin", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[get("/outbox")]
pub async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<OutboxQuery>,
    paging: Paging,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::is_staff, "read the outbox")?;
    let (page, per_page, offset) = paging.resolve()?;
    let filter = OutboxFilter {
        kind: query.0.kind,
        related_id: query.0.related_id,
        recipient_email: query.0.recipient_email,
    };
    let (rows, total) = state
        .store
        .read(move |conn| {
            outbox::list(conn, &filter, offset, per_page.into()).map_err(ApiError::from)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(|row| OutboxMail {
            id: row.id,
            recipient_email: row.recipient_email,
            language: row.language,
            subject: row.subject,
            body_text: row.body_text,
            kind: row.kind,
            related_type: row.related_type,
            related_id: row.related_id,
            status: row.status,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at.and_utc(),
            last_error: row.last_error,
            created_at: row.created_at.and_utc(),
            sent_at: row.sent_at.map(|t| t.and_utc()),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        page,
        per_page,
        total,
    }))
}
