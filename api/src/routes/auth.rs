//! Sign-in, token refresh with rotation, sign-out, and who am I.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::tokens::{hash_refresh_token, new_refresh_token};
use crate::auth::{password, CurrentUser};
use crate::catalogue::audit;
use crate::error::{ApiError, ErrorCode, Problem};
use crate::extract::JsonBody;
use crate::routes::users::User;
use crate::startup::AppState;
use crate::store::{registries, users, DbConnection};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[schema(example = "holder@example.jp")]
    pub email: String,
    #[schema(example = "demo-holder-pass")]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// JWT (HS256) for `Authorization: Bearer`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub expires_at: DateTime<Utc>,
    /// Single use: each refresh returns a new one and retires the old. Reusing a
    /// retired one ends the whole session.
    pub refresh_token: String,
}

/// Sign in with email and password.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", request_body = Credentials,
    responses(
        (status = 200, description = "Signed in", body = TokenPair),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong email or password", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing or mistyped field", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts for this account or from this address; `Retry-After` says when to try again", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
#[post("/auth/token")]
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let SignedIn {
        user,
        session_id,
        refresh_token,
    } = sign_in(&state, body.0, req.peer_addr().map(|a| a.ip())).await?;
    Ok(HttpResponse::Ok().json(pair(
        &state,
        &user.id,
        &session_id,
        &user.role,
        refresh_token,
        state.clock.now(),
    )))
}

/// A new session after a password check.
pub struct SignedIn {
    pub user: users::UserRow,
    pub session_id: String,
    pub refresh_token: String,
}

/// Checks the password and opens a session; the API and the sign-in page both
/// sign in here, throttled per account and per client `address`.
pub async fn sign_in(
    state: &AppState,
    credentials: Credentials,
    address: Option<std::net::IpAddr>,
) -> Result<SignedIn, ApiError> {
    let Credentials {
        email,
        password: given,
    } = credentials;
    let email = email.trim().to_lowercase();
    state
        .login_throttle
        .attempt(&email, address)
        .map_err(|seconds| ApiError {
            retry_after: Some(seconds),
            ..ApiError::new(
                ErrorCode::TooManyRequests,
                format!("Too many sign-in attempts; try again in {seconds} s"),
            )
        })?;
    let user = {
        let email = email.clone();
        state
            .store
            .read(move |conn| users::find_by_email(conn, &email).map_err(ApiError::from))
            .await?
    };
    // Hashing is slow on purpose; keep it off the async workers.
    let user = web::block(move || match user {
        Some(user) if password::verify(&given, &user.password_hash) => Some(user),
        Some(_) => None,
        None => {
            password::verify_against_nothing(&given);
            None
        }
    })
    .await
    .map_err(ApiError::internal)?
    .ok_or_else(|| ApiError::new(ErrorCode::InvalidCredentials, "Email or password is wrong"))?;
    let now = state.clock.now();
    let refresh_ttl = state.tokens.refresh_ttl;
    let session_id = uuid::Uuid::new_v4().to_string();
    let (refresh_token, refresh_hash) = new_refresh_token();
    {
        let (session_id, user_id) = (session_id.clone(), user.id.clone());
        state
            .store
            .write(move |conn| {
                users::create_session(conn, &session_id, &user_id, now.naive_utc())?;
                users::insert_refresh_token(
                    conn,
                    &refresh_hash,
                    &session_id,
                    (now + refresh_ttl).naive_utc(),
                )?;
                audit(
                    conn,
                    Some(&user_id),
                    "auth.sign_in",
                    "session",
                    &session_id,
                    json!({}),
                    now,
                )
            })
            .await?;
    }
    Ok(SignedIn {
        user,
        session_id,
        refresh_token,
    })
}

/// Trade a refresh token for a new access token and a new refresh token.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenPair),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown, used, expired or revoked refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing or mistyped field", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: JsonBody<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let old_hash = hash_refresh_token(body.0.refresh_token.trim());
    let (new_token, new_hash) = new_refresh_token();
    let refresh_ttl = state.tokens.refresh_ttl;
    let rotated = state
        .store
        .write(move |conn| rotate(conn, &old_hash, &new_hash, now, refresh_ttl))
        .await?;
    match rotated {
        Rotation::Rotated {
            user_id,
            session_id,
            role,
        } => {
            Ok(HttpResponse::Ok().json(pair(&state, &user_id, &session_id, &role, new_token, now)))
        }
        Rotation::Refused => Err(ApiError::new(
            ErrorCode::InvalidRefreshToken,
            "The refresh token is unknown, used, expired or revoked; sign in again",
        )),
    }
}

enum Rotation {
    Rotated {
        user_id: String,
        session_id: String,
        role: String,
    },
    Refused,
}

fn rotate(
    conn: &mut DbConnection,
    old_hash: &str,
    new_hash: &str,
    now: DateTime<Utc>,
    ttl: chrono::Duration,
) -> Result<Rotation, ApiError> {
    let Some(old) = users::find_refresh_token(conn, old_hash)? else {
        return Ok(Rotation::Refused);
    };
    if !users::session_is_active(conn, &old.session_id)? || old.expires_at <= now.naive_utc() {
        return Ok(Rotation::Refused);
    }
    if !users::use_refresh_token(conn, old_hash, now.naive_utc())? {
        // A retired token came back: someone else may hold a copy. End the session.
        users::revoke_session(conn, &old.session_id, now.naive_utc())?;
        audit(
            conn,
            None,
            "auth.refresh_reuse",
            "session",
            &old.session_id,
            json!({}),
            now,
        )?;
        return Ok(Rotation::Refused);
    }
    let user = users::session_owner(conn, &old.session_id)?
        .ok_or_else(|| ApiError::internal("session without user"))?;
    users::insert_refresh_token(conn, new_hash, &old.session_id, (now + ttl).naive_utc())?;
    Ok(Rotation::Rotated {
        user_id: user.id,
        session_id: old.session_id,
        role: user.role,
    })
}

fn pair(
    state: &AppState,
    user_id: &str,
    session_id: &str,
    role: &str,
    refresh_token: String,
    now: DateTime<Utc>,
) -> TokenPair {
    let (access_token, expires_at) = state.tokens.issue(user_id, session_id, role, now);
    TokenPair {
        access_token,
        token_type: "Bearer".to_string(),
        expires_in: (expires_at - now).num_seconds(),
        expires_at,
        refresh_token,
    }
}

/// Sign out: ends the session of this access token, with every refresh token of it.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, ApiError> {
    sign_out(&state, user).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ends the user's session; the API and the sign-out button both end it here.
pub async fn sign_out(state: &AppState, user: CurrentUser) -> Result<(), ApiError> {
    let now = state.clock.now();
    state
        .store
        .write(move |conn| {
            users::revoke_session(conn, &user.session_id, now.naive_utc())?;
            audit(
                conn,
                Some(&user.id),
                "auth.sign_out",
                "session",
                &user.session_id,
                json!({}),
                now,
            )
        })
        .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    #[serde(flatten)]
    pub user: User,
    /// Codes of the registries this user holds.
    pub holds: Vec<String>,
}

/// The signed-in user, and the registries they hold.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses(
        (status = 200, description = "The signed-in user", body = Me),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, ApiError> {
    let id = user.id.clone();
    let holds = state
        .store
        .read(move |conn| registries::held_codes(conn, &id).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(Me {
        user: User::from(&user),
        holds,
    }))
}
