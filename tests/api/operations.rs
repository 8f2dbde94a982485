//! What operating the service relies on: request ids, metrics, security
//! headers, CORS, sign-in throttling and size limits.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};

on_both_backends!(
    a_request_id_is_taken_over_or_made_and_returned,
    every_response_has_security_headers,
    metrics_count_requests_by_route_pattern,
    sign_in_is_throttled_per_account_and_per_address,
    cors_is_off_unless_origins_are_named,
    long_query_strings_are_refused,
);

async fn a_request_id_is_taken_over_or_made_and_returned(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let given = app
        .call(
            Method::GET,
            "/api/v1/registries/CIN-R-999999",
            None,
            None,
            &[("X-Request-Id", "proxy-7f3a.42")],
        )
        .await;
    assert_eq!(given.headers["x-request-id"], "proxy-7f3a.42");

    let forged = app
        .call(
            Method::GET,
            "/healthz",
            None,
            None,
            &[("X-Request-Id", "a\" injected=\"b")],
        )
        .await;
    let made = forged.headers["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(made).is_ok(), "{made}");

    // The raw problem body carries the id (the helpers check every problem
    // against its header and take the id out).
    let raw: Value = app
        .client
        .get(app.url("/api/v1/registries/CIN-R-999999"))
        .header("X-Request-Id", "trace-1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        raw,
        json!({
            "type": "urn:cin-catalogue:problem:not_found",
            "title": "Not found",
            "status": 404,
            "code": "not_found",
            "detail": "No registry CIN-R-999999",
            "request_id": "trace-1"
        })
    );
}

async fn every_response_has_security_headers(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    for path in [
        "/api/v1/registries",
        "/api/v1/nothing-here",
        "/healthz",
        "/metrics",
    ] {
        let response = app.get(path, None).await;
        assert_eq!(response.headers["x-content-type-options"], "nosniff");
        assert_eq!(response.headers["x-frame-options"], "DENY");
        assert_eq!(response.headers["referrer-policy"], "no-referrer");
        assert_eq!(
            response.headers["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'",
            "{path}"
        );
        assert!(
            !response.headers.contains_key("strict-transport-security"),
            "HSTS only when configured"
        );
    }
    let docs = app.get("/docs/", None).await;
    assert_eq!(docs.status, StatusCode::OK);
    let policy = docs.headers["content-security-policy"].to_str().unwrap();
    assert!(policy.starts_with("default-src 'self'"), "{policy}");

    let https = TestApp::spawn_configured(
        &backend,
        false,
        |serve| serve.hsts_max_age = Some(31_536_000),
        str::to_string,
    )
    .await;
    let response = https.get("/healthz", None).await;
    assert_eq!(
        response.headers["strict-transport-security"],
        "max-age=31536000"
    );
}

/// The value of one series in a Prometheus text exposition.
fn series(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name_and_labels)?.trim().parse().ok())
}

