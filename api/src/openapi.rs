//! The OpenAPI document, generated from the handlers' annotations.

use std::sync::LazyLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorCode;
use crate::extract::MAX_BODY_BYTES;
use crate::routes::survey::MAX_UPLOAD_BYTES;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
use crate::routes::{self, consultations, registries, MAX_PER_PAGE};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "CIN Registry Catalogue API",
        description = "The catalogue of Japan's Clinical Innovation Network: national disease and patient registries, kept current by their holders.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        routes::health::healthz,
        routes::health::readyz,
        routes::metrics::metrics,
        routes::auth::token,
        routes::auth::refresh,
        routes::auth::logout,
        routes::auth::me,
        routes::users::create_user,
        routes::users::list_users,
        routes::vocabularies::list_vocabularies,
        routes::audit::list_audit,
        registries::list_registries,
        registries::create_registry,
        registries::search_registries,
        registries::read_registry,
        registries::update_registry,
        registries::publish_registry,
        registries::withdraw_registry,
        registries::list_holders,
        registries::add_holder,
        registries::remove_holder,
        registries::list_revisions,
        registries::read_revision,
        registries::compare_revisions,
        registries::export_catalogue,
        registries::export_search,
        registries::registry_dcat_ap,
        registries::registry_schema_org,
        routes::dcat::dcat_catalogue,
        consultations::create,
        consultations::list,
        consultations::read,
        consultations::move_inquiry,
        consultations::move_registry,
        consultations::list_messages,
        consultations::post_message,
        consultations::assign,
        consultations::stats,
        consultations::export,
        routes::outbox::list,
        routes::survey::import_survey,
        routes::outbox::requeue,
        routes::updates::list_registry_updates,
        routes::confirmations::confirm_with_link,
        registries::confirm_registry,
    ),
    // Types only query parameters name: utoipa lists them nowhere by itself.
    components(schemas(registries::ExportFormat, registries::SearchSort)),
    modifiers(&Conventions),
    tags(
        (name = "catalogue", description = "Registries: read by anyone, kept by holders and the office"),
        (name = "auth", description = "Sign-in and tokens"),
        (name = "consultations", description = "The consultation desk: companies' inquiries, triaged by the office, answered by holders"),
        (name = "linked data", description = "The catalogue for other catalogues: DCAT-AP / HealthDCAT-AP and schema.org as JSON-LD"),
        (name = "survey", description = "Loading each CIN survey round from its spreadsheet (office)"),
        (name = "users", description = "Accounts"),
        (name = "operations", description = "Health, readiness, audit"),
    )
)]
pub struct ApiDoc;

/// Adds the bearer scheme and the conventions every client needs: the error
/// table, the body limit and the paging cap.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("Access token from POST /api/v1/auth/token"))
                    .build(),
            ),
        );
        let mut text = openapi.info.description.clone().unwrap_or_default();
        text.push_str(&format!(
            "\n\n## Conventions\n\n\
             - Request bodies are JSON, at most {MAX_BODY_BYTES} bytes; a survey spreadsheet upload at most {MAX_UPLOAD_BYTES} bytes.\n\
             - Lists take `page` (from 1) and `per_page` (1 to {MAX_PER_PAGE}, default 20) and return the `total`.\n\
             - Updates need `If-Match` with the `ETag` of the revision you read: 428 without it, 412 when stale.\n\
             - Errors are RFC 9457 `application/problem+json` with a stable `code`; validation errors list every failing field in `errors`.\n\n\
             ## Error codes\n\n| code | HTTP status | meaning |\n|---|---|---|\n"
        ));
        for code in ErrorCode::ALL {
            text.push_str(&format!(
                "| `{}` | {} | {} |\n",
                code.as_str(),
                code.status().as_u16(),
                code.title()
            ));
        }
        openapi.info.description = Some(text);
    }
}

/// The document served at /openapi.json and committed as openapi/openapi.json.
/// JSON rather than utoipa's types: those cannot hold the `anyOf` added below.
pub fn document() -> serde_json::Value {
    let mut json =
        serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serialises");
    if let Some(record) = json.pointer_mut("/components/schemas/RegistryRecord/properties") {
        add_vocabularies(record);
    }
    if let Some(codes) = json.pointer_mut("/components/schemas/Disease/properties/icd10/items") {
        // Lower case is accepted and stored upper case.
        codes["pattern"] = r"^[A-Za-z][0-9]{2}(\.[0-9A-Za-z]{1,2})?$".into();
    }
    for list in ["NewConsultation", "MoveRequest"] {
        let pointer = format!("/components/schemas/{list}/properties/registries/items");
        if let Some(codes) = json.pointer_mut(&pointer) {
            codes["pattern"] = r"^CIN-R-[0-9]{6}$".into();
        }
    }
    link_consultation(&mut json);
    if let Some(params) = json.pointer_mut("/paths/~1api~1v1~1registries~1search/get/parameters") {
        for param in params.as_array_mut().into_iter().flatten() {
            let name = param["name"].as_str().unwrap_or_default().to_string();
            if crate::domain::facets::FACETS.contains(&name.as_str()) {
                param["schema"]["pattern"] = crate::domain::facets::parameter_pattern(&name).into();
            }
        }
    }
    forbid_nul(&mut json);
    binary_spreadsheets(&mut json);
    json
}

