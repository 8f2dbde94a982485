//! What the index needs to know of a registry, in plain terms.

use tantivy::schema::Facet;
use tantivy::TantivyDocument;

use crate::normalize::fold;
use crate::schema::Fields;
use crate::synonyms::Synonyms;

#[derive(Debug, Clone, Default)]
pub struct RegistryDoc {
    pub code: String,
    /// Names and acronym in every language.
    pub names: Vec<String>,
    /// Summaries, disease names, operator names.
    pub texts: Vec<String>,
    pub icd10: Vec<String>,
    /// (facet, value) pairs, e.g. ("region", "tokyo").
    pub facets: Vec<(String, String)>,
    pub start_year: Option<i64>,
    pub enrollment: Option<i64>,
    /// Seconds since the epoch.
    pub updated_at: i64,
    /// The name to sort by.
    pub sort_name: String,
}

impl RegistryDoc {
    pub fn to_document(&self, f: &Fields, synonyms: &Synonyms) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(f.code, &self.code);
        let name = self.names.join(" / ");
        let body = self.texts.join("\n");
        doc.add_text(f.name, &name);
        doc.add_text(f.body, &body);
        doc.add_text(f.bigrams, &name);
        doc.add_text(f.bigrams, &body);
        for group in synonyms.groups_in(&format!("{name}\n{body}")) {
            doc.add_text(f.synonyms, &group);
        }
        for code in &self.icd10 {
            for prefix in icd10_prefixes(code) {
                doc.add_text(f.icd10, &prefix);
            }
        }
        for (facet, value) in &self.facets {
            doc.add_facet(f.facets, Facet::from_path([facet.as_str(), value.as_str()]));
        }
        if let Some(year) = self.start_year {
            doc.add_i64(f.start_year, year);
        }
        if let Some(n) = self.enrollment {
            doc.add_i64(f.enrollment, n);
        }
        doc.add_i64(f.updated_at, self.updated_at);
        doc.add_text(f.sort_name, fold(&self.sort_name));
        doc
    }
}

/// `C50.9` is found by `C5`, `C50` and `C50.9`.
pub fn icd10_prefixes(code: &str) -> Vec<String> {
    let code = code.trim().to_ascii_uppercase();
    let chars: Vec<char> = code.chars().collect();
    (2..=chars.len())
        .map(|n| chars[..n].iter().collect::<String>())
        .filter(|p| !p.ends_with('.'))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn icd10_prefixes() {
        assert_eq!(super::icd10_prefixes("c50.9"), vec!["C5", "C50", "C50.9"]);
        assert_eq!(super::icd10_prefixes("G12"), vec!["G1", "G12"]);
    }
}
