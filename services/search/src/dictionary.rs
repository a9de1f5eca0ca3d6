//! The query dictionaries: data files in `services/search/dict`, compiled into the binary, with
//! the files of `[search] dictionary_dir` (when set) merged over them at start-up.
//!
//! Each file is plain text, one entry a line, `#` for comments, so that people who know the
//! words (not the code) can review and extend them; docs/decisions.md (Search) says how each is
//! used. Keys are lowercased, as the analyser lowercases Latin text. A line that does not parse
//! is refused with its file and line number: a typo in a data file must not pass silently.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::schema::SLOTS;

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

#[derive(Debug, thiserror::Error)]
pub enum DictionaryError {
    #[error("{file} line {line}: {expected}")]
    Malformed {
        file: String,
        line: usize,
        expected: &'static str,
    },
    #[error("{}: not a dictionary file (one of {})", .path.display(), names())]
    UnknownFile { path: PathBuf },
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

/// The dictionary files: name, built-in text.
const FILES: [(&str, &str); 7] = [
    ("synonyms.tsv", include_str!("../dict/synonyms.tsv")),
    ("brands.tsv", include_str!("../dict/brands.tsv")),
    ("misspellings.tsv", include_str!("../dict/misspellings.tsv")),
    ("intents.tsv", include_str!("../dict/intents.tsv")),
    ("regions.tsv", include_str!("../dict/regions.tsv")),
    ("stopwords.txt", include_str!("../dict/stopwords.txt")),
    ("generic.txt", include_str!("../dict/generic.txt")),
];

fn names() -> String {
    FILES.map(|(name, _)| name).join(", ")
}

const LIST: &str = "expected a word, a tab, then words separated by commas";
const MISSPELLING: &str = "expected a misspelling, a tab, then its standard spelling";
const INTENT: &str = "expected a word, a tab, then when:<slot> (새벽, 오전, 오후, 저녁, 야간, 주말 or \
                      평일), wage:hourly, wage:daily or wage:high";
const WORD: &str = "expected one word (no tabs or spaces)";

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

/// The entries of the files as read, before the derived tables are made.
#[derive(Default)]
struct Entries {
    synonyms: HashMap<String, Vec<String>>,
    brands: HashMap<String, Vec<String>>,
    misspellings: HashMap<String, String>,
    stop_words: HashSet<String>,
    generic: HashSet<String>,
    intents: HashMap<String, Intent>,
    regions: HashMap<String, Vec<String>>,
}

/// The lines of a data file that hold entries, numbered from 1.
fn entries(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
}

/// A `key<TAB>value` line, both parts non-empty.
fn pair(line: &str) -> Option<(String, &str)> {
    let (key, value) = line.split_once('\t')?;
    let (key, value) = (key.trim(), value.trim());
    (!key.is_empty() && !value.is_empty()).then(|| (key.to_lowercase(), value))
}

/// A `key<TAB>a,b,c` line.
fn list(line: &str) -> Option<(String, Vec<String>)> {
    let (key, values) = pair(line)?;
    let values: Vec<String> = values.split(',').map(|v| v.trim().to_lowercase()).collect();
    (!values.iter().any(String::is_empty)).then_some((key, values))
}

fn intent(line: &str) -> Option<(String, Intent)> {
    let (word, value) = pair(line)?;
    let intent = match value.split_once(':')? {
        ("when", slot) if SLOTS.contains(&slot) => Intent::When(slot.to_owned()),
        ("wage", "high") => Intent::HighWage,
        ("wage", kind @ ("hourly" | "daily")) => Intent::WageKind(kind.to_owned()),
        _ => return None,
    };
    Some((word, intent))
}

fn word(line: &str) -> Option<String> {
    (!line.contains(char::is_whitespace)).then(|| line.to_lowercase())
}

impl Entries {
    /// Reads the dictionary file `name` and merges its entries over those read before: a key
    /// already known takes the new line's values, a word list grows.
    fn merge(&mut self, name: &str, text: &str) -> Result<(), DictionaryError> {
        for (number, line) in entries(text) {
            let merged = match name {
                "synonyms.tsv" => list(line).map(|(k, v)| self.synonyms.insert(k, v)).is_some(),
                "brands.tsv" => list(line).map(|(k, v)| self.brands.insert(k, v)).is_some(),
                "regions.tsv" => list(line).map(|(k, v)| self.regions.insert(k, v)).is_some(),
                "misspellings.tsv" => pair(line)
                    .filter(|(_, right)| !right.contains([',', '\t']))
                    .map(|(typed, right)| self.misspellings.insert(typed, right.to_lowercase()))
                    .is_some(),
                "intents.tsv" => intent(line).map(|(k, v)| self.intents.insert(k, v)).is_some(),
                "stopwords.txt" => word(line).map(|w| self.stop_words.insert(w)).is_some(),
                _ => word(line).map(|w| self.generic.insert(w)).is_some(),
            };
            if !merged {
                let expected = match name {
                    "misspellings.tsv" => MISSPELLING,
                    "intents.tsv" => INTENT,
                    "stopwords.txt" | "generic.txt" => WORD,
                    _ => LIST,
                };
                return Err(DictionaryError::Malformed {
                    file: name.to_owned(),
                    line: number,
                    expected,
                });
            }
        }
        Ok(())
    }
}

impl From<Entries> for Dictionary {
    fn from(entries: Entries) -> Self {
        let mut misspellings: Vec<(String, String)> = entries.misspellings.into_iter().collect();
        misspellings.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        let mut synonyms = entries.synonyms;
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
            brands: entries.brands,
            misspellings,
            stop_words: entries.stop_words,
            generic: entries.generic,
            intents: entries.intents,
            regions: entries.regions,
        }
    }
}

