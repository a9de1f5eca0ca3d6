//! The `[users]` section of the configuration.

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersConfig {
    /// Where people reach the web UI; links in mails are built on it
    /// (`{public_base_url}/verify-email?token=…`).
    pub public_base_url: String,
    pub refresh_token_ttl_seconds: u64,
    pub verification_token_ttl_seconds: u64,
    pub reset_token_ttl_seconds: u64,
    pub argon2: Argon2Config,
    pub login_throttle: ThrottleConfig,
    /// Whether posting a job, applying, paying and withdrawing need a verified email address.
    /// Off only for demos and fixtures.
    #[serde(default = "verification_required")]
    pub require_verified_email: bool,
}

fn verification_required() -> bool {
    true
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleConfig {
    pub max_failures: u32,
    pub window_seconds: u64,
}

impl UsersConfig {
    /// Checks what the types cannot; the message names the key.
    pub fn check(&self) -> Result<(), String> {
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
        if self.login_throttle.max_failures == 0 || self.login_throttle.window_seconds == 0 {
            return Err("`users.login_throttle.max_failures` and `window_seconds` must be at least 1".to_owned());
        }
        Ok(())
    }

    pub(crate) fn refresh_ttl(&self) -> Duration {
        Duration::from_secs(self.refresh_token_ttl_seconds)
    }

    pub(crate) fn verification_ttl(&self) -> Duration {
        Duration::from_secs(self.verification_token_ttl_seconds)
    }

    pub(crate) fn reset_ttl(&self) -> Duration {
        Duration::from_secs(self.reset_token_ttl_seconds)
    }
}
