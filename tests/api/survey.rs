//! Loading a survey round from its spreadsheet, and exports that load back.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{registry_codes, Backend, Response, TestApp};

on_both_backends!(
    clean_sample_creates_the_expected_registries_and_a_rerun_changes_nothing,
    faulty_sample_is_reported_by_row_and_column_and_writes_nothing,
    a_changed_row_makes_exactly_one_revision_and_search_follows,
    shift_jis_utf8_and_xlsx_give_the_same_result,
    exported_catalogue_and_search_import_back_unchanged,
    only_the_office_imports_and_bad_uploads_are_named,
    exports_follow_the_search_and_carry_no_personal_data,
);

const CLEAN: &str = include_str!("../../seed-data/survey-sample.csv");
const FAULTY: &str = include_str!("../../seed-data/survey-sample-with-mistakes.csv");
const CSV: &str = "text/csv";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const NEW_CODES: [&str; 4] = [
    "CIN-R-000101",
    "CIN-R-000102",
    "CIN-R-000103",
    "CIN-R-000104",
];

async fn upload(
    app: &TestApp,
    token: Option<&str>,
    query: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Response {
    app.raw(
        Method::POST,
        &format!("/api/v1/survey/imports?{query}"),
        token,
        content_type,
        body,
    )
    .await
}

/// The sheet's cells as the XLSX a spreadsheet program would save.
fn to_xlsx(csv_text: &str) -> Vec<u8> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv_text.trim_start_matches('\u{feff}').as_bytes());
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (r, record) in reader.records().enumerate() {
        for (c, cell) in record.unwrap().iter().enumerate() {
            sheet.write_string(r as u32, c as u16, cell).unwrap();
        }
    }
    workbook.save_to_buffer().unwrap()
}

fn to_shift_jis(text: &str) -> Vec<u8> {
    let (bytes, _, lossy) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!lossy, "the sample is representable in Shift_JIS");
    bytes.into_owned()
}

async fn audit_total(app: &TestApp, office: &str) -> Value {
    app.get("/api/v1/audit?per_page=1", Some(office)).await.body["total"].clone()
}

async fn revisions(app: &TestApp, office: &str, code: &str) -> Vec<Value> {
    let history = app
        .get(
            &format!("/api/v1/registries/{code}/revisions"),
            Some(office),
        )
        .await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.body);
    history.body.as_array().unwrap().clone()
}

async fn clean_sample_creates_the_expected_registries_and_a_rerun_changes_nothing(
    backend: Backend,
) {
    let app = TestApp::spawn(&backend).await;
    let office = app.login("office").await;

    let dry = upload(
        &app,
        Some(&office),
        "round=2026&dry_run=true",
        CSV,
        CLEAN.into(),
    )
    .await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    assert_eq!(dry.body["applied"], false);
    assert_eq!(dry.body["problems"], json!([]));
    assert_eq!(dry.body["created"], 4);
    let path = "/api/v1/registries/CIN-R-000101";
    assert_eq!(
        app.get(path, Some(&office)).await.status,
        StatusCode::NOT_FOUND
    );

    let done = upload(&app, Some(&office), "round=2026", CSV, CLEAN.into()).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["applied"], true);
    assert_eq!(done.body["format"], "csv (UTF-8)");
    let actions: Vec<(&str, &str)> = done.body["registries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["registry_code"].as_str().unwrap(),
                r["action"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        NEW_CODES.iter().map(|c| (*c, "create")).collect::<Vec<_>>()
    );

    let created = app.get(path, Some(&office)).await;
    assert_eq!(created.status, StatusCode::OK);
    assert_eq!(created.body["publication_state"], "draft");
    assert_eq!(created.body["survey_round"], 2026);
    let record = &created.body["record"];
    assert_eq!(record["name_ja"], "架空県小児ネフローゼ症候群登録");
    assert_eq!(
        record["diseases"],
        json!([{"name_ja": "小児ネフローゼ症候群", "name_en": "Childhood nephrotic syndrome", "icd10": ["N04.9"]}])
    );
    // Japanese labels in the sheet are stored as codes.
    assert_eq!(record["registry_type"], "disease_registry");
    assert_eq!(record["operator_type"], "public_hospital");
    assert_eq!(record["population"], json!(["children"]));
    assert_eq!(record["status"], "enrolling");
    assert_eq!(record["follow_up"], "fixed_interval");
    assert_eq!(record["enrollment_count"], 1240);
    assert_eq!(record["enrollment_as_of"], "2026-03-31");
    assert_eq!(record["designated_intractable"], false);
    assert_eq!(record["contact"]["email"], "fp-cns@example.jp");
    assert_eq!(
        record["publications"],
        json!([{"title": "Relapse patterns of childhood nephrotic syndrome in a fictional prefecture",
                "doi": "10.9999/cin.2023.101", "pmid": null, "year": 2023}])
    );
    let two = app
        .get("/api/v1/registries/CIN-R-000102", Some(&office))
        .await;
    assert_eq!(
        two.body["record"]["population"],
        json!(["adults", "children"])
    );
    assert!(two.body["record"].get("contact").is_none());
    let history = revisions(&app, &office, "CIN-R-000104").await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["action"], "create");
    assert_eq!(history[0]["survey_round"], 2026);

    // The same file again: nothing to do, nothing written.
    let audit_before = audit_total(&app, &office).await;
    let again = upload(&app, Some(&office), "round=2026", CSV, CLEAN.into()).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(
        (
            again.body["created"].clone(),
            again.body["updated"].clone(),
            again.body["unchanged"].clone()
        ),
        (json!(0), json!(0), json!(4))
    );
    // A later round with the same answers is no change either.
    let later = upload(&app, Some(&office), "round=2027", CSV, CLEAN.into()).await;
    assert_eq!(later.body["unchanged"], 4, "{}", later.body);
    for code in NEW_CODES {
        assert_eq!(revisions(&app, &office, code).await.len(), 1, "{code}");
    }
    assert_eq!(audit_total(&app, &office).await, audit_before);
}

