//! Search: relevance on the seed data, facet counts against a brute-force
//! count, and the index following every write.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{new_record, registry_codes as codes, Backend, TestApp};

on_both_backends!(
    the_right_registries_come_first,
    exclusions_phrases_and_hidden_entries,
    facet_counts_match_a_brute_force_count,
    the_index_follows_every_write,
    bad_search_parameters_are_named,
);

async fn search(app: &TestApp, query: &str) -> Value {
    let response = app
        .get(&format!("/api/v1/registries/search?{query}"), None)
        .await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{query}: {}",
        response.body
    );
    response.body
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Query → registries that must be among the first five.
const RELEVANCE: &[(&str, &[&str])] = &[
    ("乳がん", &["CIN-R-000001"]),
    ("乳癌", &["CIN-R-000001"]),
    ("breast cancer", &["CIN-R-000001"]),
    ("Breast Cancers", &["CIN-R-000001"]),
    ("ALS", &["CIN-R-000002"]),
    ("ＡＬＳ", &["CIN-R-000002"]),
    ("筋萎縮性側索硬化症", &["CIN-R-000002"]),
    ("amyotrophic lateral sclerosis", &["CIN-R-000002"]),
    ("側索硬化", &["CIN-R-000002"]),
    ("パーキンソン病", &["CIN-R-000003"]),
    ("parkinson", &["CIN-R-000003"]),
    ("C50", &["CIN-R-000001"]),
    ("c50.9", &["CIN-R-000001"]),
    ("Ｃ３４", &["CIN-R-000004"]),
    ("G12", &["CIN-R-000002", "CIN-R-000012"]),
    ("k50", &["CIN-R-000010"]),
    ("肺がん", &["CIN-R-000004"]),
    ("lung cancer", &["CIN-R-000004"]),
    ("大腸癌", &["CIN-R-000013"]),
    ("肝がん", &["CIN-R-000015"]),
    ("ｶﾞﾝ 四国", &["CIN-R-000015"]),
    ("白血病", &["CIN-R-000017"]),
    ("leukaemia", &["CIN-R-000017"]),
    ("lymphoma", &["CIN-R-000018"]),
    ("骨髄腫", &["CIN-R-000019"]),
    ("stroke", &["CIN-R-000025"]),
    ("脳卒中", &["CIN-R-000025"]),
    ("認知症", &["CIN-R-000027"]),
    ("dementia", &["CIN-R-000027"]),
    ("heart attack", &["CIN-R-000028"]),
    ("心筋梗塞", &["CIN-R-000028"]),
    ("透析", &["CIN-R-000046"]),
    ("hemodialysis", &["CIN-R-000046"]),
    ("エイズ", &["CIN-R-000037"]),
    ("tuberculosis", &["CIN-R-000038"]),
    ("新型コロナウイルス感染症", &["CIN-R-000039"]),
    ("schizophrenia", &["CIN-R-000041"]),
    ("study depression", &["CIN-R-000042"]),
    ("川崎病", &["CIN-R-000034"]),
    ("乾癬", &["CIN-R-000053"]),
    ("リウマチ", &["CIN-R-000054"]),
    ("\"Natural History\"", &["CIN-R-000002"]),
];

async fn the_right_registries_come_first(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let mut misses = Vec::new();
    for (query, expected) in RELEVANCE {
        let body = search(&app, &format!("q={}&per_page=5", encode(query))).await;
        let found = codes(&body);
        for code in *expected {
            if !found.iter().any(|c| c == code) {
                misses.push(format!("{query}: {code} not in {found:?}"));
            }
        }
    }
    assert!(
        misses.is_empty(),
        "{} of {} queries:\n{}",
        misses.len(),
        RELEVANCE.len(),
        misses.join("\n")
    );

    let marked = search(&app, "q=breast%20cancer").await;
    let highlight = marked["items"][0]["highlights"]["name"].as_str().unwrap();
    assert!(highlight.contains("<mark>Breast</mark>"), "{highlight}");
}

