//! The `[mail]` section of the configuration.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::Mailbox;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    pub transport: TransportKind,
    /// The sender, e.g. `원데이 <no-reply@oneday.example>`.
    pub from: String,
    /// Where the `file` transport writes; empty means `<data_dir>/mail`.
    pub dir: PathBuf,
    /// Ceiling of the delay between delivery attempts of one mail.
    pub retry_max_backoff_seconds: u64,
    pub smtp: SmtpConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    File,
    Smtp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// Both empty: no authentication.
    pub username: String,
    pub password: String,
    pub timeout_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain text: only for a relay on the same host or a trusted network.
    None,
    /// Upgrade with STARTTLS (submission, port 587); refuses to go on without it.
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl MailConfig {
    /// What types cannot say: `Err` names the key and what it must be.
    pub fn check(&self) -> Result<(), String> {
        self.sender()
            .map_err(|e| format!("`mail.from` must be a mailbox like \"원데이 <no-reply@oneday.example>\": {e}"))?;
        if self.retry_max_backoff_seconds == 0 {
            return Err("`mail.retry_max_backoff_seconds` must be at least 1".to_owned());
        }
        if self.transport == TransportKind::Smtp {
            let smtp = &self.smtp;
            if smtp.host.trim().is_empty() || smtp.port == 0 || smtp.timeout_seconds == 0 {
                return Err(
                    "`mail.smtp.host`, `mail.smtp.port` and `mail.smtp.timeout_seconds` must be set when \
                     mail.transport = \"smtp\""
                        .to_owned(),
                );
            }
            if smtp.username.is_empty() != smtp.password.is_empty() {
                return Err("`mail.smtp.username` and `mail.smtp.password` must be both set, or both empty".to_owned());
            }
        }
        Ok(())
    }

    pub fn sender(&self) -> Result<Mailbox, lettre::address::AddressError> {
        self.from.parse()
    }

    /// The directory of the `file` transport, relative to `data_dir` when not configured.
    pub fn dir_in(&self, data_dir: &Path) -> PathBuf {
        if self.dir.as_os_str().is_empty() {
            data_dir.join("mail")
        } else {
            self.dir.clone()
        }
    }

    pub fn max_backoff(&self) -> Duration {
        Duration::from_secs(self.retry_max_backoff_seconds)
    }

    /// Replaces the secrets, for showing the configuration.
    pub fn redact(&mut self) {
        if !self.smtp.password.is_empty() {
            self.smtp.password = "<redacted>".to_owned();
        }
    }
}
