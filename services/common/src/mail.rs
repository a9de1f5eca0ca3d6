//! Outgoing mail, for every service that sends some.
//!
//! A service composes a [`Letter`] (the Korean house layout renders it as text and HTML),
//! queues it with [`MailQueue::enqueue`] in the same write transaction as the change that causes
//! it, and runs [`deliver`] in the background: it sends what is due through the configured
//! [`Mailer`] (SMTP, or `.eml` files), retries with backoff, and deletes a queued mail only once
//! the server has accepted it. A failing mail server therefore never fails a request, never
//! delays its answer, and never loses a mail.

mod config;
mod letter;
mod links;
mod queue;
mod transport;

pub use config::{MailConfig, SmtpConfig, SmtpSecurity, TransportKind};
pub use letter::{Action, Letter, korean_duration, welcome};
pub use links::Links;
pub use queue::{Attempt, MailMetrics, MailQueue, MailReport, deliver};
pub use transport::Mailer;

/// Why mail could not be set up or queued.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("`{value}` is not a mail address: {reason}")]
    Address { value: String, reason: String },
    #[error("the mail cannot be built: {0}")]
    Build(String),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error(transparent)]
    Storage(#[from] onetime_storage::StorageError),
}
