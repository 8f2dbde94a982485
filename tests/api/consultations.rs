//! The consultation desk: lifecycle, moves per role, visibility, concurrency,
//! reminders by Japanese business days, and the office's figures.

use chrono::{DateTime, Duration, TimeZone, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use cin_catalogue::clock::Clock;
use cin_catalogue::consultations::sla::{run_sla_pass, SlaReport};
use cin_catalogue::domain::consultation::SlaLimits;
use cin_catalogue::store::Store;

use crate::helpers::{Backend, Response, TestApp};

on_both_backends!(
    full_lifecycle_from_submission_to_agreement,
    requester_withdraws_an_open_inquiry,
    each_role_may_make_only_its_own_moves,
    each_role_sees_only_its_inquiries_and_never_internal_notes,
    of_two_concurrent_moves_exactly_one_wins,
    reminders_come_when_the_business_day_limit_runs_out,
    reminders_skip_the_year_end_break,
    figures_match_hand_computed_values,
    invalid_inquiries_name_their_fields,
    the_sample_desk_is_not_empty,
);

async fn submit(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app.post("/api/v1/consultations", Some(token), &body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    response.body
}

fn inquiry(registries: &[&str]) -> Value {
    json!({
        "kind": "data_use",
        "subject": "架空の相談",
        "body": "登録データの二次利用について伺います。計画書: https://example.jp/plan",
        "desired_timeline": "半年以内",
        "registries": registries,
    })
}

async fn move_to(app: &TestApp, token: &str, id: &str, to: &str) -> Response {
    app.post(
        &format!("/api/v1/consultations/{id}/moves"),
        Some(token),
        &json!({"to": to}),
    )
    .await
}

async fn move_registry(app: &TestApp, token: &str, id: &str, code: &str, to: &str) -> Response {
    app.post(
        &format!("/api/v1/consultations/{id}/registries/{code}/moves"),
        Some(token),
        &json!({"to": to}),
    )
    .await
}

async fn ok(response: Response) -> Value {
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.body
}

/// The outbox mails about one inquiry, oldest first (read as the office,
/// signed in afresh: the tests move the clock past token lifetimes).
async fn mails(app: &TestApp, id: &str) -> Vec<Value> {
    let office = app.login("office").await;
    let response = app
        .get(
            &format!("/api/v1/outbox?related_id={id}&per_page=100"),
            Some(&office),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let mut items = response.body["items"].as_array().unwrap().clone();
    items.reverse();
    items
}

fn to(mails: &[Value], email: &str) -> Vec<Value> {
    mails
        .iter()
        .filter(|m| m["recipient_email"] == email)
        .cloned()
        .collect()
}

async fn sla_pass(app: &TestApp) -> SlaReport {
    let url = app.database_url.clone();
    let now = app.clock.now();
    tokio::task::spawn_blocking(move || {
        let store = Store::connect(&url, 2).expect("store");
        run_sla_pass(&store, SlaLimits::default(), now).expect("the pass runs")
    })
    .await
    .unwrap()
}

fn set_clock(app: &TestApp, at: DateTime<Utc>) {
    let now = app.clock.now();
    assert!(at >= now, "the clock only moves forward");
    app.clock.advance(at - now);
}

async fn full_lifecycle_from_submission_to_agreement(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let company = app.login("company").await;
    let office = app.login("office").await;
    let holder = app.login("holder").await;
    let holder2 = app.login("holder2").await;

    let created = submit(&app, &company, inquiry(&["CIN-R-000001", "CIN-R-000013"])).await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["status"], "submitted");
    assert_eq!(created["organisation"], "架空製薬株式会社");
    assert_eq!(created["allowed_moves"], json!(["withdrawn"]));
    assert_eq!(created["registries"][0]["status"], "pending");
    let submitted_mail = to(&mails(&app, &id).await, "office@example.jp");
    assert_eq!(submitted_mail.len(), 1);
    assert!(submitted_mail[0]["body_text"]
        .as_str()
        .unwrap()
        .contains("あなたの対応が必要です"));

    app.clock.advance(Duration::minutes(5));
    let triage = ok(move_to(&app, &office, &id, "in_triage").await).await;
    assert_eq!(
        triage["allowed_moves"],
        json!(["waiting_for_requester", "forwarded", "declined", "closed"])
    );
    assert!(triage["first_response_at"].is_string());
    ok(app
        .post(
            &format!("/api/v1/consultations/{id}/moves"),
            Some(&office),
            &json!({"to": "waiting_for_requester", "comment": "対象期間を教えてください"}),
        )
        .await)
    .await;
    let question = to(&mails(&app, &id).await, "company@example.jp");
    let question = question.last().unwrap()["body_text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        question.contains("事務局からの質問に回答してください"),
        "{question}"
    );
    ok(app
        .post(
            &format!("/api/v1/consultations/{id}/messages"),
            Some(&company),
            &json!({"body": "2015年以降をお願いします"}),
        )
        .await
        .into_created())
    .await;
    ok(move_to(&app, &company, &id, "in_triage").await).await;

    // Forwarding adds a registry the company did not name.
    let forwarded = ok(app
        .post(
            &format!("/api/v1/consultations/{id}/moves"),
            Some(&office),
            &json!({"to": "forwarded", "registries": ["CIN-R-000005"]}),
        )
        .await)
    .await;
    let registries = forwarded["registries"].as_array().unwrap();
    assert_eq!(registries.len(), 3);
    let by_code = |body: &Value, code: &str| {
        body["registries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["registry_code"] == code)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(by_code(&forwarded, "CIN-R-000001")["status"], "contacted");
    assert_eq!(
        by_code(&forwarded, "CIN-R-000001")["holder_unreachable"],
        false
    );
    assert_eq!(
        by_code(&forwarded, "CIN-R-000013")["holder_unreachable"],
        true
    );
    let company_view = app
        .get(&format!("/api/v1/consultations/{id}"), Some(&company))
        .await
        .body;
    assert!(by_code(&company_view, "CIN-R-000013")
        .get("holder_unreachable")
        .is_none());
    // Once the office gives CIN-R-000013 a holder, it is reachable and they see it.
    let holders = app
        .get("/api/v1/users?role=holder&per_page=100", Some(&office))
        .await
        .body;
    let holder3_id = holders["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "holder3@example.jp")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let assigned = app
        .call(
            Method::PUT,
            &format!("/api/v1/registries/CIN-R-000013/holders/{holder3_id}"),
            Some(&office),
            None,
            &[],
        )
        .await;
    assert_eq!(assigned.status, StatusCode::NO_CONTENT);
    let office_view = app
        .get(&format!("/api/v1/consultations/{id}"), Some(&office))
        .await
        .body;
    assert_eq!(
        by_code(&office_view, "CIN-R-000013")["holder_unreachable"],
        false
    );
    let holder3 = app.login("holder3").await;
    let holder3_view = app
        .get(&format!("/api/v1/consultations/{id}"), Some(&holder3))
        .await;
    assert_eq!(holder3_view.status, StatusCode::OK);
    assert_eq!(
        holder3_view.body["registries"][0]["registry_code"],
        "CIN-R-000013"
    );
    // A holder sees only their own registry's answer.
    let holder_view = app
        .get(&format!("/api/v1/consultations/{id}"), Some(&holder))
        .await
        .body;
    assert_eq!(holder_view["registries"].as_array().unwrap().len(), 1);
    assert_eq!(
        by_code(&holder_view, "CIN-R-000001")["allowed_moves"],
        json!(["checking", "available", "not_available"])
    );
    let holder_mail = to(&mails(&app, &id).await, "holder@example.jp");
    assert_eq!(holder_mail.len(), 1, "{holder_mail:?}");
    let text = holder_mail[0]["body_text"].as_str().unwrap();
    assert!(text.contains("あなたの対応が必要です"), "{text}");
    assert!(
        text.contains("CIN-R-000001 で対応できるかどうか回答してください"),
        "{text}"
    );
    // holder2 writes in English.
    let holder2_mail = to(&mails(&app, &id).await, "holder2@example.jp");
    assert!(holder2_mail[0]["body_text"]
        .as_str()
        .unwrap()
        .contains("Action needed from you:\n- say whether CIN-R-000005 can help"));

    for step in ["checking", "available", "conditions_stated"] {
        ok(move_registry(&app, &holder, &id, "CIN-R-000001", step).await).await;
    }
    ok(move_registry(&app, &holder2, &id, "CIN-R-000005", "not_available").await).await;
    let conditions = to(&mails(&app, &id).await, "company@example.jp");
    let text = conditions.last().unwrap()["body_text"].as_str().unwrap();
    assert!(
        text.contains("CIN-R-000001 の提示条件を承諾または辞退してください"),
        "{text}"
    );
    ok(move_registry(&app, &company, &id, "CIN-R-000001", "conditions_accepted").await).await;
    ok(move_registry(&app, &holder, &id, "CIN-R-000001", "provided").await).await;

    app.clock.advance(Duration::days(3));
    let office = app.login("office").await;
    let agreed = ok(app
        .post(
            &format!("/api/v1/consultations/{id}/moves"),
            Some(&office),
            &json!({"to": "agreed", "comment": "合意しました"}),
        )
        .await)
    .await;
    assert_eq!(agreed["status"], "agreed");
    assert_eq!(agreed["allowed_moves"], json!([]));
    assert!(agreed["decided_at"].is_string());
    let history: Vec<(Value, Value, Value)> = agreed["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["registry_code"].clone(),
                e["from"].clone(),
                e["to"].clone(),
            )
        })
        .collect();
    let inquiry_moves: Vec<&Value> = history
        .iter()
        .filter(|(code, _, _)| code.is_null())
        .map(|(_, _, to)| to)
        .collect();
    assert_eq!(
        inquiry_moves,
        [
            "submitted",
            "in_triage",
            "waiting_for_requester",
            "in_triage",
            "forwarded",
            "agreed"
        ]
    );
    assert_eq!(history.len(), 6 + 6);
    let last = agreed["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["actor"]["display_name"], "事務局 花子");
    assert_eq!(last["comment"], "合意しました");
    assert_eq!(last["from"], "forwarded");

    // The company is told it is concluded, and nobody is told to act.
    let final_mail = to(&mails(&app, &id).await, "company@example.jp");
    let text = final_mail.last().unwrap()["body_text"].as_str().unwrap();
    assert!(text.contains("この相談は終了しています"), "{text}");
    assert!(!text.contains("あなたの対応が必要です"), "{text}");
    // Holders who answered are not told to act again.
    let last_to_holder2 = to(&mails(&app, &id).await, "holder2@example.jp");
    let text = last_to_holder2.last().unwrap()["body_text"]
        .as_str()
        .unwrap();
    assert!(text.contains("No action is needed from you."), "{text}");
    assert!(text.contains("This inquiry is concluded."), "{text}");

    let audit = app
        .get(
            &format!("/api/v1/audit?object_type=consultation&object_id={id}&per_page=100"),
            Some(&office),
        )
        .await;
    assert_eq!(audit.body["total"], 13, "{}", audit.body);
}

trait Created {
    fn into_created(self) -> Response;
}

impl Created for Response {
    /// A 201 read like a 200, for `ok`.
    fn into_created(mut self) -> Response {
        assert_eq!(self.status, StatusCode::CREATED, "{}", self.body);
        self.status = StatusCode::OK;
        self
    }
}

async fn requester_withdraws_an_open_inquiry(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let company = app.login("company").await;
    let company2 = app.login("company2").await;
    let office = app.login("office").await;
    let id = submit(&app, &company, inquiry(&["CIN-R-000002"])).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(move_to(&app, &office, &id, "in_triage").await).await;

    let other = move_to(&app, &company2, &id, "withdrawn").await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "{}", other.body);

    let withdrawn = ok(move_to(&app, &company, &id, "withdrawn").await).await;
    assert_eq!(withdrawn["status"], "withdrawn");
    assert!(withdrawn["decided_at"].is_null());

    let again = move_to(&app, &company, &id, "withdrawn").await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["code"], "invalid_state_transition");
    assert_eq!(again.body["allowed"], json!([]));
    let closed = move_to(&app, &office, &id, "closed").await;
    assert_eq!(closed.status, StatusCode::CONFLICT);
    assert_eq!(closed.body["allowed"], json!([]));

    let office_mail = to(&mails(&app, &id).await, "office@example.jp");
    let text = office_mail.last().unwrap()["body_text"].as_str().unwrap();
    assert!(text.contains("「トリアージ中」から「取下げ」"), "{text}");
}

async fn each_role_may_make_only_its_own_moves(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let company = app.login("company").await;
    let office = app.login("office").await;
    let holder = app.login("holder").await;
    let holder2 = app.login("holder2").await;
    let id = submit(&app, &company, inquiry(&["CIN-R-000001"])).await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let refused = |response: Response, allowed: Value| {
        assert_eq!(response.status, StatusCode::CONFLICT, "{}", response.body);
        assert_eq!(response.body["code"], "invalid_state_transition");
        assert_eq!(response.body["allowed"], allowed, "{}", response.body);
        assert_eq!(
            response.content_type(),
            "application/problem+json",
            "{}",
            response.body
        );
    };

    // Submitted: the company may only withdraw; the office triage or close.
    refused(
        move_to(&app, &company, &id, "in_triage").await,
        json!(["withdrawn"]),
    );
    refused(
        move_to(&app, &office, &id, "forwarded").await,
        json!(["in_triage", "closed"]),
    );
    refused(
        move_to(&app, &office, &id, "withdrawn").await,
        json!(["in_triage", "closed"]),
    );
    // Not yet forwarded: the holder does not see it at all.
    assert_eq!(
        move_to(&app, &holder, &id, "in_triage").await.status,
        StatusCode::NOT_FOUND
    );
    // Registries answer only once forwarded.
    refused(
        move_registry(&app, &office, &id, "CIN-R-000001", "checking").await,
        json!([]),
    );

    ok(move_to(&app, &office, &id, "in_triage").await).await;
    refused(
        move_to(&app, &company, &id, "forwarded").await,
        json!(["withdrawn"]),
    );
    ok(move_to(&app, &office, &id, "forwarded").await).await;

    // Forwarded: the holder moves their registry only; never the inquiry.
    refused(move_to(&app, &holder, &id, "agreed").await, json!([]));
    refused(
        move_to(&app, &company, &id, "agreed").await,
        json!(["withdrawn"]),
    );
    refused(
        move_registry(&app, &holder, &id, "CIN-R-000001", "conditions_accepted").await,
        json!(["checking", "available", "not_available"]),
    );
    refused(
        move_registry(&app, &company, &id, "CIN-R-000001", "checking").await,
        json!([]),
    );
    refused(
        move_registry(&app, &office, &id, "CIN-R-000001", "checking").await,
        json!([]),
    );
    // Another holder does not see it; a registry it is not about is 404.
    assert_eq!(
        move_registry(&app, &holder2, &id, "CIN-R-000001", "checking")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        move_registry(&app, &holder, &id, "CIN-R-000002", "checking")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    ok(move_registry(&app, &holder, &id, "CIN-R-000001", "available").await).await;
    ok(move_registry(&app, &holder, &id, "CIN-R-000001", "conditions_stated").await).await;
    // Conditions are the requester's to accept, not the holder's.
    refused(
        move_registry(&app, &holder, &id, "CIN-R-000001", "conditions_accepted").await,
        json!([]),
    );
    refused(
        move_registry(&app, &company, &id, "CIN-R-000001", "provided").await,
        json!(["conditions_accepted", "conditions_declined"]),
    );
    // Nothing happened through all of that.
    let now = app
        .get(&format!("/api/v1/consultations/{id}"), Some(&office))
        .await
        .body;
    assert_eq!(now["status"], "forwarded");
    assert_eq!(now["registries"][0]["status"], "conditions_stated");
    assert_eq!(now["history"].as_array().unwrap().len(), 5);
}

async fn each_role_sees_only_its_inquiries_and_never_internal_notes(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let office = app.login("office").await;
    // A colleague at the same company sees the company's inquiries.
    let colleague = app
        .post(
            "/api/v1/users",
            Some(&office),
            &json!({"email": "colleague@example.jp", "password": "colleague-pass-1",
                    "role": "company", "display_name": "同僚 一子",
                    "organisation": "架空製薬株式会社"}),
        )
        .await;
    assert_eq!(colleague.status, StatusCode::CREATED, "{}", colleague.body);
    let mut tokens = Vec::new();
    for who in [
        "company",
        "company2",
        "colleague",
        "holder",
        "holder2",
        "office",
        "admin",
    ] {
        tokens.push(if who == "colleague" {
            app.login_full("colleague@example.jp", "colleague-pass-1")
                .await["access_token"]
                .as_str()
                .unwrap()
                .to_string()
        } else {
            app.login(who).await
        });
    }
    let [company, company2, _, holder, _, _, admin] = tokens.clone().try_into().unwrap();

    // A: the company's, forwarded to CIN-R-000001 (holder). B: company2's, not forwarded.
    let a = submit(&app, &company, inquiry(&["CIN-R-000001"])).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(move_to(&app, &office, &a, "in_triage").await).await;
    ok(move_to(&app, &office, &a, "forwarded").await).await;
    let b = submit(&app, &company2, inquiry(&["CIN-R-000005"])).await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let secret = "社内メモ: 先方の予算は未確認";
    let note = app
        .post(
            &format!("/api/v1/consultations/{a}/messages"),
            Some(&admin),
            &json!({"body": secret, "internal": true}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
    let shared = app
        .post(
            &format!("/api/v1/consultations/{a}/messages"),
            Some(&holder),
            &json!({"body": "確認します"}),
        )
        .await;
    assert_eq!(shared.status, StatusCode::CREATED, "{}", shared.body);

    // Rows: method, path, body, expected per actor
    // (company, company2, colleague, holder, holder2, office, admin).
    let rows: Vec<(Method, String, Option<Value>, [u16; 7])> = vec![
        (
            Method::GET,
            format!("/api/v1/consultations/{a}"),
            None,
            [200, 404, 200, 200, 404, 200, 200],
        ),
        (
            Method::GET,
            format!("/api/v1/consultations/{a}/messages"),
            None,
            [200, 404, 200, 200, 404, 200, 200],
        ),
        (
            Method::POST,
            format!("/api/v1/consultations/{a}/messages"),
            Some(json!({"body": "hi"})),
            [201, 404, 201, 201, 404, 201, 201],
        ),
        (
            Method::POST,
            format!("/api/v1/consultations/{a}/messages"),
            Some(json!({"body": "note", "internal": true})),
            [403, 404, 403, 403, 404, 201, 201],
        ),
        (
            Method::POST,
            format!("/api/v1/consultations/{a}/moves"),
            Some(json!({"to": "submitted"})),
            [409, 404, 409, 409, 404, 409, 409],
        ),
        (
            Method::POST,
            format!("/api/v1/consultations/{a}/registries/CIN-R-000001/moves"),
            Some(json!({"to": "pending"})),
            [409, 404, 409, 409, 404, 409, 409],
        ),
        (
            Method::PUT,
            format!("/api/v1/consultations/{a}/assignee"),
            Some(json!({"assignee_id": null})),
            [403, 403, 403, 403, 403, 200, 200],
        ),
        (
            Method::GET,
            format!("/api/v1/consultations/{b}"),
            None,
            [404, 200, 404, 404, 404, 200, 200],
        ),
        (
            Method::GET,
            format!("/api/v1/consultations/{b}/messages"),
            None,
            [404, 200, 404, 404, 404, 200, 200],
        ),
        (
            Method::POST,
            format!("/api/v1/consultations/{b}/moves"),
            Some(json!({"to": "agreed"})),
            [404, 409, 404, 404, 404, 409, 409],
        ),
        (
            Method::GET,
            "/api/v1/consultations/stats".to_string(),
            None,
            [403, 403, 403, 403, 403, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/consultations/export.csv".to_string(),
            None,
            [403, 403, 403, 403, 403, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/outbox".to_string(),
            None,
            [403, 403, 403, 403, 403, 200, 200],
        ),
        (
            Method::POST,
            "/api/v1/consultations".to_string(),
            Some(inquiry(&[])),
            [201, 201, 201, 403, 403, 403, 403],
        ),
    ];
    let names = [
        "company",
        "company2",
        "colleague",
        "holder",
        "holder2",
        "office",
        "admin",
    ];
    let mut failures = Vec::new();
    for (method, path, body, expected) in &rows {
        for (i, token) in tokens.iter().enumerate() {
            let response = app
                .call(method.clone(), path, Some(token), body.as_ref(), &[])
                .await;
            if response.status.as_u16() != expected[i] {
                failures.push(format!(
                    "{method} {path} as {}: {} (expected {}) {}",
                    names[i], response.status, expected[i], response.body
                ));
            }
        }
        let anonymous = app
            .call(method.clone(), path, None, body.as_ref(), &[])
            .await;
        assert_eq!(
            anonymous.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The lists: each sees what it may.
    let listed = |body: &Value, id: &str| {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id)
    };
    for (i, token) in tokens.iter().enumerate() {
        let list = app
            .get("/api/v1/consultations?per_page=100", Some(token))
            .await;
        assert_eq!(list.status, StatusCode::OK);
        let sees_a = [true, false, true, true, false, true, true][i];
        let sees_b = [false, true, false, false, false, true, true][i];
        assert_eq!(listed(&list.body, &a), sees_a, "{} and A", names[i]);
        assert_eq!(listed(&list.body, &b), sees_b, "{} and B", names[i]);
    }

    // Internal notes: only the office reads them, anywhere.
    for (i, token) in tokens.iter().enumerate() {
        let thread = app
            .get(
                &format!("/api/v1/consultations/{a}/messages?per_page=100"),
                Some(token),
            )
            .await;
        if thread.status != StatusCode::OK {
            continue;
        }
        let text = thread.body.to_string();
        let staff = names[i] == "office" || names[i] == "admin";
        assert_eq!(text.contains(secret), staff, "{}: {text}", names[i]);
        assert!(text.contains("確認します"));
        let detail = app
            .get(&format!("/api/v1/consultations/{a}"), Some(token))
            .await;
        assert!(!detail.body.to_string().contains(secret));
    }
    let outbox = mails(&app, &a).await;
    for mail in &outbox {
        if mail["body_text"].as_str().unwrap().contains(secret) {
            assert_eq!(mail["recipient_email"], "office@example.jp", "{mail}");
        }
    }
    assert!(outbox
        .iter()
        .any(|m| m["body_text"].as_str().unwrap().contains(secret)));
}

async fn of_two_concurrent_moves_exactly_one_wins(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let company = app.login("company").await;
    let office = app.login("office").await;
    let admin = app.login("admin").await;
    let id = submit(&app, &company, inquiry(&["CIN-R-000001"])).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(move_to(&app, &office, &id, "in_triage").await).await;

    // The office declines while the company withdraws: either ends it.
    let (a, b) = futures::join!(
        move_to(&app, &office, &id, "declined"),
        move_to(&app, &company, &id, "withdrawn"),
    );
    let mut statuses = vec![a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![200, 409], "{} / {}", a.body, b.body);
    let loser = if a.status == StatusCode::CONFLICT {
        &a
    } else {
        &b
    };
    assert_eq!(loser.body["code"], "invalid_state_transition");
    assert!(loser.body["allowed"].is_array(), "{}", loser.body);

    // Two office members move the same inquiry at once.
    let id2 = submit(&app, &company, inquiry(&["CIN-R-000001"])).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (a, b) = futures::join!(
        move_to(&app, &office, &id2, "in_triage"),
        move_to(&app, &admin, &id2, "in_triage"),
    );
    let mut statuses = vec![a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![200, 409], "{} / {}", a.body, b.body);
    // A holder's answer sent twice at once (two tabs): one move, one 409.
    ok(move_to(&app, &office, &id2, "forwarded").await).await;
    let holder = app.login("holder").await;
    let (a, b) = futures::join!(
        move_registry(&app, &holder, &id2, "CIN-R-000001", "checking"),
        move_registry(&app, &holder, &id2, "CIN-R-000001", "checking"),
    );
    let mut statuses = vec![a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![200, 409], "{} / {}", a.body, b.body);
    let loser = if a.status == StatusCode::CONFLICT {
        &a
    } else {
        &b
    };
    assert_eq!(loser.body["allowed"], json!(["available", "not_available"]));

    for (id, moves) in [(&id, 3), (&id2, 4)] {
        let detail = app
            .get(&format!("/api/v1/consultations/{id}"), Some(&office))
            .await;
        let history = detail.body["history"].as_array().unwrap();
        assert_eq!(history.len(), moves, "{}", detail.body);
        assert_eq!(detail.body["version"], moves as i64);
    }
}

async fn reminders_come_when_the_business_day_limit_runs_out(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let company = app.login("company").await;
    let office = app.login("office").await;
    // Tuesday 24 Nov 2026, 18:00 in Japan.
    let id = submit(&app, &company, inquiry(&["CIN-R-000001"])).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(move_to(&app, &office, &id, "in_triage").await).await;
    ok(move_to(&app, &office, &id, "forwarded").await).await;
    let reminders = |mails: Vec<Value>| -> Vec<Value> {
        mails
            .into_iter()
            .filter(|m| {
                m["kind"] == "consultation.reminder" || m["kind"] == "consultation.escalation"
            })
            .collect()
    };

    // Five business days: Wed 25, Thu 26, Fri 27, Mon 30 Nov, Tue 1 Dec, 18:00 JST.
    let due = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    set_clock(&app, due - Duration::minutes(1));
    sla_pass(&app).await;
    assert!(reminders(mails(&app, &id).await).is_empty());

    set_clock(&app, due);
    let report = sla_pass(&app).await;
    assert!(report.reminders >= 1, "{report:?}");
    let sent = reminders(mails(&app, &id).await);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["recipient_email"], "holder@example.jp");
    assert_eq!(sent[0]["language"], "ja");
    let text = sent[0]["body_text"].as_str().unwrap();
    assert!(text.contains("あなたの対応が必要です"), "{text}");
    assert!(
        text.contains("CIN-R-000001 で対応できるかどうか回答してください"),
        "{text}"
    );
    assert!(text.contains("2026年12月01日 18:00"), "{text}");

    // Running again writes nothing twice.
    sla_pass(&app).await;
    assert_eq!(reminders(mails(&app, &id).await).len(), 1);

    // Far overdue (5 more business days: Tue 8 Dec): the holder again, and the office is told.
    set_clock(&app, Utc.with_ymd_and_hms(2026, 12, 8, 8, 59, 0).unwrap());
    sla_pass(&app).await;
    assert_eq!(reminders(mails(&app, &id).await).len(), 1);
    set_clock(&app, Utc.with_ymd_and_hms(2026, 12, 8, 9, 0, 0).unwrap());
    sla_pass(&app).await;
    let sent = reminders(mails(&app, &id).await);
    assert_eq!(sent.len(), 3, "{sent:?}");
    let to_office = to(&sent, "office@example.jp");
    assert_eq!(to_office.len(), 1);
    assert_eq!(to_office[0]["kind"], "consultation.escalation");
    let text = to_office[0]["body_text"].as_str().unwrap();
    assert!(text.contains("あなたの対応は必要ありません"), "{text}");
    assert!(text.contains("CIN-R-000001 の保有者"), "{text}");
    assert!(to(&sent, "company@example.jp").is_empty());

    // The holder writes: their clock starts again from that moment.
    set_clock(&app, Utc.with_ymd_and_hms(2026, 12, 8, 10, 0, 0).unwrap());
    let holder = app.login("holder").await;
    let written = app
        .post(
            &format!("/api/v1/consultations/{id}/messages"),
            Some(&holder),
            &json!({"body": "検討中です"}),
        )
        .await;
    assert_eq!(written.status, StatusCode::CREATED);
    set_clock(&app, Utc.with_ymd_and_hms(2026, 12, 15, 9, 59, 0).unwrap());
    sla_pass(&app).await;
    assert_eq!(reminders(mails(&app, &id).await).len(), 3);
    set_clock(&app, Utc.with_ymd_and_hms(2026, 12, 15, 10, 0, 0).unwrap());
    sla_pass(&app).await;
    let sent = reminders(mails(&app, &id).await);
    assert_eq!(sent.len(), 4);
    assert_eq!(sent[3]["recipient_email"], "holder@example.jp");

    // Once the holder states conditions, the ball is the requester's (10 days).
    let holder = app.login("holder").await;
    ok(move_registry(&app, &holder, &id, "CIN-R-000001", "available").await).await;
    ok(move_registry(&app, &holder, &id, "CIN-R-000001", "conditions_stated").await).await;
    // 15 Dec 10:00 UTC is 19:00 JST; ten business days: 16-18, 21-25, 28 Dec, 4 Jan.
    set_clock(&app, Utc.with_ymd_and_hms(2027, 1, 4, 9, 59, 0).unwrap());
    sla_pass(&app).await;
    assert_eq!(reminders(mails(&app, &id).await).len(), 4);
    set_clock(&app, Utc.with_ymd_and_hms(2027, 1, 4, 10, 0, 0).unwrap());
    sla_pass(&app).await;
    let sent = reminders(mails(&app, &id).await);
    assert_eq!(sent.len(), 5);
    assert_eq!(sent[4]["recipient_email"], "company@example.jp");
    let text = sent[4]["body_text"].as_str().unwrap();
    assert!(
        text.contains("CIN-R-000001 の提示条件を承諾または辞退してください"),
        "{text}"
    );
}

async fn reminders_skip_the_year_end_break(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    // Friday 25 Dec 2026, 10:00 JST. Two business days: Mon 28 Dec, Mon 4 Jan.
    set_clock(&app, Utc.with_ymd_and_hms(2026, 12, 25, 1, 0, 0).unwrap());
    let company2 = app.login("company2").await;
    let id = submit(&app, &company2, inquiry(&[])).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    set_clock(&app, Utc.with_ymd_and_hms(2027, 1, 4, 0, 59, 0).unwrap());
    sla_pass(&app).await;
    let is_reminder = |m: &&Value| m["kind"] == "consultation.reminder";
    assert_eq!(mails(&app, &id).await.iter().filter(is_reminder).count(), 0);
    set_clock(&app, Utc.with_ymd_and_hms(2027, 1, 4, 1, 0, 0).unwrap());
    sla_pass(&app).await;
    let sent: Vec<Value> = mails(&app, &id)
        .await
        .iter()
        .filter(is_reminder)
        .cloned()
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["recipient_email"], "office@example.jp");
    let text = sent[0]["body_text"].as_str().unwrap();
    assert!(
        text.contains("相談を受け付け、トリアージを始めてください"),
        "{text}"
    );
}

async fn figures_match_hand_computed_values(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    // Monday 1 Feb 2027, 09:00 JST.
    let t0 = Utc.with_ymd_and_hms(2027, 2, 1, 0, 0, 0).unwrap();
    let at = |days: f64| t0 + Duration::minutes((days * 1440.0) as i64);
    let id = |v: Value| v["id"].as_str().unwrap().to_string();

    // Each step signs in afresh: the clock jumps past token lifetimes.
    set_clock(&app, at(0.0));
    let company = app.login("company").await;
    let a = id(submit(&app, &company, inquiry(&["CIN-R-000001"])).await);
    set_clock(&app, at(1.0));
    ok(move_to(&app, &app.login("office").await, &a, "in_triage").await).await;
    let b = id(submit(
        &app,
        &app.login("company2").await,
        json!({"kind": "joint_research", "subject": "共同研究", "body": "共同研究の可能性について"}),
    )
    .await);
    set_clock(&app, at(2.0));
    ok(move_to(&app, &app.login("office").await, &a, "forwarded").await).await;
    let company = app.login("company").await;
    let c = id(submit(
        &app,
        &company,
        json!({"kind": "other", "subject": "その他", "body": "窓口について"}),
    )
    .await);
    set_clock(&app, at(3.0));
    let company = app.login("company").await;
    let d = id(submit(&app, &company, inquiry(&[])).await);
    set_clock(&app, at(3.5));
    ok(move_to(&app, &app.login("company").await, &d, "withdrawn").await).await;
    set_clock(&app, at(4.0));
    ok(move_to(&app, &app.login("office").await, &b, "in_triage").await).await;
    set_clock(&app, at(5.0));
    ok(move_to(&app, &app.login("office").await, &b, "declined").await).await;
    set_clock(&app, at(6.0));
    let holder = app.login("holder").await;
    ok(move_registry(&app, &holder, &a, "CIN-R-000001", "available").await).await;
    set_clock(&app, at(10.0));
    let office = app.login("office").await;
    ok(move_to(&app, &office, &a, "agreed").await).await;

    let stats = app
        .get(
            "/api/v1/consultations/stats?from=2027-02-01&to=2027-02-28",
            Some(&office),
        )
        .await;
    assert_eq!(stats.status, StatusCode::OK, "{}", stats.body);
    let s = &stats.body;
    assert_eq!(s["total"], 4);
    assert_eq!(
        s["by_status"],
        json!({"submitted": 1, "in_triage": 0, "waiting_for_requester": 0, "forwarded": 0,
               "agreed": 1, "declined": 1, "concluded_without_agreement": 0,
               "withdrawn": 1, "closed": 0})
    );
    assert_eq!(
        s["by_kind"],
        json!({"data_use": 2, "joint_research": 1, "regulatory_use": 0,
               "registry_building": 0, "other": 1})
    );
    assert_eq!(s["by_month"], json!([{"month": "2027-02", "submitted": 4}]));
    // First responses: A after 1 day, B after 3 (C none, D withdrew unanswered).
    assert_eq!(s["median_days_to_first_response"], 2.0);
    // Decisions: A after 10 days, B after 4.
    assert_eq!(s["median_days_to_decision"], 7.0);
    // C waits for triage since Wed 3 Feb 09:00 JST: due after two business
    // days (Fri 5 Feb); now is Thu 11 Feb (a holiday): late by 8, 9, 10 Feb.
    let late: Vec<&Value> = s["overdue"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| {
            [&a, &b, &c, &d]
                .iter()
                .any(|id| o["consultation_id"] == **id)
        })
        .collect();
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(late[0]["consultation_id"], c);
    assert_eq!(late[0]["who_must_act"], "office");
    assert_eq!(late[0]["step"], "submitted");
    assert_eq!(late[0]["due"], "2027-02-05T00:00:00Z");
    assert_eq!(late[0]["far_overdue"], false);
    assert_eq!(late[0]["business_days_late"], 3);

    let none = app
        .get(
            "/api/v1/consultations/stats?from=2027-03-01&to=2027-03-31",
            Some(&office),
        )
        .await;
    assert_eq!(none.body["total"], 0);
    assert_eq!(none.body["median_days_to_decision"], Value::Null);

    let csv = app
        .client
        .get(app.url("/api/v1/consultations/export.csv?from=2027-02-01&to=2027-02-28"))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[0].starts_with("id,submitted_at,organisation,"));
    let first: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(first[0], a);
    assert_eq!(first[1], "2027-02-01T00:00:00Z");
    assert_eq!(first[2], "架空製薬株式会社");
    assert_eq!(first[3], "company@example.jp");
    assert_eq!(first[6], "agreed");
    assert_eq!(first[7], "CIN-R-000001");
    assert_eq!(&first[11..], ["1", "10"]);
}

async fn invalid_inquiries_name_their_fields(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let company = app.login("company").await;
    let office = app.login("office").await;
    let bad = app
        .post(
            "/api/v1/consultations",
            Some(&company),
            &json!({"kind": "data_use", "subject": "  ", "body": "x",
                    "registries": ["CIN-R-000029", "nonsense"]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["subject", "registries[1]"]);
    // A draft is not in the public catalogue: named too, once the shape is right.
    let draft = app
        .post(
            "/api/v1/consultations",
            Some(&company),
            &inquiry(&["CIN-R-000029"]),
        )
        .await;
    assert_eq!(draft.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(draft.body["errors"][0]["field"], "registries[0]");
    let unknown = app
        .post(
            "/api/v1/consultations",
            Some(&company),
            &json!({"kind": "gossip", "subject": "s", "body": "b"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.body["errors"][0]["field"], "kind");

    // Forwarding needs a registry.
    let id = submit(&app, &company, inquiry(&[])).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(move_to(&app, &office, &id, "in_triage").await).await;
    let nowhere = move_to(&app, &office, &id, "forwarded").await;
    assert_eq!(
        nowhere.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        nowhere.body
    );
    assert_eq!(nowhere.body["errors"][0]["field"], "registries");
    let detail = app
        .get(&format!("/api/v1/consultations/{id}"), Some(&office))
        .await;
    assert_eq!(detail.body["status"], "in_triage");
    let not_an_id = app
        .get("/api/v1/consultations/not-a-uuid", Some(&office))
        .await;
    assert_eq!(not_an_id.status, StatusCode::NOT_FOUND);
    assert_eq!(not_an_id.body["code"], "not_found");
}

async fn the_sample_desk_is_not_empty(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let office = app.login("office").await;
    let all = app
        .get("/api/v1/consultations?per_page=100", Some(&office))
        .await
        .body;
    assert_eq!(all["total"], 6, "{all}");
    let mut states: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    states.sort();
    states.dedup();
    assert_eq!(
        states,
        [
            "agreed",
            "forwarded",
            "submitted",
            "waiting_for_requester",
            "withdrawn"
        ]
    );
    for (who, count) in [
        ("company", 4),
        ("company2", 2),
        ("holder", 1),
        ("holder2", 1),
        ("holder3", 1),
    ] {
        let token = app.login(who).await;
        let mine = app
            .get("/api/v1/consultations?per_page=100", Some(&token))
            .await;
        assert_eq!(mine.body["total"], count, "{who}: {}", mine.body);
    }
    // The agreed one has an internal note the company never sees.
    let agreed = app
        .get("/api/v1/consultations?status=agreed", Some(&office))
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/consultations/{agreed}/messages");
    let office_thread = app.get(&path, Some(&office)).await.body;
    assert_eq!(office_thread["total"], 1);
    let company = app.login("company").await;
    let company_thread = app.get(&path, Some(&company)).await.body;
    assert_eq!(company_thread["total"], 0);
    // Seeding again adds nothing.
    let url = app.database_url.clone();
    let now = app.clock.now();
    let report = tokio::task::spawn_blocking(move || {
        cin_catalogue::seed::load(&Store::connect(&url, 2).unwrap(), now).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(report.consultations_created, 0);
}
