//! Hangul as keystrokes: what a Korean (두벌식) keyboard types for a text, and its initial
//! consonants (초성). Both make prefix and typo matching work below the syllable, where a
//! syllable is still being typed ("발" on the way to "바리") or has one wrong key.

const BASE: u32 = 0xAC00;
const LAST: u32 = 0xD7A3;

const INITIALS: [char; 19] = [
    'ㄱ', 'ㄲ', 'ㄴ', 'ㄷ', 'ㄸ', 'ㄹ', 'ㅁ', 'ㅂ', 'ㅃ', 'ㅅ', 'ㅆ', 'ㅇ', 'ㅈ', 'ㅉ', 'ㅊ', 'ㅋ', 'ㅌ', 'ㅍ', 'ㅎ',
];

/// Vowels as typed: compound vowels take two keys.
const VOWELS: [&str; 21] = [
    "ㅏ", "ㅐ", "ㅑ", "ㅒ", "ㅓ", "ㅔ", "ㅕ", "ㅖ", "ㅗ", "ㅗㅏ", "ㅗㅐ", "ㅗㅣ", "ㅛ", "ㅜ", "ㅜㅓ", "ㅜㅔ", "ㅜㅣ",
    "ㅠ", "ㅡ", "ㅡㅣ", "ㅣ",
];

/// Final consonants as typed: clusters take two keys.
const FINALS: [&str; 28] = [
    "", "ㄱ", "ㄲ", "ㄱㅅ", "ㄴ", "ㄴㅈ", "ㄴㅎ", "ㄷ", "ㄹ", "ㄹㄱ", "ㄹㅁ", "ㄹㅂ", "ㄹㅅ", "ㄹㅌ", "ㄹㅍ", "ㄹㅎ",
    "ㅁ", "ㅂ", "ㅂㅅ", "ㅅ", "ㅆ", "ㅇ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ",
];

/// A standalone compatibility jamo typed on its own, as its keys.
fn jamo_keys(c: char) -> Option<&'static str> {
    let keys = match c {
        'ㄳ' => "ㄱㅅ",
        'ㄵ' => "ㄴㅈ",
        'ㄶ' => "ㄴㅎ",
        'ㄺ' => "ㄹㄱ",
        'ㄻ' => "ㄹㅁ",
        'ㄼ' => "ㄹㅂ",
        'ㄽ' => "ㄹㅅ",
        'ㄾ' => "ㄹㅌ",
        'ㄿ' => "ㄹㅍ",
        'ㅀ' => "ㄹㅎ",
        'ㅄ' => "ㅂㅅ",
        'ㅘ' => "ㅗㅏ",
        'ㅙ' => "ㅗㅐ",
        'ㅚ' => "ㅗㅣ",
        'ㅝ' => "ㅜㅓ",
        'ㅞ' => "ㅜㅔ",
        'ㅟ' => "ㅜㅣ",
        'ㅢ' => "ㅡㅣ",
        _ => return None,
    };
    Some(keys)
}

fn syllable(c: char) -> Option<u32> {
    let code = c as u32;
    (BASE..=LAST).contains(&code).then(|| code - BASE)
}

/// The keys typed for `text`: syllables become their jamo, clusters and compound vowels their
/// two keys; everything else is kept, lowercased.
pub fn keystrokes(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if let Some(index) = syllable(c) {
            out.push(INITIALS[(index / 588) as usize]);
            out.push_str(VOWELS[((index % 588) / 28) as usize]);
            out.push_str(FINALS[(index % 28) as usize]);
        } else if let Some(keys) = jamo_keys(c) {
            out.push_str(keys);
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// The initial consonants of the syllables of `text` ("바리스타" → "ㅂㄹㅅㅌ"); other
/// characters are dropped.
pub fn initials(text: &str) -> String {
    text.chars()
        .filter_map(syllable)
        .map(|index| INITIALS[(index / 588) as usize])
        .collect()
}

/// Whether `text` is made only of consonants (and spaces), as a 초성 search is.
pub fn is_initials(text: &str) -> bool {
    let mut any = false;
    for c in text.chars() {
        if INITIALS.contains(&c) {
            any = true;
        } else if !c.is_whitespace() {
            return false;
        }
    }
    any
}

/// Whether `text` is Hangul syllables only (and not empty).
pub fn is_syllables(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| syllable(c).is_some())
}

/// Whether `text` has any Hangul syllable.
pub fn has_hangul(text: &str) -> bool {
    text.chars().any(|c| syllable(c).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syllable_being_typed_is_a_prefix_of_the_word() {
        let word = keystrokes("바리스타");
        assert_eq!(word, "ㅂㅏㄹㅣㅅㅡㅌㅏ");
        // 두벌식 shows "발" and then "바릿" on the way to "바리스".
        for typing in ["바", "발", "바리", "바릿", "바리스"] {
            assert!(word.starts_with(&keystrokes(typing)), "{typing}");
        }
        assert!(!word.starts_with(&keystrokes("바라")));
        assert_eq!(keystrokes("닭"), "ㄷㅏㄹㄱ");
        assert_eq!(keystrokes("과일"), keystrokes("ㄱㅗㅏ일"));
        assert_eq!(keystrokes("Cafe 1"), "cafe 1");
    }

    #[test]
    fn initials_are_the_first_consonants() {
        assert_eq!(initials("바리스타"), "ㅂㄹㅅㅌ");
        assert_eq!(initials("물류 센터"), "ㅁㄹㅅㅌ");
        assert!(is_initials("ㅂㄹㅅㅌ"));
        assert!(is_initials("ㅁㄹ ㅅㅌ"));
        assert!(!is_initials("ㅂㄹ스"));
        assert!(!is_initials(" "));
    }
}
