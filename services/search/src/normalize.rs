//! Phone-typed text made regular before it is understood: lowercase, no runs of one character,
//! syllables typed apart put back together, common misspellings corrected.

use crate::dictionary::Dictionary;
use crate::jamo;

/// A character typed this many times in a row counts once (`ㅋㅋㅋ`, `알바~~~`).
const RUN: usize = 3;

/// Runs of [`RUN`] or more of one character, cut to one; digits stay (`15000원`).
fn collapse_runs(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|c| **c == chars[i]).count();
        let kept = if run >= RUN && !chars[i].is_ascii_digit() {
            1
        } else {
            run
        };
        out.extend(std::iter::repeat_n(chars[i], kept));
        i += run;
    }
    out
}

/// A word that is one Hangul syllable.
fn is_syllable(word: &str) -> bool {
    jamo::is_syllables(word) && word.chars().count() == 1
}

/// Words with runs of two or more one-syllable words joined: `편 의 점` → `편의점`. A word of one
/// syllable next to longer ones is left alone (`밤 알바`).
fn join_spaced_syllables(words: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let run = words[i..].iter().take_while(|w| is_syllable(w)).count();
        if run >= 2 {
            out.push(words[i..i + run].concat());
            i += run;
        } else {
            out.push(words[i].to_owned());
            i += 1;
        }
    }
    out
}

/// The standard spelling of each known misspelling inside `word`.
fn correct(word: &str, dictionary: &Dictionary) -> String {
    let mut word = word.to_owned();
    for (typed, right) in &dictionary.misspellings {
        if word.contains(typed.as_str()) {
            word = word.replace(typed.as_str(), right);
        }
    }
    word
}

/// The words of `text`, normalised.
pub fn normalize(text: &str, dictionary: &Dictionary) -> Vec<String> {
    let text = collapse_runs(&text.to_lowercase());
    let words: Vec<&str> = text.split_whitespace().collect();
    join_spaced_syllables(&words)
        .iter()
        .map(|word| correct(word, dictionary))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(text: &str) -> String {
        normalize(text, &Dictionary::built_in()).join(" ")
    }

    #[test]
    fn spaced_syllables_join_and_runs_collapse() {
        assert_eq!(normalized("편 의 점 알바"), "편의점 알바");
        assert_eq!(normalized("밤 알바"), "밤 알바");
        assert_eq!(normalized("카페 알바ㅋㅋㅋ!!!"), "카페 알바ㅋ!");
        assert_eq!(normalized("Cafe  STAFF"), "cafe staff");
        assert_eq!(normalized("시급 15000원"), "시급 15000원");
    }

    #[test]
    fn misspellings_are_corrected_inside_words() {
        assert_eq!(normalized("빠리스타를 구해요"), "바리스타를 구해요");
        assert_eq!(normalized("케익 웨이타"), "케이크 웨이터");
        assert_eq!(normalized("아르바이뜨"), "아르바이트");
    }
}