async fn faulty_sample_is_reported_by_row_and_column_and_writes_nothing(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let office = app.login("office").await;
    let audit_before = audit_total(&app, &office).await;

    let dry = upload(
        &app,
        Some(&office),
        "round=2026&dry_run=true",
        CSV,
        FAULTY.into(),
    )
    .await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    let found: Vec<Value> = dry.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            json!([
                p["row"],
                p["column"],
                p["field"],
                p["code"],
                p["value"],
                p["suggestions"][0]["code"]
            ])
        })
        .collect();
    assert_eq!(
        found,
        vec![
            json!([1, "備考", null, "unknown_column", null, null]),
            json!([2, "地域", "region", "unknown_value", "大坂府", "osaka"]),
            json!([
                3,
                "疾患領域",
                "disease_area",
                "unknown_value",
                "genetik",
                "genetic"
            ]),
            json!([
                3,
                "ICD-10コード",
                "diseases[1].icd10[0]",
                "invalid_format",
                null,
                null
            ]),
            json!([
                4,
                "登録症例数",
                "enrollment_count",
                "invalid_type",
                "約5600",
                null
            ]),
            json!([4, "概要（日本語）", "summary_ja", "required", null, null]),
            json!([
                6,
                "レジストリコード",
                "registry_code",
                "duplicate_registry",
                "CIN-R-000104",
                null
            ]),
        ],
        "{}",
        dry.body
    );
    let region = &dry.body["problems"][1];
    assert_eq!(
        region["suggestions"][0],
        json!({"code": "osaka", "ja": "大阪府", "en": "Osaka"})
    );
    assert_eq!(region["suggestions"].as_array().unwrap().len(), 3);

    let real = upload(&app, Some(&office), "round=2026", CSV, FAULTY.into()).await;
    assert_eq!(
        real.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        real.body
    );
    assert_eq!(real.content_type(), "application/problem+json");
    assert_eq!(real.body["code"], "import_rejected");
    assert_eq!(real.body["errors"].as_array().unwrap().len(), 7);
    assert_eq!(
        real.body["errors"][1],
        json!({"field": "row 2 / 地域", "code": "unknown_value",
               "message": "`大坂府` is not a `region` value",
               "allowed": ["osaka", "kyoto", "oita"]})
    );
    // Row 5 was fine, and still nothing of it was written.
    for code in NEW_CODES {
        let path = format!("/api/v1/registries/{code}");
        assert_eq!(
            app.get(&path, Some(&office)).await.status,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(audit_total(&app, &office).await, audit_before);
}

async fn a_changed_row_makes_exactly_one_revision_and_search_follows(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let office = app.login("office").await;
    upload(&app, Some(&office), "round=2026", CSV, CLEAN.into()).await;
    let path = "/api/v1/registries/CIN-R-000101";
    let published = app
        .post(&format!("{path}/publish"), Some(&office), &json!(null))
        .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.body);

    let changed = CLEAN.replace("\"1,240\"", "\"1,250\"").replace(
        "Fictional Prefecture Childhood",
        "Zephyrine Prefecture Childhood",
    );
    assert_ne!(changed, CLEAN);
    let report = upload(&app, Some(&office), "round=2027", CSV, changed.into()).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    assert_eq!(
        (
            report.body["created"].clone(),
            report.body["updated"].clone(),
            report.body["unchanged"].clone()
        ),
        (json!(0), json!(1), json!(3))
    );
    assert_eq!(
        report.body["registries"][0]["changed_fields"],
        json!(["enrollment_count", "name_en"])
    );

    let history = revisions(&app, &office, "CIN-R-000101").await;
    assert_eq!(history.len(), 3, "create, publish, import");
    assert_eq!(history[0]["action"], "import");
    assert_eq!(history[0]["survey_round"], 2027);
    // The revision also records that the entry is now of the 2027 round.
    assert_eq!(
        history[0]["changed_fields"],
        json!(["enrollment_count", "name_en", "survey_round"])
    );
    assert_eq!(history[0]["publication_state"], "published");
    for code in &NEW_CODES[1..] {
        assert_eq!(revisions(&app, &office, code).await.len(), 1, "{code}");
    }
    let public = app.get(path, None).await;
    assert_eq!(public.body["record"]["enrollment_count"], 1250);
    assert_eq!(public.body["survey_round"], 2027);
    let found = app.get("/api/v1/registries/search?q=Zephyrine", None).await;
    assert_eq!(registry_codes(&found.body), ["CIN-R-000101"]);
}

