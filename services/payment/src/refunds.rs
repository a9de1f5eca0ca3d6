//! Refunds to employers, made through the provider: the whole payment when the employer cancels
//! or the job is cancelled, the unused part when the job is settled.
//!
//! A refund is first queued in the transaction of the change that calls for it (and the order
//! marked), then made at the provider under the refund's id as idempotency key, then recorded:
//! ledger, order, `payment.cancelled`. A crash or an unreachable provider in between leaves it
//! queued, and the [`Refunder`]'s loop makes it later; making it twice refunds once. A refund the
//! provider refuses for good is set aside for an operator (`refund_desk.rs`), visible in
//! `/health`, its money still in escrow.
//!
//! Refunds made at the provider by other means (the Toss console) reach the order through the
//! webhook: [`follow_provider`] records what the provider refunded beyond what the order shows.

use std::sync::Arc;
use std::time::Duration;

use onetime_common::events::job::JobEnded;
use onetime_common::events::new_id;
use onetime_storage::{Store, WriteTx};
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::domain::{Order, OrderStatus, Refund, RefusedRefund};
use crate::error::PaymentError;
use crate::events;
use crate::ledger::{self, Account};
use crate::provider::{Cancel, PaymentProvider, ProviderError, ProviderPayment};
use crate::store;

/// How often queued refunds are retried when nothing wakes the refunder.
const RETRY_EVERY: Duration = Duration::from_secs(5);
/// Refunds made per round.
const BATCH: usize = 100;