/// utoipa writes a byte body as an array of integers; a spreadsheet upload
/// (and XLSX download) is a binary string. Any bytes are a CSV file to read
/// and report on, so the CSV upload is binary too, not text of some pattern.
fn binary_spreadsheets(json: &mut serde_json::Value) {
    let binary = serde_json::json!({"type": "string", "format": "binary"});
    let Some(paths) = json["paths"].as_object_mut() else {
        return;
    };
    for operation in paths.values_mut().filter_map(|p| p.as_object_mut()) {
        for operation in operation.values_mut() {
            if let Some(body) = operation.pointer_mut("/requestBody/content") {
                for media in [XLSX, "text/csv"] {
                    if let Some(content) = body.get_mut(media) {
                        content["schema"] = binary.clone();
                    }
                }
            }
            let responses = operation
                .get_mut("responses")
                .and_then(|r| r.as_object_mut());
            for response in responses.into_iter().flat_map(|r| r.values_mut()) {
                if let Some(content) =
                    response.pointer_mut(&format!("/content/{}", XLSX.replace('/', "~1")))
                {
                    content["schema"] = binary.clone();
                }
            }
        }
    }
}

/// Says where a new inquiry's id leads, so that clients (and schemathesis'
/// stateful runs) can follow it.
fn link_consultation(json: &mut serde_json::Value) {
    use serde_json::json;
    let Some(created) = json.pointer_mut("/paths/~1api~1v1~1consultations/post/responses/201")
    else {
        return;
    };
    let mut links = serde_json::Map::new();
    for (name, path, method) in [
        ("read", "~1api~1v1~1consultations~1{id}", "get"),
        (
            "messages",
            "~1api~1v1~1consultations~1{id}~1messages",
            "get",
        ),
        ("write", "~1api~1v1~1consultations~1{id}~1messages", "post"),
        ("move", "~1api~1v1~1consultations~1{id}~1moves", "post"),
        ("assign", "~1api~1v1~1consultations~1{id}~1assignee", "put"),
    ] {
        links.insert(
            name.to_string(),
            json!({
                "operationRef": format!("#/paths/{path}/{method}"),
                "parameters": {"id": "$response.body#/id"},
            }),
        );
    }
    created["links"] = serde_json::Value::Object(links);
}

/// Says in every free-text string schema what the extractors enforce: no
/// U+0000 (PostgreSQL cannot store it). Strings with an enum, a format or a
/// pattern of their own already exclude it.
fn forbid_nul(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        // Headers cannot carry U+0000 at all.
        Value::Object(fields) if fields.get("in").is_some_and(|v| v == "header") => {}
        Value::Object(fields) => {
            let is_string = match fields.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
                _ => false,
            };
            let constrained = ["enum", "format", "pattern", "const"]
                .iter()
                .any(|k| fields.contains_key(*k));
            if is_string && !constrained {
                fields.insert("pattern".into(), Value::String("^[^\\u0000]*$".into()));
            }
            fields.values_mut().for_each(forbid_nul);
        }
        Value::Array(items) => items.iter_mut().for_each(forbid_nul),
        _ => {}
    }
}

/// States the vocabulary rules in the record's schema, from the same file
/// that validation reads: the allowed codes, no code twice, `none` alone.
fn add_vocabularies(properties: &mut serde_json::Value) {
    use serde_json::json;
    let Some(properties) = properties.as_object_mut() else {
        return;
    };
    for (field, vocabulary) in crate::domain::vocabulary::all() {
        let Some(property) = properties.get_mut(field) else {
            continue;
        };
        let codes = vocabulary.codes();
        if property["type"] == "array" {
            property["items"]["enum"] = json!(codes);
            property["uniqueItems"] = json!(true);
            if codes.iter().any(|c| c == "none") {
                property["anyOf"] = json!([
                    {"items": {"not": {"const": "none"}}},
                    {"maxItems": 1}
                ]);
            }
        } else {
            let mut allowed = json!(codes);
            if property["type"]
                .as_array()
                .is_some_and(|t| t.contains(&json!("null")))
            {
                allowed
                    .as_array_mut()
                    .expect("an array")
                    .push(serde_json::Value::Null);
            }
            property["enum"] = allowed;
        }
    }
}

pub fn to_pretty_json() -> String {
    let mut json = serde_json::to_string_pretty(&document()).expect("JSON serialises");
    json.push('\n');
    json
}

/// A documented path as segments (`None` for a `{parameter}`), with its methods.
type Route = (Vec<Option<String>>, Vec<&'static str>);

static ROUTES: LazyLock<Vec<Route>> = LazyLock::new(|| {
    let document = document();
    let Some(paths) = document["paths"].as_object() else {
        return Vec::new();
    };
    paths
        .iter()
        .map(|(path, item)| {
            let segments = path
                .split('/')
                .map(|s| (!s.starts_with('{')).then(|| s.to_string()))
                .collect();
            let methods = ["GET", "PUT", "POST", "DELETE", "PATCH"]
                .into_iter()
                .filter(|m| item.get(m.to_ascii_lowercase()).is_some())
                .collect();
            (segments, methods)
        })
        .collect()
});

/// The documented methods of the path a request went to; empty when the path
/// is unknown. As a router would, the most specific path wins:
/// `/registries/search` is not `/registries/{code}`.
pub fn methods_for(path: &str) -> Vec<&'static str> {
    let parts: Vec<&str> = path.split('/').collect();
    ROUTES
        .iter()
        .filter(|(segments, _)| {
            segments.len() == parts.len()
                && segments.iter().zip(&parts).all(|(s, p)| match s {
                    Some(literal) => literal == p,
                    None => !p.is_empty(),
                })
        })
        .max_by_key(|(segments, _)| segments.iter().filter(|s| s.is_some()).count())
        .map(|(_, methods)| methods.clone())
        .unwrap_or_default()
}
