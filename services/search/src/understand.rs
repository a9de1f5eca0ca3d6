//! Query understanding: what a phone-typed query asks for, before anything is retrieved.
//!
//! The text is normalised ([`crate::normalize`]); each word is then read for what it says
//! beyond its letters: initial consonants (초성), a wage amount, a time or wage intent, a region,
//! Korean typed in Latin letters, synonyms and brands. The words that stay are analysed like the
//! index; question-like words ([`Dictionary::stop_words`]) are dropped unless nothing else is left.

use crate::analysis::analyze;
use crate::dictionary::{Dictionary, Intent};
use crate::jamo;
use crate::normalize::normalize;
use crate::romanize;

/// Weight of a word found in another form than typed, relative to the typed word.
pub const SYNONYM_WEIGHT: f32 = 0.7;
/// Weight of a morpheme of a split compound: a whole-word match counts more.
pub const PART_WEIGHT: f32 = 0.5;
/// Weight of a word most job queries have (`알바`).
pub const GENERIC_WEIGHT: f32 = 0.3;
/// Weight of a Hangul reading of a romanised word: a guess among a few.
pub const ROMANIZED_WEIGHT: f32 = 0.8;
/// Amounts from this many won are daily wages when the query does not say.
const DAILY_FROM: i64 = 50_000;

/// A term to search in the text fields, with its weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Weighted {
    pub text: String,
    pub weight: f32,
    /// Typed by the person (so possibly mistyped), rather than taken from a dictionary.
    pub typed: bool,
}

/// A slot of time a query asks for (`야간`), with the words that name it (`야간`, `밤`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct When {
    pub slot: String,
    pub words: Vec<String>,
}

/// The wage a query asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WageIntent {
    /// `hourly` or `daily`.
    pub kind: Option<String>,
    pub amount: Option<i64>,
    pub high: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Understood {
    /// Analysed terms and their expansions, for the text fields.
    pub terms: Vec<Weighted>,
    /// The typed words (normalised) that stayed text, for near-miss matching of whole words.
    pub words: Vec<String>,
    /// The typed terms (whole words, in order, generic ones left out), for phrase matching.
    pub phrase: Vec<String>,
    /// Initial-consonant words (`ㅊㅅ`).
    pub initials: Vec<String>,
    /// Address words of the regions named.
    pub regions: Vec<String>,
    /// Slots of time asked for (`오전`, `주말`, ...).
    pub when: Vec<When>,
    pub wage: WageIntent,
}

impl Understood {
    /// Whether the query asked for nothing searchable.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
            && self.initials.is_empty()
            && self.regions.is_empty()
            && self.when.is_empty()
            && self.wage == WageIntent::default()
    }

    /// Whether the query names something more specific than a generic word (`알바`): then
    /// only jobs matching its words (or initials, or regions) are found.
    pub fn is_specific(&self) -> bool {
        let typed_meaning = self.terms.iter().any(|t| t.typed && t.weight > GENERIC_WEIGHT);
        typed_meaning || !self.initials.is_empty() || !self.regions.is_empty()
    }

    fn push(&mut self, text: String, weight: f32, typed: bool) {
        match self.terms.iter_mut().find(|t| t.text == text) {
            Some(term) => {
                term.weight = term.weight.max(weight);
                term.typed |= typed;
            }
            None => self.terms.push(Weighted { text, weight, typed }),
        }
    }

    /// Searches `text` (analysed) at `weight`, parts lower.
    fn push_text(&mut self, text: &str, weight: f32) {
        for term in analyze(text) {
            let part = if term.part { PART_WEIGHT } else { 1.0 };
            self.push(term.text, weight * part, false);
        }
    }

    fn intent(&mut self, intent: &Intent, dictionary: &Dictionary) {
        match intent {
            Intent::When(slot) if !self.when.iter().any(|w| w.slot == *slot) => self.when.push(When {
                slot: slot.clone(),
                words: dictionary.slot_words(slot),
            }),
            Intent::When(_) => {}
            Intent::WageKind(kind) => self.wage.kind = Some(kind.clone()),
            Intent::HighWage => self.wage.high = true,
        }
    }

    /// Expansions of a word: synonyms, brand kinds, region address words.
    fn expand(&mut self, word: &str, weight: f32, dictionary: &Dictionary) {
        let alternatives: Vec<&str> = dictionary.alternatives(word).collect();
        for alternative in alternatives {
            self.push_text(alternative, weight * SYNONYM_WEIGHT);
        }
        let named = dictionary.regions.get(word).cloned().unwrap_or_default();
        let as_typed = is_place_name(word).then(|| word.to_owned());
        for region in named.into_iter().chain(as_typed) {
            if !self.regions.contains(&region) {
                self.regions.push(region);
            }
        }
    }
}

