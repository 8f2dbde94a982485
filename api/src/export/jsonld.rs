//! Registries as linked data for other catalogues: schema.org `Dataset` (what
//! general search engines read) and DCAT-AP with the HealthDCAT-AP extension
//! (what EU real-world-data catalogues and open-data portals harvest).
//!
//! Every context is inline, so no processor fetches anything to read these
//! documents. Public data only: the contact point is the CIN office's desk,
//! never the registry's contact person.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::domain::registry::RegistryRecord;
use crate::domain::vocabulary;

/// What a document needs of a published registry.
pub struct Entry<'a> {
    pub record: &'a RegistryRecord,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const OFFICE_JA: &str = "臨床研究中核病院 CIN中央支援事務局";
const OFFICE_EN: &str = "CIN Central Support Office";
const EU_AUTHORITY: &str = "http://publications.europa.eu/resource/authority";
/// Wikidata's property "ICD-10 ID": how HealthDCAT-AP names a coding system.
const ICD10_SYSTEM: &str = "https://www.wikidata.org/entity/P494";

/// The prefixes of the DCAT-AP documents.
pub fn dcat_context() -> Value {
    json!({
        "dcat": "http://www.w3.org/ns/dcat#",
        "dct": "http://purl.org/dc/terms/",
        "foaf": "http://xmlns.com/foaf/0.1/",
        "vcard": "http://www.w3.org/2006/vcard/ns#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "healthdcatap": "http://healthdataportal.eu/ns/health#",
        "hydra": "http://www.w3.org/ns/hydra/core#"
    })
}

/// The public page of a registry, which is also its identity in linked data.
pub fn registry_iri(base: &str, code: &str) -> String {
    format!("{base}/api/v1/registries/{code}")
}

pub fn catalog_iri(base: &str) -> String {
    format!("{base}/api/v1/catalogue/dcat.jsonld")
}

/// A vocabulary value as an IRI within the served vocabulary list.
fn concept(base: &str, field: &str, code: &str) -> Value {
    json!({"@id": format!("{base}/api/v1/vocabularies#{field}/{code}")})
}

fn iri(value: impl Into<String>) -> Value {
    json!({"@id": value.into()})
}

fn typed(value: impl ToString, datatype: &str) -> Value {
    json!({"@value": value.to_string(), "@type": datatype})
}

/// Japanese text, and English where there is some.
fn texts(ja: &str, en: Option<&str>) -> Value {
    let mut out = vec![json!({"@value": ja, "@language": "ja"})];
    if let Some(en) = en {
        out.push(json!({"@value": en, "@language": "en"}));
    }
    Value::Array(out)
}

fn label_texts(field: &str, code: &str) -> Value {
    match vocabulary::get(field)
        .values
        .iter()
        .find(|t| t.code == code)
    {
        Some(term) => texts(&term.ja, Some(&term.en)),
        None => Value::from(code),
    }
}

fn keywords(record: &RegistryRecord) -> Value {
    let mut out = Vec::new();
    for disease in &record.diseases {
        out.push(json!({"@value": disease.name_ja, "@language": "ja"}));
        if let Some(en) = &disease.name_en {
            out.push(json!({"@value": en, "@language": "en"}));
        }
    }
    Value::Array(out)
}

