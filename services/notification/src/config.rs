//! The service's config sections: `[notifications]`, `[sms]` and `[push]`. Every field has the
//! default `onetime.toml` documents, since a missing section reads as an empty table.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    /// Where people reach the web UI; links in notification mails are built on it.
    pub public_base_url: String,
    /// Ceiling of the delay between SMS and push attempts of one notification.
    pub retry_max_backoff_seconds: u64,
    /// How often the server pings an open socket.
    pub socket_ping_interval_seconds: u64,
    /// A socket that sends nothing (not even a pong) for this long is closed.
    pub socket_idle_timeout_seconds: u64,
    /// Frames waiting for one slow socket; past it the socket is closed with 1013.
    pub socket_send_queue: usize,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        Self {
            public_base_url: "http://127.0.0.1:3000".to_owned(),
            retry_max_backoff_seconds: 600,
            socket_ping_interval_seconds: 30,
            socket_idle_timeout_seconds: 90,
            socket_send_queue: 64,
        }
    }
}

impl NotificationsConfig {
    pub fn check(&self) -> Result<(), String> {
        let base = &self.public_base_url;
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!(
                "`notifications.public_base_url` must be an http(s) URL; `{base}` is not one"
            ));
        }
        if self.retry_max_backoff_seconds == 0 || self.socket_ping_interval_seconds == 0 || self.socket_send_queue == 0
        {
            return Err(
                "`notifications.retry_max_backoff_seconds`, `socket_ping_interval_seconds` and `socket_send_queue` \
                 must be at least 1"
                    .to_owned(),
            );
        }
        if self.socket_idle_timeout_seconds <= self.socket_ping_interval_seconds {
            return Err(
                "`notifications.socket_idle_timeout_seconds` must be longer than `socket_ping_interval_seconds`, \
                 or a quiet but healthy client is cut off between two pings"
                    .to_owned(),
            );
        }
        Ok(())
    }

    pub fn max_backoff(&self) -> Duration {
        Duration::from_secs(self.retry_max_backoff_seconds)
    }

    pub fn ping_interval(&self) -> Duration {
        Duration::from_secs(self.socket_ping_interval_seconds)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.socket_idle_timeout_seconds)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProviderKind {
    /// One file per message under `dir` (nothing leaves the machine).
    File,
    /// Solapi's messages API.
    Solapi,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsConfig {
    pub provider: SmsProviderKind,
    /// The sender number registered with the provider.
    pub from: String,
    /// Where the `file` provider writes; empty means `<data_dir>/sms`.
    pub dir: PathBuf,
    pub solapi: SolapiConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SolapiConfig {
    pub base_url: String,
    pub api_key: String,
    pub api_secret: String,
    pub timeout_seconds: u64,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            provider: SmsProviderKind::File,
            from: "0212345678".to_owned(),
            dir: PathBuf::new(),
            solapi: SolapiConfig::default(),
        }
    }
}

impl Default for SolapiConfig {
    fn default() -> Self {
        Self {
            base_url: "https://api.solapi.com".to_owned(),
            api_key: String::new(),
            api_secret: String::new(),
            timeout_seconds: 10,
        }
    }
}

impl SmsConfig {
    pub fn check(&self) -> Result<(), String> {
        if self.from.is_empty() || !self.from.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "`sms.from` must be a phone number of digits only; `{}` is not",
                self.from
            ));
        }
        if self.provider == SmsProviderKind::Solapi {
            let solapi = &self.solapi;
            if solapi.api_key.is_empty() || solapi.api_secret.is_empty() || solapi.timeout_seconds == 0 {
                return Err(
                    "`sms.solapi.api_key`, `sms.solapi.api_secret` and `sms.solapi.timeout_seconds` must be set \
                     when sms.provider = \"solapi\""
                        .to_owned(),
                );
            }
        }
        Ok(())
    }

    pub fn dir_in(&self, data_dir: &Path) -> PathBuf {
        if self.dir.as_os_str().is_empty() {
            data_dir.join("sms")
        } else {
            self.dir.clone()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PushProviderKind {
    /// No push: nothing is queued for the push channel.
    None,
    /// Firebase Cloud Messaging, HTTP v1.
    Fcm,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PushConfig {
    pub provider: PushProviderKind,
    pub fcm: FcmConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FcmConfig {
    /// The service-account key file (JSON) downloaded from the Firebase console.
    pub service_account_file: PathBuf,
    /// The Firebase project; empty means the key's `project_id`.
    pub project_id: String,
    /// The OAuth token endpoint; empty means the key's `token_uri`.
    pub token_url: String,
    pub base_url: String,
    pub timeout_seconds: u64,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            provider: PushProviderKind::None,
            fcm: FcmConfig::default(),
        }
    }
}

impl Default for FcmConfig {
    fn default() -> Self {
        Self {
            service_account_file: PathBuf::new(),
            project_id: String::new(),
            token_url: String::new(),
            base_url: "https://fcm.googleapis.com".to_owned(),
            timeout_seconds: 10,
        }
    }
}

impl PushConfig {
    pub fn check(&self) -> Result<(), String> {
        if self.provider == PushProviderKind::Fcm
            && (self.fcm.service_account_file.as_os_str().is_empty() || self.fcm.timeout_seconds == 0)
        {
            return Err(
                "`push.fcm.service_account_file` and `push.fcm.timeout_seconds` must be set when push.provider = \"fcm\""
                    .to_owned(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, to_value};

    use super::*;

    /// `onetime.toml`, the embedded default, shows every key of these sections with the value a
    /// missing key takes, so that what it documents is what runs.
    #[test]
    fn onetime_toml_holds_every_key_with_its_default() {
        let file: toml::Table = toml::from_str(include_str!("../../../onetime.toml")).unwrap();
        let section = |name: &str| to_value(&file[name]).unwrap();
        let expected: [(&str, Value); 3] = [
            ("notifications", to_value(NotificationsConfig::default()).unwrap()),
            ("sms", to_value(SmsConfig::default()).unwrap()),
            ("push", to_value(PushConfig::default()).unwrap()),
        ];
        for (name, defaults) in expected {
            assert_eq!(section(name), defaults, "[{name}]");
        }
    }
}
