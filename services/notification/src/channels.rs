//! The ways out besides in-app: email (the shared mail queue), SMS and push (this service's own
//! delivery queues). What an attempt on an outside provider can end in is the same for all.

pub mod email;
pub mod push;
pub mod sms;

use std::time::Duration;

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth another try: the provider is away, busy, or rate-limits us (`retry_after` when it
    /// said how long to wait).
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The provider refused for good: retrying cannot help.
    Permanent(String),
}

impl SendError {
    pub fn transient(reason: impl std::fmt::Display) -> Self {
        Self::Transient {
            reason: reason.to_string(),
            retry_after: None,
        }
    }

    /// The class of an HTTP error answer: 408, 429 and 5xx pass, the other 4xx stay.
    pub fn from_status(status: reqwest::StatusCode, retry_after: Option<Duration>, body: &str) -> Self {
        let reason = format!("{status}: {}", body.chars().take(300).collect::<String>());
        if status.is_server_error() || status == 429 || status == 408 {
            Self::Transient { reason, retry_after }
        } else {
            Self::Permanent(reason)
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transient { reason, .. } | Self::Permanent(reason) => f.write_str(reason),
        }
    }
}

/// The `Retry-After` of an answer, in seconds (the form FCM and most APIs use).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse().ok().map(Duration::from_secs)
}
