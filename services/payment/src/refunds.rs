//! Refunds to employers, made through the provider: the whole payment when the employer cancels
//! or the job is cancelled, the unused part when the job is settled.
//!
//! A refund is first queued in the transaction of the change that calls for it (and the order
//! marked), then made at the provider under the refund's id as idempotency key, then recorded:
//! ledger, order, `payment.cancelled`. A crash or an unreachable provider in between leaves it
//! queued, and the [`Refunder`]'s loop makes it later; making it twice refunds once.

use std::sync::Arc;
use std::time::Duration;

use onetime_common::events::job::JobEnded;
use onetime_common::events::new_id;
use onetime_storage::{Store, WriteTx};
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::domain::{Order, OrderStatus, Refund};
use crate::error::PaymentError;
use crate::events;
use crate::ledger::{self, Account};
use crate::provider::{Cancel, PaymentProvider, ProviderError};
use crate::store;

/// How often queued refunds are retried when nothing wakes the refunder.
const RETRY_EVERY: Duration = Duration::from_secs(5);
/// Refunds made per round.
const BATCH: usize = 100;

/// Queues a refund of `amount` of `order` (the caller saves the order).
pub fn queue(tx: &WriteTx, order: &mut Order, amount: i64, reason: &str) -> Result<Refund, PaymentError> {
    let refund = Refund {
        id: new_id().to_string(),
        order_id: order.id.clone(),
        amount,
        full: amount == order.amount,
        reason: reason.to_owned(),
    };
    store::queue_refund(tx, &refund)?;
    order.refund_pending = Some(refund.id.clone());
    Ok(refund)
}

/// A job was cancelled: its held payment is refunded in full, an unpaid order expires.
pub fn job_cancelled(tx: &WriteTx, ended: &JobEnded) -> Result<(), PaymentError> {
    match store::job_order(tx, &ended.job.id)? {
        Some(mut order) if order.is_held() => {
            let amount = order.amount;
            queue(tx, &mut order, amount, "the job was cancelled")?;
            store::save_order(tx, &order)?;
            Ok(())
        }
        _ => expire_unpaid(tx, &ended.job.id),
    }
}

/// The job ended: its order, if still unpaid, can no longer be paid.
pub fn expire_unpaid(tx: &WriteTx, job_id: &str) -> Result<(), PaymentError> {
    if let Some(mut order) = store::job_order(tx, job_id)?
        && order.status == OrderStatus::Ready
    {
        order.status = OrderStatus::Expired;
        store::save_order(tx, &order)?;
    }
    Ok(())
}

/// Makes queued refunds at the provider and records them.
pub struct Refunder {
    store: Store,
    provider: Arc<dyn PaymentProvider>,
    wake: Arc<Notify>,
}

impl Refunder {
    pub fn new(store: Store, provider: Arc<dyn PaymentProvider>) -> Self {
        Self {
            store,
            provider,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Wakes the loop: refunds were queued.
    pub fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Makes `refund` and answers the order as it then is. A refund made already answers the
    /// order; a provider that cannot be reached leaves it queued.
    pub async fn refund(&self, refund: Refund) -> Result<Order, PaymentError> {
        let order_id = refund.order_id.clone();
        let order = self.store.read(move |tx| store::order(tx, &order_id)).await?;
        let order = order.ok_or(PaymentError::OrderNotFound)?;
        if order.refund_pending.as_deref() != Some(refund.id.as_str()) {
            return Ok(order);
        }
        let payment_key = order
            .payment
            .as_ref()
            .map(|p| p.payment_key.clone())
            .ok_or(PaymentError::NotPaid)?;
        let cancel = Cancel {
            payment_key,
            amount: (!refund.full).then_some(refund.amount),
            reason: refund.reason.clone(),
            idempotency_key: refund.id.clone(),
        };
        match self.provider.cancel(cancel).await {
            Ok(_) => {
                self.store
                    .write(move |tx| record(tx, &refund, OffsetDateTime::now_utc()))
                    .await
            }
            Err(ProviderError::Unavailable(reason)) => Err(PaymentError::ProviderUnavailable(reason)),
            Err(refused) => {
                tracing::error!(order_id = refund.order_id, error = %refused, "the provider refused a refund; the money stays in escrow");
                self.store.write(move |tx| drop_refund(tx, &refund)).await?;
                Err(refused.into())
            }
        }
    }

    /// Makes queued refunds whenever woken, and every [`RETRY_EVERY`], until `stopping`.
    pub async fn run(self: Arc<Self>, stopping: impl Future<Output = ()>) {
        tokio::pin!(stopping);
        loop {
            let queued = self.store.read(|tx| store::queued_refunds(tx, BATCH)).await;
            match queued {
                Ok(refunds) => {
                    for refund in refunds {
                        let id = refund.id.clone();
                        if let Err(error) = self.refund(refund).await {
                            tracing::warn!(refund_id = id, %error, "refund not made yet");
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot read the refund queue"),
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(RETRY_EVERY) => {}
                () = &mut stopping => return,
            }
        }
    }
}

/// Records a refund the provider made: escrow to refunds, the order updated, the employer told.
fn record(tx: &WriteTx, refund: &Refund, now: OffsetDateTime) -> Result<Order, PaymentError> {
    let mut order = store::order(tx, &refund.order_id)?.ok_or(PaymentError::OrderNotFound)?;
    if store::queued_refund(tx, &refund.id)?.is_none() {
        // Recorded by a concurrent call of the same refund.
        return Ok(order);
    }
    let escrow = Account::Escrow(order.job_id.clone());
    ledger::post(
        tx,
        "refund",
        &refund.id,
        [(escrow, -refund.amount), (Account::Refunds, refund.amount)],
        now,
    )?;
    order.refunded_amount += refund.amount;
    order.status = if refund.full {
        OrderStatus::Canceled
    } else {
        OrderStatus::PartialCanceled
    };
    order.refund_pending = None;
    store::remove_refund(tx, &refund.id)?;
    store::save_order(tx, &order)?;
    if refund.full {
        events::payment_cancelled(tx, &order, &refund.reason)?;
    }
    metrics::counter!("onetime_payment_refunds_total").increment(1);
    Ok(order)
}

/// The provider refused for good: the refund is dropped and the order holds its money again.
fn drop_refund(tx: &WriteTx, refund: &Refund) -> Result<(), PaymentError> {
    store::remove_refund(tx, &refund.id)?;
    if let Some(mut order) = store::order(tx, &refund.order_id)? {
        order.refund_pending = None;
        store::save_order(tx, &order)?;
    }
    Ok(())
}
