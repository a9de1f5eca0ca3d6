//! The user service's domain: the account, and the types its inputs must parse into before
//! anything is stored (`Email`, `Phone`, `Name`, `Password`, ...). A value of one of these types
//! is valid by construction; refusals are messages for the client, keyed by field in the API.

use icu_normalizer::ComposingNormalizerBorrowed;
use onetime_common::auth::Role;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    /// Lower-cased: addresses are compared and kept case-insensitively.
    pub email: String,
    pub name: String,
    /// E.164, e.g. `+821012345678`.
    pub phone: Option<String>,
    pub role: Role,
    /// argon2id, in PHC string format (the parameters travel with the hash).
    pub password_hash: String,
    /// Counts password changes; a mailed reset link is only good for the version it was sent for.
    pub password_version: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub email_verified_at: Option<OffsetDateTime>,
    pub bio: Option<String>,
    pub skills: Vec<String>,
    pub region: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A partial profile update: `None` leaves a field alone; for the optional fields `Some(None)`
/// clears it.
#[derive(Debug, Default)]
pub struct ProfileChanges {
    pub name: Option<Name>,
    pub phone: Option<Option<Phone>>,
    pub bio: Option<Option<Bio>>,
    pub skills: Option<Skills>,
    pub region: Option<Option<Region>>,
}

impl ProfileChanges {
    pub fn apply_to(self, user: &mut User) {
        if let Some(name) = self.name {
            user.name = name.0;
        }
        if let Some(phone) = self.phone {
            user.phone = phone.map(|p| p.0);
        }
        if let Some(bio) = self.bio {
            user.bio = bio.map(|b| b.0);
        }
        if let Some(skills) = self.skills {
            user.skills = skills.0;
        }
        if let Some(region) = self.region {
            user.region = region.map(|r| r.0);
        }
    }
}

/// An email address: ASCII, `local@domain`, at most 254 characters, kept lower-cased.
///
/// Stricter than RFC 5321 on purpose: no quoted local parts, no IP literals, no internationalised
/// addresses, because the mail these addresses receive has to get through ordinary servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, String> {
        let address = input.trim();
        if address.is_empty() {
            return Err("must not be empty".to_owned());
        }
        if !address.is_ascii() {
            return Err("must be an ASCII address such as name@example.com".to_owned());
        }
        if address.len() > 254 {
            return Err("must be at most 254 characters".to_owned());
        }
        let Some((local, domain)) = address.split_once('@') else {
            return Err("must contain an @".to_owned());
        };
        let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
        let local_ok =
            (1..=64).contains(&local.len()) && local.split('.').all(|atom| !atom.is_empty() && atom.chars().all(atext));
        if !local_ok {
            return Err("has an invalid part before the @".to_owned());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |label: &&str| {
            (1..=63).contains(&label.len())
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        };
        let tld_ok = labels
            .last()
            .is_some_and(|tld| tld.chars().any(|c| c.is_ascii_alphabetic()));
        if labels.len() < 2 || !labels.iter().all(label_ok) || !tld_ok {
            return Err("has an invalid domain after the @".to_owned());
        }
        Ok(Self(address.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

/// A Korean mobile number, kept in E.164 (`+821012345678`). Accepted as `010-1234-5678`,
/// `01012345678`, `+82 10 1234 5678` and the like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// A blank input is no number.
    pub fn parse_optional(input: &str) -> Result<Option<Self>, String> {
        let input = input.trim();
        if input.is_empty() {
            return Ok(None);
        }
        let compact: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let national = match compact.strip_prefix("+82") {
            // Some write the trunk zero after the country code too: `+82 010 …`.
            Some(rest) => format!("0{}", rest.strip_prefix('0').unwrap_or(rest)),
            None => compact,
        };
        let digits_ok = national.len() <= 11 && national.chars().all(|c| c.is_ascii_digit());
        let mobile = match national.get(..3) {
            Some("010") => national.len() == 11,
            Some("011" | "016" | "017" | "018" | "019") => matches!(national.len(), 10 | 11),
            _ => false,
        };
        if !(digits_ok && mobile) {
            return Err("must be a Korean mobile number such as 010-1234-5678".to_owned());
        }
        Ok(Some(Self(format!("+82{}", &national[1..]))))
    }
}

impl From<Phone> for String {
    fn from(phone: Phone) -> String {
        phone.0
    }
}

/// A person's display name: 1 to 50 characters of visible text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(input: &str) -> Result<Self, String> {
        let name = single_line(input, 50)?;
        if name.is_empty() {
            return Err("must not be empty".to_owned());
        }
        Ok(Self(name))
    }
}

impl From<Name> for String {
    fn from(name: Name) -> String {
        name.0
    }
}

