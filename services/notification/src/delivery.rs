//! The senders of the SMS and push queues: one loop per channel, so a provider that is down
//! delays its own channel only.
//!
//! Each loop takes what is due from its queue, sends it, and settles the row in one write: sent
//! rows go, failed ones come back due later (doubling from 1 s up to
//! `notifications.retry_max_backoff_seconds`, or when the provider's `Retry-After` says), refused
//! ones go with an error in the log. A row leaves the queue only after its attempt, so nothing
//! is lost to a crash or restart; a crash between the provider's acceptance and the commit sends
//! that one again (push skips the devices a row records as done).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use onetime_common::mail::{Attempt, MailReport};
use onetime_storage::{StorageError, Store};
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::channels::SendError;
use crate::channels::push::{Fcm, PushOutcome};
use crate::channels::sms::{SmsProvider, TextMessage};
use crate::domain::Channel;
use crate::store::{self, Delivery};

/// Most deliveries sent per read of a queue.
const BATCH: usize = 32;
/// The first retry delay; it doubles per attempt up to the configured ceiling.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// How long an idle sender sleeps when nothing wakes it.
const IDLE: Duration = Duration::from_secs(3600);

/// How one channel's queue stands, for `/health`, and what its sender does, for `/metrics`
/// (`onetime_notification_queue_depth` and `onetime_notification_deliveries_total`, labelled by
/// channel). The email channel's sender is the shared mail sender, which reports here too.
#[derive(Debug)]
pub struct Backlog {
    channel: Channel,
    state: Mutex<(u64, Option<OffsetDateTime>)>,
}

impl Backlog {
    pub fn new(channel: Channel) -> Self {
        Self {
            channel,
            state: Mutex::new((0, None)),
        }
    }

    fn set(&self, depth: u64, earliest_due: Option<OffsetDateTime>) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = (depth, earliest_due);
        metrics::gauge!("onetime_notification_queue_depth", "channel" => self.channel.as_str()).set(depth as f64);
    }

    /// One attempt ended: `sent`, `retried` or `failed`.
    fn count(&self, result: &'static str) {
        metrics::counter!("onetime_notification_deliveries_total", "channel" => self.channel.as_str(), "result" => result)
            .increment(1);
    }

    /// Rows queued, and how long the one due first has been waiting past its due time.
    pub fn read(&self) -> (u64, f64) {
        let (depth, earliest) = *self.state.lock().unwrap_or_else(|p| p.into_inner());
        let waiting = earliest.map_or(0.0, |due| (OffsetDateTime::now_utc() - due).as_seconds_f64().max(0.0));
        (depth, waiting)
    }
}

impl MailReport for Backlog {
    fn attempted(&self, attempt: Attempt) {
        self.count(attempt.as_str());
    }

    fn queue(&self, depth: u64, first_due: Option<OffsetDateTime>) {
        self.set(depth, first_due);
    }
}

/// Sends one channel's deliveries.
pub trait Courier: Send + Sync + 'static {
    const CHANNEL: Channel;

    /// One attempt at `delivery`; may record progress in it (push: the devices done).
    fn attempt(&self, store: &Store, delivery: &mut Delivery) -> impl Future<Output = Result<(), SendError>> + Send;
}

/// SMS through the configured provider.
pub struct SmsCourier {
    pub provider: Box<dyn SmsProvider>,
    /// The sender number.
    pub from: String,
}

impl Courier for SmsCourier {
    const CHANNEL: Channel = Channel::Sms;

    async fn attempt(&self, store: &Store, delivery: &mut Delivery) -> Result<(), SendError> {
        let Some(notification) = load(store, &delivery.notification_id).await? else {
            return Ok(());
        };
        let to = delivery
            .to
            .as_deref()
            .ok_or_else(|| SendError::Permanent("no phone number".to_owned()))?;
        self.provider
            .send(&TextMessage::new(&notification, to, &self.from))
            .await
    }
}

/// Push through FCM, to every device of the user.
pub struct PushCourier {
    pub fcm: Fcm,
}

impl Courier for PushCourier {
    const CHANNEL: Channel = Channel::Push;

    async fn attempt(&self, store: &Store, delivery: &mut Delivery) -> Result<(), SendError> {
        let Some(notification) = load(store, &delivery.notification_id).await? else {
            return Ok(());
        };
        let user = delivery.user_id.clone();
        let devices = store
            .read(move |tx| store::devices_of(tx, &user))
            .await
            .map_err(SendError::transient)?;
        let mut failure = None;
        let waiting: Vec<_> = devices
            .into_iter()
            .filter(|d| !delivery.done.contains(&d.token))
            .collect();
        for device in &waiting {
            match self.fcm.send(&notification, &device.token).await {
                PushOutcome::Sent => delivery.done.push(device.token.clone()),
                PushOutcome::Unregistered => {
                    tracing::info!(user = %device.user_id, "FCM: the app is gone from a device; removing it");
                    let token = device.token.clone();
                    store
                        .write(move |tx| store::remove_device(tx, &token, None))
                        .await
                        .map_err(SendError::transient)?;
                }
                // A transient failure wins over a refusal: the row must come back for it.
                PushOutcome::Failed(error) => {
                    if !matches!(failure, Some(SendError::Transient { .. })) {
                        failure = Some(error);
                    }
                }
            }
        }
        failure.map_or(Ok(()), Err)
    }
}