async fn shift_jis_utf8_and_xlsx_give_the_same_result(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let office = app.login("office").await;
    let forms = [
        ("csv (UTF-8)", CSV, CLEAN.as_bytes().to_vec()),
        ("csv (Shift_JIS)", CSV, to_shift_jis(CLEAN)),
        ("xlsx", XLSX, to_xlsx(CLEAN)),
    ];
    let mut reports = Vec::new();
    for (format, content_type, body) in &forms {
        let dry = upload(
            &app,
            Some(&office),
            "round=2026&dry_run=true",
            content_type,
            body.clone(),
        )
        .await;
        assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
        assert_eq!(dry.body["format"], *format);
        let mut report = dry.body.clone();
        report["format"] = Value::Null;
        reports.push(report);
    }
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[0], reports[2]);

    // What Shift_JIS wrote, UTF-8 and XLSX find unchanged.
    let written = upload(&app, Some(&office), "round=2026", CSV, forms[1].2.clone()).await;
    assert_eq!(written.body["created"], 4, "{}", written.body);
    for (_, content_type, body) in &forms {
        let check = upload(
            &app,
            Some(&office),
            "round=2026&dry_run=true",
            content_type,
            body.clone(),
        )
        .await;
        assert_eq!(check.body["unchanged"], 4, "{}", check.body);
    }
}

async fn exported_catalogue_and_search_import_back_unchanged(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let office = app.login("office").await;
    let published = app.get("/api/v1/registries?per_page=1", None).await.body["total"].clone();
    let audit_before = audit_total(&app, &office).await;
    let before = revisions(&app, &office, "CIN-R-000001").await;

    for (path, content_type, rows) in [
        (
            "/api/v1/registries/export?format=csv",
            CSV,
            published.clone(),
        ),
        (
            "/api/v1/registries/export?format=xlsx",
            XLSX,
            published.clone(),
        ),
        (
            "/api/v1/registries/search/export?q=がん&format=xlsx",
            XLSX,
            Value::Null,
        ),
    ] {
        let file = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(file.status(), StatusCode::OK, "{path}");
        assert!(file.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(content_type));
        let bytes = file.bytes().await.unwrap().to_vec();
        let report = upload(&app, Some(&office), "round=2026", content_type, bytes).await;
        assert_eq!(report.status, StatusCode::OK, "{path}: {}", report.body);
        assert_eq!(report.body["problems"], json!([]), "{path}");
        assert_eq!(report.body["created"], 0, "{path}");
        assert_eq!(report.body["updated"], 0, "{path}");
        if !rows.is_null() {
            assert_eq!(report.body["unchanged"], rows, "{path}");
        }
    }
    assert_eq!(revisions(&app, &office, "CIN-R-000001").await, before);
    // The contact is not exported, and an import without the column keeps it.
    let kept = app
        .get("/api/v1/registries/CIN-R-000001", Some(&office))
        .await;
    assert_eq!(
        kept.body["record"]["contact"]["email"],
        "jnbcr-office@example.jp"
    );
    assert_eq!(audit_total(&app, &office).await, audit_before);
}

