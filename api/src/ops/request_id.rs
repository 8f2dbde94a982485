//! The id of the request being served: taken from a sane incoming
//! `X-Request-Id` (so a proxy's id follows the request through) or made here.
//! Held in a task-local while the request is handled, so that problem bodies
//! can carry it without every handler passing it along.

use actix_web::http::header::HeaderMap;

pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: String;
}

/// The incoming id when it is 1 to 64 characters of letters, digits, `-`,
/// `_` and `.` (anything else could forge log lines); otherwise a new UUID.
pub fn from_headers(headers: &HeaderMap) -> String {
    headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| is_sane(id))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

fn is_sane(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Runs `f` (and the future it returns) as the request `id`.
pub async fn scope<F, Fut>(id: String, f: F) -> Fut::Output
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future,
{
    let future = CURRENT.sync_scope(id.clone(), f);
    CURRENT.scope(id, future).await
}

/// The id of the request this task is serving, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_ids_are_taken_over() {
        let mut headers = HeaderMap::new();
        headers.insert(
            HEADER.parse().unwrap(),
            "proxy-1234.abc_DEF".parse().unwrap(),
        );
        assert_eq!(from_headers(&headers), "proxy-1234.abc_DEF");
        headers.insert(HEADER.parse().unwrap(), "a b\"c".parse().unwrap());
        assert_eq!(from_headers(&headers).len(), 36, "replaced by a UUID");
        headers.insert(HEADER.parse().unwrap(), "x".repeat(65).parse().unwrap());
        assert_eq!(from_headers(&headers).len(), 36, "replaced by a UUID");
    }
}
