//! Bad input gets a clear 4xx problem naming what was wrong; compared whole.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{new_record, Backend, TestApp};

on_both_backends!(
    malformed_bodies_are_named,
    every_invalid_registry_field_is_listed,
    bad_query_parameters_are_named,
    unknown_paths_and_methods,
    nul_characters_are_refused_not_stored,
);

fn problem(code: &str, title: &str, status: u16, detail: &str) -> Value {
    json!({
        "type": format!("urn:cin-catalogue:problem:{code}"),
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
    })
}

async fn malformed_bodies_are_named(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let token_path = "/api/v1/auth/token";

    let truncated = app
        .raw(
            Method::POST,
            token_path,
            None,
            "application/json",
            b"{\"email\": ".to_vec(),
        )
        .await;
    assert_eq!(truncated.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        truncated.body,
        problem(
            "malformed_json",
            "The request body is not valid JSON",
            400,
            "The body is not valid JSON: EOF while parsing a value at line 1 column 10"
        )
    );
    assert_eq!(truncated.content_type(), "application/problem+json");

    let not_utf8 = app
        .raw(
            Method::POST,
            token_path,
            None,
            "application/json",
            b"{\"email\": \"\xff\xfe\", \"password\": \"x\"}".to_vec(),
        )
        .await;
    assert_eq!(not_utf8.status, StatusCode::BAD_REQUEST);
    assert_eq!(not_utf8.body["code"], "malformed_json");

    let wrong_type = app
        .post(token_path, None, &json!({"email": 5, "password": "x"}))
        .await;
    let mut expected = problem(
        "validation_failed",
        "The request has invalid fields",
        422,
        "1 field is invalid",
    );
    expected["errors"] = json!([{"field": "email", "code": "invalid_type", "message": "invalid type: integer `5`, expected a string"}]);
    assert_eq!(wrong_type.body, expected);

    let unknown = app
        .post(
            token_path,
            None,
            &json!({"email": "a@example.jp", "password": "x", "remember": true}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.body["errors"][0]["field"], "remember");
    assert_eq!(unknown.body["errors"][0]["code"], "unknown_field");

    let missing = app
        .post(token_path, None, &json!({"email": "a@example.jp"}))
        .await;
    assert_eq!(missing.body["errors"][0]["field"], "password");
    assert_eq!(missing.body["errors"][0]["code"], "required");

    let text = app
        .raw(
            Method::POST,
            token_path,
            None,
            "text/plain",
            b"email=a".to_vec(),
        )
        .await;
    assert_eq!(
        text.body,
        problem(
            "unsupported_media_type",
            "The request body must be JSON",
            415,
            "Send the body as `Content-Type: application/json`"
        )
    );

    let huge = format!(
        "{{\"email\": \"{}\", \"password\": \"x\"}}",
        "a".repeat(300 * 1024)
    );
    let too_large = app
        .raw(
            Method::POST,
            token_path,
            None,
            "application/json",
            huge.into_bytes(),
        )
        .await;
    assert_eq!(
        too_large.body,
        problem(
            "payload_too_large",
            "The request body is too large",
            413,
            "The body must be at most 262144 bytes"
        )
    );

    let office = app.login("office").await;
    let nested = app
        .post("/api/v1/registries", Some(&office), &{
            let mut r = new_record("CIN-R-900002");
            r["diseases"][0]["icd10"] = json!(["C50", 7]);
            r
        })
        .await;
    assert_eq!(nested.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(nested.body["errors"][0]["field"], "diseases[0].icd10[1]");
}

async fn every_invalid_registry_field_is_listed(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let office = app.login("office").await;
    let mut record = new_record("CIN-R-900003");
    record["name_ja"] = json!("  ");
    record["region"] = json!("osak");
    record["diseases"][0]["icd10"] = json!(["c50.9", "C5"]);
    record["start_year"] = json!(1800);
    record["data_items"] = json!(["genomic", "genomic"]);
    record["linkage"] = json!(["dpc", "none"]);
    record["website"] = json!("javascript:alert(1)");
    let response = app.post("/api/v1/registries", Some(&office), &record).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors: Vec<(String, String)> = response.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("name_ja", "required"),
        ("website", "invalid_format"),
        ("diseases[0].icd10[1]", "invalid_format"),
        ("region", "unknown_value"),
        ("start_year", "out_of_range"),
        ("data_items[1]", "duplicate"),
        ("linkage", "invalid_value"),
    ]
    .iter()
    .map(|(f, c)| (f.to_string(), c.to_string()))
    .collect();
    assert_eq!(errors, expected, "{}", response.body);
    assert_eq!(response.body["detail"], "7 fields are invalid");
    let region = &response.body["errors"][3];
    assert_eq!(region["allowed"].as_array().unwrap().len(), 48);
    assert_eq!(
        app.get("/api/v1/registries/CIN-R-900003", Some(&office))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

async fn bad_query_parameters_are_named(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    for (query, field) in [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=99999999999", "page"),
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("publication_state=secret", "publication_state"),
        ("pre_page=5", "pre_page"),
    ] {
        let response = app.get(&format!("/api/v1/registries?{query}"), None).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(response.body["code"], "invalid_query", "{query}");
        assert_eq!(
            response.body["errors"][0]["field"], field,
            "{query}: {}",
            response.body
        );
    }
    let office = app.login("office").await;
    let diff = app
        .get("/api/v1/registries/CIN-R-000001/diff?from=1", Some(&office))
        .await;
    assert_eq!(diff.status, StatusCode::BAD_REQUEST);
    assert_eq!(diff.body["errors"][0]["field"], "to");
}

async fn unknown_paths_and_methods(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let missing = app.get("/api/v1/nothing-here", None).await;
    assert_eq!(
        missing.body,
        problem(
            "not_found",
            "Not found",
            404,
            "No resource at /api/v1/nothing-here"
        )
    );
    let wrong = app
        .call(
            Method::DELETE,
            "/api/v1/registries/CIN-R-000001",
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.headers["allow"], "GET, PATCH");
    assert_eq!(wrong.body["code"], "method_not_allowed");
    let unknown_registry = app.get("/api/v1/registries/CIN-R-999999", None).await;
    assert_eq!(
        unknown_registry.body,
        problem("not_found", "Not found", 404, "No registry CIN-R-999999")
    );
}

/// PostgreSQL cannot store U+0000: such input must be a 4xx, never a 500.
async fn nul_characters_are_refused_not_stored(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let login = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"email": "a\u{0}@example.jp", "password": "x"}),
        )
        .await;
    assert_eq!(login.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(login.body["errors"][0]["field"], "email");
    let office = app.login("office").await;
    let user = json!({"email": "n@example.jp", "password": "long enough password", "role": "company",
                      "display_name": "名前\u{0}", "organisation": "架空"});
    let created = app.post("/api/v1/users", Some(&office), &user).await;
    assert_eq!(created.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(created.body["errors"][0]["field"], "display_name");
    let mut record = new_record("CIN-R-900004");
    record["diseases"][0]["icd10"] = json!(["C50", "\u{0}"]);
    let registry = app.post("/api/v1/registries", Some(&office), &record).await;
    assert_eq!(registry.body["errors"][0]["field"], "diseases[0].icd10[1]");
    let query = app.get("/api/v1/registries?q=%00", None).await;
    assert_eq!(query.status, StatusCode::BAD_REQUEST);
    assert_eq!(query.body["errors"][0]["field"], "q");
    let audit = app.get("/api/v1/audit?object_id=a%00", Some(&office)).await;
    assert_eq!(audit.status, StatusCode::BAD_REQUEST);
    let path = app.get("/api/v1/registries/CIN-R-%0000001", None).await;
    assert_eq!(path.status, StatusCode::NOT_FOUND);
    let holder = app
        .call(
            Method::PUT,
            "/api/v1/registries/CIN-R-000001/holders/%00",
            Some(&office),
            None,
            &[],
        )
        .await;
    assert_eq!(holder.status, StatusCode::NOT_FOUND);
}
