//! The job service's handler of the payment events it consumes: a job is `funded` while a
//! completed payment for it is held.

use onetime_common::bus::{HandlerError, StoreHandler};
use onetime_common::events::Envelope;
use onetime_common::events::payment::{PAYMENT_CANCELLED, PAYMENT_COMPLETED, PaymentCancelled, PaymentCompleted};
use onetime_storage::WriteTx;
use time::OffsetDateTime;

use crate::store;

/// Marks a job funded while a completed payment for it is held: `payment.completed` adds the
/// order, `payment.cancelled` takes it back. Each order counts once, so a redelivered event
/// changes nothing; a change of `funded` is published as `job.updated`.
pub struct Funding;

impl StoreHandler for Funding {
    /// Subscribers are named after the consuming service.
    fn name(&self) -> &'static str {
        crate::NAME
    }

    fn wants(&self, event_type: &str) -> bool {
        matches!(event_type, PAYMENT_COMPLETED | PAYMENT_CANCELLED)
    }

    fn handle(&self, tx: &WriteTx, event: &Envelope) -> Result<(), HandlerError> {
        let now = OffsetDateTime::now_utc();
        // A payload that does not decode stops this lane (and shows in /health) rather than
        // being skipped: skipping would lose the effect for good.
        match event.event_type.as_str() {
            PAYMENT_COMPLETED => {
                let paid: PaymentCompleted = event.payload()?;
                store::record_funding(tx, &paid.job_id, &paid.order_id, true, now)?;
            }
            PAYMENT_CANCELLED => {
                let refunded: PaymentCancelled = event.payload()?;
                store::record_funding(tx, &refunded.job_id, &refunded.order_id, false, now)?;
            }
            _ => {}
        }
        Ok(())
    }
}
