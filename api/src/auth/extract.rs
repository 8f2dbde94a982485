//! The signed-in user as a handler argument: a handler that takes
//! `CurrentUser` cannot run without a valid token.

use std::future::Future;
use std::pin::Pin;

use actix_web::{http::header, web, FromRequest, HttpRequest};

use super::tokens::TokenError;
use crate::domain::role::Role;
use crate::error::{ApiError, ErrorCode};
use crate::startup::AppState;
use crate::store::users;

#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: String,
    pub session_id: String,
    pub role: Role,
    pub email: String,
    pub display_name: String,
    pub organisation: Option<String>,
    pub language: String,
    pub created_at: chrono::NaiveDateTime,
}

impl CurrentUser {
    /// 403 unless the user has one of the roles.
    pub fn require(&self, allowed: fn(Role) -> bool, what: &str) -> Result<(), ApiError> {
        if allowed(self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "A {} account may not {what}",
                self.role.as_str()
            )))
        }
    }
}

/// The signed-in user when a token was sent; a token that was sent but is bad
/// is still an error, never a silent downgrade to anonymous.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<CurrentUser>);

type Fut<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match bearer(&req)? {
                Some(token) => authenticate(&req, token).await,
                None => Err(ApiError::new(
                    ErrorCode::Unauthenticated,
                    "Send `Authorization: Bearer <access token>`; get one from POST /api/v1/auth/token",
                )),
            }
        })
    }
}

impl FromRequest for MaybeUser {
    type Error = ApiError;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match bearer(&req)? {
                Some(token) => Ok(MaybeUser(Some(authenticate(&req, token).await?))),
                None => Ok(MaybeUser(None)),
            }
        })
    }
}

fn bearer(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidToken,
            "The Authorization header is not ASCII",
        )
    })?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_string()))
        }
        _ => Err(ApiError::new(
            ErrorCode::InvalidToken,
            "The Authorization header must be `Bearer <access token>`",
        )),
    }
}

/// The user of a token, checked against the session as it is now (also for
/// the pages' session cookie, which carries the same kind of token).
pub async fn authenticate(req: &HttpRequest, token: String) -> Result<CurrentUser, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .expect("AppState is registered by startup")
        .clone();
    let claims = state
        .tokens
        .verify(&token, state.clock.now())
        .map_err(|e| match e {
            TokenError::Expired => ApiError::new(
                ErrorCode::TokenExpired,
                "The access token has expired; refresh it at POST /api/v1/auth/refresh",
            ),
            TokenError::Invalid => ApiError::new(
                ErrorCode::InvalidToken,
                "The access token is malformed, tampered with or not signed by this service",
            ),
        })?;
    let (sid, sub) = (claims.sid.clone(), claims.sub.clone());
    let row = state
        .store
        .read(move |conn| users::active_session_user(conn, &sid, &sub).map_err(ApiError::from))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidToken,
                "The session has ended; sign in again",
            )
        })?;
    // The role comes from the account as it is now, not as it was when the token was issued.
    let role =
        Role::parse(&row.role).ok_or_else(|| ApiError::internal("unknown role in users table"))?;
    Ok(CurrentUser {
        id: row.id,
        session_id: claims.sid,
        role,
        email: row.email,
        display_name: row.display_name,
        organisation: row.organisation,
        language: row.language,
        created_at: row.created_at,
    })
}