/// A short self-introduction, up to 1000 characters; line breaks are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bio(String);

impl Bio {
    /// A blank bio is no bio.
    pub fn parse_optional(input: &str) -> Result<Option<Self>, String> {
        let text = normalize(&input.replace("\r\n", "\n"));
        let text = text.trim();
        if text.chars().count() > 1000 {
            return Err("must be at most 1000 characters".to_owned());
        }
        if let Some(bad) = text.chars().find(|&c| c != '\n' && is_unprintable(c)) {
            return Err(unprintable(bad));
        }
        Ok((!text.is_empty()).then(|| Self(text.to_owned())))
    }
}

/// Where someone works or lives, e.g. `서울 강남구`; up to 50 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region(String);

impl Region {
    /// A blank region is no region.
    pub fn parse_optional(input: &str) -> Result<Option<Self>, String> {
        let region = single_line(input, 50)?;
        Ok((!region.is_empty()).then_some(Self(region)))
    }
}

/// Up to 20 skills of 1 to 30 characters each; repeats (ignoring case) are dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skills(Vec<String>);

impl Skills {
    pub fn parse(input: &[String]) -> Result<Self, String> {
        let mut skills: Vec<String> = Vec::new();
        for raw in input {
            let skill = single_line(raw, 30).map_err(|e| format!("each skill {e}"))?;
            if skill.is_empty() {
                return Err("each skill must be non-empty".to_owned());
            }
            if !skills.iter().any(|s| s.to_lowercase() == skill.to_lowercase()) {
                skills.push(skill);
            }
        }
        if skills.len() > 20 {
            return Err("must be at most 20 skills".to_owned());
        }
        Ok(Self(skills))
    }
}

