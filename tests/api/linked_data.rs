//! The catalogue for other catalogues: JSON-LD that a JSON-LD processor
//! expands without fetching anything, with the properties DCAT-AP and
//! HealthDCAT-AP ask for.

use json_ld::expansion::{Action, Policy};
use json_ld::syntax::{IntoJsonWithContext, Parse};
use json_ld::{JsonLdProcessor, NoLoader, Options, RemoteDocument};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, TestApp};

on_both_backends!(
    a_registry_is_a_dcat_ap_and_a_schema_org_dataset,
    the_dcat_catalogue_holds_every_published_registry,
);

const DCAT: &str = "http://www.w3.org/ns/dcat#";
const DCT: &str = "http://purl.org/dc/terms/";
const HEALTH: &str = "http://healthdataportal.eu/ns/health#";
const SCHEMA: &str = "https://schema.org/";

/// Expands a document as a JSON-LD 1.1 processor does, refusing any key it
/// cannot map to an IRI and any remote context (there is no loader).
async fn expand(document: &Value) -> Vec<Value> {
    let (json, _) = json_ld::syntax::Value::parse_str(&document.to_string()).expect("JSON");
    let input = RemoteDocument::<json_ld::IriBuf>::new(
        None,
        Some("application/ld+json".parse().unwrap()),
        json,
    );
    let options = Options {
        expansion_policy: Policy {
            invalid: Action::Reject,
            vocab: Action::Keep,
            allow_undefined: false,
        },
        ..Options::default()
    };
    let expanded = input
        .expand_using(&NoLoader, options)
        .await
        .unwrap_or_else(|e| panic!("the document does not expand: {e:?}\n{document}"));
    expanded
        .into_iter()
        .map(|object| serde_json::from_str(&object.into_json_with(&()).to_string()).unwrap())
        .collect()
}

/// The values of a property of an expanded node.
fn values<'a>(node: &'a Value, property: &str) -> &'a [Value] {
    node[property].as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn assert_dcat_ap_dataset(node: &Value, code: &str) {
    assert_eq!(
        node["@type"],
        serde_json::json!([format!("{DCAT}Dataset")]),
        "{node}"
    );
    // Mandatory in DCAT-AP, and in HealthDCAT-AP for a registry.
    for property in [
        format!("{DCT}title"),
        format!("{DCT}description"),
        format!("{DCT}identifier"),
        format!("{DCT}publisher"),
        format!("{DCAT}contactPoint"),
        format!("{DCAT}theme"),
        format!("{DCT}accessRights"),
        format!("{DCAT}keyword"),
        format!("{DCT}spatial"),
        format!("{DCT}issued"),
        format!("{DCT}modified"),
        format!("{DCT}language"),
        format!("{HEALTH}healthCategory"),
    ] {
        assert!(
            !values(node, &property).is_empty(),
            "{code} lacks {property}: {node}"
        );
    }
    assert_eq!(values(node, &format!("{DCT}identifier"))[0]["@value"], code);
    let titles = values(node, &format!("{DCT}title"));
    assert!(titles.iter().any(|t| t["@language"] == "ja"), "{node}");
    assert_eq!(
        values(node, &format!("{DCAT}theme"))[0]["@id"],
        "http://publications.europa.eu/resource/authority/data-theme/HEAL"
    );
}