async fn metrics_count_requests_by_route_pattern(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    for code in ["CIN-R-000001", "CIN-R-000002", "CIN-R-999999"] {
        app.get(&format!("/api/v1/registries/{code}"), None).await;
    }
    app.get("/api/v1/registries/search?q=ALS", None).await;
    let office = app.login("office").await;
    let path = "/api/v1/registries/CIN-R-000003";
    let etag = app.get(path, None).await.etag();
    let saved = app
        .patch(path, &office, &etag, &json!({"acronym": "NUMBAT"}))
        .await;
    assert_eq!(saved.status, StatusCode::OK);

    let response = app.get("/metrics", None).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.content_type().starts_with("text/plain"));
    let text = response.body.as_str().expect("a text body");
    let read = r#"cin_http_requests_total{method="GET",route="/api/v1/registries/{code}",status="#;
    // Two reads, and the one for the ETag before the edit.
    assert_eq!(
        series(text, &format!("{read}\"200\"}}")),
        Some(3.0),
        "{text}"
    );
    assert_eq!(series(text, &format!("{read}\"404\"}}")), Some(1.0));
    assert_eq!(
        series(
            text,
            r#"cin_http_request_duration_seconds_count{method="GET",route="/api/v1/registries/search",status="200"}"#
        ),
        Some(1.0)
    );
    assert_eq!(series(text, "cin_search_duration_seconds_count"), Some(1.0));
    assert_eq!(
        series(text, "cin_search_index_lag"),
        Some(0.0),
        "a write answers after the index shows it"
    );
    assert!(series(text, "cin_search_index_applied_seq").unwrap() > 0.0);
    assert_eq!(
        series(text, r#"cin_outbox_messages{status="dead"}"#),
        Some(0.0)
    );
    assert!(series(text, r#"cin_outbox_messages{status="pending"}"#).is_some());
    assert_eq!(
        series(text, r#"cin_db_pool_connections{state="max"}"#),
        Some(4.0)
    );
    assert!(
        !text.contains("CIN-R-000001"),
        "raw paths never become labels"
    );
}

async fn sign_in_is_throttled_per_account_and_per_address(backend: Backend) {
    let app = TestApp::spawn_configured(
        &backend,
        true,
        |serve| {
            serve.login_attempts_per_account = 3;
            serve.login_attempts_per_address = 6;
            // One attempt earned back every 20 minutes: nothing recovers during the test.
            serve.login_window_seconds = 3600;
        },
        str::to_string,
    )
    .await;
    let sign_in = |email: &'static str, password: &'static str| {
        let app = &app;
        async move {
            app.post(
                "/api/v1/auth/token",
                None,
                &json!({"email": email, "password": password}),
            )
            .await
        }
    };
    for _ in 0..3 {
        let wrong = sign_in("holder@example.jp", "guessing").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    }
    // The account's burst is spent: even the right password waits.
    let throttled = sign_in("HOLDER@example.jp ", "demo-holder-pass").await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = throttled.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=1200).contains(&wait), "{wait}");
    assert_eq!(
        throttled.body,
        json!({
            "type": "urn:cin-catalogue:problem:too_many_requests",
            "title": "Too many attempts; wait before trying again",
            "status": 429,
            "code": "too_many_requests",
            "detail": format!("Too many sign-in attempts; try again in {wait} s")
        })
    );
    // Other accounts from this address: two more attempts, then the address is spent.
    let office = sign_in("office@example.jp", "demo-office-pass").await;
    assert_eq!(office.status, StatusCode::OK);
    let company = sign_in("company@example.jp", "wrong").await;
    assert_eq!(company.status, StatusCode::UNAUTHORIZED);
    let fresh = sign_in("admin@example.jp", "demo-admin-pass").await;
    assert_eq!(fresh.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(fresh.headers.contains_key("retry-after"));
}

async fn cors_is_off_unless_origins_are_named(backend: Backend) {
    let preflight = |app: &TestApp, origin: &str| {
        app.client
            .request(Method::OPTIONS, app.url("/api/v1/registries"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .send()
    };
    let closed = TestApp::spawn_with(&backend, false).await;
    let response = preflight(&closed, "https://tool.example.org")
        .await
        .unwrap();
    assert!(!response
        .headers()
        .contains_key("access-control-allow-origin"));
    let simple = closed
        .call(
            Method::GET,
            "/api/v1/registries",
            None,
            None,
            &[("Origin", "https://tool.example.org")],
        )
        .await;
    assert!(!simple.headers.contains_key("access-control-allow-origin"));

    let open = TestApp::spawn_configured(
        &backend,
        false,
        |serve| serve.cors_origins = vec!["https://tool.example.org".to_string()],
        str::to_string,
    )
    .await;
    let allowed = preflight(&open, "https://tool.example.org").await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://tool.example.org"
    );
    let other = preflight(&open, "https://elsewhere.example.org")
        .await
        .unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));
    let simple = open
        .call(
            Method::GET,
            "/api/v1/registries",
            None,
            None,
            &[("Origin", "https://tool.example.org")],
        )
        .await;
    assert_eq!(simple.status, StatusCode::OK);
    let exposed = simple.headers["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.contains("x-request-id"), "{exposed}");
}

async fn long_query_strings_are_refused(backend: Backend) {
    let app = TestApp::spawn_with(&backend, false).await;
    let long = app
        .get(
            &format!("/api/v1/registries/search?q={}", "a".repeat(9000)),
            None,
        )
        .await;
    assert_eq!(long.status, StatusCode::URI_TOO_LONG);
    assert_eq!(
        long.body,
        json!({
            "type": "urn:cin-catalogue:problem:query_too_long",
            "title": "The query string is too long",
            "status": 414,
            "code": "query_too_long",
            "detail": "The query string must be at most 8192 bytes"
        })
    );
}
