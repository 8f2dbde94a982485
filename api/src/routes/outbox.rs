//! The outbox: every notification and reminder, as the office can inspect
//! it, and the dead letters the office may queue again.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::CurrentUser;
use crate::domain::role::Role;
use crate::error::{ApiError, ErrorCode, Problem};
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
    pub body_html: Option<String>,
    #[schema(example = "consultation.reminder")]
    pub kind: String,
    #[schema(example = "consultation")]
    pub related_type: String,
    pub related_id: String,
    /// `pending` (waiting for `next_attempt_at`), `sending` (claimed by a
    /// sender, whose lease ends at `next_attempt_at`), `sent`, or `dead`
    /// (every attempt failed; `last_error` says why).
    #[schema(example = "pending")]
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
    /// `pending`, `sending`, `sent` or `dead` (the dead letters).
    #[param(pattern = "^(pending|sending|sent|dead)$")]
    pub status: Option<String>,
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
    if let Some(status) = &query.0.status {
        if ![outbox::PENDING, outbox::SENDING, outbox::SENT, outbox::DEAD]
            .contains(&status.as_str())
        {
            return Err(ApiError::query(
                "status",
                format!("`{status}` is not pending, sending, sent or dead"),
            ));
        }
    }
    let filter = OutboxFilter {
        kind: query.0.kind,
        related_id: query.0.related_id,
        recipient_email: query.0.recipient_email,
        status: query.0.status,
    };
    let (rows, total) = state
        .store
        .read(move |conn| {
            outbox::list(conn, &filter, offset, per_page.into()).map_err(ApiError::from)
        })
        .await?;
    let items = rows.into_iter().map(OutboxMail::from).collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        page,
        per_page,
        total,
    }))
}

impl From<outbox::OutboxRow> for OutboxMail {
    fn from(row: outbox::OutboxRow) -> Self {
        OutboxMail {
            id: row.id,
            recipient_email: row.recipient_email,
            language: row.language,
            subject: row.subject,
            body_text: row.body_text,
            body_html: row.body_html,
            kind: row.kind,
            related_type: row.related_type,
            related_id: row.related_id,
            status: row.status,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at.and_utc(),
            last_error: row.last_error,
            created_at: row.created_at.and_utc(),
            sent_at: row.sent_at.map(|t| t.and_utc()),
        }
    }
}

/// Queue a dead letter again, with a fresh count of attempts (office and admin).
#[utoipa::path(post, path = "/api/v1/outbox/{id}/requeue", operation_id = "requeue_outbox_mail", tag = "operations",
    params(("id" = i64, Path, description = "The outbox id", minimum = 1)),
    responses(
        (status = 200, description = "Queued again", body = OutboxMail),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office or admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such mail", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a dead letter", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[post("/outbox/{id}/requeue")]
pub async fn requeue(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::is_staff, "queue mail again")?;
    let not_found = |id: &str| ApiError::not_found(format!("No mail {id} in the outbox"));
    let id: i64 = id.parse().map_err(|_| not_found(&id))?;
    let now = state.clock.now();
    let actor = user.id.clone();
    let row = state
        .store
        .write(move |conn| {
            let row = outbox::find(conn, id)?.ok_or_else(|| not_found(&id.to_string()))?;
            if !outbox::requeue(conn, id, now.naive_utc())? {
                let mut err = ApiError::new(
                    ErrorCode::InvalidStateTransition,
                    format!(
                        "Mail {id} is {}; only dead letters are queued again",
                        row.status
                    ),
                );
                err.allowed = Some(Vec::new());
                return Err(err);
            }
            crate::catalogue::audit(
                conn,
                Some(&actor),
                "outbox.requeue",
                "outbox",
                &id.to_string(),
                serde_json::json!({"last_error": row.last_error}),
                now,
            )?;
            outbox::find(conn, id)?.ok_or_else(|| not_found(&id.to_string()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(OutboxMail::from(row)))
}