async fn a_registry_is_a_dcat_ap_and_a_schema_org_dataset(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let page = app.get("/api/v1/registries/CIN-R-000001", None).await;
    let link = page.headers["link"].to_str().unwrap();
    assert!(
        link.contains("</api/v1/registries/CIN-R-000001/dcat-ap.jsonld>; rel=\"alternate\"; type=\"application/ld+json\""),
        "{link}"
    );
    assert!(
        link.contains("/api/v1/registries/CIN-R-000001/schema-org.jsonld>"),
        "{link}"
    );

    let dcat = app
        .get("/api/v1/registries/CIN-R-000001/dcat-ap.jsonld", None)
        .await;
    assert_eq!(dcat.status, StatusCode::OK, "{}", dcat.body);
    assert_eq!(dcat.content_type(), "application/ld+json");
    let text = dcat.body.to_string();
    assert!(
        !text.contains("jnbcr-office@example.jp") && !text.contains("佐伯"),
        "{text}"
    );
    let expanded = expand(&dcat.body).await;
    assert_eq!(expanded.len(), 1);
    let node = &expanded[0];
    assert_eq!(node["@id"], app.url("/api/v1/registries/CIN-R-000001"));
    assert_dcat_ap_dataset(node, "CIN-R-000001");
    assert_eq!(
        values(node, &format!("{HEALTH}numberOfUniqueIndividuals"))[0],
        serde_json::json!({"@value": "812460", "@type": "http://www.w3.org/2001/XMLSchema#nonNegativeInteger"})
    );
    let codes: Vec<&str> = values(node, &format!("{HEALTH}hasCodeValues"))
        .iter()
        .map(|v| v["@id"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"https://icd.who.int/browse10/2019/en#/C50.9"),
        "{codes:?}"
    );
    let contact = &values(node, &format!("{DCAT}contactPoint"))[0];
    assert_eq!(
        contact["@type"],
        serde_json::json!(["http://www.w3.org/2006/vcard/ns#Organization"])
    );

    let schema = app
        .get("/api/v1/registries/CIN-R-000001/schema-org.jsonld", None)
        .await;
    assert_eq!(schema.status, StatusCode::OK);
    let expanded = expand(&schema.body).await;
    let node = &expanded[0];
    assert_eq!(
        node["@type"],
        serde_json::json!([format!("{SCHEMA}Dataset")])
    );
    for property in [
        "name",
        "description",
        "identifier",
        "keywords",
        "creator",
        "about",
    ] {
        assert!(
            !values(node, &format!("{SCHEMA}{property}")).is_empty(),
            "{property}: {node}"
        );
    }

    // A draft is not in the public catalogue, nor in its linked data.
    let office = app.login("office").await;
    let draft = app
        .get(
            "/api/v1/registries/CIN-R-000029/dcat-ap.jsonld",
            Some(&office),
        )
        .await;
    assert_eq!(draft.status, StatusCode::NOT_FOUND);
    assert!(app
        .get("/api/v1/registries/CIN-R-000029", Some(&office))
        .await
        .headers
        .get("link")
        .is_none());
}

async fn the_dcat_catalogue_holds_every_published_registry(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let published = app.get("/api/v1/registries?per_page=1", None).await.body["total"]
        .as_u64()
        .unwrap();
    let catalogue = app.get("/api/v1/catalogue/dcat.jsonld", None).await;
    assert_eq!(catalogue.status, StatusCode::OK, "{}", catalogue.body);
    assert_eq!(catalogue.content_type(), "application/ld+json");
    assert!(
        !catalogue.body.to_string().contains("@example.jp\""),
        "no emails"
    );
    let expanded = expand(&catalogue.body).await;
    let catalog = expanded
        .iter()
        .find(|n| n["@type"] == serde_json::json!([format!("{DCAT}Catalog")]))
        .expect("a dcat:Catalog");
    for property in ["title", "description", "publisher"] {
        assert!(
            !values(catalog, &format!("{DCT}{property}")).is_empty(),
            "{property}"
        );
    }
    let datasets = values(catalog, &format!("{DCAT}dataset"));
    assert_eq!(datasets.len() as u64, published);
    for dataset in datasets {
        let code = values(dataset, &format!("{DCT}identifier"))[0]["@value"]
            .as_str()
            .unwrap()
            .to_string();
        assert_dcat_ap_dataset(dataset, &code);
    }
    let view = &values(catalog, "http://www.w3.org/ns/hydra/core#view")[0];
    assert_eq!(
        values(view, "http://www.w3.org/ns/hydra/core#totalItems")[0]["@value"],
        published.to_string()
    );
    let beyond = app.get("/api/v1/catalogue/dcat.jsonld?page=2", None).await;
    assert_eq!(beyond.status, StatusCode::OK);
    assert!(beyond.body["dcat:dataset"].as_array().unwrap().is_empty());
}
