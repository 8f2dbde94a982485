//! Normalisation shared by indexing and querying, so both sides compare the same forms.

use unicode_normalization::UnicodeNormalization;

/// Folds the differences a reader does not see as differences: full-width and
/// half-width forms (NFKC: `ＡＬＳ` and `ｶﾞﾝ` become `ALS` and `ガン`), letter case,
/// and runs of white space (including the ideographic space U+3000).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.nfkc().flat_map(char::to_lowercase) {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folds_width_case_and_spaces() {
        assert_eq!(fold("ＡＬＳ　Registry"), "als registry");
        assert_eq!(fold("ｶﾞﾝ"), "ガン");
        assert_eq!(fold("  乳がん\t\n 登録  "), "乳がん 登録");
        assert_eq!(fold("Ｃ５０．９"), "c50.9");
    }
}
