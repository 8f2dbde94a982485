//! Request extractors that answer bad input with problem+json naming the
//! failing field, instead of actix's plain-text defaults.

use std::future::Future;
use std::pin::Pin;

use actix_web::{http::header, web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::domain::validation::{from_serde, FieldError};
use crate::error::{ApiError, ErrorCode};

/// The largest request body accepted, in bytes (documented in the API description).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A JSON body: 415 unless it is JSON, 413 past the limit, 400 when it does
/// not parse (including invalid UTF-8), 422 naming the field when a value has
/// the wrong type.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::new(
                    ErrorCode::UnsupportedMediaType,
                    "Send the body as `Content-Type: application/json`",
                ));
            }
            let bytes = body
                .await
                .map_err(|e| match e.as_response_error().status_code() {
                    actix_web::http::StatusCode::PAYLOAD_TOO_LARGE => too_large(),
                    _ => ApiError::new(
                        ErrorCode::MalformedJson,
                        format!("The body could not be read: {e}"),
                    ),
                })?;
            if bytes.len() > MAX_BODY_BYTES {
                return Err(too_large());
            }
            parse_json(&bytes).map(JsonBody)
        })
    }
}

/// The path of the first string holding U+0000. PostgreSQL cannot store it, so
/// it is refused at the door rather than failing deep in a query.
fn nul_path(value: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value;
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => Some(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_path(v, format!("{path}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                // Named, not echoed: the answer must not carry the NUL either.
                Some(join(&k.replace('\0', "\\u0000")))
            } else {
                nul_path(v, join(k))
            }
        }),
        _ => None,
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("The body must be at most {MAX_BODY_BYTES} bytes"),
    )
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::MalformedJson,
            format!("The body is not valid JSON: {e}"),
        )
    })?;
    if let Some(path) = nul_path(&value, String::new()) {
        return Err(ApiError::validation(vec![FieldError::new(
            path,
            "invalid_format",
            "must not contain NUL characters",
        )]));
    }
    serde_path_to_error::deserialize(value)
        .map_err(|e| ApiError::validation(vec![from_serde(e.path(), e.inner())]))
}

/// Names read by [`crate::routes::Paging`]; every other query struct leaves them alone.
pub const PAGING_PARAMS: [&str; 2] = ["page", "per_page"];

/// Query parameters: unknown or malformed parameters are a 400 naming them.
/// `page` and `per_page` belong to the `Paging` extractor and are skipped here.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(
            parse_query(req.query_string(), |name| !PAGING_PARAMS.contains(&name)).map(Query),
        )
    }
}

/// Deserialises the query parameters that `keep` accepts.
pub fn parse_query<T: DeserializeOwned>(
    query: &str,
    keep: impl Fn(&str) -> bool,
) -> Result<T, ApiError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| keep(name))
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    if let Some((name, _)) = pairs
        .iter()
        .find(|(n, v)| n.contains('\0') || v.contains('\0'))
    {
        return Err(ApiError::query(
            name.replace('\0', "\\u0000"),
            "must not contain NUL characters",
        ));
    }
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = from_serde(e.path(), e.inner());
        let mut err = ApiError::new(
            ErrorCode::InvalidQuery,
            format!("`{}`: {}", field.field, field.message),
        );
        err.errors = vec![field];
        err
    })
}
