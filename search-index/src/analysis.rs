//! The analysers: Japanese words (TinySegmenter, whose model is compiled in),
//! character bigrams for what segmentation misses, English stems.

use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer};

use std::sync::Arc;

use crate::normalize::{fold_kana, fold_term, is_cjk};
use crate::segmenter;

/// Names the analysers are registered under.
pub const WORDS: &str = "cin_words";
pub const BIGRAMS: &str = "cin_bigrams";

/// Words: Japanese segmented by TinySegmenter, everything folded
/// (width, case, katakana as hiragana), English words stemmed.
pub fn words() -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer::default()).build()
}

/// [`words`] for highlighting `terms` (terms of [`words`]): the same words
/// where one of the terms can be, nothing elsewhere. Highlighting analyses
/// whole stored texts for every hit shown, and segmenting Japanese is the
/// dearest part of a search; a run of Japanese is segmented only when its
/// folded form contains a Japanese term, other text only when a term is
/// not Japanese.
pub fn highlight_words(terms: &[String]) -> TextAnalyzer {
    let (japanese, other): (Vec<String>, Vec<String>) =
        terms.iter().cloned().partition(|t| t.chars().any(is_cjk));
    TextAnalyzer::builder(WordTokenizer {
        sought: Some(Arc::new(Sought {
            japanese,
            other: !other.is_empty(),
        })),
        ..WordTokenizer::default()
    })
    .build()
}

/// Overlapping character pairs of each run of kana or ideographs, folded.
/// Finds 側索硬化 inside 筋萎縮性側索硬化症 where segmentation splits differently.
pub fn bigrams() -> TextAnalyzer {
    TextAnalyzer::builder(BigramTokenizer).build()
}

/// Tokens produced up front; the texts are short.
pub struct VecTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl VecTokenStream {
    fn new(tokens: Vec<Token>) -> Self {
        Self { tokens, index: 0 }
    }
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        self.index += 1;
        self.index <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.index - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index - 1]
    }
}

fn token(text: String, from: usize, to: usize, position: usize) -> Token {
    Token {
        offset_from: from,
        offset_to: to,
        position,
        text,
        position_length: 1,
    }
}

#[derive(Clone)]
pub struct WordTokenizer {
    stemmer: frostem::Stemmer,
    /// When highlighting, what is looked for; `None` when indexing or querying.
    sought: Option<Arc<Sought>>,
}

struct Sought {
    japanese: Vec<String>,
    other: bool,
}

impl Sought {
    fn may_hold_one(&self, run: &str, japanese: bool) -> bool {
        if japanese {
            let folded = fold_kana(run);
            self.japanese.iter().any(|t| folded.contains(t.as_str()))
        } else {
            self.other
        }
    }
}

impl Default for WordTokenizer {
    fn default() -> Self {
        Self {
            stemmer: frostem::Stemmer::new(frostem::Algorithm::English),
            sought: None,
        }
    }
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens = Vec::new();
        // Japanese runs go to the segmenter; other text splits at spaces and
        // punctuation, keeping codes such as C50.9 whole. Offsets stay those
        // of the original text, for highlighting.
        let mut pieces = Vec::new();
        // Only the other text is stemmed: the English stemmer has nothing to
        // do with Japanese, and skipping it saves a third of the analysis.
        for run in runs(text) {
            let part = &text[run.clone()];
            let shift = |r: std::ops::Range<usize>| run.start + r.start..run.start + r.end;
            let japanese = part.starts_with(is_cjk);
            if self
                .sought
                .as_ref()
                .is_some_and(|s| !s.may_hold_one(part, japanese))
            {
                continue;
            }
            if japanese {
                pieces.extend(
                    segmenter::segment(part)
                        .into_iter()
                        .map(|r| (shift(r), false)),
                );
            } else {
                pieces.extend(word_ranges(part).into_iter().map(|r| (shift(r), true)));
            }
        }
        for (range, stem) in pieces {
            let term = fold_term(&text[range.clone()]);
            let term = term.trim_matches(|c: char| !c.is_alphanumeric());
            if !term.is_empty() {
                let term = if stem {
                    self.stemmer.stem(term).into_owned()
                } else {
                    term.to_string()
                };
                let position = tokens.len();
                tokens.push(token(term, range.start, range.end, position));
            }
        }
        VecTokenStream::new(tokens)
    }
}

/// Byte ranges of the words of non-Japanese text: letters and digits, with
/// dots inside (C50.9) and full-width forms included.
fn word_ranges(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        let inside = c.is_alphanumeric() || (start.is_some() && matches!(c, '.' | '\u{FF0E}'));
        match (inside, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..text.len());
    }
    out
}

/// Byte ranges of the maximal runs of Japanese and of other text.
fn runs(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut current: Option<bool> = None;
    for (i, c) in text.char_indices() {
        let cjk = is_cjk(c) || (current == Some(true) && c == 'ー');
        if current.is_some_and(|k| k != cjk) {
            out.push(start..i);
            start = i;
        }
        current = Some(cjk);
    }
    if start < text.len() {
        out.push(start..text.len());
    }
    out
}

#[derive(Clone)]
pub struct BigramTokenizer;

impl Tokenizer for BigramTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let folded: Vec<char> = fold_kana(text).chars().collect();
        let mut tokens = Vec::new();
        // Positions skip one between runs, so a phrase cannot span two runs.
        let mut position = 0;
        let mut i = 0;
        while i < folded.len() {
            if !is_cjk(folded[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < folded.len() && is_cjk(folded[i]) {
                i += 1;
            }
            let run = &folded[start..i];
            if run.len() == 1 {
                tokens.push(token(run[0].to_string(), start, i, position));
                position += 1;
            }
            for (k, pair) in run.windows(2).enumerate() {
                tokens.push(token(
                    pair.iter().collect(),
                    start + k,
                    start + k + 2,
                    position,
                ));
                position += 1;
            }
            position += 1;
        }
        VecTokenStream::new(tokens)
    }
}

/// The terms an analyser makes of a text.
pub fn terms(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_is_segmented_and_folded() {
        let t = terms(&mut words(), "筋萎縮性側索硬化症の患者レジストリ");
        assert!(t.contains(&"れじすとり".to_string()), "{t:?}");
        let a = terms(&mut words(), "ガン");
        let b = terms(&mut words(), "ｶﾞﾝ");
        assert_eq!(a, b);
        assert_eq!(a, vec!["がん".to_string()]);
    }

    #[test]
    fn english_is_stemmed_and_split_on_punctuation() {
        let t = terms(&mut words(), "Registries (studies), REGISTRY; C50.9");
        assert_eq!(t, vec!["registri", "studi", "registri", "c50.9"]);
    }

    #[test]
    fn highlighting_analyses_only_what_can_match() {
        let text = "肺癌の登録。乳癌の登録 Breast cancer registry";
        let all = terms(&mut words(), text);
        let japanese = terms(&mut highlight_words(&["乳癌".into()]), text);
        assert!(all.contains(&"肺癌".to_string()) && all.contains(&"registri".to_string()));
        assert!(japanese.contains(&"乳癌".to_string()), "{japanese:?}");
        assert!(
            !japanese.contains(&"肺癌".to_string()) && !japanese.contains(&"registri".to_string())
        );
        let english = terms(&mut highlight_words(&["registri".into()]), text);
        assert_eq!(english, vec!["breast", "cancer", "registri"]);
    }

    #[test]
    fn bigrams_cover_kana_and_kanji_runs_only() {
        let t = terms(&mut bigrams(), "東京都 ALS 癌");
        assert_eq!(t, vec!["東京", "京都", "癌"]);
    }
}
