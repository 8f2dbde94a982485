//! Facet counting with document bitsets.
//!
//! tantivy's `FacetCollector` reads every matching document's facet column
//! and resolves ordinals per query; with 18 facets over 100,000 documents
//! that is most of a search's time. Here each segment keeps, per facet
//! value, the set of its documents as a bitset, built once from the
//! postings when the segment first appears (segments never change; only
//! their deletions do, and the matching set holds live documents only).
//! A search then collects its matching documents into one bitset and
//! counts each value by AND + popcount, word by word over the words where
//! anything matched. Disjunctive counts are the same operation over the
//! matches restricted by every filter but the facet's own.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::index::SegmentId;
use tantivy::schema::{Facet, Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Score, Searcher, SegmentOrdinal, SegmentReader, TERMINATED};

/// A set of documents of one segment.
#[derive(Debug, Clone)]
pub struct DocBits {
    words: Vec<u64>,
}

impl DocBits {
    pub fn empty(max_doc: DocId) -> Self {
        Self {
            words: vec![0; (max_doc as usize).div_ceil(64)],
        }
    }

    pub fn insert(&mut self, doc: DocId) {
        self.words[doc as usize / 64] |= 1 << (doc % 64);
    }

    pub fn contains(&self, doc: DocId) -> bool {
        self.words[doc as usize / 64] & (1 << (doc % 64)) != 0
    }

    pub fn len(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    pub fn union_with(&mut self, other: &DocBits) {
        self.words
            .iter_mut()
            .zip(&other.words)
            .for_each(|(a, b)| *a |= b);
    }

    pub fn intersect_with(&mut self, other: &DocBits) {
        self.words
            .iter_mut()
            .zip(&other.words)
            .for_each(|(a, b)| *a &= b);
    }
}

/// A matching set prepared for counting: its non-zero words and where they are.
struct Matches {
    at: Vec<u32>,
    words: Vec<u64>,
}

impl Matches {
    fn of(bits: &DocBits) -> Self {
        let (at, words) = bits
            .words
            .iter()
            .enumerate()
            .filter(|(_, w)| **w != 0)
            .map(|(i, w)| (i as u32, *w))
            .unzip();
        Self { at, words }
    }

    /// How many of these documents `set` holds. This loop is most of a
    /// search's facet counting, so it uses the CPU's popcount instruction
    /// where there is one (x86-64 builds do not assume it).
    fn count_in(&self, set: &DocBits) -> u64 {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU has the instruction, as just checked.
            return unsafe { self.count_in_popcnt(set) };
        }
        self.count_in_portable(set)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn count_in_popcnt(&self, set: &DocBits) -> u64 {
        self.count_in_portable(set)
    }

    #[inline(always)]
    fn count_in_portable(&self, set: &DocBits) -> u64 {
        self.at
            .iter()
            .zip(&self.words)
            .map(|(i, w)| u64::from((set.words[*i as usize] & w).count_ones()))
            .sum()
    }
}

/// A number for every (facet, value) any segment has, the same in all
/// segments, so counting adds numbers up instead of hashing strings.
#[derive(Default)]
struct ValueIds {
    ids: HashMap<(String, String), u32>,
    names: Vec<(String, String)>,
}

impl ValueIds {
    fn id(&mut self, facet: &str, value: &str) -> u32 {
        let key = (facet.to_string(), value.to_string());
        if let Some(id) = self.ids.get(&key) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(key.clone());
        self.ids.insert(key, id);
        id
    }
}

/// A value of a facet in one segment: its number, code and documents.
#[derive(Debug)]
struct ValueSet {
    id: u32,
    value: String,
    docs: DocBits,
}

/// Per facet, its values and their documents in one segment.
#[derive(Debug, Default)]
pub struct SegmentFacets {
    facets: BTreeMap<String, Vec<ValueSet>>,
}

impl SegmentFacets {
    /// Reads the documents of every `/facet/value` term of `field`.
    fn load(reader: &SegmentReader, field: Field, ids: &Mutex<ValueIds>) -> tantivy::Result<Self> {
        let inverted = reader.inverted_index(field)?;
        let mut facets: BTreeMap<String, Vec<ValueSet>> = BTreeMap::new();
        let mut terms = inverted.terms().stream()?;
        while terms.advance() {
            let Ok(facet) = Facet::from_encoded(terms.key().to_vec()) else {
                continue;
            };
            // Only `/facet/value`; the `/facet` parents are indexed too.
            let [name, value] = facet.to_path()[..] else {
                continue;
            };
            let mut postings =
                inverted.read_postings_from_terminfo(terms.value(), IndexRecordOption::Basic)?;
            let mut docs = DocBits::empty(reader.max_doc());
            while postings.doc() != TERMINATED {
                docs.insert(postings.doc());
                postings.advance();
            }
            let id = ids
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .id(name, value);
            facets.entry(name.to_string()).or_default().push(ValueSet {
                id,
                value: value.to_string(),
                docs,
            });
        }
        Ok(Self { facets })
    }

