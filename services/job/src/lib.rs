//! The job service: employers post day jobs, workers apply, owners accept, close, cancel and
//! complete them, and a scheduler completes the jobs owners forget. It owns `jobs.redb`.
//!
//! Publishes, through the outbox of its store (bus source `jobs`, envelope source `job`; payloads
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

use onetime_common::bus::{StoreSubscriber, Subscriber};
use onetime_common::directory::{DirectoryError, JobDirectory};
use onetime_common::events::job::{Application, Job};
use onetime_common::service::{Background, ServiceRoutes};
use onetime_storage::{StorageError, Store, StoreSpec};

pub use config::{HumaneDuration, JobsConfig};
pub use domain::DEFAULT_CATEGORIES;
pub use funding::Funding;

use crate::jobs::Jobs;

/// The job store: `jobs.redb`.
pub const STORE: StoreSpec = store::SPEC;

/// The running job service, for the platform to wire.
pub struct JobService {
    pub routes: ServiceRoutes,
    /// Subscribe it to the payment source.
    pub funding: Arc<dyn Subscriber>,
    /// Reads of the jobs, for other services.
    pub directory: Arc<dyn JobDirectory>,
}

impl JobService {
    /// Seeds the default categories into a new store, starts the completion scheduler on
    /// `background`, and returns the routes and the payment subscriber.
    pub fn start(store: Store, config: JobsConfig, background: &Background) -> Result<Self, StorageError> {
        store.write_blocking(store::seed_categories)?;
        background.spawn(scheduler::run(
            store.clone(),
            config.scheduler_interval.0,
            config.auto_complete_after.0,
            background.stopping(),
        ));
        Ok(Self {
            routes: ServiceRoutes {
                name: "job",
                router: routes::router(Arc::new(Jobs::new(store.clone(), config.minimum_wage()))),
                openapi: routes::openapi(),
            },
            funding: Arc::new(StoreSubscriber::new(store.clone(), Funding)),
            directory: Arc::new(Directory(store)),
        })
    }
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