/// A word shaped like the name of an administrative area or a station as addresses write it
/// (`마포구`, `수원시`, `역삼동`, `홍대입구역`): a region in its own right, so that an address naming
/// it counts as a region match and not only as one more word in a long text field, whose weight
/// would shift with the index's statistics.
fn is_place_name(word: &str) -> bool {
    let syllables = word.chars().count();
    jamo::is_syllables(word)
        && (3..=6).contains(&syllables)
        && ['시', '군', '구', '동', '읍', '면', '역']
            .iter()
            .any(|end| word.ends_with(*end))
}

/// A wage amount as people type it, in digits, Korean numerals or both: `12만원`, `15만`,
/// `1만5천원`, `15,000원`, `15000`, `만오천원`, `십이만원`.
fn parse_amount(word: &str) -> Option<i64> {
    let (word, won) = match word.strip_suffix('원') {
        Some(bare) => (bare.replace(',', ""), true),
        None => (word.replace(',', ""), false),
    };
    // Korean numerals are parts of common words too (이사, 오전, 이천 the city): without digits
    // or 원, only a word of two or more numerals with a 만 in it counts (만오천, 십이만).
    let digits = word.starts_with(|c: char| c.is_ascii_digit());
    let sized = word.chars().count() >= 2 && word.contains('만');
    if word.is_empty() || !(digits || won || sized) {
        return None;
    }
    let amount = korean_number(&word)?;
    (1000..=10_000_000).contains(&amount).then_some(amount)
}

/// The value of a number written with digits and Korean numerals (`1만5천`, `만오천`, `십이만`).
fn korean_number(text: &str) -> Option<i64> {
    let (mut total, mut section, mut digits): (i64, i64, Option<i64>) = (0, 0, None);
    for c in text.chars() {
        let digit = match c {
            '0'..='9' => {
                let value = i64::from(c.to_digit(10)?);
                digits = Some(digits.unwrap_or(0).checked_mul(10)?.checked_add(value)?);
                continue;
            }
            '일' => 1,
            '이' => 2,
            '삼' => 3,
            '사' => 4,
            '오' => 5,
            '육' => 6,
            '칠' => 7,
            '팔' => 8,
            '구' => 9,
            '십' | '백' | '천' => {
                let unit = match c {
                    '십' => 10,
                    '백' => 100,
                    _ => 1000,
                };
                section = section.checked_add(digits.take().unwrap_or(1).checked_mul(unit)?)?;
                continue;
            }
            '만' => {
                let tens_of_thousands = section + digits.take().unwrap_or(0);
                let tens_of_thousands = if tens_of_thousands == 0 { 1 } else { tens_of_thousands };
                total = total.checked_add(tens_of_thousands.checked_mul(10_000)?)?;
                section = 0;
                continue;
            }
            _ => return None,
        };
        digits = Some(digit);
    }
    total.checked_add(section)?.checked_add(digits.unwrap_or(0))
}

/// Whether a word is Latin letters (and hyphens) only.
fn is_latin(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_alphabetic()) && word.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
}

