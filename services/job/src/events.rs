//! The events the job service appends to its outbox (payloads in
//! `onetime_common::events::job`). The store calls these inside its write transactions, with
//! jobs already in their published shape (category name included).

use onetime_common::bus;
use onetime_common::events::job::{
    self as catalogue, ApplicationChanged, CompletedBy, JobChanged, JobCompleted, JobEnded, RejectionReason,
};
use onetime_storage::{StorageError, WriteTx};
use serde::Serialize;

use crate::domain::{Application, Job};

fn publish(tx: &WriteTx, event_type: &str, payload: &impl Serialize) -> Result<(), StorageError> {
    bus::publish(tx, catalogue::SOURCE, event_type, payload).map(drop)
}

pub fn job_created(tx: &WriteTx, job: catalogue::Job) -> Result<(), StorageError> {
    publish(tx, catalogue::JOB_CREATED, &JobChanged { job })
}

pub fn job_updated(tx: &WriteTx, job: catalogue::Job) -> Result<(), StorageError> {
    publish(tx, catalogue::JOB_UPDATED, &JobChanged { job })
}

pub fn job_deleted(tx: &WriteTx, job: catalogue::Job, accepted_worker_ids: Vec<String>) -> Result<(), StorageError> {
    let payload = JobEnded {
        job,
        accepted_worker_ids,
    };
    publish(tx, catalogue::JOB_DELETED, &payload)
}

pub fn job_filled(tx: &WriteTx, job: catalogue::Job, accepted_worker_ids: Vec<String>) -> Result<(), StorageError> {
    let payload = JobEnded {
        job,
        accepted_worker_ids,
    };
    publish(tx, catalogue::JOB_FILLED, &payload)
}

pub fn job_completed(
    tx: &WriteTx,
    job: catalogue::Job,
    accepted_worker_ids: Vec<String>,
    completed_by: CompletedBy,
) -> Result<(), StorageError> {
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
