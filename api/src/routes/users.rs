//! Accounts: created by the office (companies, holders) and admins (anyone).

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::accounts::{self, NewUser};
use crate::auth::CurrentUser;
use crate::domain::role::Role;
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, Query};
use crate::routes::{Page, Paging};
use crate::startup::AppState;
use crate::store::users::{self, UserRow};

/// An account as the office sees it. Never part of a public response.
#[derive(Debug, Serialize, ToSchema)]
pub struct User {
    pub id: uuid::Uuid,
    pub email: String,
    pub role: Role,
    pub display_name: String,
    pub organisation: Option<String>,
    pub language: String,
    pub created_at: DateTime<Utc>,
}

impl From<&UserRow> for User {
    fn from(row: &UserRow) -> Self {
        User {
            id: row.id.parse().unwrap_or_default(),
            email: row.email.clone(),
            role: Role::parse(&row.role).unwrap_or(Role::Company),
            display_name: row.display_name.clone(),
            organisation: row.organisation.clone(),
            language: row.language.clone(),
            created_at: row.created_at.and_utc(),
        }
    }
}

impl From<&CurrentUser> for User {
    fn from(user: &CurrentUser) -> Self {
        User {
            id: user.id.parse().unwrap_or_default(),
            email: user.email.clone(),
            role: user.role,
            display_name: user.display_name.clone(),
            organisation: user.organisation.clone(),
            language: user.language.clone(),
            created_at: user.created_at.and_utc(),
        }
    }
}

/// Create an account. The office may create company and holder accounts;
/// only an admin creates office and admin accounts.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses(
        (status = 201, description = "Created", body = User),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your role may not create this role", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Email taken", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[post("/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: JsonBody<NewUser>,
) -> Result<HttpResponse, ApiError> {
    let new = body.0;
    if !user.role.may_create(new.role) {
        return Err(ApiError::forbidden(format!(
            "A {} account may not create {} accounts",
            user.role.as_str(),
            new.role.as_str()
        )));
    }
    let now = state.clock.now();
    let row = state
        .store
        .write(move |conn| accounts::create_user(conn, &new, Some(&user.id), now))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/users/{}", row.id)))
        .json(User::from(&row)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Only accounts of this role.
    pub role: Option<Role>,
}

/// List accounts (office and admin), ordered by email.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserQuery, Paging),
    responses(
        (status = 200, description = "One page of accounts", body = Page<User>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not office or admin", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<UserQuery>,
    paging: Paging,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::is_staff, "list accounts")?;
    let (page, per_page, offset) = paging.resolve()?;
    let role = query.0.role.map(|r| r.as_str());
    let (rows, total) = state
        .store
        .read(move |conn| users::list(conn, role, offset, per_page.into()).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(Page {
        items: rows.iter().map(User::from).collect(),
        page,
        per_page,
        total,
    }))
}