impl Dictionary {
    /// The built-in dictionaries.
    pub fn built_in() -> Self {
        Self::load(None).expect("the built-in dictionaries parse (a unit test reads every line)")
    }

    /// The built-in dictionaries with the files in `dir` (any of the built-in files' names)
    /// merged over them.
    pub fn load(dir: Option<&Path>) -> Result<Self, DictionaryError> {
        let mut entries = Entries::default();
        for (name, text) in FILES {
            entries.merge(name, text)?;
        }
        let Some(dir) = dir else {
            return Ok(entries.into());
        };
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source: std::io::Error| DictionaryError::Io { path, source }
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(io(dir))?;
        paths.sort();
        for path in paths {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !FILES.iter().any(|(known, _)| *known == name) {
                // Other files (a README) may sit beside them; a misnamed data file may not.
                if name.ends_with(".tsv") || name.ends_with(".txt") {
                    return Err(DictionaryError::UnknownFile { path });
                }
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            entries.merge(&name, &text).map_err(|error| match error {
                DictionaryError::Malformed { line, expected, .. } => DictionaryError::Malformed {
                    file: path.display().to_string(),
                    line,
                    expected,
                },
                other => other,
            })?;
        }
        Ok(entries.into())
    }

    /// Other words a query word stands for: its synonyms, then the kinds a brand stands for.
    pub fn alternatives(&self, word: &str) -> impl Iterator<Item = &str> {
        let synonyms = self.synonyms.get(word).into_iter().flatten();
        let brands = self.brands.get(word).into_iter().flatten();
        synonyms.chain(brands).map(String::as_str)
    }

    /// The words that name the slot of time `slot` (`야간`: 야간, 밤, 밤샘, 심야): a posting that
    /// uses one says about itself when it is.
    pub fn slot_words(&self, slot: &str) -> Vec<String> {
        let mut words: Vec<String> = self
            .intents
            .iter()
            .filter(|(_, intent)| matches!(intent, Intent::When(s) if s == slot))
            .map(|(word, _)| word.clone())
            .collect();
        words.sort();
        words
    }

    /// Whether a Latin word is one the dictionaries know (so English, not romanised Korean).
    pub fn knows(&self, word: &str) -> bool {
        self.synonyms.contains_key(word) || self.brands.contains_key(word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_line_parses_into_entries() {
        let dictionary = Dictionary::load(None).expect("every built-in line parses");
        assert!(dictionary.synonyms["알바"].contains(&"아르바이트".to_owned()));
        assert!(dictionary.brands["스타벅스"].contains(&"카페".to_owned()));
        assert_eq!(dictionary.brands["gs25"], ["편의점"]);
        assert!(dictionary.stop_words.contains("구하"));
        assert_eq!(dictionary.intents["주말"], Intent::When("주말".into()));
        assert_eq!(dictionary.intents["일당"], Intent::WageKind("daily".into()));
        assert!(dictionary.regions["충청도"].contains(&"충청남도".to_owned()));
        assert_eq!(dictionary.slot_words("야간"), ["밤", "밤샘", "심야", "야간"]);
    }

    #[test]
    fn longer_misspellings_are_tried_first() {
        let misspellings = Dictionary::built_in().misspellings;
        let at = |typed: &str| misspellings.iter().position(|(t, _)| t == typed).unwrap();
        assert!(at("케익크") < at("케익"));
    }

    #[test]
    fn files_of_a_directory_merge_over_the_built_in_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("synonyms.tsv"), "# ours\n노가다\t막일\n땡땡이\t휴식\n").unwrap();
        std::fs::write(dir.path().join("stopwords.txt"), "글쎄\n").unwrap();
        std::fs::write(dir.path().join("README.md"), "not a dictionary").unwrap();
        let dictionary = Dictionary::load(Some(dir.path())).unwrap();
        assert_eq!(
            dictionary.synonyms["노가다"],
            ["막일"],
            "a known key takes the new values"
        );
        assert_eq!(dictionary.synonyms["땡땡이"], ["휴식"]);
        assert!(dictionary.stop_words.contains("글쎄") && dictionary.stop_words.contains("구하"));
        assert!(
            dictionary.brands.contains_key("스타벅스"),
            "files not given stay built in"
        );
    }

    #[test]
    fn a_malformed_line_is_refused_with_its_file_and_number() {
        for (file, text, line) in [
            ("synonyms.tsv", "# ok\n알바\t아르바이트\n알바 아르바이트\n", 3),
            ("brands.tsv", "스타벅스\t\n", 1),
            ("intents.tsv", "새벽\twhen:새벽\n한밤\twhen:한밤\n", 2),
            ("misspellings.tsv", "케익\t케이크,케잌\n", 1),
            ("generic.txt", "\n알바 모집\n", 2),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(file);
            std::fs::write(&path, text).unwrap();
            let error = Dictionary::load(Some(dir.path())).unwrap_err().to_string();
            assert!(
                error.starts_with(&format!("{} line {line}: expected", path.display())),
                "{error}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("synonym.tsv"), "알바\t파트타임\n").unwrap();
        let error = Dictionary::load(Some(dir.path())).unwrap_err().to_string();
        assert!(error.contains("not a dictionary file"), "{error}");
    }
}
