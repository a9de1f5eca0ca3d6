//! Korean analysis like Elasticsearch's Nori analyzer, on Lindera with ko-dic.
//!
//! * Each whitespace-separated word (어절) is segmented on its own: Lindera 6.2 keeps spaces in
//!   its lattice and then cuts spaced text differently from MeCab-ko ("서울특별시 마포구" →
//!   서울 + 특별시), while word by word it agrees with MeCab-ko.
//! * Compounds, inflected forms and pre-analysed words are indexed whole and split into their
//!   morphemes, at the whole token's position onwards (Nori's `mixed` decompound mode).
//! * Tokens whose part of speech is in Nori's default stop tags are removed, as is punctuation.
//! * Latin text is lowercased.

use std::borrow::Cow;
use std::sync::OnceLock;

use lindera::dictionary::load_dictionary;
use lindera::mode::Mode;
use lindera::segmenter::Segmenter;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Nori's default stop tags, in ko-dic's tag names: endings (E*), interjections, particles
/// (J*), adverbs, determiners, symbols, affixes, unknown.
fn is_stop_tag(tag: &str) -> bool {
    tag.starts_with('E')
        || tag.starts_with('J')
        || matches!(
            tag,
            "IC" | "MAG"
                | "MAJ"
                | "MM"
                | "SP"
                | "SSC"
                | "SSO"
                | "SC"
                | "SE"
                | "XPN"
                | "XSA"
                | "XSN"
                | "XSV"
                | "UNA"
                | "NA"
                | "VSV"
        )
}

/// Punctuation, which Nori discards as well.
fn is_punctuation(tag: &str) -> bool {
    matches!(tag, "SF" | "SE" | "SSO" | "SSC" | "SC" | "SY")
}

fn dropped(tag: &str) -> bool {
    is_stop_tag(tag) || is_punctuation(tag)
}

/// The segmenter over the embedded ko-dic, loaded once per process.
fn segmenter() -> &'static Segmenter {
    static SEGMENTER: OnceLock<Segmenter> = OnceLock::new();
    SEGMENTER.get_or_init(|| {
        // The dictionary is compiled into the binary: failing to load it is a build defect.
        let mut dictionary = load_dictionary("embedded://ko-dic").expect("the embedded ko-dic dictionary loads");
        // ko-dic ships a penalty for words after a space. Words are segmented one at a time
        // here, so it never applies, and building its table scans the whole dictionary: most
        // of start-up time and tens of MB of memory.
        let mut metadata = (*dictionary.metadata).clone();
        metadata.space_penalty = None;
        dictionary.metadata = std::sync::Arc::new(metadata);
        Segmenter::new(Mode::Normal, dictionary, None)
    })
}

/// Loads the dictionary now rather than on the first query.
pub fn warm_up() {
    segmenter();
}

/// One analysed term with the byte range of the text it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub text: String,
    pub position: usize,
    pub start: usize,
    pub end: usize,
    /// The (leading) part-of-speech tag, e.g. `NNG`.
    pub tag: String,
    /// A morpheme of a split compound or inflected form, rather than a word as written.
    pub part: bool,
}

impl Term {
    /// A noun or a foreign word as written: what people look for and what suggestions offer.
    pub fn is_word(&self) -> bool {
        !self.part && (self.tag.starts_with('N') || self.tag == "SL")
    }
}

/// The terms of `text`, as the index stores them.
pub fn analyze(text: &str) -> Vec<Term> {
    let mut terms = Vec::new();
    let mut position = 0;
    for (word_start, word) in words(text) {
        let Ok(mut segments) = segmenter().segment(Cow::Borrowed(word)) else {
            continue;
        };
        for segment in segments.iter_mut() {
            let (start, end) = (word_start + segment.byte_start, word_start + segment.byte_end);
            let surface = segment.surface.to_string();
            let details = segment.details();
            let tags = details.first().copied().unwrap_or("UNKNOWN");
            let leading_tag = tags.split('+').next().unwrap_or(tags);
            let parts = morphemes(&details);
            if !dropped(leading_tag) {
                let tag = leading_tag.to_owned();
                terms.push(Term {
                    text: surface.to_lowercase(),
                    position,
                    start,
                    end,
                    tag,
                    part: false,
                });
            }
            if parts.len() > 1 {
                for (offset, (part, tag)) in parts.iter().enumerate() {
                    if !dropped(tag) && part.to_lowercase() != surface.to_lowercase() {
                        let (text, tag) = (part.to_lowercase(), tag.clone());
                        terms.push(Term {
                            text,
                            position: position + offset,
                            start,
                            end,
                            tag,
                            part: true,
                        });
                    }
                }
                position += parts.len();
            } else {
                position += 1;
            }
        }
    }
    terms
}

