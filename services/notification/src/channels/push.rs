//! The push channel: Firebase Cloud Messaging, HTTP v1.
//!
//! A service-account key signs an RS256 JWT, exchanged at the OAuth token endpoint for an access
//! token that is cached until shortly before it expires; each message is then one
//! `POST {base}/v1/projects/{project}/messages:send` per device. FCM answering `UNREGISTERED`
//! means the app is gone from that device: the caller removes it. 429 and 503 come with
//! `Retry-After`, which the caller's retry honours.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::{SendError, retry_after};
use crate::config::FcmConfig;
use crate::domain::Notification;

/// The scope FCM's send API asks of an access token.
const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Google accepts assertions valid for at most an hour.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(3600);
/// A cached access token is renewed this long before it expires, so none expires in flight.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// The fields of a service-account key file that matter here.
#[derive(Debug, Deserialize)]
struct ServiceAccount {
    client_email: String,
    private_key: String,
    #[serde(default)]
    token_uri: String,
    #[serde(default)]
    project_id: String,
}

/// What sending to one device ended in.
#[derive(Debug)]
pub enum PushOutcome {
    Sent,
    /// The token is dead: remove the device.
    Unregistered,
    Failed(SendError),
}

struct AccessToken {
    value: String,
    renew_at: Instant,
}

/// An FCM HTTP v1 client.
pub struct Fcm {
    client: reqwest::Client,
    key: EncodingKey,
    client_email: String,
    token_url: String,
    send_url: String,
    token: Mutex<Option<AccessToken>>,
}

#[derive(Serialize)]
struct Assertion<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

impl Fcm {
    /// Reads the key file `config` names; errors are for the operator.
    pub fn new(config: &FcmConfig) -> Result<Self, String> {
        let path = &config.service_account_file;
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read `push.fcm.service_account_file` {}: {e}", path.display()))?;
        let account: ServiceAccount =
            serde_json::from_str(&text).map_err(|e| format!("{} is not a service-account key: {e}", path.display()))?;
        let private = RsaPrivateKey::from_pkcs8_pem(&account.private_key)
            .map_err(|e| format!("the private key in {} is not a PKCS#8 RSA key: {e}", path.display()))?;
        let der = private
            .to_pkcs1_der()
            .map_err(|e| format!("the private key in {} cannot be encoded: {e}", path.display()))?;
        let pick = |configured: &str, from_key: &str| {
            if configured.is_empty() {
                from_key.to_owned()
            } else {
                configured.to_owned()
            }
        };
        let project = pick(&config.project_id, &account.project_id);
        let token_url = pick(&config.token_url, &account.token_uri);
        if project.is_empty() || token_url.is_empty() {
            return Err(format!(
                "set `push.fcm.project_id` and `push.fcm.token_url`: {} names no project_id or token_uri",
                path.display()
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_seconds))
            .build()
            .map_err(|e| format!("cannot build the FCM client: {e}"))?;
        Ok(Self {
            client,
            key: EncodingKey::from_rsa_der(der.as_bytes()),
            client_email: account.client_email,
            token_url,
            send_url: format!(
                "{}/v1/projects/{project}/messages:send",
                config.base_url.trim_end_matches('/')
            ),
            token: Mutex::new(None),
        })
    }

    /// The cached access token, or a new one from the token endpoint.
    async fn access_token(&self) -> Result<String, SendError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(token.value.clone());
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
        let claims = Assertion {
            iss: &self.client_email,
            scope: SCOPE,
            aud: &self.token_url,
            iat: now,
            exp: now + ASSERTION_LIFETIME.as_secs(),
        };
        let assertion = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map_err(|e| SendError::Permanent(format!("cannot sign the FCM assertion: {e}")))?;
        let response = self
            .client
            .post(&self.token_url)
            .form(&[("grant_type", GRANT_TYPE), ("assertion", &assertion)])
            .send()
            .await
            .map_err(SendError::transient)?;
        let status = response.status();
        if !status.is_success() {
            let wait = retry_after(response.headers());
            let body = response.text().await.unwrap_or_default();
            return Err(SendError::from_status(status, wait, &format!("token endpoint: {body}")));
        }
        let answer: TokenAnswer = response
            .json()
            .await
            .map_err(|e| SendError::transient(format!("the token endpoint answered nonsense: {e}")))?;
        let lifetime = Duration::from_secs(answer.expires_in).saturating_sub(RENEW_BEFORE);
        *cached = Some(AccessToken {
            value: answer.access_token.clone(),
            renew_at: Instant::now() + lifetime,
        });
        Ok(answer.access_token)
    }

    /// Sends `notification` to the device with `device_token`.
    pub async fn send(&self, notification: &Notification, device_token: &str) -> PushOutcome {
        let access = match self.access_token().await {
            Ok(access) => access,
            Err(error) => return PushOutcome::Failed(error),
        };
        let mut data = notification.data.clone();
        data.insert("notificationId".to_owned(), notification.id.clone());
        data.insert("kind".to_owned(), notification.kind.as_str().to_owned());
        let message = serde_json::json!({
            "message": {
                "token": device_token,
                "notification": { "title": notification.title, "body": notification.body },
                "data": data,
            }
        });
        let response = match self
            .client
            .post(&self.send_url)
            .bearer_auth(access)
            .json(&message)
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) => return PushOutcome::Failed(SendError::transient(error)),
        };
        let status = response.status();
        if status.is_success() {
            return PushOutcome::Sent;
        }
        let wait = retry_after(response.headers());
        let body = response.text().await.unwrap_or_default();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            // The access token was revoked or expired early: the next attempt fetches another.
            *self.token.lock().await = None;
            return PushOutcome::Failed(SendError::transient(format!("FCM refused the access token: {body}")));
        }
        if error_code(&body).as_deref() == Some("UNREGISTERED") {
            return PushOutcome::Unregistered;
        }
        PushOutcome::Failed(SendError::from_status(status, wait, &body))
    }
}

/// The FCM error code of an error answer (`details[].errorCode`).
fn error_code(body: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Answer {
        error: Error,
    }
    #[derive(Deserialize)]
    struct Error {
        #[serde(default)]
        details: Vec<BTreeMap<String, serde_json::Value>>,
    }
    let answer: Answer = serde_json::from_str(body).ok()?;
    answer
        .error
        .details
        .iter()
        .find_map(|detail| detail.get("errorCode")?.as_str().map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_read_from_the_details() {
        let body = r#"{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND",
            "details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}"#;
        assert_eq!(error_code(body).as_deref(), Some("UNREGISTERED"));
        assert_eq!(error_code("{}"), None);
        assert_eq!(error_code("not json"), None);
    }
}