async fn exclusions_phrases_and_hidden_entries(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let cancers = search(&app, &format!("q={}&per_page=100", encode("がん"))).await;
    let without_breast = search(&app, &format!("q={}&per_page=100", encode("がん -乳がん"))).await;
    assert!(codes(&cancers).contains(&"CIN-R-000001".to_string()));
    assert!(!codes(&without_breast).contains(&"CIN-R-000001".to_string()));
    assert_eq!(
        without_breast["total"].as_i64().unwrap(),
        cancers["total"].as_i64().unwrap() - 1
    );

    // A phrase needs its words together and in order.
    assert_eq!(
        search(&app, &format!("q={}", encode("\"history natural\""))).await["total"],
        0
    );

    // Drafts (heart failure) and withdrawn entries (influenza) are not public.
    assert_eq!(
        search(&app, &format!("q={}", encode("心不全"))).await["total"],
        0
    );
    assert_eq!(
        search(&app, &format!("q={}", encode("インフルエンザ"))).await["total"],
        0
    );
}

/// The facet values of a public record, computed here independently of the server.
fn facet_values(record: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (facet, value) in record.as_object().unwrap() {
        let values: Vec<String> = match (facet.as_str(), value) {
            (
                "disease_area" | "population" | "data_items" | "collection_method"
                | "quality_management" | "regulatory_use",
                Value::Array(items),
            ) => items
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect(),
            (
                "registry_type"
                | "status"
                | "region"
                | "operator_type"
                | "follow_up"
                | "consent"
                | "consent_secondary_use"
                | "consent_company_provision"
                | "company_collaboration"
                | "update_status",
                Value::String(s),
            ) => vec![s.clone()],
            ("designated_intractable", Value::Bool(b)) => vec![b.to_string()],
            ("start_year", Value::Number(n)) => vec![n.to_string()],
            ("enrollment_count", Value::Number(n)) => {
                let n = n.as_i64().unwrap();
                let band = match n {
                    ..=99 => "lt_100",
                    100..=999 => "100_999",
                    1000..=9999 => "1000_9999",
                    10000..=99999 => "10000_99999",
                    _ => "ge_100000",
                };
                out.push(("enrollment_band".to_string(), band.to_string()));
                continue;
            }
            _ => continue,
        };
        out.extend(values.into_iter().map(|v| (facet.clone(), v)));
    }
    out
}

async fn facet_counts_match_a_brute_force_count(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let list = app.get("/api/v1/registries?per_page=100", None).await;
    let records: Vec<Value> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            // The update status is a facet beside the record, not in it.
            let mut record = r["record"].clone();
            record["update_status"] = r["update_status"].clone();
            record
        })
        .collect();
    assert_eq!(records.len() as i64, list.body["total"].as_i64().unwrap());

    let cases: &[&[(&str, &[&str])]] = &[
        &[],
        &[("disease_area", &["oncology"])],
        &[
            ("disease_area", &["oncology", "neurology"]),
            ("region", &["national"]),
        ],
        &[
            ("status", &["enrolling"]),
            ("consent_company_provision", &["yes", "partial"]),
            ("designated_intractable", &["true"]),
        ],
        &[
            ("enrollment_band", &["ge_100000", "10000_99999"]),
            ("registry_type", &["disease_registry"]),
        ],
    ];
    for filters in cases {
        let query: String = filters
            .iter()
            .map(|(f, v)| format!("&{f}={}", v.join(",")))
            .collect();
        let body = search(&app, &format!("per_page=1{query}")).await;
        let passes = |record: &Value, except: Option<&str>| {
            let values = facet_values(record);
            filters
                .iter()
                .filter(|(f, _)| Some(*f) != except)
                .all(|(f, chosen)| {
                    values
                        .iter()
                        .any(|(facet, v)| facet == f && chosen.contains(&v.as_str()))
                })
        };
        let matching = records.iter().filter(|r| passes(r, None)).count();
        assert_eq!(
            body["total"].as_u64().unwrap() as usize,
            matching,
            "total for {query}"
        );
        for (facet, counts) in body["facets"].as_object().unwrap() {
            let mut expected: BTreeMap<String, u64> = BTreeMap::new();
            for record in records.iter().filter(|r| passes(r, Some(facet))) {
                for (f, v) in facet_values(record) {
                    if &f == facet {
                        *expected.entry(v).or_default() += 1;
                    }
                }
            }
            let actual: BTreeMap<String, u64> = counts
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["code"].as_str().unwrap().to_string(),
                        c["count"].as_u64().unwrap(),
                    )
                })
                .collect();
            assert_eq!(actual, expected, "facet {facet} for {query}");
        }
    }

    let labelled = search(&app, "per_page=1").await;
    let oncology = labelled["facets"]["disease_area"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "oncology")
        .unwrap()
        .clone();
    assert!(oncology["ja"].as_str().is_some_and(|l| !l.is_empty()));

    let recent = search(&app, "start_year_min=2010&per_page=1").await;
    let expected = records
        .iter()
        .filter(|r| r["start_year"].as_i64().is_some_and(|y| y >= 2010))
        .count();
    assert_eq!(recent["total"].as_u64().unwrap() as usize, expected);
}

