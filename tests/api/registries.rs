//! Registry entries: create, publish, edit with revisions, concurrency.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{new_record, start_time, Backend, TestApp};

on_both_backends!(
    created_drafts_are_private_until_published,
    withdrawn_entries_leave_the_public_catalogue,
    holder_edit_makes_a_revision_that_can_be_compared,
    concurrent_updates_with_one_etag_exactly_one_wins,
    updates_need_a_current_if_match,
    a_rejected_update_leaves_nothing_behind,
    public_responses_carry_no_personal_data,
    office_assigns_and_removes_holders,
    list_filters_by_text_and_pages_stably,
);

async fn created_drafts_are_private_until_published(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let office = app.login("office").await;
    let holder = app.login("holder").await;

    let created = app
        .post(
            "/api/v1/registries",
            Some(&office),
            &new_record("CIN-R-900001"),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.etag(), "\"1\"");
    assert_eq!(
        created.headers["location"],
        "/api/v1/registries/CIN-R-900001"
    );
    assert_eq!(created.body["publication_state"], "draft");
    assert_eq!(
        created.body["record"]["contact"]["email"],
        "contact.test@example.jp"
    );

    let path = "/api/v1/registries/CIN-R-900001";
    assert_eq!(app.get(path, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(path, Some(&holder)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get(path, Some(&office)).await.status, StatusCode::OK);

    let published = app
        .post(&format!("{path}/publish"), Some(&office), &json!(null))
        .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.body);
    assert_eq!(published.etag(), "\"2\"");

    let public = app.get(path, None).await;
    assert_eq!(public.status, StatusCode::OK);
    assert_eq!(public.body["publication_state"], "published");
    assert!(
        public.body["record"].get("contact").is_none(),
        "{}",
        public.body
    );

    let again = app
        .post(&format!("{path}/publish"), Some(&office), &json!(null))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["code"], "invalid_state_transition");
    assert_eq!(again.body["allowed"], json!(["withdraw"]));

    let duplicate = app
        .post(
            "/api/v1/registries",
            Some(&office),
            &new_record("CIN-R-900001"),
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
    assert_eq!(duplicate.body["code"], "registry_code_taken");
}

async fn withdrawn_entries_leave_the_public_catalogue(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let office = app.login("office").await;
    let path = "/api/v1/registries/CIN-R-000013";
    let listed = |body: &Value| {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["registry_code"] == "CIN-R-000013")
    };
    let before = app.get("/api/v1/registries?per_page=100", None).await;
    assert!(listed(&before.body));
    let total_before = before.body["total"].as_i64().unwrap();

    let withdrawn = app
        .post(&format!("{path}/withdraw"), Some(&office), &json!({}))
        .await;
    assert_eq!(withdrawn.status, StatusCode::OK, "{}", withdrawn.body);
    assert_eq!(withdrawn.body["publication_state"], "withdrawn");

    assert_eq!(app.get(path, None).await.status, StatusCode::NOT_FOUND);
    let after = app.get("/api/v1/registries?per_page=100", None).await;
    assert!(!listed(&after.body));
    assert_eq!(after.body["total"].as_i64().unwrap(), total_before - 1);
    let office_view = app
        .get(
            "/api/v1/registries?publication_state=withdrawn&per_page=100",
            Some(&office),
        )
        .await;
    assert!(listed(&office_view.body));
}