async fn load(store: &Store, id: &str) -> Result<Option<crate::domain::Notification>, SendError> {
    let id = id.to_owned();
    store
        .read(move |tx| store::notification(tx, &id))
        .await
        .map_err(SendError::transient)
}

/// Sends `C`'s queue until `stopping` resolves; `wake` says new rows were committed.
pub async fn run<C: Courier>(
    courier: C,
    store: Store,
    wake: Arc<Notify>,
    backlog: Arc<Backlog>,
    max_backoff: Duration,
    stopping: impl Future<Output = ()>,
) {
    let channel = C::CHANNEL;
    tokio::pin!(stopping);
    loop {
        let now = OffsetDateTime::now_utc();
        let read = store
            .read(move |tx| Ok::<_, StorageError>((store::due(tx, channel, now, BATCH)?, store::backlog(tx, channel)?)))
            .await;
        let pause = match read {
            Ok((due, (depth, earliest))) => {
                backlog.set(depth, earliest);
                if !due.is_empty() {
                    let batch = async {
                        for (key, mut delivery) in due {
                            let outcome = courier.attempt(&store, &mut delivery).await;
                            settle(&store, &backlog, key, delivery, outcome, max_backoff).await;
                        }
                    };
                    tokio::select! {
                        () = batch => continue,
                        () = &mut stopping => return,
                    }
                }
                earliest.map_or(IDLE, |at| (at - now).try_into().unwrap_or(Duration::ZERO))
            }
            Err(error) => {
                tracing::warn!(channel = channel.as_str(), %error, "cannot read the delivery queue; retrying");
                FIRST_RETRY
            }
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = wake.notified() => {}
            () = &mut stopping => return,
        }
    }
}

/// The delay before attempt `attempts + 1`: doubling, capped, but never before the provider's
/// own `Retry-After`.
fn retry_delay(attempts: u32, max_backoff: Duration, retry_after: Option<Duration>) -> Duration {
    let backoff = (FIRST_RETRY * 2u32.saturating_pow(attempts.saturating_sub(1).min(20))).min(max_backoff);
    retry_after.map_or(backoff, |after| after.max(backoff))
}

/// Records the outcome of one attempt.
async fn settle(
    store: &Store,
    backlog: &Backlog,
    key: String,
    mut delivery: Delivery,
    outcome: Result<(), SendError>,
    max_backoff: Duration,
) {
    let channel = backlog.channel;
    delivery.attempts += 1;
    let (id, attempts) = (delivery.notification_id.clone(), delivery.attempts);
    let (result, next) = match outcome {
        Ok(()) => {
            tracing::debug!(channel = channel.as_str(), notification = %id, attempts, "delivered");
            ("sent", None)
        }
        Err(SendError::Transient { reason, retry_after }) => {
            let delay = retry_delay(attempts, max_backoff, retry_after);
            tracing::warn!(channel = channel.as_str(), notification = %id, attempts, error = %reason,
                retry_in_s = delay.as_secs(), "delivery failed; will retry");
            delivery.last_error = Some(reason);
            ("retried", Some(OffsetDateTime::now_utc() + delay))
        }
        Err(SendError::Permanent(reason)) => {
            tracing::error!(channel = channel.as_str(), notification = %id, attempts, error = %reason,
                "the provider refused a delivery for good; dropped");
            ("failed", None)
        }
    };
    backlog.count(result);
    let written = store
        .write(move |tx| store::settle(tx, channel, &key, next.map(|due| (due, &delivery))))
        .await;
    if let Err(error) = written {
        // The row stays as it was and is tried again, never lost. Pause rather than spin (and
        // resend) against a store that refuses writes.
        tracing::error!(channel = channel.as_str(), notification = %id, %error, "cannot update the delivery queue");
        tokio::time::sleep(FIRST_RETRY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_the_ceiling_but_honour_retry_after() {
        let max = Duration::from_secs(60);
        assert_eq!(retry_delay(1, max, None), Duration::from_secs(1));
        assert_eq!(retry_delay(3, max, None), Duration::from_secs(4));
        assert_eq!(retry_delay(30, max, None), max);
        assert_eq!(
            retry_delay(1, max, Some(Duration::from_secs(5))),
            Duration::from_secs(5)
        );
        assert_eq!(retry_delay(30, max, Some(Duration::from_secs(1))), max);
    }
}
