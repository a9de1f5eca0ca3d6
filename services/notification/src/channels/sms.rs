//! The SMS channel behind a provider trait: `file` (the default: one JSON file per message
//! under the data directory, so a development instance texts nobody) and Solapi's messages API
//! (`POST /messages/v4/send`, authorized by an HMAC-SHA256 signature of a date and a salt).
//! Texts over 90 EUC-KR bytes go as LMS, with the title as their subject.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use hmac::{Hmac, Mac};
use rand::Rng;
use serde::Serialize;
use sha2::Sha256;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{SendError, retry_after};
use crate::config::{SmsConfig, SmsProviderKind, SolapiConfig};
use crate::domain::{Notification, TextKind, domestic_number};

/// One text message, as carriers take it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TextMessage {
    /// The notification it tells of: a retry of the same message carries the same id.
    #[serde(skip)]
    pub id: String,
    /// Domestic digits: `01012345678`.
    pub to: String,
    pub from: String,
    #[serde(rename = "type")]
    pub kind: TextKind,
    /// LMS only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub text: String,
}

impl TextMessage {
    /// The text telling the holder of `to` (E.164) about `notification`.
    pub fn new(notification: &Notification, to: &str, from: &str) -> Self {
        let short = format!("[원데이] {}\n{}", notification.title, notification.body);
        let kind = TextKind::of(&short);
        let (subject, text) = match kind {
            TextKind::Sms => (None, short),
            TextKind::Lms => (
                Some(format!("[원데이] {}", notification.title)),
                notification.body.clone(),
            ),
        };
        Self {
            id: notification.id.clone(),
            to: domestic_number(to),
            from: from.to_owned(),
            kind,
            subject,
            text,
        }
    }
}

pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

/// A way to send text messages.
pub trait SmsProvider: Send + Sync + 'static {
    fn send<'a>(&'a self, message: &'a TextMessage) -> Sending<'a>;
}

/// The provider `config` names.
pub fn provider(config: &SmsConfig, data_dir: &std::path::Path) -> Result<Box<dyn SmsProvider>, String> {
    match config.provider {
        SmsProviderKind::File => {
            let dir = config.dir_in(data_dir);
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create the SMS directory {}: {e}", dir.display()))?;
            Ok(Box::new(FileSms { dir }))
        }
        SmsProviderKind::Solapi => Ok(Box::new(Solapi::new(&config.solapi)?)),
    }
}

/// Writes each message to `<dir>/<notification id>.json`; a retry rewrites the same file.
pub struct FileSms {
    dir: PathBuf,
}

impl SmsProvider for FileSms {
    fn send<'a>(&'a self, message: &'a TextMessage) -> Sending<'a> {
        Box::pin(async move {
            let body = serde_json::to_vec_pretty(message).map_err(|e| SendError::Permanent(e.to_string()))?;
            let path = self.dir.join(format!("{}.json", message.id));
            tokio::fs::write(&path, body)
                .await
                .map_err(|e| SendError::transient(format!("cannot write {}: {e}", path.display())))
        })
    }
}

/// Solapi's messages API.
pub struct Solapi {
    client: reqwest::Client,
    url: String,
    api_key: String,
    api_secret: String,
}

impl Solapi {
    pub fn new(config: &SolapiConfig) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_seconds))
            .build()
            .map_err(|e| format!("cannot build the Solapi client: {e}"))?;
        Ok(Self {
            client,
            url: format!("{}/messages/v4/send", config.base_url.trim_end_matches('/')),
            api_key: config.api_key.clone(),
            api_secret: config.api_secret.clone(),
        })
    }

    /// `HMAC-SHA256 apiKey=…, date=…, salt=…, signature=hex(HMAC(secret, date + salt))`.
    fn authorization(&self, date: &str, salt: &str) -> String {
        format!(
            "HMAC-SHA256 apiKey={}, date={date}, salt={salt}, signature={}",
            self.api_key,
            signature(&self.api_secret, date, salt)
        )
    }
}

/// Solapi's request signature: hex HMAC-SHA256 of `date` followed by `salt`, keyed by the secret.
pub fn signature(secret: &str, date: &str, salt: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(date.as_bytes());
    mac.update(salt.as_bytes());
    hex(&mac.finalize().into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl SmsProvider for Solapi {
    fn send<'a>(&'a self, message: &'a TextMessage) -> Sending<'a> {
        Box::pin(async move {
            let date = OffsetDateTime::now_utc()
                .format(&Rfc3339)
                .map_err(|e| SendError::Permanent(e.to_string()))?;
            let salt = hex(&rand::rng().random::<[u8; 16]>());
            let response = self
                .client
                .post(&self.url)
                .header(reqwest::header::AUTHORIZATION, self.authorization(&date, &salt))
                .json(&serde_json::json!({ "message": message }))
                .send()
                .await
                .map_err(SendError::transient)?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let wait = retry_after(response.headers());
            let body = response.text().await.unwrap_or_default();
            Err(SendError::from_status(status, wait, &body))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::Kind;

    fn notification(body: &str) -> Notification {
        Notification {
            id: "n1".into(),
            user_id: "u1".into(),
            kind: Kind::ApplicationAccepted,
            title: "채용이 확정되었습니다".into(),
            body: body.into(),
            data: BTreeMap::new(),
            read_at: None,
            created_at: OffsetDateTime::now_utc(),
        }
    }

    #[test]
    fn long_texts_become_lms_with_a_subject() {
        let short = TextMessage::new(&notification("내일 9시"), "+821012345678", "0212345678");
        assert_eq!((short.kind, short.subject.as_deref()), (TextKind::Sms, None));
        assert_eq!(short.to, "01012345678");
        assert!(short.text.starts_with("[원데이] 채용이 확정되었습니다\n"));

        let long = TextMessage::new(&notification(&"가".repeat(60)), "+821012345678", "0212345678");
        assert_eq!(long.kind, TextKind::Lms);
        assert_eq!(long.subject.as_deref(), Some("[원데이] 채용이 확정되었습니다"));
        assert_eq!(long.text, "가".repeat(60));
    }

    #[test]
    fn signatures_match_solapi_s_reference() {
        // The reference value of a public client of Solapi, recomputed with Python's hmac module.
        assert_eq!(
            signature("test-secret", "2026-10-08T00:00:00.000Z", "abc123"),
            "01ed74b1a957a9670695979fd98b45116ee25697ed1ec792422ae5dc0dac1ac7"
        );
    }
}
