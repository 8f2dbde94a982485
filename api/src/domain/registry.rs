//! The registry record as a CIN survey answer holds it, and the rules it must keep.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::validation::{from_serde, FieldError};
use super::vocabulary;

/// One disease the registry covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Disease {
    pub name_ja: String,
    #[serde(default)]
    pub name_en: Option<String>,
    /// ICD-10 codes: a letter, two digits, optionally a dot and one or two characters (`C50`, `C50.9`).
    #[serde(default)]
    pub icd10: Vec<String>,
}

/// Personal data: shown only to the office and the registry's own holders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    #[schema(
        max_length = 254,
        pattern = r"^[^\s@\u0000\u0085]+@[^\s@\u0000\u0085]+\.[^\s@\u0000\u0085]+$"
    )]
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Publication {
    pub title: String,
    #[serde(default)]
    pub doi: Option<String>,
    #[serde(default)]
    pub pmid: Option<String>,
    #[serde(default)]
    pub year: Option<i32>,
}

/// What one CIN survey answer says about one registry. Fields with a
/// vocabulary take the codes served by `GET /api/v1/vocabularies`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryRecord {
    /// Stable public code, `CIN-R-` and six digits.
    #[schema(example = "CIN-R-000123", pattern = r"^CIN-R-[0-9]{6}$")]
    pub registry_code: String,
    pub name_ja: String,
    #[serde(default)]
    pub name_en: Option<String>,
    #[serde(default)]
    pub acronym: Option<String>,
    pub summary_ja: String,
    #[serde(default)]
    pub summary_en: Option<String>,
    #[serde(default)]
    pub website: Option<String>,
    #[schema(min_items = 1, max_items = 200)]
    pub diseases: Vec<Disease>,
    /// Vocabulary `disease_area`.
    #[schema(min_items = 1)]
    pub disease_area: Vec<String>,
    #[serde(default)]
    pub designated_intractable: bool,
    #[serde(default)]
    pub population: Vec<String>,
    pub registry_type: String,
    pub operator_name_ja: String,
    #[serde(default)]
    pub operator_name_en: Option<String>,
    pub operator_type: String,
    /// Prefecture of the operator, or `national`.
    pub region: String,
    #[serde(default)]
    pub funding: Vec<String>,
    /// Personal data: never in a public response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    #[serde(default)]
    pub start_year: Option<i32>,
    pub status: String,
    #[serde(default)]
    pub enrollment_count: Option<i64>,
    #[serde(default)]
    pub enrollment_as_of: Option<NaiveDate>,
    #[serde(default)]
    pub annual_new_cases: Option<i64>,
    #[serde(default)]
    pub site_count: Option<i32>,
    #[serde(default)]
    pub follow_up: Option<String>,
    #[serde(default)]
    pub data_items: Vec<String>,
    #[serde(default)]
    pub collection_method: Vec<String>,
    #[serde(default)]
    pub edc_system: Option<String>,
    #[serde(default)]
    pub coding_standards: Vec<String>,
    #[serde(default)]
    pub linkage: Vec<String>,
    #[serde(default)]
    pub consent: Option<String>,
    #[serde(default)]
    pub consent_secondary_use: Option<String>,
    #[serde(default)]
    pub consent_company_provision: Option<String>,
    #[serde(default)]
    pub ethics_approved: Option<bool>,
    #[serde(default)]
    pub quality_management: Vec<String>,
    #[serde(default)]
    pub regulatory_use: Vec<String>,
    #[serde(default)]
    pub company_collaboration: Option<String>,
    #[serde(default)]
    pub collaboration_forms: Vec<String>,
    #[serde(default)]
    pub past_company_collaborations: Option<i32>,
    #[serde(default)]
    pub fee: Option<String>,
    #[serde(default)]
    pub publications: Vec<Publication>,
    /// The CIN survey year that produced this revision.
    pub survey_round: i32,
}

/// Whether the public can see a registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PublicationState {
    Draft,
    Published,
    Withdrawn,
}

impl PublicationState {
    pub fn as_str(self) -> &'static str {
        match self {
            PublicationState::Draft => "draft",
            PublicationState::Published => "published",
            PublicationState::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(PublicationState::Draft),
            "published" => Some(PublicationState::Published),
            "withdrawn" => Some(PublicationState::Withdrawn),
            _ => None,
        }
    }
}

const MAX_NAME: usize = 300;
const MAX_TEXT: usize = 20_000;
const MAX_SHORT: usize = 200;
const MAX_LIST: usize = 200;

