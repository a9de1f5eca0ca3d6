//! Revised Romanization back to Hangul, for Latin words that are Korean typed on a Latin
//! keyboard (`cheongso` → 청소, `jubang` → 주방).
//!
//! Romanisation loses syllable boundaries (`gangaji` reads as 강아지 or 간가지), so a word gives
//! its few most plausible spellings and search keeps those the index knows. Double letters
//! typed for tense consonants (`gg`, `dd`, `bb`) are accepted beside RR's `kk`, `tt`, `pp`.

/// Initial consonants, longest spellings first within a shared prefix, as jamo indices.
const INITIALS: &[(&str, u32)] = &[
    ("kk", 1),
    ("gg", 1),
    ("g", 0),
    ("n", 2),
    ("tt", 4),
    ("dd", 4),
    ("d", 3),
    ("r", 5),
    ("l", 5),
    ("m", 6),
    ("pp", 8),
    ("bb", 8),
    ("b", 7),
    ("ss", 10),
    ("s", 9),
    ("jj", 13),
    ("j", 12),
    ("ch", 14),
    ("k", 15),
    ("t", 16),
    ("p", 17),
    ("h", 18),
];

/// Vowels, as jamo indices.
const VOWELS: &[(&str, u32)] = &[
    ("a", 0),
    ("ae", 1),
    ("ya", 2),
    ("yae", 3),
    ("eo", 4),
    ("e", 5),
    ("yeo", 6),
    ("ye", 7),
    ("o", 8),
    ("wa", 9),
    ("wae", 10),
    ("oe", 11),
    ("yo", 12),
    ("u", 13),
    ("wo", 14),
    ("we", 15),
    ("wi", 16),
    ("yu", 17),
    ("eu", 18),
    ("ui", 19),
    ("i", 20),
];

/// Final consonants as RR writes them (by sound), as jamo indices.
const FINALS: &[(&str, u32)] = &[
    ("k", 1),
    ("g", 1),
    ("n", 4),
    ("t", 7),
    ("d", 7),
    ("l", 8),
    ("m", 16),
    ("p", 17),
    ("b", 17),
    ("ng", 21),
];

/// The silent initial ㅇ.
const SILENT: u32 = 11;
/// Longest word tried: romanised job words are short, and parsing grows with length.
const MAX_LETTERS: usize = 24;
/// Spellings kept per word.
const MAX_SPELLINGS: usize = 4;

fn syllable(initial: u32, vowel: u32, last: u32) -> char {
    char::from_u32(0xAC00 + (initial * 21 + vowel) * 28 + last).unwrap_or('?')
}

/// Every way to read `rest` as syllables, with a cost: one per syllable, and a little more for
/// a syllable without a consonant inside the word (Korean words rarely have them).
fn readings(rest: &str, first: bool, out: &mut Vec<(f32, String)>, prefix: &mut String, cost: f32) {
    if out.len() >= 64 {
        return;
    }
    if rest.is_empty() {
        if !prefix.is_empty() {
            out.push((cost, prefix.clone()));
        }
        return;
    }
    let initials = INITIALS
        .iter()
        .filter(|(spelling, _)| rest.starts_with(spelling))
        .map(|&(spelling, index)| (spelling.len(), index, 0.0))
        .chain(std::iter::once((0, SILENT, if first { 0.0 } else { 0.6 })));
    for (initial_len, initial, silent_cost) in initials {
        let after_initial = &rest[initial_len..];
        for &(vowel_spelling, vowel) in VOWELS.iter().filter(|(v, _)| after_initial.starts_with(v)) {
            let after_vowel = &after_initial[vowel_spelling.len()..];
            let finals = FINALS
                .iter()
                .filter(|(f, _)| after_vowel.starts_with(f))
                .map(|&(f, index)| (f.len(), index))
                .chain(std::iter::once((0, 0)));
            for (final_len, last) in finals {
                let length = prefix.len();
                prefix.push(syllable(initial, vowel, last));
                readings(&after_vowel[final_len..], false, out, prefix, cost + 1.0 + silent_cost);
                prefix.truncate(length);
            }
        }
    }
}

/// The most plausible Hangul spellings of a romanised word, best first; none when `word` is not
/// made of romanised syllables (most English words are not: `staff`, `cafe`).
pub fn to_hangul(word: &str) -> Vec<String> {
    let letters: String = word.chars().filter(|c| *c != '-').collect();
    if letters.is_empty() || letters.len() > MAX_LETTERS || !letters.chars().all(|c| c.is_ascii_lowercase()) {
        return Vec::new();
    }
    let mut found = Vec::new();
    readings(&letters, true, &mut found, &mut String::new(), 0.0);
    found.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut spellings: Vec<String> = Vec::new();
    for (_, spelling) in found {
        if !spellings.contains(&spelling) {
            spellings.push(spelling);
        }
        if spellings.len() == MAX_SPELLINGS {
            break;
        }
    }
    spellings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn romanised_words_come_back_as_hangul() {
        for (typed, meant) in [
            ("cheongso", "청소"),
            ("jubang", "주방"),
            ("pyeonuijeom", "편의점"),
            ("gangaji", "강아지"),
            ("haeundae", "해운대"),
            ("isa", "이사"),
            ("changgo", "창고"),
            ("sanghacha", "상하차"),
        ] {
            let spellings = to_hangul(typed);
            assert!(spellings.contains(&meant.to_owned()), "{typed}: {spellings:?}");
        }
    }

    #[test]
    fn english_words_and_other_text_give_nothing() {
        for word in ["staff", "cafe", "coffee", "help", "", "gs25", "카페"] {
            assert!(to_hangul(word).is_empty(), "{word}: {:?}", to_hangul(word));
        }
    }
}
