//! TinySegmenter: splits Japanese text into words with a compact learnt
//! model (no dictionary, nothing to download). A port of the algorithm of
//! TinySegmenter 0.2 by Taku Kudo.

mod model;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::ops::Range;

use model::*;

/// The model's keys are a few chars: a multiply-rotate hash is several times
/// faster than SipHash here and needs no protection against chosen inputs
/// (the tables are fixed; a query only looks up).
#[derive(Default, Clone, Copy)]
pub struct CharHasher(u64);

impl Hasher for CharHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u8(*b);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<CharHasher>>;

fn score<K: Eq + Hash>(table: &FastMap<K, i32>, key: &K) -> i32 {
    table.get(key).copied().unwrap_or(0)
}

/// The character class the model's features are written in.
fn class(c: char) -> char {
    match c as u32 {
        0x4E00 | 0x4E8C | 0x4E09 | 0x56DB | 0x4E94 | 0x516D | 0x4E03 | 0x516B | 0x4E5D | 0x5341 => {
            'M'
        }
        0x767E | 0x5343 | 0x4E07 | 0x5104 | 0x5146 => 'M',
        0x4E00..=0x9FA0 | 0x3005 | 0x3006 | 0x30F5 | 0x30F6 => 'H',
        0x3041..=0x3093 => 'I',
        0x30A1..=0x30F4 | 0x30FC | 0xFF71..=0xFF9D | 0xFF9E | 0xFF70 => 'K',
        0x61..=0x7A | 0x41..=0x5A | 0xFF41..=0xFF5A | 0xFF21..=0xFF3A => 'A',
        0x30..=0x3A | 0xFF10..=0xFF19 => 'N',
        _ => 'O',
    }
}

/// The byte ranges of the words of `text`, in order; together they cover it.
pub fn segment(text: &str) -> Vec<Range<usize>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    if chars.is_empty() {
        return Vec::new();
    }
    let w: Vec<char> = [B3, B2, B1]
        .into_iter()
        .chain(chars.iter().map(|(_, c)| *c))
        .chain([E1, E2, E3])
        .collect();
    let c: Vec<char> = ['O'; 3]
        .into_iter()
        .chain(chars.iter().map(|(_, ch)| class(*ch)))
        .chain(['O'; 3])
        .collect();
    let mut p = ['U'; 3];
    let mut words = Vec::new();
    let mut start = 0;
    for i in 4..w.len() - 3 {
        let (w, c) = (&w[i - 3..i + 3], &c[i - 3..i + 3]);
        let s = BIAS
            + score(&UP1, &p[0])
            + score(&UP2, &p[1])
            + score(&UP3, &p[2])
            + score(&BP1, &(p[0], p[1]))
            + score(&BP2, &(p[1], p[2]))
            + score(&UW1, &w[0])
            + score(&UW2, &w[1])
            + score(&UW3, &w[2])
            + score(&UW4, &w[3])
            + score(&UW5, &w[4])
            + score(&UW6, &w[5])
            + score(&BW1, &(w[1], w[2]))
            + score(&BW2, &(w[2], w[3]))
            + score(&BW3, &(w[3], w[4]))
            + score(&TW1, &(w[0], w[1], w[2]))
            + score(&TW2, &(w[1], w[2], w[3]))
            + score(&TW3, &(w[2], w[3], w[4]))
            + score(&TW4, &(w[3], w[4], w[5]))
            + score(&UC1, &c[0])
            + score(&UC2, &c[1])
            + score(&UC3, &c[2])
            + score(&UC4, &c[3])
            + score(&UC5, &c[4])
            + score(&UC6, &c[5])
            + score(&BC1, &(c[1], c[2]))
            + score(&BC2, &(c[2], c[3]))
            + score(&BC3, &(c[3], c[4]))
            + score(&TC1, &(c[0], c[1], c[2]))
            + score(&TC2, &(c[1], c[2], c[3]))
            + score(&TC3, &(c[2], c[3], c[4]))
            + score(&TC4, &(c[3], c[4], c[5]))
            + score(&UQ1, &(p[0], c[0]))
            + score(&UQ2, &(p[1], c[1]))
            + score(&UQ3, &(p[2], c[2]))
            + score(&BQ1, &(p[1], c[1], c[2]))
            + score(&BQ2, &(p[1], c[2], c[3]))
            + score(&BQ3, &(p[2], c[1], c[2]))
            + score(&BQ4, &(p[2], c[2], c[3]))
            + score(&TQ1, &(p[1], c[0], c[1], c[2]))
            + score(&TQ2, &(p[1], c[1], c[2], c[3]))
            + score(&TQ3, &(p[2], c[0], c[1], c[2]))
            + score(&TQ4, &(p[2], c[1], c[2], c[3]));
        p = [p[1], p[2], if s < 0 { 'O' } else { 'B' }];
        if s > 0 {
            // A word boundary before the character at w index i (text index i - 3).
            let at = chars[i - 3].0;
            words.push(start..at);
            start = at;
        }
    }
    words.push(start..text.len());
    words
}

#[cfg(test)]
mod tests {
    use super::segment;

    fn words(text: &str) -> Vec<&str> {
        segment(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn splits_a_sentence_into_words() {
        assert_eq!(
            words("私の名前は中野です"),
            vec!["私", "の", "名前", "は", "中野", "です"]
        );
        assert!(words("").is_empty());
        assert_eq!(words("a"), vec!["a"]);
    }
}