async fn only_the_office_imports_and_bad_uploads_are_named(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let query = "round=2026&dry_run=true";
    let anonymous = upload(&app, None, query, CSV, CLEAN.into()).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.body["code"], "unauthenticated");
    for who in ["company", "holder"] {
        let token = app.login(who).await;
        let refused = upload(&app, Some(&token), query, CSV, CLEAN.into()).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{who}");
        assert_eq!(refused.content_type(), "application/problem+json");
        assert_eq!(refused.body["code"], "forbidden");
    }
    for who in ["office", "admin"] {
        let token = app.login(who).await;
        let allowed = upload(&app, Some(&token), query, CSV, CLEAN.into()).await;
        assert_eq!(allowed.status, StatusCode::OK, "{who}: {}", allowed.body);
    }

    let office = app.login("office").await;
    let json_body = upload(
        &app,
        Some(&office),
        query,
        "application/json",
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(json_body.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(json_body.body["code"], "unsupported_file_type");

    let old = upload(&app, Some(&office), "round=1999", CSV, CLEAN.into()).await;
    assert_eq!(old.status, StatusCode::BAD_REQUEST);
    assert_eq!(old.body["errors"][0]["field"], "round");
    let missing = upload(&app, Some(&office), "dry_run=true", CSV, CLEAN.into()).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body["code"], "invalid_query");

    let garbage = upload(
        &app,
        Some(&office),
        query,
        CSV,
        vec![0x82, 0xa0, 0xff, 0xfe, 0x00],
    )
    .await;
    assert_eq!(
        garbage.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        garbage.body
    );
    assert_eq!(
        garbage.body,
        json!({
            "type": "urn:cin-catalogue:problem:unreadable_file",
            "title": "The file cannot be read as a survey spreadsheet",
            "status": 422,
            "code": "unreadable_file",
            "detail": "The file is neither XLSX nor CSV in UTF-8 or Shift_JIS"
        })
    );
    let broken_zip = upload(
        &app,
        Some(&office),
        query,
        XLSX,
        b"PK\x03\x04broken".to_vec(),
    )
    .await;
    assert_eq!(broken_zip.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(broken_zip.body["code"], "unreadable_file");

    // Larger than a JSON body may be, well within the upload limit.
    let mut big = CLEAN.to_string();
    while big.len() < 600 * 1024 {
        big.push_str("\r\n");
    }
    let large = upload(&app, Some(&office), query, CSV, big.into()).await;
    assert_eq!(large.status, StatusCode::OK, "{}", large.body);
}

async fn exports_follow_the_search_and_carry_no_personal_data(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let search = app
        .get(
            "/api/v1/registries/search?q=%E3%81%8C%E3%82%93&per_page=100",
            None,
        )
        .await;
    let expected = registry_codes(&search.body);
    assert!(expected.len() > 1, "{}", search.body);
    let exported = app
        .get(
            "/api/v1/registries/search/export?q=%E3%81%8C%E3%82%93&format=json",
            None,
        )
        .await;
    assert_eq!(exported.status, StatusCode::OK, "{}", exported.body);
    let codes: Vec<&str> = exported.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["registry_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, expected);

    let paged = app
        .get("/api/v1/registries/search/export?q=x&page=2", None)
        .await;
    assert_eq!(paged.status, StatusCode::BAD_REQUEST);
    assert_eq!(paged.body["errors"][0]["field"], "page");
    let bad = app.get("/api/v1/registries/export?format=pdf", None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["errors"][0]["field"], "format");

    let office = app.login("office").await;
    for path in [
        "/api/v1/registries/export?format=csv",
        "/api/v1/registries/export?format=json",
        "/api/v1/registries/search/export?format=csv",
    ] {
        // Even the office's export is the public catalogue.
        let response = app
            .client
            .get(app.url(path))
            .bearer_auth(&office)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let text = response.text().await.unwrap();
        for private in ["jnbcr-office@example.jp", "\"contact\"", "担当者"] {
            assert!(!text.contains(private), "{path} holds {private}");
        }
        assert!(text.contains("CIN-R-000001"), "{path}");
        assert!(!text.contains("CIN-R-000029"), "{path} holds a draft");
    }
    let xlsx = app
        .client
        .get(app.url("/api/v1/registries/export?format=xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        xlsx.headers()["content-disposition"],
        "attachment; filename=\"cin-catalogue.xlsx\""
    );
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK\x03\x04"));
}
