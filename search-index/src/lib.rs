//! Search for the CIN Registry Catalogue: the tantivy schema, Japanese and
//! English analysis, synonyms, and faceted queries. Knows no HTTP and no SQL.

pub mod analysis;
pub mod document;
pub mod facet_sets;
pub mod index;
pub mod normalize;
pub mod query;
pub mod schema;
pub mod segmenter;
pub mod synonyms;

pub use document::RegistryDoc;
pub use index::{CatalogueIndex, Hit, Range, SearchRequest, SearchResults, Sort, WriterBudget};
pub use schema::SCHEMA_VERSION;
pub use synonyms::Synonyms;