impl RegistryRecord {
    /// Parses and checks a record: types first, then every rule, so that one
    /// answer names every failing field.
    pub fn parse(value: serde_json::Value, current_year: i32) -> Result<Self, Vec<FieldError>> {
        let mut record: RegistryRecord = serde_path_to_error::deserialize(value)
            .map_err(|e| vec![from_serde(e.path(), e.inner())])?;
        record.normalise();
        let errors = record.check(current_year);
        if errors.is_empty() {
            Ok(record)
        } else {
            Err(errors)
        }
    }

    /// The copy anyone may read: no personal contact data.
    pub fn public(&self) -> Self {
        Self {
            contact: None,
            ..self.clone()
        }
    }

    /// Removes the differences that carry no meaning: surrounding white
    /// space, empty optional text, lower-case ICD-10 codes.
    fn normalise(&mut self) {
        fn text(s: &mut String) {
            let trimmed = s.trim();
            if trimmed.len() != s.len() {
                *s = trimmed.to_string();
            }
        }
        fn optional(s: &mut Option<String>) {
            if let Some(v) = s {
                text(v);
                if v.is_empty() {
                    *s = None;
                }
            }
        }
        for s in [
            &mut self.registry_code,
            &mut self.name_ja,
            &mut self.summary_ja,
            &mut self.operator_name_ja,
        ] {
            text(s);
        }
        for s in [
            &mut self.name_en,
            &mut self.acronym,
            &mut self.summary_en,
            &mut self.website,
            &mut self.operator_name_en,
            &mut self.edc_system,
        ] {
            optional(s);
        }
        for disease in &mut self.diseases {
            text(&mut disease.name_ja);
            optional(&mut disease.name_en);
            for code in &mut disease.icd10 {
                *code = code.trim().to_ascii_uppercase();
            }
        }
        if let Some(contact) = &mut self.contact {
            text(&mut contact.name);
            text(&mut contact.email);
            optional(&mut contact.phone);
            optional(&mut contact.department);
        }
        for publication in &mut self.publications {
            text(&mut publication.title);
            optional(&mut publication.doi);
            optional(&mut publication.pmid);
        }
    }