/// Whitespace-separated words with their byte offsets.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_whitespace()
        .map(move |word| (word.as_ptr() as usize - text.as_ptr() as usize, word))
}

/// The morphemes of a compound, inflected or pre-analysed entry, from ko-dic's expression
/// column (`바리/NNG/*+스타/NNG/*`); empty for simple entries.
fn morphemes(details: &[&str]) -> Vec<(String, String)> {
    let kind = details.get(4).copied().unwrap_or("*");
    let expression = details.get(7).copied().unwrap_or("*");
    if !matches!(kind, "Compound" | "Inflect" | "Preanalysis") || expression == "*" {
        return Vec::new();
    }
    expression
        .split('+')
        .filter_map(|part| {
            let mut fields = part.split('/');
            Some((fields.next()?.to_owned(), fields.next()?.to_owned()))
        })
        .collect()
}

/// The analyzer as a tantivy tokenizer.
#[derive(Clone, Default)]
pub struct KoreanTokenizer;

/// The analyzer's terms as keystrokes ([`crate::jamo::keystrokes`]), for typo tolerance at
/// the jamo level: one wrong key is one edit.
#[derive(Clone, Default)]
pub struct KeystrokeTokenizer;

/// The analyzer's Hangul words as their initial consonants ([`crate::jamo::initials`]), for
/// 초성 queries (`ㅊㅅ` → 청소). Words of one syllable are left out: their initials alone match
/// too much.
#[derive(Clone, Default)]
pub struct InitialsTokenizer;

pub struct TermStream {
    tokens: Vec<Token>,
    next: usize,
}

impl TermStream {
    fn new(terms: Vec<Term>, text_of: impl Fn(String) -> String) -> Self {
        let tokens = terms
            .into_iter()
            .map(|term| Token {
                offset_from: term.start,
                offset_to: term.end,
                position: term.position,
                text: text_of(term.text),
                position_length: 1,
            })
            .collect();
        Self { tokens, next: 0 }
    }
}

impl Tokenizer for KoreanTokenizer {
    type TokenStream<'a> = TermStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> TermStream {
        TermStream::new(analyze(text), |term| term)
    }
}

impl Tokenizer for KeystrokeTokenizer {
    type TokenStream<'a> = TermStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> TermStream {
        TermStream::new(analyze(text), |term| crate::jamo::keystrokes(&term))
    }
}

impl Tokenizer for InitialsTokenizer {
    type TokenStream<'a> = TermStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> TermStream {
        let words = analyze(text)
            .into_iter()
            .filter(|term| term.text.chars().count() >= 2 && crate::jamo::is_syllables(&term.text))
            .collect();
        TermStream::new(words, |term| crate::jamo::initials(&term))
    }
}

impl TokenStream for TermStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<String> {
        analyze(text).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn particles_and_endings_go_nouns_stay() {
        assert_eq!(texts("카페에서 일할 사람"), ["카페", "일", "사람"]);
    }

    #[test]
    fn compounds_are_kept_whole_and_split() {
        assert_eq!(texts("바리스타"), ["바리스타", "바리", "스타"]);
        assert_eq!(texts("편의점"), ["편의점", "편의", "점"]);
    }

    #[test]
    fn spacing_variants_meet() {
        assert_eq!(texts("물류센터"), texts("물류 센터"));
        let spaced = texts("서울특별시 마포구");
        assert!(
            spaced.contains(&"서울특별시".to_owned()) || spaced.contains(&"서울".to_owned()),
            "{spaced:?}"
        );
        assert!(spaced.contains(&"마포".to_owned()), "{spaced:?}");
    }

    #[test]
    fn latin_is_lowercased_and_punctuation_dropped() {
        assert_eq!(texts("CAFE, Barista!"), ["cafe", "barista"]);
    }

    #[test]
    fn offsets_point_into_the_text() {
        let text = "주말 편의점 아르바이트";
        for term in analyze(text) {
            assert!(text.is_char_boundary(term.start) && text.is_char_boundary(term.end));
        }
    }
}