    /// The documents having any of `values` of `facet`.
    fn any_of(&self, facet: &str, values: &[String], max_doc: DocId) -> DocBits {
        let mut bits = DocBits::empty(max_doc);
        for set in self.facets.get(facet).into_iter().flatten() {
            if values.contains(&set.value) {
                bits.union_with(&set.docs);
            }
        }
        bits
    }
}

/// The facet sets of the segments the index has now, keyed by segment.
#[derive(Default)]
pub struct FacetSetCache {
    segments: Mutex<HashMap<SegmentId, Arc<SegmentFacets>>>,
    ids: Mutex<ValueIds>,
}

impl FacetSetCache {
    fn segments(&self) -> std::sync::MutexGuard<'_, HashMap<SegmentId, Arc<SegmentFacets>>> {
        self.segments.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The sets of one segment, loading them on first use.
    pub fn get(&self, reader: &SegmentReader, field: Field) -> tantivy::Result<Arc<SegmentFacets>> {
        if let Some(found) = self.segments().get(&reader.segment_id()) {
            return Ok(found.clone());
        }
        // Loaded outside the lock: searches of other segments need not wait.
        let loaded = Arc::new(SegmentFacets::load(reader, field, &self.ids)?);
        Ok(self
            .segments()
            .entry(reader.segment_id())
            .or_insert(loaded)
            .clone())
    }

    /// Loads the sets of `searcher`'s segments and forgets those of segments
    /// it no longer has (merged away), so the first search after a commit
    /// does not pay for loading and memory follows the index.
    pub fn refresh(&self, searcher: &Searcher, field: Field) -> tantivy::Result<()> {
        let live: Vec<SegmentId> = searcher
            .segment_readers()
            .iter()
            .map(SegmentReader::segment_id)
            .collect();
        self.segments().retain(|id, _| live.contains(id));
        for reader in searcher.segment_readers() {
            self.get(reader, field)?;
        }
        Ok(())
    }

    /// Counts by value number as (facet, value code, count), per facet.
    pub fn named(&self, counts: &BTreeMap<u32, u64>) -> BTreeMap<String, Vec<(String, u64)>> {
        let ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        let mut named: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
        for (id, n) in counts {
            let (facet, value) = &ids.names[*id as usize];
            named
                .entry(facet.clone())
                .or_default()
                .push((value.clone(), *n));
        }
        named
    }
}

/// The facet filters of one search resolved in one segment.
#[derive(Clone)]
pub struct SegmentFilters {
    facets: Arc<SegmentFacets>,
    /// Per filtered facet, the documents having one of its chosen values.
    chosen: Arc<Vec<(String, DocBits)>>,
    /// The documents passing every filter; `None` without filters.
    all: Option<Arc<DocBits>>,
}

impl SegmentFilters {
    pub fn resolve(
        cache: &FacetSetCache,
        reader: &SegmentReader,
        field: Field,
        filters: &BTreeMap<String, Vec<String>>,
    ) -> tantivy::Result<Self> {
        let facets = cache.get(reader, field)?;
        let chosen: Vec<(String, DocBits)> = filters
            .iter()
            .filter(|(_, values)| !values.is_empty())
            .map(|(facet, values)| {
                (
                    facet.clone(),
                    facets.any_of(facet, values, reader.max_doc()),
                )
            })
            .collect();
        let all = chosen.split_first().map(|((_, first), rest)| {
            let mut all = first.clone();
            rest.iter().for_each(|(_, b)| all.intersect_with(b));
            Arc::new(all)
        });
        Ok(Self {
            facets,
            chosen: Arc::new(chosen),
            all,
        })
    }

