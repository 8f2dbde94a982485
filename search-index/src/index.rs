//! The catalogue index: writing registry documents, committing with the
//! change-log position they reflect, and faceted search.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use tantivy::collector::{Collector, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, RangeQuery};
use tantivy::schema::{Field, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TantivyDocument,
    Term,
};

use crate::analysis::{bigrams, highlight_words, words, BIGRAMS, WORDS};
use crate::document::RegistryDoc;
use crate::facet_sets::{Counts, FacetCounter, FacetSetCache, Filtered, SegmentFilters};
use crate::query;
use crate::schema::{self, Fields};
use crate::synonyms::Synonyms;

pub use tantivy::TantivyError;
pub type Result<T> = std::result::Result<T, TantivyError>;

/// Indexing threads and memory. A serving instance writes a few documents
/// at a time; a rebuild wants all cores and a large budget for few segments.
#[derive(Debug, Clone, Copy)]
pub struct WriterBudget {
    pub threads: usize,
    pub heap_bytes: usize,
}

impl WriterBudget {
    pub const SERVING: WriterBudget = WriterBudget {
        threads: 1,
        heap_bytes: 30_000_000,
    };

    pub fn bulk() -> WriterBudget {
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .min(8);
        WriterBudget {
            threads,
            heap_bytes: 300_000_000 * threads,
        }
    }
}

pub struct CatalogueIndex {
    index: Index,
    fields: Fields,
    reader: IndexReader,
    writer: Mutex<IndexWriter<TantivyDocument>>,
    synonyms: Arc<Synonyms>,
    facet_sets: FacetSetCache,
}

/// A hit's score (when ranked by relevance) and where it is.
type Ranked = (Option<f32>, DocAddress);

/// One search's query and filters, run with one way of ranking the hits.
struct Run<'a> {
    searcher: &'a Searcher,
    query: &'a dyn Query,
    filters: &'a [SegmentFilters],
    facets: &'a [String],
}

impl Run<'_> {
    /// The facet counts, and the top documents passing the filters, with
    /// the score `score` makes of their rank key.
    fn collect<K, C>(
        &self,
        top: C,
        score: impl Fn(K) -> Option<f32>,
    ) -> Result<(Counts, Vec<Ranked>)>
    where
        C: Collector<Fruit = Vec<(K, DocAddress)>>,
    {
        let counter = FacetCounter {
            filters: self.filters,
            facets: self.facets,
        };
        let filtered = Filtered {
            inner: top,
            filters: self.filters,
        };
        let (counts, docs) = self.searcher.search(self.query, &(counter, filtered))?;
        let hits = docs.into_iter().map(|(k, a)| (score(k), a)).collect();
        Ok((counts, hits))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Relevance,
    UpdatedDesc,
    EnrollmentDesc,
    Name,
}

#[derive(Debug, Clone, Default)]
pub struct Range {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub text: String,
    /// Facet → chosen values: values of one facet are OR, facets are AND.
    pub filters: BTreeMap<String, Vec<String>>,
    pub start_year: Range,
    pub enrollment: Range,
    pub sort: Sort,
    pub offset: usize,
    pub limit: usize,
    /// The facets to count.
    pub facets: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub code: String,
    /// BM25 score when sorted by relevance.
    pub score: Option<f32>,
    /// HTML-escaped text with `<mark>` around matches; empty when nothing matched there.
    pub name_highlight: String,
    pub summary_highlight: String,
}

#[derive(Debug, Clone)]
pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<Hit>,
    /// Facet → (value, count), counted disjunctively, in descending count.
    pub facets: BTreeMap<String, Vec<(String, u64)>>,
}