async fn holder_edit_makes_a_revision_that_can_be_compared(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let holder = app.login("holder").await;
    let path = "/api/v1/registries/CIN-R-000001";
    let read = app.get(path, Some(&holder)).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(
        read.body["record"]["contact"].is_object(),
        "holders see their contact data"
    );
    let old_count = read.body["record"]["enrollment_count"].clone();

    app.clock.advance(chrono::Duration::minutes(10));
    let saved = app
        .patch(
            path,
            &holder,
            &read.etag(),
            &json!({"enrollment_count": 123456, "edc_system": null}),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.etag(), "\"2\"");
    assert_eq!(saved.body["record"]["enrollment_count"], 123456);
    assert_eq!(saved.body["record"]["edc_system"], Value::Null);
    let confirmed = (start_time() + chrono::Duration::minutes(10))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(saved.body["last_confirmed_at"], confirmed);

    let history = app.get(&format!("{path}/revisions"), Some(&holder)).await;
    assert_eq!(history.status, StatusCode::OK);
    let revisions = history.body.as_array().unwrap();
    assert_eq!(revisions.len(), 2);
    assert_eq!(revisions[0]["revision"], 2);
    assert_eq!(revisions[0]["action"], "update");
    let me = app.get("/api/v1/me", Some(&holder)).await;
    assert_eq!(revisions[0]["author_id"], me.body["id"]);
    let changed = revisions[0]["changed_fields"].as_array().unwrap();
    assert!(changed.contains(&json!("enrollment_count")), "{changed:?}");
    assert_eq!(revisions[1]["action"], "create");

    let first = app.get(&format!("{path}/revisions/1"), Some(&holder)).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body["record"]["enrollment_count"], old_count);

    let diff = app
        .get(&format!("{path}/diff?from=1&to=2"), Some(&holder))
        .await;
    assert_eq!(diff.status, StatusCode::OK, "{}", diff.body);
    let changes = diff.body["changes"].as_array().unwrap();
    let count = changes
        .iter()
        .find(|c| c["field"] == "enrollment_count")
        .unwrap();
    assert_eq!(count["before"], old_count);
    assert_eq!(count["after"], 123456);
    assert!(changes.iter().all(|c| c["field"] != "name_ja"));

    let missing = app.get(&format!("{path}/revisions/9"), Some(&holder)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

async fn concurrent_updates_with_one_etag_exactly_one_wins(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let office = app.login("office").await;
    let holder = app.login("holder").await;
    let path = "/api/v1/registries/CIN-R-000002";
    let etag = app.get(path, Some(&office)).await.etag();

    let (eleven, twenty_two) = (json!({"site_count": 11}), json!({"site_count": 22}));
    let (a, b) = futures::join!(
        app.patch(path, &office, &etag, &eleven),
        app.patch(path, &holder, &etag, &twenty_two),
    );
    let mut statuses = vec![a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![200, 412], "{} / {}", a.body, b.body);
    let loser = if a.status == StatusCode::PRECONDITION_FAILED {
        &a
    } else {
        &b
    };
    assert_eq!(loser.body["code"], "precondition_failed");

    let now = app.get(path, Some(&office)).await;
    assert_eq!(now.etag(), "\"2\"");
    let winner = if a.status == StatusCode::OK { 11 } else { 22 };
    assert_eq!(now.body["record"]["site_count"], winner);
    let history = app.get(&format!("{path}/revisions"), Some(&office)).await;
    assert_eq!(history.body.as_array().unwrap().len(), 2);
}

async fn updates_need_a_current_if_match(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let office = app.login("office").await;
    let path = "/api/v1/registries/CIN-R-000003";
    let body = json!({"site_count": 3});

    let missing = app
        .call(Method::PATCH, path, Some(&office), Some(&body), &[])
        .await;
    assert_eq!(missing.status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(missing.body["code"], "precondition_required");

    let first = app.patch(path, &office, "\"1\"", &body).await;
    assert_eq!(first.status, StatusCode::OK);
    let stale = app
        .patch(path, &office, "\"1\"", &json!({"site_count": 4}))
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        stale.body,
        json!({
            "type": "urn:cin-catalogue:problem:precondition_failed",
            "title": "The object has changed since you read it",
            "status": 412,
            "code": "precondition_failed",
            "detail": "CIN-R-000003 was changed by someone else since you read it; read it again and reapply your change"
        })
    );
    let current = app
        .patch(path, &office, &first.etag(), &json!({"site_count": 4}))
        .await;
    assert_eq!(current.status, StatusCode::OK);
    assert_eq!(current.etag(), "\"3\"");
}

async fn a_rejected_update_leaves_nothing_behind(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let office = app.login("office").await;
    let path = "/api/v1/registries/CIN-R-000004";
    let before = app.get(path, Some(&office)).await;
    let audit_before = app
        .get("/api/v1/audit?per_page=1", Some(&office))
        .await
        .body["total"]
        .clone();

    let bad = app
        .patch(
            path,
            &office,
            &before.etag(),
            &json!({"site_count": 9, "region": "osak"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["errors"][0]["field"], "region");
    assert_eq!(bad.body["errors"][0]["code"], "unknown_value");
    assert!(bad.body["errors"][0]["allowed"]
        .as_array()
        .unwrap()
        .contains(&json!("osaka")));

    let renamed = app
        .patch(
            path,
            &office,
            &before.etag(),
            &json!({"registry_code": "CIN-R-999999"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(renamed.body["errors"][0]["code"], "immutable");

    let after = app.get(path, Some(&office)).await;
    assert_eq!(after.body, before.body);
    assert_eq!(after.etag(), before.etag());
    let audit_after = app
        .get("/api/v1/audit?per_page=1", Some(&office))
        .await
        .body["total"]
        .clone();
    assert_eq!(audit_after, audit_before);
}

async fn public_responses_carry_no_personal_data(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let company = app.login("company").await;
    for token in [None, Some(company.as_str())] {
        let mut page = 1;
        loop {
            let list = app
                .get(
                    &format!("/api/v1/registries?per_page=25&page={page}"),
                    token,
                )
                .await;
            assert_eq!(list.status, StatusCode::OK);
            let text = list.body.to_string();
            assert!(!text.contains("\"contact\""), "contact listed");
            assert!(!text.contains("@example.jp"), "an email listed");
            let items = list.body["items"].as_array().unwrap().clone();
            for item in &items {
                let code = item["registry_code"].as_str().unwrap();
                let one = app.get(&format!("/api/v1/registries/{code}"), token).await;
                assert!(one.body["record"].get("contact").is_none(), "{code}");
                assert!(!one.body.to_string().contains("@example.jp"), "{code}");
            }
            if items.len() < 25 {
                break;
            }
            page += 1;
        }
    }
}

async fn office_assigns_and_removes_holders(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let office = app.login("office").await;
    let holder2 = app.login("holder2").await;
    let holder2_id = app.get("/api/v1/me", Some(&holder2)).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = "/api/v1/registries/CIN-R-000020";
    let etag = app.get(path, None).await.etag();

    let refused = app
        .patch(path, &holder2, &etag, &json!({"site_count": 5}))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let holders = format!("{path}/holders/{holder2_id}");
    let assigned = app
        .call(Method::PUT, &holders, Some(&office), None, &[])
        .await;
    assert_eq!(assigned.status, StatusCode::NO_CONTENT);
    let twice = app
        .call(Method::PUT, &holders, Some(&office), None, &[])
        .await;
    assert_eq!(
        twice.status,
        StatusCode::NO_CONTENT,
        "assigning is idempotent"
    );
    let list = app.get(&format!("{path}/holders"), Some(&office)).await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0]["email"], "holder2@example.jp");

    let allowed = app
        .patch(path, &holder2, &etag, &json!({"site_count": 5}))
        .await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.body);

    let removed = app
        .call(Method::DELETE, &holders, Some(&office), None, &[])
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let gone = app
        .call(Method::DELETE, &holders, Some(&office), None, &[])
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let refused_again = app
        .patch(path, &holder2, &allowed.etag(), &json!({"site_count": 6}))
        .await;
    assert_eq!(refused_again.status, StatusCode::FORBIDDEN);

    let company_id = {
        let admin = app.login("admin").await;
        let users = app.get("/api/v1/users?role=company", Some(&admin)).await;
        users.body["items"][0]["id"].as_str().unwrap().to_string()
    };
    let not_holder = app
        .call(
            Method::PUT,
            &format!("{path}/holders/{company_id}"),
            Some(&office),
            None,
            &[],
        )
        .await;
    assert_eq!(not_holder.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn list_filters_by_text_and_pages_stably(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let found = app
        .get("/api/v1/registries?q=%EF%BC%A1%EF%BC%AC%EF%BC%B3", None)
        .await; // full-width ＡＬＳ
    assert_eq!(found.status, StatusCode::OK);
    let codes: Vec<&str> = found.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["registry_code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"CIN-R-000002"), "{codes:?}");

    let by_icd = app.get("/api/v1/registries?q=c50", None).await;
    assert!(by_icd.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["registry_code"] == "CIN-R-000001"));

    let all = app.get("/api/v1/registries?per_page=100", None).await;
    let total = all.body["total"].as_i64().unwrap();
    let mut paged = Vec::new();
    for page in 1..=total.div_euclid(7) + 1 {
        let p = app
            .get(&format!("/api/v1/registries?per_page=7&page={page}"), None)
            .await;
        assert_eq!(p.body["total"], total);
        paged.extend(
            p.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["registry_code"].clone()),
        );
    }
    let whole: Vec<Value> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["registry_code"].clone())
        .collect();
    assert_eq!(paged, whole);
    let mut sorted = whole.clone();
    sorted.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    assert_eq!(whole, sorted, "code order");
}
