//! The committed OpenAPI document is the one the code generates.

use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp};

#[test]
fn committed_document_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openapi/openapi.json"
    ))
    .expect("openapi/openapi.json exists");
    let generated = cin_catalogue::openapi::to_pretty_json();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `cargo run -p cin-catalogue -- openapi --output openapi/openapi.json`"
    );
}

#[test]
fn every_secured_operation_documents_401_and_every_body_422() {
    let doc = cin_catalogue::openapi::document();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let secured = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            if secured {
                assert!(responses.contains_key("401"), "{method} {path} lacks 401");
            }
            if op.get("requestBody").is_some() {
                assert!(responses.contains_key("422"), "{method} {path} lacks 422");
                assert!(responses.contains_key("415"), "{method} {path} lacks 415");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_document_and_offline_docs_page() {
    let app = TestApp::spawn_with(&Backend::Sqlite, false).await;
    let served = app.get("/openapi.json", None).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.body, cin_catalogue::openapi::document());
    let page = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("://cdn") && !html.contains("unpkg.com"),
        "no CDN: {html}"
    );
    let script = app
        .client
        .get(app.url("/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        script.status(),
        StatusCode::OK,
        "the UI is served from the binary"
    );
}
