//! The one table of error codes, and their RFC 9457 `application/problem+json` form.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::validation::FieldError;
use crate::store::StoreError;

macro_rules! error_codes {
    ($($variant:ident => ($code:literal, $status:ident, $title:literal),)*) => {
        /// Stable, machine-readable error codes. The code, not the message, is the contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode { $($variant,)* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            pub fn status(self) -> StatusCode {
                match self { $(ErrorCode::$variant => StatusCode::$status,)* }
            }

            pub fn title(self) -> &'static str {
                match self { $(ErrorCode::$variant => $title,)* }
            }
        }
    };
}

error_codes! {
    MalformedJson => ("malformed_json", BAD_REQUEST, "The request body is not valid JSON"),
    InvalidQuery => ("invalid_query", BAD_REQUEST, "A query parameter is invalid"),
    InvalidHeader => ("invalid_header", BAD_REQUEST, "A request header is invalid"),
    Unauthenticated => ("unauthenticated", UNAUTHORIZED, "Authentication is required"),
    InvalidToken => ("invalid_token", UNAUTHORIZED, "The access token is invalid"),
    TokenExpired => ("token_expired", UNAUTHORIZED, "The access token has expired"),
    InvalidCredentials => ("invalid_credentials", UNAUTHORIZED, "Email or password is wrong"),
    InvalidRefreshToken => ("invalid_refresh_token", UNAUTHORIZED, "The refresh token is invalid, used or expired"),
    Forbidden => ("forbidden", FORBIDDEN, "Your role does not allow this"),
    NotFound => ("not_found", NOT_FOUND, "Not found"),
    MethodNotAllowed => ("method_not_allowed", METHOD_NOT_ALLOWED, "Method not allowed on this resource"),
    NotAcceptable => ("not_acceptable", NOT_ACCEPTABLE, "No acceptable representation"),
    RegistryCodeTaken => ("registry_code_taken", CONFLICT, "A registry with this code exists"),
    EmailTaken => ("email_taken", CONFLICT, "A user with this email exists"),
    InvalidStateTransition => ("invalid_state_transition", CONFLICT, "The object is not in a state that allows this"),
    ConfirmationLinkInvalid => ("confirmation_link_invalid", BAD_REQUEST, "The confirmation link is not valid"),
    ConfirmationLinkUsed => ("confirmation_link_used", CONFLICT, "The confirmation link was already used"),
    ConfirmationLinkExpired => ("confirmation_link_expired", GONE, "The confirmation link has expired"),
    PreconditionFailed => ("precondition_failed", PRECONDITION_FAILED, "The object has changed since you read it"),
    PayloadTooLarge => ("payload_too_large", PAYLOAD_TOO_LARGE, "The request body is too large"),
    UnsupportedMediaType => ("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, "The request body must be JSON"),
    ValidationFailed => ("validation_failed", UNPROCESSABLE_ENTITY, "The request has invalid fields"),
    UnsupportedFileType => ("unsupported_file_type", UNSUPPORTED_MEDIA_TYPE, "The upload must be a CSV or XLSX file"),
    UnreadableFile => ("unreadable_file", UNPROCESSABLE_ENTITY, "The file cannot be read as a survey spreadsheet"),
    ImportRejected => ("import_rejected", UNPROCESSABLE_ENTITY, "The survey file has problems; nothing was imported"),
    PreconditionRequired => ("precondition_required", PRECONDITION_REQUIRED, "This update needs an If-Match header"),
    QueryTooLong => ("query_too_long", URI_TOO_LONG, "The query string is too long"),
    TooManyRequests => ("too_many_requests", TOO_MANY_REQUESTS, "Too many attempts; wait before trying again"),
    Internal => ("internal", INTERNAL_SERVER_ERROR, "Internal error"),
    DatabaseUnavailable => ("database_unavailable", SERVICE_UNAVAILABLE, "The database is unavailable; try again shortly"),
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:cin-catalogue:problem:validation_failed",
    "title": "The request has invalid fields",
    "status": 422,
    "code": "validation_failed",
    "detail": "1 field is invalid",
    "errors": [{"field": "region", "code": "unknown_value", "message": "`osak` is not a region code", "allowed": ["hokkaido", "..."]}]
}))]
pub struct Problem {
    /// `urn:cin-catalogue:problem:<code>`
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    /// Stable machine-readable code; see the error table in the API description.
    pub code: String,
    pub detail: String,
    /// Every failing field, for validation errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The moves allowed from the current state, for `invalid_state_transition`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
    /// The request's id, as in the `X-Request-Id` response header and the logs:
    /// quote it when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "0b5c2f9e-8a51-4c1e-9d8e-6f0f5a7c3d21")]
    pub request_id: Option<String>,
}

/// An error on its way to becoming a problem response.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub allowed: Option<Vec<String>>,
    /// Seconds the client should wait, sent as `Retry-After`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            allowed: None,
            retry_after: None,
        }
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.len() {
            1 => "1 field is invalid".to_string(),
            n => format!("{n} fields are invalid"),
        };
        Self {
            errors,
            ..Self::new(ErrorCode::ValidationFailed, detail)
        }
    }

    pub fn query(field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        let field = field.into();
        Self {
            errors: vec![FieldError::new(
                field.clone(),
                "invalid_value",
                message.clone(),
            )],
            ..Self::new(ErrorCode::InvalidQuery, format!("`{field}`: {message}"))
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, what)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, detail)
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        // The cause goes to the log; the client learns only that it was our fault.
        tracing::error!(error = %err, "internal error");
        Self::new(ErrorCode::Internal, "An unexpected error occurred")
    }

    pub fn problem(&self) -> Problem {
        Problem {
            problem_type: format!("urn:cin-catalogue:problem:{}", self.code.as_str()),
            title: self.code.title().to_string(),
            status: self.code.status().as_u16(),
            code: self.code.as_str().to_string(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
            allowed: self.allowed.clone(),
            request_id: crate::ops::request_id::current(),
        }
    }

    /// The database could not be reached (a pool timeout, a refused or lost
    /// connection): the client may retry, so 503 rather than 500.
    pub fn database_unavailable(reason: impl std::fmt::Display) -> Self {
        tracing::warn!(%reason, "database unavailable");
        Self::new(
            ErrorCode::DatabaseUnavailable,
            "The database is unavailable; try again shortly",
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.content_type("application/problem+json");
        if self.code.status() == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response.json(self.problem())
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(reason) => ApiError::database_unavailable(reason),
            StoreError::Query(err) => ApiError::from(err),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::NotFound => ApiError::not_found("Not found"),
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => ApiError::database_unavailable(info.message()),
            // A connection lost inside a transaction leaves it unable to roll back.
            Error::BrokenTransactionManager => {
                ApiError::database_unavailable("the connection broke inside a transaction")
            }
            Error::RollbackErrorOnCommit { commit_error, .. } => ApiError::from(*commit_error),
            other => ApiError::internal(other),
        }
    }
}
