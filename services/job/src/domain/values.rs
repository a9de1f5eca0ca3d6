//! The small values a job is made of, each existing only when valid: its title, description,
//! category, location and headcount.

use serde::{Deserialize, Serialize};

pub const MAX_HEADCOUNT: u32 = 100;
pub const MAX_DESCRIPTION_CHARS: usize = 5_000;

/// Trimmed `raw` when it has `min..=max` characters and no control characters other than the
/// line breaks and tabs that `multiline` text may have.
pub(super) fn text(raw: &str, min: usize, max: usize, multiline: bool) -> Result<String, String> {
    let text = raw.trim();
    let chars = text.chars().count();
    if chars < min || chars > max {
        return Err(match min {
            0 => format!("must be at most {max} characters, not {chars}"),
            _ => format!("must be {min} to {max} characters, not {chars}"),
        });
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err("must not contain control characters".to_owned());
    }
    Ok(text.to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobTitle(pub(super) String);

impl JobTitle {
    pub fn parse(raw: &str) -> Result<Self, String> {
        text(raw, 2, 100, false).map(Self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Description(pub(super) String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, String> {
        text(raw, 0, MAX_DESCRIPTION_CHARS, true).map(Self)
    }
}

/// A category's stable ASCII name, e.g. `food-cafe`: lowercase letters and digits in words joined
/// by single hyphens, 2 to 40 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategorySlug(String);

impl CategorySlug {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let well_formed = (2..=40).contains(&raw.len())
            && raw
                .split('-')
                .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        if well_formed {
            Ok(Self(raw.to_owned()))
        } else {
            Err("must be 2 to 40 lowercase letters and digits in words joined by single hyphens".to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryName(String);

impl CategoryName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        text(raw, 1, 50, false).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A category jobs are filed under; listed in `position` order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub slug: CategorySlug,
    pub name: CategoryName,
    pub position: u32,
}

/// The categories a new store starts with: `(slug, name)`.
pub const DEFAULT_CATEGORIES: [(&str, &str); 8] = [
    ("food-cafe", "음식점·카페"),
    ("logistics", "물류·배송"),
    ("retail", "매장관리·판매"),
    ("events", "행사·스태프"),
    ("office", "사무보조"),
    ("cleaning", "청소·미화"),
    ("construction", "공사·현장"),
    ("etc", "기타"),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub(super) address: String,
    pub(super) lat: f64,
    pub(super) lng: f64,
}

impl Location {
    pub fn parse(address: &str, lat: f64, lng: f64) -> Result<Self, String> {
        let address = text(address, 1, 200, false).map_err(|e| format!("address {e}"))?;
        if !(-90.0..=90.0).contains(&lat) {
            return Err("lat must be between -90 and 90".to_owned());
        }
        if !(-180.0..=180.0).contains(&lng) {
            return Err("lng must be between -180 and 180".to_owned());
        }
        Ok(Self { address, lat, lng })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Headcount(pub(super) u32);

impl Headcount {
    pub fn parse(raw: i64) -> Result<Self, String> {
        match u32::try_from(raw) {
            Ok(n) if (1..=MAX_HEADCOUNT).contains(&n) => Ok(Self(n)),
            _ => Err(format!("must be 1 to {MAX_HEADCOUNT}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_only_when_valid() {
        assert!(JobTitle::parse(" a ").is_err());
        assert!(JobTitle::parse(&"가".repeat(100)).is_ok());
        assert!(JobTitle::parse(&"가".repeat(101)).is_err());
        assert!(JobTitle::parse("tab\tin title").is_err());
        assert!(Description::parse(&"x".repeat(5_000)).is_ok());
        assert!(Description::parse(&"x".repeat(5_001)).is_err());
        assert!(Description::parse("line\nbreaks are fine").is_ok());
        for (raw, ok) in [(0, false), (1, true), (100, true), (101, false), (-1, false)] {
            assert_eq!(Headcount::parse(raw).is_ok(), ok, "{raw}");
        }
        assert!(Location::parse("서울", 90.0, -180.0).is_ok());
        assert!(Location::parse("서울", 90.1, 0.0).is_err());
        assert!(Location::parse("서울", 0.0, 180.5).is_err());
        assert!(Location::parse("  ", 0.0, 0.0).is_err());
        for slug in ["food-cafe", "etc", "a1"] {
            assert!(CategorySlug::parse(slug).is_ok(), "{slug}");
        }
        for slug in ["Food", "a", "-a", "a--b", "a-", "카페", "a_b"] {
            assert!(CategorySlug::parse(slug).is_err(), "{slug}");
        }
    }
}
