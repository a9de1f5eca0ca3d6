//! The `[jobs]` section of the configuration.

use std::time::Duration;

use onetime_common::service::SectionConfig;
use serde::{Deserialize, Serialize};

use crate::domain::MinimumWage;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    /// The legal minimum hourly wage in won; hourly wages below it, and daily wages below it
    /// times the job's paid hours (the span less the break), are refused.
    pub minimum_hourly_wage: i64,
    /// How long after a job's end the scheduler completes it, when its owner has not.
    pub auto_complete_after: HumaneDuration,
    /// How often the scheduler looks for jobs to complete.
    pub scheduler_interval: HumaneDuration,
}

impl SectionConfig for JobsConfig {
    const SECTION: &'static str = "jobs";

    fn check(&self) -> Result<(), String> {
        if !(1..=1_000_000).contains(&self.minimum_hourly_wage) {
            return Err("`jobs.minimum_hourly_wage` must be 1 to 1000000 won".to_owned());
        }
        if self.scheduler_interval.0.is_zero() {
            return Err("`jobs.scheduler_interval` must be longer than zero".to_owned());
        }
        if self.auto_complete_after.0 > Duration::from_secs(366 * 24 * 3600) {
            return Err("`jobs.auto_complete_after` must be at most a year".to_owned());
        }
        Ok(())
    }
}

impl JobsConfig {
    pub(crate) fn minimum_wage(&self) -> MinimumWage {
        MinimumWage(self.minimum_hourly_wage)
    }
}

/// A duration written either as whole seconds (`86400`) or humanely (`"24h"`, `"1h 30m"`,
/// `"250ms"`); written back humanely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumaneDuration(pub Duration);

impl Serialize for HumaneDuration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(self.0).to_string())
    }
}

impl<'de> Deserialize<'de> for HumaneDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = HumaneDuration;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of seconds or a duration such as \"24h\" or \"1h 30m\"")
            }

            fn visit_u64<E: serde::de::Error>(self, seconds: u64) -> Result<HumaneDuration, E> {
                Ok(HumaneDuration(Duration::from_secs(seconds)))
            }

            fn visit_i64<E: serde::de::Error>(self, seconds: i64) -> Result<HumaneDuration, E> {
                u64::try_from(seconds)
                    .map(|s| HumaneDuration(Duration::from_secs(s)))
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(seconds), &self))
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<HumaneDuration, E> {
                humantime::parse_duration(text.trim())
                    .map(HumaneDuration)
                    .map_err(|e| E::custom(format!("`{text}` is not a duration ({e}); write e.g. \"24h\" or 86400")))
            }
        }

        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<HumaneDuration, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn durations_read_as_seconds_or_humanely_and_write_humanely() {
        assert_eq!(parse("86400").unwrap().0, Duration::from_secs(86_400));
        assert_eq!(parse("0").unwrap().0, Duration::ZERO);
        assert_eq!(parse("\"24h\"").unwrap().0, Duration::from_secs(86_400));
        assert_eq!(parse("\"1h 30m\"").unwrap().0, Duration::from_secs(5_400));
        assert_eq!(parse("\"250ms\"").unwrap().0, Duration::from_millis(250));
        assert!(parse("-1").is_err());
        assert!(parse("\"soon\"").unwrap_err().to_string().contains("not a duration"));
        let written = serde_json::to_string(&HumaneDuration(Duration::from_secs(5_400))).unwrap();
        assert_eq!(written, "\"1h 30m\"");
    }

    #[test]
    fn nonsense_is_refused_with_the_key_named() {
        let config = |wage, interval| JobsConfig {
            minimum_hourly_wage: wage,
            auto_complete_after: HumaneDuration(Duration::from_secs(86_400)),
            scheduler_interval: HumaneDuration(interval),
        };
        assert!(config(10_320, Duration::from_secs(60)).check().is_ok());
        assert!(
            config(0, Duration::from_secs(60))
                .check()
                .unwrap_err()
                .contains("minimum_hourly_wage")
        );
        assert!(
            config(10_320, Duration::ZERO)
                .check()
                .unwrap_err()
                .contains("scheduler_interval")
        );
    }
}