/// Queues a refund of `amount` of `order` (the caller saves the order). It is a full one when it
/// refunds all that is left of the payment.
pub fn queue(tx: &WriteTx, order: &mut Order, amount: i64, reason: &str) -> Result<Refund, PaymentError> {
    let refund = Refund {
        id: new_id().to_string(),
        order_id: order.id.clone(),
        amount,
        full: amount == order.amount - order.refunded_amount,
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
            let amount = order.amount - order.refunded_amount;
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
        let (code, message) = match self.provider.cancel(cancel).await {
            Ok(_) => {
                return self
                    .store
                    .write(move |tx| record(tx, &refund, "refund", OffsetDateTime::now_utc()))
                    .await;
            }
            Err(ProviderError::Refused { code, message }) => (code, message),
            Err(ProviderError::NotFound) => (
                "NOT_FOUND_PAYMENT".to_owned(),
                "the provider has no such payment".to_owned(),
            ),
            Err(passing) => return Err(passing.into()),
        };
        tracing::error!(
            refund_id = refund.id,
            order_id = refund.order_id,
            amount = refund.amount,
            code,
            message,
            "the provider refused a refund for good; its money stays in escrow until an operator retries it or \
             records it as refunded outside the platform (onetime refunds)"
        );
        metrics::counter!("onetime_payment_refunds_refused_total").increment(1);
        let refused = RefusedRefund {
            refund,
            code: code.clone(),
            message: message.clone(),
            refused_at: OffsetDateTime::now_utc(),
        };
        self.store
            .write(move |tx| {
                // Only while still queued: a concurrent call may have recorded it meanwhile.
                if store::queued_refund(tx, &refused.refund.id)?.is_some() {
                    store::refuse_refund(tx, &refused)?;
                }
                Ok::<_, PaymentError>(())
            })
            .await?;
        Err(PaymentError::Refused { code, message })
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

/// Records `refund` as made (`kind` says how: `refund` through the provider, `outside_refund` by
/// an operator): escrow to refunds, the order updated, the employer told of a full one. Its
/// amount is read from the store, where the webhook may have lowered it. A refund recorded
/// already answers the order as it is.
pub fn record(tx: &WriteTx, refund: &Refund, kind: &str, now: OffsetDateTime) -> Result<Order, PaymentError> {
    let mut order = store::order(tx, &refund.order_id)?.ok_or(PaymentError::OrderNotFound)?;
    let Some(refund) = store::pending_refund(tx, &refund.id)? else {
        // Recorded by a concurrent call of the same refund.
        return Ok(order);
    };
    let escrow = Account::Escrow(order.job_id.clone());
    ledger::post(
        tx,
        kind,
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
    store::remove_pending_refund(tx, &refund.id)?;
    store::save_order(tx, &order)?;
    if refund.full {
        events::payment_cancelled(tx, &order, &refund.reason)?;
    }
    metrics::counter!("onetime_payment_refunds_total").increment(1);
    Ok(order)
}

/// The provider reports `paid` (the webhook looked it up): whatever it refunded beyond what the
/// order shows was refunded outside this service's calls, in the Toss console say, or is a
/// refund of ours whose answer was lost. It is recorded once, however often the webhook comes:
/// first as the order's pending refund, as far as it covers it, the rest as a `provider_refund`.
pub fn follow_provider(tx: &WriteTx, paid: &ProviderPayment, now: OffsetDateTime) -> Result<(), PaymentError> {
    let Some(mut order) = store::order(tx, &paid.order_id)? else {
        return Ok(());
    };
    if order.payment.as_ref().map(|p| p.payment_key.as_str()) != Some(paid.payment_key.as_str()) {
        return Ok(());
    }
    let mut unrecorded = paid.total_amount - paid.balance_amount - order.refunded_amount;
    if unrecorded <= 0 {
        return Ok(());
    }
    let escrow = Account::Escrow(order.job_id.clone());
    if ledger::balance(tx, &escrow)? < unrecorded {
        tracing::error!(
            order_id = order.id,
            unrecorded,
            "the provider refunded more than escrow holds (the job was settled): the refund is not recorded; look at it"
        );
        return Ok(store::count(tx, store::UNCOVERED_PROVIDER_REFUNDS)?);
    }
    if let Some(id) = order.refund_pending.clone()
        && let Some(mut pending) = store::pending_refund(tx, &id)?
    {
        if unrecorded >= pending.amount {
            order = record(tx, &pending, "refund", now)?;
            unrecorded -= pending.amount;
        } else {
            // Part of what the pending refund is for happened: the rest is still to be made.
            pending.amount -= unrecorded;
            store::save_pending_refund(tx, &pending)?;
        }
    }
    if unrecorded > 0 {
        ledger::post(
            tx,
            "provider_refund",
            &order.id,
            [(escrow, -unrecorded), (Account::Refunds, unrecorded)],
            now,
        )?;
        order.refunded_amount += unrecorded;
        let cancelled = paid.balance_amount == 0 && order.status != OrderStatus::Canceled;
        order.status = if paid.balance_amount == 0 {
            OrderStatus::Canceled
        } else {
            OrderStatus::PartialCanceled
        };
        store::save_order(tx, &order)?;
        if cancelled {
            events::payment_cancelled(tx, &order, "refunded at the payment provider")?;
        }
        metrics::counter!("onetime_payment_refunds_total").increment(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use onetime_storage::{StorageError, Store};

    use super::*;
    use crate::fixtures::{paid_order, store_with};
    use crate::provider::PaymentState;

    /// What the provider reports of the fixture's payment once `refunded` of it went back.
    fn reported(order: &Order, refunded: i64) -> ProviderPayment {
        ProviderPayment {
            payment_key: "sandbox_key".to_owned(),
            order_id: order.id.clone(),
            status: if refunded == order.amount {
                PaymentState::Canceled
            } else {
                PaymentState::PartialCanceled
            },
            total_amount: order.amount,
            balance_amount: order.amount - refunded,
            method: "카드".to_owned(),
            approved_at: None,
        }
    }

    fn follow(store: &Store, paid: &ProviderPayment) {
        store
            .write_blocking(|tx| follow_provider(tx, paid, OffsetDateTime::now_utc()))
            .unwrap();
    }

    fn state(store: &Store, order_id: &str) -> (Order, Vec<Refund>, i64) {
        store
            .read_blocking(|tx| {
                Ok::<_, StorageError>((
                    store::order(tx, order_id)?.unwrap(),
                    store::queued_refunds(tx, 10)?,
                    ledger::balance(tx, &Account::Refunds)?,
                ))
            })
            .unwrap()
    }

    #[test]
    fn refunds_made_at_the_provider_are_recorded_once_and_settle_a_pending_refund() {
        let order = paid_order("job-1", 2);
        let (_dir, store) = store_with(&order);
        // The employer cancelled: a full refund of 201,600 is queued when the console takes 10,000.
        let pending = store
            .write_blocking(|tx| {
                let mut stored = store::order(tx, &order.id)?.unwrap();
                let refund = queue(tx, &mut stored, order.amount, "일정 변경")?;
                store::save_order(tx, &stored)?;
                Ok::<_, PaymentError>(refund)
            })
            .unwrap();
        for _ in 0..2 {
            follow(&store, &reported(&order, 10_000));
        }
        let (partly, queued, refunds) = state(&store, &order.id);
        assert_eq!(
            (partly.status, partly.refunded_amount, refunds),
            (OrderStatus::PartialCanceled, 10_000, 10_000)
        );
        assert_eq!(queued[0].id, pending.id);
        assert_eq!(
            queued[0].amount,
            order.amount - 10_000,
            "the rest is still to be refunded"
        );

        // The pending refund itself went through, its answer lost: the webhook records it.
        for _ in 0..2 {
            follow(&store, &reported(&order, order.amount));
        }
        let (cancelled, queued, refunds) = state(&store, &order.id);
        assert_eq!(
            (cancelled.status, cancelled.refunded_amount),
            (OrderStatus::Canceled, order.amount)
        );
        assert!(queued.is_empty() && cancelled.refund_pending.is_none());
        assert_eq!(refunds, order.amount);
        let report = ledger::check(&store).unwrap();
        assert!(report.is_clean(), "{report}");
        assert_eq!(report.balances[&format!("escrow/{}", order.job_id)], 0);
    }

    #[test]
    fn a_provider_refund_escrow_cannot_cover_is_counted_not_recorded() {
        let order = paid_order("job-2", 1);
        let (_dir, store) = store_with(&order);
        store
            .write_blocking(|tx| {
                // Settled: the money left escrow for the worker.
                let escrow = Account::Escrow(order.job_id.clone());
                let postings = [(escrow, -order.amount), (Account::Wallet("w".into()), order.amount)];
                ledger::post(tx, "settlement", "s", postings, OffsetDateTime::now_utc())
            })
            .unwrap();
        follow(&store, &reported(&order, order.amount));
        let (unchanged, _, refunds) = state(&store, &order.id);
        assert_eq!((unchanged.status, refunds), (OrderStatus::Done, 0));
        let uncovered = store
            .read_blocking(|tx| store::counter(tx, store::UNCOVERED_PROVIDER_REFUNDS))
            .unwrap();
        assert_eq!(uncovered, 1);
    }
}
