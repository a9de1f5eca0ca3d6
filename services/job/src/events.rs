//! The events the job service appends to its outbox (payloads in
//! `onetime_common::events::job`), and its handler for the payment events it consumes.

use onetime_common::bus::{self, HandlerError, StoreHandler};
use onetime_common::events::Envelope;
use onetime_common::events::job::{
    self as catalogue, ApplicationChanged, CompletedBy, JobChanged, JobCompleted, JobEnded, RejectionReason,
};
use onetime_common::events::payment::{PAYMENT_CANCELLED, PAYMENT_COMPLETED, PaymentCancelled, PaymentCompleted};
use onetime_storage::{Readable, StorageError, WriteTx};
use serde::Serialize;
use time::OffsetDateTime;

use crate::domain::{Application, Job};
use crate::store;

fn publish(tx: &WriteTx, event_type: &str, payload: &impl Serialize) -> Result<(), StorageError> {
    bus::publish(tx, catalogue::SOURCE, event_type, payload).map(drop)
}

/// The job as events carry it: with its category's name.
pub fn published(tx: &impl Readable, job: &Job) -> Result<catalogue::Job, StorageError> {
    let mut published = job.published();
    published.category_name = store::category_name(tx, &published.category)?;
    Ok(published)
}

pub fn job_created(tx: &WriteTx, job: &Job) -> Result<(), StorageError> {
    publish(
        tx,
        catalogue::JOB_CREATED,
        &JobChanged {
            job: published(tx, job)?,
        },
    )
}

pub fn job_updated(tx: &WriteTx, job: &Job) -> Result<(), StorageError> {
    publish(
        tx,
        catalogue::JOB_UPDATED,
        &JobChanged {
            job: published(tx, job)?,
        },
    )
}

pub fn job_deleted(tx: &WriteTx, job: &Job, accepted_worker_ids: Vec<String>) -> Result<(), StorageError> {
    let payload = JobEnded {
        job: published(tx, job)?,
        accepted_worker_ids,
    };
    publish(tx, catalogue::JOB_DELETED, &payload)
}

pub fn job_filled(tx: &WriteTx, job: &Job, accepted_worker_ids: Vec<String>) -> Result<(), StorageError> {
    let payload = JobEnded {
        job: published(tx, job)?,
        accepted_worker_ids,
    };
    publish(tx, catalogue::JOB_FILLED, &payload)
}

pub fn job_completed(
    tx: &WriteTx,
    job: &Job,
    accepted_worker_ids: Vec<String>,
    completed_by: CompletedBy,
) -> Result<(), StorageError> {
    let job = published(tx, job)?;
    let payload = JobCompleted {
        pay_per_worker: job.pay_per_worker,
        job,
        accepted_worker_ids,
        completed_by,
    };
    publish(tx, catalogue::JOB_COMPLETED, &payload)
}

fn application_changed(application: &Application, job: &Job, reason: Option<RejectionReason>) -> ApplicationChanged {
    let job = job.published();
    ApplicationChanged {
        application: application.published(),
        employer_id: job.employer_id,
        job_title: job.title,
        reason,
    }
}

pub fn application_submitted(tx: &WriteTx, application: &Application, job: &Job) -> Result<(), StorageError> {
    let payload = application_changed(application, job, None);
    publish(tx, catalogue::APPLICATION_SUBMITTED, &payload)
}

pub fn application_accepted(tx: &WriteTx, application: &Application, job: &Job) -> Result<(), StorageError> {
    let payload = application_changed(application, job, None);
    publish(tx, catalogue::APPLICATION_ACCEPTED, &payload)
}

pub fn application_rejected(
    tx: &WriteTx,
    application: &Application,
    job: &Job,
    reason: RejectionReason,
) -> Result<(), StorageError> {
    let payload = application_changed(application, job, Some(reason));
    publish(tx, catalogue::APPLICATION_REJECTED, &payload)
}

pub fn application_withdrawn(tx: &WriteTx, application: &Application, job: &Job) -> Result<(), StorageError> {
    let payload = application_changed(application, job, None);
    publish(tx, catalogue::APPLICATION_WITHDRAWN, &payload)
}

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
