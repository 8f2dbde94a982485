//! Turning what a person typed into a tantivy query: words, "quoted phrases",
//! -exclusions, ICD-10 codes and synonyms, across the word, bigram and
//! synonym fields.

use tantivy::query::{BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::Term;

use crate::analysis::{bigrams, terms, words};
use crate::normalize::fold_kana;
use crate::schema::Fields;
use crate::synonyms::Synonyms;

/// One part of a query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub text: String,
    pub phrase: bool,
    pub excluded: bool,
}

/// Splits on white space, keeps "quoted phrases" whole, reads a leading `-` as exclusion.
pub fn parse(q: &str) -> Vec<Clause> {
    let mut clauses = Vec::new();
    let mut rest = q.trim();
    while !rest.is_empty() {
        let (excluded, body) = match rest.strip_prefix('-') {
            Some(b) if !b.is_empty() && !b.starts_with(char::is_whitespace) => (true, b),
            _ => (false, rest),
        };
        let (text, phrase, after) = if let Some(quoted) = body.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], true, &quoted[end + 1..]),
                None => (quoted, true, ""),
            }
        } else {
            let end = body.find(char::is_whitespace).unwrap_or(body.len());
            (&body[..end], false, &body[end..])
        };
        if !text.trim().is_empty() {
            clauses.push(Clause {
                text: text.trim().to_string(),
                phrase,
                excluded,
            });
        }
        rest = after.trim_start();
    }
    clauses
}

/// Joins runs of plain words that together spell a synonym variant
/// (`breast cancer`), so the phrase is searched as one name.
fn merge_synonym_phrases(clauses: Vec<Clause>, synonyms: &Synonyms) -> Vec<Clause> {
    let mut out: Vec<Clause> = Vec::new();
    let mut i = 0;
    while i < clauses.len() {
        let mut taken = 1;
        if !clauses[i].phrase && !clauses[i].excluded {
            for len in (2..=4).rev() {
                let run = &clauses[i..(i + len).min(clauses.len())];
                if run.len() == len && run.iter().all(|c| !c.phrase && !c.excluded) {
                    let joined = run
                        .iter()
                        .map(|c| c.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" ");
                    if synonyms.is_variant(&joined) {
                        out.push(Clause {
                            text: joined,
                            phrase: true,
                            excluded: false,
                        });
                        taken = len;
                        break;
                    }
                }
            }
        }
        if taken == 1 {
            out.push(clauses[i].clone());
        }
        i += taken;
    }
    out
}

/// The text part of a search, or `None` when nothing searchable was typed.
pub fn build(q: &str, f: &Fields, synonyms: &Synonyms) -> Option<Box<dyn Query>> {
    let mut words = words();
    let mut bigrams = bigrams();
    let mut parts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for clause in merge_synonym_phrases(parse(q), synonyms) {
        let Some(query) = clause_query(&clause, f, synonyms, &mut words, &mut bigrams) else {
            continue;
        };
        let occur = if clause.excluded {
            Occur::MustNot
        } else {
            Occur::Must
        };
        parts.push((occur, query));
    }
    if parts.iter().all(|(o, _)| *o == Occur::MustNot) {
        if parts.is_empty() {
            return None;
        }
        // Only exclusions: everything except them.
        parts.push((Occur::Must, Box::new(tantivy::query::AllQuery)));
    }
    Some(Box::new(BooleanQuery::new(parts)))
}

fn clause_query(
    clause: &Clause,
    f: &Fields,
    synonyms: &Synonyms,
    words: &mut TextAnalyzer,
    bigrams: &mut TextAnalyzer,
) -> Option<Box<dyn Query>> {
    let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut add = |query: Option<Box<dyn Query>>, boost: f32| {
        if let Some(q) = query {
            any.push((Occur::Should, Box::new(BoostQuery::new(q, boost))));
        }
    };
    let word_terms = terms(words, &clause.text);
    add(sequence(f.name, &word_terms), 3.0);
    add(sequence(f.body, &word_terms), 1.5);
    add(sequence(f.bigrams, &terms(bigrams, &clause.text)), 1.0);
    for group in synonyms.query_groups(&clause.text) {
        add(Some(term_query(f.synonyms, &group)), 2.0);
    }
    if looks_like_icd10(&clause.text) {
        add(
            Some(term_query(
                f.icd10,
                &fold_kana(&clause.text).to_ascii_uppercase(),
            )),
            4.0,
        );
    }
    (!any.is_empty()).then(|| Box::new(BooleanQuery::new(any)) as Box<dyn Query>)
}

/// One term, or a phrase of consecutive terms.
fn sequence(field: Field, terms: &[String]) -> Option<Box<dyn Query>> {
    match terms {
        [] => None,
        [one] => Some(term_query(field, one)),
        many => Some(Box::new(PhraseQuery::new(
            many.iter()
                .map(|t| Term::from_field_text(field, t))
                .collect(),
        ))),
    }
}

fn term_query(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    ))
}

/// A letter and at least one digit, optionally more: `C50`, `c50.9`, `G1`.
fn looks_like_icd10(text: &str) -> bool {
    let folded = fold_kana(text);
    let b = folded.as_bytes();
    b.len() >= 2
        && b.len() <= 6
        && b[0].is_ascii_alphabetic()
        && b[1].is_ascii_digit()
        && b[2..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_words_phrases_and_exclusions() {
        let c = parse(r#"  乳がん "breast cancer" -male  c50 "#);
        let texts: Vec<(&str, bool, bool)> = c
            .iter()
            .map(|c| (c.text.as_str(), c.phrase, c.excluded))
            .collect();
        assert_eq!(
            texts,
            vec![
                ("乳がん", false, false),
                ("breast cancer", true, false),
                ("male", false, true),
                ("c50", false, false)
            ]
        );
        assert_eq!(parse(r#""unclosed phrase"#)[0].text, "unclosed phrase");
        assert_eq!(parse("- alone")[0].text, "-");
    }

    #[test]
    fn icd10_shapes() {
        assert!(looks_like_icd10("C50"));
        assert!(looks_like_icd10("ｃ５０．９"));
        assert!(!looks_like_icd10("ALS"));
        assert!(!looks_like_icd10("C"));
    }
}