impl CatalogueIndex {
    /// Opens the index in `dir`, creating it when the folder is empty.
    pub fn open_or_create(
        dir: &Path,
        synonyms: Arc<Synonyms>,
        budget: WriterBudget,
    ) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = schema::build();
        let directory = tantivy::directory::MmapDirectory::open(dir)?;
        let index = Index::open_or_create(directory, schema)?;
        Self::wrap(index, fields, synonyms, budget)
    }

    /// An index in memory, for tests and benchmarks.
    pub fn in_ram(synonyms: Arc<Synonyms>, budget: WriterBudget) -> Result<Self> {
        let (schema, fields) = schema::build();
        Self::wrap(Index::create_in_ram(schema), fields, synonyms, budget)
    }

    fn wrap(
        index: Index,
        fields: Fields,
        synonyms: Arc<Synonyms>,
        budget: WriterBudget,
    ) -> Result<Self> {
        index.tokenizers().register(WORDS, words());
        index.tokenizers().register(BIGRAMS, bigrams());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let writer = index.writer_with_num_threads(budget.threads, budget.heap_bytes)?;
        let facet_sets = FacetSetCache::default();
        facet_sets.refresh(&reader.searcher(), fields.facets)?;
        Ok(Self {
            index,
            fields,
            reader,
            writer: Mutex::new(writer),
            synonyms,
            facet_sets,
        })
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter<TantivyDocument>> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the document of `doc.code` (delete by code, then add).
    pub fn upsert(&self, doc: &RegistryDoc) -> Result<()> {
        let writer = self.writer();
        writer.delete_term(Term::from_field_text(self.fields.code, &doc.code));
        writer.add_document(doc.to_document(&self.fields, &self.synonyms))?;
        Ok(())
    }

    pub fn delete(&self, code: &str) {
        self.writer()
            .delete_term(Term::from_field_text(self.fields.code, code));
    }

    pub fn delete_all(&self) -> Result<()> {
        self.writer().delete_all_documents().map(drop)
    }

    /// Commits what was written, recording `applied` (the last change-log
    /// sequence it reflects) in the commit, and makes it visible to searches.
    pub fn commit(&self, applied: i64) -> Result<()> {
        {
            let mut writer = self.writer();
            let mut prepared = writer.prepare_commit()?;
            prepared.set_payload(&applied.to_string());
            prepared.commit()?;
        }
        self.reader.reload()?;
        self.facet_sets
            .refresh(&self.reader.searcher(), self.fields.facets)
    }

    /// The change-log sequence of the last commit; 0 for a new index.
    pub fn applied(&self) -> Result<i64> {
        Ok(self
            .index
            .load_metas()?
            .payload
            .and_then(|p| p.parse().ok())
            .unwrap_or(0))
    }

    /// Merges every segment into one and waits for it. A bulk load leaves
    /// the index in many segments, and every search pays a fixed cost for
    /// each; later small writes add small segments that the merge policy
    /// keeps few.
    pub fn merge_all(&self) -> Result<()> {
        let segments = self.index.searchable_segment_ids()?;
        if segments.len() > 1 {
            self.writer().merge(&segments).wait()?;
            self.reader.reload()?;
            self.facet_sets
                .refresh(&self.reader.searcher(), self.fields.facets)?;
        }
        Ok(())
    }

    /// Segments a search visits; each adds a fixed cost to every search.
    pub fn segment_count(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults> {
        let searcher = self.reader.searcher();
        let text = query::build(&request.text, &self.fields, &self.synonyms);
        let query = self.compose(text.as_deref(), request);
        let filters = searcher
            .segment_readers()
            .iter()
            .map(|segment| {
                SegmentFilters::resolve(
                    &self.facet_sets,
                    segment,
                    self.fields.facets,
                    &request.filters,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let run = Run {
            searcher: &searcher,
            query: &*query,
            filters: &filters,
            facets: &request.facets,
        };
        let top = TopDocs::with_limit(request.limit.max(1)).and_offset(request.offset);
        let ((total, counts), hits) = match (request.sort, &text) {
            (Sort::Relevance, Some(_)) => run.collect(top.order_by_score(), Some)?,
            (Sort::UpdatedDesc, _) => run.collect(
                top.order_by_fast_field::<i64>("updated_at", Order::Desc),
                |_| None,
            )?,
            (Sort::EnrollmentDesc, _) => run.collect(
                top.order_by_fast_field::<i64>("enrollment", Order::Desc),
                |_| None,
            )?,
            (Sort::Name, _) => run.collect(
                top.order_by_string_fast_field("sort_name", Order::Asc),
                |_| None,
            )?,
            // No text: a stable order by registry code.
            (Sort::Relevance, None) => {
                run.collect(top.order_by_string_fast_field("code", Order::Asc), |_| None)?
            }
        };
        let hits = if request.limit == 0 { Vec::new() } else { hits };
        let mut named = self.facet_sets.named(&counts);
        let facets = request
            .facets
            .iter()
            .map(|facet| {
                let mut values = named.remove(facet).unwrap_or_default();
                values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                (facet.clone(), values)
            })
            .collect();
        Ok(SearchResults {
            total: total as usize,
            hits: self.hits(&searcher, text.as_deref(), hits)?,
            facets,
        })
    }

    /// The text query AND the ranges; facet filters are applied by the
    /// collectors, which also need the matches they leave out.
    fn compose(&self, text: Option<&dyn Query>, request: &SearchRequest) -> Box<dyn Query> {
        let f = &self.fields;
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some(text) = text {
            must.push((Occur::Must, text.box_clone()));
        }
        for (field, range) in [
            (f.start_year, &request.start_year),
            (f.enrollment, &request.enrollment),
        ] {
            if range.min.is_some() || range.max.is_some() {
                let bound = |v: Option<i64>| match v {
                    Some(v) => std::ops::Bound::Included(Term::from_field_i64(field, v)),
                    None => std::ops::Bound::Unbounded,
                };
                must.push((
                    Occur::Must,
                    Box::new(RangeQuery::new(bound(range.min), bound(range.max))),
                ));
            }
        }
        if must.is_empty() {
            Box::new(AllQuery)
        } else {
            Box::new(BooleanQuery::new(must))
        }
    }

    fn hits(
        &self,
        searcher: &Searcher,
        text: Option<&dyn Query>,
        found: Vec<Ranked>,
    ) -> Result<Vec<Hit>> {
        let f = &self.fields;
        let generators = match text {
            Some(q) => Some((
                snippets(searcher, q, f.name, 200)?,
                snippets(searcher, q, f.body, 160)?,
            )),
            None => None,
        };
        found
            .into_iter()
            .map(|(score, address)| {
                let doc: TantivyDocument = searcher.doc(address)?;
                let code = doc
                    .get_first(f.code)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string();
                let (name_highlight, summary_highlight) = match &generators {
                    Some((name, body)) => (
                        mark(&name.snippet_from_doc(&doc)),
                        mark(&body.snippet_from_doc(&doc)),
                    ),
                    None => (String::new(), String::new()),
                };
                Ok(Hit {
                    code,
                    score,
                    name_highlight,
                    summary_highlight,
                })
            })
            .collect()
    }
}

/// A snippet generator for the terms of `query` in `field`, as
/// `SnippetGenerator::create` makes one, analysing only what can match.
fn snippets(
    searcher: &Searcher,
    query: &dyn Query,
    field: Field,
    max_num_chars: usize,
) -> Result<SnippetGenerator> {
    let mut terms = BTreeSet::new();
    query.query_terms(&mut |term, _| {
        if term.field() == field {
            terms.insert(term.clone());
        }
    });
    let mut scored = BTreeMap::new();
    for term in terms {
        let Some(text) = term.value().as_str().map(str::to_string) else {
            continue;
        };
        // Rarer terms weigh more in choosing the passage, as tantivy does.
        let doc_freq = searcher.doc_freq(&term)?;
        if doc_freq > 0 {
            scored.insert(text, 1.0 / (1.0 + doc_freq as f32));
        }
    }
    let terms: Vec<String> = scored.keys().cloned().collect();
    Ok(SnippetGenerator::new(
        scored,
        highlight_words(&terms),
        field,
        max_num_chars,
    ))
}

/// The snippet as HTML with `<mark>`, or empty when it highlights nothing.
fn mark(snippet: &tantivy::snippet::Snippet) -> String {
    if snippet.highlighted().is_empty() {
        return String::new();
    }
    snippet
        .to_html()
        .replace("<b>", "<mark>")
        .replace("</b>", "</mark>")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> CatalogueIndex {
        let synonyms = Arc::new(Synonyms::parse(
            "がん, 癌, cancer\n肺がん, 肺癌, lung cancer\n",
        ));
        let index = CatalogueIndex::in_ram(synonyms, WriterBudget::SERVING).unwrap();
        let doc = |code: &str, name: &str, icd: &str, region: &str| RegistryDoc {
            code: code.into(),
            names: vec![name.into()],
            texts: vec![],
            icd10: vec![icd.into()],
            facets: vec![("region".into(), region.into())],
            sort_name: name.into(),
            ..Default::default()
        };
        index
            .upsert(&doc("A", "肺癌外科切除例全国登録", "C34.1", "tokyo"))
            .unwrap();
        index
            .upsert(&doc("B", "東京都大腸がん登録", "C18", "tokyo"))
            .unwrap();
        index
            .upsert(&doc("C", "京都 ALS 登録", "G12.2", "kyoto"))
            .unwrap();
        index.commit(7).unwrap();
        index
    }

    fn request(text: &str) -> SearchRequest {
        SearchRequest {
            text: text.into(),
            filters: BTreeMap::new(),
            start_year: Range::default(),
            enrollment: Range::default(),
            sort: Sort::Relevance,
            offset: 0,
            limit: 10,
            facets: vec!["region".into()],
        }
    }

    fn codes(index: &CatalogueIndex, text: &str) -> Vec<String> {
        index
            .search(&request(text))
            .unwrap()
            .hits
            .into_iter()
            .map(|h| h.code)
            .collect()
    }

    #[test]
    fn finds_by_synonym_code_prefix_and_width() {
        let index = index();
        assert_eq!(index.applied().unwrap(), 7);
        assert_eq!(codes(&index, "lung cancer"), vec!["A"]);
        assert_eq!(codes(&index, "肺がん"), vec!["A"]);
        assert_eq!(codes(&index, "c34"), vec!["A"]);
        assert_eq!(codes(&index, "Ｃ３４"), vec!["A"]);
        assert_eq!(codes(&index, "C3"), vec!["A"]);
        let mut cancers = codes(&index, "がん");
        cancers.sort();
        assert_eq!(cancers, vec!["A", "B"]);
    }

    #[test]
    fn merging_segments_keeps_every_answer() {
        let index = index();
        index
            .upsert(&RegistryDoc {
                code: "D".into(),
                names: vec!["大阪 乳がん 登録".into()],
                facets: vec![("region".into(), "osaka".into())],
                ..Default::default()
            })
            .unwrap();
        index.commit(8).unwrap();
        assert!(index.segment_count() > 1);
        let before = index.search(&request("がん")).unwrap();
        index.merge_all().unwrap();
        assert_eq!(index.segment_count(), 1);
        assert_eq!(index.applied().unwrap(), 8);
        let after = index.search(&request("がん")).unwrap();
        let codes = |r: &SearchResults| {
            let mut c: Vec<String> = r.hits.iter().map(|h| h.code.clone()).collect();
            c.sort();
            c
        };
        assert_eq!(codes(&after), vec!["A", "B", "D"]);
        assert_eq!(codes(&before), codes(&after));
        assert_eq!(before.facets, after.facets);
    }

    #[test]
    fn facets_count_disjunctively() {
        let index = index();
        let mut r = request("");
        r.filters.insert("region".into(), vec!["kyoto".into()]);
        let found = index.search(&r).unwrap();
        assert_eq!(found.total, 1);
        assert_eq!(
            found.facets["region"],
            vec![("tokyo".to_string(), 2), ("kyoto".to_string(), 1)]
        );
    }
}