/// What `text` asks for, read with `dictionary`.
pub fn understand(text: &str, dictionary: &Dictionary) -> Understood {
    let mut understood = Understood::default();
    let mut stopped = Vec::new();
    for word in normalize(text, dictionary) {
        if jamo::is_initials(&word) {
            understood.initials.push(word);
            continue;
        }
        let bare = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '-');
        if bare.is_empty() {
            continue;
        }
        if let Some(amount) = parse_amount(bare) {
            understood.wage.amount = Some(amount);
            continue;
        }
        if let Some(intent) = dictionary.intents.get(bare) {
            understood.intent(intent, dictionary);
            continue;
        }
        understood.expand(bare, 1.0, dictionary);
        if is_latin(bare) && !dictionary.knows(bare) {
            for spelling in romanize::to_hangul(bare) {
                understood.expand(&spelling, ROMANIZED_WEIGHT, dictionary);
                understood.push_text(&spelling, ROMANIZED_WEIGHT);
            }
        }
        let mut meaningful = false;
        for term in analyze(bare) {
            if dictionary.stop_words.contains(&term.text) {
                stopped.push(term.text);
                continue;
            }
            if let Some(intent) = dictionary.intents.get(&term.text) {
                understood.intent(intent, dictionary);
                continue;
            }
            let generic = if dictionary.generic.contains(&term.text) {
                GENERIC_WEIGHT
            } else {
                1.0
            };
            let weight = generic * if term.part { PART_WEIGHT } else { 1.0 };
            understood.expand(&term.text, weight, dictionary);
            // Generic words carry little meaning: their order in a title says nothing either.
            if !term.part && generic == 1.0 {
                understood.phrase.push(term.text.clone());
            }
            understood.push(term.text, weight, true);
            meaningful = true;
        }
        if meaningful {
            understood.words.push(bare.to_owned());
        }
    }
    if understood.wage.amount.is_some_and(|amount| amount >= DAILY_FROM) && understood.wage.kind.is_none() {
        understood.wage.kind = Some("daily".to_owned());
    }
    // A query of question words only still searches them.
    if understood.is_empty() {
        for term in stopped {
            understood.push(term, GENERIC_WEIGHT, true);
        }
    }
    understood
}

#[cfg(test)]
mod tests {
    use super::*;

    fn understand(text: &str) -> Understood {
        super::understand(text, &Dictionary::built_in())
    }

    fn texts(understood: &Understood) -> Vec<&str> {
        understood.terms.iter().map(|t| t.text.as_str()).collect()
    }

    #[test]
    fn question_words_go_meaning_stays() {
        let understood = understand("강아지 산책 알바 어디 있어요");
        let texts = texts(&understood);
        assert!(texts.contains(&"강아지") && texts.contains(&"산책"), "{texts:?}");
        assert!(!texts.contains(&"어디") && !texts.contains(&"있"), "{texts:?}");
        assert!(
            !understand("어디 있어요").is_empty(),
            "question words alone still search"
        );
    }

    #[test]
    fn intents_are_read_out_of_the_text() {
        let understood = understand("일당 12만원 주말 현장");
        assert_eq!(understood.wage.kind.as_deref(), Some("daily"));
        assert_eq!(understood.wage.amount, Some(120_000));
        assert_eq!(understood.when[0].slot, "주말");
        assert!(understood.when[0].words.contains(&"토요일".to_owned()));
        assert!(!texts(&understood).contains(&"일당"));
        assert!(understand("시급 센 행사").wage.high);
        assert_eq!(understand("7만원").wage.kind.as_deref(), Some("daily"));
    }

    #[test]
    fn amounts_parse_as_typed() {
        for (typed, won) in [
            ("12만원", 120_000),
            ("15만", 150_000),
            ("1만5천원", 15_000),
            ("15,000원", 15_000),
            ("만오천원", 15_000),
            ("만팔천원", 18_000),
            ("십이만원", 120_000),
            ("십오만", 150_000),
            ("1만2천", 12_000),
            ("이만원", 20_000),
        ] {
            assert_eq!(parse_amount(typed), Some(won), "{typed}");
        }
        for typed in [
            "3",
            "카페",
            "99999999999만",
            "이사",
            "오전",
            "일당",
            "천안",
            "이천",
            "사천",
            "만",
        ] {
            assert_eq!(parse_amount(typed), None, "{typed}");
        }
    }

    #[test]
    fn place_names_as_addresses_write_them_are_regions() {
        for word in ["마포구", "수원시", "역삼동", "홍대입구역", "가평군"] {
            assert!(is_place_name(word), "{word}");
        }
        for word in ["중구", "친구", "운동", "편의점", "바리스타", "gangnam", "마포"] {
            assert!(!is_place_name(word), "{word}");
        }
    }

    #[test]
    fn initials_regions_romanisation_and_brands_are_recognised() {
        let understood = understand("부산 ㅊㅅ");
        assert_eq!(understood.initials, ["ㅊㅅ"]);
        assert!(understood.regions.contains(&"부산광역시".to_owned()));
        assert!(texts(&understand("jubang")).contains(&"주방"));
        assert!(texts(&understand("스타벅스")).contains(&"카페"));
        assert!(
            !texts(&understand("cafe"))
                .iter()
                .any(|t| jamo::has_hangul(t) && *t != "카페")
        );
    }
}
