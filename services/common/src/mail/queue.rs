//! The mail queue and its sender.
//!
//! Queued mail is a table in the sending service's own store, so queueing is part of the
//! transaction that decides to send: no mail for a change that was rolled back, no change whose
//! mail is lost. Rows are keyed by when they are due (`<unix ms, 20 digits>.<id>`), so the sender
//! finds due mail with one range read and knows when to wake for the next retry. The sender
//! tells a [`MailReport`] how each attempt ended and how its queue stands, so that the service
//! running it shows its mail in `/metrics` and `/health` as it shows its other work.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use onetime_storage::{Direction, StorageError, Store, Table, WriteTx};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::Notify;

use super::transport::{Mailer, SendError};
use super::{Letter, MailConfig, MailError};
use crate::due::{due_bound, due_key, due_of};
use crate::events::new_id;

const QUEUE: Table<String, Queued> = Table::new("mail.queue");
/// Mail a server refused for good, kept for an operator to look at rather than dropped.
const FAILED: Table<String, Queued> = Table::new("mail.failed");

/// Most mails sent per read of the queue.
const BATCH: usize = 32;
/// The first retry delay; it doubles per attempt up to the configured ceiling.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// How long an idle sender sleeps when nothing wakes it.
const IDLE: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Queued {
    id: String,
    from: String,
    to: Vec<String>,
    /// The formatted RFC 5322 message; lettre encodes it to 7-bit text.
    message: String,
    attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    queued_at: OffsetDateTime,
    last_error: Option<String>,
}

/// Queues mail in a service's transactions and wakes its sender.
#[derive(Clone)]
pub struct MailQueue {
    from: Mailbox,
    wake: Arc<Notify>,
}

impl MailQueue {
    pub fn new(config: &MailConfig) -> Result<Self, MailError> {
        let from = config.sender().map_err(|e| MailError::Address {
            value: config.from.clone(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            from,
            wake: Arc::new(Notify::new()),
        })
    }

    /// Renders `letter` and queues it in `tx`. Call [`MailQueue::wake`] once `tx` has committed.
    pub fn enqueue(&self, tx: &WriteTx, letter: &Letter) -> Result<(), MailError> {
        let id = new_id().to_string();
        let message = letter.message(&self.from, &id)?;
        let envelope = message.envelope();
        let now = OffsetDateTime::now_utc();
        let row = Queued {
            from: envelope.from().map(ToString::to_string).unwrap_or_default(),
            to: envelope.to().iter().map(ToString::to_string).collect(),
            message: String::from_utf8(message.formatted())
                .map_err(|_| MailError::Build("the formatted message is not text".to_owned()))?,
            attempts: 0,
            queued_at: now,
            last_error: None,
            id,
        };
        QUEUE.insert(tx, &due_key(now, &row.id), &row)?;
        Ok(())
    }

    /// Tells the sender to look for due mail. A wake-up before it waits is kept, not lost.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// How one attempt at sending a mail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The server accepted it; it left the queue.
    Sent,
    /// It failed for now and is queued again, later.
    Retried,
    /// The server refused it for good; it moved to `mail.failed`.
    Failed,
}

impl Attempt {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Attempt::Sent => "sent",
            Attempt::Retried => "retried",
            Attempt::Failed => "failed",
        }
    }
}

/// Where a mail sender says how it is doing.
pub trait MailReport: Send + Sync + 'static {
    /// After every attempt.
    fn attempted(&self, attempt: Attempt);

    /// After every look at the queue: it holds `depth` mails, the first due at `first_due`.
    fn queue(&self, _depth: u64, _first_due: Option<OffsetDateTime>) {}
}

/// The report of a service that shows nothing else about its mail: attempts counted in
/// `onetime_mail_attempts_total{result}`.
pub struct MailMetrics;

impl MailReport for MailMetrics {
    fn attempted(&self, attempt: Attempt) {
        metrics::counter!("onetime_mail_attempts_total", "result" => attempt.as_str()).increment(1);
    }
}

/// Delivers the mail queued in `store` until `stopping` resolves, telling `report` as it goes.
///
/// A mail leaves the queue only when the server accepted it (or refused it for good: then it
/// moves to `mail.failed`). Delivery is at-least-once: a stop or crash between the server's
/// acceptance and the queue's commit sends that mail again, with the same `Message-ID`.
pub async fn deliver(
    store: Store,
    mailer: Mailer,
    queue: MailQueue,
    max_backoff: Duration,
    report: Arc<dyn MailReport>,
    stopping: impl Future<Output = ()>,
) {
    tokio::pin!(stopping);
    loop {
        let now = OffsetDateTime::now_utc();
        let bound = due_bound(now);
        let read = store
            .read(move |tx| {
                let due = QUEUE.range(tx, ..bound, Direction::Forward, BATCH)?;
                let first = QUEUE.range(tx, .., Direction::Forward, 1)?;
                let first_due = first.first().and_then(|(key, _)| due_of(key));
                Ok::<_, StorageError>((due, QUEUE.len(tx)?, first_due))
            })
            .await;
        let pause = match read {
            Ok((due, depth, first_due)) => {
                report.queue(depth, first_due);
                if !due.is_empty() {
                    let batch = async {
                        for (key, mail) in due {
                            let outcome = mailer.send(&mail.from, &mail.to, mail.message.as_bytes()).await;
                            let attempt = settle(&store, key, mail, outcome, max_backoff).await;
                            report.attempted(attempt);
                        }
                    };
                    tokio::select! {
                        () = batch => continue,
                        () = &mut stopping => return,
                    }
                }
                first_due.map_or(IDLE, |at| (at - now).try_into().unwrap_or(Duration::ZERO))
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read the mail queue; retrying");
                FIRST_RETRY
            }
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = queue.wake.notified() => {}
            () = &mut stopping => return,
        }
    }
}

/// Records the outcome of one attempt: sent mail goes, the rest is rescheduled or set aside.
async fn settle(
    store: &Store,
    key: String,
    mut mail: Queued,
    outcome: Result<(), SendError>,
    max_backoff: Duration,
) -> Attempt {
    let id = mail.id.clone();
    mail.attempts += 1;
    let attempts = mail.attempts;
    let (result, kept) = match outcome {
        Ok(()) => {
            tracing::info!(mail = %id, attempts, "mail delivered");
            (Attempt::Sent, None)
        }
        Err(SendError::Transient(error)) => {
            let delay = (FIRST_RETRY * 2u32.saturating_pow(attempts.saturating_sub(1).min(20))).min(max_backoff);
            tracing::warn!(mail = %id, attempts, %error, retry_in_s = delay.as_secs(), "mail delivery failed; will retry");
            mail.last_error = Some(error);
            let due = OffsetDateTime::now_utc() + delay;
            (Attempt::Retried, Some((QUEUE, due_key(due, &id))))
        }
        Err(SendError::Permanent(error)) => {
            tracing::error!(mail = %id, attempts, %error, "the mail server refused a mail for good; kept in mail.failed");
            mail.last_error = Some(error);
            (Attempt::Failed, Some((FAILED, id.clone())))
        }
    };
    let written = store
        .write(move |tx| {
            QUEUE.remove(tx, &key)?;
            if let Some((table, new_key)) = kept {
                table.insert(tx, &new_key, &mail)?;
            }
            Ok::<_, StorageError>(())
        })
        .await;
    if let Err(error) = written {
        // The row stays as it was: the mail is tried again, never lost. Pause rather than spin
        // (and resend) against a store that refuses writes.
        tracing::error!(mail = %id, %error, "cannot update the mail queue");
        tokio::time::sleep(FIRST_RETRY).await;
    }
    result
}