    fn check(&self, current_year: i32) -> Vec<FieldError> {
        let mut c = Checker::default();
        if !is_registry_code(&self.registry_code) {
            c.push(FieldError::new(
                "registry_code",
                "invalid_format",
                "must be `CIN-R-` followed by six digits, e.g. `CIN-R-000123`",
            ));
        }
        c.text("name_ja", &self.name_ja, MAX_NAME);
        c.optional_text("name_en", &self.name_en, MAX_NAME);
        c.optional_text("acronym", &self.acronym, MAX_SHORT);
        c.text("summary_ja", &self.summary_ja, MAX_TEXT);
        c.optional_text("summary_en", &self.summary_en, MAX_TEXT);
        if let Some(site) = &self.website {
            let ok = url::Url::parse(site)
                .map(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .unwrap_or(false);
            if !ok || site.len() > 2000 {
                c.push(FieldError::new(
                    "website",
                    "invalid_format",
                    "must be an http or https URL",
                ));
            }
        }
        if self.diseases.is_empty() {
            c.push(FieldError::new(
                "diseases",
                "required",
                "at least one disease is required",
            ));
        }
        c.list_len("diseases", self.diseases.len());
        for (i, disease) in self.diseases.iter().enumerate() {
            c.text(
                &format!("diseases[{i}].name_ja"),
                &disease.name_ja,
                MAX_NAME,
            );
            c.optional_text(
                &format!("diseases[{i}].name_en"),
                &disease.name_en,
                MAX_NAME,
            );
            c.list_len(&format!("diseases[{i}].icd10"), disease.icd10.len());
            for (j, code) in disease.icd10.iter().enumerate() {
                if !is_icd10(code) {
                    c.push(FieldError::new(
                        format!("diseases[{i}].icd10[{j}]"),
                        "invalid_format",
                        format!("`{code}` is not an ICD-10 code (a letter, two digits, optionally a dot and one or two characters, e.g. C50.9)"),
                    ));
                }
            }
        }
        c.codes("disease_area", &self.disease_area, true);
        c.codes("population", &self.population, false);
        c.code("registry_type", Some(&self.registry_type));
        c.text("operator_name_ja", &self.operator_name_ja, MAX_NAME);
        c.optional_text("operator_name_en", &self.operator_name_en, MAX_NAME);
        c.code("operator_type", Some(&self.operator_type));
        c.code("region", Some(&self.region));
        c.codes("funding", &self.funding, false);
        if let Some(contact) = &self.contact {
            c.text("contact.name", &contact.name, MAX_SHORT);
            if !is_email(&contact.email) {
                c.push(FieldError::new(
                    "contact.email",
                    "invalid_format",
                    "must be an email address",
                ));
            }
            c.optional_text("contact.phone", &contact.phone, 40);
            c.optional_text("contact.department", &contact.department, MAX_SHORT);
        }
        c.range(
            "start_year",
            self.start_year.map(i64::from),
            1950,
            current_year.into(),
        );
        c.code("status", Some(&self.status));
        c.range("enrollment_count", self.enrollment_count, 0, 1_000_000_000);
        if let Some(date) = self.enrollment_as_of {
            if date > NaiveDate::from_ymd_opt(current_year, 12, 31).unwrap_or(NaiveDate::MAX) {
                c.push(FieldError::new(
                    "enrollment_as_of",
                    "out_of_range",
                    "must not be in a future year",
                ));
            }
        }
        c.range("annual_new_cases", self.annual_new_cases, 0, 100_000_000);
        c.range("site_count", self.site_count.map(i64::from), 0, 100_000);
        c.code("follow_up", self.follow_up.as_ref());
        c.codes("data_items", &self.data_items, false);
        c.codes("collection_method", &self.collection_method, false);
        c.optional_text("edc_system", &self.edc_system, MAX_SHORT);
        c.codes("coding_standards", &self.coding_standards, false);
        c.codes("linkage", &self.linkage, false);
        c.code("consent", self.consent.as_ref());
        c.code("consent_secondary_use", self.consent_secondary_use.as_ref());
        c.code(
            "consent_company_provision",
            self.consent_company_provision.as_ref(),
        );
        c.codes("quality_management", &self.quality_management, false);
        c.codes("regulatory_use", &self.regulatory_use, false);
        c.code("company_collaboration", self.company_collaboration.as_ref());
        c.codes("collaboration_forms", &self.collaboration_forms, false);
        c.range(
            "past_company_collaborations",
            self.past_company_collaborations.map(i64::from),
            0,
            100_000,
        );
        c.code("fee", self.fee.as_ref());
        c.list_len("publications", self.publications.len());
        for (i, p) in self.publications.iter().enumerate() {
            c.text(&format!("publications[{i}].title"), &p.title, 1000);
            if let Some(doi) = &p.doi {
                if !doi.starts_with("10.") || doi.len() > 300 || doi.contains(char::is_whitespace) {
                    c.push(FieldError::new(
                        format!("publications[{i}].doi"),
                        "invalid_format",
                        "a DOI starts with `10.` and has no spaces",
                    ));
                }
            }
            if let Some(pmid) = &p.pmid {
                if pmid.is_empty() || pmid.len() > 10 || !pmid.bytes().all(|b| b.is_ascii_digit()) {
                    c.push(FieldError::new(
                        format!("publications[{i}].pmid"),
                        "invalid_format",
                        "a PMID is one to ten digits",
                    ));
                }
            }
            c.range(
                &format!("publications[{i}].year"),
                p.year.map(i64::from),
                1900,
                i64::from(current_year) + 1,
            );
        }
        c.range(
            "survey_round",
            Some(self.survey_round.into()),
            2000,
            i64::from(current_year) + 1,
        );
        c.errors
    }
}

#[derive(Default)]
struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    fn push(&mut self, e: FieldError) {
        self.errors.push(e);
    }

    fn text(&mut self, field: &str, value: &str, max: usize) {
        if value.is_empty() {
            self.push(FieldError::new(field, "required", "must not be empty"));
        }
        self.length(field, value, max);
    }

    fn optional_text(&mut self, field: &str, value: &Option<String>, max: usize) {
        if let Some(v) = value {
            self.length(field, v, max);
        }
    }