async fn the_index_follows_every_write(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let office = app.login("office").await;
    let holder = app.login("holder").await;
    let find = |word: &'static str| {
        let app = &app;
        async move { codes(&search(app, &format!("q={}", encode(word))).await) }
    };

    let mut record = new_record("CIN-R-900010");
    record["name_en"] = json!("Zyxwv Registry");
    let created = app.post("/api/v1/registries", Some(&office), &record).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert!(find("zyxwv").await.is_empty(), "a draft is not public");
    let published = app
        .post(
            "/api/v1/registries/CIN-R-900010/publish",
            Some(&office),
            &json!({}),
        )
        .await;
    assert_eq!(published.status, StatusCode::OK);
    assert_eq!(
        find("zyxwv").await,
        vec!["CIN-R-900010"],
        "found as soon as the write returns"
    );

    let path = "/api/v1/registries/CIN-R-000001";
    let etag = app.get(path, None).await.etag();
    let saved = app
        .patch(path, &holder, &etag, &json!({"acronym": "QUOKKA"}))
        .await;
    assert_eq!(saved.status, StatusCode::OK);
    assert_eq!(find("quokka").await, vec!["CIN-R-000001"]);
    assert!(find("JNBCR").await.is_empty(), "the old acronym is gone");

    let withdrawn = app
        .post(
            "/api/v1/registries/CIN-R-900010/withdraw",
            Some(&office),
            &json!({}),
        )
        .await;
    assert_eq!(withdrawn.status, StatusCode::OK);
    assert!(
        find("zyxwv").await.is_empty(),
        "withdrawn entries vanish at once"
    );
}

async fn bad_search_parameters_are_named(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    for (query, field) in [
        ("region=osak", "region"),
        ("disease_area=oncology,nope", "disease_area"),
        ("designated_intractable=maybe", "designated_intractable"),
        ("sort=best", "sort"),
        ("start_year_min=abc", "start_year_min"),
        ("start_year_min=2020&start_year_max=2010", "start_year_min"),
        ("per_page=1000", "per_page"),
        ("colour=red", "colour"),
    ] {
        let response = app
            .get(&format!("/api/v1/registries/search?{query}"), None)
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(response.body["code"], "invalid_query", "{query}");
        assert_eq!(
            response.body["errors"][0]["field"], field,
            "{query}: {}",
            response.body
        );
    }
    let region = app.get("/api/v1/registries/search?region=osak", None).await;
    assert_eq!(
        region.body["errors"][0]["allowed"]
            .as_array()
            .unwrap()
            .len(),
        48
    );
}
