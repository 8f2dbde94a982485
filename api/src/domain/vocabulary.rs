//! The controlled vocabularies of the registry record, with their ja/en labels.
//!
//! The file lives in `seed-data/vocabularies.json` and is compiled in, so the
//! binary needs no data files to validate a record.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Term {
    pub code: String,
    pub ja: String,
    pub en: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Vocabulary {
    /// Whether a record may hold several values of it.
    pub multiple: bool,
    pub values: Vec<Term>,
}

impl Vocabulary {
    pub fn contains(&self, code: &str) -> bool {
        self.values.iter().any(|t| t.code == code)
    }

    pub fn codes(&self) -> Vec<String> {
        self.values.iter().map(|t| t.code.clone()).collect()
    }
}

/// All vocabularies, keyed by the record field that uses them.
pub type Vocabularies = BTreeMap<String, Vocabulary>;

static VOCABULARIES: LazyLock<Vocabularies> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../../seed-data/vocabularies.json"))
        .expect("seed-data/vocabularies.json is valid (checked by a unit test)")
});

pub fn all() -> &'static Vocabularies {
    &VOCABULARIES
}

/// The vocabulary a record field takes its values from.
pub fn get(field: &str) -> &'static Vocabulary {
    VOCABULARIES
        .get(field)
        .unwrap_or_else(|| panic!("no vocabulary `{field}` in seed-data/vocabularies.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_file_parses_and_codes_are_unique() {
        for (name, vocabulary) in all() {
            let mut codes = vocabulary.codes();
            codes.sort();
            codes.dedup();
            assert_eq!(
                codes.len(),
                vocabulary.values.len(),
                "duplicate code in {name}"
            );
            assert!(!vocabulary.values.is_empty(), "{name} is empty");
        }
        assert_eq!(
            get("region").values.len(),
            48,
            "47 prefectures and `national`"
        );
    }
}
