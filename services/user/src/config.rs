//! The `[users]` section of the configuration.

use std::time::Duration;

use onetime_common::service::SectionConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersConfig {
    /// Where people reach the web UI; links in mails are built on it
    /// (`{public_base_url}/verify-email?token=…`).
    pub public_base_url: String,
    pub refresh_token_ttl_seconds: u64,
    pub verification_token_ttl_seconds: u64,
    /// The least time between two verification mails to one account, the registration mail
    /// included (`POST /auth/verify-email/resend` answers 429 sooner).
    #[serde(default = "one_minute")]
    pub verification_mail_interval_seconds: u64,
    pub reset_token_ttl_seconds: u64,
    pub argon2: Argon2Config,
    pub login_throttle: ThrottleConfig,
    #[serde(default)]
    pub reset_mail: ResetMailConfig,
    /// Whether posting a job, applying, paying and withdrawing need a verified email address.
    /// Off only for demos and fixtures.
    #[serde(default = "verification_required")]
    pub require_verified_email: bool,
}

fn verification_required() -> bool {
    true
}

fn one_minute() -> u64 {
    60
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Config {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes computed at the same time; 0 means one per CPU.
    pub max_concurrent: usize,
}

/// See `throttle.rs` for the rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleConfig {
    /// Failures for one account from one client address before that address waits.
    pub max_failures: u32,
    /// Failures for one account from all addresses together before the whole account waits.
    #[serde(default = "default_account_max_failures")]
    pub account_max_failures: u32,
    /// The first wait; each further failure doubles it, up to `window_seconds`.
    #[serde(default = "default_first_wait_seconds")]
    pub first_wait_seconds: u64,
    /// The longest wait, and how long a quiet key takes to be forgiven.
    pub window_seconds: u64,
}

fn default_account_max_failures() -> u32 {
    50
}

fn default_first_wait_seconds() -> u64 {
    60
}

/// How often password reset links are mailed to one account, whoever asks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResetMailConfig {
    /// Seconds between two reset mails to one account at least.
    pub min_interval_seconds: u64,
    /// Reset mails to one account within an hour at most.
    pub max_per_hour: u32,
}

impl Default for ResetMailConfig {
    fn default() -> Self {
        Self {
            min_interval_seconds: 60,
            max_per_hour: 5,
        }
    }
}

impl SectionConfig for UsersConfig {
    const SECTION: &'static str = "users";

    fn check(&self) -> Result<(), String> {
        let base = self.public_base_url.trim_end_matches('/');
        let scheme_ok = base.starts_with("http://") || base.starts_with("https://");
        if !scheme_ok || base.contains(['?', '#', ' ']) || base.split("://").nth(1).is_none_or(str::is_empty) {
            return Err(format!(
                "`users.public_base_url` must be an http(s) URL such as \"https://oneday.example\"; `{}` is not one",
                self.public_base_url
            ));
        }
        let ttls = [
            self.refresh_token_ttl_seconds,
            self.verification_token_ttl_seconds,
            self.reset_token_ttl_seconds,
        ];
        if ttls.contains(&0) {
            return Err(
                "`users.refresh_token_ttl_seconds`, `users.verification_token_ttl_seconds` and \
                 `users.reset_token_ttl_seconds` must be at least 1"
                    .to_owned(),
            );
        }
        let argon2 = &self.argon2;
        argon2::Params::new(argon2.memory_kib, argon2.iterations, argon2.parallelism, None).map_err(|e| {
            format!(
                "`users.argon2` parameters are not usable ({e}): memory_kib must be at least 8 × parallelism, \
                 iterations at least 1, parallelism 1 to 16777215"
            )
        })?;
        let throttle = &self.login_throttle;
        if [throttle.max_failures, throttle.account_max_failures].contains(&0)
            || [throttle.window_seconds, throttle.first_wait_seconds].contains(&0)
        {
            return Err(
                "`users.login_throttle.max_failures`, `account_max_failures`, `first_wait_seconds` and \
                 `window_seconds` must be at least 1"
                    .to_owned(),
            );
        }
        if throttle.account_max_failures < throttle.max_failures {
            return Err(
                "`users.login_throttle.account_max_failures` must be at least `max_failures`: the whole account \
                 would lock before one address does"
                    .to_owned(),
            );
        }
        if self.reset_mail.max_per_hour == 0 {
            return Err("`users.reset_mail.max_per_hour` must be at least 1".to_owned());
        }
        Ok(())
    }
}

impl UsersConfig {
    pub(crate) fn refresh_ttl(&self) -> Duration {
        Duration::from_secs(self.refresh_token_ttl_seconds)
    }

    pub(crate) fn verification_ttl(&self) -> Duration {
        Duration::from_secs(self.verification_token_ttl_seconds)
    }

    pub(crate) fn verification_mail_interval(&self) -> Duration {
        Duration::from_secs(self.verification_mail_interval_seconds)
    }

    pub(crate) fn reset_ttl(&self) -> Duration {
        Duration::from_secs(self.reset_token_ttl_seconds)
    }
}
