//! Disease synonyms: がん / 癌 / ガン, 筋萎縮性側索硬化症 / ALS, 乳がん / breast cancer.
//!
//! Each line of the list is one group of variants. A text that holds any
//! variant is indexed with the group's id, and a query naming any variant
//! searches that id, so every spelling finds every other, across scripts.

use aho_corasick::{AhoCorasick, MatchKind};

use crate::normalize::fold_kana;

pub struct Synonyms {
    /// Every occurrence, nested ones included: 乳がん is also がん.
    matcher: AhoCorasick,
    /// The longest occurrence at each place: a query for 乳がん means 乳がん, not all がん.
    longest: AhoCorasick,
    /// For each pattern: its group, and whether it is ASCII (then it must stand as a whole word).
    patterns: Vec<(usize, bool)>,
    groups: usize,
}

impl Synonyms {
    /// One group per line, variants separated by commas; `#` starts a comment.
    pub fn parse(list: &str) -> Synonyms {
        let mut variants = Vec::new();
        let mut patterns = Vec::new();
        let mut groups = 0;
        for line in list.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            for variant in line
                .split(',')
                .map(fold_kana)
                .filter(|v| !v.trim().is_empty())
            {
                let variant = variant.trim().to_string();
                patterns.push((groups, variant.is_ascii()));
                variants.push(variant);
            }
            groups += 1;
        }
        let build = |kind| {
            AhoCorasick::builder()
                .match_kind(kind)
                .build(&variants)
                .expect("synonym patterns build")
        };
        Synonyms {
            matcher: build(MatchKind::Standard),
            longest: build(MatchKind::LeftmostLongest),
            patterns,
            groups,
        }
    }

    /// Whether the whole text is one variant (`breast cancer`, not `breast cancer screening`).
    pub fn is_variant(&self, text: &str) -> bool {
        let folded = fold_kana(text);
        let folded = folded.trim();
        self.matcher
            .find_overlapping_iter(folded)
            .any(|m| m.start() == 0 && m.end() == folded.len())
    }

    pub fn group_count(&self) -> usize {
        self.groups
    }

    /// The groups of every variant in a document's text, as index terms (`syn12`).
    pub fn groups_in(&self, text: &str) -> Vec<String> {
        self.groups(&self.matcher, text, true)
    }

    /// The groups a query names: the longest variant at each place only.
    pub fn query_groups(&self, text: &str) -> Vec<String> {
        self.groups(&self.longest, text, false)
    }

    fn groups(&self, matcher: &AhoCorasick, text: &str, overlapping: bool) -> Vec<String> {
        let folded = fold_kana(text);
        let bytes = folded.as_bytes();
        let word_char = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
        let matches: Vec<aho_corasick::Match> = if overlapping {
            matcher.find_overlapping_iter(&folded).collect()
        } else {
            matcher.find_iter(&folded).collect()
        };
        let mut found: Vec<usize> = matches
            .into_iter()
            .filter(|m| {
                let (ascii, start, end) =
                    (self.patterns[m.pattern().as_usize()].1, m.start(), m.end());
                // "als" must not match inside "totals"; Japanese has no spaces to wait for.
                !ascii
                    || (!word_char(start.checked_sub(1).and_then(|i| bytes.get(i)))
                        && !word_char(bytes.get(end)))
            })
            .map(|m| self.patterns[m.pattern().as_usize()].0)
            .collect();
        found.sort_unstable();
        found.dedup();
        found.into_iter().map(|g| format!("syn{g}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "# disease names\nがん, 癌, cancer\n筋萎縮性側索硬化症, ALS, amyotrophic lateral sclerosis\n乳がん, 乳癌, breast cancer\n";

    #[test]
    fn variants_of_one_group_meet() {
        let s = Synonyms::parse(LIST);
        assert_eq!(s.group_count(), 3);
        assert_eq!(s.groups_in("全国乳癌登録"), vec!["syn0", "syn2"]);
        assert_eq!(s.groups_in("Breast Cancer Registry"), vec!["syn0", "syn2"]);
        assert_eq!(s.groups_in("ｶﾞﾝ"), vec!["syn0"]);
        assert_eq!(s.groups_in("ＡＬＳ患者"), vec!["syn1"]);
        assert!(s.groups_in("totals and falsehoods").is_empty());
        assert_eq!(s.query_groups("乳癌登録"), vec!["syn2"]);
        assert!(s.is_variant("Breast  cancer"));
        assert!(!s.is_variant("breast cancer screening"));
    }
}
