//! The job service: employers post day jobs, workers apply, owners accept, close, cancel and
//! complete them, and a scheduler completes the jobs owners forget. It owns `jobs.redb`.
//!
//! Publishes, through the outbox of its store (bus source and envelope source `job`; payloads
//! in `onetime_common::events::job`): `job.created`, `job.updated`, `job.deleted`, `job.filled`,
//! `job.completed`, `application.submitted`, `application.accepted`, `application.rejected`,
//! `application.withdrawn`.
//!
//! Consumes `payment.completed` and `payment.cancelled` from the payment source ([`Funding`]):
//! a job is `funded` while a completed payment for it is held.
//!
//! Answers other services' reads through `onetime_common::directory::JobDirectory`.

mod api;
mod config;
mod domain;
mod error;
mod events;
mod funding;
mod jobs;
mod routes;
mod scheduler;
mod store;

use std::sync::Arc;

use onetime_common::bus::StoreSubscriber;
use onetime_common::directory::{DirectoryError, JobDirectory};
use onetime_common::events::job::{Application, Job};
use onetime_common::events::payment;
use onetime_common::service::{Context, SectionConfig, Sections, Service, ServiceDef, StartError};
use onetime_storage::{StorageError, Store, StoreSpec};

pub use config::{HumaneDuration, JobsConfig};
pub use domain::DEFAULT_CATEGORIES;

use crate::funding::Funding;
use crate::jobs::Jobs;

/// The job store: `jobs.redb`.
pub const STORE: StoreSpec = store::SPEC;

/// The service's name: bus source, `/health` key.
pub const NAME: &str = onetime_common::events::job::SOURCE;

/// The job service as the platform wires it.
pub const SERVICE: ServiceDef = ServiceDef {
    name: NAME,
    store: Some(STORE),
    config_sections: &[JobsConfig::SECTION],
    check_config,
    start,
};

pub fn check_config(sections: &Sections) -> Result<(), StartError> {
    sections.load::<JobsConfig>().map(drop)
}

/// Seeds the default categories into a new store, starts the completion scheduler, provides
/// the job directory, and follows payments ([`Funding`]).
pub fn start(ctx: Context<'_>) -> Result<Service, StartError> {
    let config: JobsConfig = ctx.config.load()?;
    let store = ctx.store()?;
    store.write_blocking(store::seed_categories)?;
    ctx.background.spawn(scheduler::run(
        store.clone(),
        config.scheduler_interval.0,
        config.auto_complete_after.0,
        ctx.background.stopping(),
    ));
    ctx.clients.provide_jobs(Arc::new(Directory(store.clone())));
    let jobs = Jobs::new(store.clone(), config.minimum_wage(), ctx.clients.clone());
    Ok(Service::new(routes::router(Arc::new(jobs)), routes::openapi())
        .subscribe(payment::SOURCE, Arc::new(StoreSubscriber::new(store, Funding))))
}

/// [`JobDirectory`] on the job store, in-process.
struct Directory(Store);

fn unavailable(error: StorageError) -> DirectoryError {
    DirectoryError::Unavailable {
        service: "job",
        reason: error.to_string(),
    }
}

impl JobDirectory for Directory {
    fn open_jobs(&self, after: Option<&str>, limit: usize) -> Result<Vec<Job>, DirectoryError> {
        self.0
            .read_blocking(|tx| {
                let jobs = store::open_jobs(tx, after, limit)?;
                jobs.iter()
                    .map(|job| store::published(tx, job))
                    .collect::<Result<_, StorageError>>()
            })
            .map_err(unavailable)
    }

    fn job(&self, id: &str) -> Result<Option<Job>, DirectoryError> {
        self.0
            .read_blocking(|tx| match store::any_job(tx, id)? {
                Some(job) => store::published(tx, &job).map(Some),
                None => Ok(None),
            })
            .map_err(unavailable)
    }

    fn application(&self, job_id: &str, worker_id: &str) -> Result<Option<Application>, DirectoryError> {
        self.0
            .read_blocking(|tx| store::application_of(tx, job_id, worker_id))
            .map(|found| found.map(|application| application.published()))
            .map_err(unavailable)
    }
}
