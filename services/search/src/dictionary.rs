//! The query dictionaries: data files in `services/search/dict`, compiled into the binary and
//! parsed once (at start-up, by [`warm_up`]).
//!
//! Each file is plain text, one entry a line, `#` for comments, so that people who know the
//! words (not the code) can review and extend them; docs/decisions.md (Search) says how each is
//! used. Keys are lowercased, as the analyser lowercases Latin text.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// What a word in a query says beyond its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// A time of day or of the week: a slot of [`crate::schema::shift_slots`].
    When(String),
    /// A wage of this kind (`hourly` or `daily`).
    WageKind(String),
    /// A wage well above the usual.
    HighWage,
}

#[derive(Debug, Default)]
pub struct Dictionary {
    /// Query word → other words for the same thing (synonyms, colloquial words, English).
    pub synonyms: HashMap<String, Vec<String>>,
    /// Brand → kinds of workplace it stands for.
    pub brands: HashMap<String, Vec<String>>,
    /// Misspelling → standard spelling, longest first (so that a longer one wins).
    pub misspellings: Vec<(String, String)>,
    /// Question-like words that carry nothing for a job search.
    pub stop_words: HashSet<String>,
    /// Words in most queries that tell little about which job.
    pub generic: HashSet<String>,
    pub intents: HashMap<String, Intent>,
    /// Region name → the words addresses use for it.
    pub regions: HashMap<String, Vec<String>>,
}

/// The lines of a data file that hold entries.
fn entries(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// `key<TAB>a,b,c` lines.
fn lists(text: &str) -> HashMap<String, Vec<String>> {
    entries(text)
        .filter_map(|line| {
            let (key, values) = line.split_once('\t')?;
            let values = values
                .split(',')
                .map(|v| v.trim().to_lowercase())
                .filter(|v| !v.is_empty());
            Some((key.trim().to_lowercase(), values.collect()))
        })
        .collect()
}

fn parse_intent(value: &str) -> Option<Intent> {
    match value.split_once(':')? {
        ("when", slot) => Some(Intent::When(slot.to_owned())),
        ("wage", "high") => Some(Intent::HighWage),
        ("wage", kind @ ("hourly" | "daily")) => Some(Intent::WageKind(kind.to_owned())),
        _ => None,
    }
}

impl Dictionary {
    fn parse() -> Self {
        let mut misspellings: Vec<(String, String)> = lists(include_str!("../dict/misspellings.tsv"))
            .into_iter()
            .filter_map(|(typed, mut right)| Some((typed, right.pop()?)))
            .collect();
        misspellings.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        let words = |text: &str| -> HashSet<String> { entries(text).map(str::to_lowercase).collect() };
        let intents = entries(include_str!("../dict/intents.tsv"))
            .filter_map(|line| {
                let (word, intent) = line.split_once('\t')?;
                Some((word.trim().to_owned(), parse_intent(intent.trim())?))
            })
            .collect();
        let mut synonyms = lists(include_str!("../dict/synonyms.tsv"));
        // English entries work both ways: a Korean query finds an English posting too.
        let english: Vec<(String, String)> = synonyms
            .iter()
            .filter(|(key, _)| key.is_ascii())
            .flat_map(|(key, values)| values.iter().map(move |value| (value.clone(), key.clone())))
            .collect();
        for (korean, key) in english {
            let values = synonyms.entry(korean).or_default();
            if !values.contains(&key) {
                values.push(key);
            }
        }
        Self {
            synonyms,
            brands: lists(include_str!("../dict/brands.tsv")),
            misspellings,
            stop_words: words(include_str!("../dict/stopwords.txt")),
            generic: words(include_str!("../dict/generic.txt")),
            intents,
            regions: lists(include_str!("../dict/regions.tsv")),
        }
    }

    /// Other words a query word stands for: its synonyms, then the kinds a brand stands for.
    pub fn alternatives(&self, word: &str) -> impl Iterator<Item = &str> {
        let synonyms = self.synonyms.get(word).into_iter().flatten();
        let brands = self.brands.get(word).into_iter().flatten();
        synonyms.chain(brands).map(String::as_str)
    }

    /// Whether a Latin word is one the dictionaries know (so English, not romanised Korean).
    pub fn knows(&self, word: &str) -> bool {
        self.synonyms.contains_key(word) || self.brands.contains_key(word)
    }
}

/// The dictionaries, parsed on first use.
pub fn get() -> &'static Dictionary {
    static DICTIONARY: OnceLock<Dictionary> = OnceLock::new();
    DICTIONARY.get_or_init(Dictionary::parse)
}

/// Parses the dictionaries now rather than on the first query.
pub fn warm_up() {
    get();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_parses_into_entries() {
        let dictionary = get();
        assert!(dictionary.synonyms["알바"].contains(&"아르바이트".to_owned()));
        assert!(dictionary.brands["스타벅스"].contains(&"카페".to_owned()));
        assert_eq!(dictionary.brands["gs25"], ["편의점"]);
        assert!(dictionary.stop_words.contains("구하"));
        assert_eq!(dictionary.intents["주말"], Intent::When("주말".into()));
        assert_eq!(dictionary.intents["일당"], Intent::WageKind("daily".into()));
        assert!(dictionary.regions["충청도"].contains(&"충청남도".to_owned()));
        // Every intent line is understood: a typo in a data file must not pass silently.
        let intent_lines = entries(include_str!("../dict/intents.tsv")).count();
        assert_eq!(dictionary.intents.len(), intent_lines);
        for lines in [
            dictionary.synonyms.values(),
            dictionary.brands.values(),
            dictionary.regions.values(),
        ] {
            for values in lines {
                assert!(!values.is_empty());
            }
        }
    }

    #[test]
    fn longer_misspellings_are_tried_first() {
        let misspellings = &get().misspellings;
        let at = |typed: &str| misspellings.iter().position(|(t, _)| t == typed).unwrap();
        assert!(at("케익크") < at("케익"));
    }
}
