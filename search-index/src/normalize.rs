//! Normalisation shared by indexing and querying, so both sides compare the same forms.

use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

/// Folds the differences a reader does not see as differences: full-width and
/// half-width forms (NFKC: `ＡＬＳ` and `ｶﾞﾝ` become `ALS` and `ガン`), letter case,
/// and runs of white space (including the ideographic space U+3000).
pub fn fold(text: &str) -> String {
    fold_mapping(text, |c| c)
}

/// [`fold`], and katakana read as hiragana: がん, ガン and ｶﾞﾝ become one form.
pub fn fold_kana(text: &str) -> String {
    fold_mapping(text, katakana_to_hiragana)
}

/// Folding runs for every token of every highlighted text, so it makes one
/// string in one pass and skips the work most text does not need.
fn fold_mapping(text: &str, map: impl Fn(char) -> char) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    let mut push = |c: char| {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(map(c));
        }
    };
    let mut fold_char = |c: char| {
        if c.is_ascii() {
            push(c.to_ascii_lowercase());
        } else if is_cjk(c) {
            // Kana and ideographs have no case.
            push(c);
        } else {
            c.to_lowercase().for_each(&mut push);
        }
    };
    // Most text is already in NFKC: the quick check spares composing it again.
    match is_nfkc_quick(text.chars()) {
        IsNormalized::Yes => text.chars().for_each(&mut fold_char),
        _ => text.nfkc().for_each(&mut fold_char),
    }
    out
}

fn katakana_to_hiragana(c: char) -> char {
    match c {
        // ァ..ヶ map onto ぁ..ゖ, 0x60 code points lower.
        '\u{30A1}'..='\u{30F6}' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
        _ => c,
    }
}

/// One search term: folded, with a word-final long-vowel mark dropped from
/// longer words (センター and センタ are spelled both ways).
pub fn fold_term(token: &str) -> String {
    let mut term = fold_kana(token);
    if term.chars().count() > 2 && term.ends_with('ー') {
        term.pop();
    }
    term
}

/// Kana and ideographs: the scripts written without spaces between words.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'   // hiragana, katakana
        | '\u{3400}'..='\u{4DBF}' // CJK extension A
        | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
        | '\u{F900}'..='\u{FAFF}' // compatibility ideographs
        | '\u{3005}'              // 々
        | '\u{FF66}'..='\u{FF9F}' // half-width katakana
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_width_case_and_spaces() {
        assert_eq!(fold("ＡＬＳ　Registry"), "als registry");
        assert_eq!(fold("ｶﾞﾝ"), "ガン");
        assert_eq!(fold("  乳がん\t\n 登録  "), "乳がん 登録");
        assert_eq!(fold("Ｃ５０．９"), "c50.9");
    }

    #[test]
    fn kana_variants_meet() {
        assert_eq!(fold_kana("ガン"), "がん");
        assert_eq!(fold_kana("ｶﾞﾝ"), "がん");
        assert_eq!(fold_term("センター"), fold_term("センタ"));
        assert_eq!(fold_term("ー"), "ー");
    }
}
