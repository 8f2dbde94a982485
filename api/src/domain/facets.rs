//! The facets of the catalogue search, and each registry's values for them.

use super::registry::RegistryRecord;

/// Facets in the order clients show them. Each is also a query parameter of
/// the search; those named like a vocabulary take its codes.
pub const FACETS: &[&str] = &[
    "disease_area",
    "designated_intractable",
    "population",
    "registry_type",
    "status",
    "region",
    "operator_type",
    "data_items",
    "collection_method",
    "follow_up",
    "consent",
    "consent_secondary_use",
    "consent_company_provision",
    "quality_management",
    "regulatory_use",
    "company_collaboration",
    "enrollment_band",
    "start_year",
    "update_status",
];

/// The values a facet takes: its vocabulary's codes, `true`/`false` for
/// `designated_intractable`; `None` for `start_year`, which takes any year.
pub fn allowed_values(facet: &str) -> Option<Vec<String>> {
    match facet {
        "designated_intractable" => Some(vec!["true".into(), "false".into()]),
        "start_year" => None,
        _ => Some(super::vocabulary::get(facet).codes()),
    }
}

/// Whether `value` is a value of `facet`.
pub fn is_value(facet: &str, value: &str) -> bool {
    match allowed_values(facet) {
        Some(values) => values.iter().any(|v| v == value),
        None => value.len() == 4 && value.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// The documented form of a facet parameter: empty, or values joined by commas.
pub fn parameter_pattern(facet: &str) -> String {
    let one = match allowed_values(facet) {
        Some(values) => format!("({})", values.join("|")),
        None => "[0-9]{4}".to_string(),
    };
    format!("^({one}(,{one})*)?$")
}

/// The size band of an enrollment count (vocabulary `enrollment_band`).
pub fn enrollment_band(count: i64) -> &'static str {
    match count {
        i64::MIN..=99 => "lt_100",
        100..=999 => "100_999",
        1_000..=9_999 => "1000_9999",
        10_000..=99_999 => "10000_99999",
        _ => "ge_100000",
    }
}

/// (facet, value) pairs of a record whose update status (which depends on
/// time, not on the record) is `update_status`.
pub fn values(record: &RegistryRecord, update_status: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut one = |facet: &str, value: &str| out.push((facet.to_string(), value.to_string()));
    for (facet, values) in [
        ("disease_area", &record.disease_area),
        ("population", &record.population),
        ("data_items", &record.data_items),
        ("collection_method", &record.collection_method),
        ("quality_management", &record.quality_management),
        ("regulatory_use", &record.regulatory_use),
    ] {
        values.iter().for_each(|v| one(facet, v));
    }
    for (facet, value) in [
        ("registry_type", Some(&record.registry_type)),
        ("status", Some(&record.status)),
        ("region", Some(&record.region)),
        ("operator_type", Some(&record.operator_type)),
        ("follow_up", record.follow_up.as_ref()),
        ("consent", record.consent.as_ref()),
        (
            "consent_secondary_use",
            record.consent_secondary_use.as_ref(),
        ),
        (
            "consent_company_provision",
            record.consent_company_provision.as_ref(),
        ),
        (
            "company_collaboration",
            record.company_collaboration.as_ref(),
        ),
    ] {
        if let Some(v) = value {
            one(facet, v);
        }
    }
    one(
        "designated_intractable",
        if record.designated_intractable {
            "true"
        } else {
            "false"
        },
    );
    if let Some(count) = record.enrollment_count {
        one("enrollment_band", enrollment_band(count));
    }
    if let Some(year) = record.start_year {
        one("start_year", &year.to_string());
    }
    one("update_status", update_status);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_follow_the_dictionary() {
        assert_eq!(enrollment_band(99), "lt_100");
        assert_eq!(enrollment_band(100), "100_999");
        assert_eq!(enrollment_band(9_999), "1000_9999");
        assert_eq!(enrollment_band(10_000), "10000_99999");
        assert_eq!(enrollment_band(100_000), "ge_100000");
    }

    #[test]
    fn every_facet_is_a_vocabulary_or_known_to_be_open() {
        for facet in FACETS {
            let open = matches!(*facet, "designated_intractable" | "start_year");
            assert!(
                open || super::super::vocabulary::all().contains_key(*facet),
                "{facet}"
            );
        }
    }
}