    /// The matches restricted by every filter except the one of `except`.
    fn restrict(&self, matches: &DocBits, except: Option<&str>) -> DocBits {
        let mut out = matches.clone();
        for (facet, bits) in self.chosen.iter() {
            if Some(facet.as_str()) != except {
                out.intersect_with(bits);
            }
        }
        out
    }
}

/// Passes to `inner` only the documents that every facet filter lets through.
pub struct Filtered<'a, C> {
    pub inner: C,
    pub filters: &'a [SegmentFilters],
}

pub struct FilteredSegment<S> {
    inner: S,
    all: Option<Arc<DocBits>>,
}

impl<C: Collector> Collector for Filtered<'_, C> {
    type Fruit = C::Fruit;
    type Child = FilteredSegment<C::Child>;

    fn for_segment(
        &self,
        ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok(FilteredSegment {
            inner: self.inner.for_segment(ord, reader)?,
            all: self.filters[ord as usize].all.clone(),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.inner.requires_scoring()
    }

    fn merge_fruits(
        &self,
        fruits: Vec<<Self::Child as SegmentCollector>::Fruit>,
    ) -> tantivy::Result<Self::Fruit> {
        self.inner.merge_fruits(fruits)
    }
}

impl<S: SegmentCollector> SegmentCollector for FilteredSegment<S> {
    type Fruit = S::Fruit;

    fn collect(&mut self, doc: DocId, score: Score) {
        if self.all.as_ref().is_none_or(|all| all.contains(doc)) {
            self.inner.collect(doc, score);
        }
    }

    fn harvest(self) -> S::Fruit {
        self.inner.harvest()
    }
}

/// Counts the matches passing every filter, and per facet the matches of
/// each value under every filter but the facet's own.
pub struct FacetCounter<'a> {
    pub filters: &'a [SegmentFilters],
    pub facets: &'a [String],
}

/// (matches passing every filter, value number → count).
pub type Counts = (u64, BTreeMap<u32, u64>);

pub struct FacetCounterSegment {
    matches: DocBits,
    facets: Vec<String>,
    filters: SegmentFilters,
}

impl Collector for FacetCounter<'_> {
    type Fruit = Counts;
    type Child = FacetCounterSegment;

    fn for_segment(
        &self,
        ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok(FacetCounterSegment {
            matches: DocBits::empty(reader.max_doc()),
            facets: self.facets.to_vec(),
            filters: self.filters[ord as usize].clone(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Counts>) -> tantivy::Result<Counts> {
        let mut merged: Counts = (0, BTreeMap::new());
        for (total, values) in fruits {
            merged.0 += total;
            for (id, n) in values {
                *merged.1.entry(id).or_default() += n;
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for FacetCounterSegment {
    type Fruit = Counts;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.matches.insert(doc);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        docs.iter().for_each(|d| self.matches.insert(*d));
    }

    fn harvest(self) -> Counts {
        let filters = &self.filters;
        let passing = match &filters.all {
            Some(all) => {
                let mut m = self.matches.clone();
                m.intersect_with(all);
                m
            }
            None => self.matches.clone(),
        };
        let total = passing.len();
        let passing = Matches::of(&passing);
        let mut counts = BTreeMap::new();
        for facet in &self.facets {
            let filtered = filters.chosen.iter().any(|(f, _)| f == facet);
            // A filtered facet is counted without its own filter.
            let own;
            let matches = if filtered {
                own = Matches::of(&filters.restrict(&self.matches, Some(facet)));
                &own
            } else {
                &passing
            };
            for set in filters.facets.facets.get(facet).into_iter().flatten() {
                let n = matches.count_in(&set.docs);
                if n > 0 {
                    counts.insert(set.id, n);
                }
            }
        }
        (total, counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_count_what_both_hold() {
        let mut a = DocBits::empty(200);
        let mut b = DocBits::empty(200);
        for d in [0, 63, 64, 130, 199] {
            a.insert(d);
        }
        for d in [63, 130, 150] {
            b.insert(d);
        }
        assert_eq!(a.len(), 5);
        assert_eq!(Matches::of(&a).count_in(&b), 2);
        a.intersect_with(&b);
        assert!(a.contains(63) && a.contains(130) && !a.contains(0));
        assert!(!a.is_empty());
        a.union_with(&b);
        assert_eq!(a.len(), 3);
    }
}
