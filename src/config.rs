//! Configuration: the embedded `onetime.toml`, an optional `--config` file over it, and
//! `ONETIME_<SECTION>__<KEY>` environment variables over both.
//!
//! Loading parses into types and checks what types cannot (ranges, origins, production rules),
//! so a bad configuration stops start-up with a message naming the key, never later.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use onetime_gateway::GatewayConfig;
use serde::{Deserialize, Serialize};

/// The embedded default configuration.
pub const DEFAULT_TOML: &str = include_str!("../onetime.toml");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub profile: Profile,
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub log: LogConfig,
    pub auth: AuthConfig,
    pub gateway: GatewayConfig,
    pub bus: BusSettings,
    pub jobs: onetime_job::JobsConfig,
    pub users: onetime_user::UsersConfig,
    pub mail: onetime_common::mail::MailConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Development,
    Production,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub addr: SocketAddr,
    pub shutdown_grace_seconds: u64,
    pub tls: TlsConfig,
    pub service_listeners: ServiceListeners,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsConfig {
    /// The certificate and key files, when TLS is configured.
    pub fn files(&self) -> Option<(&Path, &Path)> {
        (!self.cert.as_os_str().is_empty()).then_some((self.cert.as_path(), self.key.as_path()))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceListeners {
    pub enabled: bool,
    pub user: SocketAddr,
    pub job: SocketAddr,
    pub payment: SocketAddr,
    pub search: SocketAddr,
    pub notification: SocketAddr,
    pub chat: SocketAddr,
}

impl ServiceListeners {
    /// The address of `service`'s own listener, when these listeners are on.
    pub fn addr_of(&self, service: &str) -> Option<SocketAddr> {
        if !self.enabled {
            return None;
        }
        match service {
            "user" => Some(self.user),
            "job" => Some(self.job),
            "payment" => Some(self.payment),
            "search" => Some(self.search),
            "notification" => Some(self.notification),
            "chat" => Some(self.chat),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub jwt_secret: String,
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusSettings {
    pub batch_size: usize,
    pub max_backoff_ms: u64,
    pub prune_interval_seconds: u64,
}

impl BusSettings {
    pub fn bus_config(&self) -> onetime_common::bus::BusConfig {
        onetime_common::bus::BusConfig {
            batch_size: self.batch_size,
            max_backoff: std::time::Duration::from_millis(self.max_backoff_ms),
            prune_interval: std::time::Duration::from_secs(self.prune_interval_seconds),
        }
    }
}

/// Why a configuration was refused. The message is meant for the operator as it is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads the embedded default, then `file`, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(path) = file {
            // figment reads a missing file as empty; an operator who names a file means it.
            std::fs::read(path).map_err(|source| ConfigError::Unreadable {
                path: path.to_owned(),
                source,
            })?;
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(Env::prefixed("ONETIME_").split("__").ignore(&["config"]));
        let config: Config = figment.extract().map_err(|e| ConfigError::Invalid(describe(e)))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, expected: &str| Err(ConfigError::Invalid(format!("`{key}` must be {expected}")));
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return invalid(
                "log.level",
                "a tracing filter such as \"info\" or \"info,onetime=debug\"",
            );
        }
        if !self.auth.jwt_secret.is_empty() && self.auth.jwt_secret.len() < 32 {
            return invalid(
                "auth.jwt_secret",
                "at least 32 characters long (or empty to generate one)",
            );
        }
        if self.auth.access_token_ttl_seconds == 0 {
            return invalid("auth.access_token_ttl_seconds", "at least 1");
        }
        if self.gateway.body_limit_bytes == 0 || self.gateway.request_timeout_seconds == 0 {
            return invalid(
                "gateway.body_limit_bytes and gateway.request_timeout_seconds",
                "at least 1",
            );
        }
        self.gateway.connections.check().map_err(ConfigError::Invalid)?;
        for origin in &self.gateway.cors.allowed_origins {
            let looks_like_origin = origin == "*"
                || ((origin.starts_with("http://") || origin.starts_with("https://"))
                    && !origin.trim_end_matches('/').contains(['?', '#', ' ']));
            if !looks_like_origin || http::HeaderValue::from_str(origin).is_err() {
                return invalid(
                    "gateway.cors.allowed_origins",
                    &format!("a list of origins like \"https://example.com\"; `{origin}` is not one"),
                );
            }
        }
        for (name, group) in &self.gateway.rate_limit.groups {
            if [
                group.ip_per_minute,
                group.ip_burst,
                group.user_per_minute,
                group.user_burst,
            ]
            .contains(&0)
            {
                return invalid(
                    &format!("gateway.rate_limit.groups.{name}"),
                    "made of numbers of at least 1",
                );
            }
        }
        if self.bus.batch_size == 0 || self.bus.max_backoff_ms == 0 || self.bus.prune_interval_seconds == 0 {
            return invalid(
                "bus.batch_size, bus.max_backoff_ms and bus.prune_interval_seconds",
                "at least 1",
            );
        }
        self.jobs.check().map_err(ConfigError::Invalid)?;
        self.users.check().map_err(ConfigError::Invalid)?;
        self.mail.check().map_err(ConfigError::Invalid)?;
        if self.server.tls.cert.as_os_str().is_empty() != self.server.tls.key.as_os_str().is_empty() {
            return invalid("server.tls.cert and server.tls.key", "both set, or both empty");
        }
        if self.profile == Profile::Production {
            if self.auth.jwt_secret.is_empty() {
                return invalid("auth.jwt_secret", "set explicitly when profile = \"production\"");
            }
            let default: Config = Figment::from(Toml::string(DEFAULT_TOML))
                .extract()
                .map_err(|e| ConfigError::Invalid(describe(e)))?;
            if self.gateway.cors == default.gateway.cors {
                return invalid(
                    "gateway.cors.allowed_origins",
                    "your site's origins when profile = \"production\", not the development defaults",
                );
            }
        }
        Ok(())
    }

    /// The effective configuration as TOML, secrets replaced.
    pub fn redacted_toml(&self) -> String {
        let mut shown = self.clone();
        if !shown.auth.jwt_secret.is_empty() {
            shown.auth.jwt_secret = "<redacted>".to_owned();
        }
        shown.mail.redact();
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot render the configuration: {e}"))
    }
}

/// figment's errors name the key and where its value came from; keep all of it, one per line.
fn describe(error: figment::Error) -> String {
    error.into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_default_is_valid_and_development() {
        let config = Config::load(None).unwrap();
        assert_eq!(config.profile, Profile::Development);
        assert_eq!(config.server.addr.to_string(), "127.0.0.1:3000");
        assert!(config.gateway.rate_limit.groups.contains_key("default"));
    }

    #[test]
    fn mail_and_user_settings_are_checked_and_the_smtp_password_is_never_shown() {
        let mut config = Config::load(None).unwrap();
        assert_eq!(config.users.argon2.memory_kib, 19_456, "OWASP's minimum by default");
        config.mail.smtp.username = "mailer".to_owned();
        config.mail.smtp.password = "smtp-secret-value".to_owned();
        let shown = config.redacted_toml();
        assert!(
            !shown.contains("smtp-secret-value") && shown.contains("<redacted>"),
            "{shown}"
        );

        let refused = |change: fn(&mut Config), key: &str| {
            let mut config = Config::load(None).unwrap();
            change(&mut config);
            let error = config.check().unwrap_err().to_string();
            assert!(error.contains(key), "{key}: {error}");
        };
        refused(|c| c.users.argon2.memory_kib = 4, "users.argon2");
        refused(
            |c| c.users.public_base_url = "oneday.example".to_owned(),
            "users.public_base_url",
        );
        refused(|c| c.users.login_throttle.max_failures = 0, "users.login_throttle");
        refused(|c| c.users.reset_token_ttl_seconds = 0, "users.reset_token_ttl_seconds");
        refused(|c| c.mail.from = "not a mailbox".to_owned(), "mail.from");
        refused(
            |c| {
                c.mail.transport = onetime_common::mail::TransportKind::Smtp;
                c.mail.smtp.username = "only-a-name".to_owned();
            },
            "mail.smtp.username",
        );
    }
}
