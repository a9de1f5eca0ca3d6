//! What an operator does about refunds the provider refused for good (`onetime refunds`): list
//! them, have one made again, or record one as made outside the platform (a bank transfer to the
//! employer, say). Works on the store, so a running instance (over its control socket) and a
//! stopped data directory are alike; the refunder of a running instance makes a retried refund
//! within seconds, a stopped one when it starts.

use onetime_storage::Store;
use time::OffsetDateTime;

use crate::domain::{Order, Refund, RefusedRefund};
use crate::error::PaymentError;
use crate::{refunds, store};

/// Every refused refund, oldest first.
pub async fn refused(store: &Store) -> Result<Vec<RefusedRefund>, PaymentError> {
    Ok(store.read(store::refused_refunds).await?)
}

/// Queues the refused refund `id` again, under a new id: the provider keeps the answer of an
/// idempotency key, so the old one would only be refused again. Answers the new refund.
pub async fn retry(store: &Store, id: String) -> Result<Refund, PaymentError> {
    store
        .write(move |tx| {
            let refused = store::refused_refund(tx, &id)?.ok_or(PaymentError::RefundNotFound)?;
            let mut order = store::order(tx, &refused.refund.order_id)?.ok_or(PaymentError::OrderNotFound)?;
            store::remove_refused_refund(tx, &id)?;
            let refund = refunds::queue(tx, &mut order, refused.refund.amount, &refused.refund.reason)?;
            store::save_order(tx, &order)?;
            tracing::info!(
                refused = id,
                refund_id = refund.id,
                order_id = order.id,
                "refused refund queued again"
            );
            Ok(refund)
        })
        .await
}

/// Records the refused refund `id` as made outside the platform: its amount leaves escrow for
/// `refunds` as an `outside_refund` entry, the order follows as if the provider had made it.
pub async fn record_outside(store: &Store, id: String, note: String) -> Result<Order, PaymentError> {
    store
        .write(move |tx| {
            let refused = store::refused_refund(tx, &id)?.ok_or(PaymentError::RefundNotFound)?;
            let order = refunds::record(tx, &refused.refund, "outside_refund", OffsetDateTime::now_utc())?;
            tracing::info!(
                refund_id = id,
                order_id = order.id,
                note,
                "refund recorded as made outside the platform"
            );
            Ok(order)
        })
        .await
}
