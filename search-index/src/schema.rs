//! The index schema. Changing it means raising [`SCHEMA_VERSION`], which
//! makes every instance rebuild its index on start.

use tantivy::schema::{
    FacetOptions, Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
    FAST, STORED, STRING,
};

use crate::analysis::{BIGRAMS, WORDS};

/// 2: string fast fields without zstd compression.
pub const SCHEMA_VERSION: u32 = 2;

/// Handles to the fields of the schema.
#[derive(Clone, Copy)]
pub struct Fields {
    /// Registry code: the document's identity.
    pub code: Field,
    /// Names and acronym, as words (stored for highlights).
    pub name: Field,
    /// Summary, diseases and operator, as words (stored for highlights).
    pub body: Field,
    /// Name and body again, as character bigrams.
    pub bigrams: Field,
    /// Synonym groups found in name and body.
    pub synonyms: Field,
    /// ICD-10 codes with every prefix (`C5`, `C50`, `C50.9`).
    pub icd10: Field,
    /// `/facet/value` paths.
    pub facets: Field,
    pub start_year: Field,
    pub enrollment: Field,
    pub updated_at: Field,
    pub sort_name: Field,
}

pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let words = |stored: bool| {
        let options = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(WORDS)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        if stored {
            options.set_stored()
        } else {
            options
        }
    };
    let numeric = NumericOptions::default().set_indexed().set_fast();
    let fields = Fields {
        code: b.add_text_field("code", STRING | STORED | FAST),
        name: b.add_text_field("name", words(true)),
        body: b.add_text_field("body", words(true)),
        bigrams: b.add_text_field(
            "bigrams",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(BIGRAMS)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            ),
        ),
        synonyms: b.add_text_field("synonyms", STRING),
        icd10: b.add_text_field("icd10", STRING),
        facets: b.add_facet_field("facets", FacetOptions::default()),
        start_year: b.add_i64_field("start_year", numeric.clone()),
        enrollment: b.add_i64_field("enrollment", numeric),
        updated_at: b.add_i64_field("updated_at", FAST),
        sort_name: b.add_text_field("sort_name", STRING | FAST),
    };
    (b.build(), fields)
}
