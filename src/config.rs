//! Configuration: the embedded `onetime.toml`, an optional `--config` file over it, and
//! `ONETIME_<SECTION>__<KEY>` environment variables over both.
//!
//! Loading parses into types and checks what types cannot (ranges, origins, production rules),
//! so a bad configuration stops start-up with a message naming the key, never later.
//!
//! The platform's own sections are typed here. Every other top-level section belongs to a
//! service (its `ServiceDef::config_sections`) and is kept as a raw [`Sections`] map that the
//! service parses and checks itself, so adding a service adds nothing here. A section no service
//! owns is refused like an unknown key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use onetime_common::service::Sections;
use onetime_gateway::GatewayConfig;
use serde::{Deserialize, Serialize};

use crate::services::SERVICES;

/// The embedded default configuration.
pub const DEFAULT_TOML: &str = include_str!("../onetime.toml");

// No `deny_unknown_fields` here (serde cannot combine it with `flatten`): `check` refuses
// sections that no service owns instead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub profile: Profile,
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub log: LogConfig,
    pub auth: AuthConfig,
    pub gateway: GatewayConfig,
    pub bus: BusSettings,
    #[serde(default)]
    pub storage: StorageSettings,
    /// Shared by every service that sends mail.
    pub mail: onetime_common::mail::MailConfig,
    /// The services' own sections, by top-level key.
    #[serde(flatten)]
    pub services: BTreeMap<String, serde_json::Value>,
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

/// `enabled`, then one address per service name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceListeners {
    pub enabled: bool,
    #[serde(flatten)]
    pub addrs: BTreeMap<String, SocketAddr>,
}

impl ServiceListeners {
    /// The address of `service`'s own listener, when these listeners are on.
    pub fn addr_of(&self, service: &str) -> Option<SocketAddr> {
        self.enabled.then(|| self.addrs.get(service).copied()).flatten()
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

/// The `[storage]` section: the memory each store file may keep, and when files are compacted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    /// redb's page cache per store file, in MiB.
    pub cache_mib: usize,
    /// At start-up, a store file with more than this share free is compacted (1.0: never).
    pub compact_above_free_share: f64,
    /// Files smaller than this (MiB) are not compacted at start-up.
    pub compact_min_mib: u64,
    /// How often each file's free share is measured for `/health` and `/metrics`, in minutes.
    pub space_check_minutes: u64,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            cache_mib: 4,
            compact_above_free_share: 0.5,
            compact_min_mib: 64,
            space_check_minutes: 10,
        }
    }
}

impl StorageSettings {
    pub fn store_options(&self) -> onetime_storage::StoreOptions {
        onetime_storage::StoreOptions {
            cache_bytes: self.cache_mib * 1024 * 1024,
        }
    }

    pub fn compaction_policy(&self) -> onetime_storage::CompactionPolicy {
        onetime_storage::CompactionPolicy {
            above_free_share: self.compact_above_free_share,
            min_file_bytes: self.compact_min_mib * 1024 * 1024,
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
        if !(1..=65_536).contains(&self.storage.cache_mib) {
            return invalid("storage.cache_mib", "1 to 65536");
        }
        if !(0.0..=1.0).contains(&self.storage.compact_above_free_share) {
            return invalid("storage.compact_above_free_share", "a share from 0.0 to 1.0");
        }
        if self.storage.space_check_minutes == 0 {
            return invalid("storage.space_check_minutes", "at least 1");
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
        self.mail.check().map_err(ConfigError::Invalid)?;
        for section in self.services.keys() {
            if !SERVICES.iter().any(|s| s.config_sections.contains(&section.as_str())) {
                return Err(ConfigError::Invalid(format!("unknown section or key `{section}`")));
            }
        }
        let sections = self.sections();
        for service in SERVICES {
            (service.check_config)(&sections).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        }
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

    /// The services' sections, as services read them.
    pub fn sections(&self) -> Sections {
        Sections(self.services.clone())
    }

    /// Sets the value at the dotted `path` of a service's section, e.g.
    /// `set("users.argon2.memory_kib", 64)`: how tests and embedders adjust service settings.
    pub fn set(&mut self, path: &str, value: impl Serialize) {
        let value = serde_json::to_value(value).expect("a setting serializes to JSON");
        let mut keys = path.split('.');
        let first = keys.next().unwrap_or_default();
        let mut slot = self
            .services
            .entry(first.to_owned())
            .or_insert_with(|| serde_json::json!({}));
        for key in keys {
            if !slot.is_object() {
                *slot = serde_json::json!({});
            }
            slot = slot
                .as_object_mut()
                .expect("made an object above")
                .entry(key)
                .or_insert(serde_json::Value::Null);
        }
        *slot = value;
    }

    /// The effective configuration as TOML, secrets replaced.
    pub fn redacted_toml(&self) -> String {
        let mut shown = self.clone();
        if !shown.auth.jwt_secret.is_empty() {
            shown.auth.jwt_secret = "<redacted>".to_owned();
        }
        shown.mail.redact();
        for section in shown.services.values_mut() {
            redact_secrets(section);
        }
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot render the configuration: {e}"))
    }
}

/// Replaces every non-empty string whose key names a secret (`*secret*`, `*password*`,
/// `*_key`) in a service's section.
fn redact_secrets(value: &mut serde_json::Value) {
    if let Some(table) = value.as_object_mut() {
        for (key, value) in table {
            let secret = key.contains("secret") || key.contains("password") || key.ends_with("_key");
            match value {
                serde_json::Value::String(text) if secret && !text.is_empty() => *text = "<redacted>".to_owned(),
                other => redact_secrets(other),
            }
        }
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
        assert_eq!(
            config.services["users"]["argon2"]["memory_kib"], 19_456,
            "OWASP's minimum by default"
        );
        config.mail.smtp.username = "mailer".to_owned();
        config.mail.smtp.password = "smtp-secret-value".to_owned();
        let shown = config.redacted_toml();
        assert!(
            !shown.contains("smtp-secret-value") && shown.contains("<redacted>"),
            "{shown}"
        );

        let refused = |change: &dyn Fn(&mut Config), key: &str| {
            let mut config = Config::load(None).unwrap();
            change(&mut config);
            let error = config.check().unwrap_err().to_string();
            assert!(error.contains(key), "{key}: {error}");
        };
        refused(&|c| c.set("users.argon2.memory_kib", 4), "users.argon2");
        refused(
            &|c| c.set("users.public_base_url", "oneday.example"),
            "users.public_base_url",
        );
        refused(
            &|c| c.set("users.login_throttle.max_failures", 0),
            "users.login_throttle",
        );
        refused(
            &|c| c.set("users.reset_token_ttl_seconds", 0),
            "users.reset_token_ttl_seconds",
        );
        refused(&|c| c.set("users.argon2.memory_kib", "lots"), "users.argon2.memory_kib");
        refused(&|c| c.set("nosuchservice.key", 1), "nosuchservice");
        refused(&|c| c.mail.from = "not a mailbox".to_owned(), "mail.from");
        refused(
            &|c| {
                c.mail.transport = onetime_common::mail::TransportKind::Smtp;
                c.mail.smtp.username = "only-a-name".to_owned();
            },
            "mail.smtp.username",
        );
    }
}