/// A password in the form it is hashed in: Unicode NFKC, so that the same password typed on
/// another keyboard or system still matches (NIST SP 800-63B). Never printed.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    /// A password someone presents to prove who they are: normalised, not judged.
    pub fn presented(input: &str) -> Self {
        Self(ComposingNormalizerBorrowed::new_nfkc().normalize(input).into_owned())
    }

    /// A new password for the account of `email`, if it meets the policy: 8 to 128 characters,
    /// from at least two of lower-case, upper-case, digits and everything else, and not the
    /// email address itself.
    pub fn new(input: &str, email: &str) -> Result<Self, String> {
        let password = Self::presented(input);
        let length = password.0.chars().count();
        if !(8..=128).contains(&length) {
            return Err("must be 8 to 128 characters long".to_owned());
        }
        let class = |c: char| match c {
            'a'..='z' => 0,
            'A'..='Z' => 1,
            '0'..='9' => 2,
            _ => 3,
        };
        let mut classes = password.0.chars().map(class);
        let first = classes.next();
        if classes.all(|c| Some(c) == first) {
            return Err(
                "must mix at least two of lower-case letters, upper-case letters, digits and symbols".to_owned(),
            );
        }
        if password.0.trim().eq_ignore_ascii_case(email.trim()) {
            return Err("must not be your email address".to_owned());
        }
        Ok(password)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// NFC, the form Korean text should be stored and compared in (macOS and some keyboards send
/// Hangul as separate jamo).
fn normalize(input: &str) -> String {
    ComposingNormalizerBorrowed::new_nfc().normalize(input).into_owned()
}

/// One line of visible text: normalised, trimmed, runs of white space made one space, at most
/// `max` characters, nothing invisible.
fn single_line(input: &str, max: usize) -> Result<String, String> {
    let text = normalize(input).split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if let Some(bad) = text.chars().find(|&c| is_unprintable(c)) {
        return Err(unprintable(bad));
    }
    if text.chars().next().is_some_and(is_combining) {
        return Err("must not start with a combining mark".to_owned());
    }
    Ok(text)
}

fn unprintable(c: char) -> String {
    format!(
        "must not contain invisible or control characters (found U+{:04X})",
        c as u32
    )
}

/// Characters that render as nothing, or that change how the text around them renders: control
/// and format characters (bidirectional marks and overrides, zero-width space, tags), the Hangul
/// fillers that look like blanks, line separators, private-use and non-characters. The joiners
/// and variation selectors that emoji are built with stay allowed.
fn is_unprintable(c: char) -> bool {
    let code = c as u32;
    c.is_control()
        || matches!(
            code,
            0x00AD
                | 0x034F
                | 0x061C
                | 0x115F
                | 0x1160
                | 0x17B4
                | 0x17B5
                | 0x180E
                | 0x200B
                | 0x200E
                | 0x200F
                | 0x2028..=0x202E
                | 0x2060..=0x206F
                | 0x3164
                | 0xFEFF
                | 0xFFA0
                | 0xFFF9..=0xFFFB
                | 0xE000..=0xF8FF
                | 0xFDD0..=0xFDEF
                | 0xE0000..=0xE007F
                | 0xF0000..=0x10FFFF
        )
        || code & 0xFFFE == 0xFFFE
}

fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lower_cased_and_strict() {
        assert_eq!(
            Email::parse("  Kim.Won+jobs@Example.CO.KR ").unwrap().as_str(),
            "kim.won+jobs@example.co.kr"
        );
        for bad in [
            "",
            "plain",
            "a@b",
            "a@@b.kr",
            "a b@c.kr",
            ".a@b.kr",
            "a..b@c.kr",
            "a@-b.kr",
            "a@b.123",
            "김@example.com",
            "a＠b.kr",
            "\"quoted\"@b.kr",
            "a@[127.0.0.1]",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} is refused");
        }
        let long_local = format!("{}@b.kr", "a".repeat(65));
        assert!(Email::parse(&long_local).is_err());
        let long = format!("a@{}.kr", "b.".repeat(130));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn korean_mobile_numbers_become_e164() {
        for input in [
            "010-1234-5678",
            "01012345678",
            "+82 10 1234 5678",
            "+82-10-1234-5678",
            "+82 010 1234 5678",
        ] {
            assert_eq!(
                Phone::parse_optional(input).unwrap().unwrap().0,
                "+821012345678",
                "{input}"
            );
        }
        assert_eq!(
            Phone::parse_optional("011-123-4567").unwrap().unwrap().0,
            "+82111234567"
        );
        assert_eq!(Phone::parse_optional("  ").unwrap(), None);
        for bad in [
            "02-123-4567",
            "010-1234-567",
            "010-1234-56789",
            "+1 010 1234 5678",
            "010.1234.5678",
            "０１０12345678",
            "phone",
        ] {
            assert!(Phone::parse_optional(bad).is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn names_are_visible_text_of_bounded_length() {
        assert_eq!(Name::parse("  김   원데 ").unwrap().0, "김 원데");
        // Hangul typed as separate jamo is stored composed.
        assert_eq!(Name::parse("\u{1100}\u{1161}").unwrap().0, "가");
        assert!(Name::parse("🙂 Kim ❤️ 👩‍💻").is_ok());
        assert!(Name::parse(&"가".repeat(50)).is_ok());
        for bad in [
            "".to_owned(),
            "   ".to_owned(),
            "가".repeat(51),
            "evil\u{202E}txt".to_owned(),
            "zero\u{200B}width".to_owned(),
            "\u{3164}".to_owned(),
            "nul\0".to_owned(),
            "\u{0301}accent".to_owned(),
            "private\u{E000}".to_owned(),
        ] {
            assert!(Name::parse(&bad).is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn bios_keep_lines_regions_and_skills_are_tidied() {
        assert_eq!(
            Bio::parse_optional(" 안녕하세요\r\n반갑습니다 ").unwrap().unwrap().0,
            "안녕하세요\n반갑습니다"
        );
        assert_eq!(Bio::parse_optional("").unwrap(), None);
        assert!(Bio::parse_optional(&"a".repeat(1001)).is_err());
        assert!(Bio::parse_optional("tab\u{7}bell").is_err());
        assert_eq!(
            Region::parse_optional(" 서울  강남구 ").unwrap().unwrap().0,
            "서울 강남구"
        );
        let skills = Skills::parse(&["바리스타".into(), " Forklift ".into(), "forklift".into()]).unwrap();
        assert_eq!(skills.0, ["바리스타", "Forklift"]);
        assert!(Skills::parse(&[" ".into()]).is_err());
        assert!(Skills::parse(&(0..21).map(|i| format!("s{i}")).collect::<Vec<_>>()).is_err());
    }

    #[test]
    fn the_password_policy() {
        let email = "kim@example.com";
        assert!(Password::new("correct horse 7", email).is_ok());
        assert!(Password::new("비밀번호는길게1", email).is_ok());
        assert!(Password::new("Short1!", email).is_err(), "too short");
        assert!(Password::new(&"aB3".repeat(43), email).is_err(), "too long");
        for one_class in [
            "alllowercase",
            "ALLUPPERCASE",
            "1234567890",
            "!@#$%^&*()",
            "비밀번호비밀번호",
        ] {
            assert!(Password::new(one_class, email).is_err(), "{one_class}");
        }
        assert!(Password::new("KIM@example.com", email).is_err(), "the email address");
        // Fullwidth forms are the same password as their ASCII twins.
        assert_eq!(Password::presented("Ｐａｓｓ１").expose(), "Pass1");
        assert_eq!(format!("{:?}", Password::presented("secret")), "Password(<redacted>)");
    }
}