    fn length(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.push(FieldError::new(
                field,
                "too_long",
                format!("at most {max} characters"),
            ));
        }
        if value
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        {
            self.push(FieldError::new(
                field,
                "invalid_format",
                "must not contain control characters",
            ));
        }
    }

    fn list_len(&mut self, field: &str, len: usize) {
        if len > MAX_LIST {
            self.push(FieldError::new(
                field,
                "too_long",
                format!("at most {MAX_LIST} entries"),
            ));
        }
    }

    fn range(&mut self, field: &str, value: Option<i64>, min: i64, max: i64) {
        if let Some(v) = value {
            if v < min || v > max {
                self.push(FieldError::new(
                    field,
                    "out_of_range",
                    format!("must be between {min} and {max}"),
                ));
            }
        }
    }

    fn code(&mut self, field: &str, value: Option<&String>) {
        let Some(value) = value else { return };
        let vocabulary = vocabulary::get(field);
        if !vocabulary.contains(value) {
            self.push(
                FieldError::new(
                    field,
                    "unknown_value",
                    format!("`{value}` is not a `{field}` code"),
                )
                .with_allowed(vocabulary.codes()),
            );
        }
    }

    fn codes(&mut self, field: &str, values: &[String], required: bool) {
        if required && values.is_empty() {
            self.push(FieldError::new(
                field,
                "required",
                "at least one value is required",
            ));
        }
        self.list_len(field, values.len());
        let vocabulary = vocabulary::get(field);
        for (i, value) in values.iter().enumerate() {
            let path = format!("{field}[{i}]");
            if !vocabulary.contains(value) {
                self.push(
                    FieldError::new(
                        path,
                        "unknown_value",
                        format!("`{value}` is not a `{field}` code"),
                    )
                    .with_allowed(vocabulary.codes()),
                );
            } else if values[..i].contains(value) {
                self.push(FieldError::new(
                    path,
                    "duplicate",
                    format!("`{value}` is listed twice"),
                ));
            }
        }
        if values.len() > 1 && values.iter().any(|v| v == "none") {
            self.push(FieldError::new(
                field,
                "invalid_value",
                "`none` cannot be combined with other values",
            ));
        }
    }
}

pub fn is_registry_code(code: &str) -> bool {
    code.len() == 12 && code.starts_with("CIN-R-") && code[6..].bytes().all(|b| b.is_ascii_digit())
}

/// A letter, two digits, optionally a dot and one or two letters or digits.
pub fn is_icd10(code: &str) -> bool {
    let b = code.as_bytes();
    let head =
        b.len() >= 3 && b[0].is_ascii_uppercase() && b[1].is_ascii_digit() && b[2].is_ascii_digit();
    match b.len() {
        3 => head,
        5 | 6 => {
            head && b[3] == b'.'
                && b[4..]
                    .iter()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        }
        _ => false,
    }
}

/// Something before `@`, a dot inside the domain, no spaces, at most 254
/// characters: the `pattern` the OpenAPI document gives email fields.
pub fn is_email(s: &str) -> bool {
    let plain =
        |part: &str| !part.is_empty() && !part.chars().any(|c| c.is_whitespace() || c == '@');
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let dotted = domain
        .char_indices()
        .any(|(i, c)| c == '.' && i > 0 && i + 1 < domain.len());
    plain(local) && plain(domain) && dotted && s.chars().count() <= 254
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icd10_codes() {
        for ok in ["C50", "C50.9", "G12.2", "E11.65", "U07.1"] {
            assert!(is_icd10(ok), "{ok}");
        }
        for bad in ["C5", "c50", "C50.", "C509", "C50.123", "5C0", "C50-9", ""] {
            assert!(!is_icd10(bad), "{bad}");
        }
    }

    #[test]
    fn emails() {
        for ok in ["a@b.c", "first.last+tag@example.co.jp"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a@b",
            "@b.c",
            "a@.c",
            "a@b.",
            "a b@c.d",
            "a@b@c.d",
            "a@b\u{85}.c",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn registry_codes() {
        assert!(is_registry_code("CIN-R-000123"));
        assert!(!is_registry_code("CIN-R-12345"));
        assert!(!is_registry_code("CIN-X-000123"));
        assert!(!is_registry_code("CIN-R-00012a"));
    }
}

/// A change of publication state the office can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicationMove {
    Publish,
    Withdraw,
}

impl PublicationMove {
    pub fn as_str(self) -> &'static str {
        match self {
            PublicationMove::Publish => "publish",
            PublicationMove::Withdraw => "withdraw",
        }
    }

    pub fn target(self) -> PublicationState {
        match self {
            PublicationMove::Publish => PublicationState::Published,
            PublicationMove::Withdraw => PublicationState::Withdrawn,
        }
    }
}

impl PublicationState {
    /// Drafts and withdrawn entries can be published; published ones withdrawn.
    pub fn allowed_moves(self) -> &'static [PublicationMove] {
        match self {
            PublicationState::Draft | PublicationState::Withdrawn => &[PublicationMove::Publish],
            PublicationState::Published => &[PublicationMove::Withdraw],
        }
    }
}