fn icd10_codes(record: &RegistryRecord) -> Vec<&str> {
    let mut codes: Vec<&str> = record
        .diseases
        .iter()
        .flat_map(|d| d.icd10.iter().map(String::as_str))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

fn publication_iris(record: &RegistryRecord) -> Vec<Value> {
    record
        .publications
        .iter()
        .filter_map(|p| match (&p.doi, &p.pmid) {
            (Some(doi), _) => Some(iri(format!("https://doi.org/{doi}"))),
            (None, Some(pmid)) => Some(iri(format!("https://pubmed.ncbi.nlm.nih.gov/{pmid}/"))),
            _ => None,
        })
        .collect()
}

fn office(base: &str) -> Value {
    json!({
        "@type": "foaf:Agent",
        "foaf:name": texts(OFFICE_JA, Some(OFFICE_EN)),
        "foaf:homepage": iri(format!("{base}/")),
    })
}

/// Whom to ask: the office's consultation desk, which forwards to the holder.
fn contact_point(base: &str) -> Value {
    json!({
        "@type": "vcard:Organization",
        "vcard:fn": texts(OFFICE_JA, Some(OFFICE_EN)),
        "vcard:hasURL": iri(format!("{base}/api/v1/consultations")),
    })
}

/// Registry data are never open: restricted where the holder works with
/// companies, otherwise not public.
fn access_rights(record: &RegistryRecord) -> Value {
    let right = match record.company_collaboration.as_deref() {
        Some("available" | "conditional") => "RESTRICTED",
        _ => "NON_PUBLIC",
    };
    iri(format!("{EU_AUTHORITY}/access-right/{right}"))
}

/// A registry as a DCAT-AP / HealthDCAT-AP `dcat:Dataset` node (no context).
pub fn dcat_dataset_node(entry: &Entry<'_>, base: &str) -> Value {
    let r = entry.record;
    let page = registry_iri(base, &r.registry_code);
    let mut node = Map::new();
    let mut put = |key: &str, value: Value| {
        node.insert(key.to_string(), value);
    };
    put("@id", Value::from(page.clone()));
    put("@type", Value::from("dcat:Dataset"));
    put("dct:identifier", Value::from(r.registry_code.clone()));
    put("dct:title", texts(&r.name_ja, r.name_en.as_deref()));
    put(
        "dct:description",
        texts(&r.summary_ja, r.summary_en.as_deref()),
    );
    if let Some(acronym) = &r.acronym {
        put("dct:alternative", Value::from(acronym.clone()));
    }
    put("dcat:keyword", keywords(r));
    put("dcat:theme", iri(format!("{EU_AUTHORITY}/data-theme/HEAL")));
    put("dct:type", concept(base, "registry_type", &r.registry_type));
    put(
        "dct:publisher",
        json!({
            "@type": "foaf:Agent",
            "foaf:name": texts(&r.operator_name_ja, r.operator_name_en.as_deref()),
            "dct:type": concept(base, "operator_type", &r.operator_type),
        }),
    );
    put("dcat:contactPoint", contact_point(base));
    put("foaf:page", iri(page));
    if let Some(site) = &r.website {
        put("dcat:landingPage", iri(site.clone()));
    }
    put(
        "dct:spatial",
        json!([
            iri(format!("{EU_AUTHORITY}/country/JPN")),
            concept(base, "region", &r.region)
        ]),
    );
    if let Some(year) = r.start_year {
        put(
            "dct:temporal",
            json!({"@type": "dct:PeriodOfTime", "dcat:startDate": typed(year, "xsd:gYear")}),
        );
    }
    put(
        "dct:issued",
        typed(entry.created_at.to_rfc3339(), "xsd:dateTime"),
    );
    put(
        "dct:modified",
        typed(entry.updated_at.to_rfc3339(), "xsd:dateTime"),
    );
    let mut languages = vec![iri(format!("{EU_AUTHORITY}/language/JPN"))];
    if r.name_en.is_some() || r.summary_en.is_some() {
        languages.push(iri(format!("{EU_AUTHORITY}/language/ENG")));
    }
    put("dct:language", Value::Array(languages));
    put("dct:accessRights", access_rights(r));
    let references = publication_iris(r);
    if !references.is_empty() {
        put("dct:isReferencedBy", Value::Array(references));
    }
    put(
        "healthdcatap:healthCategory",
        r.disease_area
            .iter()
            .map(|a| concept(base, "disease_area", a))
            .collect(),
    );
    let codes = icd10_codes(r);
    if !codes.is_empty() {
        put("healthdcatap:hasCodingSystem", iri(ICD10_SYSTEM));
        put(
            "healthdcatap:hasCodeValues",
            codes
                .iter()
                .map(|c| iri(format!("https://icd.who.int/browse10/2019/en#/{c}")))
                .collect(),
        );
    }
    if let Some(count) = r.enrollment_count {
        put(
            "healthdcatap:numberOfUniqueIndividuals",
            typed(count, "xsd:nonNegativeInteger"),
        );
    }
    if !r.population.is_empty() {
        let labels: Vec<Value> = r
            .population
            .iter()
            .flat_map(|p| match label_texts("population", p) {
                Value::Array(items) => items,
                other => vec![other],
            })
            .collect();
        put("healthdcatap:populationCoverage", Value::Array(labels));
    }
    Value::Object(node)
}

/// One registry as a DCAT-AP / HealthDCAT-AP document.
pub fn dcat_dataset(entry: &Entry<'_>, base: &str) -> Value {
    with_context(dcat_context(), dcat_dataset_node(entry, base))
}

fn with_context(context: Value, node: Value) -> Value {
    let mut out = Map::new();
    out.insert("@context".into(), context);
    if let Value::Object(fields) = node {
        out.extend(fields);
    }
    Value::Object(out)
}

/// Where one page of the catalogue document sits among the others.
pub struct CatalogPage {
    /// 1-based.
    pub page: u32,
    pub pages: u32,
    pub total: i64,
}

/// A page of the whole published catalogue as a `dcat:Catalog`, with Hydra
/// paging links that harvesters follow.
pub fn dcat_catalog(entries: &[Entry<'_>], base: &str, page: &CatalogPage) -> Value {
    let catalog = catalog_iri(base);
    let page_iri = |n: u32| format!("{catalog}?page={n}");
    let mut view = Map::new();
    view.insert("@id".into(), Value::from(page_iri(page.page)));
    view.insert("@type".into(), Value::from("hydra:PartialCollectionView"));
    view.insert("hydra:totalItems".into(), typed(page.total, "xsd:integer"));
    view.insert("hydra:first".into(), iri(page_iri(1)));
    view.insert("hydra:last".into(), iri(page_iri(page.pages)));
    if page.page < page.pages {
        view.insert("hydra:next".into(), iri(page_iri(page.page + 1)));
    }
    if page.page > 1 {
        view.insert("hydra:previous".into(), iri(page_iri(page.page - 1)));
    }
    with_context(
        dcat_context(),
        json!({
            "@id": catalog,
            "@type": "dcat:Catalog",
            "dct:title": texts("CINレジストリカタログ", Some("CIN Registry Catalogue")),
            "dct:description": texts(
                "臨床研究中核病院の CIN 調査に基づく、日本の疾患・患者レジストリのカタログ。",
                Some("The catalogue of Japan's disease and patient registries, built from the Clinical Innovation Network survey."),
            ),
            "dct:publisher": office(base),
            "foaf:homepage": iri(format!("{base}/")),
            "dct:language": [iri(format!("{EU_AUTHORITY}/language/JPN")), iri(format!("{EU_AUTHORITY}/language/ENG"))],
            "dct:spatial": iri(format!("{EU_AUTHORITY}/country/JPN")),
            "dcat:themeTaxonomy": iri(format!("{EU_AUTHORITY}/data-theme")),
            "dcat:dataset": entries.iter().map(|e| dcat_dataset_node(e, base)).collect::<Vec<_>>(),
            "hydra:view": Value::Object(view),
        }),
    )
}

/// One registry as a schema.org `Dataset`.
pub fn schema_org_dataset(entry: &Entry<'_>, base: &str) -> Value {
    let r = entry.record;
    let page = registry_iri(base, &r.registry_code);
    let mut node = Map::new();
    let mut put = |key: &str, value: Value| {
        node.insert(key.to_string(), value);
    };
    put("@context", json!({"@vocab": "https://schema.org/"}));
    put("@type", Value::from("Dataset"));
    put("@id", Value::from(page.clone()));
    put("identifier", Value::from(r.registry_code.clone()));
    put("name", texts(&r.name_ja, r.name_en.as_deref()));
    put("description", texts(&r.summary_ja, r.summary_en.as_deref()));
    if let Some(acronym) = &r.acronym {
        put("alternateName", Value::from(acronym.clone()));
    }
    put("url", Value::from(page));
    if let Some(site) = &r.website {
        put("sameAs", Value::from(site.clone()));
    }
    put("keywords", keywords(r));
    put(
        "creator",
        json!({"@type": "Organization", "name": texts(&r.operator_name_ja, r.operator_name_en.as_deref())}),
    );
    put(
        "publisher",
        json!({"@type": "Organization", "name": texts(OFFICE_JA, Some(OFFICE_EN))}),
    );
    put(
        "includedInDataCatalog",
        json!({"@type": "DataCatalog", "@id": catalog_iri(base), "name": "CIN Registry Catalogue"}),
    );
    put(
        "spatialCoverage",
        json!({"@type": "Place", "name": label_texts("region", &r.region)}),
    );
    if let Some(year) = r.start_year {
        put("temporalCoverage", Value::from(format!("{year}/..")));
    }
    put("dateCreated", Value::from(entry.created_at.to_rfc3339()));
    put("dateModified", Value::from(entry.updated_at.to_rfc3339()));
    put(
        "about",
        r.diseases
            .iter()
            .map(|d| {
                json!({
                    "@type": "MedicalCondition",
                    "name": texts(&d.name_ja, d.name_en.as_deref()),
                    "code": d.icd10.iter().map(|c| json!({
                        "@type": "MedicalCode", "codeValue": c, "codingSystem": "ICD-10"
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    );
    if !r.data_items.is_empty() {
        put(
            "variableMeasured",
            r.data_items
                .iter()
                .map(|d| label_texts("data_items", d))
                .collect(),
        );
    }
    if let Some(fee) = &r.fee {
        put("isAccessibleForFree", Value::from(fee == "free"));
    }
    put(
        "conditionsOfAccess",
        texts(
            "データの利用は CIN 中央支援事務局の相談窓口を通じてレジストリ保有者と協議します。",
            Some("Use of the data is agreed with the registry holder through the CIN office's consultation desk."),
        ),
    );
    let citations: Vec<Value> = r
        .publications
        .iter()
        .map(|p| {
            let mut article = json!({"@type": "ScholarlyArticle", "name": p.title});
            if let Some(doi) = &p.doi {
                article["sameAs"] = Value::from(format!("https://doi.org/{doi}"));
            }
            if let Some(year) = p.year {
                article["datePublished"] = Value::from(year.to_string());
            }
            article
        })
        .collect();
    if !citations.is_empty() {
        put("citation", Value::Array(citations));
    }
    Value::Object(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RegistryRecord {
        let seed: Vec<Value> =
            serde_json::from_str(include_str!("../../../seed-data/registries.json")).unwrap();
        serde_json::from_value(seed[0]["record"].clone()).unwrap()
    }

    #[test]
    fn documents_name_no_contact_person_and_use_only_inline_contexts() {
        let record = sample();
        let entry = Entry {
            record: &record,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        for doc in [
            dcat_dataset(&entry, "http://x"),
            schema_org_dataset(&entry, "http://x"),
        ] {
            let text = doc.to_string();
            assert!(!text.contains("jnbcr-office@example.jp"), "{text}");
            assert!(!text.contains("佐伯"), "{text}");
            assert!(doc["@context"].is_object(), "inline context");
        }
        let dcat = dcat_dataset(&entry, "http://x");
        assert_eq!(dcat["dct:identifier"], "CIN-R-000001");
        assert_eq!(
            dcat["healthdcatap:hasCodeValues"][0]["@id"],
            "https://icd.who.int/browse10/2019/en#/C50"
        );
        assert_eq!(
            dcat["dct:accessRights"]["@id"],
            "http://publications.europa.eu/resource/authority/access-right/RESTRICTED"
        );
    }
}
