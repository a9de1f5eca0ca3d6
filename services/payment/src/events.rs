//! The events the payment service publishes, in the transaction of the change they report
//! (payloads in `onetime_common::events::payment`), and its handler of the job events it
//! consumes: `job.completed` settles the job, `job.deleted` refunds its payment.

use std::sync::Arc;

use onetime_common::bus::{self, HandlerError, StoreHandler};
use onetime_common::events::Envelope;
use onetime_common::events::job::{JOB_COMPLETED, JOB_DELETED, JobCompleted, JobEnded};
use onetime_common::events::payment::{
    self as catalogue, PaymentCancelled, PaymentCompleted, SettlementCreated, WithdrawalChanged,
};
use onetime_storage::{StorageError, Store, WriteTx};
use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::domain::{Order, Settlement, Withdrawal};
use crate::refunds;
use crate::settlement::{self, SettlementRules};

fn publish(tx: &WriteTx, event_type: &str, payload: &impl Serialize) -> Result<(), StorageError> {
    bus::publish(tx, catalogue::SOURCE, event_type, payload).map(drop)
}

pub fn payment_completed(tx: &WriteTx, order: &Order, approved_at: OffsetDateTime) -> Result<(), StorageError> {
    let payload = PaymentCompleted {
        order_id: order.id.clone(),
        job_id: order.job_id.clone(),
        employer_id: order.employer_id.clone(),
        amount: order.amount,
        approved_at,
        job_title: order.job_title.clone(),
    };
    publish(tx, catalogue::PAYMENT_COMPLETED, &payload)
}

pub fn payment_cancelled(tx: &WriteTx, order: &Order, reason: &str) -> Result<(), StorageError> {
    let payload = PaymentCancelled {
        order_id: order.id.clone(),
        job_id: order.job_id.clone(),
        employer_id: order.employer_id.clone(),
        amount: order.amount,
        cancel_reason: reason.to_owned(),
        job_title: order.job_title.clone(),
    };
    publish(tx, catalogue::PAYMENT_CANCELLED, &payload)
}

pub fn settlement_created(tx: &WriteTx, settlement: &Settlement) -> Result<(), StorageError> {
    let payload = SettlementCreated {
        settlement_id: settlement.id.clone(),
        job_id: settlement.job_id.clone(),
        job_title: settlement.job_title.clone(),
        worker_id: settlement.worker_id.clone(),
        employer_id: settlement.employer_id.clone(),
        gross: settlement.gross,
        fee: settlement.fee,
        tax: settlement.tax,
        net: settlement.net,
    };
    publish(tx, catalogue::SETTLEMENT_CREATED, &payload)
}

/// `withdrawal.completed`, or `withdrawal.failed` when the withdrawal has a failure reason.
pub fn withdrawal_finished(tx: &WriteTx, withdrawal: &Withdrawal) -> Result<(), StorageError> {
    let payload = WithdrawalChanged {
        withdrawal_id: withdrawal.id.clone(),
        worker_id: withdrawal.worker_id.clone(),
        amount: withdrawal.amount,
        reason: withdrawal.failure_reason.clone(),
    };
    let event_type = match withdrawal.failure_reason {
        Some(_) => catalogue::WITHDRAWAL_FAILED,
        None => catalogue::WITHDRAWAL_COMPLETED,
    };
    publish(tx, event_type, &payload)
}

/// Settles completed jobs and refunds cancelled ones, in the bus lane's transaction.
pub struct JobEvents {
    pub rules: SettlementRules,
    /// Woken after a commit: the refunds it queued are sent at once.
    pub refunds: Arc<Notify>,
}

impl StoreHandler for JobEvents {
    /// Subscribers are named after the consuming service.
    fn name(&self) -> &'static str {
        "payment"
    }

    fn wants(&self, event_type: &str) -> bool {
        matches!(event_type, JOB_COMPLETED | JOB_DELETED)
    }

    fn handle(&self, tx: &WriteTx, event: &Envelope) -> Result<(), HandlerError> {
        // A payload that does not decode stops this lane (and shows in /health) rather than
        // being skipped: skipping would lose a settlement for good.
        match event.event_type.as_str() {
            JOB_COMPLETED => {
                let completed: JobCompleted = event.payload()?;
                settlement::settle_job(tx, &completed, self.rules, OffsetDateTime::now_utc())?;
            }
            JOB_DELETED => {
                let ended: JobEnded = event.payload()?;
                refunds::job_cancelled(tx, &ended)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Settlements and cancellations queue refunds, which should not wait for the refunder's
    /// next round.
    fn committed(&self, _store: &Store, _events: &[Envelope]) {
        self.refunds.notify_one();
    }
}
