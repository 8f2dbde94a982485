//! Each role reaches what it may and nothing else: a role × endpoint matrix.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{new_record, Backend, TestApp};

on_both_backends!(each_role_reaches_only_what_it_may);

/// Who calls: nobody, then the demo accounts. `holder` holds CIN-R-000001..4,
/// `holder2` holds CIN-R-000005..6.
const ACTORS: [&str; 6] = [
    "anonymous",
    "company",
    "holder",
    "holder2",
    "office",
    "admin",
];

struct Row {
    method: Method,
    path: &'static str,
    /// Called with the actor's index, so writes can use a fresh object each.
    body: fn(usize) -> Option<Value>,
    expected: [u16; 6],
}

fn none(_: usize) -> Option<Value> {
    None
}

fn no_change(_: usize) -> Option<Value> {
    Some(json!({}))
}

fn rows() -> Vec<Row> {
    use Method as M;
    let row = |method: Method,
               path: &'static str,
               body: fn(usize) -> Option<Value>,
               expected: [u16; 6]| Row {
        method,
        path,
        body,
        expected,
    };
    vec![
        row(
            M::GET,
            "/api/v1/registries",
            none,
            [200, 200, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/registries/CIN-R-000001",
            none,
            [200, 200, 200, 200, 200, 200],
        ),
        // A draft nobody holds: invisible, not forbidden, to those who may not see it.
        row(
            M::GET,
            "/api/v1/registries/CIN-R-000029",
            none,
            [404, 404, 404, 404, 200, 200],
        ),
        row(
            M::PATCH,
            "/api/v1/registries/CIN-R-000001",
            no_change,
            [401, 403, 200, 403, 200, 200],
        ),
        row(
            M::PATCH,
            "/api/v1/registries/CIN-R-000005",
            no_change,
            [401, 403, 403, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/registries/CIN-R-000001/revisions",
            none,
            [401, 403, 200, 403, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/registries/CIN-R-000001/revisions/1",
            none,
            [401, 403, 200, 403, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/registries/CIN-R-000005/diff?from=1&to=1",
            none,
            [401, 403, 403, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/registries/CIN-R-000001/holders",
            none,
            [401, 403, 403, 403, 200, 200],
        ),
        row(
            M::POST,
            "/api/v1/registries",
            |i| Some(new_record(&format!("CIN-R-80000{i}"))),
            [401, 403, 403, 403, 201, 201],
        ),
        row(
            M::POST,
            "/api/v1/registries/CIN-R-000030/publish",
            none,
            [401, 403, 403, 403, 200, 409],
        ),
        row(
            M::POST,
            "/api/v1/registries/CIN-R-000010/withdraw",
            none,
            [401, 403, 403, 403, 200, 409],
        ),
        row(
            M::DELETE,
            "/api/v1/registries/CIN-R-000001/holders/00000000-0000-0000-0000-000000000000",
            none,
            [401, 403, 403, 403, 404, 404],
        ),
        row(
            M::GET,
            "/api/v1/users",
            none,
            [401, 403, 403, 403, 200, 200],
        ),
        row(
            M::POST,
            "/api/v1/users",
            |i| {
                Some(
                    json!({"email": format!("m{i}@example.jp"), "password": "long enough password", "role": "company", "display_name": "架空 利用者"}),
                )
            },
            [401, 403, 403, 403, 201, 201],
        ),
        row(
            M::GET,
            "/api/v1/audit",
            none,
            [401, 403, 403, 403, 200, 200],
        ),
        row(M::GET, "/api/v1/me", none, [401, 200, 200, 200, 200, 200]),
        // The office may upload a survey round; the JSON body sent here is
        // then the wrong kind of file (415), which only those allowed learn.
        row(
            M::POST,
            "/api/v1/survey/imports?round=2026&dry_run=true",
            no_change,
            [401, 403, 403, 403, 415, 415],
        ),
        row(
            M::GET,
            "/api/v1/registries/export?format=json",
            none,
            [200, 200, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/registries/CIN-R-000001/dcat-ap.jsonld",
            none,
            [200, 200, 200, 200, 200, 200],
        ),
        // Linked data is the public catalogue only, whoever asks.
        row(
            M::GET,
            "/api/v1/registries/CIN-R-000029/dcat-ap.jsonld",
            none,
            [404, 404, 404, 404, 404, 404],
        ),
        row(
            M::POST,
            "/api/v1/auth/logout",
            none,
            [401, 204, 204, 204, 204, 204],
        ),
    ]
}

async fn each_role_reaches_only_what_it_may(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let mut failures = Vec::new();
    for row in rows() {
        for (i, actor) in ACTORS.iter().enumerate() {
            // A fresh sign-in per call: logout in the last row ends sessions.
            let token = match *actor {
                "anonymous" => None,
                who => Some(app.login(who).await),
            };
            let etag = match row.method {
                Method::PATCH => vec![("If-Match", "*")],
                _ => vec![],
            };
            let response = app
                .call(
                    row.method.clone(),
                    row.path,
                    token.as_deref(),
                    (row.body)(i).as_ref(),
                    &etag,
                )
                .await;
            if response.status.as_u16() != row.expected[i] {
                failures.push(format!(
                    "{} {} as {actor}: expected {}, got {} {}",
                    row.method, row.path, row.expected[i], response.status, response.body
                ));
            }
            if response.status == StatusCode::FORBIDDEN
                || response.status == StatusCode::UNAUTHORIZED
            {
                assert_eq!(response.content_type(), "application/problem+json");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
